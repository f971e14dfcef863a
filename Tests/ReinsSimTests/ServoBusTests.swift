import Foundation
import ReinsCore
import ReinsHardware
import ReinsSim
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let catalog = RobotCatalog(root: repositoryRoot)

/// An emulated bus for a robot and a driver connected to it through the pty.
func connect(_ robotName: String, faults: BusFaults = BusFaults(), maxRetries: Int = 2, margin: Duration = .milliseconds(3)) throws -> (ServoBusEmulator, any MotorBus, RobotDefinition) {
    let robot = try catalog.robot(robotName)
    let emulator = try ServoBusEmulator(robot: robot, faults: faults, seed: 7)
    emulator.start()
    let line = try SerialLine(path: emulator.devicePath, baud: robot.baud)
    let motors = robot.motors.map { BusMotor(name: $0.name, id: UInt8($0.id)) }
    let bus: any MotorBus = switch robot.busProtocol {
    case .dynamixel: DynamixelBus(line: line, baud: robot.baud, motors: motors, returnDelay: .zero, margin: margin, maxRetries: maxRetries)
    case .feetech, .ethercat: FeetechBus(line: line, baud: robot.baud, motors: motors, margin: margin, maxRetries: maxRetries)
    }
    return (emulator, bus, robot)
}

func registers(_ busProtocol: BusProtocol) -> (present: Register, goal: Register, torque: Register, eeprom: Register) {
    switch busProtocol {
    case .dynamixel: (DynamixelControlTable.presentPosition, DynamixelControlTable.goalPosition, DynamixelControlTable.torqueEnable,
                      DynamixelControlTable.returnDelayTime)
    case .feetech, .ethercat: (FeetechControlTable.presentPosition, FeetechControlTable.goalPosition, FeetechControlTable.torqueEnable,
                               FeetechControlTable.returnDelayTime)
    }
}

@Suite("servo drivers against emulated buses on a pty")
struct ServoBusTests {
    @Test("ping, group read, torque, group write: the servos move to their goals", arguments: ["omx", "so101"])
    func endToEnd(robotName: String) throws {
        // A wide margin, so a loaded machine's late reply is not retried.
        let (emulator, bus, robot) = try connect(robotName, margin: .milliseconds(100))
        defer { emulator.stop() }
        let r = registers(robot.busProtocol)

        for motor in robot.motors {
            let identity = try #require(try bus.ping(id: UInt8(motor.id)))
            #expect(identity.modelNumber == (robot.busProtocol == .dynamixel ? 1020 : 777))
        }
        #expect(try bus.ping(id: 99) == nil)

        var positions: [Int32] = []
        try bus.syncRead(r.present, into: &positions)
        #expect(positions == Array(repeating: 2048, count: robot.motors.count))

        try bus.setTorque(true)
        #expect(try bus.read(r.torque, id: bus.motors.last!.id) == 1)
        let goals = bus.motors.indices.map { Int32(1500 + 150 * $0) }
        try bus.syncWrite(r.goal, goals)
        // The servo model turns at 3000 ticks/s: every joint arrives within a second.
        for _ in 0..<200 where positions != goals {
            usleep(10_000)
            try bus.syncRead(r.present, into: &positions)
        }
        #expect(positions == goals)
        #expect(try bus.read(r.goal, id: bus.motors[2].id) == goals[2])
        #expect(bus.statistics.retries == 0)
    }

