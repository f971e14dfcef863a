import Foundation
import ReinsControl
import ReinsCore
import ReinsData
import ReinsLearn

/// A training run that cannot go on as asked: the message says what to change.
public struct TrainingRunError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Episodes the scripted supervisor took over and still failed, held back from the learner. One
/// such episode is ordinary; a row of them means the scene or the arm is broken (the supervisor
/// finishes a reach in 11–25 steps, a pick in 40–90), and a broken scene is not training data.
/// They reach the learner when an episode goes well or a checkpoint is taken, and never if the
/// row grows into a fault first. Until the learner has started nothing is held or counted: it
/// starts only on online transitions, and an untrained policy undoing the supervisor's work is no
/// sign of a broken scene (held back, such failures kept the omx's learner from ever starting).
public struct SupervisorWatch: Sendable {
    /// Failed episodes in a row, each mostly the supervisor's, that make a fault.
    public var tolerated = 10
    /// The share of an episode's steps the supervisor must have taken for its failure to count.
    public var takeoverShare = 0.3
    public private(set) var held: [[Transition]] = []
    public private(set) var failuresInARow = 0

    public init() {}

    /// Takes a finished episode's labelled transitions; returns the episodes that may reach the
    /// learner now (none while a row of supervisor failures grows, once `learning`).
    public mutating func finished(_ transitions: [Transition], end: EpisodeEnd, outcome steps: Int, interventions: Int,
                                  learning: Bool = true) -> [[Transition]] {
        if learning, case .failure = end, steps > 0, Double(interventions) >= takeoverShare * Double(steps) {
            held.append(transitions)
            failuresInARow += 1
            return []
        }
        failuresInARow = 0
        return release() + [transitions]
    }

    /// The held episodes, for a checkpoint (which holds every episode so far).
    public mutating func release() -> [[Transition]] {
        defer { held.removeAll() }
        return held
    }

    /// Whether the row of failures is long enough to stop the run; the held episodes are dropped.
    public mutating func faulted() -> Bool {
        guard failuresInARow >= tolerated else { return false }
        held.removeAll()
        return true
    }
}

/// Human-in-the-loop training in one process: the station runs episodes with the actor's policy
/// (the operator or the scripted supervisor correcting it), each episode's transitions are held
/// until it ends and labelled by how it ended (`HeldEpisode`), and the learner trains on its own
/// threads. Checkpoints, TensorBoard scalars and the learning curve go to the run's folder.
public final class TrainingRun {
    public struct Settings: Sendable {
        public var robot: String
        public var task: TaskKind
        /// The cameras the policy sees, each through its own encoder.
        public var cameras: [String]
        public var imageSize: Int
        public var joints: Int
        public var run: URL
        public var steps = 10_000
        public var checkpointEvery = 1_000
        public var keep = 3
        public var learnerThreads = 2
        public var imitationWeight: Float = 1
        public var seed: UInt64 = 0
        /// A folder of recorded episodes for the demo buffer (ignored when resuming: the
        /// checkpoint holds the buffer).
        public var demos: URL?
        public var resume = false
        /// The scripted supervisor operates: a row of its failures is a fault (`SupervisorWatch`).
        public var supervised = true
        /// Updates the learner must have made per environment step since learning started before
        /// the next episode begins (nil: never wait). The actor never waits mid-episode; between
        /// episodes it holds the arm at home, so a slower machine takes longer and learns the same.
        public var minUpdatesPerStep: Double?
        /// The actor reads the critic's encoder (`SACConfig.sharedEncoder`), which the imitation term trains too.
        public var sharedEncoder = true
        /// The gripper's own critic chooses close, stay or open (`SACConfig.discreteGripper`); a
        /// resumed run keeps the gripper it started with.
        public var discreteGripper = false
        /// With a discrete gripper: the margin of its imitation term (`SACConfig.gripperImitationMargin`); a
        /// resumed run keeps the one it started with.
        public var gripperMargin: Float = 0.1
        /// Written into the episode files the run keeps (frames the operator overruled the classifier on).
        public var softwareVersion = "unknown"
        /// Every finished episode is also written here as `reins record` writes it, frames labelled
        /// (the console's l key, or on the twin the scripted stand-in): a reward classifier's data
        /// from the states the policy itself visits.
        public var recordEpisodes: URL?

