import ReinsCore

/// Where an episode's reward and success come from.
public enum RewardSource: String, Sendable, CaseIterable {
    /// The twin's task check: reward 1 and the episode's end on the step it passes. Only the twin
    /// can check; a real arm does not know where the cube is.
    case task
    /// The operator's keys, as on a real arm (HIL-SERL): y makes the episode's last step reward 1
    /// and terminal, n ends it as a failure, the step limit ends it as n does.
    case keys
    /// A success classifier on the camera frames (HIL-SERL's reward): a few frames in a row called
    /// success end the episode with reward 1; the keys still decide over it.
    case classifier
}

/// An episode's reward as the station consults it while it steps the episode, reads the keys and
/// shows the console. The reward decides (ReinsTraining's `EpisodeReward`): its source, the
/// classifier's streak, the stand-in operator's presses and labels on the twin, and what the
/// operator's keys overrule. Everything here runs on the episode's thread.
public protocol EpisodeRewarding: AnyObject {
    var source: RewardSource { get }
    /// Seconds the arm holds after the classifier ends an episode with a success, for n to overrule it.
    var overruleSeconds: Double { get }
    /// The classifier's probability on the last frame it saw (the console shows it); nil without one.
    var probability: Double? { get }
    /// The stand-in operator's presses this episode; nil without a stand-in.
    var standInCounts: StandInCounts? { get }

    func episodeStarted()
    /// The reward of the step that led to `observation`, and whether it ends the episode as a
    /// success: the episode runner's reward.
    func reward(_ observation: EpisodeObservation) -> (reward: Double, success: Bool)
    /// The label of the frame about to be acted on, as the stand-in sees it (`taskDone`: the
    /// twin's verdict on it); false without a stand-in.
    func label(taskDone: Bool) -> Bool
    /// After a step's reward, the twin's verdict on its observation (nil on a real arm): the
    /// classifier's call is compared with it. True when the stand-in presses y now.
    func observed(taskDone: Bool?) -> Bool
    /// The classifier has ended the episode with a success: the seconds until the stand-in presses
    /// n, or nil when it does not (the twin agrees, it misses it, or there is no stand-in).
    func standInOverrule(taskDone: Bool?) -> Double?
    /// The operator (or the stand-in) ended the episode on `observation`, the last frame the reward
    /// saw: kept when it overrules the classifier. A line for the operator when it does.
    func operatorEnded(_ end: EpisodeEnd, observation: EpisodeObservation) -> String?
}
