import ReinsControl
import ReinsCore

/// A person watching for the task to be done, for training on the twin as a real arm trains:
/// the twin's check stands in for the person's eyes, and once it first passes the y key goes down
/// after a reaction time drawn (seeded) from `reactionSeconds`, whatever the arm does meanwhile
/// (with `pressOnlyWhileDone`, only if the task is still done then; else they wait for it again).
/// With `mistakes` they miss some presses and press y on some frames where nothing is done.
/// Nothing else of the twin reaches the episode: the learner sees only the key.
public struct ScriptedLabeller: Sendable {
    public let reactionSeconds: ClosedRange<Double>
    public let policyHz: Double
    public let pressOnlyWhileDone: Bool
    public let maxSteps: Int
    private var generator: SplitMix64
    private var slips: PersonSlips
    /// Steps left until the key goes down, once the task was seen done.
    private var stepsToPress: Int?
    /// No more y this episode: pressed, or missed.
    private var finished = false
    private var step = 0
    private var falseSuccessStep: Int?
    /// This episode's presses so far.
    public private(set) var counts = StandInCounts()

    public init(reactionSeconds: ClosedRange<Double> = 0.3...1.0, policyHz: Double, seed: UInt64, mistakes: OperatorMistakes = .none,
                maxSteps: Int = 100, pressOnlyWhileDone: Bool = false) {
        self.reactionSeconds = reactionSeconds
        self.policyHz = policyHz
        self.maxSteps = maxSteps
        self.pressOnlyWhileDone = pressOnlyWhileDone
        generator = SplitMix64(seed: seed)
        slips = PersonSlips(mistakes, seed: seed &+ 0x5EED)
    }

    public mutating func episodeStarted() {
        stepsToPress = nil
        finished = false
        step = 0
        counts = StandInCounts()
        falseSuccessStep = slips.falseSuccessStep(maxSteps: maxSteps)
    }

    /// A reaction time from `range`, drawn from the same seeded sequence (for keys other than y).
    private mutating func drawReactionSeconds(in range: ClosedRange<Double>) -> Double {
        Double.random(in: range, using: &generator)
    }

    /// Looks at the scene after a step; true when y goes down now (a reaction time after the
    /// first step the task was seen done, counted in policy steps, or a false y).
    public mutating func pressesSuccess(taskDone: Bool) -> Bool {
        step += 1
        guard !finished else { return false }
        if let left = stepsToPress {
            guard left <= 1 else {
                stepsToPress = left - 1
                return false
            }
            stepsToPress = nil
            if pressOnlyWhileDone && !taskDone { return false }
            finished = true
            if slips.misses() {
                counts.missedSuccesses += 1
                return false
            }
            counts.successPresses += 1
            return true
        }
        if let at = falseSuccessStep, step >= at {
            falseSuccessStep = nil
            if !taskDone {
                finished = true
                counts.falseSuccesses += 1
                return true
            }
        }
        if taskDone {
            let seconds = Double.random(in: reactionSeconds, using: &generator)
            stepsToPress = reactionSteps(seconds: seconds, policyHz: policyHz)
        }
        return false
    }

    /// The classifier just called a success the twin does not see: the seconds until the
    /// stand-in presses n (a reaction time), or nil when they miss it.
    public mutating func overrulesFalseSuccess() -> Double? {
        let seconds = drawReactionSeconds(in: 0.3...1.0)
        if slips.misses() {
            counts.missedFailures += 1
            return nil
        }
        counts.failurePresses += 1
        return seconds
    }
}

/// A person labelling frames for the reward classifier, on the twin: the twin's check stands in
/// for their eyes, and their label follows what it shows a reaction time late (drawn, seeded, per
/// episode from `reactionSeconds`), both when the task comes done and when it stops being done,
/// as a key held down would.
public struct ScriptedFrameLabeller: Sendable {
    public let reactionSeconds: ClosedRange<Double>
    public let policyHz: Double
    private var generator: SplitMix64
    private var delaySteps = 1
    /// What the check said on this episode's frames so far, oldest first.
    private var seen: [Bool] = []

    public init(reactionSeconds: ClosedRange<Double> = 0.2...0.5, policyHz: Double, seed: UInt64) {
        self.reactionSeconds = reactionSeconds
        self.policyHz = policyHz
        generator = SplitMix64(seed: seed)
    }

    public mutating func episodeStarted() {
        seen.removeAll(keepingCapacity: true)
        delaySteps = reactionSteps(seconds: Double.random(in: reactionSeconds, using: &generator), policyHz: policyHz)
    }

    /// The label for the frame in hand, given whether the task is done on it: what the check said
    /// `delaySteps` frames ago (failure before that).
    public mutating func label(taskDone: Bool) -> Bool {
        seen.append(taskDone)
        let index = seen.count - 1 - delaySteps
        return index >= 0 && seen[index]
    }
}
