import Foundation

/// How one motor's raw encoder ticks map to the joint angle, in the fields LeRobot users know.
public struct MotorCalibration: Sendable, Equatable, Codable {
    public var name: String
    public var id: Int
    /// 0 when the motor turns the same way as the joint, 1 when it is mounted reversed.
    public var driveMode: Int
    /// Ticks subtracted from the raw reading so that the joint's zero reads as the motor's centre.
    public var homingOffset: Int
    /// The travel recorded during calibration, in raw ticks.
    public var rangeMin: Int
    public var rangeMax: Int

    public init(name: String, id: Int, driveMode: Int, homingOffset: Int, rangeMin: Int, rangeMax: Int) {
        self.name = name
        self.id = id
        self.driveMode = driveMode
        self.homingOffset = homingOffset
        self.rangeMin = rangeMin
        self.rangeMax = rangeMax
    }
}

/// A camera's pinhole intrinsics and distortion (OpenCV's k1, k2, p1, p2, k3 order).
public struct CameraIntrinsics: Sendable, Equatable, Codable {
    public var name: String
    public var fx: Double
    public var fy: Double
    public var cx: Double
    public var cy: Double
    public var distortion: [Double]

    public init(name: String, fx: Double, fy: Double, cx: Double, cy: Double, distortion: [Double]) {
        self.name = name
        self.fx = fx
        self.fy = fy
        self.cx = cx
        self.cy = cy
        self.distortion = distortion
    }
}

/// One robot instance's calibration: `Calibration/<robot>/<instance>.yaml`.
public struct Calibration: Sendable, Equatable {
    /// The robot definition this calibration belongs to.
    public var robot: String
    public var file: URL
    public var motors: [MotorCalibration]
    public var cameras: [CameraIntrinsics]

    public func motor(named name: String) -> MotorCalibration? { motors.first { $0.name == name } }

    public init(robot: String, file: URL, motors: [MotorCalibration], cameras: [CameraIntrinsics] = []) {
        self.robot = robot
        self.file = file
        self.motors = motors
        self.cameras = cameras
    }
}

extension Calibration {
    /// Reads a calibration file and checks it against the robot it is for: every motor of the
    /// robot, with the same ids, and raw ranges the motor model can report.
    public init(contentsOf url: URL, for robot: RobotDefinition, displayName: String? = nil) throws(ConfigError) {
        let root = try ConfigNode.load(contentsOf: url, displayName: displayName ?? url.path)
        try self.init(root: root, file: url, robot: robot)
    }

    public init(yaml: String, file: URL, for robot: RobotDefinition) throws(ConfigError) {
        try self.init(root: ConfigNode.parse(yaml, file: file.path), file: file, robot: robot)
    }

