import Foundation
import ReinsCore

/// Why a calibration could not be recorded.
public enum CalibrationError: Error, Equatable, Sendable, CustomStringConvertible {
    case bus(String)
    /// These joints hardly moved while the travel was recorded.
    case notMoved(joints: [String])
    /// The middle pose is so far from the motor's centre that the offset does not fit its register.
    case offsetOutOfRange(motor: String, offset: Int, range: ClosedRange<Int>)

    public var description: String {
        switch self {
        case .bus(let message):
            message
        case .notMoved(let joints):
            "\(joints.joined(separator: ", ")) hardly moved: move every joint by hand through its whole range (end to end) before pressing Enter"
        case .offsetOutOfRange(let motor, let offset, let range):
            "\(motor): the homing offset \(offset) does not fit the motor's range \(range.lowerBound)…\(range.upperBound); the horn is mounted far off centre: remount it or check the arm was at the middle of its range"
        }
    }
}

/// Records a calibration the way LeRobot users know it: with torque off, the operator puts the arm
/// at the middle of its range (the offsets are computed and written into the motors), then moves
/// every joint end to end while the travel is recorded.
public final class Calibrator {
    public let definition: RobotDefinition
    public let bus: any MotorBus
    /// Per motor, present-position ticks seen so far (after the new offsets).
    public private(set) var minimum: [Int32]
    public private(set) var maximum: [Int32]
    public private(set) var offsets: [Int]
    private var reading: [Int32]
    /// Joints must sweep at least this many ticks (about 9°) to count as moved.
    public static let minimumTravel: Int32 = 100

    public init(definition: RobotDefinition, bus: any MotorBus) {
        self.definition = definition
        self.bus = bus
        let count = definition.motors.count
        minimum = [Int32](repeating: .max, count: count)
        maximum = [Int32](repeating: .min, count: count)
        offsets = [Int](repeating: 0, count: count)
        reading = [Int32](repeating: 0, count: count)
    }

    /// Checks every motor answers with its model, switches torque off and clears the offsets, so
    /// the arm moves freely and the next reading is the raw shaft position.
    public func release() throws {
        try ServoRobot.verifyMotors(definition, bus: bus, location: "the bus")
        try bus.setTorque(false)
        try bus.syncWrite(bus.registers.homingOffset, [Int32](repeating: 0, count: definition.motors.count))
    }

    /// Takes the current pose as the middle of every joint's range and writes the offsets.
    public func captureMiddle() throws {
        try bus.syncRead(bus.registers.presentPosition, into: &reading)
        for (index, spec) in definition.motors.enumerated() {
            let offset = JointMapping.homingOffset(rawTicksAtMiddle: Int(reading[index]), limits: spec.limitsRad, driveMode: 0, model: spec.model)
            guard spec.model.homingOffsetRange.contains(offset) else {
                throw CalibrationError.offsetOutOfRange(motor: spec.name, offset: offset, range: spec.model.homingOffsetRange)
            }
            offsets[index] = offset
        }
        try bus.syncWrite(bus.registers.homingOffset, offsets.map { Int32($0) })
    }

    /// Reads the joints once and widens the recorded travel; returns the reading.
    @discardableResult
    public func sample() throws -> [Int32] {
        try bus.syncRead(bus.registers.presentPosition, into: &reading)
        for index in reading.indices {
            minimum[index] = min(minimum[index], reading[index])
            maximum[index] = max(maximum[index], reading[index])
        }
        return reading
    }

    /// The calibration recorded, to be saved as `file`.
    public func calibration(file: URL) throws(CalibrationError) -> Calibration {
        let still = definition.motors.indices.filter { maximum[$0] == .min || maximum[$0] - minimum[$0] < Self.minimumTravel }
        guard still.isEmpty else { throw .notMoved(joints: still.map { definition.motors[$0].name }) }
        let motors = definition.motors.enumerated().map { index, spec in
            MotorCalibration(name: spec.name, id: spec.id, driveMode: 0, homingOffset: offsets[index],
                             rangeMin: Int(max(minimum[index], 0)), rangeMax: Int(min(maximum[index], Int32(spec.model.maxPositionTicks))))
        }
        return Calibration(robot: definition.name, file: file, motors: motors)
    }
}
