/// Keeps a twin's simulated time with the wall clock for the thread that steps it: how many
/// steps are due now, at most 25 at a time, so a thread that fell behind catches up without a
/// burst that holds up the servos' or drives' replies.
struct WallClockPacer {
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private let timestep: Double
    private var simulated = 0.0

    init(timestep: Double) {
        start = clock.now
        self.timestep = timestep
    }

    /// Wall-clock seconds since the pacer was made.
    var elapsedSeconds: Double { (clock.now - start).seconds }

    /// The steps due now, counted as taken.
    mutating func stepsDue() -> Int {
        let steps = max(0, min(25, Int((elapsedSeconds - simulated) / timestep)))
        simulated += Double(steps) * timestep
        return steps
    }
}
