/// A contiguous row-major tensor of Floats with a shape.
public struct Tensor: Equatable, Sendable {
    public private(set) var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
        self.shape = shape
        self.values = values
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, values: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { values.count }

    /// The matrix product of two rank-2 tensors: (M, K) · (K, N) → (M, N), on OpenBLAS.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(shape.count == 2 && other.shape.count == 2 && shape[1] == other.shape[0],
                     "matmul needs (M, K) · (K, N), got \(shape) · \(other.shape)")
        let m = shape[0], k = shape[1], n = other.shape[1]
        var out = Tensor(zeros: [m, n])
        out.values.withUnsafeMutableBufferPointer { o in
            values.withUnsafeBufferPointer { a in
                other.values.withUnsafeBufferPointer { b in
                    BLAS.gemm(out: o.baseAddress!, a: a.baseAddress!, b: b.baseAddress!, m: m, n: n, k: k)
                }
            }
        }
        return out
    }
}
