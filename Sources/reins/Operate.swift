import ArgumentParser
import Foundation
import ReinsConsole
import ReinsControl
import ReinsCore
import ReinsData
import ReinsTraining

extension RewardSource: ExpressibleByArgument {}

/// `--reward task|keys|classifier:FILE` (training): the twin's check, the operator's keys, or a
/// reward classifier `reins reward train` wrote.
struct RewardChoice: ExpressibleByArgument {
    var source: RewardSource
    var classifierPath: String?

    init?(argument: String) {
        if argument.hasPrefix("classifier:") {
            let path = String(argument.dropFirst("classifier:".count))
            guard !path.isEmpty else { return nil }
            (source, classifierPath) = (.classifier, path)
        } else if let source = RewardSource(rawValue: argument), source != .classifier {
            self.source = source
        } else {
            return nil
        }
    }

    /// The classifier, loaded, as the station's success detector; nil for the other rewards.
    func loadClassifier() throws -> ClassifierReward? {
        guard let classifierPath else { return nil }
        do {
            return try ClassifierReward(path: classifierPath)
        } catch {
            throw CommandError("--reward classifier:\(classifierPath): \(error)")
        }
    }
}

extension OperatorKind: ExpressibleByArgument {}

/// The options teleop and record share about episodes.
struct EpisodeOptions: ParsableArguments {
    @Option(help: "reach or pick: the success check in the twin (on hardware the operator's y/n keys decide).")
    var task: TaskKind = .reach
    @Option(help: "Steps per episode before it ends as a failure.") var maxSteps = 100
    @Option(help: "Camera frames are N×N, as recorded, previewed and seen by policies (64 keeps training within two CPU cores).") var imageSize = 64
    @Option(help: "Seed for the cube's places and the scripted operator's noise.") var seed: UInt64 = 0
    @Flag(help: "No console: progress lines instead (the scripted operator only).") var noConsole = false
    @Flag(help: "Leave the robot's cameras out (none opened, previewed or recorded).") var noCameras = false
    @Option(name: .customLong("camera"), help: ArgumentHelp("A camera's source for this run instead of the robot file's: a device index or path, a file or a URL, e.g. front=/dev/video4 or the lines `reins bus emulate` prints (repeatable).", valueName: "NAME=SOURCE"))
    var cameraSources: [CameraOverride] = []

    func validate() throws {
        guard maxSteps > 0 else { throw ValidationError("--max-steps must be positive") }
        guard (16...512).contains(imageSize) else { throw ValidationError("--image-size must be from 16 to 512") }
        guard cameraSources.isEmpty || !noCameras else { throw ValidationError("--camera gives a source to a camera that --no-cameras leaves out; drop one of them") }
    }
}

extension EpisodeOptions {
    /// Refuses `--camera` with the twin, or naming a camera the robot file lacks, before anything
    /// opens or is written.
    func checkCameraSources(_ connection: RobotConnection) throws {
        guard !cameraSources.isEmpty else { return }
        let catalog = try RobotCatalog.locate()
        var definition = try catalog.robot(connection.robot)
        do {
            try CameraOverride.apply(cameraSources, to: &definition, robotFile: catalog.displayPath(definition.file), onTwin: connection.sim)
        } catch let error as CommandError {
            throw ValidationError(error.description)
        }
    }
}

/// Refuses the scripted operator on a real arm before anything opens, naming what to use instead.
func checkOperator(_ operatorKind: OperatorKind, sim: Bool) throws {
    guard operatorKind != .scripted || sim else {
        throw ValidationError("--operator scripted needs the twin (--sim): only there is the cube's position known; on a real arm use --operator keyboard")
    }
}

/// Refuses the task's reward on a real arm before anything opens (the rule is `EpisodeReward`'s).
func checkRewardSource(_ source: RewardSource?, sim: Bool) throws {
    do {
        _ = try EpisodeReward.source(source, onTwin: sim)
    } catch {
        throw ValidationError("--reward task: \(error)")
    }
}

