import CMuJoCo
import Foundation

/// A compiled MuJoCo model. Owns its `mjModel`; immutable after loading, so it may be shared by
/// the threads that each hold their own `Simulation`.
public final class MuJoCoModel: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<mjModel>

    /// MuJoCo's version, e.g. "2.2.2".
    public static var version: String {
        let number = Int(reins_mj_version())
        return "\(number / 100).\(number / 10 % 10).\(number % 10)"
    }

    /// Compiles an MJCF document held in memory.
    public convenience init(xml: String, name: String = "<string>") throws(SimError) {
        Self.installHandlers()
        var error = [CChar](repeating: 0, count: 1000)
        guard let model = reins_mj_load_xml_string(xml, &error, Int32(error.count)) else {
            throw .modelLoad(source: name, message: Self.text(error))
        }
        self.init(model)
    }

    /// Compiles an MJCF file; meshes and includes resolve against its folder.
    public convenience init(contentsOf url: URL) throws(SimError) {
        Self.installHandlers()
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw .modelLoad(source: url.path, message: "no such file")
        }
        var error = [CChar](repeating: 0, count: 1000)
        guard let model = mj_loadXML(url.path, nil, &error, Int32(error.count)) else {
            throw .modelLoad(source: url.path, message: Self.text(error))
        }
        self.init(model)
    }

    private init(_ pointer: UnsafeMutablePointer<mjModel>) {
        self.pointer = pointer
    }

    deinit {
        mj_deleteModel(pointer)
    }

    /// A copy of its own, for a thread that changes the model while it steps (the twin's physics
    /// sets actuator gains for torque off): the original stays immutable for its readers.
    public func copy() -> MuJoCoModel {
        MuJoCoModel(mj_copyModel(nil, pointer)!)
    }

    private static func installHandlers() {
        reins_mj_install_handlers()
    }

    static func text(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Number of generalized coordinates.
    public var positionCount: Int { Int(pointer.pointee.nq) }
    /// Number of degrees of freedom.
    public var velocityCount: Int { Int(pointer.pointee.nv) }
    /// Number of actuators.
    public var actuatorCount: Int { Int(pointer.pointee.nu) }
    /// The physics time step in seconds.
    public var timestep: Double { pointer.pointee.opt.timestep }
    /// The model's offscreen framebuffer size, the largest frame it can render.
    public var offscreenSize: (width: Int, height: Int) {
        (Int(pointer.pointee.vis.global.offwidth), Int(pointer.pointee.vis.global.offheight))
    }

    /// The names of objects of one kind, in id order.
    func names(of type: mjtObj, count: Int32) -> [String] {
        (0..<count).map { index in
            mj_id2name(pointer, Int32(type.rawValue), index).map { String(cString: $0) } ?? ""
        }
    }

    public var cameraNames: [String] { names(of: mjOBJ_CAMERA, count: pointer.pointee.ncam) }
    public var jointNames: [String] { names(of: mjOBJ_JOINT, count: pointer.pointee.njnt) }

    /// The id of a named joint, or nil.
    public func jointID(_ name: String) -> Int? {
        let id = mj_name2id(pointer, Int32(mjOBJ_JOINT.rawValue), name)
        return id >= 0 ? Int(id) : nil
    }

    /// A joint's range, or nil when it is unlimited.
    public func jointRange(_ id: Int) -> ClosedRange<Double>? {
        guard pointer.pointee.jnt_limited[id] != 0 else { return nil }
        return pointer.pointee.jnt_range[2 * id]...pointer.pointee.jnt_range[2 * id + 1]
    }

    /// The id of a named site, or nil.
    public func siteID(_ name: String) -> Int? {
        let id = mj_name2id(pointer, Int32(mjOBJ_SITE.rawValue), name)
        return id >= 0 ? Int(id) : nil
    }

    /// Where a joint's first velocity sits in `qvel` (and its column in a Jacobian).
    public func velocityAddress(ofJoint id: Int) -> Int { Int(pointer.pointee.jnt_dofadr[id]) }

    /// Where a joint's first coordinate sits in `qpos`.
    public func positionAddress(ofJoint id: Int) -> Int { Int(pointer.pointee.jnt_qposadr[id]) }

    /// A position actuator's stiffness kp (N·m/rad).
    public func positionGain(actuator: Int) -> Double { pointer.pointee.actuator_gainprm[Int(mjNGAIN) * actuator] }

    /// Sets a position actuator's stiffness: force = kp · (ctrl − q); 0 makes the joint limp.
    public func setPositionGain(actuator: Int, _ kp: Double) {
        pointer.pointee.actuator_gainprm[Int(mjNGAIN) * actuator] = kp
        pointer.pointee.actuator_biasprm[Int(mjNBIAS) * actuator + 1] = -kp
    }

    /// An actuator's force limit (its stall torque), or 0 when unlimited.
    /// Whether the actuator holds a position (a servo's `position` actuator) rather than applying
    /// the force it is given (a `motor`).
    public func holdsPosition(actuator: Int) -> Bool {
        pointer.pointee.actuator_biastype[actuator] == Int32(mjBIAS_AFFINE.rawValue)
    }

    public func forceLimit(actuator: Int) -> Double {
        pointer.pointee.actuator_forcelimited[actuator] != 0 ? pointer.pointee.actuator_forcerange[2 * actuator + 1] : 0
    }

    /// Whether contacts are simulated (off: bodies pass through each other, e.g. to test joint limits alone).
    public var contactsEnabled: Bool {
        get { pointer.pointee.opt.disableflags & Int32(mjDSBL_CONTACT.rawValue) == 0 }
        set {
            if newValue {
                pointer.pointee.opt.disableflags &= ~Int32(mjDSBL_CONTACT.rawValue)
            } else {
                pointer.pointee.opt.disableflags |= Int32(mjDSBL_CONTACT.rawValue)
            }
        }
    }

    public var actuatorNames: [String] { names(of: mjOBJ_ACTUATOR, count: pointer.pointee.nu) }

    /// The id of a named body, or nil.
    public func bodyID(_ name: String) -> Int? {
        let id = mj_name2id(pointer, Int32(mjOBJ_BODY.rawValue), name)
        return id >= 0 ? Int(id) : nil
    }
}
