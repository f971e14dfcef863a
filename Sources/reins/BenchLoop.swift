import ArgumentParser
import CAllocationCounter
import Foundation
import Histogram
import ReinsControl
import ReinsCore
import ReinsLearn
import ReinsNN
import ReinsSim
import Synchronization

/// What the benchmarked loop drives.
enum LoopBus: String, ExpressibleByArgument, CaseIterable {
    /// The twin's servos emulated on a pty (real driver, real bytes, MuJoCo physics on another thread).
    case twin
    /// No bus: targets are echoed back as positions, so only the loop itself is timed.
    case loopback
}

enum LoopLoad: String, ExpressibleByArgument, CaseIterable {
    case none, learner
}

/// Where the benchmark's learner load runs: below the actor, as training puts it, or beside it.
enum LearnerScheduling: String, ExpressibleByArgument, CaseIterable {
    case background, normal
}

struct BenchLoop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loop",
        abstract: "The realtime loop's achieved rate and wake-up jitter (p50/p99/max µs), optionally with the learner busy on another thread.",
        discussion: """
        The loop runs at --rate with targets arriving at 10 Hz (interpolated and passed through the safety layer) for --seconds. Jitter is how late each cycle woke after its deadline; a read is one cycle's sync read, request out to every reply in. With --cameras the twin renders its cameras as training has them (64×64, at most 15 fps) and a reader takes a frame from each every 100 ms, as policy steps do, timing how old it is. With --load learner, SAC image updates (batch 256, one BLAS thread per --learner-threads) run flat out meanwhile, below the actor (SCHED_IDLE, as `reins train` runs its learner) or, with --learner-scheduling normal, beside it.

        Example:
          reins bench loop --rate 200 --seconds 60 --cameras --load learner --learner-threads 2 --json
          reins bench loop --rate 500 --seconds 20 --load learner --json
          reins bench loop --rate 1000 --bus loopback
        """)

    @Option(help: "Loop rate in Hz.") var rate = 500.0
    @Option(help: "How long to run.") var seconds = 10.0
    @Option(help: "none, or learner: SAC updates on another thread.") var load: LoopLoad = .none
    @Option(help: "twin (emulated servos on a pty) or loopback (no bus).") var bus: LoopBus = .twin
    @Option(help: "The robot whose twin to drive.") var robot = "so101"
    @Option(help: "Fraction of the twin's replies dropped (0.05 is one in twenty): the loop must fail those cycles, not stall in them.")
    var drop = 0.0
    @Flag(help: "Render the twin's cameras and time how old a frame is when read every 100 ms.") var cameras = false
    @Option(help: "Learner load threads (1 or 2), each taking part of every batch.") var learnerThreads = 1
    @Option(help: "background (the learner below the actor, as training runs it) or normal (beside it, to see what that costs).")
    var learnerScheduling: LearnerScheduling = .background
    @Flag(help: "Do not ask for SCHED_FIFO, to see what it buys.") var normalScheduling = false
    @Flag(help: "Print one JSON object.") var json = false

    struct Output: Encodable {
        var benchmark = "loop"
        var bus: String
        var load: String
        var rateHz: Double
        var achievedHz: Double
        var cycles: Int
        var overruns: Int
        var jitterP50Us: Double
        var jitterP99Us: Double
        var jitterP999Us: Double
        var jitterMaxUs: Double
        var periodUs: Double
        var busErrors: Int
        var failedCycles: Int
        /// A cycle's successful read of the robot, request out to every reply in.
        var readP50Ms: Double
        var readP99Ms: Double
        var readMaxMs: Double
        /// How old a camera frame was when read (with --cameras), and the reads that failed.
        var frameAgeP50Ms: Double?
        var frameAgeP99Ms: Double?
        var frameAgeMaxMs: Double?
        var frameReadFailures: Int?
        /// How the loop ended: "stopped: benchmark over", or the fault that stopped it early.
        var ended: String
        var dropRate: Double
        /// Heap allocations per cycle on the loop's thread after its first second (or half the run), with a reader
        /// polling its status every millisecond; nil where the counter is unavailable (sanitizers).
        var allocationsPerCycle: Double?
        var learnerUpdates: Int
        var learnerThreads: Int
        /// The learner threads' scheduling class as they got it (SCHED_IDLE, nice 19 or normal).
        var learnerScheduling: String?
        /// The learner load's BLAS kernel and who chose it.
        var blasCore = BLAS.coreName
        var blasCoreChosenBy = KernelChoice.source
        var fifoScheduling: Bool
        var memoryLocked: Bool
        var notes: [String]
    }

    func validate() throws {
        guard rate > 0 && rate <= 5000 else { throw ValidationError("--rate must be in (0, 5000] Hz") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard (0..<1).contains(drop) else { throw ValidationError("--drop must be from 0 to below 1") }
        guard drop == 0 || bus == .twin else { throw ValidationError("--drop drops the twin's replies; use it with --bus twin") }
        guard !cameras || bus == .twin else { throw ValidationError("--cameras renders the twin's cameras; use it with --bus twin") }
        guard (1...2).contains(learnerThreads) else { throw ValidationError("--learner-threads must be 1 or 2") }
    }

    func run() throws {
        let target: any Robot
        let kinematics: KinematicsModel
        var session: RobotSession?
        switch bus {
        case .twin:
            let twin = try RobotAddress(robot: robot).open(cameraSize: cameras ? 64 : nil, faults: BusFaults(dropRate: drop))
            (target, kinematics, session) = (twin.robot, twin.kinematics, twin)
        case .loopback:
            let catalog = try RobotCatalog.locate()
            let definition = try catalog.robot(robot)
            target = try LoopbackRobot(definition: definition, calibration: try catalog.calibration(for: definition, instance: "sim"))
            kinematics = try ArmKinematics.model(of: try RobotTwin(robot: definition))
        }
        defer { session?.close() }
        let definition = target.definition

        var configuration = LoopConfiguration(busHz: rate, policyHz: min(10, rate))
        configuration.watchdogTimeout = .seconds(1)
        configuration.torqueOffDelay = .milliseconds(100)
        if normalScheduling { configuration.realtimePriority = 0 }
        if bus == .twin { configuration.tolerateEmulatedBus() }
        let safety = SafetyLayer(limits: SafetyLimits(robot: definition, joints: target.limits), kinematics: kinematics)
        let loop = ControlLoop(robot: target, safety: safety, configuration: configuration) {
            reins_count_allocations_on_this_thread()
        }

        let learner = load == .learner ? LearnerLoad(threads: learnerThreads, background: learnerScheduling == .background) : nil
        learner?.start()
        try loop.start()
        let start = LoopClock.nowNs()
        // Targets at 10 Hz: the home pose with the base swinging ±0.3 rad every 4 s.
        let home = definition.homePoseRad
        // A reader polls the status every millisecond (as the console and the episode runner do);
        // allocations are counted from the end of the first second (or half a shorter run).
        var nextCommandNs = start, warm: (allocations: Int, cycles: Int)?
        var frameAges = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var frameFailures = 0, nextFrameNs = start + 1_000_000_000, frame: [UInt8] = []
        while Double(LoopClock.nowNs() - start) * 1e-9 < seconds {
            let now = LoopClock.nowNs()
            if now >= nextCommandNs {
                var pose = home
                pose[0] += 0.3 * sin(2 * .pi * Double(now - start) * 1e-9 / 4)
                loop.command(pose)
                nextCommandNs += 100_000_000
            }
            if let session, now >= nextFrameNs {
                // The first second is the renderer's warm-up, as an episode's reset is.
                for camera in session.cameras {
                    do {
                        let stamp = try camera.read(into: &frame, maxAge: .seconds(60))
                        let read = FrameStamp.now()
                        _ = frameAges.record(read > stamp.timestampNs ? read - stamp.timestampNs : 0)
                    } catch {
                        frameFailures += 1
                    }
                }
                nextFrameNs += 100_000_000
            }
            let polled = loop.status
            if warm == nil, Double(now - start) * 1e-9 >= min(1, seconds / 2) { warm = (reins_counted_allocations(), polled.cycles) }
            usleep(1000)
        }
        let counted = (allocations: reins_counted_allocations(), cycles: loop.status.cycles)
        let achieved = loop.achievedRate
        loop.stop(reason: "benchmark over")
        loop.wait()
        let updates = learner?.stop() ?? 0
        let status = loop.status
        let histogram = loop.jitterHistogram
        let reads = loop.readHistogram
        func milliseconds(_ histogram: Histogram<UInt64>?, _ percentile: Double) -> Double {
            Double(histogram?.valueAtPercentile(percentile) ?? 0) / 1e6
        }
        let withFrames = cameras && frameAges.totalCount > 0
        var allocationsPerCycle: Double?
        if let warm, counted.allocations >= 0, counted.cycles > warm.cycles {
            allocationsPerCycle = Double(counted.allocations - warm.allocations) / Double(counted.cycles - warm.cycles)
        }
        func microseconds(_ percentile: Double) -> Double { Double(histogram?.valueAtPercentile(percentile) ?? 0) / 1000 }
        let output = Output(bus: bus.rawValue, load: load.rawValue, rateHz: rate, achievedHz: achieved, cycles: status.cycles,
                            overruns: status.overruns, jitterP50Us: microseconds(50), jitterP99Us: microseconds(99),
                            jitterP999Us: microseconds(99.9), jitterMaxUs: Double(histogram?.maxRecorded ?? 0) / 1000,
                            periodUs: 1e6 / rate, busErrors: status.busErrors, failedCycles: status.failedCycles,
                            readP50Ms: milliseconds(reads, 50), readP99Ms: milliseconds(reads, 99), readMaxMs: Double(reads?.maxRecorded ?? 0) / 1e6,
                            frameAgeP50Ms: withFrames ? milliseconds(frameAges, 50) : nil, frameAgeP99Ms: withFrames ? milliseconds(frameAges, 99) : nil,
                            frameAgeMaxMs: withFrames ? Double(frameAges.maxRecorded) / 1e6 : nil, frameReadFailures: cameras ? frameFailures : nil,
                            ended: status.phase.description, dropRate: drop,
                            allocationsPerCycle: allocationsPerCycle, learnerUpdates: updates, learnerThreads: learnerThreads,
                            learnerScheduling: learner?.scheduling.rawValue, fifoScheduling: status.realtime.fifoScheduling,
                            memoryLocked: status.realtime.memoryLocked, notes: status.realtime.notes)
        if json {
            JSONLines.print(output)
        } else {
            print(String(format: "%@ loop at %.0f Hz (%@ load): achieved %.1f Hz, %d cycles, %d overruns", bus.rawValue, rate, load.rawValue,
                         output.achievedHz, output.cycles, output.overruns))
            print(String(format: "jitter: p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs, max %.1f µs", output.jitterP50Us, output.jitterP99Us,
                         output.jitterP999Us, output.jitterMaxUs))
            print(String(format: "bus: %d failed cycles of %d (%.0f %% of replies dropped), %d errors", output.failedCycles, output.cycles,
                         drop * 100, output.busErrors))
            print(String(format: "read: p50 %.2f ms, p99 %.2f ms, max %.2f ms", output.readP50Ms, output.readP99Ms, output.readMaxMs))
            if let p50 = output.frameAgeP50Ms, let p99 = output.frameAgeP99Ms, let maximum = output.frameAgeMaxMs {
                print(String(format: "frame age: p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d failed reads", p50, p99, maximum, frameFailures))
            } else if cameras {
                print("frame age: no frame read (\(frameFailures) failed reads)")
            }
            print("allocations per cycle on the loop's thread: " + (allocationsPerCycle.map { String(format: "%.3f", $0) } ?? "not counted (sanitizer build)"))
            if let learner { print("learner: \(updates) updates meanwhile on \(learnerThreads) thread\(learnerThreads == 1 ? "" : "s") at \(learner.scheduling.rawValue)") }
            print("SCHED_FIFO \(output.fifoScheduling ? "on" : "off"), memory \(output.memoryLocked ? "locked" : "not locked")")
            for note in output.notes { print("note: \(note)") }
        }
    }
}

