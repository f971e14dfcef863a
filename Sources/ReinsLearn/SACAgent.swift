import Foundation
import ReinsCore
import ReinsNN

/// Soft actor-critic as HIL-SERL runs it (RLPD-style): an actor and an ensemble of critics, target
/// critics averaged with Polyak's rate, a learned temperature, no entropy term in the critic's
/// backup, and the minimum over the target ensemble. The image encoder is the critic's, read by
/// the actor with its gradient stopped (`SACConfig.sharedEncoder`), or one of each. With
/// `SACConfig.discreteGripper` a gripper critic of its own (double DQN over close/stay/open, its
/// own Adam and Polyak target) learns the gripper's choice in every critic step.
///
/// The loss functions are methods (`criticStep`, `actorStep`). With `threads` > 1 each step splits
/// the batch into that many row ranges, one per thread, with OpenBLAS single-threaded inside each
/// (the small matrices of a 256-row batch gain more from this than from OpenBLAS's own threads);
/// per-thread gradients are summed before the optimiser. Once built, a step allocates nothing.
public final class SACAgent: ShardedWork, @unchecked Sendable {
    public let config: SACConfig
    let actor: Actor
    let critic: Critic
    let targetCritic: Critic
    /// The temperature α = softplus(raw), as SERL's Lagrange multiplier.
    let temperature = ParameterSet()
    let actorOptimizer: Adam
    let criticOptimizer: Adam
    let temperatureOptimizer: Adam
    /// With a discrete gripper: its critic, target and optimiser.
    let gripperCritic: GripperCritic?
    let targetGripperCritic: GripperCritic?
    let gripperOptimizer: Adam?
    let gripperTargets: FloatBuffer  // (B)
    let gripperQGradient: FloatBuffer  // (B, 3)
    /// The critic encoder's features of s, kept while it encodes s′ for the gripper's argmax (B, features).
    let gripperStateFeatures: FloatBuffer
    /// Noise for the actor's samples; saved with checkpoints so a resumed run repeats exactly.
    public var generator: SplitMix64
    let targets: FloatBuffer  // (B)
    let qGradient: FloatBuffer  // (K, B)
    /// Each row's weight in the imitation term: the configured weight over the batch's intervention rows, or 0.
    let imitationWeights: FloatBuffer  // (B)
    private let pool: ShardPool
    /// The critic's encoder's span of its parameters (they come first): what the imitation term
    /// trains with `imitationTrainsSharedEncoder`.
    private let sharedEncoderParameters: Range<Int>
    private let shardLoss: FloatBuffer  // (shards)
    private let shardSum: FloatBuffer  // (shards): Q for the critic, log π for the actor
    private let shardImitation: FloatBuffer  // (shards)
    private let shardGripperLoss: FloatBuffer  // (shards)
    private let shardGripperQ: FloatBuffer  // (shards)
    private let shardGripperImitation: FloatBuffer  // (shards)

    private enum Phase { case criticLoss, criticOptimizer, actorLoss, actorOptimizer }
    private var phase = Phase.criticLoss
    private unowned(unsafe) var currentBatch: TransitionBatch?
    private var currentTemperature: Float = 0

    public struct CriticStats: Sendable, Equatable {
        public var loss: Float
        public var meanQ: Float
        /// The gripper critic's mean (Q − y)² and mean Q of the taken class (0 without a discrete gripper).
        public var gripperLoss: Float = 0
        public var gripperMeanQ: Float = 0
        /// The gripper's margin term over the intervention rows, unweighted (0 when off).
        public var gripperImitationLoss: Float = 0
    }

    public struct ActorStats: Sendable, Equatable {
        public var loss: Float
        public var entropy: Float
        public var temperature: Float
        public var temperatureLoss: Float
        /// Mean over the batch's intervention rows of ‖tanh(μ) − a_operator‖² (0 when none, or with the term off).
        public var imitationLoss: Float
    }

