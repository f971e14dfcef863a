import ArgumentParser
import Foundation
import ReinsCore
import ReinsLearn
import ReinsNN
import ReinsTraining

/// The learner configurations the benchmarks run.
enum LearnerConfiguration: String, ExpressibleByArgument, CaseIterable {
    case standard, state

    var config: SACConfig { self == .standard ? .standardImage : .standardState }
}

/// Options shared by the learning benchmarks.
struct BLASOptions: ParsableArguments {
    @Flag(help: "Rerun with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset and Reins' own choice off, so OpenBLAS picks its own kernel for this CPU (benchmarks only; tests and CI keep the machine's setting).")
    var nativeKernel = false

    /// Replaces this process with itself minus the two variables, once.
    func applyNativeKernel() throws {
        let pinned = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]
        guard nativeKernel, ProcessInfo.processInfo.environment[BLASKernel.nativeMarker] == nil else { return }
        for name in pinned + [BLASKernel.chosenMarker] { unsetenv(name) }
        setenv(BLASKernel.nativeMarker, "1", 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        throw CommandError("could not rerun with OpenBLAS's native kernel: \(String(cString: strerror(errno)))")
    }
}

/// Replay buffers filled with seeded random transitions (episodes of 100 steps) for the learner benchmarks.
func prefilledBuffers(_ config: SACConfig, online onlineCount: Int, demos demoCount: Int, seed: UInt64) -> (demos: ReplayBuffer, online: ReplayBuffer) {
    var generator = SplitMix64(seed: seed)
    func randomObservation() -> Observation {
        Observation(images: config.observation.images.map { image in (0..<image.byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) } },
                    proprio: (0..<config.observation.proprioWidth).map { _ in Float.random(in: -1...1, using: &generator) })
    }
    func filled(_ transitions: Int) -> ReplayBuffer {
        let buffer = ReplayBuffer(spec: config.observation, actionWidth: config.actionWidth, capacity: transitions + transitions / 100 + 2)
        var observation = randomObservation()
        for index in 0..<transitions {
            let next = randomObservation()
            let ended = index % 100 == 99
            buffer.add(observation: observation, action: (0..<config.actionWidth).map { _ in Float.random(in: -1...1, using: &generator) },
                       reward: ended ? 1 : 0, nextObservation: next, terminal: ended, episodeEnded: ended, intervention: false)
            observation = ended ? randomObservation() : next
        }
        return buffer
    }
    return (filled(demoCount), filled(onlineCount))
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

