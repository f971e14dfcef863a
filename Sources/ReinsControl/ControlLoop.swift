import Foundation
import Histogram
import ReinsCore
import Synchronization

/// Rates and timeouts of the control loop.
public struct LoopConfiguration: Sendable, Equatable {
    /// The inner rate: one bus read and one write per cycle.
    public var busHz: Double
    /// The outer rate: how often targets arrive; the loop interpolates between them.
    public var policyHz: Double
    /// With no new command for this long, the arm holds where it was last sent.
    public var watchdogTimeout: Duration = .milliseconds(500)
    /// How long a stop holds position before it switches the torque off.
    public var torqueOffDelay: Duration = .seconds(1)
    /// Bus cycles in a row that may fail before the loop stops as faulted; in between, the last
    /// reading and command stand. A transaction is tried once per cycle, so this is the retry
    /// count too: by default the cycles in 100 ms (20 at 200 Hz), at least 3. A loaded machine
    /// can hold a serial line's bytes in the kernel for tens of milliseconds (the tty layer
    /// delivers them from a normal-priority worker), so fewer would fault a healthy bus.
    public var toleratedBusFailures: Int
    /// How long a cycle's read may wait for replies beyond their wire time: by default 40 % of the
    /// period, so the write fits after it.
    public var replyMargin: Duration
    /// SCHED_FIFO priority asked for (1…99); 0 runs with normal scheduling (for comparisons).
    public var realtimePriority: Int32 = 80

    public init(busHz: Double, policyHz: Double) {
        self.busHz = busHz
        self.policyHz = policyHz
        toleratedBusFailures = max(3, Int((busHz * 0.1).rounded()))
        replyMargin = .nanoseconds(Int64(4e8 / busHz))
    }

    /// The robot file's rates, with its timeouts where it gives them.
    public init(rates: ControlRates, timeouts: ActorTimeouts = ActorTimeouts()) {
        self.init(busHz: rates.busHz, policyHz: rates.policyHz)
        if let cycles = timeouts.failedCycles { toleratedBusFailures = cycles }
        if let reply = timeouts.replyMs { replyMargin = .nanoseconds(Int64(reply * 1e6)) }
    }
}

/// Where the loop is in its life.
public enum LoopPhase: Sendable, Equatable, CustomStringConvertible {
    case idle
    case running
    /// The watchdog fired: no command arrived in time, so the arm holds until one does.
    case holding
    /// A stop was asked for (operator, signal or fault): holding, torque off after the delay.
    case stopping(reason: String)
    case stopped(reason: String)
    /// The bus failed; the message says what happened and what to check.
    case faulted(String)

    public var description: String {
        switch self {
        case .idle: "idle"
        case .running: "running"
        case .holding: "holding (no command within the watchdog timeout)"
        case .stopping(let reason): "stopping: \(reason)"
        case .stopped(let reason): "stopped: \(reason)"
        case .faulted(let message): "faulted: \(message)"
        }
    }

    public var isFinished: Bool {
        switch self {
        case .stopped, .faulted: true
        default: false
        }
    }
}

/// What the realtime setup got, so a user knows how much to trust the timing.
public struct RealtimeSetup: Sendable, Equatable, Codable {
    public var fifoScheduling = false
    public var memoryLocked = false
    /// What was not granted and how to grant it.
    public var notes: [String] = []

    public init() {}
}

/// A snapshot of the loop for status displays and benchmarks.
public struct LoopStatus: Sendable {
    public var phase = LoopPhase.idle
    public var state: RobotState
    /// The last command sent, after safety.
    public var sent: [Double]
    public var safety = SafetyCounters()
    public var cycles = 0
    /// CLOCK_MONOTONIC nanoseconds when the loop's schedule started, and of this snapshot.
    public var startedNs: Int64 = 0
    public var publishedNs: Int64 = 0
    public var overruns = 0
    public var watchdogTrips = 0
    public var busErrors = 0
    /// Cycles whose read or write failed (the loop held the last reading and command through them).
    public var failedCycles = 0
    public var jitterP50Us = 0.0
    public var jitterP99Us = 0.0
    public var jitterMaxUs = 0.0
    /// A cycle's read of the robot (request out, every reply in) that succeeded: its 99th percentile
    /// so far, in milliseconds, updated every 20 ms.
    public var readP99Ms = 0.0
    public var realtime = RealtimeSetup()

