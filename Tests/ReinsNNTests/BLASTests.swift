import ReinsCore
import ReinsNN
import Testing

/// A seeded pseudo-random matrix, values in [-1, 1).
func matrix(rows: Int, columns: Int, seed: UInt64) -> [Float] {
    var generator = SplitMix64(seed: seed)
    return (0..<(rows * columns)).map { _ in Float.random(in: -1..<1, using: &generator) }
}

/// The textbook triple loop in Double: the reference sgemm is held to.
func naiveProduct(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool) -> [Double] {
    var out = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let aValue = transposeA ? a[p * m + i] : a[i * k + p]
                let bValue = transposeB ? b[j * k + p] : b[p * n + j]
                sum += Double(aValue) * Double(bValue)
            }
            out[i * n + j] = sum
        }
    }
    return out
}

@Suite("OpenBLAS")
struct BLASTests {
    @Test("sgemm matches the naive product for every transpose combination", arguments: [(false, false), (true, false), (false, true), (true, true)])
    func sgemm(transposeA: Bool, transposeB: Bool) {
        let m = 37, n = 53, k = 129
        let a = matrix(rows: m, columns: k, seed: 1)
        let b = matrix(rows: k, columns: n, seed: 2)
        var out = [Float](repeating: 0, count: m * n)
        out.withUnsafeMutableBufferPointer { o in
            BLAS.gemm(out: o.baseAddress!, a: a, b: b, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        }
        let expected = naiveProduct(a, b, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        let worst = zip(out, expected).map { abs(Double($0) - $1) }.max()!
        #expect(worst < 1e-4, "largest difference \(worst)")
    }

    @Test("beta 1 accumulates into the output, as backward passes need")
    func accumulate() {
        let a: [Float] = [1, 2, 3, 4]  // (2, 2)
        let b: [Float] = [5, 6, 7, 8]
        var out: [Float] = [1, 1, 1, 1]
        out.withUnsafeMutableBufferPointer { BLAS.gemm(out: $0.baseAddress!, a: a, b: b, m: 2, n: 2, k: 2, alpha: 2, beta: 1) }
        #expect(out == [39, 45, 87, 101])
    }

    @Test("Tensor.matmul multiplies (M, K) by (K, N)")
    func tensorMatmul() {
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], values: [7, 8, 9, 10, 11, 12])
        #expect(a.matmul(b) == Tensor(shape: [2, 2], values: [58, 64, 139, 154]))
    }

    @Test("OpenBLAS reports its kernel and threads")
    func info() {
        #expect(!BLAS.coreName.isEmpty)
        #expect(BLAS.threadCount >= 1)
        #expect(BLAS.configuration.hasPrefix("OpenBLAS"))
    }
}
