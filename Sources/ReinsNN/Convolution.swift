import CKernels

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

    public func initialize<Generator: RandomNumberGenerator>(using generator: inout Generator) {
        Initializer.heUniform.fill(parameters.values(weight), count: weight.count, fanIn: geometry.patchWidth,
                                   fanOut: geometry.filters, using: &generator)
        parameters.values(bias).update(repeating: 0, count: geometry.filters)
    }

    public func forward(_ input: UnsafePointer<Float>, rows samples: Range<Int>) {
        let g = geometry
        let first = samples.lowerBound * g.pixelsOut, count = samples.count * g.pixelsOut
        gatherPatches(input, samples: samples)
        let out = output + first * g.filters
        Elementwise.broadcastRows(out: out, parameters.values(bias), rows: count, columns: g.filters)
        BLAS.gemm(out: out, a: patches.pointer + first * g.patchWidth, b: parameters.values(weight),
                  m: count, n: g.filters, k: g.patchWidth, beta: 1)
    }

    /// Gathers and multiplies a few samples at a time, reusing the start of this range's patch
    /// rows, so the patches stay in cache instead of making two trips through memory. The patches
    /// are not kept: a backward pass after this one would be wrong.
    public func forwardWithoutBackward(_ input: UnsafePointer<Float>, rows samples: Range<Int>) {
        let g = geometry
        let chunk = max(1, Self.cachedPatchFloats / (g.pixelsOut * g.patchWidth))
        let scratch = patches.pointer + samples.lowerBound * g.pixelsOut * g.patchWidth
        var shape = shape
        for start in stride(from: samples.lowerBound, to: samples.upperBound, by: chunk) {
            let count = min(chunk, samples.upperBound - start) * g.pixelsOut
            reins_gather_patches(KernelSet.current.set, input + start * inputWidth, scratch, count / g.pixelsOut, &shape)
            let out = output + start * g.pixelsOut * g.filters
            Elementwise.broadcastRows(out: out, parameters.values(bias), rows: count, columns: g.filters)
            BLAS.gemm(out: out, a: scratch, b: parameters.values(weight), m: count, n: g.filters, k: g.patchWidth, beta: 1)
        }
    }

    /// Patch floats per chunk of `forwardWithoutBackward`: about half of a 1 MB L2 cache.
    static let cachedPatchFloats = 128 * 1024

    /// Reads the patches the forward pass gathered, not `input`.
    public func backward(_ outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, rows samples: Range<Int>,
                         gradients: UnsafeMutablePointer<Float>?) {
        let g = geometry
        let first = samples.lowerBound * g.pixelsOut, count = samples.count * g.pixelsOut
        let dOut = outputGradient + first * g.filters
        // dW (KKC, F) += patchesᵀ · dOut;  db += Σ dOut;  dPatches = dOut · Wᵀ, scattered back to pixels.
        if let gradients {
            BLAS.gemm(out: gradients + weight.offset, a: patches.pointer + first * g.patchWidth, b: dOut,
                      m: g.patchWidth, n: g.filters, k: count, transposeA: true, beta: 1)
            Elementwise.accumulateColumnSums(gradients + bias.offset, dOut, rows: count, columns: g.filters)
        }
        guard computesInputGradient else { return }
        BLAS.gemm(out: patchGradient.pointer + first * g.patchWidth, a: dOut, b: parameters.values(weight),
                  m: count, n: g.patchWidth, k: g.filters, transposeB: true)
        scatterPatches(samples: samples)
    }

    private var shape: reins_convolution_shape {
        let g = geometry
        return reins_convolution_shape(height: g.height, width: g.width, channels: g.channels, kernel: g.kernel, stride: g.stride,
                                       padding: g.padding, output_height: g.outputHeight, output_width: g.outputWidth)
    }

    /// im2col: copies each receptive field into a patch row; zeros outside the image.
    private func gatherPatches(_ input: UnsafePointer<Float>, samples: Range<Int>) {
        var shape = shape
        reins_gather_patches(KernelSet.current.set, input + samples.lowerBound * inputWidth,
                             patches.pointer + samples.lowerBound * geometry.pixelsOut * geometry.patchWidth, samples.count, &shape)
    }

    /// col2im: adds each patch-gradient row back onto the pixels it was gathered from.
    private func scatterPatches(samples: Range<Int>) {
        var shape = shape
        reins_scatter_patches(KernelSet.current.set, patchGradient.pointer + samples.lowerBound * geometry.pixelsOut * geometry.patchWidth,
                              inputGradient + samples.lowerBound * inputWidth, samples.count, &shape)
    }
}
