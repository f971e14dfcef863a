import CKernels
/// One step of a network as a forward/backward pair, on batches of up to `maxBatch` samples laid
/// out row by row. Each layer owns its output and input-gradient buffers, sized when it is built,
/// so neither pass allocates. Backward reads what the last forward kept, writes the gradient with
/// respect to the input (unless `computesInputGradient` is off: a first layer needs none) and
/// accumulates (+=) into a gradient block laid out as the layer's ParameterSet, or into none (an
/// actor's loss needs a critic's gradient with respect to its action input, not its weights).
///
/// Both passes work on a range of rows, so two threads can each take half a batch: pointers are
/// to row 0 of the whole batch, each thread writes only its rows' outputs, and each accumulates
/// into its own gradient block (`ParameterSet.gradients(shard:)`). Backward is handed the input
/// the forward pass had, so no layer keeps a pointer that two threads would share.
public protocol Layer: AnyObject {
    /// Floats per sample in and out.
    var inputWidth: Int { get }
    var outputWidth: Int { get }
    /// (maxBatch, outputWidth)
    var output: UnsafeMutablePointer<Float> { get }
    /// (maxBatch, inputWidth)
    var inputGradient: UnsafeMutablePointer<Float> { get }
    var computesInputGradient: Bool { get set }
    /// Allocates nothing.
    func forward(_ input: UnsafePointer<Float>, rows: Range<Int>)
    /// A forward pass no backward pass will follow (a target network, features read without their
    /// gradient, acting): the layer may keep less of it. Allocates nothing.
    func forwardWithoutBackward(_ input: UnsafePointer<Float>, rows: Range<Int>)
    /// Allocates nothing.
    func backward(_ outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, rows: Range<Int>,
                  gradients: UnsafeMutablePointer<Float>?)
    /// Writes initial parameter values; a layer without parameters does nothing.
    func initialize<Generator: RandomNumberGenerator>(using generator: inout Generator)
}

extension Layer {
    public func forwardWithoutBackward(_ input: UnsafePointer<Float>, rows: Range<Int>) { forward(input, rows: rows) }

    /// The whole batch on this thread.
    public func forward(_ input: UnsafePointer<Float>, batch: Int) { forward(input, rows: 0..<batch) }
}

/// out (B, O) = inp (B, I) · W (I, O) + b (O).
public final class Dense: Layer {
    public let inputWidth: Int
    public let outputWidth: Int
    public let parameters: ParameterSet
    public let weight: ParameterSet.Slot
    public let bias: ParameterSet.Slot
    public var computesInputGradient = true
    private let initializer: Initializer
    private let outputBuffer: FloatBuffer
    private let inputGradientBuffer: FloatBuffer

    public init(_ name: String, input: Int, output: Int, maxBatch: Int, parameters: ParameterSet,
                initializer: Initializer = .xavierUniform) {
        inputWidth = input
        outputWidth = output
        self.parameters = parameters
        self.initializer = initializer
        weight = parameters.add("\(name).weight", shape: [input, output])
        bias = parameters.add("\(name).bias", shape: [output])
        outputBuffer = FloatBuffer(count: maxBatch * output)
        inputGradientBuffer = FloatBuffer(count: maxBatch * input)
    }

    public var output: UnsafeMutablePointer<Float> { outputBuffer.pointer }
    public var inputGradient: UnsafeMutablePointer<Float> { inputGradientBuffer.pointer }

    public func initialize<Generator: RandomNumberGenerator>(using generator: inout Generator) {
        initializer.fill(parameters.values(weight), count: weight.count, fanIn: inputWidth, fanOut: outputWidth, using: &generator)
        parameters.values(bias).update(repeating: 0, count: outputWidth)
    }

    public func forward(_ input: UnsafePointer<Float>, rows: Range<Int>) {
        let out = output + rows.lowerBound * outputWidth
        Elementwise.broadcastRows(out: out, parameters.values(bias), rows: rows.count, columns: outputWidth)
        BLAS.gemm(out: out, a: input + rows.lowerBound * inputWidth, b: parameters.values(weight),
                  m: rows.count, n: outputWidth, k: inputWidth, beta: 1)
    }