struct BenchLearner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learner",
        abstract: "Steady-state SAC updates per second (one critic, one actor and one temperature step, sampling and augmentation included).",
        discussion: """
        standard: one 64×64×3 camera + 6-dim proprio, 6-dim action, one encoder shared by actor and critic (the actor reads it with the gradient stopped; --separate-encoders gives the actor its own). state: a 12-dim observation vector, 6-dim action, no encoder. Buffers are prefilled with random transitions; batches are drawn 50/50 from demo and online.

        Example:
          reins bench learner --config standard --seconds 30 --json
          reins bench learner --batch 128 --json    # what `reins train` uses
          reins bench learner --config state --native-kernel
        """)

    @Option(help: "standard (image) or state.") var config: LearnerConfiguration = .standard
    @Option(help: "How long to time updates, after a warm-up.") var seconds = 10.0
    @Option(help: "Rows per batch (default 256, HIL-SERL's; `reins train` uses 128).") var batch: Int?
    @Option(help: "Seed for the buffers, networks and sampling.") var seed: UInt64 = 0
    @Option(help: "Learner threads, each taking part of the batch with single-threaded OpenBLAS; 1 leaves threading to OpenBLAS.")
    var threads = 2
    @Flag(help: "Give the actor an image encoder of its own, as before the critic's was shared (standard config).") var separateEncoders = false
    @Option(help: ArgumentHelp("continuous (the actor sets the gripper) or discrete (the gripper's own critic, double DQN over close/stay/open, as `reins train --task pick` runs it).", valueName: "continuous|discrete"))
    var gripper: GripperControl = .continuous
    @OptionGroup var blas: BLASOptions
    @Flag(help: "Print one JSON object.") var json = false

    struct Output: Encodable {
        var benchmark = "learner"
        var config: String
        var sharedEncoder: Bool
        var discreteGripper: Bool
        var batch: Int
        var updates: Int
        var updatesPerS: Double
        var updateMedianMs: Double
        var updateP90Ms: Double
        var sampleMedianMs: Double
        var gflopPerUpdate: Double
        var gflopPerS: Double
        var learnerThreads: Int
        var blasCore: String
        var blasCoreChosenBy: BLASKernelSource
        var blasThreads: Int
        var openblasCoretype: String
    }

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be from 1 to 64") }
        if let batch { guard (2...4096).contains(batch) else { throw ValidationError("--batch must be from 2 to 4096") } }
    }

    func run() throws {
        try blas.applyNativeKernel()
        var settings = config.config
        settings.batchSize = batch ?? settings.batchSize
        if separateEncoders { settings.sharedEncoder = false }
        settings.discreteGripper = gripper == .discrete
        let agent = SACAgent(config: settings, seed: seed, threads: threads)
        let (demos, online) = prefilledBuffers(settings, online: settings.observation.images.isEmpty ? 20_000 : 4_000,
                                               demos: 1_000, seed: seed &+ 7)
        let rows = TransitionBatch(spec: settings.observation, actionWidth: settings.actionWidth, capacity: settings.batchSize)
        var generator = SplitMix64(seed: seed &+ 9)
        func sample() {
            sampleMixed(demos: demos, online: online, demoFraction: settings.demoFraction, into: rows,
                        shift: settings.augmentationShift, using: &generator)
        }
        for _ in 0..<3 {
            sample()
            _ = agent.update(rows)
        }
        var updateTimes = [Double](repeating: 0, count: 100_000)
        var sampleTimes = [Double](repeating: 0, count: 100_000)
        var count = 0
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < .seconds(seconds), count < updateTimes.count {
            let before = clock.now
            sample()
            let sampled = clock.now
            _ = agent.update(rows)
            let done = clock.now
            sampleTimes[count] = (sampled - before).milliseconds
            updateTimes[count] = (done - before).milliseconds
            count += 1
        }
        let total = (clock.now - start).seconds
        let flops = agent.flopsPerUpdate
        let output = Output(
            config: config.rawValue, sharedEncoder: settings.sharesEncoder, discreteGripper: settings.discreteGripper, batch: settings.batchSize, updates: count, updatesPerS: Double(count) / total,
            updateMedianMs: median(Array(updateTimes[0..<count])), updateP90Ms: percentile(Array(updateTimes[0..<count]), 0.9),
            sampleMedianMs: median(Array(sampleTimes[0..<count])), gflopPerUpdate: flops / 1e9,
            gflopPerS: flops * Double(count) / total / 1e9, learnerThreads: threads, blasCore: BLAS.coreName, blasCoreChosenBy: KernelChoice.source, blasThreads: BLAS.threadCount,
            openblasCoretype: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "unset")
        if json {
            JSONLines.print(output)
        } else {
            print("""
            learner (\(config.rawValue), batch \(output.batch)\(settings.sharesEncoder ? ", shared encoder" : "")): \(String(format: "%.2f", output.updatesPerS)) updates/s, \
            median \(String(format: "%.2f", output.updateMedianMs)) ms (sampling \(String(format: "%.2f", output.sampleMedianMs)) ms)
            \(String(format: "%.2f", output.gflopPerUpdate)) GFLOP per update, \(String(format: "%.1f", output.gflopPerS)) GFLOP/s; \
            \(threads) learner threads; OpenBLAS \(output.blasCore) kernel, \(output.blasThreads) threads per call (chosen by \(output.blasCoreChosenBy.rawValue); OPENBLAS_CORETYPE \(output.openblasCoretype))
            """)
        }
    }
}

