import CMuJoCo
import ReinsCore

/// How inverse kinematics weighs and stops.
public struct IKOptions: Sendable, Equatable {
    /// Metres of position error one radian of orientation error counts as. Below 1 the solver
    /// favours position, which is what an arm with fewer than six joints can always follow.
    public var rotationWeight = 0.1
    public var positionTolerance = 1e-4
    public var rotationTolerance = 1e-3
    public var maxIterations = 200
    /// Fresh starts from seeded random poses when the first descent stalls short of the target.
    public var restarts = 8
    public var seed: UInt64 = 1

    public init() {}
}

/// What inverse kinematics found: the best joints, and how far their pose is from the target.
public struct IKSolution: Sendable, Equatable {
    public var joints: [Double]
    public var positionError: Double
    /// Radians.
    public var rotationError: Double
    /// Within both tolerances.
    public var converged: Bool
    public var iterations: Int
}

/// The arm's kinematic chain from its MuJoCo model: forward kinematics of a site (the tip), its
/// 6-D Jacobian, and weighted damped-least-squares inverse kinematics. The gripper is not part of
/// the chain; joint vectors may carry it as a last entry, which is ignored and passed through.
///
/// One instance per thread: it owns its own `mjData`. `pose(_:)` allocates nothing, so the
/// realtime loop's safety layer may call it. Threads get their own from `model(of:)`.
public final class ArmKinematics: Kinematics {
    public let robot: RobotDefinition
    /// Joints in the chain: every motor except a last one named "gripper".
    public let jointCount: Int
    public let limits: [ClosedRange<Double>]
    private let model: MuJoCoModel
    private let data: UnsafeMutablePointer<mjData>
    private let site: Int32
    private let positionAddresses: [Int]
    private let velocityAddresses: [Int]
    private var translational: [Double]
    private var rotational: [Double]

    public convenience init(twin: RobotTwin, site name: String = "tip") throws(SimError) {
        guard let site = twin.model.siteID(name) else {
            throw .sceneMismatch(scene: twin.robot.scene.path, problems: ["no site \"\(name)\" marks the end effector"])
        }
        self.init(model: twin.model, robot: twin.robot, joints: twin.joints, site: site)
    }

    private init(model: MuJoCoModel, robot: RobotDefinition, joints: [Int], site: Int) {
        self.robot = robot
        self.model = model
        self.site = Int32(site)
        jointCount = robot.armJointCount
        let chain = joints.prefix(jointCount)
        limits = robot.motors.prefix(jointCount).map(\.limitsRad)
        positionAddresses = chain.map { model.positionAddress(ofJoint: $0) }
        velocityAddresses = chain.map { model.velocityAddress(ofJoint: $0) }
        data = mj_makeData(model.pointer)
        translational = [Double](repeating: 0, count: 3 * model.velocityCount)
        rotational = translational
    }

    /// What threads make their own instances from: the twin's model is only read, never written
    /// (the emulator's physics steps a copy of its own).
    public static func model(of twin: RobotTwin, site name: String = "tip") throws(SimError) -> KinematicsModel {
        guard let site = twin.model.siteID(name) else {
            throw .sceneMismatch(scene: twin.robot.scene.path, problems: ["no site \"\(name)\" marks the end effector"])
        }
        let (model, robot, joints) = (twin.model, twin.robot, twin.joints)
        return KinematicsModel { ArmKinematics(model: model, robot: robot, joints: joints, site: site) }
    }

    deinit {
        mj_deleteData(data)
    }

    /// The site's pose in the base frame for `joints` (the chain's joints first).
    public func pose(_ joints: [Double]) -> Pose {
        place(joints)
        return Pose(position: Vector3(data.pointee.site_xpos[3 * Int(site)], data.pointee.site_xpos[3 * Int(site) + 1],
                                      data.pointee.site_xpos[3 * Int(site) + 2]),
                    rotation: Rotation(rowMajor: data.pointee.site_xmat + 9 * Int(site)))
    }

    /// The 6 × `jointCount` Jacobian (rows: linear velocity, then angular velocity, both in the
    /// base frame), row-major, at `joints`.
    public func jacobian(_ joints: [Double]) -> [Double] {
        place(joints)
        mj_comPos(model.pointer, data)
        mj_jacSite(model.pointer, data, &translational, &rotational, site)
        let n = jointCount
        var jacobian = [Double](repeating: 0, count: 6 * n)
        let nv = model.velocityCount
        for (column, address) in velocityAddresses.enumerated() {
            for row in 0..<3 {
                jacobian[row * n + column] = translational[row * nv + address]
                jacobian[(row + 3) * n + column] = rotational[row * nv + address]
            }
        }
        return jacobian
    }

    /// Joints whose site pose is as near `target` as the chain and its limits allow: weighted
    /// damped least squares (Levenberg–Marquardt), position error plus `rotationWeight` times the
    /// rotation vector of the orientation error, both in the base frame. If the descent stalls,
    /// it starts again from seeded random poses and keeps the best.
    public func solve(target: Pose, from start: [Double], options: IKOptions = IKOptions()) -> IKSolution {
        var best = descend(to: target, from: start, options: options)
        var generator = SplitMix64(seed: options.seed)
        var attempt = 0, iterations = best.iterations
        while !best.converged && attempt < options.restarts {
            attempt += 1
            var seedPose = start
            for index in 0..<jointCount {
                seedPose[index] = Double.random(in: limits[index], using: &generator)
            }
            let candidate = descend(to: target, from: seedPose, options: options)
            iterations += candidate.iterations
            if weightedError(candidate, options) < weightedError(best, options) { best = candidate }
        }
        best.iterations = iterations
        return best
    }

