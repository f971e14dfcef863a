/// A motor on a bus, as the bus knows it: its name (for messages) and id.
public struct BusMotor: Sendable, Equatable {
    public var name: String
    public var id: UInt8

    public init(name: String, id: UInt8) {
        self.name = name
        self.id = id
    }
}

/// What a ping found.
public struct MotorIdentity: Sendable, Equatable, Codable {
    public var id: UInt8
    public var modelNumber: UInt16
    public var firmware: UInt8

    public init(id: UInt8, modelNumber: UInt16, firmware: UInt8) {
        self.id = id
        self.modelNumber = modelNumber
        self.firmware = firmware
    }
}

/// Counters a bus keeps so faults are visible rather than silent.
public struct BusStatistics: Sendable, Equatable, Codable {
    public var transactions = 0
    /// Transactions repeated after a transient fault.
    public var retries = 0
    public var timeouts = 0
    /// Packets refused for a bad CRC or checksum, or malformed.
    public var corruptPackets = 0

    public init() {}
}

/// The registers a robot drives its servos through, at each servo family's own addresses.
public struct ServoRegisters: Sendable, Equatable {
    public var presentPosition: Register
    public var goalPosition: Register
    public var presentVelocity: Register
    /// Load or current, whichever the family reports; its `unit` says which.
    public var presentEffort: Register
    public var presentTemperature: Register
    /// EEPROM: written with torque off, during calibration or when a calibration is applied.
    public var homingOffset: Register

    public init(presentPosition: Register, goalPosition: Register, presentVelocity: Register, presentEffort: Register,
                presentTemperature: Register, homingOffset: Register) {
        self.presentPosition = presentPosition
        self.goalPosition = goalPosition
        self.presentVelocity = presentVelocity
        self.presentEffort = presentEffort
        self.presentTemperature = presentTemperature
        self.homingOffset = homingOffset
    }
}

/// A bus of servos that can be read and written as a group.
///
/// Values are raw register values (ticks, units of the register) as signed integers; turning them
/// into radians is the robot's job, with its calibration.
/// A transaction's patience: the margin added to its wire time and return delays (the adapter's
/// USB latency and the host's scheduling), and the attempts after the first.
public struct TransactionBudget: Sendable, Equatable {
    public var margin: Duration
    public var retries: Int

    public init(margin: Duration, retries: Int) {
        self.margin = margin
        self.retries = retries
    }
}

public protocol MotorBus: AnyObject {
    /// The motors in the order group reads and writes use.
    var motors: [BusMotor] { get }
    var statistics: BusStatistics { get }

    /// Reads one register of every motor in one transaction, into `out` (one value per motor).
    /// Realtime: allocates nothing once connected.
    func syncRead(_ register: Register, into out: inout [Int32]) throws(MotorBusError)
    /// Writes one register of every motor in one transaction (one value per motor).
    /// Realtime: allocates nothing once connected.
    func syncWrite(_ register: Register, _ values: [Int32]) throws(MotorBusError)
    /// Reads one register of one motor.
    func read(_ register: Register, id: UInt8) throws(MotorBusError) -> Int32
    /// Writes one register of one motor and waits for its acknowledgement.
    func write(_ register: Register, id: UInt8, value: Int32) throws(MotorBusError)
    /// Asks one id who it is; nil when nothing answers.
    func ping(id: UInt8) throws(MotorBusError) -> MotorIdentity?
    /// The register that switches a motor's torque on (1) and off (0).
    var torqueEnable: Register { get }
    /// How long a transaction waits beyond its wire time, and how often it is tried again. The
    /// realtime loop narrows it so a read fits its cycle; everything else keeps the patient default.
    var transactionBudget: TransactionBudget { get set }
    /// Where this family keeps the registers a robot needs.
    var registers: ServoRegisters { get }
}

extension MotorBus {
    /// Switches every motor's torque on or off in one transaction.
    public func setTorque(_ enabled: Bool) throws(MotorBusError) {
        try syncWrite(torqueEnable, [Int32](repeating: enabled ? 1 : 0, count: motors.count))
    }
}

/// A bus transaction that failed after its retries; each case says what to check.
public enum MotorBusError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No reply in time: check the cable, the baud rate, the motor's power and its id.
    case timeout(motor: String, id: UInt8, after: Duration)
    /// Replies kept arriving corrupted: check wiring, termination and baud rate. Never applied.
    case corrupt(motor: String, id: UInt8)
    /// The servo reports a hardware fault (overload, overheating, voltage): power-cycle or reboot it.
    case hardwareError(motor: String, id: UInt8, detail: String)
    /// The servo refused the instruction (e.g. an EEPROM write with torque on, a value out of range).
    case refused(motor: String, id: UInt8, detail: String)
    /// A value does not fit the register.
    case valueOutOfRange(register: String, value: Int32)
    /// The port failed or vanished: reconnect the adapter and restart.
    case port(String)
    /// A cyclic bus (EtherCAT) lost a cycle: its frame did not come back, or a slave missed it
    /// (a short working counter). Nothing from it was applied; the next cycle is the retry.
    case cycleMissed(location: String, detail: String)

    public var description: String {
        switch self {
        case .timeout(let motor, let id, let after):
            "\(motor) (id \(id)): no reply within \(after); check the cable, baud rate, power and id"
        case .corrupt(let motor, let id):
            "\(motor) (id \(id)): replies keep arriving corrupted; check wiring and baud rate"
        case .hardwareError(let motor, let id, let detail):
            "\(motor) (id \(id)): hardware error: \(detail); remove the load, let it cool, then reboot or power-cycle it"
        case .refused(let motor, let id, let detail):
            "\(motor) (id \(id)): refused the instruction: \(detail)"
        case .valueOutOfRange(let register, let value):
            "\(value) does not fit register \(register)"
        case .port(let message):
            message
        case .cycleMissed(let location, let detail):
            "\(location): process-data cycle missed: \(detail); check the cable and the drives' power if it repeats"
        }
    }
}