    init(motors: Int) {
        state = RobotState(motors: motors)
        sent = [Double](repeating: 0, count: motors)
    }

    /// Copies `other` in value by value, so this status's arrays keep their own storage: the
    /// loop's board is never shared with a reader, and the loop's next write copies nothing.
    mutating func copyValues(from other: LoopStatus) {
        phase = other.phase
        for index in state.positions.indices {
            state.positions[index] = other.state.positions[index]
            state.velocities[index] = other.state.velocities[index]
            sent[index] = other.sent[index]
        }
        state.timestampNs = other.state.timestampNs
        safety = other.safety
        cycles = other.cycles
        startedNs = other.startedNs
        publishedNs = other.publishedNs
        overruns = other.overruns
        watchdogTrips = other.watchdogTrips
        busErrors = other.busErrors
        failedCycles = other.failedCycles
        jitterP50Us = other.jitterP50Us
        jitterP99Us = other.jitterP99Us
        jitterMaxUs = other.jitterMaxUs
        readP99Ms = other.readP99Ms
        realtime = other.realtime
    }
}

/// The realtime control loop: its own thread reads the robot, interpolates toward the latest
/// target, filters through the safety layer and writes, every bus cycle, sleeping to absolute
/// deadlines. It tries SCHED_FIFO and mlockall and says in `status.realtime` when it runs without
/// them. Wake-up lateness (jitter) goes into an HDR histogram.
///
/// Targets come from other threads through `command(_:)`; a stop (operator, SIGINT/SIGTERM, bus
/// fault) holds position and then switches the torque off.
///
/// Realtime: the loop body allocates nothing (`reins bench loop` counts it) and never waits for
/// another thread. It exchanges data with them through two boards of fixed storage that others
/// copy into or out of under a lock; the loop only try-locks them (as ros2's `RealtimeBuffer`
/// and `RealtimePublisher` do): when a reader holds the status board the loop skips that cycle's
/// publish, and when a writer holds the inbox it keeps the last target for a cycle. So no
/// normal-priority thread holds anything the loop waits on, and there is no priority inversion.
/// Bus transactions are narrowed to fit the cycle while it runs (`Robot.limitTransactions`).
///
public final class ControlLoop: @unchecked Sendable {
    public let robot: any Robot
    public let safety: SafetyLayer
    public let configuration: LoopConfiguration
    /// What the loop's thread shares with its owner. The thread holds this, never the loop, so
    /// the loop's `deinit` runs when its last user lets go, and stops the thread.
    private let channels: Channels
    private let motorCount: Int
    /// Run once on the loop's thread before its first cycle (benchmarks count its allocations).
    private let onLoopThread: (@Sendable () -> Void)?
    private var thread: Thread?

    private final class Channels: @unchecked Sendable {
        let inbox: Lock<Inbox>
        let published: Lock<LoopStatus>
        /// Cycles finished, for `wait(untilCycle:)` without touching a lock the loop uses.
        let cyclesDone = Atomic<Int>(0)
        let finalHistograms = Lock<(jitter: Histogram<UInt64>, read: Histogram<UInt64>)?>(nil)
        let finished = Atomic<Bool>(false)

        init(motors: Int) {
            inbox = Lock(Inbox(target: [Double](repeating: 0, count: motors)))
            published = Lock(LoopStatus(motors: motors))
        }
    }

    private struct Handover: @unchecked Sendable {
        let robot: any Robot
        let safety: SafetyLayer
    }

    fileprivate struct Inbox {
        var target: [Double]
        var sequence = 0
        var receivedNs: Int64 = 0
        var stopReason: String?
        var keepTorque = false
    }

    public init(robot: any Robot, safety: SafetyLayer, configuration: LoopConfiguration, onLoopThread: (@Sendable () -> Void)? = nil) {
        precondition(configuration.policyHz <= configuration.busHz, "the policy cannot act faster than the bus")
        self.robot = robot
        self.safety = safety
        self.configuration = configuration
        self.onLoopThread = onLoopThread
        let motors = robot.definition.motors.count
        motorCount = motors
        channels = Channels(motors: motors)
    }

