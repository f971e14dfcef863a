import Foundation
import ReinsCore
import ReinsNN

/// Turns a batch of observations (plus, for a critic, actions) into one feature row per sample:
/// [camera 1 latent | camera 2 latent | … | proprio | extra]. Each camera has its own
/// convolutional encoder; the proprio and extra inputs are copied in unchanged.
final class ObservationEncoder {
    let cameras: [Sequential]
    let latentWidth: Int
    let proprioWidth: Int
    let extraWidth: Int
    let featureWidth: Int
    let features: FloatBuffer  // (B, F)
    /// The gradient with respect to `features`, written by the heads' backward pass.
    let featureGradient: FloatBuffer  // (B, F)
    private let cameraGradient: FloatBuffer  // (B, latent)

    init(_ name: String, config: SACConfig, extraWidth: Int, maxBatch: Int, parameters: ParameterSet) {
        latentWidth = config.encoderLatentWidth
        proprioWidth = config.observation.proprioWidth
        self.extraWidth = extraWidth
        cameras = config.observation.images.map { image in
            var layers: [any Layer] = []
            var height = image.height, width = image.width, channels = image.channels
            for index in 1...config.encoderLayers {
                let geometry = Convolution.Geometry(height: height, width: width, channels: channels,
                                                    filters: config.encoderFilters, kernel: 3, stride: 2, padding: 1)
                let convolution = Convolution("\(name).\(image.name).conv\(index)", geometry, maxBatch: maxBatch, parameters: parameters)
                layers += [convolution, Activation(.relu, width: convolution.outputWidth, maxBatch: maxBatch)]
                (height, width, channels) = (geometry.outputHeight, geometry.outputWidth, geometry.filters)
            }
            layers[0].computesInputGradient = false
            layers += [
                Dense("\(name).\(image.name).bottleneck", input: height * width * channels, output: config.encoderLatentWidth,
                      maxBatch: maxBatch, parameters: parameters),
                LayerNorm("\(name).\(image.name).bottleneck_norm", width: config.encoderLatentWidth, maxBatch: maxBatch, parameters: parameters),
                Activation(.tanh, width: config.encoderLatentWidth, maxBatch: maxBatch),
            ]
            return Sequential(layers)
        }
        featureWidth = cameras.count * latentWidth + proprioWidth + extraWidth
        features = FloatBuffer(count: maxBatch * featureWidth)
        featureGradient = FloatBuffer(count: maxBatch * featureWidth)
        cameraGradient = FloatBuffer(count: maxBatch * latentWidth)
    }

    func initialize<Generator: RandomNumberGenerator>(using generator: inout Generator) {
        for camera in cameras { camera.initialize(using: &generator) }
    }

    /// Fills `rows` of `features`; without `forBackward` the cameras keep only what a forward needs. Allocates nothing.
    func forward(_ observation: ObservationBatch, extra: UnsafePointer<Float>?, rows: Range<Int>, forBackward: Bool = true) {
        let width = featureWidth
        for (index, camera) in cameras.enumerated() {
            let latent = camera.forward(observation.images[index], rows: rows, forBackward: forBackward)
            copyColumns(out: features.pointer + index * latentWidth, outStride: width, latent, stride: latentWidth,
                        columns: latentWidth, rows: rows)
        }
        let proprioStart = cameras.count * latentWidth
        copyColumns(out: features.pointer + proprioStart, outStride: width, observation.proprio, stride: proprioWidth,
                    columns: proprioWidth, rows: rows)
        if let extra { setExtra(extra, stride: extraWidth, rows: rows) }
    }

    /// Writes `rows` of the extra columns (a critic's actions: the first `extraWidth` values of each
    /// row of `extra`, row stride `stride`) after the observation's. Allocates nothing.
    func setExtra(_ extra: UnsafePointer<Float>, stride: Int, rows: Range<Int>) {
        copyColumns(out: features.pointer + cameras.count * latentWidth + proprioWidth, outStride: featureWidth, extra, stride: stride,
                    columns: extraWidth, rows: rows)
    }

