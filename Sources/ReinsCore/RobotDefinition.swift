import Foundation

/// A CiA 402 drive's conversion to joint units, from the robot file.
public struct DriveParameters: Sendable, Equatable, Codable {
    /// Encoder counts per motor revolution.
    public var countsPerRevolution: Int
    /// Motor turns per joint turn.
    public var gearRatio: Double
    /// The motor's rated torque (what 1000 ‰ of 0x6071/0x6077 is), N·m.
    public var ratedTorqueNm: Double
    /// This drive's mode when it differs from the bus's (a gripper in csp on an arm in cst).
    public var mode: String?
    /// For a drive in cst: its limits and the impedance controller's default gains.
    public var torqueControl: TorqueControl?

    public init(countsPerRevolution: Int, gearRatio: Double, ratedTorqueNm: Double, mode: String? = nil, torqueControl: TorqueControl? = nil) {
        self.countsPerRevolution = countsPerRevolution
        self.gearRatio = gearRatio
        self.ratedTorqueNm = ratedTorqueNm
        self.mode = mode
        self.torqueControl = torqueControl
    }
}

/// A torque-controlled joint's limits and default impedance, from its drive's entry.
public struct TorqueControl: Sendable, Equatable, Codable {
    /// At the joint, N·m: the controller's output never exceeds it.
    public var torqueLimitNm: Double
    /// At the joint, rad/s: faster and the safety layer stops the arm.
    public var velocityLimitRadPerS: Double
    /// N·m/rad.
    public var stiffness: Double
    /// N·m·s/rad.
    public var damping: Double
    /// How far the reference may lead the joint, rad: blocked, it pushes with at most stiffness × clip.
    public var clipRad: Double

    public init(torqueLimitNm: Double, velocityLimitRadPerS: Double, stiffness: Double, damping: Double, clipRad: Double) {
        self.torqueLimitNm = torqueLimitNm
        self.velocityLimitRadPerS = velocityLimitRadPerS
        self.stiffness = stiffness
        self.damping = damping
        self.clipRad = clipRad
    }
}

/// How an EtherCAT robot's bus runs, from the robot file.
public struct EtherCATSettings: Sendable, Equatable {
    /// `csp`, `csv` or `cst`.
    public var mode: String
    /// Bad process-data cycles in a row before the loop faults and the drives get a quick stop.
    public var workingCounterFaultCycles: Int
    /// The PDO mapping the master writes into every drive (packed `index << 16 | subindex << 8 |
    /// bits`); nil: read the drives' own.
    public var outputs: [UInt32]?
    public var inputs: [UInt32]?

    public init(mode: String = "csp", workingCounterFaultCycles: Int = 3, outputs: [UInt32]? = nil, inputs: [UInt32]? = nil) {
        self.mode = mode
        self.workingCounterFaultCycles = workingCounterFaultCycles
        self.outputs = outputs
        self.inputs = inputs
    }
}

/// One servo of a robot, as its robot file declares it.
public struct MotorSpec: Sendable, Equatable, Codable {
    public var name: String
    /// The servo's bus id; on EtherCAT, the drive's position on the cable from 1.
    public var id: Int
    public var model: MotorModel
    /// Joint travel allowed by software, in radians, in the twin's and the calibration's frame.
    public var limitsRad: ClosedRange<Double>
    /// A CiA 402 drive's scaling; nil for serial servos.
    public var drive: DriveParameters?

    public init(name: String, id: Int, model: MotorModel, limitsRad: ClosedRange<Double>, drive: DriveParameters? = nil) {
        self.name = name
        self.id = id
        self.model = model
        self.limitsRad = limitsRad
        self.drive = drive
    }
}

/// A pixel rectangle, e.g. the part of a camera frame the policy sees.
public struct PixelRect: Sendable, Equatable, Codable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// A camera the robot observes with.
public struct CameraSpec: Sendable, Equatable, Codable {
    public var name: String
    /// A device index or path (`0`, `/dev/video2`), a file or URL, or `sim:<camera>` for the twin.
    public var source: String
    public var width: Int
    public var height: Int
    public var fps: Double
    public var crop: PixelRect?

