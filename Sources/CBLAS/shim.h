// OpenBLAS's CBLAS interface and its runtime queries (core type, threads).
// Debian ships no cblas.pc for OpenBLAS, so the multiarch path is named here.
#include <x86_64-linux-gnu/openblas-pthread/cblas.h>
