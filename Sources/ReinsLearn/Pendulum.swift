import Foundation
import ReinsCore

/// Gymnasium's Pendulum-v1, exactly: g 10, m 1, l 1, dt 0.05, speed clipped to ±8, torque to ±2,
/// reward −(θ² + 0.1·θ̇² + 0.001·u²) with θ normalised to [−π, π), 200 steps per episode, start
/// θ ∈ [−π, π], θ̇ ∈ [−1, 1]. Observation (cos θ, sin θ, θ̇); action in [−1, 1] scaled to ±2 N·m.
public struct Pendulum: Sendable {
    public static let gravity = 10.0, mass = 1.0, length = 1.0, timeStep = 0.05
    public static let maxSpeed = 8.0, maxTorque = 2.0, episodeSteps = 200

    public private(set) var angle = 0.0
    public private(set) var angularVelocity = 0.0
    public private(set) var steps = 0
    private var generator: SplitMix64

    public init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
        _ = reset()
    }

    public static let spec = ObservationSpec(images: [], proprioWidth: 3)

    public var observation: Observation {
        Observation(proprio: [Float(cos(angle)), Float(sin(angle)), Float(angularVelocity)])
    }

    public mutating func reset() -> Observation {
        angle = Double.random(in: -Double.pi...Double.pi, using: &generator)
        angularVelocity = Double.random(in: -1...1, using: &generator)
        steps = 0
        return observation
    }

    /// Sets the state directly (for tests against gymnasium's numbers).
    public mutating func setState(angle: Double, angularVelocity: Double) {
        self.angle = angle
        self.angularVelocity = angularVelocity
        steps = 0
    }

    /// Applies `action` (in [−1, 1]) for one step: the reward, and whether the 200-step limit ended
    /// the episode (a time limit, never a terminal state).
    public mutating func step(_ action: Float) -> (observation: Observation, reward: Double, truncated: Bool) {
        let torque = min(max(Double(action) * Self.maxTorque, -Self.maxTorque), Self.maxTorque)
        let normalised = Self.normalise(angle)
        let cost = normalised * normalised + 0.1 * angularVelocity * angularVelocity + 0.001 * torque * torque
        var velocity = angularVelocity
            + (3 * Self.gravity / (2 * Self.length) * sin(angle) + 3 / (Self.mass * Self.length * Self.length) * torque) * Self.timeStep
        velocity = min(max(velocity, -Self.maxSpeed), Self.maxSpeed)
        angle += velocity * Self.timeStep
        angularVelocity = velocity
        steps += 1
        return (observation, -cost, steps >= Self.episodeSteps)
    }

    /// θ wrapped to [−π, π), as gymnasium's angle_normalize.
    public static func normalise(_ angle: Double) -> Double {
        let wrapped = (angle + Double.pi).truncatingRemainder(dividingBy: 2 * Double.pi)
        return (wrapped < 0 ? wrapped + 2 * Double.pi : wrapped) - Double.pi
    }
}