struct BenchInference: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference",
        abstract: "Batch-1 policy latency: one observation in, one action out (median and p99).",
        discussion: "Example:\n  reins bench inference --config standard --json")

    @Option(help: "standard (image) or state.") var config: LearnerConfiguration = .standard
    @Option(help: "Actions to time.") var iterations = 5000
    @OptionGroup var blas: BLASOptions
    @Flag(help: "Print one JSON object.") var json = false

    struct Output: Encodable {
        var benchmark = "inference"
        var config: String
        var iterations: Int
        var medianUs: Double
        var p99Us: Double
        var blasCore: String
        var blasCoreChosenBy: BLASKernelSource
        var blasThreads: Int
    }

    func run() throws {
        try blas.applyNativeKernel()
        let settings = config.config
        let policy = Policy(config: settings)
        policy.copyParameters(from: SACAgent(config: settings, seed: 1))
        var generator = SplitMix64(seed: 3)
        let observation = Observation(
            images: settings.observation.images.map { image in (0..<image.byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) } },
            proprio: [Float](repeating: 0.1, count: settings.observation.proprioWidth))
        for _ in 0..<200 { _ = policy.act(observation, deterministic: true, using: &generator) }
        let clock = ContinuousClock()
        var times = [Double](repeating: 0, count: iterations)
        for index in 0..<iterations {
            let start = clock.now
            _ = policy.act(observation, deterministic: true, using: &generator)
            times[index] = (clock.now - start).microseconds
        }
        let output = Output(config: config.rawValue, iterations: iterations, medianUs: median(times), p99Us: percentile(times, 0.99),
                            blasCore: BLAS.coreName, blasCoreChosenBy: KernelChoice.source, blasThreads: BLAS.threadCount)
        if json {
            JSONLines.print(output)
        } else {
            print("inference (\(config.rawValue), batch 1): median \(String(format: "%.1f", output.medianUs)) µs, p99 \(String(format: "%.1f", output.p99Us)) µs; OpenBLAS \(output.blasCore), \(output.blasThreads) threads")
        }
    }
}

