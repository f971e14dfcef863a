import ArgumentParser
import Foundation
import ReinsConsole
import ReinsControl
import ReinsCore
import ReinsData
import ReinsSim
import Synchronization

extension RewardSource: ExpressibleByArgument {}

enum OperatorKind: String, ExpressibleByArgument, CaseIterable {
    /// The console's keys.
    case keyboard
    /// The twin's expert: in `record` it drives every step; in `train` it supervises the policy
    /// and takes over when the tip moves away (keyboard takeover stays live in the console).
    case scripted
    /// Nobody: the policy alone (training's ablation, evaluation).
    case none
}

/// The options teleop and record share about episodes.
struct EpisodeOptions: ParsableArguments {
    @Option(help: "reach or pick: the success check in the twin (on hardware the operator's y/n keys decide).")
    var task: TaskKind = .reach
    @Option(help: "Steps per episode before it ends as a failure.") var maxSteps = 100
    @Option(help: "Camera frames are N×N, as recorded, previewed and seen by policies (64 keeps training within two CPU cores).") var imageSize = 64
    @Option(help: "Seed for the cube's places and the scripted operator's noise.") var seed: UInt64 = 0
    @Flag(help: "No console: progress lines instead (the scripted operator only).") var noConsole = false
    @Flag(help: "Leave the robot's cameras out (none opened, previewed or recorded).") var noCameras = false

    func validate() throws {
        guard maxSteps > 0 else { throw ValidationError("--max-steps must be positive") }
        guard (16...512).contains(imageSize) else { throw ValidationError("--image-size must be from 16 to 512") }
    }
}

/// The robot, its control loop and cameras, an episode runner, the console (or progress lines)
/// and who acts: what `reins teleop` and `reins record` have in common.
final class OperatorStation {
    let session: RobotSession
    let loop: ControlLoop
    let runner: EpisodeRunner
    let console: OperatorConsole?
    let keyboard: KeyboardOperator?
    let operatorSource: ActionSource?
    let policy: ActionSource
    let options: EpisodeOptions
    let commandName: String
    let reward: RewardSource
    /// The twin's task check, where there is a twin: it judges (logs, the stand-in's eyes), and
    /// gives the reward only with `--reward task`.
    let taskCheck: ((EpisodeObservation) -> Bool)?
    /// Whether the twin's check passed at any step of the last episode (nil without a twin).
    private(set) var judgedSuccess: Bool?
    /// With `--reward keys` and the scripted operator on the twin: the person who presses y.
    private var labeller: ScriptedLabeller?
    /// Keys pressed by the stand-in operator, read with the console's.
    private var standInKeys: [TeleopCommand] = []
    private let signalled = SignalFlag()
    private var signals: StopSignals?
    private var generator: SplitMix64
    /// The cube's height when the episode started (the pick task's reference).
    private let cubeStart = CubeStart()
    private var quitAsked = false
    private var checkpointAsked = false
    private var paused = false
    private var lastClamps = SafetyCounters()

