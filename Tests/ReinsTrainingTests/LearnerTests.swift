import Foundation
import ReinsCore
import Testing
@testable import ReinsLearn
@testable import ReinsTraining

@Suite("the learner thread")
struct LearnerTests {
    @Test("an update is the configuration's critic steps, each on a fresh batch, then one actor step", arguments: [1, 2])
    func criticStepsPerUpdate(ratio: Int) throws {
        let spec = TrainingSpec(cameras: ["front"], imageSize: 8, joints: 2)
        var config = spec.learnerConfig(imitationWeight: 1)
        (config.hiddenWidths, config.encoderFilters, config.encoderLayers, config.batchSize) = ([8], 4, 2, 8)
        config.criticUpdatesPerActorUpdate = ratio
        let actor = PolicyActor(spec: spec, policy: Policy(config: config), deterministic: false, seed: 1)
        let learner = Learner(config: config, actor: actor, onlineCapacity: 200, demoCapacity: 200, seed: 2)
        var generator = SplitMix64(seed: 3)
        func observation() -> Observation {
            Observation(images: [(0..<(8 * 8 * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }],
                        proprio: (0..<5).map { _ in Float.random(in: -1...1, using: &generator) })
        }
        for step in 0..<120 {
            let accepted = learner.submit(Transition(observation: observation(), action: [Float](repeating: 0.1, count: 7), reward: 0,
                                                     nextObservation: observation(), terminal: false, episodeEnded: step % 30 == 29,
                                                     intervention: step % 3 == 0))
            #expect(accepted)
        }
        learner.start()
        for _ in 0..<2_000 where learner.stats.updates < 5 { usleep(5_000) }
        learner.stop()
        let updates = learner.stats.updates
        #expect(updates >= 5)
        #expect(learner.agent.actorOptimizer.step == updates)
        #expect(learner.agent.criticOptimizer.step == ratio * updates)
        #expect(learner.stats.imitationLoss > 0)
        #expect(learner.online.count == 120 && learner.demos.count == 40)
    }

    @Test("the learner's threads run below the actor: every one at SCHED_IDLE once started", arguments: [1, 2])
    func learnerYields(threads: Int) throws {
        let spec = TrainingSpec(cameras: ["front"], imageSize: 8, joints: 2)
        var config = spec.learnerConfig(imitationWeight: 1)
        (config.hiddenWidths, config.encoderFilters, config.encoderLayers, config.batchSize) = ([8], 4, 2, 8)
        let actor = PolicyActor(spec: spec, policy: Policy(config: config), deterministic: false, seed: 1)
        let learner = Learner(config: config, actor: actor, onlineCapacity: 200, demoCapacity: 200, seed: 2, threads: threads)
        // The caller keeps its own scheduling: only the learner's threads are lowered.
        #expect(BackgroundScheduling.ofCallingThread() == .normal)
        learner.start()
        defer { learner.stop() }
        #expect(learner.schedulingSummary == "\(threads) thread\(threads == 1 ? "" : "s") at SCHED_IDLE")
        #expect(BackgroundScheduling.ofCallingThread() == .normal)
    }
}