struct BenchSACPendulum: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sac-pendulum",
        abstract: "Trains the state-based SAC agent on Pendulum-v1 and evaluates 10 deterministic episodes.",
        discussion: """
        Random actions for the first 1000 steps, then one learner round (2 critic steps, 1 actor step) per environment step. HIL-SERL's settings except discount 0.99, initial temperature 1 and target entropy −1, standard SAC's for this task (no demonstrations, a long swing-up).

        With --realtime HZ the pendulum runs as a robot does: it steps at HZ in real time while the learner runs on its own threads (as in `reins train`), so the updates per step are what this machine's learner manages; --min-utd R then holds each new episode until the learner has made R updates per step, as `reins train --min-utd` does.

        The 10 evaluation episodes start from states drawn with seed + 1000003. A good policy scores about −120 from most starts and −220 to −270 from near the bottom, so the mean depends on the draw (seeds 0, 1, 2: −197, −118, −164 here).

        Examples:
          reins bench sac-pendulum --steps 20000 --seed 0 --out runs/pendulum
          reins bench sac-pendulum --steps 10000 --realtime 200 --threads 1 --min-utd 1 --json
        """)

    @Option(help: "Environment steps.") var steps = 20_000
    @Option(help: "Seed for the environment, networks and sampling.") var seed: UInt64 = 0
    @Option(help: "Write DIR/policy.safetensors.") var out: String?
    @Option(help: "Learner threads (see `reins bench learner --help`).") var threads = 2
    @Option(help: "Adam's learning rate for actor, critic and temperature (default 3e-4).") var learningRate: Float?
    @Option(help: "Learner rounds (2 critic steps and 1 actor step each) per environment step; not with --realtime.") var roundsPerStep = 1
    @Option(help: "Random actions for this many first steps; learning starts after as many transitions.") var randomSteps = 1000
    @Option(help: "The temperature's starting value (default 1).") var initialTemperature: Float?
    @Option(help: "Target entropy (default −1; write --target-entropy=-0.5).") var targetEntropy: Float?
    @Option(help: "Step the pendulum at this many Hz of wall clock with the learner on its own threads.") var realtime: Double?
    @Option(name: .customLong("min-utd"), help: "With --realtime: updates per step (counted from when learning starts) the learner must have made before each new episode.")
    var minUpdatesPerStep: Double?
    @Flag(help: "Print one JSON object (progress goes to stderr).") var json = false

    struct Output: Encodable {
        var benchmark = "sac_pendulum"
        var steps: Int
        var seed: UInt64
        var threads: Int
        var realtimeHz: Double?
        var minUtd: Double?
        var updates: Int
        var updatesPerStep: Double
        var seconds: Double
        var waitedSeconds: Double?
        var evaluationReturns: [Double]
        var meanEvaluationReturn: Double
        var policy: String?
        var blasCore = BLAS.coreName
        var blasCoreChosenBy = KernelChoice.source
    }

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be from 1 to 64") }
        guard (1...20).contains(roundsPerStep) else { throw ValidationError("--rounds-per-step must be from 1 to 20") }
        if let realtime {
            guard realtime > 0, realtime <= 10_000 else { throw ValidationError("--realtime must be above 0 and at most 10000 Hz") }
            guard roundsPerStep == 1 else { throw ValidationError("--rounds-per-step is for the stepped run; with --realtime use --min-utd") }
        }
        if let minUpdatesPerStep {
            guard realtime != nil else { throw ValidationError("--min-utd needs --realtime: the stepped run makes --rounds-per-step updates every step") }
            guard minUpdatesPerStep > 0, minUpdatesPerStep <= 100 else { throw ValidationError("--min-utd must be above 0 and at most 100") }
        }
    }

    func run() throws {
        var config = PendulumTraining(steps: steps, seed: seed).config
        if let learningRate { config.learningRate = learningRate }
        if let initialTemperature { config.initialTemperature = initialTemperature }
        if let targetEntropy { config.targetEntropy = targetEntropy }
        let report: (String) -> Void = { line in
            if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
        }
        let policy: Policy
        var output: Output
        if let realtime {
            var training = PacedPendulumTraining(steps: steps, seed: seed, rate: realtime)
            training.config = config
            training.threads = threads
            training.randomSteps = randomSteps
            training.minUpdatesPerStep = minUpdatesPerStep
            let (trained, result) = training.run(progressEvery: 1000) { progress in
                report("step \(progress.step): \(progress.episodes) episodes, last return \(progress.lastReturn.map { String(format: "%.1f", $0) } ?? "-"), "
                    + "\(progress.updates) updates, \(String(format: "%.0f", progress.updatesPerSecond)) updates/s, waited \(String(format: "%.1f", progress.waitedSeconds)) s")
            }
            policy = trained
            output = Output(steps: steps, seed: seed, threads: threads, realtimeHz: realtime, minUtd: minUpdatesPerStep, updates: result.updates,
                            updatesPerStep: Double(result.updates) / Double(steps), seconds: result.seconds, waitedSeconds: result.waitedSeconds,
                            evaluationReturns: result.evaluationReturns, meanEvaluationReturn: result.meanEvaluationReturn)
        } else {
            var training = PendulumTraining(steps: steps, seed: seed)
            training.config = config
            training.threads = threads
            training.roundsPerStep = roundsPerStep
            training.randomSteps = randomSteps
            training.learningStarts = randomSteps
            let (agent, result) = training.run(progressEvery: 1000) { progress in
                report("step \(progress.step): \(progress.episodes) episodes, last return \(progress.lastReturn.map { String(format: "%.1f", $0) } ?? "-"), "
                    + "critic loss \(String(format: "%.3f", progress.criticLoss)), mean Q \(String(format: "%.1f", progress.meanQ)), "
                    + "temperature \(String(format: "%.4f", progress.temperature)), \(String(format: "%.0f", progress.updatesPerSecond)) updates/s")
            }
            policy = Policy(config: config)
            policy.copyParameters(from: agent)
            output = Output(steps: steps, seed: seed, threads: threads, updates: result.updates, updatesPerStep: Double(result.updates) / Double(steps),
                            seconds: result.seconds, evaluationReturns: result.evaluationReturns, meanEvaluationReturn: result.meanEvaluationReturn)
        }
        if let out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let path = (out as NSString).appendingPathComponent("policy.safetensors")
            do {
                try policy.save(to: path, metadata: ["reins.task": "pendulum-v1", "reins.seed": "\(seed)", "reins.steps": "\(steps)"])
            } catch {
                throw CommandError(error.description)
            }
            output.policy = path
        }
        if json {
            JSONLines.print(output)
        } else {
            print("evaluation over \(output.evaluationReturns.count) deterministic episodes: mean return \(String(format: "%.1f", output.meanEvaluationReturn)) "
                + "(\(output.evaluationReturns.map { String(format: "%.0f", $0) }.joined(separator: ", "))); \(output.updates) updates in \(String(format: "%.0f", output.seconds)) s"
                + (output.waitedSeconds.map { String(format: ", %.0f s of it waiting for the learner", $0) } ?? ""))
            if let policyPath = output.policy { print("wrote \(policyPath)") }
        }
    }
}

extension Duration {
    var milliseconds: Double { seconds * 1e3 }
    var microseconds: Double { seconds * 1e6 }
}