    /// The width of the observation's own columns (camera latents and proprio), before the extra ones.
    var observationWidth: Int { featureWidth - extraWidth }

    /// Backpropagates `rows` of `featureGradient`'s camera columns through each camera's encoder,
    /// accumulating into `gradients`. Allocates nothing.
    func backward(_ observation: ObservationBatch, rows: Range<Int>, gradients: UnsafeMutablePointer<Float>?) {
        for (index, camera) in cameras.enumerated() {
            copyColumns(out: cameraGradient.pointer, outStride: latentWidth, featureGradient.pointer + index * latentWidth,
                        stride: featureWidth, columns: latentWidth, rows: rows)
            camera.backward(cameraGradient.pointer, input: observation.images[index], rows: rows, gradients: gradients)
        }
    }
}

/// out[r, 0..<columns] = source[r, 0..<columns] for row strides that differ.
@inline(__always)
func copyColumns(out: UnsafeMutablePointer<Float>, outStride: Int, _ source: UnsafePointer<Float>, stride: Int, columns: Int, rows: Range<Int>) {
    for row in rows {
        (out + row * outStride).update(from: source + row * stride, count: columns)
    }
}

/// Hidden layers (dense, LayerNorm, tanh) and a linear output, as SERL's MLP with layer norm.
func multilayerPerceptron(_ name: String, input: Int, hidden: [Int], output: Int, maxBatch: Int, parameters: ParameterSet) -> Sequential {
    var layers: [any Layer] = []
    var width = input
    for (index, hiddenWidth) in hidden.enumerated() {
        layers += [
            Dense("\(name).dense\(index + 1)", input: width, output: hiddenWidth, maxBatch: maxBatch, parameters: parameters),
            LayerNorm("\(name).norm\(index + 1)", width: hiddenWidth, maxBatch: maxBatch, parameters: parameters),
            Activation(.tanh, width: hiddenWidth, maxBatch: maxBatch),
        ]
        width = hiddenWidth
    }
    layers.append(Dense("\(name).output", input: width, output: output, maxBatch: maxBatch, parameters: parameters))
    return Sequential(layers)
}

/// An ensemble of Q-functions on one shared observation encoder: Q_k(s, a) for k in 1…K, a being
/// the continuous actions (all but a discrete gripper).
final class Critic {
    let parameters = ParameterSet()
    let encoder: ObservationEncoder
    let heads: [Sequential]
    let actionWidth: Int

    init(_ name: String, config: SACConfig, maxBatch: Int, shards: Int, seed: UInt64) {
        actionWidth = config.continuousActionWidth
        encoder = ObservationEncoder("\(name).encoder", config: config, extraWidth: config.continuousActionWidth, maxBatch: maxBatch, parameters: parameters)
        heads = (1...config.criticEnsemble).map { [parameters, encoder] index in
            multilayerPerceptron("\(name).q\(index)", input: encoder.featureWidth, hidden: config.hiddenWidths, output: 1,
                                 maxBatch: maxBatch, parameters: parameters)
        }
        parameters.allocate(shards: shards)
        var generator = SplitMix64(seed: seed)
        encoder.initialize(using: &generator)
        for head in heads { head.initialize(using: &generator) }
    }

    /// Q_k(s, a) for row `row` after `forward`.
    func q(_ head: Int, _ row: Int) -> Float { heads[head].output[row] }

    /// Q for `rows` of the batch, reading the first `actionWidth` values of each row of `actions`
    /// (row stride `actionStride`, or `actionWidth`). Allocates nothing.
    func forward(_ observation: ObservationBatch, actions: UnsafePointer<Float>, actionStride: Int? = nil, rows: Range<Int>,
                 forBackward: Bool = true) {
        encode(observation, rows: rows, forBackward: forBackward)
        evaluate(actions: actions, actionStride: actionStride, rows: rows)
    }

