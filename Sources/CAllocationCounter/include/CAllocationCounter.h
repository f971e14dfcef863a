#ifndef REINS_ALLOCATION_COUNTER_H
#define REINS_ALLOCATION_COUNTER_H

/// Counts heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) made
/// on the threads that asked for it, by interposing the allocator in front of glibc's. It is how
/// `reins bench loop` and the tests prove that the realtime loop allocates nothing.

/// Starts counting the calling thread's allocations.
void reins_count_allocations_on_this_thread(void);

/// Allocations counted so far on every counting thread; -1 where counting is unavailable
/// (under AddressSanitizer or ThreadSanitizer, which own the allocator).
long reins_counted_allocations(void);

#endif
