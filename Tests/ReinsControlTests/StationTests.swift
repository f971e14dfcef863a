import Foundation
@testable import ReinsControl
import ReinsCore
import ReinsSim
import ReinsTraining
import Testing

@Suite("Operator station: episode ends, keys, rewards, ownership", .serialized)
struct StationTests {
    static func options(_ operatorKind: OperatorKind = .none, maxSteps: Int = 100) -> StationOptions {
        StationOptions(commandName: "test", maxSteps: maxSteps, seed: 3, operatorKind: operatorKind, supervising: true)
    }

    /// A station as the command line opens one: the twin's task where the session has a twin, the
    /// reward, and for the scripted operator on the twin the reward's stand-in.
    static func station(_ session: RobotSession, _ options: StationOptions, reward source: RewardSource? = nil,
                        classifier: (any SuccessClassifier)? = nil, display: (any OperatorDisplay)?) throws -> OperatorStation {
        let twin = session.twinTask(options.task, seed: options.seed)
        let standIn = options.operatorKind == .scripted && twin != nil
            ? EpisodeReward.StandIn(policyHz: session.robot.definition.rates.policyHz, maxSteps: options.maxSteps, seed: options.seed,
                                    mistakes: options.standInMistakes) : nil
        let reward = try EpisodeReward(.init(source: source, classifier: classifier), twin: twin,
                                       cameras: session.cameras.map { ($0.name, $0.width, $0.height) }, standIn: standIn)
        return try OperatorStation(session: session, twin: twin, reward: reward, options: options, display: display) { _ in }
    }

    /// What the station's reward kept of its last episode.
    static func rewardRecord(_ station: OperatorStation) throws -> EpisodeReward.Record {
        try #require(station.reward as? EpisodeReward).episode
    }

    @Test("y, n and backspace end an episode on the step they are pressed; Q asks first, and only y quits")
    func keysEndEpisodes() throws {
        let rig = try TwinRig("so101")
        let keys = KeyScript()
        let station = try Self.station(rig.session(), Self.options(), reward: .keys, display: keys)
        defer { station.close() }
        #expect(keys.started)
        let presses: [(TeleopCommand, EpisodeEnd)] = [(.markSuccess, .success), (.markFailure, .failure("marked by the operator")), (.discard, .discarded)]
        for (index, (command, expected)) in presses.enumerated() {
            var rewards: [Double] = []
            let outcome = try station.runEpisode(index: index) { recorded in
                rewards.append(recorded.step.reward)
                if station.runner.steps == 3 { keys.press(command) }
            }
            #expect(outcome.end == expected)
            #expect(outcome.steps == 3)
            // With the keys, the runner's steps carry no reward: the end labels the episode.
            #expect(rewards == [0, 0, 0])
            // The twin judged it all the same (the arm held still, far from the cube).
            #expect(outcome.judgedSuccess == false)
        }
        // Q, then a key that means nothing: the question goes away and the episode goes on.
        let outcome = try station.runEpisode(index: 3) { _ in
            switch station.runner.steps {
            case 2: keys.press(.quit)
            case 3: keys.press(nil)
            case 5: keys.press(.quit)
            case 6: keys.press(.markSuccess)
            default: break
            }
        }
        #expect(outcome.end == .quit)
        #expect(outcome.steps == 6)
        #expect(keys.model.prompt == nil)
    }

    @Test("on the twin with the keys and the scripted operator, the stand-in presses y 3–10 steps after the task is first done")
    func standInPressesLate() throws {
        let rig = try TwinRig("so101")
        var options = Self.options(.scripted)
        options.supervising = false
        let station = try Self.station(rig.session(), options, reward: .keys, display: nil)
        defer { station.close() }
        let task = TaskKind.reach
        for index in 0..<2 {
            var firstDone: Int?, start: Double?
            let outcome = try station.runEpisode(index: index) { recorded in
                guard let cube = recorded.cube else { return }
                // The check, as the judge sees it, on the state after the step.
                start = start ?? cube.z
                if firstDone == nil, task.isDone(cube: cube, tip: recorded.step.observation.endEffector.position, cubeStartHeight: start ?? 0) {
                    firstDone = station.runner.steps
                }
                #expect(recorded.step.reward == 0 && !recorded.step.success)
            }
            let done = try #require(firstDone, "the scripted reacher reached the cube")
            #expect(outcome.end == .success)
            #expect((3...10).contains(outcome.steps - done), "y after \(outcome.steps - done) steps")
            #expect(outcome.judgedSuccess == true)
        }
    }