    /// `threads` > 1 also sets OpenBLAS to one thread per call, process-wide. `workerStart` runs
    /// first on each extra thread.
    public init(config: SACConfig, seed: UInt64, threads: Int = 1, workerStart: @escaping @Sendable () -> Void = {}) {
        self.config = config
        let batch = config.batchSize, shards = max(threads, 1)
        actor = Actor("actor", config: config, maxBatch: batch, shards: shards, seed: seed &+ 1)
        critic = Critic("critic", config: config, maxBatch: batch, shards: shards, seed: seed &+ 2)
        targetCritic = Critic("critic", config: config, maxBatch: batch, shards: 1, seed: seed &+ 2)
        targetCritic.parameters.copyValues(from: critic.parameters)
        let encoderSlots = critic.parameters.slots.filter { $0.name.hasPrefix("critic.encoder.") }
        sharedEncoderParameters = 0..<(encoderSlots.map { $0.offset + $0.count }.max() ?? 0)
        _ = temperature.add("temperature.raw", shape: [1])
        temperature.allocate()
        // softplus⁻¹(α₀) = log(exp(α₀) − 1)
        temperature.values[0] = Float(log(expm1(Double(config.initialTemperature))))
        actorOptimizer = Adam(actor.parameters, learningRate: config.learningRate)
        criticOptimizer = Adam(critic.parameters, learningRate: config.learningRate)
        temperatureOptimizer = Adam(temperature, learningRate: config.learningRate)
        if config.discreteGripper {
            let width = critic.encoder.observationWidth
            let online = GripperCritic("gripper_critic", config: config, observationWidth: width, maxBatch: batch, shards: shards, seed: seed &+ 4)
            let target = GripperCritic("gripper_critic", config: config, observationWidth: width, maxBatch: batch, shards: 1, seed: seed &+ 4)
            target.parameters.copyValues(from: online.parameters)
            (gripperCritic, targetGripperCritic) = (online, target)
            gripperOptimizer = Adam(online.parameters, learningRate: config.learningRate)
        } else {
            (gripperCritic, targetGripperCritic, gripperOptimizer) = (nil, nil, nil)
        }
        gripperTargets = FloatBuffer(count: batch)
        gripperQGradient = FloatBuffer(count: batch * GripperClass.allCases.count)
        gripperStateFeatures = FloatBuffer(count: config.discreteGripper ? batch * critic.encoder.featureWidth : 0)
        generator = SplitMix64(seed: seed &+ 3)
        targets = FloatBuffer(count: batch)
        qGradient = FloatBuffer(count: config.criticEnsemble * batch)
        imitationWeights = FloatBuffer(count: batch)
        shardLoss = FloatBuffer(count: shards)
        shardSum = FloatBuffer(count: shards)
        shardImitation = FloatBuffer(count: shards)
        shardGripperLoss = FloatBuffer(count: shards)
        shardGripperQ = FloatBuffer(count: shards)
        shardGripperImitation = FloatBuffer(count: shards)
        if shards > 1 { BLAS.setThreadCount(1) }
        pool = ShardPool(shards: shards, workerStart: workerStart)
    }

    public var threads: Int { pool.shards }
    public var temperatureValue: Float { softplus(temperature.values[0]) }

    /// One critic step on `batch`: y = r + γ·mask·min_k Q̄_k(s′, a′) with a′ ~ π(s′), loss the mean
    /// over ensemble and batch of (Q_k(s, a) − y)², then an Adam step and the target update; the
    /// gripper critic's step too, with a discrete gripper.
    @discardableResult
    public func criticStep(_ batch: TransitionBatch) -> CriticStats {
        currentBatch = batch
        drawNoise(rows: batch.count)
        if gripperCritic != nil, config.gripperImitationMargin > 0 { setImitationWeights(batch) }
        phase = .criticLoss
        pool.run(self)
        criticOptimizer.beginStep()
        gripperOptimizer?.beginStep()
        phase = .criticOptimizer
        pool.run(self)
        currentBatch = nil
        let scale = 1 / Float(config.criticEnsemble * batch.count)
        let rows = Float(batch.count)
        let imitation = config.imitationWeight > 0 ? shardTotal(shardGripperImitation) / config.imitationWeight : 0
        return CriticStats(loss: shardTotal(shardLoss) * scale, meanQ: shardTotal(shardSum) * scale,
                           gripperLoss: shardTotal(shardGripperLoss) / rows, gripperMeanQ: shardTotal(shardGripperQ) / rows,
                           gripperImitationLoss: imitation)
    }

