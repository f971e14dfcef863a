import CKernels

/// The instruction set the C kernels (tanh, LayerNorm, Adam) run on: AVX2 with FMA where CPUID
/// and the OS allow it, else the x86-64 baseline the Swift code is compiled for. The AVX2 set is
/// about 2× faster on these kernels; they are a fifth of a state-based update.
public enum KernelSet: String, Sendable, CaseIterable {
    case baseline
    case avx2FMA = "avx2+fma"

    public static let current: KernelSet = {
        let cpu = CPUFeatures.current()
        return cpu.avx2 && cpu.fma ? .avx2FMA : .baseline
    }()

    /// Every set this CPU can run, for tests that compare them.
    public static var runnable: [KernelSet] { current == .avx2FMA ? [.baseline, .avx2FMA] : [.baseline] }

    var set: reins_kernel_set { self == .avx2FMA ? REINS_KERNELS_AVX2_FMA : REINS_KERNELS_BASELINE }
}

/// Element-wise kernels. They are most of what a small network spends outside sgemm, so they call
/// no libm functions and are written as loops LLVM vectorises (or with explicit SIMD8 sums); the
/// hottest are C kernels built for two instruction sets (`KernelSet`).
public enum Elementwise {
    /// tanh as a 13/6 rational function (the approximation Eigen and XLA use on CPUs): within a few
    /// ulp of libm's tanhf, and many times faster. The same function as the C kernel
    /// `tanhForward` runs, for the single values the actor's squashing needs.
    @inline(__always) public static func tanh(_ x: Float) -> Float {
        let limit: Float = 7.905_311_107_635_498_05
        let clamped = x > limit ? limit : (x < -limit ? -limit : x)
        let x2 = clamped * clamped
        var p: Float = -2.760_768_477_423_55e-16
        p = p * x2 + 2.000_187_904_824_77e-13
        p = p * x2 - 8.604_671_522_137_35e-11
        p = p * x2 + 5.122_297_090_371_14e-08
        p = p * x2 + 1.485_722_357_179_79e-05
        p = p * x2 + 6.372_619_288_754_36e-04
        p = p * x2 + 4.893_524_558_917_86e-03
        var q: Float = 1.198_258_394_667_02e-06
        q = q * x2 + 1.185_347_056_866_54e-04
        q = q * x2 + 2.268_434_632_439_00e-03
        q = q * x2 + 4.893_525_185_543_85e-03
        return p * clamped / q
    }

    /// out = tanh(x) over `count` values, on the widest kernel set the CPU runs.
    public static func tanhForward(out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        reins_tanh_forward(KernelSet.current.set, out, x, count)
    }

    /// dx = dy · (1 − y²), from the forward output y.
    public static func tanhBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, y: UnsafePointer<Float>, count: Int) {
        reins_tanh_backward(KernelSet.current.set, dx, dy, y, count)
    }

    /// out = max(x, 0).
    public static func reluForward(out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        reins_relu_forward(KernelSet.current.set, out, x, count)
    }

    /// dx = dy where the forward output was positive, else 0.
    public static func reluBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, y: UnsafePointer<Float>, count: Int) {
        reins_relu_backward(KernelSet.current.set, dx, dy, y, count)
    }

    /// out[r, :] = bias for every row: the start of a dense or convolution output before sgemm adds into it.
    public static func broadcastRows(out: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, columns: Int) {
        for row in 0..<rows {
            (out + row * columns).update(from: bias, count: columns)
        }
    }

    /// sums[c] += Σ_r x[r, c]: a bias gradient.
    public static func accumulateColumnSums(_ sums: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, columns: Int) {
        for row in 0..<rows { add(into: sums, x + row * columns, count: columns) }
    }

    /// total += x over `count` values.
    public static func add(into total: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        var index = 0
        while index + 8 <= count {
            (SIMD8.load(total + index) + SIMD8.load(x + index)).store(to: total + index)
            index += 8
        }
        while index < count {
            total[index] += x[index]
            index += 1
        }
    }
}
