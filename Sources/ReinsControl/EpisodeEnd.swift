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

    /// The reason of a failure the operator's n gave.
    public static let operatorFailure = "marked by the operator"

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
