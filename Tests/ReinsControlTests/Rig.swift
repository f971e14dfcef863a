import Foundation
import ReinsControl
import ReinsCore
import ReinsHardware
import ReinsSim

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let catalog = RobotCatalog(root: repositoryRoot)

/// A robot's servos emulated on a pty with its twin's physics, and a `ServoRobot` connected to
/// them through a real driver and its simulated calibration.
struct TwinRig {
    let emulator: ServoBusEmulator
    let robot: ServoRobot
    let kinematics: ArmKinematics

    init(_ name: String) throws {
        let definition = try catalog.robot(name)
        emulator = try ServoBusEmulator(robot: definition, seed: 9)
        let twin = try RobotTwin(robot: definition)
        emulator.drive(with: twin)
        emulator.start()
        let line = try SerialLine(path: emulator.devicePath, baud: definition.baud)
        let motors = ServoRobot.busMotors(definition)
        let bus: any MotorBus = definition.busProtocol == .dynamixel
            ? DynamixelBus(line: line, baud: definition.baud, motors: motors, returnDelay: .zero, margin: .milliseconds(5), maxRetries: 1)
            : FeetechBus(line: line, baud: definition.baud, motors: motors, margin: .milliseconds(5), maxRetries: 1)
        robot = try ServoRobot(definition: definition, calibration: try catalog.calibration(for: definition, instance: "sim"),
                               bus: bus, location: emulator.devicePath)
        try robot.connect()
        kinematics = try ArmKinematics(twin: twin)
    }

    func loop(_ configure: (inout LoopConfiguration) -> Void = { _ in }) -> ControlLoop {
        var configuration = LoopConfiguration(rates: robot.definition.rates)
        configure(&configuration)
        let safety = SafetyLayer(limits: SafetyLimits(robot: robot.definition, joints: robot.limits), kinematics: kinematics)
        return ControlLoop(robot: robot, safety: safety, configuration: configuration)
    }
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
