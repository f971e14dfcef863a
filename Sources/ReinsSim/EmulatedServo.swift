import Foundation
import ReinsCore
import ReinsHardware

/// One emulated servo: its control table in memory and a shaft that turns toward the goal.
struct EmulatedServo {
    var id: UInt8
    let model: MotorModel
    var memory = [UInt8](repeating: 0, count: 256)
    /// The shaft's position in raw ticks, before the homing offset.
    var positionTicks = 2048.0
    var lastUpdate = ContinuousClock.now
    /// A reg-write held until an action.
    var pending: (address: Int, data: [UInt8])?
    /// Injected hardware fault bits: Dynamixel's Hardware Error Status, or Feetech's status byte.
    var hardwareError: UInt8 = 0
    /// A twin's physics moves the shaft (`measure`), not the simple model in `advance`.
    var physicsDriven = false
    /// Writes that touched the homing offset (emulated hands wait for a calibration's).
    var homingOffsetWrites = 0

    /// Top speed in ticks per second (about 45 rpm for the STS3215 and XM430 at 12 V).
    static let topSpeedTicksPerSecond = 3000.0

    init(id: UInt8, model: MotorModel) {
        self.id = id
        self.model = model
        switch model.busProtocol {
        case .dynamixel:
            let modelNumber: UInt16 = model == .xl330M288 ? 1200 : 1020
            store(DynamixelControlTable.modelNumber, Int32(modelNumber))
            store(DynamixelControlTable.firmwareVersion, 52)
            store(DynamixelControlTable.id, Int32(id))
            store(DynamixelControlTable.baudRate, 3)
            store(DynamixelControlTable.operatingMode, 3)
            store(DynamixelControlTable.maxPositionLimit, 4095)
            store(DynamixelControlTable.statusReturnLevel, 2)
            store(DynamixelControlTable.presentInputVoltage, 120)
            store(DynamixelControlTable.presentTemperature, 30)
        case .ethercat:
            preconditionFailure("CiA 402 drives are emulated by EtherCATSegment, not as servos")
        case .feetech:
            store(FeetechControlTable.firmwareMajor, 3)
            store(FeetechControlTable.firmwareMinor, 10)
            store(FeetechControlTable.modelNumber, Int32(FeetechControlTable.sts3215ModelNumber))
            store(FeetechControlTable.id, Int32(id))
            store(FeetechControlTable.statusReturnLevel, 1)
            store(FeetechControlTable.maxPositionLimit, 4095)
            store(FeetechControlTable.torqueLimit, 1000)
            store(FeetechControlTable.presentVoltage, 120)
            store(FeetechControlTable.presentTemperature, 30)
        }
        let goal = busProtocol == .dynamixel ? DynamixelControlTable.goalPosition : FeetechControlTable.goalPosition
        store(goal, 2048)
        refreshPresent()
    }

    var busProtocol: BusProtocol { model.busProtocol }

    /// A servo as it leaves the factory: id 1 at its model's default baud.
    static func factoryFresh(_ model: MotorModel) -> EmulatedServo {
        var servo = EmulatedServo(id: 1, model: model)
        if let baud = model.factoryBaud { servo.setBaud(baud) }
        return servo
    }

    /// The Baud Rate register and what its values stand for.
    private var baudRegister: (register: Register, codes: BaudRateCodes) {
        busProtocol == .dynamixel ? (DynamixelControlTable.baudRate, DynamixelControlTable.baudRates)
            : (FeetechControlTable.baudRate, FeetechControlTable.baudRates)
    }

    /// The baud its Baud Rate register holds; nil for a value no baud stands for.
    var baud: Int? { baudRegister.codes.baud(code: load(baudRegister.register)) }

    mutating func setBaud(_ baud: Int) {
        let (register, codes) = baudRegister
        if let code = codes.code(for: baud) { store(register, Int32(code)) }
    }

    private var torqueEnable: Register { busProtocol == .dynamixel ? DynamixelControlTable.torqueEnable : FeetechControlTable.torqueEnable }
    var torqueOn: Bool { load(torqueEnable) != 0 }
    var statusReturnLevel: Int32 {
        load(busProtocol == .dynamixel ? DynamixelControlTable.statusReturnLevel : FeetechControlTable.statusReturnLevel)
    }
    var returnDelay: Duration {
        .microseconds(2 * Int(load(busProtocol == .dynamixel ? DynamixelControlTable.returnDelayTime : FeetechControlTable.returnDelayTime)))
    }

