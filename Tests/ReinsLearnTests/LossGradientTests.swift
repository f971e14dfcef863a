import Foundation
import ReinsCore
import ReinsNN
import Testing
@testable import ReinsLearn

/// The full critic and actor losses, differentiated by the agent, against central differences of
/// the same losses computed in Double from the reference layers, on a small image configuration.
@Suite("SAC loss gradients against finite differences in Double")
struct LossGradientTests {
    static var tinyConfig: SACConfig {
        var config = SACConfig(observation: ObservationSpec(images: [.init(name: "cam", height: 8, width: 8)], proprioWidth: 2), actionWidth: 2)
        config.hiddenWidths = [7, 6]
        config.encoderFilters = 4
        config.encoderLayers = 2
        config.encoderLatentWidth = 5
        config.batchSize = 3
        return config
    }

    /// A batch with seeded contents: images in [0, 1], proprio and actions in [−1, 1].
    static func batch(_ config: SACConfig, seed: UInt64) -> TransitionBatch {
        let batch = TransitionBatch(spec: config.observation, actionWidth: config.actionWidth, capacity: config.batchSize)
        let b = config.batchSize
        batch.images[0].copy(from: seededFloats(b * 8 * 8 * 3, seed: seed, range: 0...1))
        batch.nextImages[0].copy(from: seededFloats(b * 8 * 8 * 3, seed: seed + 1, range: 0...1))
        batch.proprio.copy(from: seededFloats(b * 2, seed: seed + 2))
        batch.nextProprio.copy(from: seededFloats(b * 2, seed: seed + 3))
        batch.actions.copy(from: seededFloats(b * 2, seed: seed + 4, range: -0.9...0.9))
        batch.rewards.copy(from: [1, 0, 0.5])
        batch.masks.copy(from: [0, 1, 1])
        batch.count = b
        return batch
    }

    static func doubles(_ buffer: FloatBuffer, _ count: Int) -> [Double] { (0..<count).map { Double(buffer[$0]) } }

    /// Rows of [camera latent | proprio] from the two, each `batch` rows of its own width: the actor trunk's input.
    static func interleave(_ latent: [Double], width: Int, _ proprio: [Double], width proprioWidth: Int, batch: Int) -> [Double] {
        var features: [Double] = []
        for row in 0..<batch {
            features.append(contentsOf: latent[(row * width)..<((row + 1) * width)])
            features.append(contentsOf: proprio[(row * proprioWidth)..<((row + 1) * proprioWidth)])
        }
        return features
    }

    /// Q_k(s, a) for every head, in Double: rows of [camera latent | proprio | action] through each head.
    static func referenceQ(_ critic: Critic, images: [Double], proprio: [Double], actions: [Double], batch: Int, parameters: [Double]) -> [[Double]] {
        let latent = Reference.forward(critic.encoder.cameras[0], images, batch: batch, set: critic.parameters, parameters: parameters)
        let l = critic.encoder.latentWidth, p = critic.encoder.proprioWidth, a = critic.actionWidth
        var features: [Double] = []
        for row in 0..<batch {
            features.append(contentsOf: latent[(row * l)..<((row + 1) * l)])
            features.append(contentsOf: proprio[(row * p)..<((row + 1) * p)])
            features.append(contentsOf: actions[(row * a)..<((row + 1) * a)])
        }
        return critic.heads.map { Reference.forward($0, features, batch: batch, set: critic.parameters, parameters: parameters) }
    }

    @Test("critic loss: mean over ensemble and batch of (Q − y)², through heads and encoder")
    func criticLoss() {
        let config = Self.tinyConfig
        let agent = SACAgent(config: config, seed: 5)
        let batch = Self.batch(config, seed: 20)
        agent.targets.copy(from: [0.7, -0.2, 0.4])
        agent.critic.parameters.zeroGradients()
        _ = agent.criticLossAgainstTargets(batch, rows: 0..<3)
        agent.critic.backward(agent.qGradient.pointer, observation: batch.observation, batch: 3, rows: 0..<3, throughEncoder: true,
                              gradients: agent.critic.parameters.gradients)

        let set = agent.critic.parameters
        let images = Self.doubles(batch.images[0], 3 * 192), proprio = Self.doubles(batch.proprio, 6), actions = Self.doubles(batch.actions, 6)
        let targets = [0.7, -0.2, 0.4]
        func loss(_ parameters: [Double]) -> Double {
            let q = Self.referenceQ(agent.critic, images: images, proprio: proprio, actions: actions, batch: 3, parameters: parameters)
            var sum = 0.0
            for head in q {
                for (value, target) in zip(head, targets) { sum += (value - target) * (value - target) }
            }
            return sum / Double(q.count * 3)
        }
        let parameters = (0..<set.count).map { Double(set.values[$0]) }
        let analytic = (0..<set.count).map { Double(set.gradients[$0]) }
        let numeric = Reference.gradient(of: loss, at: parameters, indices: Array(parameters.indices))
        #expect(mismatch(analytic, numeric) == nil)
        #expect(analytic.contains { $0 != 0 } && set.slots.count > 20)
    }

