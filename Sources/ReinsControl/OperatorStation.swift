import Foundation
import ReinsCore
import Synchronization

/// Who operates the arm beside (or instead of) the policy.
public enum OperatorKind: String, CaseIterable, Sendable {
    /// The console's keys.
    case keyboard
    /// The twin's expert: in `record` it drives every step; in `train` it supervises the policy
    /// and takes over when the task stops getting nearer (keyboard takeover stays live in the console).
    case scripted
    /// Nobody: the policy alone (training's ablation, evaluation).
    case none
}

/// How a station runs its episodes.
public struct StationOptions: Sendable {
    /// The command, shown in the console and logged when it stops the loop.
    public var commandName: String
    public var task: TaskKind = .reach
    public var maxSteps = 100
    /// Seeds the scripted operator's noise (the twin's cube and the stand-in are seeded where they are made).
    public var seed: UInt64 = 0
    public var operatorKind: OperatorKind = .keyboard
    /// The scripted operator watches a policy and takes over when needed (training, evaluation)
    /// instead of driving every step (recording demonstrations).
    public var supervising = false
    /// Steps recorded after a success, still labelled, so frames of the task done pile up for the
    /// reward classifier (as HIL-SERL advises); the episode as experience ends at the success.
    public var pastSuccessSteps = 0
    /// The twin's scripted supervisor makes a person's mistakes: with any, it takes over a
    /// reaction time late and misses takeovers at their miss rate (the reward's stand-in has its own).
    public var standInMistakes = OperatorMistakes.none

    public init(commandName: String, task: TaskKind = .reach, maxSteps: Int = 100, seed: UInt64 = 0,
                operatorKind: OperatorKind = .keyboard, supervising: Bool = false) {
        self.commandName = commandName
        self.task = task
        self.maxSteps = maxSteps
        self.seed = seed
        self.operatorKind = operatorKind
        self.supervising = supervising
    }
}

/// A station that cannot run as asked: the message says what to change.
public struct StationError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// One step as the station ran it.
public struct StationStep: Sendable {
    /// The observation the step was taken from.
    public var observation: EpisodeObservation
    public var step: EpisodeStep
    /// Where the twin's cube was when the step was taken (episode files record it; nothing
    /// the learner or the policy sees comes from it); nil on a real arm.
    public var cube: Vector3?
    /// Whether the operator says the observation shows the task done: the console's `l` toggle,
    /// or on the twin the scripted stand-in's view, a reaction time late.
    public var label: Bool
    /// Recorded after the episode's success, for its label only (`pastSuccessSteps`).
    public var pastEnd: Bool
}

/// How an episode went.
public struct EpisodeOutcome: Sendable {
    public var end: EpisodeEnd
    /// Steps taken.
    public var steps: Int
    /// Steps where the operator acted.
    public var interventions: Int
    /// Whether the twin's check passed at any step (nil without a twin): the judge's verdict,
    /// logged beside the keys', never a reward.
    public var judgedSuccess: Bool?
    /// The joint targets the episode started from (home).
    public var startTargets: [Double]
    /// When the episode started, seconds since 1970.
    public var startedUnixSeconds: Double
    /// The steps up to the success, when more were recorded past it; nil when the episode ended
    /// on its last step.
    public var experienceSteps: Int?
    /// With the twin's stand-in operator: its presses and takeovers, made, missed and false.
    public var standIn: StandInCounts?

    public var interventionRate: Double { steps > 0 ? Double(interventions) / Double(steps) : 0 }
}

