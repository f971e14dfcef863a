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

    /// Sets hinge or slide joints' positions (by joint id) and recomputes the derived state.
    public func setJointPositions(_ positions: [(joint: Int, value: Double)]) {
        for (joint, value) in positions { data.pointee.qpos[model.positionAddress(ofJoint: joint)] = value }
        mj_forward(model.pointer, data)
    }

    /// A body's position in the world frame, in metres.
    public func bodyPosition(_ id: Int) -> SIMD3<Double> {
        let p = data.pointee.xpos + 3 * id
        return SIMD3(p[0], p[1], p[2])
    }
}
