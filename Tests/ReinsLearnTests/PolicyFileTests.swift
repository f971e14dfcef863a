import Foundation
import ReinsCore
import ReinsNN
import Testing
@testable import ReinsLearn

@Suite("policy files, with a shared encoder or the actor's own")
struct PolicyFileTests {
    /// The agent's own deterministic action for one observation, as its actor computes it in an update.
    static func agentAction(_ agent: SACAgent, _ observation: Observation) -> [Float] {
        let config = agent.config
        let batch = TransitionBatch(spec: config.observation, actionWidth: config.actionWidth, capacity: 1)
        batch.images[0].copy(from: observation.images[0].map { Float($0) / 255 })
        batch.proprio.copy(from: observation.proprio)
        batch.count = 1
        var none: SplitMix64?
        agent.actor.setNoise(rows: 1, sampling: &none)
        if config.sharesEncoder {
            agent.critic.encode(batch.observation, rows: 0..<1)
            agent.actor.forward(features: agent.critic.encoder.features.pointer, stride: agent.critic.encoder.featureWidth, rows: 0..<1)
        } else {
            agent.actor.forward(batch.observation, rows: 0..<1)
        }
        return (0..<config.actionWidth).map { agent.actor.actions[$0] }
    }

    @Test("a saved policy, and one copied from the agent, act as the agent's actor; a shared one carries the critic's encoder",
          arguments: [false, true])
    func actsAsTheAgent(shared: Bool) throws {
        var config = LossGradientTests.tinyConfig
        config.sharedEncoder = shared
        let agent = SACAgent(config: config, seed: 3)
        let batch = LossGradientTests.batch(config, seed: 30)
        for _ in 0..<3 { _ = agent.update(batch) }
        var generator = SplitMix64(seed: 4)
        let observation = Observation(images: [(0..<192).map { _ in UInt8.random(in: 0...255, using: &generator) }], proprio: [0.3, -0.2])
        let expected = Self.agentAction(agent, observation)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-policy-\(getpid())-\(shared).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try agent.savePolicy(to: path)
        let names = Array(try SafetensorsFile(path: path).tensors.keys)
        #expect(names.contains { $0.hasPrefix("critic.encoder.") } == shared, "\(names)")
        #expect(names.contains { $0.hasPrefix("actor.encoder.") } == !shared)
        let loaded = try Policy(contentsOf: path)
        #expect(loaded.config.sharedEncoder == shared)
        let copied = Policy(config: config)
        copied.copyParameters(from: agent)
        for policy in [loaded, copied] {
            let action = policy.act(observation, deterministic: true, using: &generator)
            #expect(zip(action, expected).allSatisfy { abs($0 - $1) < 1e-5 }, "\(action) vs \(expected)")
        }
    }

    @Test("a configuration written before the setting existed loads with separate encoders")
    func olderFiles() throws {
        var config = LossGradientTests.tinyConfig
        config.sharedEncoder = true
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as! [String: Any]
        json["sharedEncoder"] = nil
        let decoded = try JSONDecoder().decode(SACConfig.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(!decoded.sharedEncoder && !decoded.sharesEncoder)
        #expect(SACConfig.standardImage.sharesEncoder && !SACConfig.standardState.sharesEncoder)
    }
}
