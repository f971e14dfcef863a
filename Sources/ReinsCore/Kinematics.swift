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
