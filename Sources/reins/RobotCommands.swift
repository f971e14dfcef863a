import ArgumentParser
import Foundation
import ReinsControl
import ReinsCore
import ReinsHardware
import ReinsSim

/// How a command reaches a robot: a serial port, an EtherCAT bus, or the twin emulated in this process.
struct RobotConnection: ParsableArguments {
    @Option(help: "The robot: a name from `reins robots` or a robot.yaml path.") var robot = "so101"
    @Option(help: "The servo bus's serial device, e.g. /dev/ttyUSB0 or the pty `reins bus emulate` printed.") var port: String?
    @Option(help: "An EtherCAT robot's network interface (raw Ethernet; root or CAP_NET_RAW).") var iface: String?
    @Option(help: ArgumentHelp("An EtherCAT robot's bus over UDP, e.g. the address `reins ethercat emulate --robot R` printed.", valueName: "host:port"))
    var udp: String?
    @Flag(help: "Use the robot's twin: its servos emulated in this process on a pty, moved by MuJoCo physics.") var sim = false
    @Option(name: .customLong("id"), help: "The calibration, Calibration/<robot>/<id>.yaml; without it, the robot's only calibration (`sim` with --sim).")
    var calibrationID: String?
    @Option(help: "Milliseconds added to each bus transaction's wire time before it times out (USB adapters need a few).")
    var marginMs = 10

    func validate() throws {
        guard [sim, port != nil, iface != nil, udp != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give one of --port P (a serial bus), --iface IF or --udp HOST:PORT (an EtherCAT bus), or --sim (the twin)")
        }
        if let udp, EtherCATEndpoint.udp(udp) == nil { throw ValidationError("--udp takes HOST:PORT, e.g. 127.0.0.1:34980, not \"\(udp)\"") }
    }

    var address: RobotAddress {
        let ethercat: EtherCATEndpoint? = iface.map { .interface($0) } ?? udp.flatMap { EtherCATEndpoint.udp($0) }
        return RobotAddress(robot: robot, port: sim ? nil : port, ethercat: ethercat, calibrationID: calibrationID, marginMs: marginMs)
    }

    /// Opens the robot; with `cameraSize` its cameras too, from `cameraSources` where given.
    func open(cameraSize: Int? = nil, cameraSources: [CameraOverride] = []) throws -> RobotSession {
        var address = address
        address.cameraSources = cameraSources
        return try address.open(cameraSize: cameraSize)
    }
}

/// `--camera NAME=SOURCE`: a robot camera's source for this run instead of the robot file's (a
/// device index or path, a file or a URL), so one robot file serves another rig or the emulator.
struct CameraOverride: ExpressibleByArgument, Equatable {
    var camera: String
    var source: String

    init?(argument: String) {
        guard let equals = argument.firstIndex(of: "=") else { return nil }
        camera = String(argument[..<equals])
        source = String(argument[argument.index(after: equals)...])
        guard !camera.isEmpty, !source.isEmpty else { return nil }
    }

    static var defaultValueDescription: String { "NAME=SOURCE" }

    /// `definition`'s cameras with the overrides' sources; refuses them on the twin, and a camera
    /// the robot file lacks or one given twice, before anything opens.
    static func apply(_ overrides: [CameraOverride], to definition: inout RobotDefinition, robotFile: String, onTwin: Bool = false) throws {
        guard overrides.isEmpty || !onTwin else {
            throw CommandError("--camera points a real arm's cameras elsewhere; the twin (--sim) renders its own")
        }
        var seen: Set<String> = []
        for override in overrides {
            guard seen.insert(override.camera).inserted else {
                throw CommandError("--camera \(override.camera)= is given twice; give each camera one source")
            }
            guard let index = definition.cameras.firstIndex(where: { $0.name == override.camera }) else {
                let known = definition.cameras.map(\.name)
                throw CommandError("--camera \(override.camera)=…: \(robotFile) has no camera \"\(override.camera)\"; "
                                   + (known.isEmpty ? "it has no cameras" : "its cameras are \(known.joined(separator: ", "))"))
            }
            definition.cameras[index].source = override.source
        }
    }
}

/// A robot to connect to, as the options give it or a command computes it (a replay takes the
/// robot its episode names): a serial port, or without one the twin.
struct RobotAddress {
    var robot: String
    /// nil (and no EtherCAT bus): the twin, its servos emulated in this process on a pty.
    var port: String?
    /// An EtherCAT robot's bus.
    var ethercat: EtherCATEndpoint?
    var calibrationID: String?
    var marginMs = 10
    /// Sources for the robot's cameras instead of its file's (a real arm's only).
    var cameraSources: [CameraOverride] = []

    var sim: Bool { port == nil && ethercat == nil }

