import Foundation
import ReinsCore
import ReinsHardware
import ReinsSim
import Testing

@Suite("emulated hands calibrating the twin")
struct CalibratingHandsTests {
    @Test("a calibration begins (torque off, offsets cleared): the hands hold the middle; offsets written: every joint goes end to end and back; torque on: they let go")
    func calibrationMoves() throws {
        let robot = try catalog.robot("so101")
        let emulator = try ServoBusEmulator(robot: robot, seed: 2)
        emulator.drive(with: try RobotTwin(robot: robot), hands: true)
        let events = Lock<[String]>([])
        emulator.start { event in events.withLock { $0.append(event) } }
        defer { emulator.stop() }
        let line = try SerialLine(path: emulator.devicePath, baud: robot.baud)
        let bus = FeetechBus(line: line, baud: robot.baud, motors: robot.motors.map { BusMotor(name: $0.name, id: UInt8($0.id)) },
                             margin: .milliseconds(50))
        func said(_ text: String, within seconds: Double) -> Bool {
            for _ in 0..<Int(seconds * 100) where !events.withLock({ $0.contains { $0.contains(text) } }) { usleep(10_000) }
            return events.withLock { $0.contains { $0.contains(text) } }
        }
        var ticks = [Int32](repeating: 0, count: robot.motors.count)
        func radians() throws -> [Double] {
            try bus.syncRead(FeetechControlTable.presentPosition, into: &ticks)
            return ticks.map { (Double($0) - 2048) * 2 * .pi / 4096 }
        }
        // Servos power up with torque off: that alone does not bring the hands.
        try bus.setTorque(false)
        usleep(300_000)
        #expect(events.withLock { $0.isEmpty })
        try bus.syncWrite(FeetechControlTable.homingOffset, [Int32](repeating: 0, count: robot.motors.count))
        #expect(said("holding the arm at the middle", within: 10))
        let middle = robot.motors.map { ($0.limitsRad.lowerBound + $0.limitsRad.upperBound) / 2 }
        for (angle, expected) in zip(try radians(), middle) { #expect(abs(angle - expected) < 0.01) }

        try bus.syncWrite(FeetechControlTable.homingOffset, [Int32](repeating: 0, count: robot.motors.count))  // the middle confirmed
        var low = [Double](repeating: .infinity, count: middle.count), high = [Double](repeating: -.infinity, count: middle.count)
        for _ in 0..<2000 where !events.withLock({ $0.contains { $0.contains("moved every joint end to end") } }) {
            for (index, angle) in try radians().enumerated() { (low[index], high[index]) = (min(low[index], angle), max(high[index], angle)) }
            usleep(5_000)
        }
        #expect(said("moved every joint end to end", within: 1))
        for (index, motor) in robot.motors.enumerated() {
            #expect(abs(low[index] - motor.limitsRad.lowerBound) < 0.05 && abs(high[index] - motor.limitsRad.upperBound) < 0.05,
                    "\(motor.name): \(low[index])…\(high[index])")
        }
        try bus.setTorque(true)
        #expect(said("off the arm", within: 5))
    }
}
