import CBLAS

/// OpenBLAS as the network layers use it: row-major single-precision GEMM, and what the library
/// says about itself (the kernel it picked and its thread count, which benchmarks report).
public enum BLAS {
    /// The CPU kernel OpenBLAS runs, e.g. "Haswell" (set by OPENBLAS_CORETYPE on some machines).
    public static var coreName: String { String(cString: openblas_get_corename()) }
    /// The number of threads OpenBLAS uses.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }
    /// OpenBLAS's build configuration, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// out (M, N) = alpha · op(a) · op(b) + beta · out, where op(a) is (M, K) and op(b) is (K, N);
    /// `a` is stored (M, K), or (K, M) when `transposeA`; `b` is (K, N), or (N, K) when `transposeB`.
    /// With beta 1 it accumulates, as backward passes need.
    public static func gemm(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
                            alpha: Float = 1, beta: Float = 0) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(transposeA ? m : k),
                    b, Int32(transposeB ? k : n),
                    beta, out, Int32(n))
    }
}

extension BLAS {
    /// Sets how many threads OpenBLAS uses for each call, for the whole process.
    public static func setThreadCount(_ count: Int) { openblas_set_num_threads(Int32(count)) }
}