    /// One actor step, L = mean(α·logπ(a|s) − mean_k Q_k(s, a)) with a ~ π(s) reparameterised, plus
    /// the imitation term when it has a weight, then one temperature step, L = α·(entropy − target entropy).
    @discardableResult
    public func actorStep(_ batch: TransitionBatch) -> ActorStats {
        currentBatch = batch
        currentTemperature = temperatureValue
        drawNoise(rows: batch.count)
        setImitationWeights(batch)
        phase = .actorLoss
        pool.run(self)
        actorOptimizer.beginStep()
        phase = .actorOptimizer
        pool.run(self)
        currentBatch = nil

        let rows = Float(batch.count)
        let entropy = -shardTotal(shardSum) / rows
        let gap = entropy - config.resolvedTargetEntropy
        let raw = temperature.values[0]
        temperature.gradients[0] = gap / (1 + exp(-raw))  // d softplus(raw)/d raw = sigmoid(raw)
        temperatureOptimizer.update()
        let imitationLoss = config.imitationWeight > 0 ? shardTotal(shardImitation) / config.imitationWeight : 0
        return ActorStats(loss: shardTotal(shardLoss) / rows, entropy: entropy, temperature: currentTemperature,
                          temperatureLoss: currentTemperature * gap, imitationLoss: imitationLoss)
    }

    /// One learner update as the benchmark counts it: a critic step, an actor step and a temperature step.
    public func update(_ batch: TransitionBatch) -> (critic: CriticStats, actor: ActorStats) {
        let criticStats = criticStep(batch)
        return (criticStats, actorStep(batch))
    }

    public func run(shard: Int, of shards: Int) {
        guard let batch = currentBatch else { return }
        let rows = ShardPool.range(shard, of: shards, count: batch.count)
        switch phase {
        case .criticLoss:
            (shardLoss[shard], shardSum[shard]) = criticLoss(batch, rows: rows)
            critic.backward(qGradient.pointer, observation: batch.observation, batch: batch.count, rows: rows, throughEncoder: true,
                            gradients: critic.parameters.gradients(shard: shard))
            if let gripperCritic {
                (shardGripperLoss[shard], shardGripperQ[shard], shardGripperImitation[shard]) = gripperLoss(batch, rows: rows)
                gripperCritic.backward(gripperQGradient.pointer, rows: rows, gradients: gripperCritic.parameters.gradients(shard: shard))
            }
        case .criticOptimizer:
            let range = ShardPool.range(shard, of: shards, count: critic.parameters.count)
            optimize(critic.parameters, criticOptimizer, range: range)
            targetCritic.parameters.blend(toward: critic.parameters, rate: config.targetRate, range: range)
            if let gripperCritic, let targetGripperCritic, let gripperOptimizer {
                let range = ShardPool.range(shard, of: shards, count: gripperCritic.parameters.count)
                optimize(gripperCritic.parameters, gripperOptimizer, range: range)
                targetGripperCritic.parameters.blend(toward: gripperCritic.parameters, rate: config.targetRate, range: range)
            }
        case .actorLoss:
            (shardLoss[shard], shardSum[shard]) = actorLoss(batch, alpha: currentTemperature, rows: rows)
            shardImitation[shard] = actorGradients(batch, alpha: currentTemperature, rows: rows, shard: shard)
        case .actorOptimizer:
            optimize(actor.parameters, actorOptimizer, range: ShardPool.range(shard, of: shards, count: actor.parameters.count))
            if config.imitationReachesSharedEncoder {
                let encoder = sharedEncoderParameters
                let part = ShardPool.range(shard, of: shards, count: encoder.count)
                optimize(critic.parameters, criticOptimizer, range: (encoder.lowerBound + part.lowerBound)..<(encoder.lowerBound + part.upperBound))
            }
        }
    }

    /// The actor's gradients for `rows` after `actorLoss`, into shard `shard`'s block; the imitation
    /// term's gradient also goes through the shared encoder into the critic's block when the
    /// configuration says so. Returns the rows' imitation loss.
    func actorGradients(_ batch: TransitionBatch, alpha: Float, rows: Range<Int>, shard: Int) -> Float {
        let imitation = config.imitationWeight > 0
            ? Actor.Imitation(weights: imitationWeights.pointer, targets: batch.actions.pointer, targetStride: config.actionWidth) : nil
        let imitationLoss = actor.backward(
            batch.observation, actionGradient: critic.actionGradient, actionStride: critic.encoder.featureWidth,
            logProbabilityGradient: alpha / Float(batch.count), imitation: imitation, rows: rows,
            gradients: actor.parameters.gradients(shard: shard))
        if let imitation, config.imitationReachesSharedEncoder {
            // After the actor's backward has read dQ/da from the action columns: the observation columns take the imitation's gradient.
            actor.imitationInputGradient(imitation, rows: rows, into: critic.encoder.featureGradient.pointer, stride: critic.encoder.featureWidth)
            critic.encoder.backward(batch.observation, rows: rows, gradients: critic.parameters.gradients(shard: shard))
        }
        return imitationLoss
    }


