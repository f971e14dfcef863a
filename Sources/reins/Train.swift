import ArgumentParser
import Foundation
import ReinsControl
import ReinsCore
import ReinsTraining

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Human-in-the-loop training: the policy acts, the operator corrects, the learner trains on both.",
        discussion: """
        An actor (the control loop and the policy at the policy rate) and a learner (SAC as HIL-SERL runs it, with batch 128 and an imitation term on the operator's and the demos' steps, --imitation-weight) run in one process on their own threads. Demonstrations (--demos, as `reins record` writes them, at the same --image-size) seed the demo buffer; every step goes to the online buffer, and steps where the operator acted go to both. Each episode's steps reach the learner when it ends, labelled by how it ended: with --reward keys (the only reward on hardware) y makes the last step reward 1 and terminal, n and the step limit end it without a reward, and backspace discards it; with --reward task (the twin's default) the twin's check gives reward 1 and ends the episode. Learning starts after 100 online steps; the policy gets new parameters every 50 updates. Checkpoints (learner, optimisers, buffers, counters, generators) go to RUN/checkpoints every --checkpoint-every steps and at the end; --resume continues from the last one. TensorBoard files and learning-curve.png are written in RUN.

        The policy sees the robot's first camera (or those --cameras names, each through its own encoder) at --image-size, and the joints plus the end effector's position (not the cube); it acts with end-effector steps, as the operator does.

        Example:
          reins record --robot so101 --task reach --episodes 10 --out demos --sim --operator scripted --no-console
          reins train --robot so101 --task reach --sim --demos demos --run runs/reach
          reins train --robot so101 --task reach --sim --reward keys --demos demos --run runs/reach-keys
          reins train --robot so101 --task reach --sim --run runs/reach --resume
        """)

    @OptionGroup var connection: RobotConnection
    @OptionGroup var episodeOptions: EpisodeOptions
    @Option(help: "A folder of recorded episodes for the demo buffer.") var demos: String?
    @Option(name: .customLong("operator"), help: "keyboard (the console's keys; the default on a real arm), scripted (the twin's expert supervises, keys stay live; the default with --sim) or none.")
    var operatorChoice: OperatorKind?

    /// The operator asked for, else the twin's scripted supervisor on the twin and the keyboard on a real arm.
    var `operator`: OperatorKind { operatorChoice ?? (connection.sim ? .scripted : .keyboard) }
    @Option(name: .customLong("run"), help: "The run's folder (checkpoints, TensorBoard, the curve, the policy).") var runPath: String?
    @Option(help: "Environment steps to train for.") var steps = 10_000
    @Option(help: "Environment steps between checkpoints.") var checkpointEvery = 1_000
    @Option(help: "Checkpoints kept.") var keep = 3
    @Option(help: "Learner threads, each taking part of every batch (the loop and the twin's servos preempt them).") var learnerThreads = 2
    @Option(help: "Weight of the actor's imitation term on the operator's and the demos' steps; 0 is HIL-SERL's actor loss.")
    var imitationWeight: Float = 1
    @Option(help: ArgumentHelp("task (the twin's check gives reward 1 and ends the episode; the default with --sim), keys (the operator's y and n, the default on hardware; with --operator scripted on the twin a stand-in presses y 0.3–1 s after the twin sees the task done) or classifier:FILE (a reward classifier from `reins reward train`: two frames in a row it calls success end the episode with reward 1; y and n overrule it, and each overruled frame is kept in RUN/reward-overrides; on the twin the scripted operator's stand-in presses y 1–2 s after a success it missed).", valueName: "task|keys|classifier:FILE"))
    var reward: RewardChoice?
    @Option(help: "With --reward classifier: frames in a row it must call success to end an episode.") var classifierFrames = 2
    @Option(name: .customLong("min-utd"), help: "Updates per environment step the learner must have made (counted from when learning starts) before each new episode; between episodes the arm holds at home until it has. Off by default: reach does not need many updates.")
    var minUpdatesPerStep: Double?
    @Flag(help: "Give the actor an image encoder of its own instead of reading the critic's (which the critic and the imitation term train, as HIL-SERL and RLPD share theirs); about 0.6× the updates a second.")
    var separateEncoders = false
    @Option(help: ArgumentHelp("discrete (a critic of its own chooses close, stay or open, as HIL-SERL grasps; the default for pick) or continuous (the actor sets the opening; the default for reach). A resumed run keeps the gripper it started with.", valueName: "discrete|continuous"))
    var gripper: GripperControl?
    @Option(help: "With the discrete gripper and an imitation weight: the margin by which its critic is taught to rank the operator's choice first on their steps (DQfD's term, weighted as the actor's imitation term); 0 leaves the gripper to the reward alone, as HIL-SERL.")
    var gripperMargin: Float = 0.1
    @Option(help: ArgumentHelp("The cameras the policy sees, comma-separated (e.g. front,wrist), each through its own encoder, features concatenated; default: the robot's first camera. Demos must have been recorded with them.", valueName: "names"),
            transform: splitCameraNames)
    var cameras: [String]?
    @Option(name: .customLong("record"), help: "Also write every finished episode to this folder as `reins record` does, frames labelled (for `reins reward train` on the states the policy visits).")
    var recordPath: String?
    @Flag(help: "Continue the run from its last checkpoint.") var resume = false
    @OptionGroup var standIn: StandInOptions

    func validate() throws {
        guard steps > 0, checkpointEvery > 0, keep > 0 else { throw ValidationError("--steps, --checkpoint-every and --keep must be positive") }
        guard (1...8).contains(learnerThreads) else { throw ValidationError("--learner-threads must be from 1 to 8") }
        guard imitationWeight >= 0, imitationWeight.isFinite else { throw ValidationError("--imitation-weight must be 0 or more") }
        guard gripperMargin >= 0, gripperMargin <= 1 else { throw ValidationError("--gripper-margin must be from 0 to 1") }
        if let minUpdatesPerStep {
            guard minUpdatesPerStep > 0, minUpdatesPerStep <= 100 else { throw ValidationError("--min-utd must be above 0 and at most 100") }
        }
        if let cameras { try checkCameraNames(cameras) }
        guard !episodeOptions.noCameras else { throw ValidationError("training learns from a camera; --no-cameras leaves it blind") }
        guard (1...20).contains(classifierFrames) else { throw ValidationError("--classifier-frames must be from 1 to 20") }
        try checkOperator(`operator`, sim: connection.sim)
        try standIn.check(sim: connection.sim, operatorKind: `operator`)
        try checkRewardSource(reward?.source, sim: connection.sim)
        try episodeOptions.checkCameraSources(connection)
    }

    func run() throws {
        let catalog = try RobotCatalog.locate()
        let definition = try catalog.robot(connection.robot)
        let known = definition.cameras.map(\.name)
        guard let first = known.first else { throw CommandError("\(definition.name) has no camera to learn from") }
        let run = URL(fileURLWithPath: runPath ?? "runs/\(definition.name)-\(episodeOptions.task.rawValue)")
        // A resumed run sees what it saw, unless told otherwise (and then refuses a change).
        let started = resume ? RunCheckpoint.all(in: run).last.flatMap(RunCheckpoint.savedConfig).map { $0.observation.images.map(\.name) } : nil
        let chosen = cameras ?? started ?? [first]
        if let unknown = chosen.first(where: { !known.contains($0) }) {
            throw CommandError("--cameras: \(definition.name) has no camera \(unknown); its cameras are \(known.joined(separator: ", "))")
        }
        var settings = TrainingRun.Settings(robot: connection.robot, task: episodeOptions.task, cameras: chosen, imageSize: episodeOptions.imageSize,
                                            joints: definition.motors.count,
                                            run: run)
        settings.steps = steps
        settings.checkpointEvery = checkpointEvery
        settings.keep = keep
        settings.learnerThreads = learnerThreads
        settings.imitationWeight = imitationWeight
        settings.seed = episodeOptions.seed
        settings.demos = demos.map { URL(fileURLWithPath: $0) }
        settings.resume = resume
        settings.supervised = `operator` == .scripted
        settings.minUpdatesPerStep = minUpdatesPerStep
        settings.sharedEncoder = !separateEncoders
        settings.discreteGripper = (gripper ?? (episodeOptions.task == .pick ? .discrete : .continuous)) == .discrete
        settings.gripperMargin = gripperMargin
        settings.softwareVersion = reinsVersion
        settings.recordEpisodes = recordPath.map { URL(fileURLWithPath: $0) }
        let training = try TrainingRun(settings: settings)
        if let resumed = training.resumed { printError(resumed) }
        let classifier = try reward?.loadClassifier()
        let (station, episodeReward) = try episodeOptions.openStation(connection, operatorKind: `operator`, commandName: "train", policy: training.actor,
                                                     supervising: true, reward: reward?.source, successClassifier: classifier,
                                                     classifierFrames: classifierFrames, standInMistakes: standIn.mistakes)
        defer { station.close() }
        let summary = try training.run(station: station, reward: episodeReward) { line in
            if station.display == nil { print(line) } else { station.log(line) }
            fflush(nil)
        }
        station.close()
        let counters = summary.counters
        print(String(format: "trained %d steps (%d episodes, %d updates) in %.0f s; success %.0f %% (%.0f %% by the policy alone) over the last 20 episodes; run %@",
                     counters.environmentSteps, counters.episodes, counters.updates, summary.seconds,
                     counters.recentSuccessRate * 100, counters.recentUnassistedSuccessRate * 100, settings.run.path))
        print(String(format: "timing: a bus read took %.2f ms and a camera frame was %.0f ms old at p99; %d failed bus cycles",
                     summary.readP99Ms, summary.frameAgeP99Ms, summary.failedBusCycles))
    }
}

/// How a trained policy works its gripper.
enum GripperControl: String, ExpressibleByArgument, CaseIterable {
    case discrete, continuous
}
