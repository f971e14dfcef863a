import Foundation
import ReinsControl
import ReinsCore

/// A reward that cannot be given as asked: the message says what is missing.
public struct RewardError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// The reward of a station's episodes, in one place: where it comes from (the twin's task check,
/// the operator's keys, or a success classifier with its streak of frames), the window in which
/// y and n overrule the classifier, and on the twin the stand-in operator who presses y and n and
/// labels frames a person's reaction time after the twin shows the task done (never otherwise:
/// the twin judges, it never teaches). It keeps what each episode's reward was: the classifier's
/// calls against the twin's, the frame an operator overruled it on, the stand-in's presses.
public final class EpisodeReward: EpisodeRewarding {
    public struct Settings: Sendable {
        /// nil picks the twin's check on the twin and the keys on a real arm (the only choice there).
        public var source: RewardSource?
        /// With `.classifier`: the classifier, and the frames in a row it must call success.
        public var classifier: (any SuccessClassifier)?
        public var consecutiveFrames = 2
        /// With `.classifier` and someone to press it (the console, or the twin's stand-in):
        /// seconds the arm holds after the classifier ends an episode with a success, for n to
        /// overrule it (a person needs 0.3–1 s to see that the success is false).
        public var overruleSeconds = 1.0

        public init(source: RewardSource? = nil, classifier: (any SuccessClassifier)? = nil) {
            self.source = source
            self.classifier = classifier
        }
    }

    /// The twin's stand-in operator, for the scripted operator on the twin.
    public struct StandIn: Sendable {
        public var policyHz: Double
        public var maxSteps: Int
        /// The station's seed: its presses and labels draw from sequences derived from it.
        public var seed: UInt64
        public var mistakes: OperatorMistakes

        public init(policyHz: Double, maxSteps: Int, seed: UInt64, mistakes: OperatorMistakes = .none) {
            self.policyHz = policyHz
            self.maxSteps = maxSteps
            self.seed = seed
            self.mistakes = mistakes
        }
    }

    /// What an episode's reward was, beyond its end.
    public struct Record: Sendable {
        /// With the classifier on the twin: its calls against the twin's check, per frame.
        public var agreement: ClassifierAgreement?
        /// The operator's y or n over the classifier's call (y while it did not call the frame
        /// success, n while it did), with the frame they judged.
        public var override: ClassifierOverride?
    }

    public let source: RewardSource
    public let overruleSeconds: Double
    private let twin: TwinTask?
    private let streak: SuccessStreak?
    /// With the keys or the classifier and a stand-in: the person who presses y and n.
    private var labeller: ScriptedLabeller?
    /// With a stand-in: the person who labels frames.
    private var frameLabeller: ScriptedFrameLabeller?
    /// The episode in progress (or the last one, once it ended).
    public private(set) var episode = Record()

    /// `cameras` are the frames the robot gives (name, width, height); a classifier must read
    /// some of them. `standIn` is the twin's scripted operator, nil for a person or nobody.
    public init(_ settings: Settings, twin: TwinTask?, cameras: [(name: String, width: Int, height: Int)], standIn: StandIn?) throws(RewardError) {
        let source = try Self.source(settings.source, onTwin: twin != nil)
        guard standIn == nil || twin != nil else { throw RewardError("the stand-in operator watches the twin: a real arm has none") }
        var streak: SuccessStreak?
        if source == .classifier {
            guard let classifier = settings.classifier else { throw RewardError("a classifier's reward needs a classifier") }
            let available = cameras.map { "\($0.name) \($0.width)x\($0.height)" }
            let wanted = classifier.cameras.map { "\($0.name) \($0.width)x\($0.height)" }
            guard wanted.allSatisfy(available.contains) else {
                throw RewardError("the reward classifier looks at \(wanted.joined(separator: ", ")) but the robot gives "
                    + (available.isEmpty ? "no camera frames" : available.joined(separator: ", "))
                    + "; open its cameras at the classifier's frame size, or train a classifier on these cameras")
            }
            streak = SuccessStreak(classifier: classifier, required: max(1, settings.consecutiveFrames))
        }
        self.source = source
        self.twin = twin
        self.streak = streak
        overruleSeconds = settings.overruleSeconds
        if let standIn {
            // The stand-in presses y as a person would: with the keys, a reaction time after the
            // twin shows the task done; over a classifier, only once it has let a success go
            // unrewarded for 1–2 s (a person watching p(success) gives it a moment first) and only
            // if it is still done then, so each such y is an override, logged and kept as a label.
            if source == .keys || source == .classifier {
                labeller = ScriptedLabeller(reactionSeconds: source == .keys ? 0.3...1.0 : 1.0...2.0, policyHz: standIn.policyHz,
                                            seed: standIn.seed &+ 3, mistakes: standIn.mistakes, maxSteps: standIn.maxSteps,
                                            pressOnlyWhileDone: source == .classifier)
            }
            frameLabeller = ScriptedFrameLabeller(policyHz: standIn.policyHz, seed: standIn.seed &+ 5)
        }
    }

    /// The source a reward has on the twin or a real arm: `source`, or with nil the twin's check
    /// on the twin and the keys on a real arm. The task's check only the twin has. (Commands ask
    /// this before they open a robot.)
    public static func source(_ source: RewardSource?, onTwin: Bool) throws(RewardError) -> RewardSource {
        let source = source ?? (onTwin ? .task : .keys)
        guard source != .task || onTwin else {
            throw RewardError("the task's reward needs the twin: a real arm has no task check; the operator's y and n keys give the reward")
        }
        return source
    }

    public var probability: Double? { streak?.lastProbability }

    public var standInCounts: StandInCounts? { labeller?.counts ?? (frameLabeller != nil ? StandInCounts() : nil) }

    public func episodeStarted() {
        labeller?.episodeStarted()
        frameLabeller?.episodeStarted()
        streak?.reset()
        episode = Record(agreement: streak != nil && twin != nil ? ClassifierAgreement() : nil)
    }

    public func reward(_ observation: EpisodeObservation) -> (reward: Double, success: Bool) {
        // With the keys or the classifier nothing of the twin reaches the reward.
        let success = switch source {
        case .task: twin?.isDone(observation) ?? false
        case .classifier: streak?.success(observation) ?? false
        case .keys: false
        }
        return (success ? 1 : 0, success)
    }

    public func label(taskDone: Bool) -> Bool {
        frameLabeller?.label(taskDone: taskDone) ?? false
    }

    public func observed(taskDone: Bool?) -> Bool {
        guard let taskDone else { return false }
        if let streak { episode.agreement?.add(called: streak.lastProbability >= streak.classifier.threshold, judged: taskDone) }
        return labeller?.pressesSuccess(taskDone: taskDone) ?? false
    }

    public func standInOverrule(taskDone: Bool?) -> Double? {
        guard taskDone == false else { return nil }
        return labeller?.overrulesFalseSuccess()
    }

    public func operatorEnded(_ end: EpisodeEnd, observation: EpisodeObservation) -> String? {
        guard let streak else { return nil }
        let probability = streak.lastProbability
        let called = probability >= streak.classifier.threshold
        let label = String(format: "%.2f", probability)
        switch end {
        case .success where !called:
            episode.override = ClassifierOverride(observation: observation, success: true, probability: probability)
            return "y over the classifier (it gave \(label)): this frame is kept as a success label"
        case .failure(let reason) where called && reason == EpisodeEnd.operatorFailure:
            episode.override = ClassifierOverride(observation: observation, success: false, probability: probability)
            return "n over the classifier (it gave \(label)): this frame is kept as a failure label"
        default:
            return nil
        }
    }
}