/// A robot with no bus: what is written is what is read back. Only for timing the loop itself.
final class LoopbackRobot: Robot {
    let definition: RobotDefinition
    let limits: [ClosedRange<Double>]
    let location = "loopback"
    private var positions: [Double]

    init(definition: RobotDefinition, calibration: Calibration) throws {
        self.definition = definition
        limits = try zip(definition.motors, calibration.motors).map { spec, motor in
            try JointMapping(spec: spec, calibration: motor, file: calibration.file.path).limitsRad
        }
        positions = definition.homePoseRad
    }

    func read(into state: inout RobotState) throws(MotorBusError) {
        for index in positions.indices { state.positions[index] = positions[index] }
        state.timestampNs = LoopClock.nowNs()
    }

    func write(targets: [Double]) throws(MotorBusError) {
        for index in positions.indices { positions[index] = targets[index] }
    }

    func setTorque(_ enabled: Bool) throws(MotorBusError) {}

    func limitTransactions(margin: Duration?) {}

    func diagnostics() throws(MotorBusError) -> (temperatures: [Double], efforts: [Double], effortUnit: String) {
        (positions.map { _ in .nan }, positions.map { _ in 0 }, "")
    }
}

/// SAC image-config updates flat out on `threads` threads of their own with one BLAS thread each:
/// the learner's load, below the actor (`background`) as training runs it, or beside it.
final class LearnerLoad: @unchecked Sendable {
    let threads: Int
    let background: Bool
    private let running = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let updates = Atomic<Int>(0)
    private let gotScheduling = Lock(BackgroundScheduling.normal)