    deinit {
        stop(reason: "the loop was released")
        wait()
    }

    /// Reads the arm once, holds it where it is (torque on), and starts the loop thread.
    public func start() throws(MotorBusError) {
        var state = RobotState(motors: robot.definition.motors.count)
        try robot.read(into: &state)
        try robot.write(targets: state.positions)
        try robot.setTorque(true)
        let now = LoopClock.nowNs()
        channels.inbox.withLock { inbox in
            inbox.target = state.positions
            inbox.receivedNs = now
            inbox.sequence += 1
        }
        channels.published.withLock { status in
            status.state = state
            status.sent = state.positions
            status.phase = .running
        }
        let initial = state
        // A read waits at most its wire time plus 40 % of a cycle, once: a missed reply fails
        // this cycle, and the next cycle is the retry (the loop holds through a few).
        robot.limitTransactions(margin: configuration.replyMargin)
        // The robot and the safety layer belong to the loop's thread while it runs.
        let parts = Handover(robot: robot, safety: safety)
        let (configuration, channels, onLoopThread) = (configuration, channels, onLoopThread)
        let thread = Thread {
            Self.run(initial: initial, robot: parts.robot, safety: parts.safety, configuration: configuration, channels: channels,
                     onLoopThread: onLoopThread)
        }
        thread.name = "reins control loop"
        thread.start()
        self.thread = thread
    }

    /// A new target (radians, motor order), reached by interpolation over one policy period.
    public func command(_ targets: [Double]) {
        let now = LoopClock.nowNs()
        channels.inbox.withLock { inbox in
            for index in inbox.target.indices { inbox.target[index] = targets[index] }
            inbox.receivedNs = now
            inbox.sequence += 1
        }
    }

    /// Asks the loop to stop: it holds, then switches the torque off after the configured delay.
    /// With `keepTorque` the motors keep holding the last command after the loop ends (as after
    /// `reins robot home`, so the arm stays where it was put).
    public func stop(reason: String, keepTorque: Bool = false) {
        channels.inbox.withLock { inbox in
            guard inbox.stopReason == nil else { return }
            inbox.stopReason = reason
            inbox.keepTorque = keepTorque
        }
    }

    /// Waits for the loop thread to end (after a stop or a fault).
    public func wait() {
        guard thread != nil else { return }
        while !channels.finished.load(ordering: .acquiring) { usleep(1000) }
    }

    /// A copy of the loop's latest status (allocated here, on the reader's side).
    public var status: LoopStatus {
        var copy = LoopStatus(motors: motorCount)
        channels.published.withLock { copy.copyValues(from: $0) }
        return copy
    }

    /// Cycles finished so far, read without any lock the loop takes.
    public var cyclesCompleted: Int { channels.cyclesDone.load(ordering: .acquiring) }

    /// Runs `body` holding the status board's lock, as a slow reader would (tests).
    func holdingStatusBoard(_ body: () -> Void) { channels.published.withLock { _ in body() } }

    /// Runs `body` holding the inbox's lock, as a slow writer would (tests).
    func holdingInbox(_ body: () -> Void) { channels.inbox.withLock { _ in body() } }

    /// Loop cycles in one policy step.
    public var cyclesPerPolicyStep: Int { max(1, Int((configuration.busHz / configuration.policyHz).rounded())) }

    /// Blocks the caller until the loop has finished cycle `cycle` (or has ended): policy steps
    /// counted in loop cycles see the arm at the same phase of the loop every time.
    public func wait(untilCycle cycle: Int) {
        while cyclesCompleted < cycle && !channels.finished.load(ordering: .acquiring) {
            usleep(200)
        }
    }

    /// Cycles per second since the loop started, as of the latest snapshot.
    public var achievedRate: Double {
        let status = self.status
        return status.publishedNs > status.startedNs ? Double(status.cycles) / (Double(status.publishedNs - status.startedNs) * 1e-9) : 0
    }

    /// The whole jitter histogram (wake-up lateness in nanoseconds), once the loop has ended.
    public var jitterHistogram: Histogram<UInt64>? { channels.finalHistograms.withLock { $0?.jitter } }

    /// How long each successful read of the robot took (nanoseconds), once the loop has ended.
    public var readHistogram: Histogram<UInt64>? { channels.finalHistograms.withLock { $0?.read } }

