import ReinsCore

/// A chain of Dynamixel Protocol 2.0 servos on one serial line.
///
/// Group reads use Sync Read (one status packet per servo, in id order) and group writes Sync Write
/// (no reply). Each transaction's timeout is its wire time plus the return delays and a margin;
/// timeouts and corrupt replies are retried up to `maxRetries` times and counted; a corrupt reply
/// never becomes a reading. A hardware alert is reported with the motor's name and the contents
/// of its Hardware Error Status register.
public final class DynamixelBus: MotorBus {
    public let motors: [BusMotor]
    public var statistics: BusStatistics { transport.statistics }
    public var torqueEnable: Register { DynamixelControlTable.torqueEnable }
    public var registers: ServoRegisters {
        ServoRegisters(presentPosition: DynamixelControlTable.presentPosition, goalPosition: DynamixelControlTable.goalPosition,
                       presentVelocity: DynamixelControlTable.presentVelocity, presentEffort: DynamixelControlTable.presentCurrent,
                       presentTemperature: DynamixelControlTable.presentTemperature, homingOffset: DynamixelControlTable.homingOffset)
    }
    private let transport: ServoTransport
    private let ids: [UInt8]
    private var decoder = DynamixelDecoder()
    private var parameters: [UInt8] = []
    private var reply: [UInt8] = []
    private var staging: [Int32]
    /// Group reads as Fast Sync Read: one unstuffed reply for all servos instead of one each
    /// (76 bytes instead of 110 for six positions). Needs firmware 45 on X430, 46 on X330.
    public var usesFastSyncRead = false

    /// - Parameters:
    ///   - returnDelay: the servos' Return Delay Time (factory 500 µs; 0 is best for fast loops).
    ///   - margin: added to each timeout for USB latency and scheduling.
    public init(line: SerialLine, baud: Int, motors: [BusMotor], returnDelay: Duration = .microseconds(500),
                margin: Duration = .milliseconds(10), maxRetries: Int = 2) {
        self.motors = motors
        ids = motors.map(\.id)
        transport = ServoTransport(line: line, baud: baud, returnDelay: returnDelay, margin: margin, maxRetries: maxRetries)
        staging = [Int32](repeating: 0, count: motors.count)
        parameters.reserveCapacity(1024)
        reply.reserveCapacity(1024)
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
        appendAddress(register)
        parameters.append(contentsOf: ids)
        if usesFastSyncRead {
            try fastSyncRead(register)
        } else {
            DynamixelPacket.encode(id: DynamixelPacket.broadcastID, instruction: .syncRead, parameters: parameters, into: &transport.packet)
            try exchange(replies: ids.count, parameterCount: register.size) { (index, reply) throws(MotorBusError) in
                staging[index] = register.value(fromRaw: rawValue(reply[...], size: register.size))
            } idAt: { ids[$0] }
        }
        if out.count != staging.count { out = staging } else { for i in staging.indices { out[i] = staging[i] } }
    }

    /// The fast variant of a group read into `staging`; `parameters` already holds the request.
    private func fastSyncRead(_ register: Register) throws(MotorBusError) {
        DynamixelPacket.encode(id: DynamixelPacket.broadcastID, instruction: .fastSyncRead, parameters: parameters, into: &transport.packet)
        decoder.unstuffs = false
        defer { decoder.unstuffs = true }
        var mismatch: UInt8?
        var refusal: (id: UInt8, detail: String)?
        var alertID: UInt8?
        let length = DynamixelPacket.fastSyncReplyLength(count: ids.count, dataLength: register.size)
        // The frame's own error byte is the first servo's: the transport checks it under id 0xFE.
        let frameAlert: (id: UInt8, detail: String)?
        do {
            frameAlert = try transport.exchange(&decoder, replies: 1, replyOverhead: 11, parameterCount: length, reply: &reply,
                                                name: motorName, idAt: { _ in DynamixelPacket.broadcastID }) { (_, reply) throws(MotorBusError) in
                _ = DynamixelPacket.forEachFastSyncReply(firstError: DynamixelStatusError(raw: 0), parameters: reply,
                                                          count: ids.count, dataLength: register.size) { index, error, id, data in
                    guard id == ids[index] else {
                        mismatch = mismatch ?? id
                        return
                    }
                    if let kind = error.kind, refusal == nil { refusal = (id, "\(kind)") }
                    if error.alert && alertID == nil { alertID = id }
                    staging[index] = register.value(fromRaw: rawValue(data, size: register.size))
                }
            }
        } catch {
            if case .refused(_, DynamixelPacket.broadcastID, let detail) = error {
                throw .refused(motor: motorName(ids[0]), id: ids[0], detail: detail)
            }
            throw error
        }
        if frameAlert != nil && alertID == nil { alertID = ids[0] }
        if let mismatch { throw .corrupt(motor: motorName(mismatch), id: mismatch) }
        if let refusal { throw .refused(motor: motorName(refusal.id), id: refusal.id, detail: refusal.detail) }
        if let alertID { throw hardwareError(alertID) }
    }

