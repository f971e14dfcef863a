import ReinsCore

/// The space the end effector was moved over, as `reins robot bounds` records it with the torque
/// off (the operator moves the arm by hand over what the task needs), and the workspace box it
/// proposes for the robot file: the extremes reached plus a margin, the floor never below the table.
public struct WorkspaceBounds: Sendable, Equatable {
    public private(set) var minM: [Double] = [.infinity, .infinity, .infinity]
    public private(set) var maxM: [Double] = [-.infinity, -.infinity, -.infinity]
    public private(set) var samples = 0
    /// A box narrower than this on an axis means the arm was not moved along it.
    public static let minimumExtentM = 0.02

    public init() {}

    public mutating func add(_ position: [Double]) {
        for axis in 0..<3 {
            minM[axis] = min(minM[axis], position[axis])
            maxM[axis] = max(maxM[axis], position[axis])
        }
        samples += 1
    }

    /// Reads the robot and adds its end effector's position until `done` (asked after each reading,
    /// with the bounds so far, and meant to wait a little: a key poll, a sleep) says stop.
    public static func record(from robot: any Robot, kinematics: any Kinematics,
                              until done: (WorkspaceBounds) -> Bool) throws(MotorBusError) -> WorkspaceBounds {
        var bounds = WorkspaceBounds()
        var state = RobotState(motors: robot.definition.motors.count)
        repeat {
            try robot.read(into: &state)
            bounds.add(Array(kinematics.pose(state.positions).vector[0..<3]))
        } while !done(bounds)
        return bounds
    }

    /// How far the end effector went along x, y and z.
    public var extentM: [Double] { samples == 0 ? [0, 0, 0] : (0..<3).map { maxM[$0] - minM[$0] } }

    /// The box to propose, `margin` metres beyond what was reached on every side (z no lower than
    /// 0, the table the base stands on); nil with the reason when the arm was not moved enough.
    public func proposal(margin: Double) -> Result<WorkspaceBox, BoundsError> {
        let short = (0..<3).filter { extentM[$0] < Self.minimumExtentM }
        guard short.isEmpty else { return .failure(.notMoved(extentM: extentM, axes: short.map { ["x", "y", "z"][$0] })) }
        var low = minM.map { $0 - margin }, high = maxM.map { $0 + margin }
        low[2] = max(0, low[2])
        high[2] = max(high[2], low[2] + Self.minimumExtentM)
        return .success(WorkspaceBox(minM: low, maxM: high))
    }
}

public enum BoundsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The end effector moved less than 2 cm along these axes.
    case notMoved(extentM: [Double], axes: [String])

    public var description: String {
        switch self {
        case .notMoved(let extent, let axes):
            let moved = zip(["x", "y", "z"], extent).map { "\($0) \(Int(($1 * 100).rounded())) cm" }.joined(separator: ", ")
            return "the end effector hardly moved along \(axes.joined(separator: " and ")) (\(moved)): move it by hand over the whole space the task needs, every corner of it, before pressing Enter"
        }
    }
}