    /// With an imitation weight, rows 0 and 2 are the operator's: the loss adds (λ/2)·‖tanh(μ) − a‖² for each.
    /// With a shared encoder the actor reads the critic encoder's latent, which the loss does not
    /// differentiate (the gradient stops there), and the critic gets no gradient at all.
    @Test("actor loss: mean of α·logπ − mean Q through tanh-squashed samples, heads' action input and actor encoder (or the critic's, detached), plus the imitation term",
          arguments: [(Float(0), false), (0.8, false), (0, true), (0.8, true)])
    func actorLoss(imitationWeight: Float, shared: Bool) {
        var config = Self.tinyConfig
        config.imitationWeight = imitationWeight
        config.sharedEncoder = shared
        let agent = SACAgent(config: config, seed: 6)
        let batch = Self.batch(config, seed: 40)
        batch.interventions.copy(from: [1, 0, 1])
        agent.setImitationWeights(batch)
        let alpha: Float = 0.3
        var generator: SplitMix64? = SplitMix64(seed: 9)
        agent.actor.setNoise(rows: 3, sampling: &generator)
        agent.critic.parameters.zeroGradients()
        _ = agent.actorLoss(batch, alpha: alpha, rows: 0..<3)
        agent.actor.parameters.zeroGradients()
        let imitationLoss = agent.actor.backward(
            batch.observation, actionGradient: agent.critic.actionGradient, actionStride: agent.critic.encoder.featureWidth,
            logProbabilityGradient: alpha / 3, imitation: .init(weights: agent.imitationWeights.pointer, targets: batch.actions.pointer, targetStride: config.actionWidth),
            rows: 0..<3, gradients: agent.actor.parameters.gradients)
        let operatorActions = Self.doubles(batch.actions, 6), rowWeights = [Double(imitationWeight) / 2, 0, Double(imitationWeight) / 2]

        let actor = agent.actor, set = actor.parameters
        let images = Self.doubles(batch.images[0], 3 * 192), proprio = Self.doubles(batch.proprio, 6)
        let noise = Self.doubles(actor.noise, 6)
        let criticParameters = (0..<agent.critic.parameters.count).map { Double(agent.critic.parameters.values[$0]) }
        func policy(_ parameters: [Double]) -> (actions: [Double], logProbabilities: [Double], imitation: Double) {
            let latent = shared
                ? Reference.forward(agent.critic.encoder.cameras[0], images, batch: 3, set: agent.critic.parameters, parameters: criticParameters)
                : Reference.forward(actor.encoder!.cameras[0], images, batch: 3, set: set, parameters: parameters)
            let features = Self.interleave(latent, width: 5, proprio, width: 2, batch: 3)
            let output = Reference.forward(actor.trunk, features, batch: 3, set: set, parameters: parameters)
            var actions: [Double] = [], logProbabilities: [Double] = [], imitation = 0.0
            for row in 0..<3 {
                var logProbability = 0.0
                for column in 0..<2 {
                    let mean = output[row * 4 + column]
                    imitation += rowWeights[row] * pow(Foundation.tanh(mean) - operatorActions[row * 2 + column], 2)
                    let logStd = min(max(output[row * 4 + 2 + column], Double(config.logStdMin)), Double(config.logStdMax))
                    let u = mean + exp(logStd) * noise[row * 2 + column]
                    let action = Foundation.tanh(u)
                    actions.append(action)
                    let gaussian = -0.5 * pow(noise[row * 2 + column], 2) - logStd - 0.5 * log(2 * Double.pi)
                    logProbability += gaussian - log(1 - action * action)
                }
                logProbabilities.append(logProbability)
            }
            return (actions, logProbabilities, imitation)
        }
        func loss(_ parameters: [Double]) -> Double {
            let (actions, logProbabilities, imitation) = policy(parameters)
            let q = Self.referenceQ(agent.critic, images: images, proprio: proprio, actions: actions, batch: 3, parameters: criticParameters)
            return (0..<3).map { row in Double(alpha) * logProbabilities[row] - (q[0][row] + q[1][row]) / 2 }.reduce(0, +) / 3 + imitation
        }
        let parameters = (0..<set.count).map { Double(set.values[$0]) }
        let analytic = (0..<set.count).map { Double(set.gradients[$0]) }
        let numeric = Reference.gradient(of: loss, at: parameters, indices: Array(parameters.indices))
        #expect(mismatch(analytic, numeric) == nil)
        // The sampled actions and their log-probabilities agree with the reference's formula too.
        let reference = policy(parameters)
        #expect(mismatch(Self.doubles(actor.actions, 6), reference.actions, absolute: 1e-5, relative: 1e-4) == nil)
        #expect(mismatch(Self.doubles(actor.logProbabilities, 3), reference.logProbabilities, absolute: 1e-4, relative: 1e-4) == nil)
        #expect(abs(Double(imitationLoss) - reference.imitation) < 1e-5)
        #expect((imitationWeight > 0) == (imitationLoss > 0))
        #expect(shared == (actor.encoder == nil))
        let critic = agent.critic.parameters
        #expect((0..<critic.count).allSatisfy { critic.gradients[$0] == 0 }, "the actor's loss reached the critic")
    }