    @Test("with past-success steps the episode goes on after y for its labels, which follow the twin's check a reaction time late")
    func recordsPastSuccess() throws {
        let rig = try TwinRig("so101")
        var options = Self.options(.scripted)
        options.supervising = false
        options.pastSuccessSteps = 6
        let station = try Self.station(rig.session(), options, reward: .keys, display: nil)
        defer { station.close() }
        var labels: [Bool] = [], pastEnd: [Bool] = [], done: [Bool] = []
        var start: Double?
        let outcome = try station.runEpisode(index: 0) { recorded in
            labels.append(recorded.label)
            pastEnd.append(recorded.pastEnd)
            let cube = try! #require(recorded.cube)
            start = start ?? cube.z
            done.append(TaskKind.reach.isDone(cube: cube, tip: recorded.observation.endEffector.position, cubeStartHeight: start!))
        }
        #expect(outcome.end == .success)
        let experience = try #require(outcome.experienceSteps)
        #expect(outcome.steps == experience + 6 && labels.count == outcome.steps)
        #expect(pastEnd == (0..<outcome.steps).map { $0 >= experience })
        // The label is the check on the same frame 2–5 steps earlier (0.2–0.5 s at 10 Hz).
        let delays = (2...5).filter { delay in labels.indices.allSatisfy { labels[$0] == ($0 >= delay && done[$0 - delay]) } }
        #expect(delays.count >= 1, "labels \(labels), check \(done)")
        #expect(labels.contains(true) && labels.first == false)
    }

    /// Probabilities in a given order, one per frame: a flicker the real classifier gives only by chance.
    final class ScriptedProbabilities: SuccessClassifier, @unchecked Sendable {
        let cameras: [(name: String, width: Int, height: Int)]
        let threshold = 0.8
        private let values: Lock<[Double]>
        init(_ values: [Double], camera: (name: String, width: Int, height: Int)) {
            self.values = Lock(values)
            cameras = [camera]
        }
        func probability(of observation: EpisodeObservation) -> Double {
            values.withLock { $0.isEmpty ? 0 : $0.removeFirst() }
        }
    }

    /// A station on the so101 twin whose classifier gives `probabilities`, frame by frame.
    static func classifierStation(_ operatorKind: OperatorKind = .none, probabilities: [Double], supervising: Bool = true,
                                  mistakes: OperatorMistakes = .none) throws -> (TwinRig, OperatorStation) {
        let rig = try TwinRig("so101", cameraSize: 32)
        for camera in rig.cameras { try camera.start() }
        let session = rig.session()
        let camera = try #require(session.cameras.first)
        var options = Self.options(operatorKind)
        options.supervising = supervising
        options.standInMistakes = mistakes
        let classifier = ScriptedProbabilities(probabilities, camera: (camera.name, 32, 32))
        return (rig, try Self.station(session, options, reward: .classifier, classifier: classifier, display: nil))
    }

    @Test("with the classifier's reward two frames in a row called success end the episode, one does not, and its calls are compared with the twin's")
    func classifierEndsEpisodes() throws {
        let (rig, station) = try Self.classifierStation(probabilities: [0.9, 0.1, 0.85, 0.2, 0.9, 0.95, 0.99])
        defer { withExtendedLifetime(rig) { station.close() } }
        var rewards: [Double] = []
        let outcome = try station.runEpisode(index: 0) { rewards.append($0.step.reward) }
        #expect(outcome.end == .success && outcome.steps == 6)
        #expect(rewards == [0, 0, 0, 0, 0, 1])
        let agreement = try #require(try Self.rewardRecord(station).agreement)
        // The arm held still far from the cube: every call of success was a false one.
        #expect(agreement.falsePositives == 4 && agreement.trueNegatives == 2 && agreement.truePositives == 0)
    }

    @Test("over a classifier that misses the success, the stand-in's y comes 1–2 s after the task is done, as an override kept with its frame")
    func standInOverrulesAMissedSuccess() throws {
        let (rig, station) = try Self.classifierStation(.scripted, probabilities: [], supervising: false)
        defer { withExtendedLifetime(rig) { station.close() } }
        var firstDone: Int?, start: Double?
        let outcome = try station.runEpisode(index: 0) { recorded in
            guard let cube = recorded.cube else { return }
            start = start ?? cube.z
            if firstDone == nil, TaskKind.reach.isDone(cube: cube, tip: recorded.step.observation.endEffector.position, cubeStartHeight: start!) {
                firstDone = station.runner.steps
            }
        }
        let done = try #require(firstDone, "the scripted reacher reached the cube")
        #expect(outcome.end == .success)
        #expect((10...20).contains(outcome.steps - done), "y after \(outcome.steps - done) steps")
        let override = try #require(try Self.rewardRecord(station).override)
        #expect(override.success && override.probability == 0)
    }

