import ArgumentParser
import Foundation
import ReinsControl
import ReinsCore
import ReinsData
import ReinsLearn
import ReinsTraining

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Human-in-the-loop training: the policy acts, the operator corrects, the learner trains on both.",
        discussion: """
        An actor (the control loop and the policy at the policy rate) and a learner (SAC as HIL-SERL runs it, with batch 128 and an imitation term on the operator's and the demos' steps, --imitation-weight) run in one process on their own threads. Demonstrations (--demos, as `reins record` writes them, at the same --image-size) seed the demo buffer; every step goes to the online buffer, and steps where the operator acted go to both. Each episode's steps reach the learner when it ends, labelled by how it ended: with --reward keys (the only reward on hardware) y makes the last step reward 1 and terminal, n and the step limit end it without a reward, and backspace discards it; with --reward task (the twin's default) the twin's check gives reward 1 and ends the episode. Learning starts after 100 online steps; the policy gets new parameters every 50 updates. Checkpoints (learner, optimisers, buffers, counters, generators) go to RUN/checkpoints every --checkpoint-every steps and at the end; --resume continues from the last one. TensorBoard files and learning-curve.png are written in RUN.

        The policy sees one camera at --image-size and the joints plus the end effector's position (not the cube); it acts with end-effector steps, as the operator does.

        Example:
          reins record --robot so101 --task reach --episodes 10 --out demos --sim --operator scripted --no-console
          reins train --robot so101 --task reach --sim --demos demos --run runs/reach
          reins train --robot so101 --task reach --sim --reward keys --demos demos --run runs/reach-keys
          reins train --robot so101 --task reach --sim --run runs/reach --resume
        """)

    @OptionGroup var connection: RobotConnection
    @OptionGroup var episodeOptions: EpisodeOptions
    @Option(help: "A folder of recorded episodes for the demo buffer.") var demos: String?
    @Option(help: "keyboard (the console's keys), scripted (the twin's expert supervises; keys stay live) or none.")
    var `operator`: OperatorKind = .scripted
    @Option(name: .customLong("run"), help: "The run's folder (checkpoints, TensorBoard, the curve, the policy).") var runPath: String?
    @Option(help: "Environment steps to train for.") var steps = 10_000
    @Option(help: "Environment steps between checkpoints.") var checkpointEvery = 1_000
    @Option(help: "Checkpoints kept.") var keep = 3
    @Option(help: "Learner threads, each taking part of every batch (the loop and the twin's servos preempt them).") var learnerThreads = 2
    @Option(help: "Weight of the actor's imitation term on the operator's and the demos' steps; 0 is HIL-SERL's actor loss.")
    var imitationWeight: Float = 1
    @Option(help: "task (the twin's check gives reward 1 and ends the episode; the default with --sim) or keys (the operator's y and n, the only reward on hardware; with --operator scripted on the twin a stand-in presses y 0.3–1 s after the twin sees the task done).")
    var reward: RewardSource?
    @Flag(help: "Continue the run from its last checkpoint.") var resume = false

    func validate() throws {
        guard steps > 0, checkpointEvery > 0, keep > 0 else { throw ValidationError("--steps, --checkpoint-every and --keep must be positive") }
        guard (1...8).contains(learnerThreads) else { throw ValidationError("--learner-threads must be from 1 to 8") }
        guard imitationWeight >= 0, imitationWeight.isFinite else { throw ValidationError("--imitation-weight must be 0 or more") }
        guard !episodeOptions.noCameras else { throw ValidationError("training learns from a camera; --no-cameras leaves it blind") }
        guard reward != .task || connection.sim else {
            throw ValidationError("--reward task needs the twin (--sim): a real arm has no task check; the operator's y/n keys give the reward (--reward keys)")
        }
    }

    func run() throws {
        let catalog = try RobotCatalog.locate()
        let definition = try catalog.robot(connection.robot)
        guard let camera = definition.cameras.first?.name else { throw CommandError("\(definition.name) has no camera to learn from") }
        let runFolder = URL(fileURLWithPath: runPath ?? "runs/\(definition.name)-\(episodeOptions.task.rawValue)")
        if !resume, !RunCheckpoint.all(in: runFolder).isEmpty {
            throw CommandError("\(runFolder.path) already has checkpoints; add --resume to continue it, or give another --run")
        }
        let spec = TrainingSpec(camera: camera, imageSize: episodeOptions.imageSize, joints: definition.motors.count)
        let config = spec.learnerConfig(imitationWeight: imitationWeight)
        let actor = PolicyActor(spec: spec, policy: Policy(config: config), deterministic: false, seed: episodeOptions.seed &+ 5)
        let demoTransitions = resume ? [] : try loadDemonstrations(spec)
        let last = RunCheckpoint.all(in: runFolder).last
        if resume && last == nil { throw CommandError("\(runFolder.path) has no checkpoint to resume from; start without --resume") }
        // A resumed run keeps its buffers' sizes (a ring overwrites its oldest steps beyond them).
        let demoSteps = demoTransitions.reduce(0) { $0 + $1.count }
        var capacities = (online: steps + 1_000, demos: min(steps, 20_000) + 2 * demoSteps + 100)
        if resume, let last { capacities = try RunCheckpoint.bufferCapacities(last) }
        let learner = Learner(config: config, actor: actor, onlineCapacity: capacities.online, demoCapacity: capacities.demos,
                              seed: episodeOptions.seed, threads: learnerThreads)
        var counters = RunCounters()
        counters.seed = episodeOptions.seed
        if resume, let last {
            counters = try RunCheckpoint.load(last, into: learner)
            printError("resumed \(last.lastPathComponent): \(counters.environmentSteps) steps, \(counters.episodes) episodes, \(counters.updates) updates, "
                       + "\(learner.online.count) online and \(learner.demos.count) demo transitions")
        } else {
            for transitions in demoTransitions { learner.addDemonstration(transitions) }
        }
        let board = try TensorBoardWriter(directory: runFolder)
        let station = try OperatorStation(connection: connection, options: episodeOptions, operatorKind: `operator`, commandName: "train",
                                          policy: actor, supervising: true, reward: reward)
        var closed = false
        defer { if !closed { station.close() } }
        learner.start()
        var learnerStopped = false
        defer { if !learnerStopped { learner.stop() } }
        var lastCheckpoint = counters.environmentSteps
        let started = Date()
        station.log("training \(spec.camera) \(spec.imageSize)x\(spec.imageSize) + proprio \(config.observation.proprioWidth) → \(TrainingSpec.actionWidth) actions; run \(runFolder.path)")
        // A fault (a bus that stops answering, a camera gone) ends training with a checkpoint of
        // everything learned and stored so far, then the error.
        var fault: (any Error)?
        var suspect: [[Transition]] = [], supervisorFailures = 0
        while counters.environmentSteps < steps && !station.quitRequested {
            var interventions = 0, episodeReturn = 0.0
            var held = HeldEpisode()
            let end: EpisodeEnd
            do {
                (_, end) = try station.runEpisode(index: counters.episodes) { observation, step in
                    counters.environmentSteps += 1
                    if step.intervention { interventions += 1 }
                    if let input = spec.observation(observation), let next = spec.observation(step.observation) {
                        held.append(Transition(observation: input, action: step.action.map(Float.init), reward: Float(step.reward),
                                               nextObservation: next, terminal: step.success, episodeEnded: step.done,
                                               intervention: step.intervention))
                    }
                    station.console?.update { $0.learner = panel(learner.stats, counters) }
                }
            } catch {
                learner.submit(episode: held.finish(.stopped("\(error)")))
                fault = error
                break
            }
            // The episode reaches the learner only now, labelled by its end (the keys on hardware).
            // One the scripted supervisor took over and still failed waits with the others in a row
            // of such: they reach the learner when an episode goes well or a checkpoint is taken,
            // and never if the row grows into a fault first (a broken scene is not training data).
            let labelled = held.finish(end)
            episodeReturn = labelled.reduce(0) { $0 + Double($1.reward) }
            let taken = station.runner.steps
            if case .failure = end, `operator` == .scripted, taken > 0, Double(interventions) >= 0.3 * Double(taken) {
                suspect.append(labelled)
                supervisorFailures += 1
            } else {
                for episode in suspect { learner.submit(episode: episode) }
                suspect.removeAll()
                supervisorFailures = 0
                learner.submit(episode: labelled)
            }
            switch end {
            case .success, .failure:
                counters.episodes += 1
                counters.successes.append(end == .success)
                counters.interventionRates.append(taken > 0 ? Double(interventions) / Double(taken) : 0)
                counters.returns.append(episodeReturn)
                counters.curve.append(RunCounters.CurvePoint(step: counters.environmentSteps, successRate: counters.recentSuccessRate,
                                                             interventionRate: counters.recentInterventionRate))
            case .discarded, .quit, .stopped:
                break
            }
            let stats = learner.stats
            counters.updates = stats.updates
            var scalars: [(String, Double)] = [
                ("episode/return", episodeReturn), ("episode/success", end == .success ? 1 : 0),
                ("episode/intervention_rate", taken > 0 ? Double(interventions) / Double(taken) : 0),
                ("rolling20/success_rate", counters.recentSuccessRate), ("rolling20/intervention_rate", counters.recentInterventionRate),
                ("rolling20/unassisted_success_rate", counters.recentUnassistedSuccessRate),
                ("learner/critic_loss", Double(stats.criticLoss)), ("learner/actor_loss", Double(stats.actorLoss)),
                ("learner/imitation_loss", Double(stats.imitationLoss)),
                ("learner/temperature", Double(stats.temperature)), ("learner/mean_q", Double(stats.meanQ)),
                ("learner/updates_per_s", stats.updatesPerSecond), ("learner/updates", Double(stats.updates)),
                ("buffers/online", Double(stats.onlineTransitions)), ("buffers/demo", Double(stats.demoTransitions)),
                ("loop/jitter_p99_us", station.loop.status.jitterP99Us),
            ]
            // The twin's own verdict, logged beside the keys' (it judges; it never gives the reward).
            if let judged = station.judgedSuccess { scalars.append(("episode/judged_success", judged ? 1 : 0)) }
            try board.scalars(scalars, step: counters.environmentSteps)
            board.flush()
            let line = String(format: "episode %d: %@ in %d steps, return %.2f, interventions %d; steps %d/%d, updates %d (%.1f/s), Q %.2f, imitation %.3f; success %.0f %% (%.0f %% by the policy alone) and interventions %.0f %% over the last 20",
                              counters.episodes, end.description, taken, episodeReturn, interventions, counters.environmentSteps, steps,
                              stats.updates, stats.updatesPerSecond, stats.meanQ, stats.imitationLoss,
                              counters.recentSuccessRate * 100, counters.recentUnassistedSuccessRate * 100, counters.recentInterventionRate * 100)
            if station.console == nil { print(line) } else { station.log(line) }
            fflush(nil)
            if station.takeCheckpointRequest() || counters.environmentSteps - lastCheckpoint >= checkpointEvery {
                // A checkpoint holds every episode so far: the ones waiting go in first.
                for episode in suspect { learner.submit(episode: episode) }
                suspect.removeAll()
                try checkpoint(learner, actor: actor, counters: counters, run: runFolder, station: station)
                lastCheckpoint = counters.environmentSteps
            }
            // The scripted supervisor finishes a reach in 11–25 steps: when it takes over episode
            // after episode and finishes none, the scene is broken, not the policy.
            if supervisorFailures >= Self.supervisorFailuresTolerated {
                fault = CommandError("the scripted supervisor took over in each of the last \(supervisorFailures) episodes and finished none: the twin's scene or the arm is not as an episode needs; those since the last checkpoint were not trained on")
                suspect.removeAll()
                break
            }
            if end == .quit { break }
            if case .stopped = end {
                station.waitForQuit()
                break
            }
        }
        if fault == nil, let message = station.loopFault { fault = CommandError(message) }
        for episode in suspect { learner.submit(episode: episode) }
        learner.stop()
        learnerStopped = true
        counters.updates = learner.stats.updates
        try checkpoint(learner, actor: actor, counters: counters, run: runFolder, station: station)
        station.close()
        closed = true
        if let fault {
            throw CommandError("training stopped at step \(counters.environmentSteps): \(fault); the run is saved, continue it with --resume")
        }
        print(String(format: "trained %d steps (%d episodes, %d updates) in %.0f s; success %.0f %% (%.0f %% by the policy alone) over the last 20 episodes; run %@",
                     counters.environmentSteps, counters.episodes, counters.updates, Date().timeIntervalSince(started),
                     counters.recentSuccessRate * 100, counters.recentUnassistedSuccessRate * 100, runFolder.path))
    }

    /// Failed episodes in a row, each mostly the scripted supervisor's, that stop a run as a fault.
    static let supervisorFailuresTolerated = 10

    /// Saves a checkpoint, the current policy and the learning curve.
    private func checkpoint(_ learner: Learner, actor: PolicyActor, counters: RunCounters, run: URL, station: OperatorStation) throws {
        var counters = counters
        counters.actorGenerator = actor.generatorState
        let folder = try RunCheckpoint.save(learner, counters: counters, run: run, keep: keep)
        let metadata = ["reins.environment_steps": String(counters.environmentSteps), "reins.robot": connection.robot,
                        "reins.task": episodeOptions.task.rawValue]
        try actor.save(to: folder.appendingPathComponent("policy.safetensors").path, metadata: metadata)
        try actor.save(to: run.appendingPathComponent("policy.safetensors").path, metadata: metadata)
        try learningCurve(counters).write(to: run.appendingPathComponent("learning-curve.png").path)
        station.log("checkpoint \(folder.lastPathComponent)")
    }

    private func learningCurve(_ counters: RunCounters) -> LearningCurve {
        LearningCurve(title: "\(connection.robot) \(episodeOptions.task.rawValue): rates over the last 20 episodes", series: [
            .init(name: "success", colour: (30, 110, 220), points: counters.curve.map { (x: Double($0.step), y: $0.successRate) }),
            .init(name: "success, policy alone", colour: (40, 160, 70), points: counters.unassistedCurve.map { (x: Double($0.step), y: $0.rate) }),
            .init(name: "intervention", colour: (230, 90, 30), points: counters.curve.map { (x: Double($0.step), y: $0.interventionRate) }),
        ])
    }

    /// The demo folder's episodes as transitions; the first file that does not fit stops the run with its name.
    private func loadDemonstrations(_ spec: TrainingSpec) throws -> [[Transition]] {
        guard let demos else { return [] }
        let folder = URL(fileURLWithPath: demos)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".h5") && !$0.hasPrefix(".") }.sorted()
        guard !names.isEmpty else { throw CommandError("\(demos) has no episode files; record some with `reins record --out \(demos)`") }
        return try names.map { name in
            let episode = try EpisodeFile.read(folder.appendingPathComponent(name))
            return try spec.transitions(of: episode, file: "\(demos)/\(name)")
        }
    }
}

/// The console's learner panel: updates, losses, temperature and Q; then buffer sizes, success
/// (assisted and by the policy alone) and intervention rates and returns over the last 20 episodes.
func panel(_ stats: Learner.Stats, _ counters: RunCounters) -> [String] {
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
