import CMuJoCo
import ReinsCore

/// Gravity torques from the twin's MuJoCo model: the recursive Newton–Euler bias forces at zero
/// velocity (`mj_rne`), which is g(q) with everything the chain carries (links, motors' housings,
/// the gripper's fingers). Joint friction, damping and contacts are not part of it: a controller
/// that compensates gravity leaves those to its damping term and the world.
///
/// One instance per thread: it owns its own `mjData`. `gravity(_:into:)` allocates nothing.
public final class TwinDynamics: ArmDynamics {
    private let model: MuJoCoModel
    private let data: UnsafeMutablePointer<mjData>
    private let positionAddresses: [Int]
    private let velocityAddresses: [Int]
    /// Joints (motor order) whose gravity is reported; the rest (a gripper on its own drive) get 0.
    private let compensated: Int
    private var bias: [Double]

    /// `joints`: the MuJoCo joint ids in motor order; the first `compensated` of them get their
    /// gravity torque.
    public init(model: MuJoCoModel, joints: [Int], compensated: Int? = nil) {
        self.model = model
        positionAddresses = joints.map { model.positionAddress(ofJoint: $0) }
        velocityAddresses = joints.map { model.velocityAddress(ofJoint: $0) }
        self.compensated = min(compensated ?? joints.count, joints.count)
        data = mj_makeData(model.pointer)
        bias = [Double](repeating: 0, count: model.velocityCount)
    }

    /// What threads make their own instances from: every motor but a last one named "gripper",
    /// which a drive of its own holds in position.
    public static func model(of twin: RobotTwin) -> ArmDynamicsModel {
        let (model, joints, compensated) = (twin.model, twin.joints, twin.robot.armJointCount)
        return ArmDynamicsModel { TwinDynamics(model: model, joints: joints, compensated: compensated) }
    }

    deinit {
        mj_deleteData(data)
    }

    public func gravity(_ joints: [Double], into torques: inout [Double]) {
        for (index, address) in positionAddresses.enumerated() where index < joints.count { data.pointee.qpos[address] = joints[index] }
        for index in 0..<model.velocityCount { data.pointee.qvel[index] = 0 }
        mj_kinematics(model.pointer, data)
        mj_comPos(model.pointer, data)
        bias.withUnsafeMutableBufferPointer { mj_rne(model.pointer, data, 0, $0.baseAddress!) }
        for index in torques.indices {
            torques[index] = index < compensated && index < velocityAddresses.count ? bias[velocityAddresses[index]] : 0
        }
    }
}
