/// An arm's rigid-body dynamics, as far as a torque controller needs them: the joint torques that
/// hold it still against gravity. An instance keeps scratch state (the twin's implementation, a
/// MuJoCo `mjData`) and belongs to one thread; other threads make their own from an
/// `ArmDynamicsModel`, as with `Kinematics`.
public protocol ArmDynamics: AnyObject {
    /// The joint torques (N·m, or N on a slide joint; motor order) that hold `joints` still
    /// against gravity, written into `torques`. A gripper on a drive of its own gets 0.
    /// Realtime: allocates nothing.
    func gravity(_ joints: [Double], into torques: inout [Double])
}

/// Makes an `ArmDynamics` instance for the thread that asks (the control loop's controller).
public struct ArmDynamicsModel: Sendable {
    private let make: @Sendable () -> any ArmDynamics

    public init(_ make: @escaping @Sendable () -> any ArmDynamics) {
        self.make = make
    }

    /// A new instance, to be used by the calling thread only.
    public func makeInstance() -> any ArmDynamics { make() }
}
