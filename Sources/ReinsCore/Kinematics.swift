/// An arm's kinematic chain: where its tip is for given joints, and the joints that move the tip
/// by a twist. An instance keeps scratch state (the twin's implementation, a MuJoCo `mjData`) and
/// belongs to one thread; parts that run on their own threads are given a `KinematicsModel` and
/// make their own instance from it, so no instance is ever shared.
public protocol Kinematics: AnyObject {
    /// The tip's pose in the base frame for `joints` (motor order; a gripper entry is ignored).
    /// Realtime: allocates nothing.
    func pose(_ joints: [Double]) -> Pose
    /// The joints (motor order, a gripper entry passed through) that move the tip by `linear`
    /// metres and `angular` (a rotation vector, radians), both in the tip's own frame, from
    /// `joints`, as far as the arm can follow.
    func joints(moving joints: [Double], linear: Vector3, angular: Vector3) -> [Double]
}

/// Makes a `Kinematics` instance for the thread that asks: what the control loop's safety layer
/// and the episode runner are given, each making its own.
public struct KinematicsModel: Sendable {
    private let make: @Sendable () -> any Kinematics

    public init(_ make: @escaping @Sendable () -> any Kinematics) {
        self.make = make
    }

    /// A new instance, to be used by the calling thread (or by the one part that owns it) only.
    public func makeInstance() -> any Kinematics { make() }
}

extension Kinematics {
    /// How far outside `box`, shrunk by `inset` metres on every side, the tip is at `joints`
    /// (metres summed over the axes), 0 inside. Realtime: allocates nothing.
    public func boxViolation(_ joints: [Double], box: WorkspaceBox, inset: Double = 0) -> Double {
        let p = pose(joints).position
        var violation = 0.0
        for axis in 0..<3 { violation += max(0, box.minM[axis] + inset - p[axis]) + max(0, p[axis] - box.maxM[axis] + inset) }
        return violation
    }

    /// Shortens the move from `previous` toward `command` to the longest one whose tip stays in
    /// the box shrunk by `inset` (or, from outside it, gets no further out), by 16 halvings of
    /// the move. Returns whether it had to. The safety layer and the episode runner cut moves
    /// alike, so a move the runner sends is one the safety layer passes. Realtime: allocates
    /// nothing (`scratch`, one value per motor, holds the trial joints).
    public func keepInBox(_ command: inout [Double], from previous: [Double], box: WorkspaceBox, inset: Double = 0,
                          scratch: inout [Double]) -> Bool {
        let allowed = boxViolation(previous, box: box, inset: inset)
        guard boxViolation(command, box: box, inset: inset) > allowed + 1e-12 else { return false }
        func interpolate(_ fraction: Double) {
            for index in scratch.indices { scratch[index] = previous[index] + fraction * (command[index] - previous[index]) }
        }
        var good = 0.0, bad = 1.0
        for _ in 0..<16 {
            let middle = (good + bad) / 2
            interpolate(middle)
            if boxViolation(scratch, box: box, inset: inset) <= allowed + 1e-12 { good = middle } else { bad = middle }
        }
        interpolate(good)
        for index in command.indices { command[index] = scratch[index] }
        return true
    }
}
