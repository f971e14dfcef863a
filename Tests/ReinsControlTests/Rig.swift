import Foundation
import ReinsControl
import ReinsCore
import ReinsData
import ReinsHardware
import ReinsSim

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let catalog = RobotCatalog(root: repositoryRoot)

/// A robot's servos emulated on a pty with its twin's physics, and a `ServoRobot` connected to
/// them through a real driver and its simulated calibration. With `cameras`, the twin's cameras
/// stream as MJPEG, as `reins bus emulate` serves them, and `cameras` reads them through OpenCV.
/// Everything stops when the rig goes: an emulator left running would step, render and stream
/// beside every later test, and render while the test process exits.
final class TwinRig {
    let emulator: ServoBusEmulator
    let robot: ServoRobot
    let kinematics: KinematicsModel
    let streams: MJPEGServer?
    let cameras: [OpenCVCamera]

    init(_ name: String, cameraSize: Int? = nil, faults: BusFaults = BusFaults()) throws {
        let definition = try catalog.robot(name)
        emulator = try ServoBusEmulator(robot: definition, faults: faults, seed: 9)
        let twin = try RobotTwin(robot: definition)
        if let cameraSize {
            let server = try MJPEGServer(cameras: definition.cameras.map(\.name))
            emulator.drive(with: twin, cameras: CameraFeed { camera, width, height, rgb in
                if let jpeg = try? Image(width: width, height: height, channels: 3, pixels: rgb).jpeg(quality: 90) {
                    server.publish(camera, jpeg: jpeg)
                }
            })
            streams = server
            cameras = try definition.cameras.map { spec in
                var streamed = spec
                streamed.source = server.url(for: spec.name)
                return try OpenCVCamera(spec: streamed, width: cameraSize, height: cameraSize)
            }
        } else {
            emulator.drive(with: twin)
            streams = nil
            cameras = []
        }
        emulator.start()
        do {
            let line = try SerialLine(path: emulator.devicePath, baud: definition.baud)
            let motors = ServoRobot.busMotors(definition)
            let bus: any MotorBus = definition.busProtocol == .dynamixel
                ? DynamixelBus(line: line, baud: definition.baud, motors: motors, returnDelay: .zero, margin: .milliseconds(10), maxRetries: 2)
                : FeetechBus(line: line, baud: definition.baud, motors: motors, margin: .milliseconds(10), maxRetries: 2)
            robot = try ServoRobot(definition: definition, calibration: try catalog.calibration(for: definition, instance: "sim"),
                                   bus: bus, location: emulator.devicePath)
            try robot.connect()
            kinematics = try ArmKinematics.model(of: twin)
        } catch {
            stopAll(emulator: emulator, streams: streams, cameras: cameras)
            throw error
        }
    }

    deinit {
        stopAll(emulator: emulator, streams: streams, cameras: cameras)
    }

    func loop(_ configure: (inout LoopConfiguration) -> Void = { _ in }) -> ControlLoop {
        var configuration = LoopConfiguration(rates: robot.definition.rates)
        // As `reins --sim` does: the emulated servos share the CPU with every other suite.
        configuration.toleratedBusFailures = Int(configuration.busHz * 2)
        configure(&configuration)
        let safety = SafetyLayer(limits: SafetyLimits(robot: robot.definition, joints: robot.limits), kinematics: kinematics)
        return ControlLoop(robot: robot, safety: safety, configuration: configuration)
    }
}

private func stopAll(emulator: ServoBusEmulator, streams: MJPEGServer?, cameras: [OpenCVCamera]) {
    cameras.forEach { $0.stop() }
    streams?.stop()
    emulator.stop()
}

/// Polls `condition` every 10 ms for up to `seconds`.
func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

extension TwinRig {
    /// The rig as a session. `hardware` hides the twin's scene, as a real arm has none; `closed`
    /// runs when the session is closed (the rig itself stops the emulator when it goes).
    func session(hardware: Bool = false, closed: @escaping () -> Void = {}) -> RobotSession {
        RobotSession(robot: robot, kinematics: kinematics, scene: hardware ? nil : emulator, cameras: cameras, calibrationID: "sim", stop: closed)
    }
}

/// The console's part in a station, pressing the keys a test queues: the real console is ncurses
/// on a terminal (tested under tmux); here the keys land on exact steps.
final class KeyScript: OperatorDisplay {
    private(set) var model = ConsoleModel()
    private(set) var events: [String] = []
    private(set) var started = false, closed = false
    private var pending: [KeyPress] = []

    func start() { started = true }
    func close() { closed = true }
    func update(_ body: (inout ConsoleModel) -> Void) { body(&model) }
    func log(_ event: String) { events.append(event) }
    func nextKeyPress() -> KeyPress? { pending.isEmpty ? nil : pending.removeFirst() }

    /// Queues a key for the station's next look (nil: a key that means nothing).
    func press(_ command: TeleopCommand?) { pending.append(KeyPress(command)) }
}