/// The twin's stand-in operator's mistakes, for `train` and `record`.
struct StandInOptions: ParsableArguments {
    @Option(name: .customLong("stand-in-miss"), help: ArgumentHelp("The share of its y and n presses, and of the supervisor's takeovers, that the twin's stand-in operator misses (seeded; 0 never misses). With this or --stand-in-false-y above 0 the supervisor also takes over 0.3–1 s after it decides to.", valueName: "P"))
    var miss: Double?
    @Option(name: .customLong("stand-in-false-y"), help: ArgumentHelp("The share of episodes in which the stand-in presses y once on a frame where the task is not done.", valueName: "P"))
    var falseY: Double?

    var mistakes: OperatorMistakes { OperatorMistakes(missRate: miss ?? 0, falseSuccessRate: falseY ?? 0) }

    /// Refuses a share outside 0...1, and either option where there is no stand-in to make the mistakes.
    func check(sim: Bool, operatorKind: OperatorKind) throws {
        for (name, value) in [("--stand-in-miss", miss), ("--stand-in-false-y", falseY)] {
            guard let value else { continue }
            guard (0...1).contains(value) else { throw ValidationError("\(name) must be a share from 0 to 1; it is \(value)") }
            guard sim, operatorKind == .scripted else {
                throw ValidationError("\(name) gives the twin's stand-in operator a person's mistakes: it needs the twin (--sim) and --operator scripted")
            }
        }
    }
}

extension EpisodeOptions {
    /// Opens the robot and its cameras (at `imageSize`, none with --no-cameras), the console unless
    /// --no-console, the episodes' reward, and the station that runs episodes on them; the station
    /// owns the robot and the console from here.
    func openStation(_ connection: RobotConnection, operatorKind: OperatorKind, commandName: String, policy: ActionSource = HoldPolicy(),
                     supervising: Bool = false, reward: RewardSource? = nil, pastSuccessSteps: Int = 0,
                     successClassifier: (any SuccessClassifier)? = nil, classifierFrames: Int = 2,
                     standInMistakes: OperatorMistakes = .none) throws -> (station: OperatorStation, reward: EpisodeReward) {
        var options = StationOptions(commandName: commandName, task: task, maxSteps: maxSteps, seed: seed, operatorKind: operatorKind,
                                     supervising: supervising)
        options.pastSuccessSteps = pastSuccessSteps
        options.standInMistakes = standInMistakes
        var console: OperatorConsole?
        if !noConsole {
            do {
                console = try OperatorConsole()
            } catch {
                throw CommandError("\(error); or run with --no-console and --operator scripted")
            }
        }
        let session: RobotSession
        do {
            session = try connection.open(cameraSize: noCameras ? nil : imageSize, cameraSources: cameraSources)
        } catch {
            console?.close()
            throw error
        }
        let twin = session.twinTask(task, seed: seed)
        let episodeReward: EpisodeReward
        do {
            var settings = EpisodeReward.Settings(source: reward, classifier: successClassifier)
            settings.consecutiveFrames = classifierFrames
            let standIn = operatorKind == .scripted && twin != nil
                ? EpisodeReward.StandIn(policyHz: session.robot.definition.rates.policyHz, maxSteps: maxSteps, seed: seed, mistakes: standInMistakes) : nil
            episodeReward = try EpisodeReward(settings, twin: twin, cameras: session.cameras.map { ($0.name, $0.width, $0.height) }, standIn: standIn)
        } catch {
            console?.close()
            session.close()
            let named = reward.map { $0 == .classifier ? "classifier:FILE" : $0.rawValue } ?? "(the default)"
            throw CommandError("--reward \(named): \(error)")
        }
        let station = try OperatorStation(session: session, twin: twin, reward: episodeReward, options: options, policy: policy,
                                          display: console, report: printError)
        return (station, episodeReward)
    }
}

