import ReinsControl

/// What an evaluation found: success with a 95 % Wilson interval, steps to success, and how
/// often an operator (if any) took over.
public struct EvaluationResult: Sendable {
    public var finished = 0
    public var successes = 0
    public var stepsToSuccess: [Int] = []
    public var steps = 0
    public var interventions = 0
    /// Why the evaluation stopped before its episodes were done (a fault, the loop stopped);
    /// the episodes already finished still count.
    public var stoppedBy: String?

    public var successRate: SuccessRate { SuccessRate(successes: successes, trials: finished) }
    public var meanStepsToSuccess: Double? {
        stepsToSuccess.isEmpty ? nil : Double(stepsToSuccess.reduce(0, +)) / Double(stepsToSuccess.count)
    }
    public var interventionRate: Double { steps > 0 ? Double(interventions) / Double(steps) : 0 }
}

/// Runs a policy for a number of episodes on a station and counts how it did. Success is whatever
/// ended the episode as one: on the twin its check (the judge), on hardware the operator's y.
/// Discarded episodes are run again; a quit, a stop or a fault ends the evaluation early.
public struct Evaluation {
    public let episodes: Int

    public init(episodes: Int) {
        self.episodes = episodes
    }

    /// `onEpisode` gets each finished episode's index and outcome (progress lines); `onStep`
    /// each step (video frames).
    public func run(station: OperatorStation, onStep: (StationStep) -> Void = { _ in },
                    onEpisode: (Int, EpisodeOutcome, EvaluationResult) -> Void = { _, _, _ in }) -> EvaluationResult {
        var result = EvaluationResult()
        var index = 0
        while result.finished < episodes {
            guard !station.quitRequested else { break }
            let outcome: EpisodeOutcome
            do {
                outcome = try station.runEpisode(index: index, onStep: onStep)
            } catch {
                result.stoppedBy = "\(error)"
                break
            }
            index += 1
            if outcome.end == .quit { break }
            if case .stopped(let reason) = outcome.end {
                result.stoppedBy = reason
                station.waitForQuit()
                break
            }
            if outcome.end == .discarded { continue }
            result.finished += 1
            result.steps += outcome.steps
            result.interventions += outcome.interventions
            if outcome.end == .success {
                result.successes += 1
                result.stepsToSuccess.append(outcome.steps)
            }
            onEpisode(index - 1, outcome, result)
        }
        if result.stoppedBy == nil, let fault = station.loopFault { result.stoppedBy = fault }
        return result
    }
}
