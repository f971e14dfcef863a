import ReinsCore

/// Per-joint gains of a joint-space impedance controller, in motor order.
public struct ImpedanceGains: Sendable, Equatable {
    /// N·m/rad (N/m on a slide joint).
    public var stiffness: [Double]
    /// N·m·s/rad.
    public var damping: [Double]
    /// The farthest the reference may lead the measured joint, in radians: a blocked joint pushes
    /// with at most stiffness × clip beyond holding its own weight, as HIL-SERL's per-axis clip
    /// bounds the Franka's contact force.
    public var clip: [Double]
    /// The drive's torque limit (N·m); the controller's output is clamped to ± this.
    public var torqueLimit: [Double]

    public init(stiffness: [Double], damping: [Double], clip: [Double], torqueLimit: [Double]) {
        self.stiffness = stiffness
        self.damping = damping
        self.clip = clip
        self.torqueLimit = torqueLimit
    }

    /// The largest torque beyond gravity a joint can push with while it is held still: stiffness × clip.
    public func pushBound(_ joint: Int) -> Double { stiffness[joint] * clip[joint] }
}

/// The torque a compliant arm's drives are given at the bus rate: τ = K·clip(q* − q) − D·q̇ + g(q),
/// each clamped to the drive's limit. With K and D at zero the arm floats, holding its own weight;
/// against an obstacle it pushes with at most K·clip. Runs on the control loop's thread.
/// Realtime: `torques(reference:positions:velocities:into:)` allocates nothing.
public final class JointImpedance {
    public let gains: ImpedanceGains
    private let dynamics: any ArmDynamics
    private var gravity: [Double]

    public init(gains: ImpedanceGains, dynamics: any ArmDynamics) {
        self.gains = gains
        self.dynamics = dynamics
        gravity = [Double](repeating: 0, count: gains.stiffness.count)
    }

    /// The joints' torques for `reference` (the interpolated, safety-filtered target) at the
    /// measured `positions` and `velocities`, into `torques`. Returns how many were clamped to
    /// their limit.
    @discardableResult
    public func torques(reference: [Double], positions: [Double], velocities: [Double], into torques: inout [Double]) -> Int {
        dynamics.gravity(positions, into: &gravity)
        var clamped = 0
        for joint in torques.indices {
            let clip = gains.clip[joint]
            let error = min(clip, max(-clip, reference[joint] - positions[joint]))
            let raw = gains.stiffness[joint] * error - gains.damping[joint] * velocities[joint] + gravity[joint]
            let limit = gains.torqueLimit[joint]
            torques[joint] = min(limit, max(-limit, raw))
            if abs(raw) > limit { clamped += 1 }
        }
        return clamped
    }
}