    /// The encoder's features of `observation` for `rows`, without actions: what a shared-encoder
    /// actor reads, and what `evaluate` then completes. Allocates nothing.
    func encode(_ observation: ObservationBatch, rows: Range<Int>, forBackward: Bool = true) {
        encoder.forward(observation, extra: nil, rows: rows, forBackward: forBackward)
    }

    /// Q for `rows` of the observation last encoded, with `actions` (row stride `actionStride`, or `actionWidth`). Allocates nothing.
    func evaluate(actions: UnsafePointer<Float>, actionStride: Int? = nil, rows: Range<Int>) {
        encoder.setExtra(actions, stride: actionStride ?? actionWidth, rows: rows)
        for head in heads { head.forward(encoder.features.pointer, rows: rows) }
    }

    /// Backpropagates dL/dQ (K blocks of `batch` values) for `rows` of the last forward pass on
    /// `observation` into `encoder.featureGradient`, whose last `actionWidth` columns are then dL/da;
    /// into the encoder too when `throughEncoder`. Parameter gradients go to `gradients`, or nowhere
    /// when nil. Allocates nothing.
    func backward(_ qGradient: UnsafePointer<Float>, observation: ObservationBatch, batch: Int, rows: Range<Int>,
                  throughEncoder: Bool, gradients: UnsafeMutablePointer<Float>?) {
        let width = encoder.featureWidth
        let first = rows.lowerBound * width, total = rows.count * width
        let gradient = encoder.featureGradient.pointer + first
        gradient.update(repeating: 0, count: total)
        for (index, head) in heads.enumerated() {
            head.backward(qGradient + index * batch, input: encoder.features.pointer, rows: rows, gradients: gradients)
            Elementwise.add(into: gradient, head.inputGradient + first, count: total)
        }
        if throughEncoder { encoder.backward(observation, rows: rows, gradients: gradients) }
    }

    /// dL/da for row 0 (row stride `encoder.featureWidth`), valid after `backward`.
    var actionGradient: UnsafePointer<Float> { UnsafePointer(encoder.featureGradient.pointer + encoder.featureWidth - actionWidth) }
}

/// The tanh-squashed Gaussian policy: an encoder, an MLP, and per action dimension a mean and a
/// log standard deviation (clipped). Actions are tanh(μ + σ·ε), in [−1, 1]: the continuous ones,
/// all but a discrete gripper.
///
/// With a shared encoder (`SACConfig.sharedEncoder`, cameras present) the actor has none of its
/// own: it reads the critic encoder's features, copied and so detached (the critic trains the
/// encoder; the actor's gradient stops at its input), as HIL-SERL, RLPD and DrQ do. With
/// `imitationTrainsSharedEncoder` the imitation term's gradient alone goes on into the encoder
/// (`imitationInputGradient`).
final class Actor {
    let parameters = ParameterSet()
    /// nil with a shared encoder.
    let encoder: ObservationEncoder?
    /// The trunk's input width: camera latents and proprio.
    let inputWidth: Int
    /// The trunk's input rows with a shared encoder (the critic's features, copied); else the
    /// actor's own encoder's features.
    private let sharedInput: FloatBuffer?
    let trunk: Sequential
    let actionWidth: Int
    let logStdRange: ClosedRange<Float>
    let actions: FloatBuffer  // (B, A)
    let logProbabilities: FloatBuffer  // (B)
    let noise: FloatBuffer  // (B, A), ε
    private let deviations: FloatBuffer  // (B, A), σ
    private let logStdInRange: FloatBuffer  // (B, A), 1 where the log-std was not clipped
    private let trunkGradient: FloatBuffer  // (B, 2A)

