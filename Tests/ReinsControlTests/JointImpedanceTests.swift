import Foundation
import ReinsControl
import ReinsCore
import ReinsSim
import Testing

/// The ec6 twin's physics at the bus rate (1 kHz) under the joint impedance controller, no bus in
/// between: the controller's own properties, measured in MuJoCo.
@Suite("the joint impedance controller on the ec6 twin")
struct JointImpedanceTests {
    static let armJoints = ["shoulder_pan", "shoulder_lift", "elbow", "wrist_1", "wrist_2", "wrist_3"]
    /// The tool pointing down, its tip 0.1 m over the table at x = 0.5 m.
    static let home = [0.0, -0.30, 0.0, 1.27, 0.0, 0.0]

    /// The scene with `obstacle` (an MJCF geom) added to the world.
    static func model(obstacle: String? = nil) throws -> MuJoCoModel {
        var xml = try String(contentsOf: repositoryRoot.appendingPathComponent("Robots/ec6/scene.xml"), encoding: .utf8)
        if let obstacle { xml = xml.replacingOccurrences(of: "  </worldbody>", with: "    \(obstacle)\n  </worldbody>") }
        return try MuJoCoModel(xml: xml, name: "ec6 scene")
    }

    /// Steps `simulation` for `seconds` at its timestep with `torques(q, q̇, τ)` on the arm's
    /// motors (the gripper held shut), calling `observe` after each step.
    static func run(_ simulation: Simulation, joints: [Int], seconds: Double,
                    torques: ([Double], [Double], inout [Double]) -> Void, observe: () -> Void = {}) {
        var q = [Double](repeating: 0, count: joints.count), velocity = q, tau = q
        var controls = simulation.controls
        for _ in 0..<Int((seconds / simulation.model.timestep).rounded()) {
            for (index, joint) in joints.enumerated() {
                q[index] = simulation.jointPosition(joint)
                velocity[index] = simulation.jointVelocity(joint)
            }
            torques(q, velocity, &tau)
            for index in joints.indices { controls[index] = tau[index] }
            simulation.controls = controls
            simulation.step()
            observe()
        }
    }