    public func syncWrite(_ register: Register, _ values: [Int32]) throws(MotorBusError) {
        precondition(values.count == ids.count, "one value per motor")
        parameters.removeAll(keepingCapacity: true)
        appendAddress(register)
        for index in ids.indices {
            let id = ids[index], value = values[index]
            guard let raw = register.raw(fromValue: value) else { throw .valueOutOfRange(register: register.name, value: value) }
            parameters.append(id)
            appendLittleEndian(raw, size: register.size)
        }
        DynamixelPacket.encode(id: DynamixelPacket.broadcastID, instruction: .syncWrite, parameters: parameters, into: &transport.packet)
        try exchange(replies: 0, parameterCount: 0) { (_, _) throws(MotorBusError) in } idAt: { ids[$0] }
    }

    public func read(_ register: Register, id: UInt8) throws(MotorBusError) -> Int32 {
        try read(register, id: id, reportingAlert: true)
    }

    private func read(_ register: Register, id: UInt8, reportingAlert: Bool) throws(MotorBusError) -> Int32 {
        parameters.removeAll(keepingCapacity: true)
        appendAddress(register)
        DynamixelPacket.encode(id: id, instruction: .read, parameters: parameters, into: &transport.packet)
        var value: Int32 = 0
        try exchange(replies: 1, parameterCount: register.size, reportingAlert: reportingAlert) { (_, reply) throws(MotorBusError) in
            value = register.value(fromRaw: rawValue(reply[...], size: register.size))
        } idAt: { _ in id }
        return value
    }

    public func write(_ register: Register, id: UInt8, value: Int32) throws(MotorBusError) {
        guard let raw = register.raw(fromValue: value) else { throw .valueOutOfRange(register: register.name, value: value) }
        parameters.removeAll(keepingCapacity: true)
        parameters.append(UInt8(register.address & 0xFF))
        parameters.append(UInt8(register.address >> 8))
        appendLittleEndian(raw, size: register.size)
        DynamixelPacket.encode(id: id, instruction: .write, parameters: parameters, into: &transport.packet)
        try exchange(replies: id == DynamixelPacket.broadcastID ? 0 : 1, parameterCount: 0) { (_, _) throws(MotorBusError) in } idAt: { _ in id }
    }

    public func ping(id: UInt8) throws(MotorBusError) -> MotorIdentity? {
        DynamixelPacket.encode(id: id, instruction: .ping, parameters: [], into: &transport.packet)
        var identity: MotorIdentity?
        do {
            try exchange(replies: 1, parameterCount: 3, retrying: false) { (_, reply) throws(MotorBusError) in
                identity = MotorIdentity(id: id, modelNumber: UInt16(reply[0]) | UInt16(reply[1]) << 8, firmware: reply[2])
            } idAt: { _ in id }
        } catch .timeout {
            return nil
        }
        return identity
    }

    /// One transaction through the transport; a hardware alert is reported with the motor's
    /// Hardware Error Status.
    private func exchange(replies: Int, parameterCount: Int, retrying: Bool = true, reportingAlert: Bool = true,
                          handle: (Int, [UInt8]) throws(MotorBusError) -> Void, idAt: (Int) -> UInt8) throws(MotorBusError) {
        let alert = try transport.exchange(&decoder, replies: replies, replyOverhead: 11, parameterCount: parameterCount,
                                           reply: &reply, retrying: retrying, name: motorName, idAt: idAt, handle: handle)
        if let alert, reportingAlert { throw hardwareError(alert.id) }
    }

    /// The motor's hardware fault, from its Hardware Error Status register.
    private func hardwareError(_ id: UInt8) -> MotorBusError {
        let detail: String
        // The reply to this read carries the alert bit too: it must not report it again.
        if let raw = try? read(DynamixelControlTable.hardwareErrorStatus, id: id, reportingAlert: false) {
            detail = DynamixelHardwareError(rawValue: UInt8(truncatingIfNeeded: raw)).description
        } else {
            detail = "alert bit set (Hardware Error Status unreadable)"
        }
        return .hardwareError(motor: motorName(id), id: id, detail: detail)
    }

    private func appendAddress(_ register: Register) {
        parameters.append(UInt8(register.address & 0xFF))
        parameters.append(UInt8(register.address >> 8))
        parameters.append(UInt8(register.size))
        parameters.append(0)
    }

    private func appendLittleEndian(_ raw: UInt32, size: Int) {
        for byte in 0..<size { parameters.append(UInt8(truncatingIfNeeded: raw >> (8 * UInt32(byte)))) }
    }

    private func rawValue(_ bytes: ArraySlice<UInt8>, size: Int) -> UInt32 {
        var raw: UInt32 = 0
        for byte in 0..<size { raw |= UInt32(bytes[bytes.startIndex + byte]) << (8 * UInt32(byte)) }
        return raw
    }
}
