import Foundation
import ReinsCore
import ReinsNN
import Testing
@testable import ReinsLearn

@Suite("learner checkpoints")
struct CheckpointTests {
    @Test("a learner restored from its state makes exactly the updates the original would have; with a discrete gripper its critic, target and optimiser come back too",
          arguments: [false, true])
    func resumeExactly(discreteGripper: Bool) throws {
        let config = discreteGripper ? GripperCriticTests.config : LossGradientTests.tinyConfig
        let makeBatch = { (seed: UInt64) in discreteGripper ? GripperCriticTests.batch(config, seed: seed) : LossGradientTests.batch(config, seed: seed) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-agent-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let original = SACAgent(config: config, seed: 4)
        for step in 0..<5 { _ = original.update(makeBatch(UInt64(step) * 10)) }
        try original.saveState(to: path, metadata: ["reins.env_steps": "1234"])

        let restored = SACAgent(config: config, seed: 99)
        let metadata = try restored.loadState(from: path)
        #expect(metadata["reins.env_steps"] == "1234")
        for step in 5..<8 {
            let batch = makeBatch(UInt64(step) * 10)
            let a = original.update(batch), b = restored.update(batch)
            #expect(a.critic == b.critic && a.actor == b.actor, "update \(step) differs after the restore")
            #expect((a.critic.gripperLoss > 0) == discreteGripper)
        }
        let same = (0..<original.actorParameters.count).allSatisfy { original.actorParameters.values[$0] == restored.actorParameters.values[$0] }
        #expect(same)
        if discreteGripper {
            let target = try #require(original.targetGripperCritic), restoredTarget = try #require(restored.targetGripperCritic)
            #expect((0..<target.parameters.count).allSatisfy { target.parameters.values[$0] == restoredTarget.parameters.values[$0] })
        }
    }

    @Test("a checkpoint from another configuration is refused, naming what differs")
    func otherConfiguration() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-agent-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SACAgent(config: LossGradientTests.tinyConfig, seed: 1).saveState(to: path)
        var other = LossGradientTests.tinyConfig
        other.hiddenWidths = [8, 6]
        #expect { try SACAgent(config: other, seed: 1).loadState(from: path) } throws: { "\($0)".contains("different learner configuration") }
    }
}
