import Foundation
import ReinsCore
import ReinsNN

/// Soft actor-critic as HIL-SERL runs it (RLPD-style): an actor and an ensemble of critics with
/// separate image encoders, target critics averaged with Polyak's rate, a learned temperature, no
/// entropy term in the critic's backup, and the minimum over the target ensemble.
///
/// The loss functions are methods (`criticStep`, `actorStep`); each draws nothing and allocates
/// nothing once built. `update` is one critic step, one actor step and one temperature step.
public final class SACAgent: @unchecked Sendable {
    public let config: SACConfig
    let actor: Actor
    let critic: Critic
    let targetCritic: Critic
    /// The temperature α = softplus(raw), as SERL's Lagrange multiplier.
    let temperature = ParameterSet()
    let temperatureSlot: ParameterSet.Slot
    let actorOptimizer: Adam
    let criticOptimizer: Adam
    let temperatureOptimizer: Adam
    /// Noise for the actor's samples; saved with checkpoints so a resumed run repeats exactly.
    public var generator: SplitMix64
    let targets: FloatBuffer  // (B)
    let qGradient: FloatBuffer  // (K, B)

    public struct CriticStats: Sendable, Equatable {
        public var loss: Float
        public var meanQ: Float
    }

    public struct ActorStats: Sendable, Equatable {
        public var loss: Float
        public var entropy: Float
        public var temperature: Float
        public var temperatureLoss: Float
    }

    public init(config: SACConfig, seed: UInt64) {
        self.config = config
        let batch = config.batchSize
        actor = Actor("actor", config: config, maxBatch: batch, seed: seed &+ 1)
        critic = Critic("critic", config: config, maxBatch: batch, seed: seed &+ 2)
        targetCritic = Critic("critic", config: config, maxBatch: batch, seed: seed &+ 2)
        targetCritic.parameters.copyValues(from: critic.parameters)
        temperatureSlot = temperature.add("temperature.raw", shape: [1])
        temperature.allocate()
        // softplus⁻¹(α₀) = log(exp(α₀) − 1)
        temperature.values[0] = Float(log(expm1(Double(config.initialTemperature))))
        actorOptimizer = Adam(actor.parameters, learningRate: config.learningRate)
        criticOptimizer = Adam(critic.parameters, learningRate: config.learningRate)
        temperatureOptimizer = Adam(temperature, learningRate: config.learningRate)
        generator = SplitMix64(seed: seed &+ 3)
        targets = FloatBuffer(count: batch)
        qGradient = FloatBuffer(count: config.criticEnsemble * batch)
    }

    public var temperatureValue: Float { softplus(temperature.values[0]) }

    /// One critic step on `batch`: y = r + γ·mask·min_k Q̄_k(s′, a′) with a′ ~ π(s′), loss the mean
    /// over ensemble and batch of (Q_k(s, a) − y)², then an Adam step and the target update.
    @discardableResult
    public func criticStep(_ batch: TransitionBatch) -> CriticStats {
        let rows = batch.count
        withUnsafeMutablePointer(to: &generator) { actor.forward(batch.nextObservation, batch: rows, sampling: $0) }
        targetCritic.forward(batch.nextObservation, actions: actor.actions.pointer, batch: rows)
        for row in 0..<rows {
            var minimum = Float.infinity
            for head in 0..<config.criticEnsemble { minimum = min(minimum, targetCritic.q(head, row)) }
            targets[row] = batch.rewards[row] + config.discount * batch.masks[row] * minimum
        }
        let stats = criticLoss(batch)
        critic.parameters.zeroGradients()
        critic.backward(qGradient.pointer, batch: rows, throughEncoder: true, parameterGradients: true)
        criticOptimizer.update()
        targetCritic.parameters.blend(toward: critic.parameters, rate: config.targetRate)
        return stats
    }

    /// The critic loss against the targets already computed, and dL/dQ into `qGradient`.
    func criticLoss(_ batch: TransitionBatch) -> CriticStats {
        let rows = batch.count, ensemble = config.criticEnsemble
        critic.forward(batch.observation, actions: batch.actions.pointer, batch: rows)
        var loss: Float = 0, sumQ: Float = 0
        let scale = 1 / Float(ensemble * rows)
        for head in 0..<ensemble {
            for row in 0..<rows {
                let q = critic.q(head, row)
                let error = q - targets[row]
                loss += error * error
                sumQ += q
                qGradient[head * rows + row] = 2 * error * scale
            }
        }
        return CriticStats(loss: loss * scale, meanQ: sumQ * scale)
    }

    /// One actor step, L = mean(α·logπ(a|s) − mean_k Q_k(s, a)) with a ~ π(s) reparameterised, then
    /// one temperature step, L = α·(entropy − target entropy).
    @discardableResult
    public func actorStep(_ batch: TransitionBatch) -> ActorStats {
        let rows = batch.count
        let alpha = temperatureValue
        withUnsafeMutablePointer(to: &generator) { actor.forward(batch.observation, batch: rows, sampling: $0) }
        let (loss, entropy) = actorLoss(batch, alpha: alpha)
        actor.parameters.zeroGradients()
        actor.backward(actionGradient: critic.actionGradient, actionStride: critic.encoder.featureWidth,
                       logProbabilityGradient: alpha / Float(rows), batch: rows)
        actorOptimizer.update()

        let gap = entropy - config.resolvedTargetEntropy
        let raw = temperature.values[0]
        temperature.gradients[0] = gap / (1 + exp(-raw))  // d softplus(raw)/d raw = sigmoid(raw)
        temperatureOptimizer.update()
        return ActorStats(loss: loss, entropy: entropy, temperature: alpha, temperatureLoss: alpha * gap)
    }

    /// The actor loss for the actions the actor last sampled, and dL/da into the critic's feature gradient.
    func actorLoss(_ batch: TransitionBatch, alpha: Float) -> (loss: Float, entropy: Float) {
        let rows = batch.count, ensemble = config.criticEnsemble
        critic.forward(batch.observation, actions: actor.actions.pointer, batch: rows)
        qGradient.pointer.update(repeating: -1 / Float(ensemble * rows), count: ensemble * rows)
        critic.backward(qGradient.pointer, batch: rows, throughEncoder: false, parameterGradients: false)
        var loss: Float = 0, sumLogProbability: Float = 0
        for row in 0..<rows {
            var meanQ: Float = 0
            for head in 0..<ensemble { meanQ += critic.q(head, row) }
            meanQ /= Float(ensemble)
            loss += alpha * actor.logProbabilities[row] - meanQ
            sumLogProbability += actor.logProbabilities[row]
        }
        return (loss / Float(rows), -sumLogProbability / Float(rows))
    }

    /// One learner update as the benchmark counts it: a critic step, an actor step and a temperature step.
    public func update(_ batch: TransitionBatch) -> (critic: CriticStats, actor: ActorStats) {
        let criticStats = criticStep(batch)
        return (criticStats, actorStep(batch))
    }

    /// The actor's parameters, e.g. to copy into a `Policy` that acts while the agent learns.
    public var actorParameters: ParameterSet { actor.parameters }
}