    public func backward(_ outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, rows: Range<Int>,
                         gradients: UnsafeMutablePointer<Float>?) {
        let dOut = outputGradient + rows.lowerBound * outputWidth
        // dW (I, O) += inpᵀ · dOut;  db += Σ_rows dOut;  dInp (B, I) = dOut · Wᵀ
        if let gradients {
            BLAS.gemm(out: gradients + weight.offset, a: input + rows.lowerBound * inputWidth, b: dOut,
                      m: inputWidth, n: outputWidth, k: rows.count, transposeA: true, beta: 1)
            Elementwise.accumulateColumnSums(gradients + bias.offset, dOut, rows: rows.count, columns: outputWidth)
        }
        if computesInputGradient {
            BLAS.gemm(out: inputGradient + rows.lowerBound * inputWidth, a: dOut, b: parameters.values(weight),
                      m: rows.count, n: inputWidth, k: outputWidth, transposeB: true)
        }
    }
}

/// LayerNorm over each sample's features: y = (x − mean) / √(var + ε) · γ + β, ε = 1e-6 as in Flax.
public final class LayerNorm: Layer {
    public let inputWidth: Int
    public var outputWidth: Int { inputWidth }
    public let parameters: ParameterSet
    public let scale: ParameterSet.Slot
    public let offset: ParameterSet.Slot
    public var computesInputGradient = true
    public static let epsilon: Float = 1e-6
    private let outputBuffer: FloatBuffer
    private let inputGradientBuffer: FloatBuffer
    private let normalized: FloatBuffer  // (B, D), x̂
    private let inverseDeviation: FloatBuffer  // (B)

    public init(_ name: String, width: Int, maxBatch: Int, parameters: ParameterSet) {
        inputWidth = width
        self.parameters = parameters
        scale = parameters.add("\(name).scale", shape: [width])
        offset = parameters.add("\(name).offset", shape: [width])
        outputBuffer = FloatBuffer(count: maxBatch * width)
        inputGradientBuffer = FloatBuffer(count: maxBatch * width)
        normalized = FloatBuffer(count: maxBatch * width)
        inverseDeviation = FloatBuffer(count: maxBatch)
    }

    public var output: UnsafeMutablePointer<Float> { outputBuffer.pointer }
    public var inputGradient: UnsafeMutablePointer<Float> { inputGradientBuffer.pointer }

    public func initialize<Generator: RandomNumberGenerator>(using generator: inout Generator) {
        parameters.values(scale).update(repeating: 1, count: inputWidth)
        parameters.values(offset).update(repeating: 0, count: inputWidth)
    }

    public func forward(_ input: UnsafePointer<Float>, rows: Range<Int>) {
        let start = rows.lowerBound, width = inputWidth
        reins_layer_norm_forward(KernelSet.current.set, input + start * width, normalized.pointer + start * width, inverseDeviation.pointer + start,
                                 output + start * width, parameters.values(scale), parameters.values(offset), rows.count, width, Self.epsilon)
    }

    public func backward(_ outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, rows: Range<Int>,
                         gradients: UnsafeMutablePointer<Float>?) {
        let start = rows.lowerBound, width = inputWidth
        reins_layer_norm_backward(KernelSet.current.set, outputGradient + start * width, normalized.pointer + start * width, inverseDeviation.pointer + start,
                                  parameters.values(scale), gradients.map { $0 + scale.offset }, gradients.map { $0 + offset.offset },
                                  computesInputGradient ? inputGradient + start * width : nil, rows.count, width)
    }
}

/// An element-wise function with no parameters.
public final class Activation: Layer {
    public enum Function: Sendable { case relu, tanh }
    public let function: Function
    public let inputWidth: Int
    public var outputWidth: Int { inputWidth }
    public var computesInputGradient = true
    private let outputBuffer: FloatBuffer
    private let inputGradientBuffer: FloatBuffer