/// The robot, its control loop and cameras, an episode runner, the console (or progress lines)
/// and who acts: what teleoperation, recording, training and evaluation have in common. It owns
/// the session and the display from `init` on: it closes both if `init` fails, and `close()`
/// (or deinit) stops the loop (hold, torque off), the cameras and the emulator on every other path.
public final class OperatorStation {
    public let session: RobotSession
    public let loop: ControlLoop
    public let runner: EpisodeRunner
    public let display: (any OperatorDisplay)?
    public let keyboard: KeyboardOperator?
    public let options: StationOptions
    /// Where rewards come from and what overrules what.
    public let reward: any EpisodeRewarding
    /// The twin's scene for the task: cubes placed, the judge's verdict; nil on a real arm.
    public let twin: TwinTask?
    private let operatorSource: ActionSource?
    private let policy: ActionSource
    /// Where lines go without a display.
    private let report: (String) -> Void
    /// With the scripted operator supervising a policy: the person who takes over.
    private let supervisor: InterveningSupervisor?
    /// The console's `l` toggle: frames are labelled success while it is on.
    private var labellingSuccess = false
    /// Keys pressed by the stand-in operator, read before the display's.
    private var standInKeys: [TeleopCommand] = []
    private let signalled = SignalFlag()
    private var signals: StopSignals?
    private var quitAsked = false
    private var checkpointAsked = false
    private var paused = false
    private var closed = false
    private var lastClamps = SafetyCounters()

    /// `display` nil runs without a console: lines go to `report`. `twin` is the session's twin
    /// for the task (`session.twinTask`), nil on a real arm; `reward` was made for the same.
    public init(session: RobotSession, twin: TwinTask?, reward: any EpisodeRewarding, options: StationOptions, policy: ActionSource = HoldPolicy(),
                display: (any OperatorDisplay)?, report: @escaping (String) -> Void) throws {
        // Until the loop exists, a failure closes what was handed over here.
        func refuse(_ message: String) -> StationError {
            display?.close()
            session.close()
            return StationError(message)
        }
        guard options.operatorKind != .keyboard || display != nil else {
            throw refuse("the keyboard operator needs the console")
        }
        guard options.operatorKind != .scripted || session.isTwin else {
            throw refuse("the scripted operator needs the twin: only there is the cube's position known")
        }
        guard options.standInMistakes.isNone || (options.operatorKind == .scripted && session.isTwin) else {
            throw refuse("the stand-in's mistakes are the twin's scripted operator's: they need it, on the twin")
        }
        self.session = session
        self.options = options
        self.display = display
        self.report = report
        self.reward = reward
        self.twin = twin
        self.policy = policy
        loop = session.loop()
        let scene = session.scene
        let task = options.task
        runner = EpisodeRunner(loop: loop, kinematics: session.kinematics, cameras: session.cameras) { observation in
            reward.reward(observation)
        }
        runner.maxSteps = options.maxSteps
        // With a display the keys can always take over; the operator starts in control only when
        // there is no policy to watch.
        let keyboard = display == nil ? nil : KeyboardOperator(inControl: !options.supervising && options.operatorKind == .keyboard)
        self.keyboard = keyboard
        let policyHz = session.robot.definition.rates.policyHz
        var scripted: ActionSource?
        var supervisor: InterveningSupervisor?
        if options.operatorKind == .scripted {
            let expert = scriptedExpert(for: task, scale: runner.scale, seed: options.seed &+ 1) { scene?.cubePosition }
            if options.supervising {
                let person = options.standInMistakes.isNone
                    ? nil : InterveningSupervisor.Person(policyHz: policyHz, mistakes: options.standInMistakes, seed: options.seed &+ 7)
                supervisor = InterveningSupervisor(expert: expert, task: task, asPerson: person)
            }
            scripted = supervisor ?? expert
        }
        self.supervisor = supervisor
        operatorSource = FirstAction([keyboard, scripted].compactMap { $0 })
        // The twin renders on the CPU it shares with everything else: allow its frames more age.
        runner.maxFrameAge = session.isTwin ? .seconds(1) : .nanoseconds(Int64(session.robot.definition.timeouts.frameAgeMs * 1e6))
        let flag = signalled
        do {
            try Self.waitForFirstFrames(session.cameras)
            signals = StopSignals { _ in flag.raised.store(true, ordering: .releasing) }
            try loop.start()
            try display?.start()
        } catch {
            // Nothing started here outlives the failure: the loop holds, then switches the
            // torque off; the cameras and the emulator stop.
            close()
            throw error
        }
        display?.update { model in
            model.command = options.commandName
            model.robot = session.robot.definition.name
            model.task = switch reward.source {
            case .keys: "\(task.rawValue) (y/n decides)"
            case .classifier: "\(task.rawValue) (classifier; y/n overrule)"
            case .task: task.rawValue
            }
            model.maxSteps = options.maxSteps
            model.mode = keyboard?.inControl == false ? .policy : .operator
        }
        for note in loop.status.realtime.notes { log(note) }
        if reward.source == .keys, options.operatorKind != .scripted, display == nil {
            log("note: with the keys' reward and no console nobody can press y: every episode ends at the step limit without a reward")
        }
    }

