import CKernels
import Foundation

/// Adam over a whole parameter set in one flat loop (Kingma & Ba; β1 0.9, β2 0.999, ε 1e-8 as in
/// optax). It reads the gradients the caller accumulated and leaves zeroing them to the caller.
public final class Adam: @unchecked Sendable {
    public let parameters: ParameterSet
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    /// Updates taken so far (bias correction depends on it; checkpoints save it).
    public var step = 0
    public let firstMoment: FloatBuffer
    public let secondMoment: FloatBuffer

    public init(_ parameters: ParameterSet, learningRate: Float = 3e-4, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoment = FloatBuffer(count: parameters.count)
        secondMoment = FloatBuffer(count: parameters.count)
    }

    private var stepSize: Float = 0
    private var rootCorrection2: Float = 1

    /// One update from the current gradients. Allocates nothing.
    public func update() {
        beginStep()
        apply(0..<parameters.count)
    }

    /// Counts a step and its bias corrections; then `apply` updates the parameters, in one call or
    /// in disjoint ranges from several threads.
    public func beginStep() {
        step += 1
        let correction1 = 1 - Float(pow(Double(beta1), Double(step)))
        let correction2 = 1 - Float(pow(Double(beta2), Double(step)))
        stepSize = learningRate / correction1
        rootCorrection2 = correction2.squareRoot()
    }

    /// θ −= lr · m̂ / (√v̂ + ε), with m̂ = m / c1 and v̂ = v / c2, over `range`. Allocates nothing.
    public func apply(_ range: Range<Int>) {
        let start = range.lowerBound
        reins_adam(KernelSet.current.set, parameters.values + start, parameters.gradients + start, firstMoment.pointer + start,
                   secondMoment.pointer + start, range.count, beta1, beta2, stepSize, rootCorrection2, epsilon)
    }
}