    public init(_ function: Function, width: Int, maxBatch: Int) {
        self.function = function
        inputWidth = width
        outputBuffer = FloatBuffer(count: maxBatch * width)
        inputGradientBuffer = FloatBuffer(count: maxBatch * width)
    }

    public var output: UnsafeMutablePointer<Float> { outputBuffer.pointer }
    public var inputGradient: UnsafeMutablePointer<Float> { inputGradientBuffer.pointer }
    public func initialize<Generator: RandomNumberGenerator>(using generator: inout Generator) {}

    public func forward(_ input: UnsafePointer<Float>, rows: Range<Int>) {
        let start = rows.lowerBound * inputWidth, count = rows.count * inputWidth
        switch function {
        case .relu: Elementwise.reluForward(out: output + start, input + start, count: count)
        case .tanh: Elementwise.tanhForward(out: output + start, input + start, count: count)
        }
    }

    public func backward(_ outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, rows: Range<Int>,
                         gradients: UnsafeMutablePointer<Float>?) {
        guard computesInputGradient else { return }
        let start = rows.lowerBound * inputWidth, count = rows.count * inputWidth
        switch function {
        case .relu: Elementwise.reluBackward(dx: inputGradient + start, dy: outputGradient + start, y: output + start, count: count)
        case .tanh: Elementwise.tanhBackward(dx: inputGradient + start, dy: outputGradient + start, y: output + start, count: count)
        }
    }
}

/// Layers applied in order. Flattening needs no layer: a (B, H, W, C) activation is already
/// (B, H·W·C) in memory, so a dense layer after a convolution simply takes its output.
public final class Sequential {
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) {
        precondition(!layers.isEmpty, "a network needs a layer")
        for (before, after) in zip(layers, layers.dropFirst()) {
            precondition(before.outputWidth == after.inputWidth,
                         "layer widths do not chain: \(before.outputWidth) → \(after.inputWidth)")
        }
        self.layers = layers
    }

    public var inputWidth: Int { layers[0].inputWidth }
    public var outputWidth: Int { layers[layers.count - 1].outputWidth }
    public var output: UnsafeMutablePointer<Float> { layers[layers.count - 1].output }
    public var inputGradient: UnsafeMutablePointer<Float> { layers[0].inputGradient }

    /// Whether the first layer computes the gradient with respect to the network's input.
    public var computesInputGradient: Bool {
        get { layers[0].computesInputGradient }
        set { layers[0].computesInputGradient = newValue }
    }

    public func initialize<Generator: RandomNumberGenerator>(using generator: inout Generator) {
        for layer in layers { layer.initialize(using: &generator) }
    }

    /// Runs `rows` of the batch through every layer; returns the output (row 0). Without
    /// `forBackward` the layers may keep less than a backward pass needs. Allocates nothing.
    @discardableResult
    public func forward(_ input: UnsafePointer<Float>, rows: Range<Int>, forBackward: Bool = true) -> UnsafeMutablePointer<Float> {
        var current = input
        for layer in layers {
            if forBackward {
                layer.forward(current, rows: rows)
            } else {
                layer.forwardWithoutBackward(current, rows: rows)
            }
            current = UnsafePointer(layer.output)
        }
        return output
    }

    @discardableResult
    public func forward(_ input: UnsafePointer<Float>, batch: Int) -> UnsafeMutablePointer<Float> { forward(input, rows: 0..<batch) }

    /// Backpropagates `rows` of a forward pass on `input`, accumulating parameter gradients into
    /// `gradients` (a block laid out as the network's ParameterSet) or nowhere when nil. Allocates nothing.
    public func backward(_ outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, rows: Range<Int>,
                         gradients: UnsafeMutablePointer<Float>?) {
        var gradient = outputGradient
        for index in stride(from: layers.count - 1, through: 0, by: -1) {
            let layerInput = index == 0 ? input : UnsafePointer(layers[index - 1].output)
            layers[index].backward(gradient, input: layerInput, rows: rows, gradients: gradients)
            gradient = UnsafePointer(layers[index].inputGradient)
        }
    }
}