    private static func run(initial: RobotState, robot: any Robot, safety: SafetyLayer, configuration: LoopConfiguration,
                            channels: Channels, onLoopThread: (@Sendable () -> Void)?) {
        defer {
            robot.limitTransactions(margin: nil)
            channels.finished.store(true, ordering: .releasing)
        }
        let realtime = Self.enterRealtime(priority: configuration.realtimePriority)
        channels.published.withLock { $0.realtime = realtime }
        // The loop's own copy of its status, published by value: its arrays are never shared.
        var board = channels.published.withLock { status in
            var board = LoopStatus(motors: status.sent.count)
            board.copyValues(from: status)
            return board
        }

        // Each array gets storage of its own now, so no write in the loop copies a shared one.
        let motors = initial.positions.count
        var state = RobotState(motors: motors)
        for index in 0..<motors { state.positions[index] = initial.positions[index] }
        state.timestampNs = initial.timestampNs
        var command = initial.positions.map { $0 }
        var sent = initial.positions.map { $0 }
        var from = initial.positions.map { $0 }
        var to = initial.positions.map { $0 }
        var pending = initial.positions.map { $0 }
        var histogram = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
        var readHistogram = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
        var clock = LoopClock(rateHz: configuration.busHz)
        let period = 1 / configuration.busHz
        let policyPeriodNs = 1e9 / configuration.policyHz
        let watchdogNs = Int64(configuration.watchdogTimeout.seconds * 1e9)
        let torqueOffNs = Int64(configuration.torqueOffDelay.seconds * 1e9)
        let percentilesEvery = max(1, Int(configuration.busHz / 50))
        var seenSequence = -1
        var interpolationStartNs: Int64 = 0
        var lastCommandNs = LoopClock.nowNs()
        var holding = false, watchdogTrips = 0, busErrors = 0, failuresInARow = 0, failedCycles = 0
        var stopStartedNs: Int64 = 0, stopReason = "", fault: String?, keepTorque = false
        var phase = LoopPhase.running

        var sequence = 0, receivedNs: Int64 = 0, requestedStop: String?
        onLoopThread?()
        clock.start()
        let startedNs = LoopClock.nowNs()
        while true {
            clock.waitForNextTick()
            // Overruns count too: their lateness is the tail a user needs to see.
            _ = histogram.record(UInt64(max(0, clock.lastLatenessNs)))
            let now = LoopClock.nowNs()

            var readFailed = false, cycleFailure: MotorBusError?
            do {
                try robot.read(into: &state)
                _ = readHistogram.record(UInt64(max(0, LoopClock.nowNs() - now)))
            } catch {
                busErrors += 1
                readFailed = true
                cycleFailure = error
            }

            // A writer holding the inbox costs this cycle its news, never a wait.
            _ = channels.inbox.withLockIfAvailable { inbox in
                sequence = inbox.sequence
                receivedNs = inbox.receivedNs
                if inbox.stopReason != nil && requestedStop == nil { requestedStop = inbox.stopReason }
                keepTorque = inbox.keepTorque
                if sequence != seenSequence { for index in 0..<motors { pending[index] = inbox.target[index] } }
            }

            if stopStartedNs == 0, let reason = fault ?? requestedStop {
                stopStartedNs = now
                stopReason = reason
                phase = .stopping(reason: reason)
            }
            if stopStartedNs != 0 {
                // Hold the last command sent.
                for index in 0..<motors { command[index] = sent[index] }
            } else {
                if sequence != seenSequence {
                    seenSequence = sequence
                    lastCommandNs = receivedNs
                    for index in 0..<motors {
                        from[index] = sent[index]
                        to[index] = pending[index]
                    }
                    interpolationStartNs = now
                    if holding { holding = false; phase = .running }
                }
                if now - lastCommandNs > watchdogNs {
                    if !holding {
                        holding = true
                        watchdogTrips += 1
                        phase = .holding
                        for index in 0..<motors { from[index] = sent[index]; to[index] = sent[index] }
                    }
                    for index in 0..<motors { command[index] = sent[index] }
                } else {
                    let fraction = min(1, Double(now - interpolationStartNs) / policyPeriodNs)
                    for index in 0..<motors { command[index] = from[index] + fraction * (to[index] - from[index]) }
                }
            }

            safety.filter(&command, previous: sent, measured: readFailed ? sent : state.positions, dt: period)
            do {
                try robot.write(targets: command)
                for index in 0..<motors { sent[index] = command[index] }
            } catch {
                busErrors += 1
                cycleFailure = error
            }
            if let cycleFailure {
                failedCycles += 1
                failuresInARow += 1
                if failuresInARow > configuration.toleratedBusFailures, fault == nil {
                    fault = "bus fault on \(robot.location): \(cycleFailure) (\(failuresInARow) cycles in a row)"
                }
            } else {
                failuresInARow = 0
            }

            var done = false
            if stopStartedNs != 0 && (now - stopStartedNs >= torqueOffNs || (keepTorque && fault == nil)) {
                if !keepTorque || fault != nil { try? robot.setTorque(false) }
                phase = fault.map { .faulted("\($0); the loop held the last command for \(configuration.torqueOffDelay.seconds) s and then asked for torque off. Check the cable, the adapter and the servos' power, then start again") }
                    ?? .stopped(reason: stopReason)
                done = true
            }
            // State every cycle (readers act on it); jitter percentiles, which walk the
            // histogram, every 20 ms.
            let percentiles = done || clock.ticks % percentilesEvery == 0
            let p50 = percentiles ? Double(histogram.valueAtPercentile(50)) / 1000 : 0
            let p99 = percentiles ? Double(histogram.valueAtPercentile(99)) / 1000 : 0
            let maximum = Double(histogram.maxRecorded) / 1000
            let overruns = clock.overruns, cycles = clock.ticks, counters = safety.counters
            let currentPhase = phase
            board.phase = currentPhase
            for index in 0..<motors {
                board.state.positions[index] = state.positions[index]
                board.state.velocities[index] = state.velocities[index]
                board.sent[index] = sent[index]
            }
            board.state.timestampNs = state.timestampNs
            board.safety = counters
            board.cycles = cycles
            board.startedNs = startedNs
            board.publishedNs = now
            board.overruns = overruns
            board.watchdogTrips = watchdogTrips
            board.busErrors = busErrors
            board.failedCycles = failedCycles
            if percentiles {
                board.jitterP50Us = p50
                board.jitterP99Us = p99
                board.readP99Ms = Double(readHistogram.valueAtPercentile(99)) / 1e6
            }
            board.jitterMaxUs = maximum
            // A reader copying the status costs this cycle's publish, never a wait; the last
            // cycle's publish (the final phase) waits, as the loop is ending.
            if done {
                channels.published.withLock { $0.copyValues(from: board) }
            } else {
                _ = channels.published.withLockIfAvailable { $0.copyValues(from: board) }
            }
            channels.cyclesDone.store(cycles, ordering: .releasing)
            if done { break }
        }
        channels.finalHistograms.withLock { $0 = (histogram, readHistogram) }
    }