    init(threads: Int = 1, background: Bool = true) {
        self.threads = threads
        self.background = background
    }

    /// The class the load's own thread got (its shard workers ask for the same).
    var scheduling: BackgroundScheduling { gotScheduling.withLock { $0 } }

    func start() {
        running.store(true, ordering: .releasing)
        let background = background
        let thread = Thread { [self] in
            defer { finished.store(true, ordering: .releasing) }
            if background { gotScheduling.withLock { $0 = BackgroundScheduling.lowerCallingThread() } }
            BLAS.setThreadCount(1)
            let settings = SACConfig.standardImage
            let agent = SACAgent(config: settings, seed: 1, threads: threads) {
                if background { _ = BackgroundScheduling.lowerCallingThread() }
            }
            let (demos, online) = prefilledBuffers(settings, online: 2_000, demos: 500, seed: 2)
            let batch = TransitionBatch(spec: settings.observation, actionWidth: settings.actionWidth, capacity: settings.batchSize)
            var generator = SplitMix64(seed: 3)
            while running.load(ordering: .acquiring) {
                sampleMixed(demos: demos, online: online, demoFraction: settings.demoFraction, into: batch,
                            shift: settings.augmentationShift, using: &generator)
                _ = agent.update(batch)
                updates.add(1, ordering: .relaxed)
            }
        }
        thread.name = "reins learner load"
        thread.start()
    }

    /// Stops after the update in progress; returns the updates done.
    func stop() -> Int {
        running.store(false, ordering: .releasing)
        while !finished.load(ordering: .acquiring) { usleep(1000) }
        return updates.load(ordering: .relaxed)
    }
}