    init(_ name: String, config: SACConfig, maxBatch: Int, shards: Int, seed: UInt64) {
        actionWidth = config.continuousActionWidth
        logStdRange = config.logStdMin...config.logStdMax
        let own = config.sharesEncoder ? nil
            : ObservationEncoder("\(name).encoder", config: config, extraWidth: 0, maxBatch: maxBatch, parameters: parameters)
        encoder = own
        inputWidth = config.observation.images.count * config.encoderLatentWidth + config.observation.proprioWidth
        sharedInput = own == nil ? FloatBuffer(count: maxBatch * inputWidth) : nil
        trunk = multilayerPerceptron("\(name).policy", input: inputWidth, hidden: config.hiddenWidths,
                                     output: 2 * config.continuousActionWidth, maxBatch: maxBatch, parameters: parameters)
        trunk.computesInputGradient = !(own?.cameras.isEmpty ?? true) || config.imitationReachesSharedEncoder
        parameters.allocate(shards: shards)
        var generator = SplitMix64(seed: seed)
        own?.initialize(using: &generator)
        trunk.initialize(using: &generator)
        actions = FloatBuffer(count: maxBatch * actionWidth)
        logProbabilities = FloatBuffer(count: maxBatch)
        noise = FloatBuffer(count: maxBatch * actionWidth)
        deviations = FloatBuffer(count: maxBatch * actionWidth)
        logStdInRange = FloatBuffer(count: maxBatch * actionWidth)
        trunkGradient = FloatBuffer(count: maxBatch * 2 * actionWidth)
    }

    /// ε for the first `rows` rows: standard normal draws, or zeros for the deterministic action tanh(μ).
    func setNoise(rows: Int, sampling generator: inout SplitMix64?) {
        for index in 0..<(rows * actionWidth) {
            noise[index] = generator == nil ? 0 : Float(generator!.nextGaussian())
        }
    }

    /// The trunk's input: the shared copy, or the actor's own encoder's features.
    private var input: UnsafePointer<Float> { UnsafePointer(sharedInput?.pointer ?? encoder!.features.pointer) }

    /// Actions for `rows` from the actor's own encoder (not with a shared one). Allocates nothing.
    func forward(_ observation: ObservationBatch, rows: Range<Int>, forBackward: Bool = true) {
        guard let encoder else { preconditionFailure("an actor with a shared encoder acts on features: forward(features:stride:rows:)") }
        encoder.forward(observation, extra: nil, rows: rows, forBackward: forBackward)
        act(rows: rows)
    }

    /// Actions for `rows` from a shared encoder's features (their first `inputWidth` columns, row
    /// stride `stride`), copied so no gradient flows back into them. Allocates nothing.
    func forward(features: UnsafePointer<Float>, stride: Int, rows: Range<Int>) {
        guard let sharedInput else { preconditionFailure("an actor with its own encoder acts on observations: forward(_:rows:)") }
        copyColumns(out: sharedInput.pointer, outStride: inputWidth, features, stride: stride, columns: inputWidth, rows: rows)
        act(rows: rows)
    }

    /// Actions tanh(μ + σε), with ε from `setNoise`, and their log-probabilities for `rows` of the trunk's input.
    private func act(rows: Range<Int>) {
        let output = trunk.forward(input, rows: rows)
        let width = actionWidth
        let halfLogTwoPi = Float(0.5 * log(2 * Double.pi))
        for row in rows {
            var logProbability: Float = 0
            for column in 0..<width {
                let index = row * width + column
                let mean = output[row * 2 * width + column]
                let rawLogStd = output[row * 2 * width + width + column]
                let logStd = min(max(rawLogStd, logStdRange.lowerBound), logStdRange.upperBound)
                logStdInRange[index] = logStdRange.contains(rawLogStd) ? 1 : 0
                let deviation = exp(logStd)
                let epsilon = noise[index]
                let preSquash = mean + deviation * epsilon
                let action = Elementwise.tanh(preSquash)
                deviations[index] = deviation
                actions[index] = action
                // log N(u; μ, σ) − log(1 − tanh²u), the latter as 2(log 2 − u − softplus(−2u)) for stability.
                let logSquashDerivative = 2 * (Float(M_LN2) - preSquash - softplus(-2 * preSquash))
                logProbability += -0.5 * epsilon * epsilon - logStd - halfLogTwoPi - logSquashDerivative
            }
            logProbabilities[row] = logProbability
        }
    }

