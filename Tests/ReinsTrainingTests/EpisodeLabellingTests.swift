import Foundation
import ReinsControl
import ReinsCore
import Testing
@testable import ReinsLearn
@testable import ReinsTraining

@Suite("episode ends, rewards from the keys, discards")
struct EpisodeLabellingTests {
    static let spec = TrainingSpec(cameras: ["front"], imageSize: 4, joints: 2)

    /// Step `index` of an episode `episode`: its proprio names both, so the buffer's contents can be traced.
    static func transition(episode: Int, step index: Int, intervention: Bool = false) -> Transition {
        func observation(_ step: Int) -> Observation {
            Observation(images: [[UInt8](repeating: UInt8(step), count: 4 * 4 * 3)],
                        proprio: [Float(episode), Float(step), 0, 0, 0])
        }
        return Transition(observation: observation(index), action: [Float](repeating: 0.1, count: 7), reward: 0,
                          nextObservation: observation(index + 1), terminal: false, episodeEnded: false, intervention: intervention)
    }

    static func learner(learningStarts: Int = 100) -> Learner {
        var config = spec.learnerConfig(imitationWeight: 1)
        (config.hiddenWidths, config.encoderFilters, config.encoderLayers, config.batchSize) = ([8], 4, 1, 8)
        let actor = PolicyActor(spec: spec, policy: Policy(config: config), deterministic: false, seed: 1)
        let learner = Learner(config: config, actor: actor, onlineCapacity: 100, demoCapacity: 100, seed: 2)
        learner.learningStarts = learningStarts
        return learner
    }

    @Test("y makes the last step reward 1 and terminal; the steps before keep reward 0")
    func success() {
        var held = HeldEpisode()
        for step in 0..<5 { held.append(Self.transition(episode: 0, step: step)) }
        let labelled = held.finish(.success)
        #expect(labelled.count == 5)
        #expect(labelled.map(\.reward) == [0, 0, 0, 0, 1])
        #expect(labelled.map(\.terminal) == [false, false, false, false, true])
        #expect(labelled.map(\.episodeEnded) == [false, false, false, false, true])
        #expect(held.transitions.isEmpty)
    }

    @Test("n and the step limit end the episode on its last step without a terminal or a reward, even one the classifier gave")
    func failure() {
        var held = HeldEpisode()
        for step in 0..<4 { held.append(Self.transition(episode: 0, step: step)) }
        // The last step as the classifier rewarded it before n overruled it.
        var called = Self.transition(episode: 0, step: 4)
        called.reward = 1
        held.append(called)
        let labelled = held.finish(.failure("marked by the operator"))
        #expect(labelled.map(\.reward) == [0, 0, 0, 0, 0])
        #expect(labelled.map(\.terminal) == [false, false, false, false, false])
        #expect(labelled.map(\.episodeEnded) == [false, false, false, false, true])
    }

    @Test("backspace and quit keep nothing of the episode", arguments: [EpisodeEnd.discarded, .quit])
    func discarded(end: EpisodeEnd) {
        var held = HeldEpisode()
        for step in 0..<4 { held.append(Self.transition(episode: 0, step: step)) }
        #expect(held.finish(end).isEmpty)
        #expect(held.transitions.isEmpty)
    }

    @Test("an episode ended by a key is ended in both buffers: the next one's first step starts afresh")
    func boundaries() throws {
        let learner = Self.learner()
        var held = HeldEpisode()
        // Episode 0 ends with y, all by the operator (so in the demo buffer too); episode 1 is
        // discarded; episode 2 ends with n.
        for step in 0..<3 { held.append(Self.transition(episode: 0, step: step, intervention: true)) }
        learner.submit(episode: held.finish(.success))
        for step in 0..<3 { held.append(Self.transition(episode: 1, step: step)) }
        learner.submit(episode: held.finish(.discarded))
        for step in 0..<2 { held.append(Self.transition(episode: 2, step: step)) }
        learner.submit(episode: held.finish(.failure("n")))
        try learner.whilePaused {
            let online = learner.online
            #expect(online.count == 5)
            // 3 + 1 slots for episode 0 and 2 + 1 for episode 2: no slot shared across episodes.
            #expect(online.filledSlots == 7)
            #expect(online.pendingSlot == nil)
            let width = Self.spec.observation.proprioWidth
            let episodes = (0..<online.filledSlots).map { online.proprio.pointer[$0 * width] }
            #expect(episodes == [0, 0, 0, 0, 2, 2, 2])
            let starts = (0..<online.filledSlots).filter { online.startsTransition[$0] == 1 }
            #expect(starts == [0, 1, 2, 4, 5])
            #expect(starts.map { online.rewards[$0] } == [0, 0, 1, 0, 0])
            #expect(starts.map { online.terminals[$0] } == [0, 0, 1, 0, 0])
            #expect(learner.demos.count == 3 && learner.demos.pendingSlot == nil)
        }
    }

    @Test("learning starts after 100 online transitions, however many demos there are")
    func learningStarts() throws {
        let learner = Self.learner()
        for episode in 0..<3 {
            learner.addDemonstration((0..<30).map { Self.transition(episode: episode, step: $0, intervention: true) })
        }
        var held = HeldEpisode()
        held.append(Self.transition(episode: 9, step: 0))
        learner.submit(episode: held.finish(.failure("limit")))
        try learner.whilePaused { #expect(!learner.readyToLearn) }
        for step in 1..<100 { held.append(Self.transition(episode: 10, step: step)) }
        learner.submit(episode: held.finish(.failure("limit")))
        try learner.whilePaused { #expect(learner.readyToLearn) }
    }
}

@Suite("the stand-in operator's y key")
struct ScriptedLabellerTests {
    @Test("y goes down 0.3–1 s (3–10 steps at 10 Hz) after the task is first seen done, once, never before")
    func reactionTime() {
        var delays = Set<Int>()
        for seed in UInt64(0)..<40 {
            var labeller = ScriptedLabeller(policyHz: 10, seed: seed)
            labeller.episodeStarted()
            let early = (0..<7).map { _ in labeller.pressesSuccess(taskDone: false) } + [labeller.pressesSuccess(taskDone: true)]
            #expect(!early.contains(true))
            var pressedAfter: [Int] = []
            // The arm may drift off the goal meanwhile; a person who saw it done still presses.
            for step in 1...20 where labeller.pressesSuccess(taskDone: step.isMultiple(of: 2)) { pressedAfter.append(step) }
            #expect(pressedAfter.count == 1)
            if let delay = pressedAfter.first {
                #expect((3...10).contains(delay))
                delays.insert(delay)
            }
        }
        #expect(delays.count >= 4)
    }

    @Test("a new episode forgets a press that was coming")
    func newEpisode() {
        var labeller = ScriptedLabeller(policyHz: 10, seed: 1)
        _ = labeller.pressesSuccess(taskDone: true)
        labeller.episodeStarted()
        let presses = (0..<20).map { _ in labeller.pressesSuccess(taskDone: false) }
        #expect(!presses.contains(true))
    }
}
