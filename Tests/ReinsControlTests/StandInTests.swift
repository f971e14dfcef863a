@testable import ReinsControl
import ReinsCore
import ReinsTraining
import Testing

@Suite("The twin's stand-in operator: a person's delay and mistakes")
struct StandInTests {
    /// The steps (from 1) at which a labeller presses y over an episode whose check reads `done`.
    static func presses(_ labeller: inout ScriptedLabeller, _ done: [Bool]) -> [Int] {
        labeller.episodeStarted()
        return done.indices.filter { labeller.pressesSuccess(taskDone: done[$0]) }.map { $0 + 1 }
    }

    @Test("without mistakes y comes 0.3–1 s after the task is first done, once; a miss rate of 1 never presses and counts each miss")
    func missedPresses() {
        let done = Array(repeating: false, count: 20) + Array(repeating: true, count: 30)
        var perfect = ScriptedLabeller(policyHz: 10, seed: 4)
        var hopeless = ScriptedLabeller(policyHz: 10, seed: 4, mistakes: OperatorMistakes(missRate: 1))
        var missed = 0
        for _ in 0..<20 {
            let pressed = Self.presses(&perfect, done)
            #expect(pressed.count == 1 && (24...31).contains(pressed[0]), "\(pressed)")
            #expect(perfect.counts.successPresses == 1 && perfect.counts.missedSuccesses == 0)
            #expect(Self.presses(&hopeless, done).isEmpty)
            missed += hopeless.counts.missedSuccesses
        }
        #expect(missed == 20)
    }

    @Test("a miss rate of 0.3 misses about that share, the same ones for the same seed")
    func missRate() {
        let done = Array(repeating: false, count: 10) + Array(repeating: true, count: 30)
        func run(seed: UInt64) -> [Bool] {
            var labeller = ScriptedLabeller(policyHz: 10, seed: seed, mistakes: OperatorMistakes(missRate: 0.3))
            return (0..<400).map { _ in !Self.presses(&labeller, done).isEmpty }
        }
        let pressed = run(seed: 9)
        let share = Double(pressed.filter { !$0 }.count) / 400
        #expect(abs(share - 0.3) < 0.07, "missed \(share)")
        #expect(run(seed: 9) == pressed)
        #expect(run(seed: 10) != pressed)
    }

    @Test("a false-y rate of 1 presses y once per episode, on a frame where the task is not done, counted as false")
    func falseSuccess() {
        var labeller = ScriptedLabeller(policyHz: 10, seed: 5, mistakes: OperatorMistakes(falseSuccessRate: 1), maxSteps: 50)
        let never = Array(repeating: false, count: 50)
        var steps = Set<Int>()
        for _ in 0..<30 {
            let pressed = Self.presses(&labeller, never)
            #expect(pressed.count == 1)
            #expect(labeller.counts.falseSuccesses == 1 && labeller.counts.successPresses == 0)
            steps.formUnion(pressed)
        }
        #expect(steps.count > 5, "the false y's step is drawn: \(steps.sorted())")
        // A false y that would fall on a frame where the task is done is no false y.
        var always = ScriptedLabeller(policyHz: 10, seed: 5, mistakes: OperatorMistakes(falseSuccessRate: 1), maxSteps: 50)
        for _ in 0..<10 {
            _ = Self.presses(&always, Array(repeating: true, count: 50))
            #expect(always.counts.falseSuccesses == 0 && always.counts.successPresses == 1)
        }
    }

    @Test("over a classifier the stand-in's y comes only while the task is still done; it waits for it to be done again")
    func pressOnlyWhileDone() {
        var labeller = ScriptedLabeller(reactionSeconds: 1.0...1.0, policyHz: 10, seed: 1, pressOnlyWhileDone: true)
        // Done for 5 steps (less than the 10-step reaction), then undone, then done for good from step 30.
        let done = (1...60).map { (10...14).contains($0) || $0 >= 30 }
        #expect(Self.presses(&labeller, done) == [40])
        var anyway = ScriptedLabeller(reactionSeconds: 1.0...1.0, policyHz: 10, seed: 1)
        #expect(Self.presses(&anyway, done) == [20])
    }