    /// Opens the bus, loads and checks the calibration, and connects. With `cameraSize`, the
    /// robot's cameras too, delivering N×N frames: the twin's rendered in process (at most 15 fps
    /// and no larger than the N×N frames need, to spare the CPU), or the robot file's sources
    /// through OpenCV.
    /// `faults` are the emulated bus's, for the twin (benchmarks drop replies on purpose).
    func open(cameraSize: Int? = nil, faults: BusFaults = BusFaults()) throws -> RobotSession {
        let catalog = try RobotCatalog.locate()
        var definition = try catalog.robot(robot)
        try CameraOverride.apply(cameraSources, to: &definition, robotFile: catalog.displayPath(definition.file), onTwin: sim)
        if definition.busProtocol == .ethercat || ethercat != nil { return try openEtherCAT(definition, cameraSize: cameraSize) }
        let calibration = try catalog.calibration(for: definition, instance: calibrationID ?? (sim ? "sim" : nil))
        if sim, let cameraSize {
            definition.cameras = definition.cameras.map { camera in
                var camera = camera.rendered(forOutput: cameraSize)
                camera.fps = min(camera.fps, 15)
                return camera
            }
        }
        let twin = try RobotTwin(robot: definition)
        var emulator: ServoBusEmulator?
        var cameras: [any Camera] = []
        let path: String
        if let port {
            path = port
        } else {
            let emulated = try ServoBusEmulator(robot: definition, faults: faults)
            if let cameraSize {
                let twinCameras = TwinCameras(robot: definition, width: cameraSize, height: cameraSize)
                emulated.drive(with: twin, cameras: twinCameras.feed())
                cameras = twinCameras.cameras
            } else {
                emulated.drive(with: twin)
            }
            emulated.start()
            emulator = emulated
            path = emulated.devicePath
        }
        // An error from here on must not leave the emulator stepping and rendering while the
        // process exits: Mesa tears down under a rendering thread.
        do {
            let line = try SerialLine(path: path, baud: definition.baud)
            if case .unavailable(let reason) = line.requestLowLatency(), !path.hasPrefix("/dev/pts/") {
                printError("note: \(path): low latency not set: \(reason)")
            }
            // Emulated servos (the twin, or `reins bus emulate` on a pty) share this machine's CPU with
            // the learner and renderer: give their replies more time than a USB adapter's.
            let margin = sim || path.hasPrefix("/dev/pts/") ? max(marginMs, 50) : marginMs
            let bus = makeBus(definition.busProtocol, line: line, baud: definition.baud, motors: ServoRobot.busMotors(definition),
                              returnDelay: sim ? .zero : .microseconds(500), margin: .milliseconds(margin))
            let servoRobot = try ServoRobot(definition: definition, calibration: calibration, bus: bus, location: path)
            try servoRobot.connect()
            if servoRobot.offsetsWritten > 0 {
                printError("note: wrote \(servoRobot.offsetsWritten) homing offset(s) from \(catalog.displayPath(calibration.file)) into the motors")
            }
            if !sim, let cameraSize { cameras += try openCameras(definition.cameras, size: cameraSize) }
            let opened = cameras
            return RobotSession(robot: servoRobot, kinematics: try ArmKinematics.model(of: twin), scene: emulator, cameras: opened,
                                calibrationID: calibration.file.deletingPathExtension().lastPathComponent) {
                for case let camera as OpenCVCamera in opened { camera.stop() }
                emulator?.stop()
            }
        } catch {
            for case let camera as OpenCVCamera in cameras { camera.stop() }
            emulator?.stop()
            throw error
        }
    }
}

extension RobotAddress {
    /// An EtherCAT robot: its drives brought to OP on the bus given. Absolute encoders and the
    /// robot file's scaling make joint angles, so there is no calibration file.
    private func openEtherCAT(_ definition: RobotDefinition, cameraSize: Int?) throws -> RobotSession {
        guard definition.busProtocol == .ethercat else {
            throw CommandError("\(definition.name) has \(definition.busProtocol.rawValue) servos on a serial bus: give --port, not --iface or --udp")
        }
        guard let endpoint = ethercat else {
            throw CommandError("\(definition.name) is on EtherCAT: give --iface IF or --udp HOST:PORT (try `reins ethercat emulate --robot \(robot) --udp 127.0.0.1:34980` in another terminal). The emulated drives' twin in MuJoCo (--sim) and the torque-controlled ec6's loop are not built yet")
        }
        let kinematics = try ArmKinematics.model(of: try RobotTwin(robot: definition))
        let robot = try EtherCATRobot.connect(definition, endpoint: endpoint)
        let opened = try cameraSize.map { try openCameras(definition.cameras, size: $0) } ?? []
        return RobotSession(robot: robot, kinematics: kinematics, scene: nil, cameras: opened, calibrationID: "none") {
            for camera in opened { camera.stop() }
        }
    }
}