    @Test("a false success the classifier called is overruled by the stand-in's n while the arm holds: a failure, its frame kept as one")
    func standInOverrulesAFalseSuccess() throws {
        let (rig, station) = try Self.classifierStation(.scripted, probabilities: [0.99, 0.99])
        defer { withExtendedLifetime(rig) { station.close() } }
        let outcome = try station.runEpisode(index: 0)
        // The arm held after the second call: no step was taken while the stand-in looked.
        #expect(outcome.end == .failure("marked by the operator") && outcome.steps == 2 && station.runner.steps == 2)
        let override = try #require(try Self.rewardRecord(station).override)
        #expect(!override.success && override.probability == 0.99)
    }

    @Test("the run's counts of classifier ends: its successes, and the y and n that overruled it")
    func classifierEndCounts() {
        let frame = EpisodeObservation(joints: [0], endEffector: Pose(position: .init(x: 0.2, y: 0, z: 0.1)), gripper: nil, images: [:], timestampNs: 0)
        var ends = ClassifierEnds()
        ends.count(.success, override: ClassifierOverride(observation: frame, success: true, probability: 0.1))
        ends.count(.success, override: nil)
        ends.count(.failure("marked by the operator"), override: ClassifierOverride(observation: frame, success: false, probability: 0.9))
        ends.count(.failure("time limit"), override: nil)
        #expect(ends.overruledWithY == 1 && ends.calledSuccesses == 1 && ends.overruledWithN == 1)
    }

    @Test("a classifier for other cameras or another frame size is refused, naming both")
    func refusesAnotherClassifier() throws {
        let rig = try TwinRig("so101", cameraSize: 32)
        let classifier = ScriptedProbabilities([], camera: ("front", 64, 64))
        #expect { try Self.station(rig.session(), Self.options(), reward: .classifier, classifier: classifier, display: nil) } throws: { error in
            "\(error)".contains("looks at front 64x64") && "\(error)".contains("front 32x32")
        }
        #expect { try Self.station(rig.session(), Self.options(), reward: .classifier, display: nil) } throws: { "\($0)" == "a classifier's reward needs a classifier" }
    }

    @Test("the task's reward and the stand-in are refused without a twin, in words that name no command-line option")
    func rewardRefusals() throws {
        let rig = try TwinRig("so101")
        let session = rig.session(hardware: true)
        defer { session.close() }
        #expect(session.twinTask(.reach, seed: 1) == nil)
        #expect { try EpisodeReward(.init(source: .task), twin: nil, cameras: [], standIn: nil) } throws: { error in
            "\(error)".hasPrefix("the task's reward needs the twin") && !"\(error)".contains("--")
        }
        #expect { try EpisodeReward(.init(source: .keys), twin: nil, cameras: [], standIn: .init(policyHz: 10, maxSteps: 100, seed: 1)) } throws: { error in
            "\(error)".contains("watches the twin") && !"\(error)".contains("--")
        }
        // Without a twin and without a source, the reward is the keys'.
        #expect(try EpisodeReward(.init(), twin: nil, cameras: [], standIn: nil).source == .keys)
    }

    @Test("a station refuses the scripted operator on a robot without a twin, or the keyboard without a console, and closes what it was given")
    func refusals() throws {
        let rig = try TwinRig("so101")
        var closed = 0
        let keys = KeyScript()
        #expect {
            _ = try Self.station(rig.session(hardware: true) { closed += 1 }, Self.options(.scripted), display: keys)
        } throws: { error in
            "\(error)".contains("the scripted operator needs the twin") && !"\(error)".contains("--")
        }
        #expect(closed == 1 && keys.closed)
        closed = 0
        #expect(throws: StationError.self) {
            _ = try Self.station(rig.session { closed += 1 }, Self.options(.keyboard), display: nil)
        }
        #expect(closed == 1)
    }

    @Test("on a robot without a twin the reward is the keys', and nothing of the twin reaches the episode")
    func hardwareRewardIsTheKeys() throws {
        let rig = try TwinRig("so101")
        let keys = KeyScript()
        var closed = false
        let station = try Self.station(rig.session(hardware: true) { closed = true }, Self.options(), display: keys)
        #expect(station.reward.source == .keys && station.twin == nil)
        var cubes: [Vector3?] = []
        let outcome = try station.runEpisode(index: 0) { recorded in
            cubes.append(recorded.cube)
            if station.runner.steps == 2 { keys.press(.markSuccess) }
        }
        #expect(outcome.end == .success && outcome.judgedSuccess == nil)
        #expect(cubes.count == 2 && cubes.allSatisfy { $0 == nil })
        station.close()
        #expect(closed && keys.closed)
        #expect(station.loop.status.phase.isFinished)
    }
}
