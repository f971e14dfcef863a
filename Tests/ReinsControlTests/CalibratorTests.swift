import Foundation
import ReinsControl
import ReinsCore
import ReinsHardware
import ReinsSim
import Testing

@Suite("Calibration recording")
struct CalibratorTests {
    @Test("middle pose and sweep by hand give offsets and ranges that read back as the joints' true angles", arguments: ["so101", "omx"])
    func recordsCalibration(robot name: String) throws {
        let definition = try catalog.robot(name)
        // The simple servo model, so a test can turn the shafts by hand.
        let emulator = try ServoBusEmulator(robot: definition, seed: 4)
        emulator.start()
        defer { emulator.stop() }
        let line = try SerialLine(path: emulator.devicePath, baud: definition.baud)
        let motors = ServoRobot.busMotors(definition)
        let bus: any MotorBus = definition.busProtocol == .dynamixel
            ? DynamixelBus(line: line, baud: definition.baud, motors: motors, returnDelay: .zero, margin: .milliseconds(5))
            : FeetechBus(line: line, baud: definition.baud, motors: motors, margin: .milliseconds(5))

        // The horns are mounted off centre: at a joint's zero angle a shaft reads 2048 + skew.
        let skews = definition.motors.indices.map { 150 * ($0 % 2 == 0 ? 1.0 : -1.0) + 37 * Double($0) }
        let ticksPerRad = 4096 / (2 * Double.pi)
        func shaft(_ index: Int, radians: Double) -> Double { 2048 + skews[index] + radians * ticksPerRad }

        let calibrator = Calibrator(definition: definition, bus: bus)
        try calibrator.release()
        for (index, motor) in definition.motors.enumerated() {
            let middle = (motor.limitsRad.lowerBound + motor.limitsRad.upperBound) / 2
            emulator.setPosition(id: UInt8(motor.id), ticks: shaft(index, radians: middle))
        }
        try calibrator.captureMiddle()
        // Sweep every joint from end to end.
        for step in 0...20 {
            for (index, motor) in definition.motors.enumerated() {
                let fraction = Double(step) / 20
                let angle = motor.limitsRad.lowerBound + fraction * (motor.limitsRad.upperBound - motor.limitsRad.lowerBound)
                emulator.setPosition(id: UInt8(motor.id), ticks: shaft(index, radians: angle))
            }
            try calibrator.sample()
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-calibration-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let calibration = try calibrator.calibration(file: folder.appendingPathComponent("\(name)/arm.yaml"))
        try calibration.save()
        // The saved file reads back, validated against the robot file.
        let reloaded = try Calibration(contentsOf: calibration.file, for: definition)
        #expect(reloaded == calibration)

        // A robot with it reads the true angles at random poses.
        let robot = try ServoRobot(definition: definition, calibration: reloaded, bus: bus, location: emulator.devicePath)
        try robot.connect()
        #expect(robot.offsetsWritten == 0, "the offsets were already in the motors")
        var generator = SplitMix64(seed: 12)
        var state = RobotState(motors: definition.motors.count)
        for _ in 0..<5 {
            let pose = definition.motors.map { Double.random(in: $0.limitsRad, using: &generator) }
            for (index, motor) in definition.motors.enumerated() {
                emulator.setPosition(id: UInt8(motor.id), ticks: shaft(index, radians: pose[index]))
            }
            try robot.read(into: &state)
            for index in pose.indices {
                #expect(abs(state.positions[index] - pose[index]) < 2 / ticksPerRad, "\(definition.motors[index].name)")
            }
        }
        // The limits are the robot file's, within a tick of the recorded travel.
        for (limits, motor) in zip(robot.limits, definition.motors) {
            #expect(abs(limits.lowerBound - motor.limitsRad.lowerBound) < 2 / ticksPerRad)
            #expect(abs(limits.upperBound - motor.limitsRad.upperBound) < 2 / ticksPerRad)
        }
    }
}
