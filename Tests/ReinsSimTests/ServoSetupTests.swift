import Foundation
import ReinsCore
import ReinsHardware
import ReinsSim
import Testing

@Suite("giving factory-fresh servos their ids, against emulated servos out of the box")
struct ServoSetupTests {
    /// Waits until the factory emulator has swapped servos: the line quiet for its 0.3 s, and a poll.
    func swapped(_ events: Lock<[String]>, count: Int) -> Bool {
        for _ in 0..<200 where events.withLock({ $0.count }) < count { usleep(10_000) }
        return events.withLock { $0.count } >= count
    }

    @Test("omx: each servo is found alone at id 1 and 57,600 baud, answers at its id at 1 Mbaud once set, and the next comes; at the end all are chained")
    func factoryOmx() throws {
        let robot = try catalog.robot("omx")
        let emulator = try ServoBusEmulator.factoryFresh(robot: robot)
        let events = Lock<[String]>([])
        emulator.start { event in events.withLock { $0.append(event) } }
        defer { emulator.stop() }
        let setup = ServoSetup(port: emulator.devicePath, busProtocol: .dynamixel, margin: .milliseconds(2))
        for (index, motor) in robot.motors.reversed().enumerated() {
            let found = try #require(try setup.search(bauds: [57_600, robot.baud]))
            #expect(found == ServoSetup.Found(baud: 57_600, servos: [MotorIdentity(id: 1, modelNumber: 1020, firmware: 52)]), "\(motor.name)")
            let checked = try setup.assign(from: 1, at: 57_600, id: UInt8(motor.id), baud: robot.baud)
            #expect(checked?.id == UInt8(motor.id) && checked?.modelNumber == 1020, "\(motor.name)")
            #expect(swapped(events, count: index + 1), "\(motor.name): the next servo never came")
        }
        #expect(events.withLock { $0.last?.contains("all 5 servos are chained") == true })
        // Chained: every motor answers at its id at the robot's baud, and nothing at the factory's.
        let chained = try #require(try setup.search(bauds: [robot.baud]))
        #expect(chained.baud == robot.baud && chained.servos.map(\.id) == robot.motors.map { UInt8($0.id) })
    }

    @Test("so101: the last motor's id is the factory's, so its servo is only checked, and counts once the search found it")
    func factoryIdOne() throws {
        let robot = try catalog.robot("so101")
        let emulator = try ServoBusEmulator.factoryFresh(robot: robot)
        let events = Lock<[String]>([])
        emulator.start { event in events.withLock { $0.append(event) } }
        defer { emulator.stop() }
        let setup = ServoSetup(port: emulator.devicePath, busProtocol: .feetech, margin: .milliseconds(2))
        for (index, motor) in robot.motors.reversed().enumerated() {
            let found = try #require(try setup.search(bauds: [robot.baud]))
            #expect(found.servos.map(\.id) == [1] && found.baud == 1_000_000, "\(motor.name)")
            if motor.id != 1 {
                #expect(try setup.assign(from: 1, at: robot.baud, id: UInt8(motor.id), baud: robot.baud)?.id == UInt8(motor.id))
            }
            #expect(swapped(events, count: index + 1), "\(motor.name): the next servo never came")
        }
        #expect(try setup.search(bauds: [robot.baud])?.servos.count == 6)
    }

    @Test("a whole chain connected at once is found whole, so the user can be told to unplug all but one")
    func twoAtOnce() throws {
        let robot = try catalog.robot("so101")
        let emulator = try ServoBusEmulator(robot: robot)
        emulator.start()
        defer { emulator.stop() }
        let found = try #require(try ServoSetup(port: emulator.devicePath, busProtocol: .feetech, margin: .milliseconds(2)).search(bauds: [1_000_000]))
        #expect(found.servos.map(\.id) == [1, 2, 3, 4, 5, 6])
    }

    @Test("a servo at a baud the robot does not use is found at that baud and moved to the robot's")
    func otherBaud() throws {
        let robot = try catalog.robot("so101")
        let emulator = try ServoBusEmulator.factoryFresh(robot: robot)
        emulator.start()
        defer { emulator.stop() }
        let setup = ServoSetup(port: emulator.devicePath, busProtocol: .feetech, margin: .milliseconds(2))
        #expect(try setup.assign(from: 1, at: 1_000_000, id: 9, baud: 115_200)?.id == 9)
        // Searched from the robot's baud: nothing there, so every baud is tried until 115,200.
        let found = try #require(try setup.search(bauds: [1_000_000]))
        #expect(found == ServoSetup.Found(baud: 115_200, servos: [MotorIdentity(id: 9, modelNumber: 777, firmware: 3)]))
        #expect(try setup.assign(from: 9, at: 115_200, id: 6, baud: 1_000_000)?.id == 6)
    }

    @Test("no servo at all: the search tries every baud and finds nothing")
    func nothingConnected() throws {
        let robot = try catalog.robot("so101")
        let emulator = try ServoBusEmulator.factoryFresh(robot: robot)  // never started: nothing answers
        #expect(try ServoSetup(port: emulator.devicePath, busProtocol: .feetech, margin: .milliseconds(1)).search(bauds: [1_000_000]) == nil)
    }
}