    @Test("Fast Sync Read reads every position in one reply")
    func fastSyncRead() throws {
        let (emulator, bus, _) = try connect("omx")
        defer { emulator.stop() }
        let dynamixel = try #require(bus as? DynamixelBus)
        dynamixel.usesFastSyncRead = true
        let truth = bus.motors.indices.map { Int32(900 + 111 * $0) }
        for (motor, ticks) in zip(bus.motors, truth) { emulator.setPosition(id: motor.id, ticks: Double(ticks)) }
        var positions: [Int32] = []
        try bus.syncRead(DynamixelControlTable.presentPosition, into: &positions)
        #expect(positions == truth)
        emulator.setHardwareError(id: bus.motors[0].id, flags: 0x01)
        #expect(throws: MotorBusError.hardwareError(motor: "joint1", id: 11, detail: "input voltage")) {
            try bus.syncRead(DynamixelControlTable.presentPosition, into: &positions)
        }
    }

    @Test("status return level 0 silences everything but ping")
    func statusReturnLevel() throws {
        let (emulator, bus, _) = try connect("omx")
        defer { emulator.stop() }
        let id = bus.motors[0].id
        // The acknowledgement of this write is already sent at the new level: none comes.
        #expect(throws: MotorBusError.timeout(motor: "joint1", id: id, after: .milliseconds(3) + .nanoseconds(Int64(13 + 11) * 10_000))) {
            try bus.write(DynamixelControlTable.statusReturnLevel, id: id, value: 0)
        }
        #expect(throws: MotorBusError.self) { _ = try bus.read(DynamixelControlTable.presentPosition, id: id) }
        #expect(try bus.ping(id: id) != nil)
        #expect(try bus.read(DynamixelControlTable.statusReturnLevel, id: bus.motors[1].id) == 2)
    }

    @Test("EEPROM is writable only with torque off", arguments: ["omx", "so101"])
    func eeprom(robotName: String) throws {
        let (emulator, bus, robot) = try connect(robotName)
        defer { emulator.stop() }
        let r = registers(robot.busProtocol)
        let id = bus.motors[0].id
        try bus.write(r.eeprom, id: id, value: 10)
        #expect(try bus.read(r.eeprom, id: id) == 10)
        try bus.write(r.torque, id: id, value: 1)
        if robot.busProtocol == .dynamixel {
            #expect(throws: MotorBusError.refused(motor: bus.motors[0].name, id: id, detail: "access")) {
                try bus.write(r.eeprom, id: id, value: 20)
            }
        } else {
            try bus.write(r.eeprom, id: id, value: 20)
        }
        #expect(try bus.read(r.eeprom, id: id) == 10)
    }

    @Test("a servo's hardware fault is reported with its name and what the servo says", arguments: [
        ("omx", UInt8(0x20), "joint2", "overload"), ("so101", UInt8(0x04), "shoulder_lift", "overheat"),
    ])
    func hardwareFault(robotName: String, flags: UInt8, motor: String, detail: String) throws {
        // A wide margin: on a loaded machine a late reply would be retried, which is not what this test is about.
        let (emulator, bus, robot) = try connect(robotName, margin: .milliseconds(100))
        defer { emulator.stop() }
        let faulty = bus.motors[1]
        #expect(faulty.name == motor)
        emulator.setHardwareError(id: faulty.id, flags: flags)
        var positions: [Int32] = []
        let before = bus.statistics
        #expect(throws: MotorBusError.hardwareError(motor: motor, id: faulty.id, detail: detail)) {
            try bus.syncRead(registers(robot.busProtocol).present, into: &positions)
        }
        let after = bus.statistics
        let transientFailures = (after.timeouts - before.timeouts) + (after.corruptPackets - before.corruptPackets)
        #expect(after.retries - before.retries == transientFailures, "a hardware fault is not retried; only a timeout or a corrupt reply is")
        emulator.setHardwareError(id: faulty.id, flags: 0)
        try bus.syncRead(registers(robot.busProtocol).present, into: &positions)
        #expect(positions.count == robot.motors.count)
    }

    @Test("a broadcast ping is answered by every servo in id order", arguments: ["omx", "so101"])
    func broadcastPing(robotName: String) throws {
        let robot = try catalog.robot(robotName)
        let emulator = try ServoBusEmulator(robot: robot)
        emulator.start()
        defer { emulator.stop() }
        let line = try SerialLine(path: emulator.devicePath, baud: robot.baud)
        var packet: [UInt8] = []
        var ids: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        let deadline = ContinuousClock.now + .seconds(1)
        if robot.busProtocol == .dynamixel {
            DynamixelPacket.ping(id: DynamixelPacket.broadcastID, into: &packet)
            try line.write(packet)
            var decoder = DynamixelDecoder()
            while ids.count < robot.motors.count, case let n = try buffer.withUnsafeMutableBytes({ try line.read(into: $0, until: deadline) }), n > 0 {
                decoder.feed(Array(buffer[0..<n]))
                while let frame = try decoder.next() { ids.append(frame.id) }
            }
        } else {
            FeetechPacket.ping(id: FeetechPacket.broadcastID, into: &packet)
            try line.write(packet)
            var decoder = FeetechDecoder()
            while ids.count < robot.motors.count, case let n = try buffer.withUnsafeMutableBytes({ try line.read(into: $0, until: deadline) }), n > 0 {
                decoder.feed(Array(buffer[0..<n]))
                while let frame = try decoder.next() { ids.append(frame.id) }
            }
        }
        #expect(ids == robot.motors.map { UInt8($0.id) })
    }

    @Test("with 5 % of replies dropped and 5 % corrupted, 10,000 reads apply no corrupt value and recover by retry",
          arguments: ["omx", "so101"])
    func faults(robotName: String) throws {
        let (emulator, bus, robot) = try connect(robotName, faults: BusFaults(dropRate: 0.05, corruptRate: 0.05), maxRetries: 5,
                                                 margin: .milliseconds(2))
        defer { emulator.stop() }
        let truth = bus.motors.indices.map { Int32(1000 + 37 * $0) }
        for (motor, ticks) in zip(bus.motors, truth) { emulator.setPosition(id: motor.id, ticks: Double(ticks)) }
        let present = registers(robot.busProtocol).present
        var positions: [Int32] = []
        var failures = 0
        for _ in 0..<10_000 {
            do {
                try bus.syncRead(present, into: &positions)
                if positions != truth {
                    Issue.record("a wrong reading was applied: \(positions)")
                    return
                }
            } catch {
                switch error {
                case .timeout, .corrupt: failures += 1
                default: throw error
                }
            }
        }
        let statistics = bus.statistics
        let injected = emulator.injectedFaults
        #expect(injected.dropped > 0 && injected.corrupted > 0)
        #expect(statistics.corruptPackets > 0)
        #expect(statistics.timeouts > 0)
        #expect(statistics.retries >= failures)
        // About 40 % of 6-reply attempts meet a fault; six attempts all fail for about 1 % of reads.
        #expect(failures < 300, "\(failures) reads failed after retries")
    }

    @Test("a port that vanishes mid-run is a clear error, not a hang", arguments: ["omx", "so101"])
    func vanishedPort(robotName: String) throws {
        var (emulator, bus, robot): (ServoBusEmulator?, any MotorBus, RobotDefinition) = try connect(robotName)
        let present = registers(robot.busProtocol).present
        var positions: [Int32] = []
        try bus.syncRead(present, into: &positions)
        emulator?.stop()
        emulator = nil  // closes the pty, as unplugging an adapter does
        let started = ContinuousClock.now
        do {
            try bus.syncRead(present, into: &positions)
            Issue.record("a read succeeded on a closed port")
        } catch {
            guard case .port(let message) = error else {
                Issue.record("expected a port error, got \(error)")
                return
            }
            #expect(message.contains("disconnected"))
        }
        #expect(started.duration(to: .now) < .seconds(2))
    }
}