    @Test("with imitationTrainsSharedEncoder the imitation term's gradient reaches the critic's encoder (matching finite differences) and nothing else of the critic")
    func imitationTrainsSharedEncoder() {
        var config = Self.tinyConfig
        (config.imitationWeight, config.sharedEncoder, config.imitationTrainsSharedEncoder) = (0.8, true, true)
        let agent = SACAgent(config: config, seed: 6)
        let batch = Self.batch(config, seed: 40)
        batch.interventions.copy(from: [1, 0, 1])
        agent.setImitationWeights(batch)
        var generator: SplitMix64? = SplitMix64(seed: 9)
        agent.actor.setNoise(rows: 3, sampling: &generator)
        agent.critic.parameters.zeroGradients()
        agent.actor.parameters.zeroGradients()
        _ = agent.actorLoss(batch, alpha: 0.3, rows: 0..<3)
        _ = agent.actorGradients(batch, alpha: 0.3, rows: 0..<3, shard: 0)

        let critic = agent.critic, actor = agent.actor
        let encoderCount = critic.parameters.slots.filter { $0.name.hasPrefix("critic.encoder.") }.map { $0.offset + $0.count }.max()!
        let images = Self.doubles(batch.images[0], 3 * 192), proprio = Self.doubles(batch.proprio, 6)
        let operatorActions = Self.doubles(batch.actions, 6), rowWeights = [0.4, 0, 0.4]
        let actorParameters = (0..<actor.parameters.count).map { Double(actor.parameters.values[$0]) }
        func imitation(_ criticParameters: [Double]) -> Double {
            let latent = Reference.forward(critic.encoder.cameras[0], images, batch: 3, set: critic.parameters, parameters: criticParameters)
            let features = Self.interleave(latent, width: 5, proprio, width: 2, batch: 3)
            let output = Reference.forward(actor.trunk, features, batch: 3, set: actor.parameters, parameters: actorParameters)
            return (0..<6).reduce(0) { total, index in
                let row = index / 2, column = index % 2
                return total + rowWeights[row] * pow(Foundation.tanh(output[row * 4 + column]) - operatorActions[index], 2)
            }
        }
        let criticParameters = (0..<critic.parameters.count).map { Double(critic.parameters.values[$0]) }
        let analytic = (0..<encoderCount).map { Double(critic.parameters.gradients[$0]) }
        let numeric = Reference.gradient(of: imitation, at: criticParameters, indices: Array(0..<encoderCount))
        #expect(mismatch(analytic, numeric) == nil)
        #expect(analytic.contains { $0 != 0 })
        #expect((encoderCount..<critic.parameters.count).allSatisfy { critic.parameters.gradients[$0] == 0 }, "the imitation reached the critic's heads")
    }

