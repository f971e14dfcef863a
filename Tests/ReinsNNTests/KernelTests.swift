import CKernels
import Foundation
import ReinsCore
import ReinsNN
import Testing

/// The C kernels' two builds (x86-64 baseline and AVX2 with FMA) against each other and against
/// plain Swift references, on lengths with vector tails; and the cache-friendly convolution
/// forward against the one that keeps its patches.
@Suite("element-wise and patch kernels")
struct KernelTests {
    func floats(_ count: Int, seed: UInt64, range: ClosedRange<Float> = -3...3) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float.random(in: range, using: &generator) }
    }

    func worstDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1) / max(1, abs($1.1))) }
    }

    func sets() -> [reins_kernel_set] {
        KernelSet.runnable.map { $0 == .avx2FMA ? REINS_KERNELS_AVX2_FMA : REINS_KERNELS_BASELINE }
    }

    @Test("the AVX2 set is used where the CPU has AVX2 and FMA")
    func selection() {
        let cpu = CPUFeatures.current()
        #expect(KernelSet.current == (cpu.avx2 && cpu.fma ? .avx2FMA : .baseline))
    }

    @Test("tanh, ReLU and their backward passes match the scalar definitions on every set", arguments: [1, 7, 8, 37, 1000])
    func activations(count: Int) {
        let x = floats(count, seed: 1, range: -9...9), dy = floats(count, seed: 2)
        for set in sets() {
            var y = [Float](repeating: .nan, count: count), dx = y, relu = y, reluDx = y
            reins_tanh_forward(set, &y, x, count)
            reins_tanh_backward(set, &dx, dy, y, count)
            reins_relu_forward(set, &relu, x, count)
            reins_relu_backward(set, &reluDx, dy, relu, count)
            #expect(worstDifference(y, x.map { Foundation.tanh($0) }) < 2e-6)
            #expect(worstDifference(dx, (0..<count).map { dy[$0] * (1 - y[$0] * y[$0]) }) < 1e-6)
            #expect(relu == x.map { max($0, 0) })
            #expect(reluDx == (0..<count).map { x[$0] > 0 ? dy[$0] : 0 })
        }
    }

    @Test("LayerNorm forward and backward agree across sets, with and without the parameter gradients", arguments: [5, 11, 64, 256])
    func layerNorm(width: Int) {
        let rows = 3
        let x = floats(rows * width, seed: 3), gamma = floats(width, seed: 4), beta = floats(width, seed: 5), dy = floats(rows * width, seed: 6)
        var results: [[Float]] = []
        for set in sets() {
            var normalized = [Float](repeating: 0, count: rows * width), inverse = [Float](repeating: 0, count: rows), y = normalized
            reins_layer_norm_forward(set, x, &normalized, &inverse, &y, gamma, beta, rows, width, 1e-6)
            var dGamma = [Float](repeating: 0, count: width), dBeta = dGamma, dx = normalized, dxOnly = normalized
            reins_layer_norm_backward(set, dy, normalized, inverse, gamma, &dGamma, &dBeta, &dx, rows, width)
            reins_layer_norm_backward(set, dy, normalized, inverse, gamma, nil, nil, &dxOnly, rows, width)
            #expect(dx == dxOnly)
            for row in 0..<rows {
                let values = x[(row * width)..<((row + 1) * width)]
                let mean = values.reduce(0, +) / Float(width)
                #expect(abs(y[row * width] - ((values.first! - mean) * inverse[row] * gamma[0] + beta[0])) < 1e-4)
            }
            #expect(abs(dBeta[0] - (0..<rows).reduce(0) { $0 + dy[$1 * width] }) < 1e-5)
            results.append(y + dx + dGamma)
        }
        if results.count == 2 { #expect(worstDifference(results[0], results[1]) < 1e-5) }
    }

    @Test("Adam's step is the same on every set", arguments: [3, 8, 1001])
    func adam(count: Int) {
        let gradients = floats(count, seed: 7)
        var results: [[Float]] = []
        for set in sets() {
            var values = floats(count, seed: 8), m = floats(count, seed: 9, range: -0.1...0.1), v = floats(count, seed: 10, range: 0...0.1)
            reins_adam(set, &values, gradients, &m, &v, count, 0.9, 0.999, 3e-4, 0.03, 1e-8)
            let reference = (0..<count).map { index in
                let first = floats(count, seed: 9, range: -0.1...0.1)[index] * 0.9 + gradients[index] * 0.1
                let second = floats(count, seed: 10, range: 0...0.1)[index] * 0.999 + gradients[index] * gradients[index] * 0.001
                return floats(count, seed: 8)[index] - 3e-4 * first / (second.squareRoot() / 0.03 + 1e-8)
            }
            #expect(worstDifference(values, reference) < 1e-6)
            results.append(values)
        }
        if results.count == 2 { #expect(worstDifference(results[0], results[1]) < 1e-6) }
    }

    @Test("a convolution's forward without backward gives the output of the one that keeps its patches",
          arguments: [(64, 3, 2, 1), (9, 5, 1, 2), (16, 32, 2, 1), (7, 2, 2, 0)])
    func convolutionWithoutBackward(size: Int, channels: Int, stride: Int, padding: Int) {
        let samples = 5
        let geometry = Convolution.Geometry(height: size, width: size, channels: channels, filters: 8, kernel: 3, stride: stride, padding: padding)
        let set = ParameterSet()
        let layer = Convolution("c", geometry, maxBatch: samples, parameters: set)
        set.allocate()
        var generator = SplitMix64(seed: 11)
        layer.initialize(using: &generator)
        for index in 0..<set.count { set.values[index] += Float.random(in: -0.1...0.1, using: &generator) }
        let input = floats(samples * layer.inputWidth, seed: 12)
        let count = samples * layer.outputWidth
        input.withUnsafeBufferPointer { layer.forward($0.baseAddress!, rows: 1..<samples) }
        let kept = Array(UnsafeBufferPointer(start: layer.output, count: count))
        layer.output.update(repeating: .nan, count: count)
        input.withUnsafeBufferPointer { layer.forwardWithoutBackward($0.baseAddress!, rows: 1..<samples) }
        let chunked = Array(UnsafeBufferPointer(start: layer.output, count: count))
        let untouched = chunked[0..<layer.outputWidth].allSatisfy { $0.isNaN }
        #expect(untouched, "rows outside the range are left alone")
        let difference = worstDifference(Array(chunked[layer.outputWidth...]), Array(kept[layer.outputWidth...]))
        #expect(difference < 1e-5)
    }
}