    /// Targets for `rows`, then the critic's loss terms and dL/dQ into `qGradient`: (Σ (Q − y)², Σ Q).
    /// With a shared encoder the target critic encodes s′ once, for the actor's a′ and the backup.
    func criticLoss(_ batch: TransitionBatch, rows: Range<Int>) -> (Float, Float) {
        let ensemble = config.criticEnsemble
        if config.sharesEncoder {
            targetCritic.encode(batch.nextObservation, rows: rows, forBackward: false)
            let encoder = targetCritic.encoder
            actor.forward(features: encoder.features.pointer, stride: encoder.featureWidth, rows: rows)
            targetCritic.evaluate(actions: actor.actions.pointer, rows: rows)
        } else {
            actor.forward(batch.nextObservation, rows: rows, forBackward: false)
            targetCritic.forward(batch.nextObservation, actions: actor.actions.pointer, rows: rows, forBackward: false)
        }
        for row in rows {
            var minimum = Float.infinity
            for head in 0..<ensemble { minimum = min(minimum, targetCritic.q(head, row)) }
            targets[row] = batch.rewards[row] + config.discount * batch.masks[row] * minimum
        }
        return criticLossAgainstTargets(batch, rows: rows)
    }

    /// The critic's loss terms against the targets already in `targets`, and dL/dQ into `qGradient`.
    func criticLossAgainstTargets(_ batch: TransitionBatch, rows: Range<Int>) -> (Float, Float) {
        let count = batch.count, ensemble = config.criticEnsemble
        critic.forward(batch.observation, actions: batch.actions.pointer, actionStride: config.actionWidth, rows: rows)
        var squares: Float = 0, sumQ: Float = 0
        let scale = 1 / Float(ensemble * count)
        for head in 0..<ensemble {
            for row in rows {
                let q = critic.q(head, row)
                let error = q - targets[row]
                squares += error * error
                sumQ += q
                qGradient[head * count + row] = 2 * error * scale
            }
        }
        return (squares, sumQ)
    }

    /// The gripper critic's double-DQN loss terms for `rows`, after `criticLossAgainstTargets` and
    /// the critic's backward (the target critic's encoder then holds s′ and the critic's holds s;
    /// the gripper critic reads both detached): y = r + penalty·[g ≠ stay] + γ·mask·Q̄(s′, argmax
    /// over allowed g′ of Q(s′, g′)), the argmax on the online critic's encoder at s′ as double DQN
    /// defines it (one more encoder pass; the features of s are kept aside meanwhile),
    /// loss the batch mean of (Q(s, g) − y)², g the stored class, plus the margin term on the
    /// intervention rows (`gripperImitationMargin`). dL/dQ goes into `gripperQGradient`; returns
    /// (Σ (Q − y)², Σ Q, Σ weighted margin term). The state after the step (the class applied to the
    /// state before it) decides which classes s′ allows. Allocates nothing.
    func gripperLoss(_ batch: TransitionBatch, rows: Range<Int>) -> (Float, Float, Float) {
        guard let online = gripperCritic, let target = targetGripperCritic else { return (0, 0, 0) }
        let width = config.actionWidth, classes = GripperClass.allCases.count
        func taken(_ row: Int) -> GripperClass { GripperClass(actionValue: batch.actions[row * width + width - 1]) }
        func openBefore(_ row: Int) -> Bool { batch.gripperOpen[row] != 0 }
        func openAfter(_ row: Int) -> Bool { taken(row).isOpen(after: openBefore(row)) }
        let current = critic.encoder, stride = current.featureWidth
        let offset = rows.lowerBound * stride
        (gripperStateFeatures.pointer + offset).update(from: current.features.pointer + offset, count: rows.count * stride)
        critic.encode(batch.nextObservation, rows: rows, forBackward: false)
        online.forward(features: current.features.pointer, stride: stride, rows: rows, forBackward: false, open: openAfter)
        // The chosen class, for a moment, where the target goes.
        for row in rows { gripperTargets[row] = Float(online.best(row, open: openAfter(row)).rawValue) }
        let next = targetCritic.encoder
        target.forward(features: next.features.pointer, stride: next.featureWidth, rows: rows, forBackward: false, open: openAfter)
        for row in rows {
            let penalty = taken(row) == .stay ? 0 : config.gripperChangePenalty
            let bootstrap = target.q(row, GripperClass(rawValue: Int(gripperTargets[row]))!)
            gripperTargets[row] = batch.rewards[row] + penalty + config.discount * batch.masks[row] * bootstrap
        }
        online.forward(features: gripperStateFeatures.pointer, stride: stride, rows: rows, open: openBefore)
        let scale = 2 / Float(batch.count)
        var squares: Float = 0, sumQ: Float = 0, imitation: Float = 0
        let margin = config.gripperImitationMargin
        for row in rows {
            let gripper = taken(row)
            let q = online.q(row, gripper), error = q - gripperTargets[row]
            squares += error * error
            sumQ += q
            (gripperQGradient.pointer + row * classes).update(repeating: 0, count: classes)
            gripperQGradient[row * classes + gripper.rawValue] = error * scale
            // The margin term on the operator's rows: a class within the margin of theirs, or above it, is pushed down and theirs up.
            guard margin > 0, imitationWeights[row] > 0 else { continue }
            var rival = gripper, rivalValue = q
            for other in GripperClass.allCases where other != gripper && other.isAllowed(open: openBefore(row)) {
                let value = online.q(row, other) + margin
                if value > rivalValue { (rival, rivalValue) = (other, value) }
            }
            guard rival != gripper else { continue }
            let weight = imitationWeights[row]
            imitation += weight * (rivalValue - q)
            gripperQGradient[row * classes + rival.rawValue] += weight
            gripperQGradient[row * classes + gripper.rawValue] -= weight
        }
        return (squares, sumQ, imitation)
    }

