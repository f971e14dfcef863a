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

/// A scripted expert for reaching: moves the tip over the goal (4 cm above it), then down onto it,
/// gripper open, at most `maxSpeed` of a full step, with seeded Gaussian noise on the motion. It
/// demonstrates in the twin, where the goal (the cube) is known.
public final class ScriptedReacher: ActionSource {
    public let scale: ActionScale
    public var noise: Double
    /// The largest move per step as a fraction of a full action (a calm demonstrator).
    public var maxSpeed = 0.5
    private let goal: () -> Vector3?
    private var generator: SplitMix64

    public init(scale: ActionScale, noise: Double = 0.1, seed: UInt64, goal: @escaping () -> Vector3?) {
        self.scale = scale
        self.noise = noise
        self.goal = goal
        generator = SplitMix64(seed: seed)
    }

    public func action(for observation: EpisodeObservation) -> [Double]? {
        guard let cube = goal() else { return nil }
        let tip = observation.endEffector.position
        let horizontal = length(Vector3(cube.x - tip.x, cube.y - tip.y, 0))
        let aim = cube + Vector3(0, 0, horizontal > 0.015 ? 0.04 : 0)
        var local = observation.endEffector.rotation.transposed * (aim - tip) / scale.linearM
        if length(local) > maxSpeed { local *= maxSpeed / length(local) }
        return [local.x, local.y, local.z, 0, 0, 0, 1].enumerated().map { index, value in
            min(max(value + (index < 3 ? noise * generator.nextGaussian() : 0), -1), 1)
        }
    }
}

/// The scripted reacher as a person supervising a policy: it watches the tip's distance to the
/// goal and takes over when the policy has moved the tip away for `patience` steps in a row, or
/// has not got closer for `stallSteps`; it then drives for `takeoverSteps` and hands back.
/// Human-in-the-loop training can so be run and tested without a person.
public final class InterveningReacher: ActionSource {
    public let expert: ScriptedReacher
    public var patience = 3
    public var stallSteps = 15
    public var takeoverSteps = 10
    /// Distance changes below this (metres) count as holding still.
    public var tolerance = 0.002
    private let goal: () -> Vector3?
    private var awaySteps = 0, stalled = 0, controlLeft = 0
    private var lastDistance: Double?, bestDistance = Double.infinity

    public init(expert: ScriptedReacher, goal: @escaping () -> Vector3?) {
        self.expert = expert
        self.goal = goal
    }

    public func episodeStarted() {
        awaySteps = 0
        stalled = 0
        controlLeft = 0
        lastDistance = nil
        bestDistance = .infinity
    }

    public func action(for observation: EpisodeObservation) -> [Double]? {
        guard let cube = goal() else { return nil }
        let distance = length(cube - observation.endEffector.position)
        if let last = lastDistance, distance > last + tolerance { awaySteps += 1 } else { awaySteps = 0 }
        if distance < bestDistance - tolerance {
            bestDistance = distance
            stalled = 0
        } else {
            stalled += 1
        }
        lastDistance = distance
        if controlLeft == 0 && (awaySteps >= patience || stalled >= stallSteps) {
            controlLeft = takeoverSteps
            awaySteps = 0
            stalled = 0
        }
        guard controlLeft > 0 else { return nil }
        controlLeft -= 1
        return expert.action(for: observation)
    }
}