    @Test("with a shared encoder the backup's a′ comes from the target critic's features of s′, which its heads also read")
    func sharedBackup() {
        var config = Self.tinyConfig
        config.sharedEncoder = true
        let agent = SACAgent(config: config, seed: 7)
        // The target differs from the critic, as it does after updates, so the test tells them apart.
        agent.targetCritic.parameters.blend(toward: SACAgent(config: config, seed: 8).critic.parameters, rate: 0.5)
        let batch = Self.batch(config, seed: 60)
        var generator: SplitMix64? = SplitMix64(seed: 10)
        agent.actor.setNoise(rows: 3, sampling: &generator)
        _ = agent.criticLoss(batch, rows: 0..<3)

        let target = agent.targetCritic, actor = agent.actor
        let targetParameters = (0..<target.parameters.count).map { Double(target.parameters.values[$0]) }
        let actorParameters = (0..<actor.parameters.count).map { Double(actor.parameters.values[$0]) }
        let images = Self.doubles(batch.nextImages[0], 3 * 192), proprio = Self.doubles(batch.nextProprio, 6), noise = Self.doubles(actor.noise, 6)
        let latent = Reference.forward(target.encoder.cameras[0], images, batch: 3, set: target.parameters, parameters: targetParameters)
        let features = Self.interleave(latent, width: 5, proprio, width: 2, batch: 3)
        let output = Reference.forward(actor.trunk, features, batch: 3, set: actor.parameters, parameters: actorParameters)
        let nextActions = (0..<6).map { index -> Double in
            let row = index / 2, column = index % 2
            let logStd = min(max(output[row * 4 + 2 + column], Double(config.logStdMin)), Double(config.logStdMax))
            return Foundation.tanh(output[row * 4 + column] + exp(logStd) * noise[index])
        }
        let q = Self.referenceQ(target, images: images, proprio: proprio, actions: nextActions, batch: 3, parameters: targetParameters)
        let rewards = [1.0, 0, 0.5], masks = [0.0, 1, 1]
        let expected = (0..<3).map { rewards[$0] + Double(config.discount) * masks[$0] * min(q[0][$0], q[1][$0]) }
        #expect(mismatch(Self.doubles(agent.targets, 3), expected, absolute: 1e-5, relative: 1e-4) == nil)
    }

    @Test("an update split over two threads matches the single-thread update, the imitation term training the shared encoder or not",
          arguments: [(false, false), (true, false), (true, true)])
    func shardedUpdate(shared: Bool, imitationTrainsEncoder: Bool) {
        var config = Self.tinyConfig
        config.sharedEncoder = shared
        (config.imitationWeight, config.imitationTrainsSharedEncoder) = (0.5, imitationTrainsEncoder)
        config.batchSize = 8
        let single = SACAgent(config: config, seed: 11), sharded = SACAgent(config: config, seed: 11, threads: 2)
        let batch = TransitionBatch(spec: config.observation, actionWidth: 2, capacity: 8)
        batch.images[0].copy(from: seededFloats(8 * 192, seed: 1, range: 0...1))
        batch.nextImages[0].copy(from: seededFloats(8 * 192, seed: 2, range: 0...1))
        batch.proprio.copy(from: seededFloats(16, seed: 3))
        batch.nextProprio.copy(from: seededFloats(16, seed: 4))
        batch.actions.copy(from: seededFloats(16, seed: 5, range: -0.9...0.9))
        batch.rewards.copy(from: seededFloats(8, seed: 6, range: 0...1))
        batch.masks.copy(from: [1, 1, 0, 1, 1, 1, 0, 1])
        batch.interventions.copy(from: [1, 0, 0, 1, 0, 1, 0, 0])
        batch.count = 8
        for _ in 0..<3 {
            let a = single.update(batch), b = sharded.update(batch)
            #expect(abs(a.critic.loss - b.critic.loss) <= 1e-4 * max(1, abs(a.critic.loss)))
            #expect(abs(a.actor.loss - b.actor.loss) <= 1e-4 * max(1, abs(a.actor.loss)))
        }
        let p = single.actor.parameters, q = sharded.actor.parameters
        #expect((0..<p.count).allSatisfy { abs(p.values[$0] - q.values[$0]) < 1e-4 })
        let c = single.critic.parameters, d = sharded.critic.parameters
        #expect((0..<c.count).allSatisfy { abs(c.values[$0] - d.values[$0]) < 1e-4 })
    }
}