    /// `supervising`: the scripted operator watches a policy and takes over when needed (training),
    /// instead of driving every step (recording demonstrations).
    /// `reward`: the twin's task check or the operator's keys (the only choice on hardware).
    init(connection: RobotConnection, options: EpisodeOptions, operatorKind: OperatorKind, commandName: String,
         policy: ActionSource = HoldPolicy(), supervising: Bool = false, reward: RewardSource? = nil) throws {
        let reward = reward ?? (connection.sim ? .task : .keys)
        guard reward == .keys || connection.sim else {
            throw CommandError("--reward task needs the twin (--sim): a real arm has no task check; the operator's y/n keys give the reward (--reward keys)")
        }
        guard operatorKind != .keyboard || !options.noConsole else {
            throw CommandError("the keyboard operator needs the console; drop --no-console or use --operator scripted")
        }
        guard operatorKind != .scripted || connection.sim else {
            throw CommandError("the scripted operator needs the twin (--sim): only there is the cube's position known")
        }
        if !options.noConsole {
            do {
                console = try OperatorConsole()
            } catch {
                throw CommandError("\(error); or run with --no-console and --operator scripted")
            }
        } else {
            console = nil
        }
        self.options = options
        self.commandName = commandName
        do {
            session = try connection.open(cameraSize: options.noCameras ? nil : options.imageSize)
        } catch {
            console?.close()
            throw error
        }
        loop = session.loop()
        generator = SplitMix64(seed: options.seed)
        let emulator = session.emulator
        let task = options.task
        let kinematics = session.kinematics
        let cubeStart = cubeStart
        let taskCheck: ((EpisodeObservation) -> Bool)? = emulator.map { emulator in
            { observation in
                guard let cube = emulator.twinCubePosition else { return false }
                return switch task {
                case .reach: length(cube - observation.endEffector.position) <= 0.02
                case .pick: cube.z - cubeStart.height >= 0.05
                }
            }
        }
        self.taskCheck = taskCheck
        self.reward = reward
        // With the keys, nothing of the twin reaches the reward: the runner sees none.
        let rewardCheck = reward == .task ? taskCheck : nil
        runner = EpisodeRunner(loop: loop, kinematics: kinematics, cameras: session.cameras) { observation in
            let success = rewardCheck?(observation) ?? false
            return (success ? 1 : 0, success)
        }
        runner.maxSteps = options.maxSteps
        self.policy = policy
        // With a console the keys can always take over; the operator starts in control only
        // when there is no policy to watch.
        let keyboard = options.noConsole ? nil : KeyboardOperator(inControl: !supervising && operatorKind == .keyboard)
        self.keyboard = keyboard
        let reacher = ScriptedReacher(scale: runner.scale, seed: options.seed &+ 1) { emulator?.twinCubePosition }
        let scripted: ActionSource? = switch operatorKind {
        case .scripted: supervising ? InterveningReacher(expert: reacher) { emulator?.twinCubePosition } : reacher
        case .keyboard, .none: nil
        }
        operatorSource = FirstAction([keyboard, scripted].compactMap { $0 })
        if reward == .keys, operatorKind == .scripted, connection.sim {
            labeller = ScriptedLabeller(policyHz: session.robot.definition.rates.policyHz, seed: options.seed &+ 3)
        }
        // The twin renders on the CPU it shares with everything else: allow its frames more age.
        if connection.sim { runner.maxFrameAge = .seconds(1) }
        let flag = signalled
        do {
            try Self.waitForFirstFrames(session.cameras)
            signals = StopSignals { _ in flag.raised.store(true, ordering: .releasing) }
            try loop.start()
            try console?.start()
        } catch {
            // Nothing started here outlives the failure: the loop holds, then switches the
            // torque off; the cameras and the emulator stop.
            close()
            throw error
        }
        console?.update { model in
            model.command = commandName
            model.robot = session.robot.definition.name
            model.task = reward == .keys ? "\(task.rawValue) (y/n decides)" : task.rawValue
            model.maxSteps = options.maxSteps
            model.mode = keyboard?.inControl == false ? .policy : .operator
        }
        for note in loop.status.realtime.notes { log(note) }
        if reward == .keys, operatorKind != .scripted, options.noConsole {
            log("note: with --reward keys and no console nobody can press y: every episode ends at the step limit without a reward (use the console, or --operator scripted on the twin)")
        }
    }

    /// Waits up to 30 s for every camera's first frame (a device opening, the twin's first render).
    static func waitForFirstFrames(_ cameras: [any Camera]) throws {
        var frame: [UInt8] = []
        for camera in cameras {
            var lastError: CameraError?
            for _ in 0..<600 {
                do {
                    _ = try camera.read(into: &frame, maxAge: .seconds(30))
                    lastError = nil
                    break
                } catch {
                    lastError = error
                    usleep(50_000)
                }
            }
            if let lastError { throw CommandError("\(lastError) (waited 30 s for the first frame)") }
        }
    }

    /// Gives the terminal back, stops the loop (hold, torque off) and the emulator.
    func close() {
        console?.close()
        signals?.cancel()
        loop.stop(reason: "\(commandName) ended")
        loop.wait()
        session.close()
    }

    func log(_ event: String) {
        if let console { console.log(event) } else { printError(event) }
    }

    var quitRequested: Bool { signalled.raised.load(ordering: .acquiring) }

    /// Why the control loop stopped, when a fault (not the operator) stopped it.
    var loopFault: String? {
        if case .faulted(let message) = loop.status.phase { return message }
        return nil
    }

    /// Whether the operator asked for a checkpoint (the k key) since the last call.
    func takeCheckpointRequest() -> Bool {
        defer { checkpointAsked = false }
        return checkpointAsked
    }

    /// Where the cube was last placed.
    private var cubePlaced: Vector3?