    func load(_ register: Register) -> Int32 {
        var raw: UInt32 = 0
        let base = Int(register.address)
        for byte in 0..<register.size { raw |= UInt32(memory[base + byte]) << (8 * UInt32(byte)) }
        return register.value(fromRaw: raw)
    }

    mutating func store(_ register: Register, _ value: Int32) {
        let raw = register.raw(fromValue: value) ?? 0
        for byte in 0..<register.size { memory[Int(register.address) + byte] = UInt8(truncatingIfNeeded: raw >> (8 * UInt32(byte))) }
    }

    private var homingOffset: Double {
        Double(load(busProtocol == .dynamixel ? DynamixelControlTable.homingOffset : FeetechControlTable.homingOffset))
    }

    /// Turns the shaft toward the goal for the time since the last update, then refreshes the
    /// present-state registers.
    mutating func advance(to now: ContinuousClock.Instant) {
        let elapsed = lastUpdate.duration(to: now)
        lastUpdate = now
        if torqueOn && !physicsDriven {
            let step = Self.topSpeedTicksPerSecond * elapsed.seconds
            positionTicks += max(-step, min(step, goalShaftTicks - positionTicks))
        }
        refreshPresent()
    }

    /// The goal as a shaft position. Dynamixel: present = shaft + offset. Feetech: present = shaft − offset.
    var goalShaftTicks: Double {
        let goalRegister = busProtocol == .dynamixel ? DynamixelControlTable.goalPosition : FeetechControlTable.goalPosition
        return busProtocol == .dynamixel ? Double(load(goalRegister)) - homingOffset : Double(load(goalRegister)) + homingOffset
    }

    /// Takes the shaft's state from a twin's physics: position, speed, and the load as a fraction of stall torque.
    mutating func measure(positionTicks: Double, ticksPerSecond: Double, loadFraction: Double) {
        self.positionTicks = positionTicks
        let load = max(-1, min(1, loadFraction))
        switch busProtocol {
        case .dynamixel:
            // 0.229 rpm per unit; about 2.69 mA per unit of current, 2.3 A at stall.
            store(DynamixelControlTable.presentVelocity, Int32((ticksPerSecond / 4096 * 60 / 0.229).rounded()))
            store(DynamixelControlTable.presentCurrent, Int32((load * 2300 / 2.69).rounded()))
        case .feetech:
            store(FeetechControlTable.presentSpeed, Int32(ticksPerSecond.rounded()))
            store(FeetechControlTable.presentLoad, Int32((load * 1000).rounded()))
        case .ethercat:
            break
        }
        refreshPresent()
    }

    mutating func refreshPresent() {
        let present = busProtocol == .dynamixel ? positionTicks + homingOffset : positionTicks - homingOffset
        let goalRegister = busProtocol == .dynamixel ? DynamixelControlTable.goalPosition : FeetechControlTable.goalPosition
        let moving: Int32 = torqueOn && abs(Double(load(goalRegister)) - present) > 1 ? 1 : 0
        switch busProtocol {
        case .dynamixel:
            store(DynamixelControlTable.presentPosition, Int32(present.rounded()))
            store(DynamixelControlTable.moving, moving)
        case .feetech:
            store(FeetechControlTable.presentPosition, Int32(present.rounded()))
            store(FeetechControlTable.moving, moving)
        case .ethercat:
            break
        }
    }

    func readBytes(address: Int, length: Int) -> [UInt8]? {
        guard address >= 0, length > 0, address + length <= memory.count else { return nil }
        return Array(memory[address..<(address + length)])
    }

    enum WriteOutcome { case applied, outOfRange, eepromLocked }

    /// Writes raw bytes; EEPROM only with torque off. Changing the id register renames the servo.
    mutating func writeBytes(address: Int, data: [UInt8]) -> WriteOutcome {
        guard address >= 0, !data.isEmpty, address + data.count <= memory.count else { return .outOfRange }
        let eepromEnd = busProtocol == .dynamixel ? 64 : 40
        if torqueOn && address < eepromEnd { return .eepromLocked }
        memory.replaceSubrange(address..<(address + data.count), with: data)
        let offset = busProtocol == .dynamixel ? DynamixelControlTable.homingOffset : FeetechControlTable.homingOffset
        if address < Int(offset.address) + offset.size && Int(offset.address) < address + data.count { homingOffsetWrites += 1 }
        let idRegister = busProtocol == .dynamixel ? DynamixelControlTable.id : FeetechControlTable.id
        id = UInt8(truncatingIfNeeded: load(idRegister))
        refreshPresent()
        return .applied
    }
}