    /// An expert that never gets the task nearer: a supervisor watching it decides to take over
    /// every time its patience for a stall runs out.
    final class StalledExpert: ScriptedExpert {
        func remaining(_ observation: EpisodeObservation) -> Double? { 0.2 }
        func action(for observation: EpisodeObservation) -> [Double]? { [0, 0, 0, 0, 0, 0, 1] }
    }

    static let frame = EpisodeObservation(joints: [0], endEffector: Pose(position: .init(x: 0.2, y: 0, z: 0.1)), gripper: nil, images: [:], timestampNs: 0)

    /// The steps (from 1) on which the supervisor acted, over `steps` steps of one episode.
    static func actingSteps(_ supervisor: InterveningSupervisor, steps: Int) -> [Int] {
        supervisor.episodeStarted()
        return (1...steps).filter { _ in supervisor.action(for: frame) != nil }
    }

    @Test("the supervisor takes over a person's reaction time (0.3–1 s) after it decides to, and not at all when it misses")
    func supervisorAsAPerson() throws {
        let prompt = InterveningSupervisor(expert: StalledExpert(), task: .pick)
        let decided = try #require(Self.actingSteps(prompt, steps: 40).first)
        #expect(prompt.counts.takeovers == 1)
        var delays = Set<Int>()
        for seed in UInt64(0)..<30 {
            let person = InterveningSupervisor(expert: StalledExpert(), task: .pick,
                                               asPerson: .init(policyHz: 10, mistakes: .none, seed: seed))
            let first = try #require(Self.actingSteps(person, steps: 40).first)
            delays.insert(first - decided)
            #expect(person.counts.takeovers == 1 && person.counts.missedTakeovers == 0)
        }
        #expect(delays.isSubset(of: Set(3...10)) && delays.count >= 4, "\(delays.sorted())")
        let hopeless = InterveningSupervisor(expert: StalledExpert(), task: .pick,
                                             asPerson: .init(policyHz: 10, mistakes: OperatorMistakes(missRate: 1), seed: 1))
        #expect(Self.actingSteps(hopeless, steps: 100).isEmpty)
        // It decides again each time its patience runs out, and misses each one.
        #expect(hopeless.counts.takeovers == 0 && hopeless.counts.missedTakeovers == 6)
    }

    @Test("with a miss rate of 0 every false success the classifier calls is overruled by n; with 1 none is; the counts say so",
          arguments: [0.0, 1.0])
    func overrulesFalseSuccesses(missRate: Double) throws {
        let episodes = 3
        let (rig, station) = try StationTests.classifierStation(.scripted, probabilities: Array(repeating: 0.99, count: 2 * episodes),
                                                                mistakes: OperatorMistakes(missRate: missRate))
        defer { withExtendedLifetime(rig) { station.close() } }
        var ends = ClassifierEnds(), counts = StandInCounts()
        for index in 0..<episodes {
            let outcome = try station.runEpisode(index: index)
            #expect(outcome.steps == 2)
            ends.count(outcome.end, override: try StationTests.rewardRecord(station).override)
            counts = counts + (try #require(outcome.standIn))
        }
        if missRate == 0 {
            #expect(ends.overruledWithN == episodes && ends.calledSuccesses == 0)
            #expect(counts.failurePresses == episodes && counts.missedFailures == 0)
        } else {
            #expect(ends.overruledWithN == 0 && ends.calledSuccesses == episodes)
            #expect(counts.failurePresses == 0 && counts.missedFailures == episodes)
        }
    }

    @Test("a success the classifier called and the stand-in's n took back keeps no reward in the episode file: the file says what the learner got")
    func overruledEpisodeFile() throws {
        let (rig, station) = try StationTests.classifierStation(.scripted, probabilities: [0.99, 0.99])
        defer { withExtendedLifetime(rig) { station.close() } }
        var stepRewards: [Double] = []
        let (episode, outcome) = try station.recordEpisode(index: 0, softwareVersion: "test") { stepRewards.append($0.step.reward) }
        #expect(outcome.end == .failure(EpisodeEnd.operatorFailure))
        // The runner gave the classifier's reward on the step it ended; the file keeps the operator's
        // verdict, as HeldEpisode labels the learner's transitions (a failure's last reward is 0).
        #expect(stepRewards == [0, 1])
        #expect(episode.rewards == [0, 0] && episode.dones == [0, 1] && !episode.metadata.success)
    }
}
