import Foundation
import ReinsCore
import ReinsNN
import Testing
@testable import ReinsLearn

/// The discrete gripper's critic: its double-DQN targets and its loss's gradient against Double
/// references, what it learns on a problem whose answer is known, and what policies and
/// checkpoints carry of it.
@Suite("the gripper's discrete critic")
struct GripperCriticTests {
    /// The tiny image configuration with its last action value a discrete gripper.
    static var config: SACConfig {
        var config = LossGradientTests.tinyConfig
        config.discreteGripper = true
        return config
    }

    /// The tiny batch with valid gripper data: row 0 open and closing, row 1 open and staying, row 2 closed and opening.
    static func batch(_ config: SACConfig, seed: UInt64) -> TransitionBatch {
        let batch = LossGradientTests.batch(config, seed: seed)
        let classes: [GripperClass] = [.close, .stay, .open]
        for (row, gripper) in classes.enumerated() { batch.actions[row * config.actionWidth + config.actionWidth - 1] = gripper.actionValue }
        batch.gripperOpen.copy(from: [1, 1, 0])
        return batch
    }

    static func doubles(_ buffer: FloatBuffer, from start: Int = 0, _ count: Int) -> [Double] { (start..<(start + count)).map { Double(buffer[$0]) } }
    static func doubles(_ values: UnsafeMutablePointer<Float>, _ count: Int) -> [Double] { (0..<count).map { Double(values[$0]) } }

    /// Rows of [observation features | state] as the gripper critic reads them, in Double, from
    /// `features` laid out as `encoder` lays them out (its own, or a copy of them).
    static func inputs(_ encoder: ObservationEncoder, features: FloatBuffer? = nil, open: [Bool]) -> [Double] {
        var rows: [Double] = []
        for (row, isOpen) in open.enumerated() {
            rows += doubles(features ?? encoder.features, from: row * encoder.featureWidth, encoder.observationWidth) + [isOpen ? 1 : -1]
        }
        return rows
    }

