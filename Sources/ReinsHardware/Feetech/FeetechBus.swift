import ReinsCore

/// A chain of Feetech STS (or SCS) servos on one serial line.
///
/// Group reads use Sync Read (one status packet per servo, in list order) and group writes Sync
/// Write (no reply). Timeouts and corrupt replies are retried up to `maxRetries` times and counted;
/// a corrupt reply never becomes a reading. A non-zero status byte (voltage, overheat, overload…)
/// is reported with the motor's name. Sync Read exists on STS only, not on SCS servos.
public final class FeetechBus: MotorBus {
    public let motors: [BusMotor]
    public var statistics: BusStatistics { transport.statistics }
    public var torqueEnable: Register { FeetechControlTable.torqueEnable }
    public var registers: ServoRegisters {
        ServoRegisters(presentPosition: FeetechControlTable.presentPosition, goalPosition: FeetechControlTable.goalPosition,
                       presentVelocity: FeetechControlTable.presentSpeed, presentEffort: FeetechControlTable.presentLoad,
                       presentTemperature: FeetechControlTable.presentTemperature, homingOffset: FeetechControlTable.homingOffset)
    }
    public let byteOrder: FeetechByteOrder
    private let transport: ServoTransport
    private let ids: [UInt8]
    private var decoder = FeetechDecoder()
    private var parameters: [UInt8] = []
    private var reply: [UInt8] = []
    private var staging: [Int32]

    /// - Parameters:
    ///   - returnDelay: the servos' Return Delay Time.
    ///   - margin: added to each timeout for USB latency and scheduling.
    public init(line: SerialLine, baud: Int, motors: [BusMotor], byteOrder: FeetechByteOrder = .littleEndian,
                returnDelay: Duration = .zero, margin: Duration = .milliseconds(10), maxRetries: Int = 2) {
        self.motors = motors
        self.byteOrder = byteOrder
        ids = motors.map(\.id)
        transport = ServoTransport(line: line, baud: baud, returnDelay: returnDelay, margin: margin, maxRetries: maxRetries)
        staging = [Int32](repeating: 0, count: motors.count)
        parameters.reserveCapacity(512)
        reply.reserveCapacity(512)
    }

    public var transactionBudget: TransactionBudget {
        get { TransactionBudget(margin: transport.margin, retries: transport.maxRetries) }
        set {
            transport.margin = newValue.margin
            transport.maxRetries = newValue.retries
        }
    }

    public func syncRead(_ register: Register, into out: inout [Int32]) throws(MotorBusError) {
        parameters.removeAll(keepingCapacity: true)
        parameters.append(UInt8(register.address))
        parameters.append(UInt8(register.size))
        parameters.append(contentsOf: ids)
        FeetechPacket.encode(id: FeetechPacket.broadcastID, instruction: .syncRead, parameters: parameters, into: &transport.packet)
        try exchange(replies: ids.count, parameterCount: register.size) { (index, reply) throws(MotorBusError) in
            staging[index] = register.value(fromRaw: byteOrder.value(reply[...]))
        } idAt: { ids[$0] }
        if out.count != staging.count { out = staging } else { for i in staging.indices { out[i] = staging[i] } }
    }

    public func syncWrite(_ register: Register, _ values: [Int32]) throws(MotorBusError) {
        precondition(values.count == ids.count, "one value per motor")
        parameters.removeAll(keepingCapacity: true)
        parameters.append(UInt8(register.address))
        parameters.append(UInt8(register.size))
        for index in ids.indices {
            let id = ids[index], value = values[index]
            guard let raw = register.raw(fromValue: value) else { throw .valueOutOfRange(register: register.name, value: value) }
            parameters.append(id)
            appendValue(raw, size: register.size)
        }
        FeetechPacket.encode(id: FeetechPacket.broadcastID, instruction: .syncWrite, parameters: parameters, into: &transport.packet)
        try exchange(replies: 0, parameterCount: 0) { (_, _) throws(MotorBusError) in } idAt: { ids[$0] }
    }

    public func read(_ register: Register, id: UInt8) throws(MotorBusError) -> Int32 {
        FeetechPacket.encode(id: id, instruction: .read, parameters: [UInt8(register.address), UInt8(register.size)], into: &transport.packet)
        var value: Int32 = 0
        try exchange(replies: 1, parameterCount: register.size) { (_, reply) throws(MotorBusError) in
            value = register.value(fromRaw: byteOrder.value(reply[...]))
        } idAt: { _ in id }
        return value
    }

    public func write(_ register: Register, id: UInt8, value: Int32) throws(MotorBusError) {
        guard let raw = register.raw(fromValue: value) else { throw .valueOutOfRange(register: register.name, value: value) }
        parameters.removeAll(keepingCapacity: true)
        parameters.append(UInt8(register.address))
        appendValue(raw, size: register.size)
        FeetechPacket.encode(id: id, instruction: .write, parameters: parameters, into: &transport.packet)
        try exchange(replies: id == FeetechPacket.broadcastID ? 0 : 1, parameterCount: 0) { (_, _) throws(MotorBusError) in } idAt: { _ in id }
    }

    /// Pings, then reads the model number and firmware (a Feetech ping reply carries neither).
    public func ping(id: UInt8) throws(MotorBusError) -> MotorIdentity? {
        FeetechPacket.encode(id: id, instruction: .ping, parameters: [], into: &transport.packet)
        do {
            try exchange(replies: 1, parameterCount: 0, retrying: false) { (_, _) throws(MotorBusError) in } idAt: { _ in id }
        } catch .timeout {
            return nil
        }
        let model = try read(FeetechControlTable.modelNumber, id: id)
        let firmware = try read(FeetechControlTable.firmwareMajor, id: id)
        return MotorIdentity(id: id, modelNumber: UInt16(truncatingIfNeeded: model), firmware: UInt8(truncatingIfNeeded: firmware))
    }

    private func exchange(replies: Int, parameterCount: Int, retrying: Bool = true, handle: (Int, [UInt8]) throws(MotorBusError) -> Void,
                          idAt: (Int) -> UInt8) throws(MotorBusError) {
        if let alert = try transport.exchange(&decoder, replies: replies, replyOverhead: 6, parameterCount: parameterCount,
                                              reply: &reply, retrying: retrying, name: motorName, idAt: idAt, handle: handle) {
            throw .hardwareError(motor: motorName(alert.id), id: alert.id, detail: alert.detail)
        }
    }

    private func appendValue(_ raw: UInt32, size: Int) {
        if byteOrder == .littleEndian {
            for byte in 0..<size { parameters.append(UInt8(truncatingIfNeeded: raw >> (8 * UInt32(byte)))) }
        } else {
            for byte in (0..<size).reversed() { parameters.append(UInt8(truncatingIfNeeded: raw >> (8 * UInt32(byte)))) }
        }
    }
}
