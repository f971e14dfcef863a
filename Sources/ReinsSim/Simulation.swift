import CMuJoCo

/// The state of one simulated world: an `mjData` over a shared model. Used by one thread at a time.
public final class Simulation {
    public let model: MuJoCoModel
    let data: UnsafeMutablePointer<mjData>

    public init(model: MuJoCoModel) {
        self.model = model
        data = mj_makeData(model.pointer)
        mj_forward(model.pointer, data)
    }

    deinit {
        mj_deleteData(data)
    }

    /// Simulated time in seconds.
    public var time: Double { data.pointee.time }

    /// Advances the physics by `steps` time steps.
    public func step(_ steps: Int = 1) {
        for _ in 0..<steps { mj_step(model.pointer, data) }
    }

    /// Generalized positions (`qpos`).
    public var positions: [Double] {
        get { Array(UnsafeBufferPointer(start: data.pointee.qpos, count: model.positionCount)) }
        set {
            precondition(newValue.count == model.positionCount, "qpos has \(model.positionCount) entries")
            newValue.withUnsafeBufferPointer { data.pointee.qpos.update(from: $0.baseAddress!, count: $0.count) }
            mj_forward(model.pointer, data)
        }
    }

    /// Takes every generalized position from another simulation of the same model and computes only
    /// what drawing needs (bodies', geoms' and cameras' poses), not forces: a renderer's own copy of
    /// the world, which reads nothing the physics thread writes (actuator gains).
    public func pose(from positions: [Double]) {
        precondition(positions.count == model.positionCount, "qpos has \(model.positionCount) entries")
        positions.withUnsafeBufferPointer { data.pointee.qpos.update(from: $0.baseAddress!, count: $0.count) }
        mj_kinematics(model.pointer, data)
        mj_camlight(model.pointer, data)
    }

    /// Actuator controls (`ctrl`).
    public var controls: [Double] {
        get { Array(UnsafeBufferPointer(start: data.pointee.ctrl, count: model.actuatorCount)) }
        set {
            precondition(newValue.count == model.actuatorCount, "ctrl has \(model.actuatorCount) entries")
            newValue.withUnsafeBufferPointer { data.pointee.ctrl.update(from: $0.baseAddress!, count: $0.count) }
        }
    }

    /// A hinge or slide joint's position.
    public func jointPosition(_ id: Int) -> Double { data.pointee.qpos[model.positionAddress(ofJoint: id)] }

    /// A hinge or slide joint's velocity.
    public func jointVelocity(_ id: Int) -> Double { data.pointee.qvel[model.velocityAddress(ofJoint: id)] }

    /// The actuators' generalized force on a hinge or slide joint (its motor torque).
    public func actuatorForce(joint id: Int) -> Double { data.pointee.qfrc_actuator[model.velocityAddress(ofJoint: id)] }

    /// The constraints' generalized force on a hinge or slide joint: what contacts, limits and
    /// its dry friction push it with (`qfrc_constraint`).
    public func constraintForce(joint id: Int) -> Double { data.pointee.qfrc_constraint[model.velocityAddress(ofJoint: id)] }

    /// Holds a hinge or slide joint at `position`, at rest, for the next step, as an engaged brake
    /// does: nothing else is recomputed (the step does it).
    public func hold(joint id: Int, at position: Double) {
        data.pointee.qpos[model.positionAddress(ofJoint: id)] = position
        data.pointee.qvel[model.velocityAddress(ofJoint: id)] = 0
    }

    /// Sets hinge or slide joints' positions (by joint id) and recomputes the derived state.
    public func setJointPositions(_ positions: [(joint: Int, value: Double)]) {
        for (joint, value) in positions { data.pointee.qpos[model.positionAddress(ofJoint: joint)] = value }
        mj_forward(model.pointer, data)
    }

    /// A site's position in the world frame, in metres.
    public func sitePosition(_ id: Int) -> SIMD3<Double> {
        let p = data.pointee.site_xpos + 3 * id
        return SIMD3(p[0], p[1], p[2])
    }

    /// The site's translational Jacobian, 3 × nv row-major, into `jacobian`.
    public func siteJacobian(_ id: Int, into jacobian: inout [Double]) {
        if jacobian.count != 3 * model.velocityCount { jacobian = [Double](repeating: 0, count: 3 * model.velocityCount) }
        jacobian.withUnsafeMutableBufferPointer { mj_jacSite(model.pointer, data, $0.baseAddress!, nil, Int32(id)) }
    }

    /// Places a free joint's body at `position`, upright and at rest.
    public func placeFreeBody(joint id: Int, at position: SIMD3<Double>) {
        let q = data.pointee.qpos + model.positionAddress(ofJoint: id)
        (q[0], q[1], q[2], q[3], q[4], q[5], q[6]) = (position.x, position.y, position.z, 1, 0, 0, 0)
        (data.pointee.qvel + model.velocityAddress(ofJoint: id)).update(repeating: 0, count: 6)
        mj_forward(model.pointer, data)
    }

    /// A body's position in the world frame, in metres.
    public func bodyPosition(_ id: Int) -> SIMD3<Double> {
        let p = data.pointee.xpos + 3 * id
        return SIMD3(p[0], p[1], p[2])
    }
}