    deinit {
        close()
    }

    /// Waits up to 30 s for every camera's first frame (a device opening, the twin's first render).
    public static func waitForFirstFrames(_ cameras: [any Camera]) throws {
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
            if let lastError { throw StationError("\(lastError) (waited 30 s for the first frame)") }
        }
    }

    /// Gives the terminal back, stops the loop (hold, torque off), the cameras and the emulator.
    /// Later calls do nothing.
    public func close() {
        guard !closed else { return }
        closed = true
        display?.close()
        signals?.cancel()
        loop.stop(reason: "\(options.commandName) ended")
        loop.wait()
        session.close()
    }

    /// A line for the operator: the console's event log, or `report`.
    public func log(_ event: String) {
        if let display { display.log(event) } else { report(event) }
    }

    /// Whether a signal (Ctrl-C, the terminal closing) asked the command to stop.
    public var quitRequested: Bool { signalled.raised.load(ordering: .acquiring) }

    /// Why the control loop stopped, when a fault (not the operator) stopped it.
    public var loopFault: String? {
        if case .faulted(let message) = loop.status.phase { return message }
        return nil
    }

    /// Whether the operator asked for a checkpoint (the k key) since the last call.
    public func takeCheckpointRequest() -> Bool {
        defer { checkpointAsked = false }
        return checkpointAsked
    }

    /// After the reset: every joint reading finite and, on the twin, the cube resting where it was
    /// placed. A cube the arm knocked on its way home is placed again (three times at most);
    /// after that the episode stops with what is wrong rather than train on a broken scene.
    private func verifiedScene(_ observation: EpisodeObservation) throws -> EpisodeObservation {
        guard observation.joints.allSatisfy(\.isFinite), observation.endEffector.position.x.isFinite else {
            throw EpisodeError.scene("the joint readings are not finite: \(observation.joints)")
        }
        var observation = observation
        guard let twin else { return observation }
        for _ in 0..<3 {
            guard let problem = twin.cubeProblem else { return observation }
            log("\(problem); placing it again")
            twin.placeCube()
            // Two frames of the twin's cameras, so the observation shows the cube where it now is.
            usleep(300_000)
            observation = try runner.observe()
        }
        if let problem = twin.cubeProblem { throw EpisodeError.scene("\(problem), after placing it three times") }
        return observation
    }

    /// Runs one episode and says how it ended; `onStep` sees each step with the observation it was
    /// taken from (recording writes them, training holds them until the end labels them).
    public func runEpisode(index: Int, onStep: (StationStep) -> Void = { _ in }) throws -> EpisodeOutcome {
        defer { reportClamps() }
        display?.update { model in
            model.episode = index
            model.step = 0
            model.reward = 0
            model.episodeReturn = 0
        }
        log("episode \(index): moving home")
        twin?.placeCube()
        let started = Date().timeIntervalSince1970
        var observation = try verifiedScene(try runner.reset())
        var outcome = EpisodeOutcome(end: .quit, steps: 0, interventions: 0, judgedSuccess: twin.map { _ in false },
                                     startTargets: runner.startTargets, startedUnixSeconds: started)
        policy.episodeStarted()
        operatorSource?.episodeStarted()
        reward.episodeStarted()
        if labellingSuccess { log("l: frames are labelled failure again") }
        labellingSuccess = false
        standInKeys.removeAll()
        var episodeReturn = 0.0, wasIntervening = keyboard?.inControl == true
        // Whether the twin's check passes on the observation in hand (never at home).
        var observationDone = false
        var pastSuccess: Int?
        show(observation, step: 0, reward: 0, episodeReturn: 0)
        log("episode \(index): go")
        func ended(_ end: EpisodeEnd) -> EpisodeOutcome {
            outcome.end = end
            outcome.steps = runner.steps
            if reward.standInCounts != nil || supervisor != nil {
                outcome.standIn = (reward.standInCounts ?? StandInCounts()) + (supervisor?.counts ?? StandInCounts())
            }
            return outcome
        }
        /// Success ends the episode now, or after `pastSuccessSteps` more steps recorded for their labels.
        func succeeded() -> EpisodeOutcome? {
            guard options.pastSuccessSteps > 0 else { return ended(.success) }
            outcome.experienceSteps = runner.steps
            pastSuccess = 0
            log("success: recording \(options.pastSuccessSteps) more steps for their labels")
            return nil
        }
        while true {
            if let done = pastSuccess, done >= options.pastSuccessSteps { return ended(.success) }
            if quitRequested { return ended(.quit) }
            if let end = handleKeys() {
                if pastSuccess == nil, let line = reward.operatorEnded(end, observation: observation) { log(line) }
                switch end {
                case .success where pastSuccess == nil: if let outcome = succeeded() { return outcome }
                case .success, .failure: if pastSuccess == nil { return ended(end) }
                case .discarded, .quit, .stopped: return ended(end)
                }
            }
            if let message = loopFault { return ended(.stopped(message)) }
            if paused {
                usleep(100_000)
                continue
            }
            let cube = twin?.cubePosition
            let label = labellingSuccess || reward.label(taskDone: observationDone)
            let step = try runner.step(from: observation, policy: policy, operator: operatorSource)
            episodeReturn += step.reward
            if step.intervention { outcome.interventions += 1 }
            onStep(StationStep(observation: observation, step: step, cube: cube, label: label, pastEnd: pastSuccess != nil))
            let done = twin?.isDone(step.observation)
            observationDone = done == true
            if done == true { outcome.judgedSuccess = true }
            if pastSuccess == nil, reward.observed(taskDone: done) { standInKeys.append(.markSuccess) }
            if step.intervention != wasIntervening, keyboard != nil {
                log(step.intervention ? "operator took over at step \(runner.steps)" : "policy back at step \(runner.steps)")
                wasIntervening = step.intervention
            }
            observation = step.observation
            show(observation, step: runner.steps, reward: step.reward, episodeReturn: episodeReturn)
            if let probability = reward.probability { display?.update { $0.rewardProbability = probability } }
            if let done = pastSuccess {
                pastSuccess = done + 1
            } else if step.done {
                if step.success {
                    if reward.source == .classifier, let end = overruleWindow(taskDone: done) {
                        if let line = reward.operatorEnded(end, observation: observation) { log(line) }
                        return ended(end)
                    }
                    if let outcome = succeeded() { return outcome }
                } else {
                    return ended(runner.steps >= options.maxSteps ? .failure("time limit") : .failure("the loop stopped"))
                }
            }
        }
    }

    /// The classifier has just ended the episode with a success; the arm holds while the operator
    /// may press n (or backspace, or stop) within `classifierGraceSeconds`. On the twin the stand-in
    /// presses n a reaction time late when the twin's check disagrees (unless it misses it). nil:
    /// the success stands.
    private func overruleWindow(taskDone: Bool?) -> EpisodeEnd? {
        let standInSeconds = reward.standInOverrule(taskDone: taskDone)
        guard display != nil || standInSeconds != nil else { return nil }
        display?.update { $0.prompt = "the classifier called success: n overrules it" }
        defer { display?.update { $0.prompt = nil } }
        let start = Date()
        while true {
            let elapsed = Date().timeIntervalSince(start)
            if let standInSeconds, elapsed >= standInSeconds, standInSeconds <= reward.overruleSeconds {
                log("n: not done (the stand-in operator)")
                return .failure(EpisodeEnd.operatorFailure)
            }
            guard elapsed < reward.overruleSeconds else { return nil }
            switch handleKeys() {
            case nil, .success?: break
            case let end?: return end
            }
            if let message = loopFault { return .stopped(message) }
            if quitRequested { return .quit }
            usleep(20_000)
        }
    }

    /// Moves the arm home and holds it there (torque on) while `waiting` gives a prompt for the
    /// console (nil ends the wait), the operator does not quit and the loop runs: between
    /// episodes, for a learner that must catch up. The prompt is shown at most once a second.
    public func holdAtHome(while waiting: () -> String?) throws {
        _ = try runner.reset()
        defer { display?.update { $0.prompt = nil } }
        var lastShown: Date?
        while loopFault == nil, !quitRequested, loop.status.phase == .running || loop.status.phase == .holding {
            guard let prompt = waiting() else { break }
            if let display, lastShown.map({ Date().timeIntervalSince($0) >= 1 }) ?? true {
                display.update { $0.prompt = prompt }
                lastShown = Date()
            }
            usleep(100_000)
        }
    }

    /// Waits, with the console up, until the operator quits (after a stop or a fault).
    public func waitForQuit() {
        guard let display else { return }
        display.update { $0.prompt = "stopped: Q quits" }
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
        guard let display else { return nil }
        while let press = display.nextKeyPress() {
            let command = press.command
            if quitAsked {
                quitAsked = false
                display.update { $0.prompt = nil }
                if command == .markSuccess { return .quit }
                continue
            }
            guard let command else { continue }
            if keyboard?.handle(command) == true {
                if command == .toggleControl {
                    let inControl = keyboard?.inControl == true
                    display.update { $0.mode = inControl ? .operator : .policy }
                    log(inControl ? "operator has control" : "policy has control")
                }
                if command == .faster || command == .slower {
                    let speed = keyboard?.speed ?? 0.5
                    display.update { $0.speed = speed }
                }
                continue
            }
            switch command {
            case .markSuccess: return .success
            case .markFailure: return .failure(EpisodeEnd.operatorFailure)
            case .discard: return .discarded
            case .pause:
                paused.toggle()
                let inControl = keyboard?.inControl != false, paused = paused
                display.update { $0.mode = paused ? .paused : (inControl ? .operator : .policy) }
                log(paused ? "paused: the arm holds" : "resumed")
            case .stop:
                loop.stop(reason: "operator stop")
                display.update { $0.mode = .stopped }
                log("STOP: holding, then torque off")
                return .stopped("operator stop")
            case .toggleSuccessLabel:
                labellingSuccess.toggle()
                log(labellingSuccess ? "l: frames are labelled success" : "l: frames are labelled failure")
            case .checkpoint:
                checkpointAsked = true
                log("checkpoint and learning curve after this episode")
            case .help:
                display.update { $0.showHelp.toggle() }
            case .quit:
                quitAsked = true
                display.update { $0.prompt = "Quit? The episode in progress is not kept. y quits, any other key goes on" }
            default:
                break
            }
        }
        return nil
    }

    /// Logs how many commands the safety layer changed since the last report, by rule.
    public func reportClamps() {
        let counters = loop.status.safety
        guard counters.clamps > lastClamps.clamps else { return }
        log("safety clamped \(counters.clamps - lastClamps.clamps) command(s): joint limits \(counters.jointLimit - lastClamps.jointLimit), "
            + "step \(counters.step - lastClamps.step), lead \(counters.lead - lastClamps.lead), box \(counters.workspace - lastClamps.workspace)")
        lastClamps = counters
    }

    private func show(_ observation: EpisodeObservation, step: Int, reward: Double, episodeReturn: Double) {
        guard let display else { return }
        let status = loop.status
        let definition = session.robot.definition
        let limits = session.robot.limits
        let rate = loop.achievedRate
        let cameras = session.cameras
        display.update { model in
            model.step = step
            model.reward = reward
            model.episodeReturn = episodeReturn
            model.loopHz = rate
            model.jitterP99Us = status.jitterP99Us
            model.safetyClamps = status.safety.clamps
            model.joints = definition.motors.indices.map { index in
                ConsoleModel.Joint(name: definition.motors[index].name, position: status.state.positions[index],
                                   target: status.sent[index], limits: limits[index])
            }
            model.endEffector = observation.endEffector.vector
            model.gripper = observation.gripper
            model.previews = cameras.compactMap { camera in
                observation.images[camera.name].map { ConsoleModel.Preview(name: camera.name, width: camera.width, height: camera.height, rgb: $0) }
            }
        }
    }
}

/// Set from a signal handler's queue, read by the episode loop.
private final class SignalFlag: Sendable {
    let raised = Atomic<Bool>(false)
}
