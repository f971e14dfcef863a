import Glibc

/// A fixed-rate clock for the control loop.
///
/// It sleeps to absolute deadlines on CLOCK_MONOTONIC, so a late wake-up does not push every later
/// tick back; when a whole period is missed it counts an overrun and restarts the schedule from
/// now instead of firing the missed ticks in a burst (a burst would send the servos stale goals).
///
/// Realtime: `waitForNextTick()` allocates nothing and takes no lock.
public struct LoopClock: Sendable {
    public let periodNs: Int64
    private var deadlineNs: Int64 = 0
    /// Ticks waited for since `start()`.
    public private(set) var ticks = 0
    /// Deadlines that had already passed when the loop asked for them.
    public private(set) var overruns = 0
    /// How long after its deadline the latest tick woke, in nanoseconds; after an overrun, how late
    /// the missed deadline was by the time the loop asked for it.
    public private(set) var lastLatenessNs: Int64 = 0

    public init(rateHz: Double) {
        precondition(rateHz > 0 && rateHz <= 100_000, "a loop rate must be in (0, 100 kHz], got \(rateHz)")
        periodNs = Int64((1e9 / rateHz).rounded())
    }

    /// Sleeps for `duration`, resuming after signals; for set-up paces and emulated delays, not
    /// the loop's own ticks (those sleep to absolute deadlines).
    public static func sleep(for duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    /// The monotonic clock in nanoseconds.
    public static func nowNs() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// Starts the schedule: the first tick is one period from now.
    public mutating func start() {
        deadlineNs = Self.nowNs() + periodNs
        ticks = 0
        overruns = 0
        lastLatenessNs = 0
    }

    /// Sleeps until the next deadline. Returns false on an overrun: the deadline had passed by more
    /// than a period, and the schedule restarts one period from now.
    @discardableResult
    public mutating func waitForNextTick() -> Bool {
        ticks += 1
        let now = Self.nowNs()
        if now - deadlineNs > periodNs {
            overruns += 1
            lastLatenessNs = now - deadlineNs
            deadlineNs = now + periodNs
            return false
        }
        var deadline = timespec(tv_sec: Int(deadlineNs / 1_000_000_000), tv_nsec: Int(deadlineNs % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
        lastLatenessNs = Self.nowNs() - deadlineNs
        deadlineNs += periodNs
        return true
    }
}
