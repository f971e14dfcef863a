import ReinsControl

/// An episode's transitions, held by the actor until the episode ends (as LeRobot's actor sends
/// them), so that how it ended labels them before any reaches the learner: the operator's y makes
/// the last step reward 1 and terminal, n and the step limit end the episode there without a
/// terminal, backspace and quit keep nothing. On a real arm the keys are the only reward.
public struct HeldEpisode: Sendable {
    public private(set) var transitions: [Transition] = []

    public init() {}

    public mutating func append(_ transition: Transition) {
        transitions.append(transition)
    }

    /// The episode's transitions labelled by its end, for the buffers; the hold is empty after.
    public mutating func finish(_ end: EpisodeEnd) -> [Transition] {
        defer { transitions.removeAll(keepingCapacity: true) }
        switch end {
        case .discarded, .quit:
            return []
        case .success:
            guard !transitions.isEmpty else { return [] }
            transitions[transitions.count - 1].reward = 1
            transitions[transitions.count - 1].terminal = true
            transitions[transitions.count - 1].episodeEnded = true
        case .failure, .stopped:
            guard !transitions.isEmpty else { return [] }
            // A success the operator overruled with n earns nothing.
            transitions[transitions.count - 1].reward = 0
            transitions[transitions.count - 1].terminal = false
            transitions[transitions.count - 1].episodeEnded = true
        }
        return transitions
    }
}
