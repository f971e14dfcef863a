import Histogram
import Foundation
import ReinsCore

/// How far one policy step may move the end effector: an action of 1 is this much.
public struct ActionScale: Sendable, Equatable {
    /// Metres per step along each of the end effector's axes.
    public var linearM = 0.02
    /// Radians per step about each axis.
    public var angularRad = 0.1

    public init(linearM: Double = 0.02, angularRad: Double = 0.1) {
        self.linearM = linearM
        self.angularRad = angularRad
    }
}

/// What the robot looked like after a step.
public struct EpisodeObservation: Sendable {
    /// Radians, motor order (the gripper as an angle too).
    public var joints: [Double]
    public var endEffector: Pose
    /// 0 closed … 1 open, or nil without a gripper.
    public var gripper: Double?
    /// RGB frames by camera name, each the camera's width × height × 3.
    public var images: [String: [UInt8]]
    /// CLOCK_MONOTONIC nanoseconds of the joint reading.
    public var timestampNs: Int64
    /// The gripper command in force (−1 closed … 1 open): the last step's, nil before an episode's
    /// first. The jaws reach it only over several steps; a discrete gripper's state follows it.
    public var gripperCommand: Double? = nil

    /// The gripper command in force, or before the first step the opening measured (as a command).
    public var gripperCommandInForce: Double { gripperCommand ?? ((gripper ?? 1) * 2 - 1) }
}

/// Chooses actions: a policy, the operator's device, a script. An action is 7 numbers in [−1, 1]:
/// an end-effector twist in its own frame (x, y, z, then a rotation vector) and the gripper's
/// opening (−1 closed … 1 open). nil means "nothing from me this step" (an idle operator).
public protocol ActionSource: AnyObject {
    func action(for observation: EpisodeObservation) -> [Double]?
    /// A new episode begins (sources with memory of the last one forget it).
    func episodeStarted()
}

extension ActionSource {
    public func episodeStarted() {}
}

/// One step as it happened.
public struct EpisodeStep: Sendable {
    /// The action applied (the operator's when they intervened), clipped to [−1, 1].
    public var action: [Double]
    /// The joint targets the action became (radians, motor order), before the safety layer.
    public var jointTargets: [Double]
    public var intervention: Bool
    public var reward: Double
    public var done: Bool
    public var success: Bool
    /// The observation after the step.
    public var observation: EpisodeObservation
}

/// Runs episodes on a robot through its control loop: reset moves slowly to the home pose; each
/// step takes an action from the policy, or from the operator whenever they give one (that step is
/// flagged as an intervention), turns it into joint targets by inverse kinematics from the previous
/// targets (the twist is relative to the commanded pose, in the measured pose's frame), sends them,
/// waits one policy period counted in loop cycles (so every observation is taken at the same phase
/// of the loop), and observes. Rewards and success come
/// from `reward` (a task check in the twin, a classifier, or the operator's key).
public final class EpisodeRunner {
    public let loop: ControlLoop
    /// The runner's own instance, used on the thread that runs episodes.
    public let kinematics: any Kinematics
    public let cameras: [any Camera]
    public var scale = ActionScale()
    public var maxSteps = 100
    /// Frames older than this fail the step (a stalled camera is not an observation).
    public var maxFrameAge: Duration = .milliseconds(200)
    public let reward: (EpisodeObservation) -> (reward: Double, success: Bool)
    public private(set) var steps = 0
    /// The joint targets the episode started from (the home pose after `reset`).
    public var startTargets: [Double] { loop.robot.definition.homePoseRad }
    private var images: [String: [UInt8]] = [:]
    /// How old each camera frame was when a step read it (nanoseconds), every camera together.
    public private(set) var frameAges = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    /// The joint targets of the last step: the next step's twist starts from them, not from the
    /// measured joints, so a servo's steady-state error under gravity does not make the arm creep.
    private var lastTargets: [Double] = []
    private var lastGripperCommand: Double?

    public init(loop: ControlLoop, kinematics: KinematicsModel, cameras: [any Camera] = [],
                reward: @escaping (EpisodeObservation) -> (reward: Double, success: Bool)) {
        self.loop = loop
        self.kinematics = kinematics.makeInstance()
        self.cameras = cameras
        self.reward = reward
    }

