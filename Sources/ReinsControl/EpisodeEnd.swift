import ReinsCore

/// How an episode ended.
public enum EpisodeEnd: Equatable, Sendable, CustomStringConvertible {
    /// The task check passed (twin, `--reward task`) or the operator pressed y.
    case success
    /// The step limit, the operator's n, or a loop that stopped mid-step.
    case failure(String)
    /// Backspace: the episode is thrown away; none of its steps reach a buffer or a file.
    case discarded
    /// The operator quit during the episode; it is not kept.
    case quit
    /// The operator's stop key or a fault: the steps so far are real experience, cut short.
    case stopped(String)

    public var description: String {
        switch self {
        case .success: "success"
        case .failure(let reason): "failure (\(reason))"
        case .discarded: "discarded"
        case .quit: "quit"
        case .stopped(let reason): "stopped (\(reason))"
        }
    }
}

/// Where an episode's reward and success come from.
public enum RewardSource: String, Sendable, CaseIterable {
    /// The twin's task check: reward 1 and the episode's end on the step it passes. Only the twin
    /// can check; a real arm does not know where the cube is.
    case task
    /// The operator's keys, as on a real arm (HIL-SERL): y makes the episode's last step reward 1
    /// and terminal, n ends it as a failure, the step limit ends it as n does.
    case keys
}

/// A person watching for the task to be done, for training on the twin as a real arm trains:
/// the twin's check stands in for the person's eyes, and once it first passes the y key goes down
/// after a reaction time drawn (seeded) from `reactionSeconds`, whatever the arm does meanwhile.
/// Nothing else of the twin reaches the episode: the learner sees only the key.
public struct ScriptedLabeller: Sendable {
    public let reactionSeconds: ClosedRange<Double>
    public let policyHz: Double
    private var generator: SplitMix64
    /// Steps left until the key goes down, once the task was seen done.
    private var stepsToPress: Int?

    public init(reactionSeconds: ClosedRange<Double> = 0.3...1.0, policyHz: Double, seed: UInt64) {
        self.reactionSeconds = reactionSeconds
        self.policyHz = policyHz
        generator = SplitMix64(seed: seed)
    }

    public mutating func episodeStarted() { stepsToPress = nil }

    /// Looks at the scene after a step; true when y goes down now (a reaction time after the
    /// first step the task was seen done, counted in policy steps).
    public mutating func pressesSuccess(taskDone: Bool) -> Bool {
        if let left = stepsToPress {
            stepsToPress = left - 1
            return left - 1 == 0
        }
        if taskDone {
            let seconds = Double.random(in: reactionSeconds, using: &generator)
            stepsToPress = max(1, Int((seconds * policyHz).rounded()))
        }
        return false
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
        delaySteps = max(1, Int((Double.random(in: reactionSeconds, using: &generator) * policyHz).rounded()))
    }

    /// The label for the frame in hand, given whether the task is done on it: what the check said
    /// `delaySteps` frames ago (failure before that).
    public mutating func label(taskDone: Bool) -> Bool {
        seen.append(taskDone)
        let index = seen.count - 1 - delaySteps
        return index >= 0 && seen[index]
    }
}