    /// The actor's actions on `rows` of s, then dL/da into the critic's feature gradient, and the
    /// loss terms (Σ α·logπ − mean_k Q, Σ logπ). With a shared encoder the critic encodes s once,
    /// for the actor and for Q(s, a).
    func actorLoss(_ batch: TransitionBatch, alpha: Float, rows: Range<Int>) -> (Float, Float) {
        let count = batch.count, ensemble = config.criticEnsemble
        if config.sharesEncoder {
            critic.encode(batch.observation, rows: rows, forBackward: config.imitationReachesSharedEncoder)
            actor.forward(features: critic.encoder.features.pointer, stride: critic.encoder.featureWidth, rows: rows)
            critic.evaluate(actions: actor.actions.pointer, rows: rows)
        } else {
            actor.forward(batch.observation, rows: rows)
            critic.forward(batch.observation, actions: actor.actions.pointer, rows: rows, forBackward: false)
        }
        for head in 0..<ensemble {
            (qGradient.pointer + head * count + rows.lowerBound).update(repeating: -1 / Float(ensemble * count), count: rows.count)
        }
        critic.backward(qGradient.pointer, observation: batch.observation, batch: count, rows: rows, throughEncoder: false, gradients: nil)
        var loss: Float = 0, sumLogProbability: Float = 0
        for row in rows {
            var meanQ: Float = 0
            for head in 0..<ensemble { meanQ += critic.q(head, row) }
            meanQ /= Float(ensemble)
            loss += alpha * actor.logProbabilities[row] - meanQ
            sumLogProbability += actor.logProbabilities[row]
        }
        return (loss, sumLogProbability)
    }

    /// The imitation term's weight for each row: the configured weight shared among the batch's intervention rows.
    func setImitationWeights(_ batch: TransitionBatch) {
        let interventionRows = (0..<batch.count).reduce(0) { $0 + (batch.interventions[$1] != 0 ? 1 : 0) }
        let rowWeight = interventionRows > 0 ? config.imitationWeight / Float(interventionRows) : 0
        for row in 0..<batch.count { imitationWeights[row] = batch.interventions[row] != 0 ? rowWeight : 0 }
    }

    /// Sums the shards' gradients over `range`, takes the Adam step there, and zeroes the gradients for the next step.
    private func optimize(_ parameters: ParameterSet, _ optimizer: Adam, range: Range<Int>) {
        parameters.reduceGradients(range)
        optimizer.apply(range)
        (parameters.gradients + range.lowerBound).update(repeating: 0, count: range.count)
    }

    private func drawNoise(rows: Int) {
        var sampling: SplitMix64? = generator
        actor.setNoise(rows: rows, sampling: &sampling)
        generator = sampling!
    }

    private func shardTotal(_ values: FloatBuffer) -> Float {
        (0..<pool.shards).reduce(0) { $0 + values[$1] }
    }

    /// The actor's parameters, e.g. to copy into a `Policy` that acts while the agent learns.
    public var actorParameters: ParameterSet { actor.parameters }
}
