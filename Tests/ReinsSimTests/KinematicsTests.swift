import Foundation
import ReinsCore
import Testing
@testable import ReinsSim

@Suite("Arm kinematics")
struct KinematicsTests {
    @Test("forward kinematics puts the tip where the simulation has it", arguments: ["so101", "omx"])
    func forwardMatchesSimulation(robot: String) throws {
        let twin = try RobotTwin(robot: try catalog.robot(robot))
        let kinematics = try ArmKinematics(twin: twin)
        var generator = SplitMix64(seed: 5)
        let tip = try #require(twin.model.siteID("tip"))
        for _ in 0..<20 {
            let pose = twin.randomPose(using: &generator)
            let simulation = twin.simulation(at: pose)
            #expect(length(kinematics.pose(pose).position - simulation.sitePosition(tip)) < 1e-9)
        }
    }

    @Test("the 6-D Jacobian matches finite differences of the pose", arguments: ["so101", "omx"])
    func jacobian(robot: String) throws {
        let twin = try RobotTwin(robot: try catalog.robot(robot))
        let kinematics = try ArmKinematics(twin: twin)
        var generator = SplitMix64(seed: 6)
        let joints = twin.randomPose(using: &generator)
        let jacobian = kinematics.jacobian(joints)
        let n = kinematics.jointCount
        let h = 1e-6
        for column in 0..<n {
            var plus = joints, minus = joints
            plus[column] += h
            minus[column] -= h
            let a = kinematics.pose(plus), b = kinematics.pose(minus)
            let linear = (a.position - b.position) / (2 * h)
            let angular = (a.rotation * b.rotation.transposed).rotationVector / (2 * h)
            for row in 0..<3 {
                #expect(abs(jacobian[row * n + column] - linear[row]) < 1e-6)
                #expect(abs(jacobian[(row + 3) * n + column] - angular[row]) < 1e-6)
            }
        }
    }

    @Test("inverse kinematics reaches random reachable poses within 1 mm and 1°", arguments: ["so101", "omx"])
    func reachesReachable(robot: String) throws {
        let twin = try RobotTwin(robot: try catalog.robot(robot))
        let kinematics = try ArmKinematics(twin: twin)
        var generator = SplitMix64(seed: 7)
        for _ in 0..<40 {
            let target = kinematics.pose(twin.randomPose(using: &generator))
            let solution = kinematics.solve(target: target, from: twin.robot.homePoseRad)
            let reached = kinematics.pose(solution.joints)
            #expect(length(reached.position - target.position) < 0.001)
            #expect(reached.rotation.angle(to: target.rotation) < 1 * Double.pi / 180)
            #expect(solution.converged)
            for (index, limits) in kinematics.limits.enumerated() { #expect(limits.contains(solution.joints[index])) }
        }
    }

    @Test("an unreachable target gives the nearest pose the limits allow, finite, flagged as not reached", arguments: ["so101", "omx"])
    func unreachable(robot: String) throws {
        let twin = try RobotTwin(robot: try catalog.robot(robot))
        let kinematics = try ArmKinematics(twin: twin)
        let home = twin.robot.homePoseRad
        let start = kinematics.pose(home)
        for target in [Vector3(1.5, 0.2, 0.3), Vector3(0.0, 0.0, 2.0), Vector3(0.1, 0.0, -0.5)] {
            let goal = Pose(position: target, rotation: start.rotation)
            let solution = kinematics.solve(target: goal, from: home)
            #expect(!solution.converged)
            #expect(solution.joints.allSatisfy { $0.isFinite })
            for (index, limits) in kinematics.limits.enumerated() { #expect(limits.contains(solution.joints[index])) }
            #expect(length(kinematics.pose(solution.joints).position - target) < length(start.position - target))
            #expect(solution.joints.last == home.last, "the gripper passes through untouched")
        }
    }

    @Test("end-effector twists: translation follows the tool frame, and successive rotations compose as rotation vectors")
    func twists() throws {
        let twin = try RobotTwin(robot: try catalog.robot("so101"))
        let kinematics = try ArmKinematics(twin: twin)
        var joints = twin.robot.homePoseRad
        let start = kinematics.pose(joints)
        // 1 cm along the tool's own z axis, ten times.
        for _ in 0..<10 { joints = kinematics.follow(linear: Vector3(0, 0, 0.001), angular: .zero, from: joints).joints }
        let expected = start.position + start.rotation * Vector3(0, 0, 0.01)
        #expect(length(kinematics.pose(joints).position - expected) < 0.001)

        // Two rotations, about the tool's x then its new z, on a reachable pose: the target is
        // R·exp(a)·exp(b); a solver that added the angles would land on a different orientation.
        let a = Vector3(0.4, 0, 0), b = Vector3(0, 0, 0.5)
        let target = start.moved(byLocal: .zero, angular: a).moved(byLocal: .zero, angular: b)
        let wrong = Pose(position: start.position, rotation: start.rotation * Rotation(rotationVector: a + b))
        #expect(target.rotation.angle(to: wrong.rotation) > 0.08)
        var options = IKOptions()
        options.rotationWeight = 1
        let solution = kinematics.solve(target: target, from: twin.robot.homePoseRad, options: options)
        let reached = kinematics.pose(solution.joints)
        // A 5-joint arm cannot hold position and every orientation; check the orientation it reached
        // is nearer the composed rotation than the summed one.
        #expect(reached.rotation.angle(to: target.rotation) < reached.rotation.angle(to: wrong.rotation))
    }
}