struct Teleop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drive the robot from the operator console: end-effector moves, gripper, episodes, the safety stop.",
        discussion: """
        The operator has control from the start (space hands it to the policy, here one that holds still). Keys: w/s a/d r/f move, arrows and q/e turn, o/c grip, +/- speed, y/n end an episode, p pauses, x or Esc stops (hold, then torque off), ? shows every key, Q or Ctrl-C quits. In the twin, an episode also ends when the task succeeds; the cube moves for the next one.

        Example:
          reins teleop --robot so101 --sim
          reins teleop --robot so101 --port /dev/ttyUSB0
        """)

    @OptionGroup var connection: RobotConnection
    @OptionGroup var episodes: EpisodeOptions

    func validate() throws {
        try episodes.checkCameraSources(connection)
    }

    func run() throws {
        let station = try episodes.openStation(connection, operatorKind: .keyboard, commandName: "teleop").station
        defer { station.close() }
        var index = 0
        while !station.quitRequested {
            let outcome = try station.runEpisode(index: index)
            let end = outcome.end
            station.log("episode \(index) ended after \(outcome.steps) steps: \(end.description)")
            if end == .quit { break }
            if case .stopped = end {
                station.waitForQuit()
                break
            }
            index += 1
        }
    }
}

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record episodes (demonstrations) to HDF5 files in robomimic's layout, one file per episode.",
        discussion: """
        Each episode is written as DIR/episode_NNNNNN.h5 under a temporary name and renamed when complete, so a crash loses at most the episode in progress; a leftover temporary file is reported and removed on the next start. Backspace discards an episode; --only-success keeps successes only. `reins dataset info DIR` summarises what was recorded.

        Every frame is labelled for the reward classifier (`reins reward train`): success while the operator's l toggle is on (on the twin with --operator scripted, while a stand-in sees the task done, 0.2–0.5 s late), failure otherwise. --past-success N goes on recording N steps after each success so frames of the task done pile up (HIL-SERL's advice); they are labelled, never learnt from as experience.

        Example:
          reins record --robot so101 --task reach --episodes 20 --out demos --sim
          reins record --robot so101 --task reach --episodes 10 --out demos --sim --operator scripted --no-console
          reins record --robot so101 --task reach --episodes 30 --out labelled --sim --operator scripted --reward keys --past-success 20 --no-console
        """)

    @OptionGroup var connection: RobotConnection
    @OptionGroup var episodeOptions: EpisodeOptions
    @Option(help: "Episodes to keep.") var episodes: Int
    @Option(help: "The folder for the episode files.") var out: String
    @Option(help: "keyboard (the console) or scripted (the twin's expert).") var `operator`: OperatorKind = .keyboard
    @Option(help: "task (the twin's check ends each episode; the default with --sim) or keys (the operator's y ends it, as on hardware; with --operator scripted a stand-in presses y 0.3–1 s after the twin sees it done).")
    var reward: RewardSource?
    @Flag(help: "Keep successful episodes only.") var onlySuccess = false
    @Option(help: "Steps to go on recording after each success, for frames labelled success (they are no experience for training).")
    var pastSuccess = 0
    @OptionGroup var standIn: StandInOptions

    func validate() throws {
        guard episodes > 0 else { throw ValidationError("--episodes must be positive") }
        guard (0...1000).contains(pastSuccess) else { throw ValidationError("--past-success must be from 0 to 1000 steps") }
        try checkOperator(`operator`, sim: connection.sim)
        try standIn.check(sim: connection.sim, operatorKind: `operator`)
        try checkRewardSource(reward, sim: connection.sim)
        try episodeOptions.checkCameraSources(connection)
    }

    func run() throws {
        let writer = try EpisodeWriter(directory: URL(fileURLWithPath: out))
        let station = try episodeOptions.openStation(connection, operatorKind: `operator`, commandName: "record", reward: reward,
                                                     pastSuccessSteps: pastSuccess, standInMistakes: standIn.mistakes).station
        defer { station.close() }
        let recording = DemonstrationRecording(episodes: episodes, onlySuccess: onlySuccess, softwareVersion: reinsVersion)
        let (kept, successes) = try recording.run(station: station, writer: writer)
        station.close()
        print("recorded \(kept) episode(s), \(successes) successful, in \(out)")
    }
}
