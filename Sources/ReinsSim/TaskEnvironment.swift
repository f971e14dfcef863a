import Foundation
import ReinsCore

/// The manipulation tasks a twin can run.
public enum TaskKind: String, CaseIterable, Sendable {
    /// Bring the gripper's tip within 2 cm of a cube placed at random on the table.
    case reach
    /// Grasp the cube and lift it 5 cm.
    case pick
}

/// One observation of a task: joint positions (the proprio vector, in the robot file's order) and,
/// when the environment renders, the camera frame as RGB bytes (height × width × 3, top row first,
/// the layout the OpenCV cameras deliver). The cube's position is not in it: a policy must see it.
public struct TaskObservation: Sendable {
    public var jointPositions: [Float]
    public var image: [UInt8]
}

/// What one step returned.
public struct TaskStep: Sendable {
    public var observation: TaskObservation
    public var reward: Double
    public var success: Bool
    /// The episode ended in success (nothing to bootstrap past it).
    public var terminal: Bool
    /// The step limit ended the episode.
    public var truncated: Bool
}

/// A task on a robot's twin, at the policy rate: seeded cube placement, actions as joint-target
/// changes, sparse reward (1 on success) or, with `dense`, minus the tip-to-cube distance in
/// metres, and the episode's end on success or after `maxSteps`.
///
/// An action has one value per motor in [−1, 1]: the change of that joint's target, in units of
/// `maxJointStep` radians per step. Targets stay within the joint limits.
public final class TaskEnvironment {
    public struct Options: Sendable {
        public var task: TaskKind
        public var dense = false
        public var maxSteps = 100
        public var policyHz = 10.0
        /// Camera frames are N×N; 0 renders nothing (proprio only).
        public var imageSize = 128
        /// The camera observed (default: the robot's first).
        public var camera: String?
        public var maxJointStep = 0.1

        public init(task: TaskKind) { self.task = task }
    }

    public let twin: RobotTwin
    public let options: Options
    public let simulation: Simulation
    public private(set) var steps = 0
    public private(set) var targets: [Double]
    private var generator: SplitMix64
    private let renderer: OffscreenRenderer?
    private let camera: String?
    private let tipSite: Int
    private let cubeJoint: Int
    private let cubeBody: Int
    private var cubeStartHeight = 0.0

    public static let cubeHalfSize = 0.015
    /// Where cubes are placed: x and y on the table, in metres, in front of the arm.
    public static let cubeRegion = (x: 0.15...0.28, y: -0.12...0.12)

    public init(twin: RobotTwin, options: Options, seed: UInt64, context: OffscreenContext? = nil) throws(SimError) {
        self.twin = twin
        self.options = options
        simulation = twin.simulation(at: twin.robot.homePoseRad)
        targets = twin.robot.homePoseRad
        generator = SplitMix64(seed: seed)
        guard let tip = twin.model.siteID("tip"), let cube = twin.model.jointID("cube"), let cubeBody = twin.model.bodyID("cube") else {
            throw .sceneMismatch(scene: twin.robot.scene.path, problems: ["tasks need a site \"tip\" and a free body \"cube\" with a joint \"cube\""])
        }
        tipSite = tip
        cubeJoint = cube
        self.cubeBody = cubeBody
        camera = options.camera ?? twin.robot.cameras.first?.name
        if options.imageSize > 0 {
            renderer = try OffscreenRenderer(model: twin.model, width: options.imageSize, height: options.imageSize, context: context)
        } else {
            renderer = nil
        }
    }

    public var tipPosition: SIMD3<Double> { simulation.sitePosition(tipSite) }
    public var cubePosition: SIMD3<Double> { simulation.bodyPosition(cubeBody) }
    public var tipToCube: Double { length(cubePosition - tipPosition) }

    /// Starts an episode: the arm at home, the cube at a random place in `cubeRegion`.
    public func reset() throws(SimError) -> TaskObservation {
        steps = 0
        targets = twin.robot.homePoseRad
        twin.hold(simulation, at: targets)
        let x = Double.random(in: Self.cubeRegion.x, using: &generator), y = Double.random(in: Self.cubeRegion.y, using: &generator)
        simulation.placeFreeBody(joint: cubeJoint, at: SIMD3(x, y, Self.cubeHalfSize))
        simulation.step(25)
        cubeStartHeight = cubePosition.z
        return try observe()
    }

    /// Applies one action for one policy period.
    public func step(_ action: [Double]) throws(SimError) -> TaskStep {
        precondition(action.count == targets.count, "an action has one value per motor (\(targets.count))")
        for (index, motor) in twin.robot.motors.enumerated() {
            let change = min(max(action[index], -1), 1) * options.maxJointStep
            targets[index] = min(max(targets[index] + change, motor.limitsRad.lowerBound), motor.limitsRad.upperBound)
        }
        var controls = simulation.controls
        for index in targets.indices { controls[index] = targets[index] }
        simulation.controls = controls
        simulation.step(max(1, Int((1 / options.policyHz / twin.model.timestep).rounded())))
        steps += 1
        let success = isSuccess
        let reward = options.dense ? -tipToCube + (success ? 1 : 0) : (success ? 1 : 0)
        return TaskStep(observation: try observe(), reward: reward, success: success, terminal: success,
                        truncated: !success && steps >= options.maxSteps)
    }

    public var isSuccess: Bool {
        switch options.task {
        case .reach: tipToCube <= 0.02
        case .pick: cubePosition.z - cubeStartHeight >= 0.05
        }
    }

    private func observe() throws(SimError) -> TaskObservation {
        var image: [UInt8] = []
        if let renderer { image = try renderer.render(simulation, camera: camera) }
        return TaskObservation(jointPositions: twin.joints.map { Float(simulation.jointPosition($0)) }, image: image)
    }

    /// The Jacobian of the tip's position with respect to each motor's joint, 3 × motors, row-major.
    public func tipJacobian() -> [Double] {
        var full: [Double] = []
        simulation.siteJacobian(tipSite, into: &full)
        let columns = twin.joints.map { twin.model.velocityAddress(ofJoint: $0) }
        var jacobian = [Double](repeating: 0, count: 3 * columns.count)
        for row in 0..<3 {
            for (index, column) in columns.enumerated() { jacobian[row * columns.count + index] = full[row * twin.model.velocityCount + column] }
        }
        return jacobian
    }
}
