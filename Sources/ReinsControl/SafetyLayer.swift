import ReinsCore

/// The limits every command passes through before it reaches a motor.
public struct SafetyLimits: Sendable, Equatable {
    /// Per motor, radians: the robot file's limits within the calibrated travel.
    public var joints: [ClosedRange<Double>]
    /// Per motor, the largest change of the command in one bus cycle, radians.
    public var maxStepRad: [Double]
    /// Per motor, radians per second: the command may not change faster than this.
    public var maxVelocityRadPerS: [Double]
    /// Per motor, how far the command may lead the measured position, radians. A blocked joint
    /// then cannot wind up a large error that snaps it when it frees.
    public var maxLeadRad: [Double]
    /// The box the end effector must stay in (base frame, metres).
    public var workspace: WorkspaceBox

    /// The robot's limits with defaults that suit hobby arms at a 100–1000 Hz bus: 0.05 rad per
    /// cycle, 3 rad/s, 0.5 rad of lead.
    public init(robot: RobotDefinition, joints: [ClosedRange<Double>]) {
        self.joints = joints
        maxStepRad = [Double](repeating: 0.05, count: joints.count)
        maxVelocityRadPerS = [Double](repeating: 3, count: joints.count)
        maxLeadRad = [Double](repeating: 0.5, count: joints.count)
        workspace = robot.workspace
    }
}

/// How many times each limit changed a command: every clamp is counted and shown.
public struct SafetyCounters: Sendable, Equatable, Codable {
    public var commands = 0
    /// Commands with a NaN or infinite value, replaced by the previous command.
    public var invalid = 0
    public var jointLimit = 0
    public var step = 0
    public var lead = 0
    public var workspace = 0

    public init() {}

    public var clamps: Int { invalid + jointLimit + step + lead + workspace }
}

/// The one place commands are made safe. Order: reject non-finite values, clamp to the joint
/// limits, to the lead over the measured position, to the step a cycle allows, then keep the end
/// effector in its box by shortening the step toward the command.
///
/// From a state already outside a limit (at start-up, say) a command may only move back toward
/// it, never further out. Realtime: `filter` allocates nothing (one scratch vector, made once).
public final class SafetyLayer {
    public let limits: SafetyLimits
    public private(set) var counters = SafetyCounters()
    /// The layer's own instance: it runs on the loop's thread, and no other part can reach it.
    private let kinematics: (any Kinematics)?
    private var scratch: [Double]

    /// Without `kinematics` the workspace box is not checked (an arm without a model).
    public init(limits: SafetyLimits, kinematics: KinematicsModel?) {
        self.limits = limits
        self.kinematics = kinematics?.makeInstance()
        scratch = [Double](repeating: 0, count: limits.joints.count)
    }

    /// Makes `command` safe to send `dt` seconds after `previous` was sent, with the arm measured
    /// at `measured`. On return `command` is what may be sent.
    public func filter(_ command: inout [Double], previous: [Double], measured: [Double], dt: Double) {
        precondition(command.count == limits.joints.count && previous.count == command.count && measured.count == command.count,
                     "one value per motor")
        counters.commands += 1
        var finite = true
        for value in command where !value.isFinite { finite = false }
        if !finite {
            counters.invalid += 1
            for index in command.indices { command[index] = previous[index] }
            return
        }
        var limited = false, led = false, stepped = false
        for index in command.indices {
            var value = command[index]
            // Joint limits, widened to the previous command when that was outside them: from
            // outside, a command may stay or move back toward the limits, never further out.
            let joint = limits.joints[index]
            let lower = min(joint.lowerBound, previous[index]), upper = max(joint.upperBound, previous[index])
            if value < lower || value > upper { limited = true; value = min(max(value, lower), upper) }
            // Lead over the measured position; if the previous command already led further, only back toward it.
            let lead = limits.maxLeadRad[index]
            let leadLower = min(measured[index] - lead, previous[index]), leadUpper = max(measured[index] + lead, previous[index])
            if value < leadLower || value > leadUpper { led = true; value = min(max(value, leadLower), leadUpper) }
            // Step per cycle: the smaller of the fixed step and the velocity limit over dt.
            let step = min(limits.maxStepRad[index], limits.maxVelocityRadPerS[index] * max(dt, 0))
            let lowerStep = previous[index] - step, upperStep = previous[index] + step
            if value < lowerStep || value > upperStep { stepped = true; value = min(max(value, lowerStep), upperStep) }
            command[index] = value
        }
        if limited { counters.jointLimit += 1 }
        if led { counters.lead += 1 }
        if stepped { counters.step += 1 }
        keepInWorkspace(&command, previous: previous)
    }

    /// How far outside the box the end effector is at `joints` (metres summed over the axes), 0
    /// inside. On the thread that filters (the loop's), or before the loop starts.
    public func workspaceViolation(_ joints: [Double]) -> Double {
        kinematics?.boxViolation(joints, box: limits.workspace) ?? 0
    }

    /// Shortens the move from `previous` toward `command` to the longest one whose end effector
    /// stays in the box (or, from outside it, gets no further out).
    private func keepInWorkspace(_ command: inout [Double], previous: [Double]) {
        guard let kinematics else { return }
        if kinematics.keepInBox(&command, from: previous, box: limits.workspace, scratch: &scratch) { counters.workspace += 1 }
    }
}
