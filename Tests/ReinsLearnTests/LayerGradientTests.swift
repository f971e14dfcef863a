import Foundation
import ReinsCore
import ReinsNN
import Testing

/// Each layer's Float forward against the Double reference, and its backward pass against central
/// differences of the reference loss L = Σ r·y (r fixed and random), for inputs and parameters.
@Suite("Layer gradients against finite differences in Double")
struct LayerGradientTests {
    func check(_ layer: any Layer, set: ParameterSet, batch: Int, input: [Float], seed: UInt64) {
        if set.count > 0 {
            var generator = SplitMix64(seed: seed)
            layer.initialize(using: &generator)
            // Move LayerNorm and biases off their trivial starting values.
            for index in 0..<set.count { set.values[index] += Float.random(in: -0.3...0.3, using: &generator) }
        }
        let weights = seededFloats(batch * layer.outputWidth, seed: seed &+ 1).map(Double.init)
        let parameters = (0..<set.count).map { Double(set.values[$0]) }
        let inputs = input.map(Double.init)

        input.withUnsafeBufferPointer { layer.forward($0.baseAddress!, batch: batch) }
        let reference = Reference.forward(layer, inputs, batch: batch, set: set, parameters: parameters)
        let output = (0..<(batch * layer.outputWidth)).map { Double(layer.output[$0]) }
        #expect(mismatch(output, reference, absolute: 1e-5, relative: 1e-4) == nil, "forward")

        if set.count > 0 { set.zeroGradients() }
        let upstream = weights.map(Float.init)
        input.withUnsafeBufferPointer { x in
            upstream.withUnsafeBufferPointer {
                layer.backward($0.baseAddress!, input: x.baseAddress!, rows: 0..<batch, gradients: set.count > 0 ? set.gradients : nil)
            }
        }

        func loss(_ x: [Double], _ p: [Double]) -> Double {
            zip(Reference.forward(layer, x, batch: batch, set: set, parameters: p), weights).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let inputGradient = (0..<inputs.count).map { Double(layer.inputGradient[$0]) }
        let numericInput = Reference.gradient(of: { loss($0, parameters) }, at: inputs, indices: Array(inputs.indices))
        #expect(mismatch(inputGradient, numericInput) == nil, "input gradient")
        if set.count > 0 {
            let parameterGradient = (0..<set.count).map { Double(set.gradients[$0]) }
            let numericParameters = Reference.gradient(of: { loss(inputs, $0) }, at: parameters, indices: Array(parameters.indices))
            #expect(mismatch(parameterGradient, numericParameters) == nil, "parameter gradient")
        }
    }

    @Test("dense")
    func dense() {
        let set = ParameterSet()
        let layer = Dense("d", input: 5, output: 4, maxBatch: 3, parameters: set)
        set.allocate()
        check(layer, set: set, batch: 3, input: seededFloats(15, seed: 1), seed: 2)
    }

    @Test("2-D convolution with stride and padding", arguments: [(1, 1), (2, 1), (2, 0), (1, 2)])
    func convolution(stride: Int, padding: Int) {
        let set = ParameterSet()
        let geometry = Convolution.Geometry(height: 6, width: 5, channels: 2, filters: 3, kernel: 3, stride: stride, padding: padding)
        let layer = Convolution("c", geometry, maxBatch: 2, parameters: set)
        set.allocate()
        check(layer, set: set, batch: 2, input: seededFloats(2 * 6 * 5 * 2, seed: 3), seed: 4)
    }

    @Test("LayerNorm")
    func layerNorm() {
        let set = ParameterSet()
        let layer = LayerNorm("n", width: 11, maxBatch: 3, parameters: set)
        set.allocate()
        check(layer, set: set, batch: 3, input: seededFloats(33, seed: 5, range: -2...3), seed: 6)
    }

    @Test("ReLU, away from its kink")
    func relu() {
        let input = seededFloats(24, seed: 7).map { $0 >= 0 ? $0 + 0.05 : $0 - 0.05 }
        check(Activation(.relu, width: 8, maxBatch: 3), set: ParameterSet(), batch: 3, input: input, seed: 8)
    }

    @Test("tanh")
    func tanh() {
        check(Activation(.tanh, width: 8, maxBatch: 3), set: ParameterSet(), batch: 3, input: seededFloats(24, seed: 9, range: -4...4), seed: 10)
    }

    @Test("a flattened convolution stack: conv, ReLU, conv, dense, LayerNorm, tanh")
    func stack() {
        let set = ParameterSet()
        let first = Convolution("c1", .init(height: 7, width: 7, channels: 3, filters: 4, kernel: 3, stride: 2, padding: 1), maxBatch: 2, parameters: set)
        let second = Convolution("c2", .init(height: 4, width: 4, channels: 4, filters: 3, kernel: 3, stride: 2, padding: 1), maxBatch: 2, parameters: set)
        let network = Sequential([
            first, Activation(.relu, width: first.outputWidth, maxBatch: 2), second,
            Dense("d", input: second.outputWidth, output: 5, maxBatch: 2, parameters: set),
            LayerNorm("n", width: 5, maxBatch: 2, parameters: set), Activation(.tanh, width: 5, maxBatch: 2),
        ])
        set.allocate()
        var generator = SplitMix64(seed: 11)
        network.initialize(using: &generator)
        let input = seededFloats(2 * 7 * 7 * 3, seed: 12)
        let inputs = input.map(Double.init)
        let weights = seededFloats(10, seed: 13).map(Double.init)
        let parameters = (0..<set.count).map { Double(set.values[$0]) }
        input.withUnsafeBufferPointer { _ = network.forward($0.baseAddress!, batch: 2) }
        set.zeroGradients()
        input.withUnsafeBufferPointer { x in
            weights.map(Float.init).withUnsafeBufferPointer { network.backward($0.baseAddress!, input: x.baseAddress!, rows: 0..<2, gradients: set.gradients) }
        }
        let numeric = Reference.gradient(of: { p in
            zip(Reference.forward(network, inputs, batch: 2, set: set, parameters: p), weights).reduce(0) { $0 + $1.0 * $1.1 }
        }, at: parameters, indices: Array(parameters.indices))
        #expect(mismatch((0..<set.count).map { Double(set.gradients[$0]) }, numeric) == nil)
    }

    @Test("two threads each taking half the rows give the whole batch's outputs and, summed, its gradients")
    func shardedRows() {
        let set = ParameterSet()
        let first = Convolution("c", .init(height: 6, width: 6, channels: 3, filters: 4, kernel: 3, stride: 2, padding: 1), maxBatch: 4, parameters: set)
        let network = Sequential([first, Activation(.relu, width: first.outputWidth, maxBatch: 4),
                                  Dense("d", input: first.outputWidth, output: 6, maxBatch: 4, parameters: set),
                                  LayerNorm("n", width: 6, maxBatch: 4, parameters: set), Activation(.tanh, width: 6, maxBatch: 4)])
        set.allocate(shards: 2)
        var generator = SplitMix64(seed: 21)
        network.initialize(using: &generator)
        let input = seededFloats(4 * 108, seed: 22), upstream = seededFloats(4 * 6, seed: 23)
        input.withUnsafeBufferPointer { _ = network.forward($0.baseAddress!, batch: 4) }
        let whole = (0..<24).map { network.output[$0] }
        input.withUnsafeBufferPointer { x in
            upstream.withUnsafeBufferPointer { network.backward($0.baseAddress!, input: x.baseAddress!, rows: 0..<4, gradients: set.gradients) }
        }
        let wholeGradients = (0..<set.count).map { set.gradients[$0] }
        set.zeroGradients()

        final class Halves: ShardedWork {
            let body: (Int) -> Void
            init(_ body: @escaping (Int) -> Void) { self.body = body }
            func run(shard: Int, of shards: Int) { body(shard) }
        }
        let pool = ShardPool(shards: 2)
        pool.run(Halves { shard in
            let rows = ShardPool.range(shard, of: 2, count: 4)
            input.withUnsafeBufferPointer { x in
                _ = network.forward(x.baseAddress!, rows: rows)
                upstream.withUnsafeBufferPointer {
                    network.backward($0.baseAddress!, input: x.baseAddress!, rows: rows, gradients: set.gradients(shard: shard))
                }
            }
        })
        set.reduceGradients(0..<set.count)
        // Equal up to rounding: OpenBLAS may pick another kernel path for half the rows.
        #expect((0..<24).allSatisfy { abs(network.output[$0] - whole[$0]) < 1e-5 })
        for index in 0..<set.count {
            #expect(abs(set.gradients[index] - wholeGradients[index]) <= 1e-5 * max(1, abs(wholeGradients[index])))
        }
        #expect((0..<set.count).allSatisfy { set.gradients(shard: 1)[$0] == 0 })
        #expect(ShardPool.range(0, of: 2, count: 5) == 0..<2 && ShardPool.range(1, of: 2, count: 5) == 2..<5)
    }

    @Test("the fast tanh stays within 1e-6 of libm's over the whole range")
    func tanhAccuracy() {
        var worst: Float = 0
        var x: Float = -12
        while x <= 12 {
            worst = max(worst, abs(Elementwise.tanh(x) - Foundation.tanh(x)))
            x += 0.000_37
        }
        #expect(worst < 1e-6)
        #expect(abs(Elementwise.tanh(100) - 1) < 1e-6 && abs(Elementwise.tanh(-100) + 1) < 1e-6)
    }
}
