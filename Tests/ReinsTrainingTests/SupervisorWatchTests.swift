import ReinsControl
import Testing
@testable import ReinsTraining

@Suite("episodes the scripted supervisor failed")
struct SupervisorWatchTests {
    /// An episode of `steps` transitions whose first proprio value names it.
    static func episode(_ name: Int, steps: Int = 4) -> [Transition] {
        (0..<steps).map { EpisodeLabellingTests.transition(episode: name, step: $0) }
    }

    static func names(_ episodes: [[Transition]]) -> [Int] { episodes.map { Int($0[0].observation.proprio[0]) } }

    @Test("a failure the supervisor mostly drove is held until an episode goes well, then both go in order")
    func heldUntilAGoodEpisode() {
        var watch = SupervisorWatch()
        let held = watch.finished(Self.episode(0), end: .failure("time limit"), outcome: 100, interventions: 60)
        #expect(held.isEmpty)
        #expect(watch.failuresInARow == 1)
        let passed = watch.finished(Self.episode(1), end: .success, outcome: 20, interventions: 5)
        #expect(Self.names(passed) == [0, 1])
        #expect(watch.failuresInARow == 0 && watch.held.isEmpty)
    }

    @Test("a failure the policy mostly drove, a discarded episode and a stopped one pass straight through")
    func ordinaryEpisodesPass() {
        var watch = SupervisorWatch()
        let policyFailure = watch.finished(Self.episode(0), end: .failure("time limit"), outcome: 100, interventions: 29)
        let stopped = watch.finished(Self.episode(1), end: .stopped("operator stop"), outcome: 10, interventions: 10)
        let discarded = watch.finished([], end: .discarded, outcome: 10, interventions: 10)
        #expect(Self.names(policyFailure) == [0] && Self.names(stopped) == [1])
        #expect(discarded.map(\.count) == [0])
    }

    @Test("ten such failures in a row are a fault and are never trained on; a checkpoint releases fewer")
    func rowBecomesAFault() {
        var watch = SupervisorWatch()
        for name in 0..<9 { _ = watch.finished(Self.episode(name), end: .failure("time limit"), outcome: 100, interventions: 90) }
        let early = watch.faulted()
        #expect(!early)
        let released = watch.release()
        #expect(Self.names(released) == Array(0..<9))
        // The count goes on across a checkpoint: the row is what matters.
        _ = watch.finished(Self.episode(9), end: .failure("time limit"), outcome: 100, interventions: 90)
        let faulted = watch.faulted()
        #expect(faulted)
        #expect(watch.held.isEmpty)
    }

    @Test("before the learner has started, supervised failures go straight in and start no row")
    func nothingHeldBeforeLearning() {
        var watch = SupervisorWatch()
        for name in 0..<12 {
            let passed = watch.finished(Self.episode(name), end: .failure("time limit"), outcome: 100, interventions: 60, learning: false)
            #expect(Self.names(passed) == [name])
        }
        #expect(watch.failuresInARow == 0 && !watch.faulted())
        let held = watch.finished(Self.episode(12), end: .failure("time limit"), outcome: 100, interventions: 60)
        #expect(held.isEmpty && watch.failuresInARow == 1)
    }
}