    static func start(_ model: MuJoCoModel, pose: [Double]) throws -> (Simulation, [Int]) {
        let joints = try armJoints.map { try #require(model.jointID($0)) }
        let simulation = Simulation(model: model)
        simulation.setJointPositions(Array(zip(joints, pose)).map { (joint: $0, value: $1) })
        return (simulation, joints)
    }

    static func gains(stiffness: Double, damping: Double, clip: Double = 0.05) -> ImpedanceGains {
        ImpedanceGains(stiffness: [Double](repeating: stiffness, count: 6), damping: [Double](repeating: damping, count: 6),
                       clip: [Double](repeating: clip, count: 6), torqueLimit: [150, 150, 150, 28, 28, 28])
    }

    @Test("gravity compensation with K = 0 holds the arm within 1 mrad for 10 s; without it, or 10 % short, the arm sags",
          arguments: [[0.0, -0.30, 0.0, 1.27, 0.0, 0.0], [0.4, -1.2, 1.2, -0.5, 0.3, 0.2], [-0.8, 0.3, -0.9, 0.2, -0.6, 1.0]])
    func gravityCompensationHolds(pose: [Double]) throws {
        let model = try Self.model()
        func drift(scale: Double, seconds: Double) throws -> Double {
            let (simulation, joints) = try Self.start(model, pose: pose)
            let controller = JointImpedance(gains: Self.gains(stiffness: 0, damping: 0), dynamics: TwinDynamics(model: model, joints: joints))
            Self.run(simulation, joints: joints, seconds: seconds) { q, velocity, tau in
                controller.torques(reference: q, positions: q, velocities: velocity, into: &tau)
                for index in tau.indices { tau[index] *= scale }
            }
            return zip(joints, pose).map { abs(simulation.jointPosition($0) - $1) }.max()!
        }
        let held = try drift(scale: 1, seconds: 10)
        #expect(held < 1e-3, "drifted \(held) rad in 10 s")
        #expect(try drift(scale: 0, seconds: 2) > 0.05)
        #expect(try drift(scale: 0.9, seconds: 2) > 1e-3)
    }

    @Test("a 0.1 rad step on the elbow settles within friction's error in half a second without ringing")
    func stepResponse() throws {
        let model = try Self.model()
        let (simulation, joints) = try Self.start(model, pose: Self.home)
        let controller = JointImpedance(gains: Self.gains(stiffness: 800, damping: 60, clip: 0.2), dynamics: TwinDynamics(model: model, joints: joints))
        var reference = Self.home
        reference[2] += 0.1
        var peak = 0.0, time = 0.0, settled: Double?
        Self.run(simulation, joints: joints, seconds: 1.5, torques: { q, velocity, tau in
            controller.torques(reference: reference, positions: q, velocities: velocity, into: &tau)
        }, observe: {
            time += model.timestep
            let moved = simulation.jointPosition(joints[2]) - Self.home[2]
            peak = max(peak, moved)
            // Dry friction (1.5 N·m) over the stiffness leaves about 2 mrad.
            if abs(moved - 0.1) < 0.005 { settled = settled ?? time } else { settled = nil }
        })
        let settledAt = try #require(settled, "never settled within 5 mrad")
        #expect(settledAt < 0.5, "settled after \(settledAt) s")
        #expect(peak < 0.12, "overshot to \(peak) rad")
    }

    @Test("pressed against a block, the compliant arm pushes with at most K·clip beyond its weight; a stiff one pushes many times harder")
    func blockedArmForceIsBounded() throws {
        // A block just under the fingertips at the home pose (its top 0.08 m up, the tips at about
        // 0.09 m); the reference asks the shoulder to lean 0.5 rad further forward, into it.
        let model = try Self.model(obstacle: #"<geom name="block" type="box" pos="0.5 0 0.04" size="0.1 0.1 0.04" rgba="0.5 0.5 0.5 1"/>"#)
        var reference = Self.home
        reference[1] -= 0.5
        func push(_ gains: ImpedanceGains) throws -> (force: Double, blockedShort: Double) {
            let (simulation, joints) = try Self.start(model, pose: Self.home)
            let controller = JointImpedance(gains: gains, dynamics: TwinDynamics(model: model, joints: joints))
            var time = 0.0, force = 0.0
            Self.run(simulation, joints: joints, seconds: 2, torques: { q, velocity, tau in
                controller.torques(reference: reference, positions: q, velocities: velocity, into: &tau)
            }, observe: {
                time += model.timestep
                if time > 1 { force = max(force, abs(simulation.constraintForce(joint: joints[1]))) }
            })
            return (force, abs(reference[1] - simulation.jointPosition(joints[1])))
        }
        let compliant = Self.gains(stiffness: 300, damping: 40, clip: 0.05)
        let soft = try push(compliant)
        #expect(soft.blockedShort > 0.3, "the block did not stop the arm")
        // Beyond its weight the shoulder pushes with K·clip = 15 N·m; its dry friction (1.5 N·m) adds to what the constraint carries.
        #expect(soft.force <= compliant.pushBound(1) + 1.5 + 0.5, "the constraint carried \(soft.force) N·m")
        let stiff = try push(Self.gains(stiffness: 3000, damping: 120, clip: 10))
        #expect(stiff.force > 5 * soft.force, "stiff \(stiff.force) N·m against compliant \(soft.force) N·m")
    }

    @Test("the output is clamped to each drive's torque limit, and the clamps are counted")
    func clampsToTheTorqueLimit() throws {
        final class NoWeight: ArmDynamics {
            func gravity(_ joints: [Double], into torques: inout [Double]) { for index in torques.indices { torques[index] = 0 } }
        }
        let controller = JointImpedance(gains: Self.gains(stiffness: 1000, damping: 0, clip: 1), dynamics: NoWeight())
        var tau = [Double](repeating: 0, count: 6)
        let clamped = controller.torques(reference: [1, -1, 0.1, 1, 0, 0.01], positions: [Double](repeating: 0, count: 6),
                                         velocities: [Double](repeating: 0, count: 6), into: &tau)
        #expect(tau == [150, -150, 100, 28, 0, 10] && clamped == 3)
    }
}