    /// What the imitation term needs: per row a weight (0 for rows the operator did not act on) and
    /// the operator's action (the first `actionWidth` values of each row, row stride `targetStride`).
    struct Imitation {
        var weights: UnsafePointer<Float>  // (B)
        var targets: UnsafePointer<Float>  // (B, targetStride)
        var targetStride: Int
    }

    /// Backpropagates a loss given dL/da (row stride `actionStride`) and dL/dlogπ (one value for every
    /// row) to the parameters, through the reparameterisation a = tanh(μ + σε), for `rows` of the
    /// last forward pass on `observation`, into `gradients`; with `imitation`, plus Σ w‖tanh(μ) − a*‖²
    /// on the mean alone, whose value it returns. Allocates nothing.
    @discardableResult
    func backward(_ observation: ObservationBatch, actionGradient: UnsafePointer<Float>, actionStride: Int,
                  logProbabilityGradient: Float, imitation: Imitation? = nil, rows: Range<Int>,
                  gradients: UnsafeMutablePointer<Float>) -> Float {
        let width = actionWidth
        let output = trunk.output
        var imitationLoss: Float = 0
        for row in rows {
            let weight = imitation?.weights[row] ?? 0
            for column in 0..<width {
                let index = row * width + column
                let action = actions[index]
                let spread = deviations[index] * noise[index]
                // ∂a/∂u = 1 − a²; ∂logπ/∂u = 2a; ∂u/∂μ = 1; ∂u/∂logσ = σε; ∂logπ/∂logσ (ε fixed) = −1.
                let throughU = actionGradient[row * actionStride + column] * (1 - action * action) + logProbabilityGradient * 2 * action
                var throughMean = throughU
                if weight != 0, let imitation {
                    let meanAction = Elementwise.tanh(output[row * 2 * width + column])
                    let error = meanAction - imitation.targets[row * imitation.targetStride + column]
                    imitationLoss += weight * error * error
                    throughMean += weight * 2 * error * (1 - meanAction * meanAction)
                }
                trunkGradient[row * 2 * width + column] = throughMean
                trunkGradient[row * 2 * width + width + column] = (throughU * spread - logProbabilityGradient) * logStdInRange[index]
            }
        }
        trunk.backward(trunkGradient.pointer, input: input, rows: rows, gradients: gradients)
        if let encoder, !encoder.cameras.isEmpty {
            copyColumns(out: encoder.featureGradient.pointer, outStride: encoder.featureWidth, trunk.inputGradient,
                        stride: encoder.featureWidth, columns: encoder.featureWidth, rows: rows)
            encoder.backward(observation, rows: rows, gradients: gradients)
        }
        return imitationLoss
    }

    /// The gradient of the imitation term alone (the mean's part, as in `backward`) with respect to
    /// the trunk's input for `rows`, into the first `inputWidth` columns of `out` (row stride
    /// `stride`): what reaches a shared encoder. No parameter gradients. Allocates nothing.
    func imitationInputGradient(_ imitation: Imitation, rows: Range<Int>, into out: UnsafeMutablePointer<Float>, stride: Int) {
        let width = actionWidth
        let output = trunk.output
        for row in rows {
            let weight = imitation.weights[row]
            for column in 0..<width {
                let meanAction = Elementwise.tanh(output[row * 2 * width + column])
                let error = meanAction - imitation.targets[row * imitation.targetStride + column]
                trunkGradient[row * 2 * width + column] = weight == 0 ? 0 : weight * 2 * error * (1 - meanAction * meanAction)
                trunkGradient[row * 2 * width + width + column] = 0
            }
        }
        trunk.backward(trunkGradient.pointer, input: input, rows: rows, gradients: nil)
        copyColumns(out: out, outStride: stride, trunk.inputGradient, stride: inputWidth, columns: inputWidth, rows: rows)
    }
}

@inline(__always) func softplus(_ x: Float) -> Float { max(x, 0) + log1p(exp(-abs(x))) }
