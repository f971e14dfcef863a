#include "CAllocationCounter.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define REINS_NO_INTERPOSER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define REINS_NO_INTERPOSER 1
#endif

#ifdef REINS_NO_INTERPOSER

void reins_count_allocations_on_this_thread(void) {}
long reins_counted_allocations(void) { return -1; }

#else

// glibc's own entry points, which its public names forward to.
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

// Initial-exec TLS: reading it never allocates, so it is safe inside malloc.
static __thread int counting __attribute__((tls_model("initial-exec")));
static atomic_long counted;

static inline void count(void) {
    if (counting) atomic_fetch_add_explicit(&counted, 1, memory_order_relaxed);
}

void reins_count_allocations_on_this_thread(void) { counting = 1; }

long reins_counted_allocations(void) { return atomic_load_explicit(&counted, memory_order_relaxed); }

void *malloc(size_t size) {
    count();
    return __libc_malloc(size);
}

void *calloc(size_t count_, size_t size) {
    count();
    return __libc_calloc(count_, size);
}

void *realloc(void *pointer, size_t size) {
    count();
    return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
    count();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    count();
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *out = pointer;
    return 0;
}

#endif