    /// Puts the twin's cube somewhere new (seeded) and waits until the physics has it.
    private func placeCube() {
        guard let emulator = session.emulator else { return }
        let region = TaskEnvironment.cubeRegion
        let position = SIMD3(Double.random(in: region.x, using: &generator), Double.random(in: region.y, using: &generator),
                             TaskEnvironment.cubeHalfSize)
        cubePlaced = position
        emulator.placeTwinCube(at: position)
        for _ in 0..<100 {
            if let cube = emulator.twinCubePosition, length(cube - position) < 0.005 { break }
            usleep(10_000)
        }
        cubeStart.height = emulator.twinCubePosition?.z ?? 0
    }

    /// What is wrong with the twin's cube for a new episode: not finite, off the table, or not
    /// where it was placed (the arm knocked it on its way home); nil when it is ready.
    private func cubeProblem() -> String? {
        guard let emulator = session.emulator, let placed = cubePlaced else { return nil }
        guard let cube = emulator.twinCubePosition else { return "the twin reports no cube" }
        let where_ = String(format: "(%.3f, %.3f, %.3f) m", cube.x, cube.y, cube.z)
        guard cube.x.isFinite, cube.y.isFinite, cube.z.isFinite else { return "the cube's position is not finite" }
        guard abs(cube.z - TaskEnvironment.cubeHalfSize) < 0.005 else { return "the cube is not resting on the table: it is at \(where_)" }
        guard length(cube - placed) < 0.01 else { return "the cube moved from where it was placed to \(where_)" }
        return nil
    }

    /// After the reset: every joint reading finite and, on the twin, the cube resting where it was
    /// placed. A cube the arm knocked on its way home is placed again (three times at most);
    /// after that the episode stops with what is wrong rather than train on a broken scene.
    private func verifiedScene(_ observation: EpisodeObservation) throws -> EpisodeObservation {
        guard observation.joints.allSatisfy(\.isFinite), observation.endEffector.position.x.isFinite else {
            throw EpisodeError.scene("the joint readings are not finite: \(observation.joints)")
        }
        var observation = observation
        for _ in 0..<3 {
            guard let problem = cubeProblem() else { return observation }
            log("\(problem); placing it again")
            placeCube()
            // Two frames of the twin's cameras, so the observation shows the cube where it now is.
            usleep(300_000)
            observation = try runner.observe()
        }
        if let problem = cubeProblem() { throw EpisodeError.scene("\(problem), after placing it three times") }
        return observation
    }

    /// Runs one episode; the record is returned whatever the ending, with the steps taken.
    /// `onStep` sees each step with the observation it was taken from (training stores them).
    func runEpisode(index: Int, onStep: (EpisodeObservation, EpisodeStep) -> Void = { _, _ in }) throws -> (Episode, EpisodeEnd) {
        defer { reportClamps() }
        let definition = session.robot.definition
        let metadata = Episode.Metadata(robot: definition.name, task: options.task.rawValue, busHz: loop.configuration.busHz,
                                        policyHz: loop.configuration.policyHz, calibrationID: session.calibrationID, success: false,
                                        softwareVersion: reinsVersion, jointNames: definition.motors.map(\.name),
                                        startedUnixSeconds: Date().timeIntervalSince1970)
        var episode = Episode(metadata: metadata, actionWidth: 7,
                              cameras: session.cameras.map { Episode.CameraFrames(name: $0.name, width: $0.width, height: $0.height) },
                              recordsCube: session.emulator != nil)
        console?.update { model in
            model.episode = index
            model.step = 0
            model.reward = 0
            model.episodeReturn = 0
        }
        log("episode \(index): moving home")
        placeCube()
        var observation = try verifiedScene(try runner.reset())
        episode.startJointTargets = runner.startTargets
        policy.episodeStarted()
        operatorSource?.episodeStarted()
        labeller?.episodeStarted()
        standInKeys.removeAll()
        judgedSuccess = taskCheck.map { _ in false }
        let startNs = observation.timestampNs
        var episodeReturn = 0.0, wasIntervening = keyboard?.inControl == true
        show(observation, step: 0, reward: 0, episodeReturn: 0)
        log("episode \(index): go")
        while true {
            if quitRequested { return (episode, .quit) }
            if let end = handleKeys() {
                switch end {
                case .success: episode.endOnLastStep(success: true)
                case .failure: episode.endOnLastStep(success: false)
                default: break
                }
                return (episode, end)
            }
            if let message = loopFault { return (episode, .stopped(message)) }
            if paused {
                usleep(100_000)
                continue
            }
            let cube = session.emulator?.twinCubePosition
            let step = try runner.step(from: observation, policy: policy, operator: operatorSource)
            episodeReturn += step.reward
            episode.append(jointPositions: observation.joints, endEffector: observation.endEffector.vector,
                           gripper: observation.gripper ?? 0, cubePosition: cube.map { [$0.x, $0.y, $0.z] },
                           images: session.cameras.map { observation.images[$0.name] ?? [] }, action: step.action,
                           jointTargets: step.jointTargets, reward: step.reward, done: step.done, intervention: step.intervention,
                           timestamp: Double(observation.timestampNs - startNs) * 1e-9)
            onStep(observation, step)
            if let taskCheck {
                let done = taskCheck(step.observation)
                if done { judgedSuccess = true }
                if labeller?.pressesSuccess(taskDone: done) == true { standInKeys.append(.markSuccess) }
            }
            if step.intervention != wasIntervening, keyboard != nil {
                log(step.intervention ? "operator took over at step \(runner.steps)" : "policy back at step \(runner.steps)")
                wasIntervening = step.intervention
            }
            observation = step.observation
            show(observation, step: runner.steps, reward: step.reward, episodeReturn: episodeReturn)
            if step.done {
                if step.success { return (episode, .success) }
                return (episode, runner.steps >= options.maxSteps ? .failure("time limit") : .failure("the loop stopped"))
            }
        }
    }

