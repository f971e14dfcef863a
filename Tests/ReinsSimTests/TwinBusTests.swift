import Foundation
import ReinsCore
import ReinsHardware
import Testing
@testable import ReinsSim

@Suite("Emulated buses driven by the twin's physics")
struct TwinBusTests {
    @Test("a goal written over the bus moves the twin, and the present position read back follows it", arguments: ["so101", "omx"])
    func goalMovesTwin(robotName: String) throws {
        let robot = try catalog.robot(robotName)
        let emulator = try ServoBusEmulator(robot: robot, seed: 3)
        emulator.drive(with: try RobotTwin(robot: robot))
        emulator.start()
        defer { emulator.stop() }
        let line = try SerialLine(path: emulator.devicePath, baud: robot.baud)
        let motors = robot.motors.map { BusMotor(name: $0.name, id: UInt8($0.id)) }
        let bus: any MotorBus = robot.busProtocol == .dynamixel
            ? DynamixelBus(line: line, baud: robot.baud, motors: motors, returnDelay: .zero, margin: .milliseconds(5), maxRetries: 2)
            : FeetechBus(line: line, baud: robot.baud, motors: motors, margin: .milliseconds(5), maxRetries: 2)
        let r = registers(robot.busProtocol)
        // Hold home, then turn the base by 0.5 rad.
        var goals = robot.homePoseRad.map { Int32((2048 + $0 * 4096 / (2 * Double.pi)).rounded()) }
        try bus.syncWrite(r.goal, goals)
        try bus.setTorque(true)
        goals[0] += Int32((0.5 * 4096 / (2 * Double.pi)).rounded())
        try bus.syncWrite(r.goal, goals)
        var positions: [Int32] = []
        for _ in 0..<150 {
            usleep(10_000)
            try bus.syncRead(r.present, into: &positions)
            if abs(positions[0] - goals[0]) < 15 { break }
        }
        #expect(abs(positions[0] - goals[0]) < 15, "present \(positions[0]), goal \(goals[0])")
        let twin = try #require(emulator.twinJointPositions)
        #expect(abs(twin[0] - 0.5) < 0.03, "the twin's base is at \(twin[0]) rad")
    }

    @Test("the physics steps a model of its own: torque off never writes the twin that kinematics read on other threads")
    func physicsOwnsItsModel() throws {
        let robot = try catalog.robot("so101")
        let twin = try RobotTwin(robot: robot)
        let gains = robot.motors.indices.map { twin.model.positionGain(actuator: $0) }
        let emulator = try ServoBusEmulator(robot: robot, seed: 4)
        emulator.drive(with: twin)
        emulator.start()
        defer { emulator.stop() }
        let line = try SerialLine(path: emulator.devicePath, baud: robot.baud)
        let bus = FeetechBus(line: line, baud: robot.baud, motors: robot.motors.map { BusMotor(name: $0.name, id: UInt8($0.id)) },
                             margin: .milliseconds(5), maxRetries: 2)
        // Torque starts off (limp gains in the physics), goes on, then off again.
        usleep(50_000)
        try bus.setTorque(true)
        usleep(50_000)
        try bus.setTorque(false)
        usleep(50_000)
        #expect(robot.motors.indices.map { twin.model.positionGain(actuator: $0) } == gains)
        #expect(gains.allSatisfy { $0 > 0 })
    }

    @Test("an emulator its owner lets go of stops serving and stepping: its threads do not keep it alive")
    func droppedEmulatorStops() throws {
        let robot = try catalog.robot("so101")
        weak var released: ServoBusEmulator?
        let path: String
        do {
            let emulator = try ServoBusEmulator(robot: robot, seed: 4)
            released = emulator
            emulator.drive(with: try RobotTwin(robot: robot))
            emulator.start()
            path = emulator.devicePath
            usleep(50_000)
        }
        #expect(released == nil)
        // Its pty went with it.
        #expect(throws: HardwareError.self) { _ = try SerialLine(path: path, baud: robot.baud) }
    }

    @Test("torque off makes the arm limp: the shoulder sags under gravity")
    func torqueOffIsLimp() throws {
        let robot = try catalog.robot("so101")
        let emulator = try ServoBusEmulator(robot: robot, seed: 4)
        emulator.drive(with: try RobotTwin(robot: robot))
        emulator.start()
        defer { emulator.stop() }
        let line = try SerialLine(path: emulator.devicePath, baud: robot.baud)
        let bus = FeetechBus(line: line, baud: robot.baud, motors: robot.motors.map { BusMotor(name: $0.name, id: UInt8($0.id)) },
                             margin: .milliseconds(5), maxRetries: 2)
        let home = robot.homePoseRad.map { Int32((2048 + $0 * 4096 / (2 * Double.pi)).rounded()) }
        try bus.syncWrite(FeetechControlTable.goalPosition, home)
        try bus.setTorque(true)
        usleep(300_000)
        var held: [Int32] = []
        try bus.syncRead(FeetechControlTable.presentPosition, into: &held)
        #expect(abs(held[1] - home[1]) < 40, "with torque the shoulder holds home: \(held[1]) vs \(home[1])")
        try bus.setTorque(false)
        usleep(600_000)
        var limp: [Int32] = []
        try bus.syncRead(FeetechControlTable.presentPosition, into: &limp)
        #expect(abs(limp[1] - held[1]) > 100, "without torque the shoulder falls: \(held[1]) → \(limp[1])")
        let load = try bus.read(FeetechControlTable.presentLoad, id: 2)
        #expect(abs(load) < 50, "a limp joint carries no load: \(load)")
    }
}
