// OpenBLAS's CBLAS interface and its runtime queries (core type, threads).
// Debian ships no cblas.pc for OpenBLAS, so the multiarch path is named here.
#include <x86_64-linux-gnu/openblas-pthread/cblas.h>
#include <cpuid.h>

// CPUID leaf `leaf`, sub-leaf `subleaf`: eax, ebx, ecx, edx into `registers`; all zero when the
// CPU has no such leaf (which OpenBLAS's kernel choice is checked against).
static inline void reins_cpuid(unsigned leaf, unsigned subleaf, unsigned registers[4]) {
    registers[0] = registers[1] = registers[2] = registers[3] = 0;
    if (__get_cpuid_max(leaf & 0x80000000u, 0) < leaf) return;
    __cpuid_count(leaf, subleaf, registers[0], registers[1], registers[2], registers[3]);
}

// The register state the operating system saves (XCR0): AVX needs bits 1-2, AVX-512 bits 5-7.
// Only valid when CPUID reports OSXSAVE (leaf 1, ecx bit 27).
static inline unsigned long long reins_xgetbv0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}