    /// How near home (radians, every joint) a reset must bring the arm.
    public var homeTolerance = 0.05

    /// Moves to the home pose (no joint faster than `speed` rad/s: a steady pace for hobby servos
    /// that keeps resets from outlasting episodes) and returns the first observation. The tip goes first in a
    /// straight line to where it is at home (a straight line in the box stays in the box), then
    /// the joints go home: a straight move in joint space from a low or folded pose can run into
    /// the workspace box, which would hold the arm there for good. An arm that still does not get
    /// home fails the reset, naming the joint.
    public func reset(speed: Double = 1.0) throws -> EpisodeObservation {
        steps = 0
        let home = loop.robot.definition.homePoseRad
        let before = loop.status.safety
        let error = loop.move(along: pathHome(from: loop.status.sent), speed: speed, tolerance: 0.02, timeout: .seconds(20))
        loop.settle()
        if case .faulted(let message) = loop.status.phase { throw EpisodeError.loop(message) }
        let positions = loop.status.state.positions
        if error > homeTolerance, !loop.status.phase.isFinished {
            let worst = positions.indices.max { abs(positions[$0] - home[$0]) < abs(positions[$1] - home[$1]) } ?? 0
            let clamps = loop.status.safety
            throw EpisodeError.notHome(joint: loop.robot.definition.motors[worst].name, positionRad: positions[worst], homeRad: home[worst],
                                       boxClamps: clamps.workspace - before.workspace, leadClamps: clamps.lead - before.lead)
        }
        lastTargets = home
        lastGripperCommand = nil
        return try observe()
    }

    /// Joint poses that carry the tip from `joints` to its home position in 1 cm steps (by IK),
    /// ending with the home pose itself.
    func pathHome(from joints: [Double]) -> [[Double]] {
        let home = loop.robot.definition.homePoseRad
        let goal = kinematics.pose(home).position
        var path: [[Double]] = [], current = joints
        for _ in 0..<100 {
            let tip = kinematics.pose(current)
            let offset = goal - tip.position
            let distance = length(offset)
            guard distance > 0.01 else { break }
            let next = kinematics.joints(moving: current, linear: tip.rotation.transposed * (offset * (0.01 / distance)), angular: .zero)
            guard next.allSatisfy(\.isFinite) else { break }
            current = next
            path.append(current)
        }
        path.append(home)
        return path
    }

    /// One policy step: the operator's action wins when they give one.
    public func step(from observation: EpisodeObservation, policy: ActionSource, operator: ActionSource? = nil) throws -> EpisodeStep {
        let operatorAction = `operator`?.action(for: observation)
        let chosen = operatorAction ?? policy.action(for: observation) ?? [Double](repeating: 0, count: 7)
        guard chosen.count == 7 else { throw EpisodeError.badAction(count: chosen.count) }
        let action = chosen.map { $0.isFinite ? min(max($0, -1), 1) : 0 }
        let jointTargets = withinLimits(targets(for: action, from: lastTargets.isEmpty ? observation.joints : lastTargets),
                                        from: lastTargets.isEmpty ? observation.joints : lastTargets, measured: observation.joints)
        lastTargets = jointTargets
        lastGripperCommand = action[6]
        let cycle = loop.status.cycles
        loop.command(jointTargets)
        loop.wait(untilCycle: cycle + loop.cyclesPerPolicyStep)
        steps += 1
        let next = try observe()
        let (value, success) = reward(next)
        let finished = loop.status.phase.isFinished
        return EpisodeStep(action: action, jointTargets: jointTargets, intervention: operatorAction != nil, reward: value,
                           done: success || steps >= maxSteps || finished, success: success, observation: next)
    }

    /// A whole episode from reset to success, the step limit, or a stopped loop.
    public func run(policy: ActionSource, operator: ActionSource? = nil) throws -> [EpisodeStep] {
        var observation = try reset()
        policy.episodeStarted()
        `operator`?.episodeStarted()
        var record: [EpisodeStep] = []
        while true {
            let step = try step(from: observation, policy: policy, operator: `operator`)
            record.append(step)
            observation = step.observation
            if step.done { break }
        }
        return record
    }

