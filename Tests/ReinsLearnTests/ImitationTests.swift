import Foundation
import ReinsCore
import ReinsNN
import Testing
@testable import ReinsLearn

@Suite("the actor's imitation term")
struct ImitationTests {
    /// 16 rows of seeded images and proprio; the operator acted on the first 8, always with `operatorAction`.
    static func batch(_ config: SACConfig, operatorAction: [Float]) -> TransitionBatch {
        let rows = config.batchSize, size = 8 * 8 * 3
        let batch = TransitionBatch(spec: config.observation, actionWidth: 2, capacity: rows)
        batch.images[0].copy(from: seededFloats(rows * size, seed: 1, range: 0...1))
        batch.nextImages[0].copy(from: seededFloats(rows * size, seed: 2, range: 0...1))
        batch.proprio.copy(from: seededFloats(rows * 2, seed: 3))
        batch.nextProprio.copy(from: seededFloats(rows * 2, seed: 4))
        batch.actions.copy(from: (0..<rows).flatMap { $0 < rows / 2 ? operatorAction : seededFloats(2, seed: 100 + UInt64($0)) })
        batch.rewards.copy(from: [Float](repeating: 0, count: rows))
        batch.masks.copy(from: [Float](repeating: 1, count: rows))
        batch.interventions.copy(from: (0..<rows).map { $0 < rows / 2 ? 1 : 0 })
        batch.count = rows
        return batch
    }

    /// The largest distance of the deterministic action tanh(μ) from `target` over the operator's rows.
    static func distance(_ agent: SACAgent, _ batch: TransitionBatch, from target: [Float]) -> Float {
        var noNoise: SplitMix64? = nil
        agent.actor.setNoise(rows: batch.count, sampling: &noNoise)
        agent.actor.forward(batch.observation, rows: 0..<batch.count)
        return (0..<(batch.count / 2)).map { row in
            (0..<2).map { abs(agent.actor.actions[row * 2 + $0] - target[$0]) }.max()!
        }.max()!
    }

    @Test("with a weight the policy's mean action moves to the operator's on their rows; without one it does not")
    func pullsTowardOperator() {
        var config = LossGradientTests.tinyConfig
        config.batchSize = 16
        let target: [Float] = [0.6, -0.5]
        var distances: [Float] = []
        for weight: Float in [0, 1] {
            config.imitationWeight = weight
            let agent = SACAgent(config: config, seed: 3)
            let batch = Self.batch(config, operatorAction: target)
            for _ in 0..<1_000 { _ = agent.update(batch) }
            let stats = agent.actorStep(batch)
            #expect((stats.imitationLoss > 0) == (weight > 0))
            distances.append(Self.distance(agent, batch, from: target))
        }
        #expect(distances[1] < 0.1, "with the term: \(distances[1]), without: \(distances[0])")
        #expect(distances[0] > 0.3 && distances[0] > 5 * distances[1], "without it: \(distances[0])")
    }
}