        public init(robot: String, task: TaskKind, cameras: [String], imageSize: Int, joints: Int, run: URL) {
            self.robot = robot
            self.task = task
            self.cameras = cameras
            self.imageSize = imageSize
            self.joints = joints
            self.run = run
        }
    }

    public let settings: Settings
    public let spec: TrainingSpec
    public let actor: PolicyActor
    public let learner: Learner
    public private(set) var counters = RunCounters()
    /// What resuming found, for the operator ("resumed …"); nil for a new run.
    public private(set) var resumed: String?
    private var watch = SupervisorWatch()
    /// Online transitions handed to the learner by this process (a resumed run's buffer counts too).
    private var submittedTransitions = 0

    /// Builds the learner and its buffers: from the last checkpoint with `resume`, else empty with
    /// the demonstrations loaded. Nothing runs yet: the actor is the station's policy, then `run`.
    public init(settings: Settings) throws {
        self.settings = settings
        let folder = settings.run
        let last = RunCheckpoint.all(in: folder).last
        if !settings.resume, last != nil {
            throw TrainingRunError("\(folder.path) already has checkpoints; add --resume to continue it, or give another --run")
        }
        if settings.resume, last == nil {
            throw TrainingRunError("\(folder.path) has no checkpoint to resume from; start without --resume")
        }
        // The learner configuration the resumed run started with.
        let started = settings.resume ? last.flatMap(RunCheckpoint.savedConfig) : nil
        spec = TrainingSpec(cameras: settings.cameras, imageSize: settings.imageSize, joints: settings.joints,
                            discreteGripper: started?.discreteGripper ?? settings.discreteGripper)
        var config = spec.learnerConfig(imitationWeight: settings.imitationWeight, sharedEncoder: settings.sharedEncoder,
                                        gripperMargin: settings.gripperMargin)
        if let saved = started { config.gripperImitationMargin = saved.gripperImitationMargin }
        if let saved = started, saved.observation != config.observation {
            let started = saved.observation.images.map { "\($0.name) \($0.width)x\($0.height)" }.joined(separator: ", ")
            throw TrainingRunError("\(folder.path) was started seeing \(started) with \(saved.observation.proprioWidth) proprio values; "
                + "resume it with the same --cameras and --image-size")
        }
        // A resumed run goes on with the encoders it started with, shared or not.
        var continuedAsStarted = false
        if let saved = started, saved.sharedEncoder != config.sharedEncoder || saved.imitationTrainsSharedEncoder != config.imitationTrainsSharedEncoder {
            var asStarted = config
            (asStarted.sharedEncoder, asStarted.imitationTrainsSharedEncoder) = (saved.sharedEncoder, saved.imitationTrainsSharedEncoder)
            if asStarted == saved { (config, continuedAsStarted) = (saved, true) }
        }
        actor = PolicyActor(spec: spec, policy: Policy(config: config), deterministic: false, seed: settings.seed &+ 5)
        var demonstrations: [[Transition]] = []
        if let demos = settings.demos, !settings.resume { demonstrations = try Self.loadDemonstrations(demos, spec: spec) }
        // A resumed run keeps its buffers' sizes (a ring overwrites its oldest steps beyond them).
        let demoSteps = demonstrations.reduce(0) { $0 + $1.count }
        var capacities = (online: settings.steps + 1_000, demos: min(settings.steps, 20_000) + 2 * demoSteps + 100)
        if let last, settings.resume { capacities = try RunCheckpoint.bufferCapacities(last) }
        learner = Learner(config: config, actor: actor, onlineCapacity: capacities.online, demoCapacity: capacities.demos,
                          seed: settings.seed, threads: settings.learnerThreads)
        counters.seed = settings.seed
        if let last, settings.resume {
            counters = try RunCheckpoint.load(last, into: learner, actor: actor)
            resumed = "resumed \(last.lastPathComponent): \(counters.environmentSteps) steps, \(counters.episodes) episodes, \(counters.updates) updates, "
                + "\(learner.online.count) online and \(learner.demos.count) demo transitions"
                + (continuedAsStarted ? "; it goes on with \(config.sharedEncoder ? "the shared encoder" : "separate actor and critic encoders"), as it started" : "")
        } else {
            for transitions in demonstrations { learner.addDemonstration(transitions) }
        }
        submittedTransitions = learner.online.count
    }