    /// Joint targets for an action from the previous targets: the twist scaled, followed by IK as
    /// far as the arm can, the gripper set to the asked opening.
    func targets(for action: [Double], from joints: [Double]) -> [Double] {
        let linear = Vector3(action[0], action[1], action[2]) * scale.linearM
        let angular = Vector3(action[3], action[4], action[5]) * scale.angularRad
        var targets = kinematics.joints(moving: joints, linear: linear, angular: angular)
        if let angle = loop.robot.gripperAngle(opening: (action[6] + 1) / 2), let index = loop.robot.gripperIndex {
            targets[index] = angle
        }
        return targets
    }

    /// Targets the safety layer will pass unchanged: within the joint limits, no faster than it
    /// lets a command change over one policy period, within its lead over the measured arm (a
    /// fifth inside the rate and a tenth inside the lead, for the interpolation's rounding), and
    /// inside the box. An action asking for more (the gripper opening in one step, say) takes more
    /// steps; the safety layer's clamps then mean something went wrong.
    func withinLimits(_ targets: [Double], from previous: [Double], measured: [Double]) -> [Double] {
        let limits = loop.safety.limits
        let period = 1 / loop.configuration.policyHz, cycles = Double(loop.cyclesPerPolicyStep)
        let limited = targets.indices.map { index in
            let change = 0.8 * min(limits.maxVelocityRadPerS[index] * period, limits.maxStepRad[index] * cycles)
            let lead = 0.9 * limits.maxLeadRad[index]
            var value = min(max(targets[index], previous[index] - change), previous[index] + change)
            value = min(max(value, measured[index] - lead), measured[index] + lead)
            let joint = limits.joints[index]
            return min(max(value, joint.lowerBound), joint.upperBound)
        }
        return withinBox(limited, from: previous, box: limits.workspace)
    }

    /// The move from `previous` toward `targets` shortened so the tip stays 2 mm inside the
    /// workspace box (or, from outside it, gets no further out), as the safety layer would cut
    /// it; the policy asking to leave the box is then not a clamp.
    func withinBox(_ targets: [Double], from previous: [Double], box: WorkspaceBox) -> [Double] {
        var command = targets, scratch = targets
        _ = kinematics.keepInBox(&command, from: previous, box: box, inset: 0.002, scratch: &scratch)
        return command
    }

    /// The robot as it is now (after the scene was put right between reset and the first step).
    public func observe() throws -> EpisodeObservation {
        let status = loop.status
        if case .faulted(let message) = status.phase { throw EpisodeError.loop(message) }
        for camera in cameras {
            var frame = images[camera.name] ?? []
            let stamp = try camera.read(into: &frame, maxAge: maxFrameAge)
            let now = FrameStamp.now()
            _ = frameAges.record(now > stamp.timestampNs ? now - stamp.timestampNs : 0)
            images[camera.name] = frame
        }
        let joints = status.state.positions
        return EpisodeObservation(joints: joints, endEffector: kinematics.pose(joints), gripper: loop.robot.gripperOpening(joints),
                                  images: images, timestampNs: status.state.timestampNs, gripperCommand: lastGripperCommand)
    }
}

public enum EpisodeError: Error, Equatable, CustomStringConvertible {
    case loop(String)
    case badAction(count: Int)
    /// The reset did not bring the arm home: something holds it (an obstacle, a cable, the safety
    /// layer's box). Free the arm, check the workspace box in the robot file, then start again.
    case notHome(joint: String, positionRad: Double, homeRad: Double, boxClamps: Int, leadClamps: Int)
    /// The twin's scene is not as an episode needs it (a cube off the table, a state that is not finite).
    case scene(String)

    public var description: String {
        switch self {
        case .loop(let message): "the control loop stopped: \(message)"
        case .notHome(let joint, let position, let home, let box, let lead):
            String(format: "the arm did not get home: %@ is at %.3f rad, home is %.3f (the safety layer held %d command(s) at the workspace box and %d at the lead limit meanwhile); free the arm and check workspace_m in the robot file",
                   joint, position, home, box, lead)
        case .scene(let problem): "the scene is not ready for an episode: \(problem)"
        case .badAction(let count): "an action has 7 values (twist x, y, z, rotation x, y, z, gripper), got \(count)"
        }
    }
}