    public init(name: String, source: String, width: Int, height: Int, fps: Double, crop: PixelRect? = nil) {
        self.name = name
        self.source = source
        self.width = width
        self.height = height
        self.fps = fps
        self.crop = crop
    }
}

/// How fast the bus is polled and how often the policy acts.
public struct ControlRates: Sendable, Equatable, Codable {
    public var busHz: Double
    public var policyHz: Double

    public init(busHz: Double, policyHz: Double) {
        self.busHz = busHz
        self.policyHz = policyHz
    }
}

/// How long the actor waits on the robot's parts before a loop cycle or a policy step fails; the
/// robot file's optional `timeouts`, each field defaulting to what a real servo bus and USB camera need.
public struct ActorTimeouts: Sendable, Equatable {
    /// How long a read's replies may come after their bytes' wire time inside a loop cycle; nil is
    /// 40 % of the bus period (2 ms at 200 Hz: a USB serial adapter moves bytes in 1 ms USB frames
    /// each way, and the cycle's write must still fit).
    public var replyMs: Double?
    /// Failed bus cycles in a row the loop rides out on the last reading and command before it stops
    /// the arm; nil is the cycles in 100 ms, at least 3.
    public var failedCycles: Int?
    /// How old a camera frame may be when a step reads it: six frames of a 30 fps camera, so a
    /// dropped frame or two passes and a stalled camera does not.
    public var frameAgeMs: Double = 200

    public init(replyMs: Double? = nil, failedCycles: Int? = nil, frameAgeMs: Double = 200) {
        self.replyMs = replyMs
        self.failedCycles = failedCycles
        self.frameAgeMs = frameAgeMs
    }
}

/// The box the end effector must stay in, in metres in the robot's base frame.
public struct WorkspaceBox: Sendable, Equatable, Codable {
    public var minM: [Double]
    public var maxM: [Double]

    public func contains(_ point: [Double]) -> Bool {
        point.indices.allSatisfy { minM[$0] <= point[$0] && point[$0] <= maxM[$0] }
    }

    public init(minM: [Double], maxM: [Double]) {
        self.minM = minM
        self.maxM = maxM
    }
}

/// A robot: its bus, motors, cameras, rates, workspace and MuJoCo scene, validated.
public struct RobotDefinition: Sendable, Equatable {
    public var name: String
    public var description: String
    /// The file this definition was read from.
    public var file: URL
    public var busProtocol: BusProtocol
    /// The serial baud rate; 0 on EtherCAT.
    public var baud: Int
    /// The EtherCAT bus's settings; nil on a serial bus.
    public var ethercat: EtherCATSettings?
    public var motors: [MotorSpec]
    /// The motors of the arm's chain: all but a last one named "gripper", which kinematics and
    /// gravity leave out (it carries no link of the chain; its own drive or servo holds it).
    public var armJointCount: Int { motors.last?.name == "gripper" ? motors.count - 1 : motors.count }
    /// The home pose in radians, in motor order.
    public var homePoseRad: [Double]
    public var cameras: [CameraSpec]
    public var rates: ControlRates
    public var timeouts: ActorTimeouts
    public var workspace: WorkspaceBox
    /// The MuJoCo scene, resolved against the robot file's folder.
    public var scene: URL

    public func motor(named name: String) -> MotorSpec? { motors.first { $0.name == name } }
}

extension RobotDefinition {
    static let topFields = ["name", "description", "bus", "motors", "home_pose_rad", "cameras", "rates",
                            "timeouts", "workspace_m", "scene"]

    /// Reads and validates a robot file. `displayName` is how errors name the file.
    public init(contentsOf url: URL, displayName: String? = nil) throws(ConfigError) {
        let root = try ConfigNode.load(contentsOf: url, displayName: displayName ?? url.path)
        try self.init(root: root, file: url)
    }