    /// Waits, with the console up, until the operator quits (after a stop or a fault).
    func waitForQuit() {
        guard console != nil else { return }
        console?.update { $0.prompt = "stopped: Q quits" }
        while !quitRequested {
            if let end = handleKeys(), end == .quit { return }
            usleep(50_000)
        }
    }

    /// Applies the keys pressed since the last step; returns how the episode ends if a key ends it.
    private func handleKeys() -> EpisodeEnd? {
        if !standInKeys.isEmpty, standInKeys.removeFirst() == .markSuccess {
            log("y: done (the stand-in operator)")
            return .success
        }
        guard let console else { return nil }
        while let code = console.nextKey() {
            let command = KeyMap.command(for: code)
            if quitAsked {
                quitAsked = false
                console.update { $0.prompt = nil }
                if command == .markSuccess { return .quit }
                continue
            }
            guard let command else { continue }
            if keyboard?.handle(command) == true {
                if command == .toggleControl {
                    let inControl = keyboard?.inControl == true
                    console.update { $0.mode = inControl ? .operator : .policy }
                    log(inControl ? "operator has control" : "policy has control")
                }
                if command == .faster || command == .slower {
                    let speed = keyboard?.speed ?? 0.5
                    console.update { $0.speed = speed }
                }
                continue
            }
            switch command {
            case .markSuccess: return .success
            case .markFailure: return .failure("marked by the operator")
            case .discard: return .discarded
            case .pause:
                paused.toggle()
                let inControl = keyboard?.inControl != false
                console.update { $0.mode = self.paused ? .paused : (inControl ? .operator : .policy) }
                log(paused ? "paused: the arm holds" : "resumed")
            case .stop:
                loop.stop(reason: "operator stop")
                console.update { $0.mode = .stopped }
                log("STOP: holding, then torque off")
                return .stopped("operator stop")
            case .checkpoint:
                checkpointAsked = true
                log("checkpoint and learning curve after this episode")
            case .help:
                console.update { $0.showHelp.toggle() }
            case .quit:
                quitAsked = true
                console.update { $0.prompt = "Quit? The episode in progress is not kept. y quits, any other key goes on" }
            default:
                break
            }
        }
        return nil
    }

    /// Logs how many commands the safety layer changed since the last report, by rule.
    func reportClamps() {
        let counters = loop.status.safety
        guard counters.clamps > lastClamps.clamps else { return }
        log("safety clamped \(counters.clamps - lastClamps.clamps) command(s): joint limits \(counters.jointLimit - lastClamps.jointLimit), "
            + "step \(counters.step - lastClamps.step), lead \(counters.lead - lastClamps.lead), box \(counters.workspace - lastClamps.workspace)")
        lastClamps = counters
    }