    /// Asks for SCHED_FIFO on this thread and locks the process's memory (pages locked as they are
    /// touched, so large learner buffers are not faulted in all at once).
    public static func enterRealtime(priority: Int32) -> RealtimeSetup {
        var setup = RealtimeSetup()
        var parameters = sched_param()
        parameters.sched_priority = priority
        let scheduling = priority > 0 ? pthread_setschedparam(pthread_self(), Int32(SCHED_FIFO), &parameters) : 0
        if priority == 0 {
            setup.notes.append("SCHED_FIFO not requested: running with normal scheduling")
        } else if scheduling == 0 {
            setup.fifoScheduling = true
        } else {
            setup.notes.append("SCHED_FIFO refused (\(String(cString: strerror(scheduling)))): running with normal scheduling, so expect more jitter under load; allow it with `ulimit -r 99` or `setcap cap_sys_nice+ep $(which reins)`")
        }
        let onFault: Int32 = 4  // MCL_ONFAULT (Linux 4.4)
        if mlockall(Int32(MCL_CURRENT) | Int32(MCL_FUTURE) | onFault) == 0 {
            setup.memoryLocked = true
        } else {
            setup.notes.append("mlockall refused (\(String(cString: strerror(errno)))): memory may be paged out; raise `ulimit -l` or run with CAP_IPC_LOCK")
        }
        return setup
    }
}