    /// One policy step of end-effector control: the joints that move the site by a twist in its
    /// own frame (`linear` metres, `angular` a rotation vector in radians) from `joints`. An arm
    /// with fewer than six joints follows the part of the twist it can reach.
    public func follow(linear: Vector3, angular: Vector3, from joints: [Double], options: IKOptions = IKOptions()) -> IKSolution {
        var stepOptions = options
        stepOptions.restarts = 0
        stepOptions.maxIterations = min(options.maxIterations, 20)
        return solve(target: pose(joints).moved(byLocal: linear, angular: angular), from: joints, options: stepOptions)
    }

    public func joints(moving joints: [Double], linear: Vector3, angular: Vector3) -> [Double] {
        follow(linear: linear, angular: angular, from: joints).joints
    }

    private func weightedError(_ solution: IKSolution, _ options: IKOptions) -> Double {
        let rotation = options.rotationWeight * solution.rotationError
        return solution.positionError * solution.positionError + rotation * rotation
    }

    private func descend(to target: Pose, from start: [Double], options: IKOptions) -> IKSolution {
        let n = jointCount
        var joints = start
        for index in 0..<n { joints[index] = min(max(joints[index], limits[index].lowerBound), limits[index].upperBound) }
        var error = poseError(joints, target, options.rotationWeight)
        var cost = dot(error.position, error.position) + dot(error.rotation, error.rotation)
        var damping = 1e-3
        var iterations = 0
        while iterations < options.maxIterations {
            if length(error.position) < options.positionTolerance
                && length(error.rotation) / options.rotationWeight < options.rotationTolerance { break }
            iterations += 1
            let jacobian = self.jacobian(joints)
            let residual = [error.position.x, error.position.y, error.position.z,
                            error.rotation.x, error.rotation.y, error.rotation.z]
            // Normal equations (JᵀWJ + λ²I) Δ = JᵀW e, with W's rotation rows already scaled.
            var normal = [Double](repeating: 0, count: n * n)
            var rightSide = [Double](repeating: 0, count: n)
            for row in 0..<6 {
                let weight = row < 3 ? 1 : options.rotationWeight
                for i in 0..<n {
                    let a = jacobian[row * n + i] * weight
                    rightSide[i] += a * residual[row]
                    for j in 0..<n { normal[i * n + j] += a * jacobian[row * n + j] * weight }
                }
            }
            for i in 0..<n { normal[i * n + i] += damping * damping }
            guard let step = Self.choleskySolve(normal, rightSide, n) else { damping *= 4; continue }
            var trial = joints
            for index in 0..<n {
                trial[index] = min(max(joints[index] + step[index], limits[index].lowerBound), limits[index].upperBound)
            }
            let trialError = poseError(trial, target, options.rotationWeight)
            let trialCost = dot(trialError.position, trialError.position) + dot(trialError.rotation, trialError.rotation)
            if trialCost < cost {
                (joints, error, cost) = (trial, trialError, trialCost)
                damping = max(damping / 3, 1e-6)
            } else {
                damping *= 4
                if damping > 10 { break }  // No step improves: a limit or the edge of the reach.
            }
        }
        let positionError = length(error.position), rotationError = length(error.rotation) / options.rotationWeight
        return IKSolution(joints: joints, positionError: positionError, rotationError: rotationError,
                          converged: positionError < options.positionTolerance && rotationError < options.rotationTolerance,
                          iterations: iterations)
    }

    /// Target minus current, in the base frame: position, and the rotation vector of R* Rᵀ scaled.
    private func poseError(_ joints: [Double], _ target: Pose, _ rotationWeight: Double) -> (position: Vector3, rotation: Vector3) {
        let current = pose(joints)
        return (target.position - current.position, (target.rotation * current.rotation.transposed).rotationVector * rotationWeight)
    }

    private func place(_ joints: [Double]) {
        precondition(joints.count >= jointCount, "the arm has \(jointCount) joints, got \(joints.count) values")
        for index in positionAddresses.indices { data.pointee.qpos[positionAddresses[index]] = joints[index] }
        mj_kinematics(model.pointer, data)
    }

    /// Solves a symmetric positive definite n × n system; nil when it is not positive definite.
    static func choleskySolve(_ matrix: [Double], _ vector: [Double], _ n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = matrix[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard sum > 0 else { return nil }
                    l[i * n + i] = sum.squareRoot()
                } else {
                    l[i * n + j] = sum / l[j * n + j]
                }
            }
        }
        var y = vector
        for i in 0..<n {
            for k in 0..<i { y[i] -= l[i * n + k] * y[k] }
            y[i] /= l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in (i + 1)..<n { y[i] -= l[k * n + i] * y[k] }
            y[i] /= l[i * n + i]
        }
        return y
    }
}
