import ReinsCore
import Synchronization

/// What an operator can ask for, whatever the device (keyboard today).
public enum TeleopCommand: Sendable, Equatable {
    /// Move the end effector along a base-frame axis (0 x forward, 1 y left, 2 z up), ±1.
    case translate(axis: Int, direction: Double)
    /// Turn the end effector about one of its own axes (0 x, 1 y, 2 z), ±1.
    case rotate(axis: Int, direction: Double)
    case openGripper
    case closeGripper
    case faster
    case slower
    /// Take over from the policy, or hand back.
    case toggleControl
    /// End the episode as a success / a failure.
    case markSuccess
    case markFailure
    /// End the episode and throw it away.
    case discard
    case pause
    /// Save a checkpoint and the learning curve (training) once the episode ends.
    case checkpoint
    /// Frames from now on show the task done (for the reward classifier's labels), or no longer.
    case toggleSuccessLabel
    /// The safety stop: hold, then torque off.
    case stop
    case help
    case quit
}

/// The keyboard as an action source. A terminal has no key-up events, so each key press (and each
/// auto-repeat) moves the end effector one step; presses between two policy steps add up.
///
/// While the operator holds control every step is theirs, moving or not (holding still is a
/// decision too). While the policy drives, a movement key corrects it for that step: the
/// operator's action replaces the policy's, and the step counts as an intervention.
public final class KeyboardOperator: ActionSource, Sendable {
    private struct State {
        var inControl: Bool
        var linear = Vector3.zero
        var angular = Vector3.zero
        var moved = false
        /// −1 closed … 1 open; nil until the operator touches the gripper.
        var gripper: Double?
        var speed = 0.5
    }
    private let state: Lock<State>
    public static let speeds = [0.1, 0.25, 0.5, 0.75, 1.0]

    public init(inControl: Bool) {
        state = Lock(State(inControl: inControl))
    }

    public var inControl: Bool { state.withLock { $0.inControl } }
    /// The fraction of the full step a key press moves.
    public var speed: Double { state.withLock { $0.speed } }

    /// Applies a movement, gripper, speed or takeover command; returns false for commands that are
    /// not the operator's motion (success, stop, quit…), which the caller handles.
    @discardableResult
    public func handle(_ command: TeleopCommand) -> Bool {
        state.withLock { state in
            switch command {
            case .translate(let axis, let direction):
                state.linear[axis] += direction
                state.moved = true
            case .rotate(let axis, let direction):
                state.angular[axis] += direction
                state.moved = true
            case .openGripper:
                state.gripper = 1
                state.moved = true
            case .closeGripper:
                state.gripper = -1
                state.moved = true
            case .faster:
                state.speed = Self.speeds.first { $0 > state.speed + 1e-9 } ?? state.speed
            case .slower:
                state.speed = Self.speeds.last { $0 < state.speed - 1e-9 } ?? state.speed
            case .toggleControl:
                state.inControl.toggle()
                state.gripper = nil
            default:
                return false
            }
            return true
        }
    }

    public func action(for observation: EpisodeObservation) -> [Double]? {
        state.withLock { state -> [Double]? in
            defer {
                state.linear = .zero
                state.angular = .zero
                state.moved = false
            }
            guard state.inControl || state.moved else { return nil }
            // Base-frame motion becomes a twist in the tool's own frame.
            let linear = observation.endEffector.rotation.transposed * state.linear * state.speed
            let angular = state.angular * state.speed
            let gripper = state.gripper ?? ((observation.gripper ?? 0.5) * 2 - 1)
            return [linear.x, linear.y, linear.z, angular.x, angular.y, angular.z, gripper].map { min(max($0, -1), 1) }
        }
    }
}

/// No policy: the arm holds where it is, gripper as it is.
public final class HoldPolicy: ActionSource {
    public init() {}

    public func action(for observation: EpisodeObservation) -> [Double]? {
        [0, 0, 0, 0, 0, 0, (observation.gripper ?? 0.5) * 2 - 1]
    }
}

/// Uniform random actions in [−1, 1], seeded: the baseline a learned policy must beat.
public final class RandomPolicy: ActionSource {
    private var generator: SplitMix64

    public init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
    }

    public func action(for observation: EpisodeObservation) -> [Double]? {
        (0..<7).map { _ in Double.random(in: -1...1, using: &generator) }
    }
}