    @Test("classes: close only while open, open only while closed; a command's class is relative to the state before it")
    func classes() {
        #expect(GripperClass.of(command: -1, open: true) == .close && GripperClass.of(command: -0.2, open: true) == .close)
        #expect(GripperClass.of(command: 1, open: true) == .stay && GripperClass.of(command: -1, open: false) == .stay)
        #expect(GripperClass.of(command: 0, open: false) == .open && GripperClass.of(command: 0.7, open: false) == .open)
        #expect(GripperClass.allCases.filter { $0.isAllowed(open: true) } == [.close, .stay])
        #expect(GripperClass.allCases.filter { $0.isAllowed(open: false) } == [.stay, .open])
        for gripper in GripperClass.allCases { #expect(GripperClass(actionValue: gripper.actionValue) == gripper) }
        #expect(!GripperClass.close.isOpen(after: true) && GripperClass.open.isOpen(after: false) && GripperClass.stay.isOpen(after: true))
    }

    @Test("targets: r + penalty on a change + γ·mask·Q̄(s′, the online critic's best allowed class on the online encoder's s′), the state after the step deciding what s′ allows")
    func doubleDQNTargets() throws {
        // Perturbed targets until one tells all three apart: double DQN from DQN, and the online
        // encoder's argmax from the target encoder's. Every one checked must give the targets.
        var telling = 0
        for seed in UInt64(0)..<40 where telling < 2 {
            if try Self.checkTargets(seed: seed) { telling += 1 }
        }
        #expect(telling == 2, "no perturbation told the definitions apart")
    }

    /// Checks the gripper's targets on an agent whose target critic and encoder are perturbed with
    /// `seed`; true when the check could tell double DQN from DQN and the online encoder's argmax
    /// from the target encoder's.
    static func checkTargets(seed: UInt64) throws -> Bool {
        var config = Self.config
        config.gripperChangePenalty = -0.25
        let agent = SACAgent(config: config, seed: 8 &+ seed)
        let online = try #require(agent.gripperCritic), target = try #require(agent.targetGripperCritic)
        var generator = SplitMix64(seed: 2 &+ seed)
        for index in 0..<target.parameters.count { target.parameters.values[index] += Float(generator.nextGaussian() * 0.3) }
        let targetEncoder = agent.targetCritic.parameters
        for index in 0..<targetEncoder.count { targetEncoder.values[index] += Float(generator.nextGaussian() * 0.3) }
        let batch = Self.batch(config, seed: 60)
        _ = agent.criticLoss(batch, rows: 0..<3)
        _ = agent.gripperLoss(batch, rows: 0..<3)

        let openAfter = [false, true, true]
        // After the loss the critic's encoder holds s′ (its features of s were kept aside).
        let onlineInputs = Self.inputs(agent.critic.encoder, open: openAfter)
        let targetInputs = Self.inputs(agent.targetCritic.encoder, open: openAfter)
        func values(_ critic: GripperCritic, _ inputs: [Double]) -> [Double] {
            Reference.forward(critic.network, inputs, batch: 3, set: critic.parameters, parameters: Self.doubles(critic.parameters.values, critic.parameters.count))
        }
        let onlineNext = values(online, onlineInputs), targetNext = values(target, targetInputs)
        let onlineOnTargetFeatures = values(online, targetInputs)
        func best(_ q: [Double], _ row: Int) -> GripperClass {
            GripperClass.allCases.filter { $0.isAllowed(open: openAfter[row]) }.max { q[row * 3 + $0.rawValue] < q[row * 3 + $1.rawValue] }!
        }
        let taken: [GripperClass] = [.close, .stay, .open]
        var tellsDQN = false, tellsEncoders = false
        for row in 0..<3 {
            let chosen = best(onlineNext, row)
            let plain = targetNext[row * 3 + best(targetNext, row).rawValue]
            // Row 0 ended (mask 0): its target is the reward and the penalty alone.
            if batch.masks[row] > 0 {
                if abs(plain - targetNext[row * 3 + chosen.rawValue]) > 1e-3 { tellsDQN = true }
                if chosen != best(onlineOnTargetFeatures, row) { tellsEncoders = true }
            }
            let penalty = taken[row] == .stay ? 0 : -0.25
            let expected = Double(batch.rewards[row]) + penalty + Double(config.discount * batch.masks[row]) * targetNext[row * 3 + chosen.rawValue]
            #expect(abs(Double(agent.gripperTargets[row]) - expected) < 1e-5, "seed \(seed), row \(row): \(agent.gripperTargets[row]) vs \(expected)")
        }
        #expect(abs(agent.gripperTargets[0] - (batch.rewards[0] - 0.25)) < 1e-6)
        return tellsDQN && tellsEncoders
    }

    @Test("loss: the batch mean of (Q(s, g) − y)² for the taken class, differentiated against finite differences, the encoder's features read detached")
    func lossGradient() throws {
        let agent = SACAgent(config: Self.config, seed: 9)
        let gripper = try #require(agent.gripperCritic)
        let batch = Self.batch(agent.config, seed: 70)
        _ = agent.criticLoss(batch, rows: 0..<3)
        agent.critic.parameters.zeroGradients()
        gripper.parameters.zeroGradients()
        let (squares, _, _) = agent.gripperLoss(batch, rows: 0..<3)
        gripper.backward(agent.gripperQGradient.pointer, rows: 0..<3, gradients: gripper.parameters.gradients)

        let inputs = Self.inputs(agent.critic.encoder, features: agent.gripperStateFeatures, open: [true, true, false])
        let targets = Self.doubles(agent.gripperTargets, 3), taken = [0, 1, 2]
        func loss(_ parameters: [Double]) -> Double {
            let q = Reference.forward(gripper.network, inputs, batch: 3, set: gripper.parameters, parameters: parameters)
            return (0..<3).reduce(0) { $0 + pow(q[$1 * 3 + taken[$1]] - targets[$1], 2) } / 3
        }
        let parameters = Self.doubles(gripper.parameters.values, gripper.parameters.count)
        let analytic = Self.doubles(gripper.parameters.gradients, gripper.parameters.count)
        let numeric = Reference.gradient(of: loss, at: parameters, indices: Array(parameters.indices))
        #expect(mismatch(analytic, numeric) == nil)
        #expect(analytic.contains { $0 != 0 })
        #expect(abs(Double(squares) / 3 - loss(parameters)) < 1e-5)
        #expect((0..<agent.critic.parameters.count).allSatisfy { agent.critic.parameters.gradients[$0] == 0 }, "the gripper's loss reached the critic")
    }

    @Test("the margin term: on the operator's rows, max over allowed g of Q(s, g) + margin·[g ≠ theirs] − Q(s, theirs), weighted as the imitation term, against finite differences")
    func marginGradient() throws {
        var config = Self.config
        config.imitationWeight = 0.8
        config.gripperImitationMargin = 0.3
        let agent = SACAgent(config: config, seed: 10)
        let gripper = try #require(agent.gripperCritic)
        let batch = Self.batch(config, seed: 71)
        batch.interventions.copy(from: [1, 0, 1])
        agent.setImitationWeights(batch)
        _ = agent.criticLoss(batch, rows: 0..<3)
        gripper.parameters.zeroGradients()
        let (_, _, imitation) = agent.gripperLoss(batch, rows: 0..<3)
        gripper.backward(agent.gripperQGradient.pointer, rows: 0..<3, gradients: gripper.parameters.gradients)

        let inputs = Self.inputs(agent.critic.encoder, features: agent.gripperStateFeatures, open: [true, true, false])
        let targets = Self.doubles(agent.gripperTargets, 3), taken = [0, 1, 2]
        let allowed: [[Int]] = [[0, 1], [0, 1], [1, 2]], weights: [Double] = [0.4, 0, 0.4]
        func margins(_ q: [Double]) -> Double {
            (0..<3).reduce(0) { total, row in
                let best = allowed[row].map { q[row * 3 + $0] + ($0 == taken[row] ? 0 : 0.3) }.max()!
                return total + weights[row] * (best - q[row * 3 + taken[row]])
            }
        }
        func loss(_ parameters: [Double]) -> Double {
            let q = Reference.forward(gripper.network, inputs, batch: 3, set: gripper.parameters, parameters: parameters)
            return (0..<3).reduce(0) { $0 + pow(q[$1 * 3 + taken[$1]] - targets[$1], 2) } / 3 + margins(q)
        }
        let parameters = Self.doubles(gripper.parameters.values, gripper.parameters.count)
        let q = Reference.forward(gripper.network, inputs, batch: 3, set: gripper.parameters, parameters: parameters)
        #expect(margins(q) > 0.05, "no class is within the margin of the operator's: the test checks nothing")
        #expect(abs(Double(imitation) - margins(q)) < 1e-5)
        let numeric = Reference.gradient(of: loss, at: parameters, indices: Array(parameters.indices))
        #expect(mismatch(Self.doubles(gripper.parameters.gradients, gripper.parameters.count), numeric) == nil)
        // Off, the term adds nothing.
        var plain = config
        plain.gripperImitationMargin = 0
        let off = SACAgent(config: plain, seed: 10)
        off.setImitationWeights(batch)
        _ = off.criticLoss(batch, rows: 0..<3)
        #expect(off.gripperLoss(batch, rows: 0..<3).2 == 0)
    }

    @Test("with the encoder's features it reads, the continuous critic sees all but the gripper and the actor chooses all but the gripper")
    func widths() {
        let agent = SACAgent(config: Self.config, seed: 1)
        #expect(agent.actor.actionWidth == 1 && agent.critic.actionWidth == 1)
        #expect(agent.config.resolvedTargetEntropy == -0.5)
        #expect(agent.gripperCritic?.observationWidth == agent.critic.encoder.featureWidth - 1)
        #expect(SACAgent(config: LossGradientTests.tinyConfig, seed: 1).gripperCritic == nil)
    }

    /// One step from x = ±1 (the proprio), the gripper open: closing at x = 1 is the success
    /// (reward 1, the end), closing at −1 ends with nothing, staying goes on from the same state.
    static func toyBuffer(_ config: SACConfig) -> ReplayBuffer {
        let buffer = ReplayBuffer(spec: config.observation, actionWidth: config.actionWidth, capacity: 64)
        for x: Float in [-1, 1] {
            for gripper in [GripperClass.close, .stay] {
                let observation = Observation(images: [], proprio: [x])
                let closes = gripper == .close
                buffer.add(observation: observation, action: [0, gripper.actionValue], reward: closes && x > 0 ? 1 : 0,
                           nextObservation: observation, terminal: closes, episodeEnded: true, intervention: false, gripperOpen: true)
            }
        }
        return buffer
    }

    /// The toy problems' learner: one proprio value, a continuous action and the gripper's.
    static var toyConfig: SACConfig {
        var config = SACConfig(observation: ObservationSpec(images: [], proprioWidth: 1), actionWidth: 2)
        config.discreteGripper = true
        (config.hiddenWidths, config.batchSize, config.targetRate, config.learningRate) = ([16, 16], 32, 0.05, 3e-3)
        return config
    }

    /// Trains the agent's critics on the buffer, then the gripper classes its policy chooses,
    /// deterministically and the gripper open, at x = 1 and x = −1.
    static func choices(after steps: Int, of agent: SACAgent, on buffer: ReplayBuffer, seed: UInt64) -> [GripperClass] {
        let config = agent.config
        let batch = TransitionBatch(spec: config.observation, actionWidth: config.actionWidth, capacity: config.batchSize)
        var generator = SplitMix64(seed: seed)
        for _ in 0..<steps {
            buffer.sample(into: batch, rows: 0..<config.batchSize, shift: 0, using: &generator)
            agent.criticStep(batch)
        }
        let policy = Policy(config: config)
        policy.copyParameters(from: agent)
        return [Float(1), -1].map { x in
            let action = policy.act(Observation(images: [], proprio: [x]), deterministic: true, gripperOpen: true, using: &generator)
            return GripperClass(actionValue: action[config.actionWidth - 1])
        }
    }

    @Test("on a problem with a known answer it learns to close where closing pays and, for the penalty, to stay where it does not")
    func learnsWhenToClose() {
        let agent = SACAgent(config: Self.toyConfig, seed: 3)
        #expect(Self.choices(after: 600, of: agent, on: Self.toyBuffer(agent.config), seed: 5) == [.close, .stay])
        // Q at x = 1: closing is worth 1 less the penalty; staying γ times that.
        let gripper = agent.gripperCritic!
        let features: [Float] = [1]
        features.withUnsafeBufferPointer { gripper.forward(features: $0.baseAddress!, stride: 1, rows: 0..<1, forBackward: false) { _ in true } }
        features.withUnsafeBufferPointer { gripper.forward(features: $0.baseAddress!, stride: 1, rows: 0..<1, forBackward: false) { _ in true } }
        #expect(abs(gripper.q(0, .close) - 0.98) < 0.05 && abs(gripper.q(0, .stay) - 0.97 * 0.98) < 0.05, "\(gripper.q(0, .close)), \(gripper.q(0, .stay))")
    }

    @Test("with no reward at all (each step the last), the margin term makes it choose what the operator chose: close at x = 1, stay at x = −1; without it the penalty says stay")
    func marginCopiesTheOperator() {
        var config = Self.toyConfig
        config.imitationWeight = 1
        let buffer = ReplayBuffer(spec: config.observation, actionWidth: config.actionWidth, capacity: 64)
        // The operator closed at x = 1 and stayed at −1; the policy stayed at 1, which the penalty makes look better.
        for (x, chosen, byOperator) in [(Float(1), GripperClass.close, true), (-1, .stay, true), (1, .stay, false)] {
            let observation = Observation(images: [], proprio: [x])
            buffer.add(observation: observation, action: [0, chosen.actionValue], reward: 0, nextObservation: observation,
                       terminal: true, episodeEnded: true, intervention: byOperator, gripperOpen: true)
        }
        func choices(margin: Float) -> [GripperClass] {
            var config = config
            config.gripperImitationMargin = margin
            return Self.choices(after: 300, of: SACAgent(config: config, seed: 6), on: buffer, seed: 7)
        }
        #expect(choices(margin: 0.1) == [.close, .stay])
        #expect(choices(margin: 0) == [.stay, .stay])
    }

    @Test("a policy file carries the gripper critic and the encoder it reads; it acts as the agent, explores only among allowed classes", arguments: [false, true])
    func policyFile(shared: Bool) throws {
        var config = Self.config
        config.sharedEncoder = shared
        let agent = SACAgent(config: config, seed: 4)
        for step in 0..<3 { _ = agent.update(Self.batch(config, seed: UInt64(step) * 7)) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-gripper-policy-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try agent.savePolicy(to: path)
        let names = Array(try SafetensorsFile(path: path).tensors.keys)
        #expect(names.contains { $0.hasPrefix("gripper_critic.") } && names.contains { $0.hasPrefix("critic.encoder.") }, "\(names)")
        let loaded = try Policy(contentsOf: path)
        #expect(loaded.config.discreteGripper)
        let copied = Policy(config: config)
        copied.copyParameters(from: agent)
        var generator = SplitMix64(seed: 6)
        for trial in 0..<4 {
            let observation = Observation(images: [(0..<192).map { _ in UInt8.random(in: 0...255, using: &generator) }], proprio: [0.1, Float(trial) / 4])
            let open = trial % 2 == 0
            // The agent's own choice: its gripper critic's best allowed class on the critic's encoding.
            let batch = TransitionBatch(spec: config.observation, actionWidth: config.actionWidth, capacity: 1)
            batch.images[0].copy(from: observation.images[0].map { Float($0) / 255 })
            batch.proprio.copy(from: observation.proprio)
            agent.critic.encode(batch.observation, rows: 0..<1, forBackward: false)
            let gripper = agent.gripperCritic!
            gripper.forward(features: agent.critic.encoder.features.pointer, stride: agent.critic.encoder.featureWidth, rows: 0..<1, forBackward: false) { _ in open }
            let expected = gripper.best(0, open: open)
            let a = loaded.act(observation, deterministic: true, gripperOpen: open, using: &generator)
            let b = copied.act(observation, deterministic: true, gripperOpen: open, using: &generator)
            #expect(a == b && a.count == 2 && GripperClass(actionValue: a[1]) == expected)
        }
        // Sampling with exploration always on: both allowed classes come up, a forbidden one never.
        var exploring = config
        exploring.gripperExploration = 1
        let explorer = Policy(config: exploring)
        explorer.copyParameters(from: agent)
        let observation = Observation(images: [[UInt8](repeating: 90, count: 192)], proprio: [0, 0])
        let chosen = (0..<60).map { _ in GripperClass(actionValue: explorer.act(observation, deterministic: false, gripperOpen: false, using: &generator)[1]) }
        #expect(Set(chosen) == [.stay, .open])
    }
}
