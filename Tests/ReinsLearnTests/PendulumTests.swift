import Foundation
import ReinsCore
import ReinsNN
import Testing
@testable import ReinsLearn

@Suite("Pendulum-v1 and the learner on it")
struct PendulumTests {
    @Test("one step follows gymnasium's equations (numbers worked by hand)")
    func dynamics() {
        var pendulum = Pendulum(seed: 0)
        pendulum.setState(angle: 1.0, angularVelocity: 0.5)
        // u = 0.5 · 2 = 1; θ̇′ = 0.5 + (15 sin 1 + 3) · 0.05 = 1.281_103_...; θ′ = 1 + 0.05 θ̇′; cost = 1 + 0.025 + 0.001.
        let (observation, reward, truncated) = pendulum.step(0.5)
        let velocity = 0.5 + (15 * 0.841_470_984_807_896_5 + 3) * 0.05
        #expect(abs(pendulum.angularVelocity - velocity) < 1e-12)
        #expect(abs(pendulum.angle - (1 + velocity * 0.05)) < 1e-12)
        #expect(abs(reward - -1.026) < 1e-12)
        #expect(!truncated)
        #expect(observation.proprio == [Float(cos(1 + velocity * 0.05)), Float(sin(1 + velocity * 0.05)), Float(velocity)])
    }

    @Test("speed and torque are clipped, θ is normalised in the cost, and episodes end at 200 steps")
    func limits() {
        var pendulum = Pendulum(seed: 1)
        pendulum.setState(angle: 4.0, angularVelocity: 7.9)
        let (_, reward, _) = pendulum.step(5)  // torque clipped to 2
        let wrapped = 4.0 - 2 * Double.pi
        #expect(abs(reward - -(wrapped * wrapped + 0.1 * 7.9 * 7.9 + 0.001 * 4)) < 1e-12)
        #expect(abs(Pendulum.normalise(Double.pi) - -Double.pi) < 1e-12)
        pendulum.setState(angle: 1, angularVelocity: 7.9)
        _ = pendulum.step(1)  // 7.9 + (15 sin 1 + 6) · 0.05 > 8
        #expect(pendulum.angularVelocity == 8)
        var steps = 1
        while true {
            steps += 1
            if pendulum.step(0).truncated { break }
        }
        #expect(steps == 200)
    }

    @Test("starts are seeded and within θ ∈ [−π, π], θ̇ ∈ [−1, 1]")
    func starts() {
        var a = Pendulum(seed: 7), b = Pendulum(seed: 7)
        for _ in 0..<50 {
            let observation = a.reset()
            #expect(observation == b.reset())
            #expect(abs(a.angle) <= Double.pi && abs(a.angularVelocity) <= 1)
        }
    }

    @Test("a short seeded training run is deterministic, finite, and its policy file loads back to the same actions")
    func smokeTraining() throws {
        var training = PendulumTraining(steps: 500, seed: 3)
        training.randomSteps = 200
        training.learningStarts = 200
        training.evaluationEpisodes = 2
        training.config.batchSize = 32
        training.config.hiddenWidths = [32, 32]
        let first = training.run()
        let second = training.run()
        #expect(first.result.updates == 301)
        #expect(first.result.evaluationReturns == second.result.evaluationReturns)
        #expect(first.result.evaluationReturns.allSatisfy { $0.isFinite && $0 < 0 })

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-policy-\(getpid()).safetensors").path
        defer { unlink(path) }
        try first.agent.savePolicy(to: path)
        let loaded = try Policy(contentsOf: path)
        let direct = Policy(config: training.config)
        direct.copyParameters(from: first.agent)
        var generator = SplitMix64(seed: 0)
        let observation = Observation(proprio: [0.3, -0.9, 1.5])
        #expect(loaded.act(observation, deterministic: true, using: &generator) == direct.act(observation, deterministic: true, using: &generator))
        #expect(loaded.config == training.config)
    }
}
