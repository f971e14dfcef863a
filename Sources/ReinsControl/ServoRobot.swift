import ReinsCore

/// Why a robot could not be brought up; each case says which command fixes it.
public enum RobotConnectionError: Error, Equatable, Sendable, CustomStringConvertible {
    case bus(MotorBusError, location: String)
    case missingMotor(motor: String, id: Int, location: String, robot: String)
    case wrongModel(motor: String, id: Int, found: UInt16, expected: MotorModel, robot: String)

    public var description: String {
        switch self {
        case .bus(let error, let location):
            "\(location): \(error)"
        case .missingMotor(let motor, let id, let location, let robot):
            "\(location): motor \(motor) (id \(id)) does not answer; check its power and cable, find the ids present with `reins bus scan --port \(location) --protocol ...`, and fix Robots/\(robot)/robot.yaml or run `reins calibrate --robot \(robot) --port \(location)`"
        case .wrongModel(let motor, let id, let found, let expected, let robot):
            "motor \(motor) (id \(id)) reports model number \(found), but Robots/\(robot)/robot.yaml says \(expected.rawValue) (\(expected.modelNumber)); fix the robot file or the wiring, then run `reins calibrate --robot \(robot)`"
        }
    }
}

/// A robot made of servos on one bus, with its calibration: raw ticks in, radians out.
///
/// `connect()` checks that every motor of the robot file answers with the right model and puts
/// the calibration's homing offsets into the motors (EEPROM, written with torque off, and only
/// when they differ). Reads and writes then go through one group transaction each.
public final class ServoRobot: Robot {
    public let definition: RobotDefinition
    public let calibration: Calibration
    public let bus: any MotorBus
    public let mappings: [JointMapping]
    public let location: String
    public var limits: [ClosedRange<Double>] { mappings.map(\.limitsRad) }
    /// Homing offsets `connect()` had to write.
    public private(set) var offsetsWritten = 0
    private var ticks: [Int32]
    private var goal: [Int32]
    private var previousPositions: [Double]
    private var previousTimestampNs: Int64 = 0
    /// The bus's own budget while the loop has narrowed it.
    private var patientBudget: TransactionBudget?

    public init(definition: RobotDefinition, calibration: Calibration, bus: any MotorBus, location: String) throws(ConfigError) {
        self.definition = definition
        self.calibration = calibration
        self.bus = bus
        self.location = location
        var mappings: [JointMapping] = []
        for spec in definition.motors {
            guard let motor = calibration.motor(named: spec.name) else {
                throw .invalid(file: calibration.file.path, line: 1, column: 1, field: "motors",
                               message: "missing motor \"\(spec.name)\"; run `reins calibrate --robot \(definition.name)`")
            }
            mappings.append(try JointMapping(spec: spec, calibration: motor, file: calibration.file.path))
        }
        self.mappings = mappings
        ticks = [Int32](repeating: 0, count: mappings.count)
        goal = ticks
        previousPositions = [Double](repeating: 0, count: mappings.count)
    }

    /// The bus's motors for a robot file, in its order.
    public static func busMotors(_ definition: RobotDefinition) -> [BusMotor] {
        definition.motors.map { BusMotor(name: $0.name, id: UInt8($0.id)) }
    }

    /// Checks that every motor of the robot file answers, with the model the file names.
    public static func verifyMotors(_ definition: RobotDefinition, bus: any MotorBus, location: String) throws(RobotConnectionError) {
        for spec in definition.motors {
            var identity: MotorIdentity?
            do {
                // A ping is not retried by the bus (silence means no servo there); a noisy bus
                // may still lose one reply, so a motor gets three before it counts as missing.
                for _ in 0..<3 where identity == nil { identity = try bus.ping(id: UInt8(spec.id)) }
            } catch {
                throw .bus(error, location: location)
            }
            guard let identity else {
                throw .missingMotor(motor: spec.name, id: spec.id, location: location, robot: definition.name)
            }
            guard identity.modelNumber == spec.model.modelNumber else {
                throw .wrongModel(motor: spec.name, id: spec.id, found: identity.modelNumber, expected: spec.model, robot: definition.name)
            }
        }
    }

    public func connect() throws(RobotConnectionError) {
        try Self.verifyMotors(definition, bus: bus, location: location)
        do {
            var offsets = [Int32](repeating: 0, count: mappings.count)
            try bus.syncRead(bus.registers.homingOffset, into: &offsets)
            let wanted = calibration.motors.map { Int32($0.homingOffset) }
            if offsets != wanted {
                try bus.setTorque(false)
                for (index, motor) in calibration.motors.enumerated() where offsets[index] != wanted[index] {
                    try bus.write(bus.registers.homingOffset, id: UInt8(motor.id), value: wanted[index])
                    offsetsWritten += 1
                }
            }
        } catch {
            throw .bus(error, location: location)
        }
    }

    public func read(into state: inout RobotState) throws(MotorBusError) {
        try bus.syncRead(bus.registers.presentPosition, into: &ticks)
        let now = LoopClock.nowNs()
        let dt = Double(now - previousTimestampNs) * 1e-9
        for index in mappings.indices {
            let position = mappings[index].radians(ticks: ticks[index])
            state.positions[index] = position
            state.velocities[index] = previousTimestampNs > 0 && dt > 0 ? (position - previousPositions[index]) / dt : 0
            previousPositions[index] = position
        }
        previousTimestampNs = now
        state.timestampNs = now
    }

    public func write(targets: [Double]) throws(MotorBusError) {
        for index in mappings.indices { goal[index] = mappings[index].ticks(radians: targets[index]) }
        try bus.syncWrite(bus.registers.goalPosition, goal)
    }

    public func setTorque(_ enabled: Bool) throws(MotorBusError) {
        try bus.setTorque(enabled)
    }

    public func limitTransactions(margin: Duration?) {
        if let margin {
            let patient = patientBudget ?? bus.transactionBudget
            patientBudget = patient
            bus.transactionBudget = TransactionBudget(margin: min(margin, patient.margin), retries: 0)
        } else if let patient = patientBudget {
            bus.transactionBudget = patient
            patientBudget = nil
        }
    }

    /// Temperature (°C) and effort (load or current, in the register's unit) per motor, for status
    /// screens; not for the realtime loop.
    public func diagnostics() throws(MotorBusError) -> (temperatures: [Double], efforts: [Double], effortUnit: String) {
        var raw = [Int32](repeating: 0, count: mappings.count)
        try bus.syncRead(bus.registers.presentTemperature, into: &raw)
        let temperatures = raw.map { bus.registers.presentTemperature.physical($0) }
        try bus.syncRead(bus.registers.presentEffort, into: &raw)
        let efforts = raw.map { bus.registers.presentEffort.physical($0) }
        return (temperatures, efforts, bus.registers.presentEffort.unit)
    }
}