    /// Parses and validates robot YAML held in memory; `file` locates the scene and names errors.
    public init(yaml: String, file: URL) throws(ConfigError) {
        try self.init(root: ConfigNode.parse(yaml, file: file.path), file: file)
    }

    init(root: ConfigNode, file: URL) throws(ConfigError) {
        let top = try root.fields(allowed: Self.topFields)
        let nameNode = try top.required("name", expected: "the robot's name, e.g. so101")
        name = try nameNode.string()
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw nameNode.invalid("expected letters, digits, \"_\" or \"-\", found \"\(name)\"")
        }
        description = try top.optional("description")?.string() ?? ""
        self.file = file

        let bus = try top.required("bus", expected: "a mapping with protocol and baud (serial servos) or protocol ethercat")
            .fields(allowed: ["protocol", "baud", "mode", "wkc_fault_cycles", "pdo"])
        let protocolNode = try bus.required("protocol", expected: "dynamixel, feetech or ethercat")
        let protocolText = try protocolNode.string()
        guard let busProtocol = BusProtocol(rawValue: protocolText) else {
            throw protocolNode.invalid("expected dynamixel, feetech or ethercat, found \"\(protocolText)\"")
        }
        self.busProtocol = busProtocol
        if busProtocol == .ethercat {
            if let baudNode = bus.optional("baud") { throw baudNode.invalid("EtherCAT has no baud rate; remove baud") }
            baud = 0
            ethercat = try Self.parseEtherCAT(bus)
        } else {
            for key in ["mode", "wkc_fault_cycles", "pdo"] {
                if let node = bus.optional(key) { throw node.invalid("\(key) belongs to an EtherCAT bus, not \(busProtocol.rawValue) servos") }
            }
            ethercat = nil
            let baudNode = try bus.required("baud", expected: "the bus baud rate, e.g. 1000000")
            baud = try baudNode.int()
            guard busProtocol.supportedBauds.contains(baud) else {
                let choices = busProtocol.supportedBauds.map(String.init).joined(separator: ", ")
                throw baudNode.invalid("\(busProtocol.rawValue) servos cannot run at \(baud) baud; expected one of \(choices)")
            }
        }

        motors = try Self.parseMotors(top.required("motors", expected: "a list of motors with name, id, model and limits_rad"),
                                      busProtocol: busProtocol, busMode: ethercat?.mode)
        homePoseRad = try Self.parseHomePose(
            top.required("home_pose_rad", expected: "a mapping from each motor's name to its home angle in radians"),
            motors: motors)
        cameras = try Self.parseCameras(top.optional("cameras"))

        let ratesNode = try top.required("rates", expected: "a mapping with bus_hz and policy_hz")
        let ratesFields = try ratesNode.fields(allowed: ["bus_hz", "policy_hz"])
        let busHz = try ratesFields.required("bus_hz", expected: "the bus polling rate in Hz").positiveDouble()
        let policyNode = try ratesFields.required("policy_hz", expected: "the policy rate in Hz")
        let policyHz = try policyNode.positiveDouble()
        guard policyHz <= busHz else {
            throw policyNode.invalid("the policy cannot act faster (\(policyHz) Hz) than the bus is polled (\(busHz) Hz)")
        }
        rates = ControlRates(busHz: busHz, policyHz: policyHz)
        timeouts = try Self.parseTimeouts(top.optional("timeouts"), rates: rates)

        let box = try top.required("workspace_m", expected: "a mapping with min and max, each [x, y, z] in metres")
            .fields(allowed: ["min", "max"])
        let minM = try box.required("min", expected: "[x, y, z] in metres").numbers(count: 3, meaning: "[x, y, z]")
        let maxNode = try box.required("max", expected: "[x, y, z] in metres")
        let maxM = try maxNode.numbers(count: 3, meaning: "[x, y, z]")
        for axis in 0..<3 where minM[axis] >= maxM[axis] {
            let label = ["x", "y", "z"][axis]
            throw maxNode.invalid("max \(label) (\(maxM[axis])) must be greater than min \(label) (\(minM[axis]))")
        }
        workspace = WorkspaceBox(minM: minM, maxM: maxM)

