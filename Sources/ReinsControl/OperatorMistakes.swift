import ReinsCore

/// The mistakes a person makes that the twin's stand-in operator copies (all off by default:
/// the stand-in then never misses). Seeded, so a run with mistakes repeats.
public struct OperatorMistakes: Sendable, Equatable {
    /// The share of the y and n presses, and of the supervisor's takeovers, that the stand-in
    /// would make and misses: it looked away, and does not come back to it in that episode.
    public var missRate: Double
    /// The share of episodes in which the stand-in presses y once on a frame where the task is
    /// not done (at a step drawn from the episode's length).
    public var falseSuccessRate: Double

    public init(missRate: Double = 0, falseSuccessRate: Double = 0) {
        self.missRate = missRate
        self.falseSuccessRate = falseSuccessRate
    }

    public static let none = OperatorMistakes()

    public var isNone: Bool { missRate == 0 && falseSuccessRate == 0 }
}

/// What the stand-in did in an episode (or a run, summed): the presses it made, missed, and made
/// wrongly, and the supervisor's takeovers.
public struct StandInCounts: Codable, Sendable, Equatable {
    /// y pressed on a frame where the task was done.
    public var successPresses = 0
    /// y it would have pressed and missed.
    public var missedSuccesses = 0
    /// y pressed where the task was not done.
    public var falseSuccesses = 0
    /// n pressed over a false success the classifier called.
    public var failurePresses = 0
    /// n it would have pressed and missed.
    public var missedFailures = 0
    /// Takeovers the supervisor made, and those it would have made and missed.
    public var takeovers = 0
    public var missedTakeovers = 0

    public init() {}

    public static func + (a: Self, b: Self) -> Self {
        var sum = a
        sum.successPresses += b.successPresses
        sum.missedSuccesses += b.missedSuccesses
        sum.falseSuccesses += b.falseSuccesses
        sum.failurePresses += b.failurePresses
        sum.missedFailures += b.missedFailures
        sum.takeovers += b.takeovers
        sum.missedTakeovers += b.missedTakeovers
        return sum
    }

    /// "y 12 (3 missed, 1 false), n 4 (1 missed), takeovers 20 (5 missed)".
    public var summary: String {
        "y \(successPresses + falseSuccesses) (\(missedSuccesses) missed, \(falseSuccesses) false), n \(failurePresses) (\(missedFailures) missed), "
            + "takeovers \(takeovers) (\(missedTakeovers) missed)"
    }
}

/// A person's reaction time in policy steps: at least one, so a reaction never lands on the
/// step that prompted it.
public func reactionSteps(seconds: Double, policyHz: Double) -> Int {
    max(1, Int((seconds * policyHz).rounded()))
}

/// A person's slips, drawn from a generator of their own so that a stand-in without mistakes
/// draws its reaction times exactly as before.
public struct PersonSlips: Sendable {
    public let mistakes: OperatorMistakes
    private var generator: SplitMix64

    public init(_ mistakes: OperatorMistakes, seed: UInt64) {
        self.mistakes = mistakes
        generator = SplitMix64(seed: seed)
    }

    /// Whether a press or takeover is missed (never draws with a miss rate of 0).
    public mutating func misses() -> Bool {
        mistakes.missRate > 0 && Double.random(in: 0..<1, using: &generator) < mistakes.missRate
    }

    /// The step of this episode's false y, if it has one.
    public mutating func falseSuccessStep(maxSteps: Int) -> Int? {
        guard mistakes.falseSuccessRate > 0, Double.random(in: 0..<1, using: &generator) < mistakes.falseSuccessRate else { return nil }
        return Int.random(in: 1...max(1, maxSteps), using: &generator)
    }
}