/// A real robot's cameras through OpenCV, started, delivering size×size frames; those already
/// started are stopped again if a later one fails.
private func openCameras(_ specs: [CameraSpec], size: Int) throws -> [OpenCVCamera] {
    var cameras: [OpenCVCamera] = []
    do {
        for spec in specs {
            let camera = try OpenCVCamera(spec: spec, width: size, height: size)
            try camera.start()
            cameras.append(camera)
        }
    } catch {
        for camera in cameras { camera.stop() }
        throw error
    }
    return cameras
}

struct RobotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robot",
        abstract: "Read a robot's calibrated state, move it home, or record the workspace box.",
        discussion: """
        Example:
          reins robot state --sim
          reins bus emulate --robot so101 &          # prints a pty path, e.g. /dev/pts/3
          reins robot home --robot so101 --port /dev/pts/3
          reins robot state --robot so101 --port /dev/pts/3 --json
          reins robot bounds --robot so101 --port /dev/pts/3
          reins ethercat emulate --robot Tests/Fixtures/so101-ethercat/robot.yaml --udp 127.0.0.1:34980 &
          reins robot home --robot Tests/Fixtures/so101-ethercat/robot.yaml --udp 127.0.0.1:34980
        """,
        subcommands: [State.self, Home.self, Bounds.self])

    struct State: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Calibrated joint positions, the end-effector pose, motor temperatures and loads.",
            discussion: "Reads once; torque is left as it is.\n\nExample:\n  reins robot state --robot so101 --port /dev/ttyUSB0 --json")

        @OptionGroup var connection: RobotConnection
        @Flag(help: "Print one JSON object.") var json = false

        struct Output: Encodable {
            var robot: String
            var port: String
            var joints: [String]
            var jointPosRad: [Double]
            var limitsRad: [[Double]]
            var eePosM: [Double]
            var eeRotvecRad: [Double]
            var gripperOpening: Double?
            /// null where a motor does not report its temperature (EtherCAT drives here).
            var temperatureC: [Double?]
            var effort: [Double]
            var effortUnit: String
        }

        func run() throws {
            let session = try connection.open()
            defer { session.close() }
            let robot = session.robot
            var state = RobotState(motors: robot.definition.motors.count)
            try robot.read(into: &state)
            let diagnostics = try robot.diagnostics()
            let pose = session.kinematics.makeInstance().pose(state.positions)
            let output = Output(robot: robot.definition.name, port: robot.location, joints: robot.definition.motors.map(\.name),
                                jointPosRad: state.positions, limitsRad: robot.limits.map { [$0.lowerBound, $0.upperBound] },
                                eePosM: Array(pose.vector[0..<3]), eeRotvecRad: Array(pose.vector[3..<6]),
                                gripperOpening: robot.gripperOpening(state.positions), temperatureC: diagnostics.temperatures.map { $0.isNaN ? nil : $0 },
                                effort: diagnostics.efforts, effortUnit: diagnostics.effortUnit)
            if json {
                JSONLines.print(output)
                return
            }
            print("\(output.robot) on \(output.port)")
            print(column("joint", 15) + column("rad", 9) + column("deg", 9) + column("limits rad", 18) + column("temp °C", 9) + "effort (\(output.effortUnit))")
            for (index, name) in output.joints.enumerated() {
                let limits = output.limitsRad[index]
                print(column(name, 15) + column(String(format: "%+.3f", state.positions[index]), 9)
                      + column(String(format: "%+.1f", state.positions[index] * 180 / .pi), 9)
                      + column(String(format: "[%+.2f, %+.2f]", limits[0], limits[1]), 18)
                      + column(output.temperatureC[index].map { String(format: "%.0f", $0) } ?? "-", 9) + String(format: "%.1f", output.effort[index]))
            }
            print(String(format: "end effector: position (%.3f, %.3f, %.3f) m, rotation vector (%+.3f, %+.3f, %+.3f) rad",
                         output.eePosM[0], output.eePosM[1], output.eePosM[2], output.eeRotvecRad[0], output.eeRotvecRad[1], output.eeRotvecRad[2]))
            if let opening = output.gripperOpening { print(String(format: "gripper: %.0f %% open", opening * 100)) }
        }
    }

    struct Home: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move slowly to the robot file's home pose, under the safety layer, and leave the motors holding it.",
            discussion: "Ctrl-C stops the move: the arm holds, then its torque goes off.\n\nExample:\n  reins robot home --robot so101 --port /dev/ttyUSB0")

        @OptionGroup var connection: RobotConnection
        @Option(help: "Top joint speed on the way, rad/s.") var speed = 0.5
        @Option(help: "Seconds to wait for the arm to arrive.") var timeout = 30.0
        @Flag(help: "Print one JSON object.") var json = false

        struct Output: Encodable {
            var robot: String
            var reached: Bool
            var maxErrorRad: Double
            var realtime: RealtimeSetup
            var safetyClamps: SafetyCounters
        }

        func validate() throws {
            guard speed > 0 && speed <= 3 else { throw ValidationError("--speed must be in (0, 3] rad/s") }
        }

        func run() throws {
            let session = try connection.open()
            let loop = session.loop()
            let signals = StopSignals { signal in
                let reason = switch signal {
                case SIGINT: "interrupted (Ctrl-C)"
                case SIGHUP: "hung up (SIGHUP: the terminal closed)"
                default: "terminated (SIGTERM)"
                }
                loop.stop(reason: reason)
            }
            defer {
                signals.cancel()
                session.close()
            }
            try loop.start()
            let home = session.robot.definition.homePoseRad
            let error = loop.move(to: home, speed: speed, tolerance: 0.02, timeout: .seconds(timeout))
            let reached = error <= 0.05
            loop.stop(reason: reached ? "home" : "did not arrive", keepTorque: reached)
            loop.wait()
            let status = loop.status
            if json {
                JSONLines.print(Output(robot: session.robot.definition.name, reached: reached, maxErrorRad: error,
                                       realtime: status.realtime, safetyClamps: status.safety))
            } else {
                for note in status.realtime.notes { printError("note: \(note)") }
                print(reached ? String(format: "home: every joint within %.3f rad; the motors hold it", error)
                              : String(format: "not home: a joint is still %.3f rad away (%@)", error, "\(status.phase)"))
            }
            if case .faulted(let message) = status.phase { throw CommandError(message) }
            if !reached { throw ExitCode.failure }
        }
    }
}

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a robot's calibration: homing offsets and each joint's travel, into Calibration/<robot>/<id>.yaml.",
        discussion: """
        Torque goes off. Put the arm at the middle of its range (every joint halfway between its ends, as `reins sim render --pose middle` shows) and press Enter: the homing offsets are written into the motors. Then move every joint slowly through its whole range while the screen shows the travel recorded, and press Enter again to save.

        Example:
          reins calibrate --robot so101 --port /dev/ttyUSB0 --id left_arm
        """)

    @Option(help: "The robot: a name from `reins robots` or a robot.yaml path.") var robot: String
    @Option(help: "The servo bus's serial device.") var port: String
    @Option(name: .customLong("id"), help: "This arm's name; the file is Calibration/<robot>/<id>.yaml.") var calibrationID = "main"
    @Option(help: "Milliseconds added to each bus transaction's wire time before it times out.") var marginMs = 10

    func validate() throws {
        guard !calibrationID.isEmpty, calibrationID.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw ValidationError("--id takes letters, digits, \"_\" and \"-\"")
        }
    }

    func run() throws {
        let catalog = try RobotCatalog.locate()
        let definition = try catalog.robot(robot)
        guard definition.busProtocol != .ethercat else {
            throw CommandError("\(definition.name)'s CiA 402 drives have absolute encoders and their scaling is in its robot file: there is nothing to calibrate")
        }
        let line = try SerialLine(path: port, baud: definition.baud)
        _ = line.requestLowLatency()
        let bus = makeBus(definition.busProtocol, line: line, baud: definition.baud, motors: ServoRobot.busMotors(definition),
                          margin: .milliseconds(marginMs))
        let calibrator = Calibrator(definition: definition, bus: bus)
        try calibrator.release()
        print("Torque is off. Put the arm at the middle of its range, every joint halfway between its ends, then press Enter.")
        fflush(nil)
        guard readLine() != nil else { throw CommandError("standard input closed before the middle pose was confirmed; nothing was saved") }
        try calibrator.captureMiddle()
        print("Offsets written. Now move every joint slowly through its whole range, end to end; press Enter when done.")
        let names = definition.motors.map(\.name)
        var drawn = false
        while !Self.enterPressed(within: 100) {
            let reading = try calibrator.sample()
            if drawn { print("\u{1B}[\(names.count)A", terminator: "") }
            for (index, name) in names.enumerated() {
                print("\u{1B}[2K" + column(name, 15) + "now \(column(String(reading[index]), 6)) min \(column(String(calibrator.minimum[index]), 6)) max \(calibrator.maximum[index])")
            }
            drawn = true
            fflush(nil)
        }
        try calibrator.sample()
        let file = catalog.calibrationDirectory.appendingPathComponent(definition.name).appendingPathComponent("\(calibrationID).yaml")
        let calibration = try calibrator.calibration(file: file)
        try calibration.save()
        print("saved \(catalog.displayPath(file)); check it with `reins robot state --robot \(definition.name) --port \(port) --id \(calibrationID)`")
    }

    /// Waits up to `milliseconds` for a line on standard input; end of input counts as Enter.
    static func enterPressed(within milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, milliseconds) > 0 else { return false }
        _ = readLine()
        return true
    }
}
