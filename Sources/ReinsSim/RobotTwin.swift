import Foundation
import ReinsCore

/// A robot's MuJoCo twin: its scene, checked against the robot file, with the motors' joints and
/// actuators found by name.
public final class RobotTwin {
    public let robot: RobotDefinition
    public let model: MuJoCoModel
    /// The joint id of each motor, in the robot file's order.
    public let joints: [Int]

    /// Loads `robot.scene` and checks it: every motor has a joint and an actuator of its name, in
    /// the robot file's order and before any other joint (the cube's), with the same limits; every
    /// camera of the robot file is in the scene.
    public init(robot: RobotDefinition) throws(SimError) {
        self.robot = robot
        let model = try MuJoCoModel(contentsOf: robot.scene)
        self.model = model
        var problems: [String] = []
        var joints: [Int] = []
        for (index, motor) in robot.motors.enumerated() {
            guard let joint = model.jointID(motor.name) else {
                problems.append("no joint \(motor.name)")
                continue
            }
            joints.append(joint)
            if joint != index { problems.append("joint \(motor.name) is joint \(joint), the robot file has it at \(index)") }
            if let range = model.jointRange(joint) {
                if abs(range.lowerBound - motor.limitsRad.lowerBound) > 1e-6 || abs(range.upperBound - motor.limitsRad.upperBound) > 1e-6 {
                    problems.append("joint \(motor.name) range [\(range.lowerBound), \(range.upperBound)] differs from limits_rad [\(motor.limitsRad.lowerBound), \(motor.limitsRad.upperBound)]")
                }
            } else {
                problems.append("joint \(motor.name) has no range")
            }
            if index >= model.actuatorNames.count || model.actuatorNames[index] != motor.name {
                problems.append("actuator \(index) should be \(motor.name)")
            }
        }
        for camera in robot.cameras where !model.cameraNames.contains(camera.name) {
            problems.append("no camera \(camera.name) (the scene has \(model.cameraNames.joined(separator: ", ")))")
        }
        guard problems.isEmpty else { throw .sceneMismatch(scene: robot.scene.path, problems: problems) }
        self.joints = joints
    }

    private init(robot: RobotDefinition, model: MuJoCoModel, joints: [Int]) {
        self.robot = robot
        self.model = model
        self.joints = joints
    }

    /// The same twin with a model of its own (see `MuJoCoModel.copy`).
    public func copy() -> RobotTwin {
        RobotTwin(robot: robot, model: model.copy(), joints: joints)
    }

    /// A new simulation with the arm at `pose` (one angle per motor) and its actuators holding it.
    public func simulation(at pose: [Double]) -> Simulation {
        let simulation = Simulation(model: model)
        hold(simulation, at: pose)
        return simulation
    }

    /// Puts the arm at `pose` and sets the position actuators' targets to it.
    public func hold(_ simulation: Simulation, at pose: [Double]) {
        precondition(pose.count == joints.count, "a pose has one angle per motor")
        simulation.setJointPositions(Array(zip(joints, pose)).map { (joint: $0.0, value: $0.1) })
        var controls = simulation.controls
        for index in pose.indices { controls[index] = pose[index] }
        simulation.controls = controls
    }

    /// A pose drawn uniformly within each motor's limits, kept 10 % away from each end.
    public func randomPose(using generator: inout some RandomNumberGenerator) -> [Double] {
        robot.motors.map { motor in
            let margin = 0.1 * (motor.limitsRad.upperBound - motor.limitsRad.lowerBound)
            return Double.random(in: (motor.limitsRad.lowerBound + margin)...(motor.limitsRad.upperBound - margin), using: &generator)
        }
    }
}
