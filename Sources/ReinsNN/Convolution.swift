/// 2-D convolution on NHWC activations as im2col + one sgemm: each output pixel's receptive field
/// becomes a row of a patch matrix (B·OH·OW, KH·KW·C), multiplied by the weights (KH·KW·C, F). The
/// product is already the NHWC output, so convolutions chain without transposes and the dense
/// layer after the last one reads it flattened. The patch matrix is kept for the weight gradient.
public final class Convolution: Layer {
    public struct Geometry: Sendable, Equatable {
        public var height: Int, width: Int, channels: Int
        public var filters: Int, kernel: Int, stride: Int, padding: Int

        public init(height: Int, width: Int, channels: Int, filters: Int, kernel: Int, stride: Int, padding: Int) {
            self.height = height
            self.width = width
            self.channels = channels
            self.filters = filters
            self.kernel = kernel
            self.stride = stride
            self.padding = padding
        }

        public var outputHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
        public var outputWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
        public var patchWidth: Int { kernel * kernel * channels }
        public var pixelsOut: Int { outputHeight * outputWidth }
        /// Multiply-adds × 2 for one sample's forward pass.
        public var forwardFlops: Int { 2 * pixelsOut * patchWidth * filters }
    }

    public let geometry: Geometry
    public let parameters: ParameterSet
    public let weight: ParameterSet.Slot
    public let bias: ParameterSet.Slot
    public var computesInputGradient = true
    private let outputBuffer: FloatBuffer
    private let inputGradientBuffer: FloatBuffer
    private let patches: FloatBuffer  // (B·OH·OW, KH·KW·C)
    private let patchGradient: FloatBuffer  // (B·OH·OW, KH·KW·C)

    public init(_ name: String, _ geometry: Geometry, maxBatch: Int, parameters: ParameterSet) {
        precondition(geometry.outputHeight > 0 && geometry.outputWidth > 0, "convolution \(name) has no output for \(geometry)")
        self.geometry = geometry
        self.parameters = parameters
        weight = parameters.add("\(name).weight", shape: [geometry.kernel, geometry.kernel, geometry.channels, geometry.filters])
        bias = parameters.add("\(name).bias", shape: [geometry.filters])
        outputBuffer = FloatBuffer(count: maxBatch * geometry.pixelsOut * geometry.filters)
        inputGradientBuffer = FloatBuffer(count: maxBatch * geometry.height * geometry.width * geometry.channels)
        patches = FloatBuffer(count: maxBatch * geometry.pixelsOut * geometry.patchWidth)
        patchGradient = FloatBuffer(count: maxBatch * geometry.pixelsOut * geometry.patchWidth)
    }

    public var inputWidth: Int { geometry.height * geometry.width * geometry.channels }
    public var outputWidth: Int { geometry.pixelsOut * geometry.filters }
    public var output: UnsafeMutablePointer<Float> { outputBuffer.pointer }
    public var inputGradient: UnsafeMutablePointer<Float> { inputGradientBuffer.pointer }

    public func initialize(using generator: inout SplitMixGenerator) {
        Initializer.heUniform.fill(parameters.values(weight), count: weight.count, fanIn: geometry.patchWidth,
                                   fanOut: geometry.filters, using: &generator)
        parameters.values(bias).update(repeating: 0, count: geometry.filters)
    }

    public func forward(_ input: UnsafePointer<Float>, batch: Int) {
        let g = geometry
        let rows = batch * g.pixelsOut
        gatherPatches(input, batch: batch)
        Elementwise.broadcastRows(out: output, parameters.values(bias), rows: rows, columns: g.filters)
        BLAS.gemm(out: output, a: patches.pointer, b: parameters.values(weight), m: rows, n: g.filters, k: g.patchWidth, beta: 1)
    }

    public func backward(_ outputGradient: UnsafePointer<Float>, batch: Int, parameterGradients: Bool = true) {
        let g = geometry
        let rows = batch * g.pixelsOut
        // dW (KKC, F) += patchesᵀ · dOut;  db += Σ dOut;  dPatches = dOut · Wᵀ, scattered back to pixels.
        if parameterGradients {
            BLAS.gemm(out: parameters.gradients(weight), a: patches.pointer, b: outputGradient,
                      m: g.patchWidth, n: g.filters, k: rows, transposeA: true, beta: 1)
            Elementwise.accumulateColumnSums(parameters.gradients(bias), outputGradient, rows: rows, columns: g.filters)
        }
        guard computesInputGradient else { return }
        BLAS.gemm(out: patchGradient.pointer, a: outputGradient, b: parameters.values(weight),
                  m: rows, n: g.patchWidth, k: g.filters, transposeB: true)
        scatterPatches(batch: batch)
    }

    /// im2col: copies each receptive field, `channels` floats per kernel tap; zeros outside the image.
    private func gatherPatches(_ input: UnsafePointer<Float>, batch: Int) {
        let g = geometry
        let imageSize = g.height * g.width * g.channels
        var row = patches.pointer
        for sample in 0..<batch {
            let image = input + sample * imageSize
            for outY in 0..<g.outputHeight {
                for outX in 0..<g.outputWidth {
                    for kernelY in 0..<g.kernel {
                        let y = outY * g.stride - g.padding + kernelY
                        for kernelX in 0..<g.kernel {
                            let x = outX * g.stride - g.padding + kernelX
                            let destination = row + (kernelY * g.kernel + kernelX) * g.channels
                            if y >= 0, y < g.height, x >= 0, x < g.width {
                                destination.update(from: image + (y * g.width + x) * g.channels, count: g.channels)
                            } else {
                                destination.update(repeating: 0, count: g.channels)
                            }
                        }
                    }
                    row += g.patchWidth
                }
            }
        }
    }

    /// col2im: adds each patch-gradient row back onto the pixels it was gathered from.
    private func scatterPatches(batch: Int) {
        let g = geometry
        let imageSize = g.height * g.width * g.channels
        inputGradient.update(repeating: 0, count: batch * imageSize)
        var row = UnsafePointer(patchGradient.pointer)
        for sample in 0..<batch {
            let image = inputGradient + sample * imageSize
            for outY in 0..<g.outputHeight {
                for outX in 0..<g.outputWidth {
                    for kernelY in 0..<g.kernel {
                        let y = outY * g.stride - g.padding + kernelY
                        guard y >= 0, y < g.height else { continue }
                        for kernelX in 0..<g.kernel {
                            let x = outX * g.stride - g.padding + kernelX
                            guard x >= 0, x < g.width else { continue }
                            let source = row + (kernelY * g.kernel + kernelX) * g.channels
                            let destination = image + (y * g.width + x) * g.channels
                            for channel in 0..<g.channels { destination[channel] += source[channel] }
                        }
                    }
                    row += g.patchWidth
                }
            }
        }
    }
}