    private func show(_ observation: EpisodeObservation, step: Int, reward: Double, episodeReturn: Double) {
        let status = loop.status
        let clamps = status.safety.clamps
        guard let console else { return }
        let definition = session.robot.definition
        let limits = session.robot.limits
        let rate = loop.achievedRate
        console.update { model in
            model.step = step
            model.reward = reward
            model.episodeReturn = episodeReturn
            model.loopHz = rate
            model.jitterP99Us = status.jitterP99Us
            model.safetyClamps = clamps
            model.joints = definition.motors.indices.map { index in
                ConsoleModel.Joint(name: definition.motors[index].name, position: status.state.positions[index],
                                   target: status.sent[index], limits: limits[index])
            }
            model.endEffector = observation.endEffector.vector
            model.gripper = observation.gripper
            model.previews = session.cameras.compactMap { camera in
                observation.images[camera.name].map { ConsoleModel.Preview(name: camera.name, width: camera.width, height: camera.height, rgb: $0) }
            }
        }
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

    func run() throws {
        let station = try OperatorStation(connection: connection, options: episodes, operatorKind: .keyboard, commandName: "teleop")
        defer { station.close() }
        var index = 0
        while !station.quitRequested {
            let (episode, end) = try station.runEpisode(index: index)
            station.log("episode \(index) ended after \(episode.steps) steps: \(end.description)")
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

        Example:
          reins record --robot so101 --task reach --episodes 20 --out demos --sim
          reins record --robot so101 --task reach --episodes 10 --out demos --sim --operator scripted --no-console
        """)

    @OptionGroup var connection: RobotConnection
    @OptionGroup var episodeOptions: EpisodeOptions
    @Option(help: "Episodes to keep.") var episodes: Int
    @Option(help: "The folder for the episode files.") var out: String
    @Option(help: "keyboard (the console) or scripted (the twin's expert).") var `operator`: OperatorKind = .keyboard
    @Option(help: "task (the twin's check ends each episode; the default with --sim) or keys (the operator's y ends it, as on hardware; with --operator scripted a stand-in presses y 0.3–1 s after the twin sees it done).")
    var reward: RewardSource?
    @Flag(help: "Keep successful episodes only.") var onlySuccess = false

    func validate() throws {
        guard episodes > 0 else { throw ValidationError("--episodes must be positive") }
        guard reward != .task || connection.sim else {
            throw ValidationError("--reward task needs the twin (--sim): a real arm has no task check; the operator's y/n keys end episodes (--reward keys)")
        }
    }

    func run() throws {
        let writer = try EpisodeWriter(directory: URL(fileURLWithPath: out))
        let station = try OperatorStation(connection: connection, options: episodeOptions, operatorKind: `operator`, commandName: "record",
                                          reward: reward)
        var closed = false
        defer { if !closed { station.close() } }
        for name in writer.removedLeftovers { station.log("removed \(name), an episode a previous run did not finish") }
        var kept = 0, successes = 0, attempt = 0
        while kept < episodes && !station.quitRequested {
            let (episode, end) = try station.runEpisode(index: attempt)
            attempt += 1
            var finished = episode
            finished.metadata.success = end == .success
            let keep: Bool
            switch end {
            case .success: keep = true
            case .failure: keep = !onlySuccess
            case .stopped: keep = !onlySuccess && episode.steps > 0
            case .discarded, .quit: keep = false
            }
            if keep {
                let url = try writer.write(finished)
                kept += 1
                if end == .success { successes += 1 }
                station.log("episode \(attempt - 1): \(end.description) in \(episode.steps) steps → \(url.lastPathComponent) (\(kept)/\(episodes))")
            } else {
                station.log("episode \(attempt - 1): \(end.description) after \(episode.steps) steps, not kept")
            }
            if end == .quit { break }
            if case .stopped = end {
                station.waitForQuit()
                break
            }
        }
        station.close()
        closed = true
        print("recorded \(kept) episode(s), \(successes) successful, in \(out)")
    }
}

/// The cube's starting height, shared by the station and its reward check (both on the main thread).
final class CubeStart {
    var height = 0.0
}

/// Set from a signal handler's queue, read by the episode loop.
final class SignalFlag: Sendable {
    let raised = Atomic<Bool>(false)
}

/// Several operators at once (the keyboard and the scripted supervisor): the first that acts, acts.
final class FirstAction: ActionSource {
    let sources: [ActionSource]

    init(_ sources: [ActionSource]) {
        self.sources = sources
    }

    func action(for observation: EpisodeObservation) -> [Double]? {
        for source in sources {
            if let action = source.action(for: observation) { return action }
        }
        return nil
    }

    func episodeStarted() {
        for source in sources { source.episodeStarted() }
    }
}