        let sceneNode = try top.required("scene", expected: "the MuJoCo scene file, relative to this file")
        let scenePath = try sceneNode.string()
        scene = URL(fileURLWithPath: scenePath, relativeTo: file.deletingLastPathComponent()).standardizedFileURL
    }

    private static func parseTimeouts(_ node: ConfigNode?, rates: ControlRates) throws(ConfigError) -> ActorTimeouts {
        var timeouts = ActorTimeouts()
        guard let node else { return timeouts }
        let fields = try node.fields(allowed: ["reply_ms", "failed_cycles", "frame_age_ms"])
        if let replyNode = fields.optional("reply_ms") {
            let reply = try replyNode.positiveDouble()
            let periodMs = 1000 / rates.busHz
            guard reply < periodMs else {
                throw replyNode.invalid("a reply of \(reply) ms does not fit the bus period (\(periodMs) ms at \(rates.busHz) Hz); lower it or bus_hz")
            }
            timeouts.replyMs = reply
        }
        if let cyclesNode = fields.optional("failed_cycles") {
            let cycles = try cyclesNode.int()
            guard cycles >= 1 else { throw cyclesNode.invalid("expected at least 1 failed cycle, found \(cycles)") }
            timeouts.failedCycles = cycles
        }
        if let ageNode = fields.optional("frame_age_ms") { timeouts.frameAgeMs = try ageNode.positiveDouble() }
        return timeouts
    }

    private static func parseEtherCAT(_ bus: ConfigFields) throws(ConfigError) -> EtherCATSettings {
        var settings = EtherCATSettings()
        if let modeNode = bus.optional("mode") {
            let mode = try modeNode.string().lowercased()
            guard ["csp", "csv", "cst"].contains(mode) else { throw modeNode.invalid("expected csp, csv or cst, found \"\(mode)\"") }
            settings.mode = mode
        }
        if let cycles = bus.optional("wkc_fault_cycles") { settings.workingCounterFaultCycles = try cycles.int(in: 1...1000) }
        if let pdo = bus.optional("pdo") {
            let lists = try pdo.fields(allowed: ["outputs", "inputs"])
            func entries(_ name: String) throws(ConfigError) -> [UInt32] {
                let node = try lists.required(name, expected: "a list of objects as \"0x6040:16\" (index:bits) or \"0x6040:0:16\"")
                var packed: [UInt32] = []
                for item in try node.list() {
                    let text = try item.string()
                    let parts = text.split(separator: ":").map(String.init)
                    func number(_ part: String) -> UInt32? {
                        part.lowercased().hasPrefix("0x") ? UInt32(part.dropFirst(2), radix: 16) : UInt32(part)
                    }
                    let values = parts.map(number)
                    guard (2...3).contains(parts.count), values.allSatisfy({ $0 != nil }), let index = values[0], index <= 0xFFFF,
                          let bits = values.last!, [8, 16, 32, 64].contains(bits), (values.count == 2 || values[1]! <= 0xFF)
                    else { throw item.invalid("expected an object as \"0x6040:16\" (index:bits, bits 8, 16, 32 or 64) or \"0x6040:0:16\", found \"\(text)\"") }
                    packed.append(index << 16 | (parts.count == 3 ? values[1]! : 0) << 8 | bits)
                }
                return packed
            }
            settings.outputs = try entries("outputs")
            settings.inputs = try entries("inputs")
        }
        return settings
    }

    private static func parseMotors(_ node: ConfigNode, busProtocol: BusProtocol, busMode: String?) throws(ConfigError) -> [MotorSpec] {
        let items = try node.list()
        guard !items.isEmpty else { throw node.invalid("expected at least one motor") }
        var motors: [MotorSpec] = []
        for item in items {
            let fields = try item.fields(allowed: busProtocol == .ethercat ? ["name", "id", "model", "limits_rad", "drive"] : ["name", "id", "model", "limits_rad"])
            let nameNode = try fields.required("name", expected: "the joint's name, e.g. shoulder_pan")
            let name = try nameNode.string()
            if motors.contains(where: { $0.name == name }) {
                throw nameNode.invalid("the name \"\(name)\" is used by another motor; names must be unique")
            }
            let idNode = try fields.required("id", expected: busProtocol == .ethercat ? "the drive's position on the cable, from 1" : "the servo's bus id")
            let id = try idNode.int(in: (busProtocol == .ethercat ? 1 : 0)...busProtocol.maxMotorID)
            if let other = motors.first(where: { $0.id == id }) {
                throw idNode.invalid("duplicate id \(id): motor \"\(other.name)\" already has it; each motor needs its own id")
            }
            let modelNode = try fields.required("model", expected: "the servo model")
            let modelText = try modelNode.string()
            let choices = MotorModel.allCases.map(\.rawValue).joined(separator: ", ")
            guard let model = MotorModel(rawValue: modelText.lowercased()) else {
                throw modelNode.invalid("unknown servo model \"\(modelText)\"; expected one of: \(choices)")
            }
            guard model.busProtocol == busProtocol else {
                throw modelNode.invalid("\(model.rawValue) is a \(model.busProtocol.rawValue) servo but the bus protocol is \(busProtocol.rawValue)")
            }
            let limitsNode = try fields.required("limits_rad", expected: "[min, max] in radians")
            let limits = try limitsNode.numbers(count: 2, meaning: "[min, max] in radians")
            guard limits[0] < limits[1] else {
                throw limitsNode.invalid("limits out of order: min \(limits[0]) must be less than max \(limits[1])")
            }
            guard limits[0] >= -2 * .pi, limits[1] <= 2 * .pi else {
                throw limitsNode.invalid("limits must lie within one turn each way (±6.283 rad); these are in radians, not degrees")
            }
            var drive: DriveParameters?
            if busProtocol == .ethercat {
                drive = try Self.parseDrive(fields.required("drive", expected: "a mapping with counts_per_rev, gear_ratio and rated_torque_nm"),
                                            busMode: busMode)
            }
            motors.append(MotorSpec(name: name, id: id, model: model, limitsRad: limits[0]...limits[1], drive: drive))
        }
        return motors
    }

    /// A CiA 402 drive's entry: its scaling, a mode of its own, and for a drive in cst its limits
    /// and default impedance (required there, refused elsewhere).
    private static func parseDrive(_ node: ConfigNode, busMode: String?) throws(ConfigError) -> DriveParameters {
        let torqueKeys = ["torque_limit_nm", "velocity_limit_rad_s", "stiffness", "damping", "clip_rad"]
        let fields = try node.fields(allowed: ["counts_per_rev", "gear_ratio", "rated_torque_nm", "mode"] + torqueKeys)
        var drive = DriveParameters(
            countsPerRevolution: try fields.required("counts_per_rev", expected: "encoder counts per motor revolution, e.g. 131072").int(in: 1...(1 << 30)),
            gearRatio: try fields.required("gear_ratio", expected: "motor turns per joint turn, e.g. 100").positiveDouble(),
            ratedTorqueNm: try fields.required("rated_torque_nm", expected: "the motor's rated torque in N·m").positiveDouble())
        if let modeNode = fields.optional("mode") {
            let mode = try modeNode.string().lowercased()
            guard ["csp", "csv", "cst"].contains(mode) else { throw modeNode.invalid("expected csp, csv or cst, found \"\(mode)\"") }
            drive.mode = mode
        }
        guard (drive.mode ?? busMode) == "cst" else {
            for key in torqueKeys {
                if let extra = fields.optional(key) { throw extra.invalid("\(key) belongs to a drive in cst (torque) mode; this one runs in \(drive.mode ?? busMode ?? "csp")") }
            }
            return drive
        }
        func value(_ key: String, _ meaning: String) throws(ConfigError) -> Double {
            try fields.required(key, expected: "\(meaning) (a drive in cst mode needs \(torqueKeys.joined(separator: ", ")))").positiveDouble()
        }
        drive.torqueControl = TorqueControl(
            torqueLimitNm: try value("torque_limit_nm", "the joint's torque limit in N·m"),
            velocityLimitRadPerS: try value("velocity_limit_rad_s", "the joint's velocity limit in rad/s"),
            stiffness: try value("stiffness", "the impedance's default stiffness in N·m/rad"),
            damping: try value("damping", "the impedance's default damping in N·m·s/rad"),
            clipRad: try value("clip_rad", "how far the reference may lead the joint, in rad"))
        return drive
    }

    private static func parseHomePose(_ node: ConfigNode, motors: [MotorSpec]) throws(ConfigError) -> [Double] {
        let entries = try node.namedEntries()
        var pose = [Double?](repeating: nil, count: motors.count)
        for (name, value) in entries {
            guard let index = motors.firstIndex(where: { $0.name == name }) else {
                throw value.invalid("no motor is named \"\(name)\"; expected one of: \(motors.map(\.name).joined(separator: ", "))")
            }
            let angle = try value.double()
            guard motors[index].limitsRad.contains(angle) else {
                let limits = motors[index].limitsRad
                throw value.invalid("home angle \(angle) rad lies outside the joint limits [\(limits.lowerBound), \(limits.upperBound)]")
            }
            pose[index] = angle
        }
        if let missing = pose.firstIndex(where: { $0 == nil }) {
            throw node.invalid("missing the home angle of motor \"\(motors[missing].name)\"; every motor needs one")
        }
        return pose.map { $0! }
    }

    private static func parseCameras(_ node: ConfigNode?) throws(ConfigError) -> [CameraSpec] {
        guard let node else { return [] }
        var cameras: [CameraSpec] = []
        for item in try node.list() {
            let fields = try item.fields(allowed: ["name", "source", "width", "height", "fps", "crop"])
            let nameNode = try fields.required("name", expected: "the camera's name, e.g. wrist")
            let name = try nameNode.string()
            if cameras.contains(where: { $0.name == name }) {
                throw nameNode.invalid("the name \"\(name)\" is used by another camera; names must be unique")
            }
            let source = try fields.required("source", expected: "a device index or path, a file, a URL or sim:<camera>").string()
            let width = try fields.required("width", expected: "the frame width in pixels").int(in: 1...16384)
            let height = try fields.required("height", expected: "the frame height in pixels").int(in: 1...16384)
            let fps = try fields.required("fps", expected: "frames per second").positiveDouble()
            var crop: PixelRect?
            if let cropNode = fields.optional("crop") {
                let c = try cropNode.fields(allowed: ["x", "y", "width", "height"])
                let rect = PixelRect(
                    x: try c.required("x", expected: "the left edge in pixels").int(in: 0...(width - 1)),
                    y: try c.required("y", expected: "the top edge in pixels").int(in: 0...(height - 1)),
                    width: try c.required("width", expected: "the crop width in pixels").int(in: 1...width),
                    height: try c.required("height", expected: "the crop height in pixels").int(in: 1...height))
                guard rect.x + rect.width <= width, rect.y + rect.height <= height else {
                    throw cropNode.invalid("the crop \(rect.width)x\(rect.height) at (\(rect.x), \(rect.y)) runs outside the \(width)x\(height) frame")
                }
                crop = rect
            }
            cameras.append(CameraSpec(name: name, source: source, width: width, height: height, fps: fps, crop: crop))
        }
        return cameras
    }
}
