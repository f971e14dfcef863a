import ReinsControl
import ReinsCore

/// A success classifier on camera frames, as `EpisodeReward` uses it for `.classifier` rewards.
public protocol SuccessClassifier: AnyObject, Sendable {
    /// The cameras it reads, in order, with their frame size.
    var cameras: [(name: String, width: Int, height: Int)] { get }
    /// The probability at or above which a frame counts as success.
    var threshold: Double { get }
    /// The success probability of an observation's frames.
    func probability(of observation: EpisodeObservation) -> Double
}

/// Success after `required` frames in a row that the classifier calls success, so one
/// flickering frame does not end an episode.
final class SuccessStreak: @unchecked Sendable {
    let classifier: any SuccessClassifier
    let required: Int
    private let state = Lock((run: 0, probability: 0.0))

    init(classifier: any SuccessClassifier, required: Int) {
        self.classifier = classifier
        self.required = required
    }

    func reset() { state.withLock { $0 = (0, 0) } }

    /// The classifier's last probability.
    var lastProbability: Double { state.withLock { $0.probability } }

    /// Looks at one observation; true once the run of success calls is long enough.
    func success(_ observation: EpisodeObservation) -> Bool {
        let probability = classifier.probability(of: observation)
        let called = probability >= classifier.threshold
        return state.withLock { state in
            state.probability = probability
            state.run = called ? state.run + 1 : 0
            return state.run >= required
        }
    }
}

/// How the classifier's calls compared with the twin's check, frame by frame (the judge's view
/// of the reward; never a reward itself).
public struct ClassifierAgreement: Codable, Sendable, Equatable {
    public var truePositives = 0, falsePositives = 0, trueNegatives = 0, falseNegatives = 0

    public init() {}

    public mutating func add(called: Bool, judged: Bool) {
        switch (called, judged) {
        case (true, true): truePositives += 1
        case (true, false): falsePositives += 1
        case (false, false): trueNegatives += 1
        case (false, true): falseNegatives += 1
        }
    }

    public static func + (a: Self, b: Self) -> Self {
        var sum = a
        sum.truePositives += b.truePositives
        sum.falsePositives += b.falsePositives
        sum.trueNegatives += b.trueNegatives
        sum.falseNegatives += b.falseNegatives
        return sum
    }

    /// nil until the classifier called some frame success.
    public var precision: Double? { truePositives + falsePositives == 0 ? nil : Double(truePositives) / Double(truePositives + falsePositives) }
    /// nil until the twin judged some frame done.
    public var recall: Double? { truePositives + falseNegatives == 0 ? nil : Double(truePositives) / Double(truePositives + falseNegatives) }
}

/// The operator overriding the reward classifier: the frame they judged and what they said.
public struct ClassifierOverride: Sendable {
    public var observation: EpisodeObservation
    public var success: Bool
    public var probability: Double

    public init(observation: EpisodeObservation, success: Bool, probability: Double) {
        (self.observation, self.success, self.probability) = (observation, success, probability)
    }
}

/// With a classifier's rewards: the successes it called, and those the operator's y (the stand-in's
/// on the twin) gave where it had not; `n` over a success it called.
public struct ClassifierEnds: Codable, Sendable, Equatable {
    public var calledSuccesses = 0
    public var overruledWithY = 0
    public var overruledWithN = 0

    public init() {}

    public mutating func count(_ end: EpisodeEnd, override: ClassifierOverride?) {
        switch (end, override?.success) {
        case (.success, nil): calledSuccesses += 1
        case (.success, true?): overruledWithY += 1
        case (_, false?): overruledWithN += 1
        default: break
        }
    }
}