    /// A demo folder's episodes as transitions; the first file that does not fit stops the run with its name.
    public static func loadDemonstrations(_ folder: URL, spec: TrainingSpec) throws -> [[Transition]] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".h5") && !$0.hasPrefix(".") }.sorted()
        } catch {
            throw TrainingRunError("\(folder.path) cannot be read as a folder of episodes: \(error.localizedDescription)")
        }
        guard !names.isEmpty else { throw TrainingRunError("\(folder.path) has no episode files; record some with `reins record --out \(folder.path)`") }
        return try names.map { name in
            let episode = try EpisodeFile.read(folder.appendingPathComponent(name))
            return try spec.transitions(of: episode, file: "\(folder.path)/\(name)")
        }
    }

    /// How the run ended.
    public struct Summary: Sendable {
        public var counters: RunCounters
        public var seconds: Double
        /// The actor's timing over the run: the 99th percentiles of a bus read and of a camera
        /// frame's age when a step read it, and the loop's failed bus cycles.
        public var readP99Ms: Double
        public var frameAgeP99Ms: Double
        public var failedBusCycles: Int
    }

    /// Trains until `settings.steps` environment steps, the operator quits, or a fault. A fault
    /// (a bus that stops answering, a camera gone, a row of supervisor failures) still ends with a
    /// checkpoint of everything learned and stored so far, then throws. `progress` gets one line
    /// per episode; the learner is stopped on every path. `reward` is the station's.
    public func run(station: OperatorStation, reward: EpisodeReward, progress: (String) -> Void) throws -> Summary {
        let board = try TensorBoardWriter(directory: settings.run)
        let recorder = try settings.recordEpisodes.map { try EpisodeWriter(directory: $0) }
        learner.start()
        var learnerStopped = false
        defer { if !learnerStopped { learner.stop() } }
        var lastCheckpoint = counters.environmentSteps
        let started = Date()
        let config = learner.agent.config
        let actions = spec.discreteGripper
            ? "\(TrainingSpec.actionWidth - 1) actions and the gripper critic's close/stay/open" : "\(TrainingSpec.actionWidth) actions"
        station.log("training \(spec.cameras.joined(separator: " + ")) \(spec.imageSize)x\(spec.imageSize) + proprio \(config.observation.proprioWidth) → \(actions); run \(settings.run.path)")
        station.log("learner: \(learner.schedulingSummary), below the control loop, the bus and the cameras, so it never delays them")
        var fault: (any Error)?
        while counters.environmentSteps < settings.steps && !station.quitRequested {
            var held = HeldEpisode()
            let outcome: EpisodeOutcome
            func hold(_ recorded: StationStep) {
                counters.environmentSteps += 1
                let step = recorded.step
                if let input = spec.observation(recorded.observation), let next = spec.observation(step.observation) {
                    let (action, gripperOpen) = spec.learnerAction(step.action, commandBefore: recorded.observation.gripperCommandInForce)
                    held.append(Transition(observation: input, action: action, reward: Float(step.reward),
                                           nextObservation: next, terminal: step.success, episodeEnded: step.done,
                                           intervention: step.intervention, gripperOpen: gripperOpen))
                }
                let stats = learner.stats, counters = counters
                station.display?.update { $0.learner = Self.panel(stats, counters) }
            }
            do {
                if let recorder {
                    let (episode, result) = try station.recordEpisode(index: counters.episodes, softwareVersion: settings.softwareVersion, onStep: hold)
                    outcome = result
                    if DemonstrationRecording.keepsAny(result.end, steps: episode.steps) { try recorder.write(episode) }
                } else {
                    outcome = try station.runEpisode(index: counters.episodes, onStep: hold)
                }
            } catch {
                submit(held.finish(.stopped("\(error)")))
                fault = error
                break
            }
            // The episode reaches the learner only now, labelled by its end (the keys on hardware).
            let end = outcome.end
            let labelled = held.finish(end)
            let episodeReturn = labelled.reduce(0) { $0 + Double($1.reward) }
            if settings.supervised {
                let learning = submittedTransitions >= learner.learningStarts
                for episode in watch.finished(labelled, end: end, outcome: outcome.steps, interventions: outcome.interventions, learning: learning) {
                    submit(episode)
                }
            } else {
                submit(labelled)
            }
            // Another episode follows: the learner may need to catch up first.
            var another = counters.environmentSteps < settings.steps && !station.quitRequested && station.loopFault == nil
            if case .stopped = end { another = false }
            if end == .quit { another = false }
            let waited = another ? try waitForLearner(station) : 0
            if case .success = end { count(outcome, success: true, episodeReturn: episodeReturn) }
            if case .failure = end { count(outcome, success: false, episodeReturn: episodeReturn) }
            let stats = learner.stats
            counters.updates = stats.updates
            var logged = scalars(outcome, episodeReturn: episodeReturn, stats: stats, loop: station.loop, runner: station.runner)
            if settings.minUpdatesPerStep != nil {
                logged += [("learner/wait_s", waited), ("learner/wait_total_s", counters.learnerWaitSeconds ?? 0)]
            }
            var rewardNote = ""
            if let agreement = reward.episode.agreement {
                let total = (counters.rewardAgreement ?? ClassifierAgreement()) + agreement
                counters.rewardAgreement = total
                if let precision = total.precision { logged.append(("reward/live_precision", precision)) }
                if let recall = total.recall { logged.append(("reward/live_recall", recall)) }
                rewardNote = "; classifier against the twin so far: precision " + (total.precision.map { String(format: "%.2f", $0) } ?? "-")
                    + ", recall " + (total.recall.map { String(format: "%.2f", $0) } ?? "-")
            }
            if let override = reward.episode.override { try keepOverride(override, station: station) }
            if reward.source == .classifier {
                var ends = counters.classifierEnds ?? ClassifierEnds()
                ends.count(end, override: reward.episode.override)
                counters.classifierEnds = ends
                logged += [("reward/classifier_successes", Double(ends.calledSuccesses)), ("reward/overruled_y", Double(ends.overruledWithY)),
                           ("reward/overruled_n", Double(ends.overruledWithN))]
                rewardNote += "; successes it called \(ends.calledSuccesses), y over it \(ends.overruledWithY), n \(ends.overruledWithN)"
            }
            if let standIn = outcome.standIn {
                let total = (counters.standIn ?? StandInCounts()) + standIn
                counters.standIn = total
                logged += [("operator/y", Double(total.successPresses)), ("operator/y_missed", Double(total.missedSuccesses)),
                           ("operator/y_false", Double(total.falseSuccesses)), ("operator/n", Double(total.failurePresses)),
                           ("operator/n_missed", Double(total.missedFailures)), ("operator/takeovers", Double(total.takeovers)),
                           ("operator/takeovers_missed", Double(total.missedTakeovers))]
                if !station.options.standInMistakes.isNone { rewardNote += "; stand-in so far: \(total.summary)" }
            }
            try board.scalars(logged, step: counters.environmentSteps)
            board.flush()
            // Numbered as the station numbers its "moving home" and "go" lines (and record and eval theirs): from 0.
            progress(String(format: "episode %d: %@ in %d steps, return %.2f, interventions %d; steps %d/%d, updates %d (%.1f/s), Q %.2f, imitation %.3f; success %.0f %% (%.0f %% by the policy alone) and interventions %.0f %% over the last 20",
                            counters.episodes - 1, end.description, outcome.steps, episodeReturn, outcome.interventions, counters.environmentSteps,
                            settings.steps, stats.updates, stats.updatesPerSecond, stats.meanQ, stats.imitationLoss,
                            counters.recentSuccessRate * 100, counters.recentUnassistedSuccessRate * 100, counters.recentInterventionRate * 100)
                     + (waited > 0 ? String(format: "; waited %.1f s for the learner", waited) : "") + rewardNote
                     + (watch.held.isEmpty ? "" : "; \(watch.held.count) failed supervised episode\(watch.held.count == 1 ? "" : "s") held back"))
            if station.takeCheckpointRequest() || counters.environmentSteps - lastCheckpoint >= settings.checkpointEvery {
                // A checkpoint holds every episode so far: the ones waiting go in first.
                for episode in watch.release() { submit(episode) }
                try checkpoint(station: station)
                lastCheckpoint = counters.environmentSteps
            }
            if watch.faulted() {
                fault = TrainingRunError("the scripted supervisor took over in each of the last \(watch.failuresInARow) episodes and finished none: the twin's scene or the arm is not as an episode needs; those since the last checkpoint were not trained on")
                break
            }
            if end == .quit { break }
            if case .stopped = end {
                station.waitForQuit()
                break
            }
        }
        if fault == nil, let message = station.loopFault { fault = TrainingRunError(message) }
        for episode in watch.release() { submit(episode) }
        learner.stop()
        learnerStopped = true
        counters.updates = learner.stats.updates
        try checkpoint(station: station)
        if let fault {
            throw TrainingRunError("training stopped at step \(counters.environmentSteps): \(fault); the run is saved, continue it with --resume")
        }
        let status = station.loop.status
        return Summary(counters: counters, seconds: Date().timeIntervalSince(started), readP99Ms: status.readP99Ms,
                       frameAgeP99Ms: Double(station.runner.frameAges.valueAtPercentile(99)) / 1e6, failedBusCycles: status.failedCycles)
    }

    /// The updates the learner must have made before the next episode: the ratio times the online
    /// transitions handed to it beyond those it starts learning after (episodes held back from it,
    /// such as a row of supervisor failures, do not count).
    public static func requiredUpdates(ratio: Double, onlineTransitions: Int, learningStarts: Int) -> Int {
        Int((ratio * Double(max(0, onlineTransitions - learningStarts))).rounded(.up))
    }

    /// Hands an episode's transitions to the learner, counting them for the update ratio.
    private func submit(_ transitions: [Transition]) {
        learner.submit(episode: transitions)
        submittedTransitions += transitions.count
    }

    /// Keeps a frame the operator judged over the classifier as a one-step labelled episode in
    /// RUN/reward-overrides, for `reins reward train`.
    private func keepOverride(_ override: ClassifierOverride, station: OperatorStation) throws {
        let writer = try EpisodeWriter(directory: settings.run.appendingPathComponent("reward-overrides"))
        let file = try writer.write(station.labelledFrame(override.observation, success: override.success, softwareVersion: settings.softwareVersion))
        station.log("kept the overruled frame as \(file.lastPathComponent) in \(writer.directory.lastPathComponent)")
    }

    /// How long the learner may make no update at all while the arm waits for it before the wait
    /// gives up, says so, and the next episode starts.
    static let stalledLearnerSeconds = 60.0

    /// With `minUpdatesPerStep`, moves the arm home and holds it (torque on) until the learner has
    /// caught up, the operator quits, or the loop stops; returns the seconds waited.
    private func waitForLearner(_ station: OperatorStation) throws -> Double {
        guard let ratio = settings.minUpdatesPerStep else { return 0 }
        func missing() -> Int {
            Self.requiredUpdates(ratio: ratio, onlineTransitions: submittedTransitions, learningStarts: learner.learningStarts) - learner.stats.updates
        }
        guard missing() > 0 else { return 0 }
        let started = Date()
        var lastUpdates = learner.stats.updates, lastProgress = Date()
        try station.holdAtHome {
            let left = missing(), updates = learner.stats.updates
            guard left > 0 else { return nil }
            if updates != lastUpdates { (lastUpdates, lastProgress) = (updates, Date()) }
            if Date().timeIntervalSince(lastProgress) > Self.stalledLearnerSeconds {
                station.log(String(format: "the learner made no update in %.0f s; going on without the %d updates still missing", Self.stalledLearnerSeconds, left))
                return nil
            }
            return "waiting for the learner: \(left) updates"
        }
        let waited = Date().timeIntervalSince(started)
        counters.learnerWaitSeconds = (counters.learnerWaitSeconds ?? 0) + waited
        return waited
    }

    /// Counts a finished episode (success or failure; discarded, quit and stopped ones are not episodes).
    private func count(_ outcome: EpisodeOutcome, success: Bool, episodeReturn: Double) {
        counters.episodes += 1
        counters.successes.append(success)
        counters.interventionRates.append(outcome.interventionRate)
        counters.returns.append(episodeReturn)
        counters.curve.append(RunCounters.CurvePoint(step: counters.environmentSteps, successRate: counters.recentSuccessRate,
                                                     interventionRate: counters.recentInterventionRate))
    }

    private func scalars(_ outcome: EpisodeOutcome, episodeReturn: Double, stats: Learner.Stats, loop: ControlLoop, runner: EpisodeRunner) -> [(String, Double)] {
        var scalars: [(String, Double)] = [
            ("episode/return", episodeReturn), ("episode/success", outcome.end == .success ? 1 : 0),
            ("episode/intervention_rate", outcome.interventionRate),
            ("rolling20/success_rate", counters.recentSuccessRate), ("rolling20/intervention_rate", counters.recentInterventionRate),
            ("rolling20/unassisted_success_rate", counters.recentUnassistedSuccessRate),
            ("learner/critic_loss", Double(stats.criticLoss)), ("learner/actor_loss", Double(stats.actorLoss)),
            ("learner/imitation_loss", Double(stats.imitationLoss)),
            ("learner/temperature", Double(stats.temperature)), ("learner/mean_q", Double(stats.meanQ)),
            ("learner/updates_per_s", stats.updatesPerSecond), ("learner/updates", Double(stats.updates)),
            ("buffers/online", Double(stats.onlineTransitions)), ("buffers/demo", Double(stats.demoTransitions)),
            ("loop/jitter_p99_us", loop.status.jitterP99Us), ("loop/read_p99_ms", loop.status.readP99Ms),
            ("loop/failed_cycles", Double(loop.status.failedCycles)),
            ("cameras/frame_age_p99_ms", Double(runner.frameAges.valueAtPercentile(99)) / 1e6),
        ]
        if spec.discreteGripper {
            scalars += [("learner/gripper_loss", Double(stats.gripperLoss)), ("learner/gripper_mean_q", Double(stats.gripperMeanQ)),
                        ("learner/gripper_imitation", Double(stats.gripperImitationLoss))]
        }
        // The twin's own verdict, logged beside the keys' (it judges; it never gives the reward).
        if let judged = outcome.judgedSuccess { scalars.append(("episode/judged_success", judged ? 1 : 0)) }
        return scalars
    }

    /// Saves a checkpoint, the current policy (in it and at the run's top) and the learning curve.
    private func checkpoint(station: OperatorStation) throws {
        var counters = counters
        counters.actorGenerator = actor.generatorState
        let folder = try RunCheckpoint.save(learner, counters: counters, run: settings.run, keep: settings.keep)
        let metadata = ["reins.environment_steps": String(counters.environmentSteps), "reins.robot": settings.robot,
                        "reins.task": settings.task.rawValue]
        try actor.save(to: folder.appendingPathComponent("policy.safetensors").path, metadata: metadata)
        try actor.save(to: settings.run.appendingPathComponent("policy.safetensors").path, metadata: metadata)
        try learningCurve.write(to: settings.run.appendingPathComponent("learning-curve.png").path)
        station.log("checkpoint \(folder.lastPathComponent)")
    }

    private var learningCurve: LearningCurve {
        LearningCurve(title: "\(settings.robot) \(settings.task.rawValue): rates over the last 20 episodes", series: [
            .init(name: "success", colour: (30, 110, 220), points: counters.curve.map { (x: Double($0.step), y: $0.successRate) }),
            .init(name: "success, policy alone", colour: (40, 160, 70), points: counters.unassistedCurve.map { (x: Double($0.step), y: $0.rate) }),
            .init(name: "intervention", colour: (230, 90, 30), points: counters.curve.map { (x: Double($0.step), y: $0.interventionRate) }),
        ])
    }

    /// The console's learner panel: updates, losses, temperature and Q; then buffer sizes, success
    /// (assisted and by the policy alone) and intervention rates and returns over the last 20 episodes.
    public static func panel(_ stats: Learner.Stats, _ counters: RunCounters) -> [String] {
        let sparkline = counters.returns.suffix(20).map { value -> Character in
            let levels = Array("▁▂▃▄▅▆▇█")
            return levels[min(levels.count - 1, max(0, Int(value.rounded(.down) * 7)))]
        }
        return [
            String(format: "%d upd %.1f/s critic %.3f actor %.2f imit %.3f α %.3f Q %.2f", stats.updates, stats.updatesPerSecond,
                   stats.criticLoss, stats.actorLoss, stats.imitationLoss, stats.temperature, stats.meanQ),
            String(format: "online %d demo %d  succ %.0f%% alone %.0f%% interv %.0f%% ", stats.onlineTransitions,
                   stats.demoTransitions, counters.recentSuccessRate * 100, counters.recentUnassistedSuccessRate * 100,
                   counters.recentInterventionRate * 100) + String(sparkline),
        ]
    }
}