    init(root: ConfigNode, file: URL, robot definition: RobotDefinition) throws(ConfigError) {
        let top = try root.fields(allowed: ["robot", "motors", "cameras"])
        let robotNode = try top.required("robot", expected: "the robot's name, e.g. \(definition.name)")
        robot = try robotNode.string()
        guard robot == definition.name else {
            throw robotNode.invalid("this calibration is for robot \"\(robot)\", not \"\(definition.name)\"")
        }
        self.file = file

        let motorsNode = try top.required("motors", expected: "a mapping from each motor's name to its calibration")
        var motors: [MotorCalibration] = []
        for (name, value) in try motorsNode.namedEntries() {
            guard let spec = definition.motor(named: name) else {
                throw value.invalid("robot \(definition.name) has no motor \"\(name)\"; expected one of: \(definition.motors.map(\.name).joined(separator: ", "))")
            }
            let fields = try value.fields(allowed: ["id", "drive_mode", "homing_offset", "range_min", "range_max"])
            let idNode = try fields.required("id", expected: "the servo's bus id")
            let id = try idNode.int(in: 0...spec.model.busProtocol.maxMotorID)
            if let other = motors.first(where: { $0.id == id }) {
                throw idNode.invalid("duplicate id \(id): motor \"\(other.name)\" already has it; each motor needs its own id")
            }
            guard id == spec.id else {
                throw idNode.invalid("motor \"\(name)\" has id \(spec.id) in \(definition.file.lastPathComponent), not \(id)")
            }
            let driveMode = try fields.required("drive_mode", expected: "0 (same direction) or 1 (reversed)").int(in: 0...1)
            let homingOffset = try fields.required("homing_offset", expected: "raw ticks")
                .int(in: spec.model.homingOffsetRange)
            let maxTicks = spec.model.maxPositionTicks
            let rangeMin = try fields.required("range_min", expected: "raw ticks").int(in: 0...maxTicks)
            let rangeMaxNode = try fields.required("range_max", expected: "raw ticks")
            let rangeMax = try rangeMaxNode.int(in: 0...maxTicks)
            guard rangeMin < rangeMax else {
                throw rangeMaxNode.invalid("range out of order: range_min \(rangeMin) must be less than range_max \(rangeMax)")
            }
            motors.append(MotorCalibration(name: name, id: id, driveMode: driveMode, homingOffset: homingOffset,
                                           rangeMin: rangeMin, rangeMax: rangeMax))
        }
        if let missing = definition.motors.first(where: { spec in !motors.contains { $0.name == spec.name } }) {
            throw motorsNode.invalid("missing motor \"\(missing.name)\"; a calibration covers every motor of \(definition.name)")
        }
        self.motors = definition.motors.compactMap { spec in motors.first { $0.name == spec.name } }

        var cameras: [CameraIntrinsics] = []
        if let camerasNode = top.optional("cameras") {
            for (name, value) in try camerasNode.namedEntries() {
                guard definition.cameras.contains(where: { $0.name == name }) else {
                    throw value.invalid("robot \(definition.name) has no camera \"\(name)\"")
                }
                let fields = try value.fields(allowed: ["fx", "fy", "cx", "cy", "distortion"])
                let distortion = try fields.optional("distortion")?.numbers(count: 5, meaning: "[k1, k2, p1, p2, k3]")
                cameras.append(CameraIntrinsics(
                    name: name,
                    fx: try fields.required("fx", expected: "the focal length in pixels").positiveDouble(),
                    fy: try fields.required("fy", expected: "the focal length in pixels").positiveDouble(),
                    cx: try fields.required("cx", expected: "the principal point x in pixels").double(),
                    cy: try fields.required("cy", expected: "the principal point y in pixels").double(),
                    distortion: distortion ?? [0, 0, 0, 0, 0]))
            }
        }
        self.cameras = cameras
    }
}

extension Calibration {
    /// The file's text, in the format `init(contentsOf:for:)` reads.
    public var yaml: String {
        var text = "# Written by `reins calibrate`: homing offsets (written into the motors) and the travel\n"
        text += "# recorded in present-position ticks. Safe to edit by hand; `reins robot state` checks it.\n"
        text += "robot: \(robot)\nmotors:\n"
        for motor in motors {
            text += "  \(motor.name): {id: \(motor.id), drive_mode: \(motor.driveMode), homing_offset: \(motor.homingOffset), range_min: \(motor.rangeMin), range_max: \(motor.rangeMax)}\n"
        }
        if !cameras.isEmpty {
            text += "cameras:\n"
            for camera in cameras {
                text += "  \(camera.name): {fx: \(camera.fx), fy: \(camera.fy), cx: \(camera.cx), cy: \(camera.cy), distortion: [\(camera.distortion.map { "\($0)" }.joined(separator: ", "))]}\n"
            }
        }
        return text
    }

    /// Writes the file under a temporary name, then renames it over `file`, so an interrupted
    /// write never leaves half a calibration.
    public func save() throws {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).tmp")
        try Data(yaml.utf8).write(to: temporary)
        if rename(temporary.path, file.path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file.path])
        }
    }
}
