import ReinsCore
import ReinsHardware

/// `bus emulate --factory`: a robot's servos reach the bus one at a time as they leave the factory
/// (id 1, their model's default baud) while their owner gives each its id and baud. The servo on
/// the bus is unplugged and the next plugged in once it has answered the host, has its motor's id
/// and the robot's baud, and the line has been quiet a moment (the person swapping cables); after
/// the last, all are chained.
struct FactorySetup {
    /// Each motor's name and id, in the order they are plugged in, and the robot's baud.
    let motors: [(name: String, id: UInt8)]
    let baud: Int
    /// Servos still in their boxes, in the order of `motors`.
    var boxed: [EmulatedServo]
    /// Servos set up and unplugged, in the order of `motors`.
    var setUp: [EmulatedServo] = []
    var lastTraffic = ContinuousClock.now
    /// Whether the servo on the bus has answered since it was plugged in (one already at its
    /// motor's id and baud is done only once the host has found it).
    var answered = false
    /// How long the line stays quiet before the person has swapped the servo.
    static let swapAfterQuiet = Duration.milliseconds(300)
}

/// Everything the emulator thread changes, behind one lock: servos, decoders and fault counters.
struct EmulatorState {
    let busProtocol: BusProtocol
    var servos: [EmulatedServo]
    /// Set while factory-fresh servos are being set up one at a time.
    var factory: FactorySetup?
    /// Whether a servo hears only a host at its own baud (factory emulation, where bauds change).
    var hearsOnlyItsBaud = false
    let faults: BusFaults
    var generator: SplitMix64
    var dynamixel = DynamixelDecoder()
    var feetech = FeetechDecoder()
    var dropped = 0
    var corrupted = 0

    init(busProtocol: BusProtocol, servos: [EmulatedServo], faults: BusFaults, generator: SplitMix64) {
        self.busProtocol = busProtocol
        self.servos = servos.sorted { $0.id < $1.id }
        self.faults = faults
        self.generator = generator
    }

    func servo(_ id: UInt8) -> EmulatedServo? { servos.first { $0.id == id } }

    /// Decodes what arrived and returns the replies to send, in order. A corrupt request gets no
    /// reply, as with a real servo; with `hearsOnlyItsBaud`, neither does a servo at another baud
    /// than the host's.
    mutating func receive(_ bytes: ArraySlice<UInt8>, hostBaud: Int = 0) -> [EmulatedReply] {
        let now = ContinuousClock.now
        for index in servos.indices { servos[index].advance(to: now) }
        factory?.lastTraffic = now
        var deaf: [EmulatedServo] = []
        if hearsOnlyItsBaud {
            deaf = servos.filter { $0.baud != hostBaud }
            servos.removeAll { $0.baud != hostBaud }
        }
        defer {
            if !deaf.isEmpty {
                servos += deaf
                servos.sort { $0.id < $1.id }
            }
        }
        var replies: [EmulatedReply] = []
        switch busProtocol {
        case .dynamixel:
            dynamixel.feed(Array(bytes))
            while true {
                let frame: DynamixelFrame?
                do { frame = try dynamixel.next() } catch { continue }
                guard let frame else { break }
                if !frame.isStatus { replies += handleDynamixel(frame) }
            }
        case .feetech:
            feetech.feed(Array(bytes))
            while true {
                let frame: FeetechFrame?
                do { frame = try feetech.next() } catch { continue }
                guard let frame else { break }
                replies += handleFeetech(frame)
            }
        case .ethercat:
            break  // never made: ServoBusEmulator refuses EtherCAT
        }
        if !replies.isEmpty { factory?.answered = true }
        var sent: [EmulatedReply] = []
        for reply in replies {
            if let reply = injectFaults(reply) { sent.append(reply) }
        }
        return sent
    }

    /// With factory emulation: once the servo on the bus has its motor's id and the robot's baud
    /// and the line has been quiet, unplugs it and plugs in the next (or, after the last, chains
    /// them all); what happened, to report, or nil.
    mutating func plugNextServo(now: ContinuousClock.Instant) -> String? {
        guard var setup = factory, servos.count == 1, setup.setUp.count < setup.motors.count else { return nil }
        let current = servos[0], target = setup.motors[setup.setUp.count]
        guard setup.answered, current.id == target.id, current.baud == setup.baud,
              setup.lastTraffic.duration(to: now) >= FactorySetup.swapAfterQuiet else { return nil }
        setup.setUp.append(current)
        let done = "\(target.name)'s servo has id \(target.id) at \(setup.baud) baud"
        guard !setup.boxed.isEmpty else {
            servos = setup.setUp.sorted { $0.id < $1.id }
            factory = nil
            return "\(done); all \(setup.motors.count) servos are chained on the bus now"
        }
        let next = setup.boxed.removeFirst()
        servos = [next]
        setup.answered = false
        factory = setup
        return "\(done) and is unplugged; \(setup.motors[setup.setUp.count].name)'s is plugged in alone, factory-fresh: id \(next.id) at \(next.baud ?? 0) baud"
    }

    /// Lets the twin's physics move every servo, those still boxed too.
    mutating func markPhysicsDriven() {
        for index in servos.indices { servos[index].physicsDriven = true }
        for index in factory?.boxed.indices ?? 0..<0 { factory?.boxed[index].physicsDriven = true }
    }

    private mutating func injectFaults(_ reply: EmulatedReply) -> EmulatedReply? {
        if faults.dropRate > 0 && Double.random(in: 0..<1, using: &generator) < faults.dropRate {
            dropped += 1
            return nil
        }
        var reply = reply
        reply.delay += faults.delay
        if faults.corruptRate > 0 && Double.random(in: 0..<1, using: &generator) < faults.corruptRate {
            corrupted += 1
            let headerLength = busProtocol == .dynamixel ? 4 : 2
            let index = Int.random(in: headerLength..<reply.bytes.count, using: &generator)
            reply.bytes[index] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
        }
        return reply
    }

    // MARK: Dynamixel

    private mutating func handleDynamixel(_ frame: DynamixelFrame) -> [EmulatedReply] {
        let broadcast = frame.id == DynamixelPacket.broadcastID
        let p = frame.parameters
        func u16(_ at: Int) -> Int { Int(p[at]) | Int(p[at + 1]) << 8 }
        guard let instruction = DynamixelInstruction(rawValue: frame.instruction) else {
            return broadcast ? [] : dynamixelStatus(frame.id, error: 2, [], level: 2)
        }
        switch instruction {
        case .ping:
            let targets = broadcast ? servos.map(\.id) : [frame.id]
            return targets.flatMap { id -> [EmulatedReply] in
                guard let servo = servo(id) else { return [] }
                let model = servo.load(DynamixelControlTable.modelNumber)
                return dynamixelStatus(id, error: 0, [UInt8(model & 0xFF), UInt8(model >> 8), UInt8(servo.load(DynamixelControlTable.firmwareVersion))], level: 0)
            }
        case .read:
            guard !broadcast, p.count == 4, let servo = servo(frame.id) else { return [] }
            guard let data = servo.readBytes(address: u16(0), length: u16(2)) else { return dynamixelStatus(frame.id, error: 4, [], level: 1) }
            return dynamixelStatus(frame.id, error: 0, data, level: 1)
        case .write, .regWrite:
            guard p.count > 2 else { return broadcast ? [] : dynamixelStatus(frame.id, error: 5, [], level: 2) }
            let targets = broadcast ? servos.map(\.id) : [frame.id]
            var replies: [EmulatedReply] = []
            for id in targets {
                guard let index = servos.firstIndex(where: { $0.id == id }) else { continue }
                let error: UInt8
                if instruction == .regWrite {
                    servos[index].pending = (u16(0), Array(p[2...]))
                    error = 0
                } else {
                    error = dynamixelError(servos[index].writeBytes(address: u16(0), data: Array(p[2...])))
                }
                if !broadcast { replies += dynamixelStatus(id, error: error, [], level: 2) }
            }
            return replies
        case .action:
            let targets = broadcast ? servos.map(\.id) : [frame.id]
            var replies: [EmulatedReply] = []
            for id in targets {
                guard let index = servos.firstIndex(where: { $0.id == id }) else { continue }
                var error: UInt8 = 2  // an action with nothing registered
                if let pending = servos[index].pending {
                    error = dynamixelError(servos[index].writeBytes(address: pending.address, data: pending.data))
                    servos[index].pending = nil
                }
                if !broadcast { replies += dynamixelStatus(id, error: error, [], level: 2) }
            }
            return replies
        case .reboot:
            guard let index = servos.firstIndex(where: { $0.id == frame.id }) else { return [] }
            _ = servos[index].writeBytes(address: Int(DynamixelControlTable.torqueEnable.address), data: [0])
            return broadcast ? [] : dynamixelStatus(frame.id, error: 0, [], level: 2)
        case .syncRead:
            guard p.count >= 4 else { return [] }
            let address = u16(0), length = u16(2)
            return p[4...].flatMap { id -> [EmulatedReply] in
                guard let servo = servo(id) else { return [] }
                guard let data = servo.readBytes(address: address, length: length) else { return dynamixelStatus(id, error: 4, [], level: 1) }
                return dynamixelStatus(id, error: 0, data, level: 1)
            }
        case .syncWrite:
            guard p.count >= 4 else { return [] }
            let address = u16(0), length = u16(2)
            var offset = 4
            while length > 0 && offset + 1 + length <= p.count {
                if let index = servos.firstIndex(where: { $0.id == p[offset] }) {
                    _ = servos[index].writeBytes(address: address, data: Array(p[(offset + 1)..<(offset + 1 + length)]))
                }
                offset += 1 + length
            }
            return []
        case .bulkRead:
            var replies: [EmulatedReply] = []
            var offset = 0
            while offset + 5 <= p.count {
                let id = p[offset], address = u16(offset + 1), length = u16(offset + 3)
                if let servo = servo(id) {
                    if let data = servo.readBytes(address: address, length: length) {
                        replies += dynamixelStatus(id, error: 0, data, level: 1)
                    } else {
                        replies += dynamixelStatus(id, error: 4, [], level: 1)
                    }
                }
                offset += 5
            }
            return replies
        case .bulkWrite:
            var offset = 0
            while offset + 5 <= p.count {
                let id = p[offset], address = u16(offset + 1), length = u16(offset + 3)
                guard offset + 5 + length <= p.count else { break }
                if let index = servos.firstIndex(where: { $0.id == id }) {
                    _ = servos[index].writeBytes(address: address, data: Array(p[(offset + 5)..<(offset + 5 + length)]))
                }
                offset += 5 + length
            }
            return []
        case .fastSyncRead:
            guard p.count >= 4 else { return [] }
            return fastSyncReply(address: u16(0), length: u16(2), ids: Array(p[4...]))
        case .factoryReset, .clear, .status, .fastBulkRead:
            return broadcast ? [] : dynamixelStatus(frame.id, error: 2, [], level: 2)
        }
    }

    /// One unstuffed packet from id 0xFE in which each listed servo gives ERR, ID, data and a CRC
    /// over its own bytes; the first ERR is the frame's error byte and the last CRC the frame's.
    private func fastSyncReply(address: Int, length: Int, ids: [UInt8]) -> [EmulatedReply] {
        let present = ids.compactMap { servo($0) }
        guard !present.isEmpty else { return [] }
        var firstError: UInt8 = 0
        var parameters: [UInt8] = []
        for (index, servo) in present.enumerated() {
            let data = servo.readBytes(address: address, length: length) ?? [UInt8](repeating: 0, count: max(length, 0))
            let error: UInt8 = servo.hardwareError != 0 ? 0x80 : 0
            if index == 0 { firstError = error } else { parameters.append(error) }
            parameters.append(servo.id)
            parameters += data
            if index < present.count - 1 {
                let crc = DynamixelCRC.checksum([error, servo.id] + data)
                parameters += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
            }
        }
        var bytes: [UInt8] = []
        DynamixelPacket.encodeStatus(id: DynamixelPacket.broadcastID, error: firstError, parameters: parameters, stuffing: false, into: &bytes)
        return [EmulatedReply(bytes: bytes, delay: present[0].returnDelay)]
    }

    private func dynamixelError(_ outcome: EmulatedServo.WriteOutcome) -> UInt8 {
        switch outcome {
        case .applied: 0
        case .outOfRange: 4
        case .eepromLocked: 7
        }
    }

    /// A status packet, sent only when the servo's status return level covers the instruction:
    /// 0 for ping, 1 for reads, 2 for everything.
    private func dynamixelStatus(_ id: UInt8, error: UInt8, _ parameters: [UInt8], level: Int32) -> [EmulatedReply] {
        guard let servo = servo(id), level == 0 || servo.statusReturnLevel >= level else { return [] }
        var bytes: [UInt8] = []
        let alert: UInt8 = servo.hardwareError != 0 ? 0x80 : 0
        DynamixelPacket.encodeStatus(id: id, error: error | alert, parameters: parameters, into: &bytes)
        return [EmulatedReply(bytes: bytes, delay: servo.returnDelay)]
    }

    // MARK: Feetech

    private mutating func handleFeetech(_ frame: FeetechFrame) -> [EmulatedReply] {
        let broadcast = frame.id == FeetechPacket.broadcastID
        let p = frame.parameters
        guard let instruction = FeetechInstruction(rawValue: frame.code) else { return [] }
        switch instruction {
        case .ping:
            let targets = broadcast ? servos.map(\.id) : [frame.id]
            return targets.flatMap { feetechStatus($0, [], level: 0) }
        case .read:
            guard !broadcast, p.count == 2, let servo = servo(frame.id),
                  let data = servo.readBytes(address: Int(p[0]), length: Int(p[1])) else { return [] }
            return feetechStatus(frame.id, data, level: 1)
        case .write, .regWrite:
            guard p.count >= 2 else { return [] }
            let targets = broadcast ? servos.map(\.id) : [frame.id]
            var replies: [EmulatedReply] = []
            for id in targets {
                guard let index = servos.firstIndex(where: { $0.id == id }) else { continue }
                if instruction == .regWrite {
                    servos[index].pending = (Int(p[0]), Array(p[1...]))
                } else {
                    _ = servos[index].writeBytes(address: Int(p[0]), data: Array(p[1...]))
                }
                if !broadcast { replies += feetechStatus(id, [], level: 2) }
            }
            return replies
        case .action:
            for index in servos.indices where broadcast || servos[index].id == frame.id {
                if let pending = servos[index].pending {
                    _ = servos[index].writeBytes(address: pending.address, data: pending.data)
                    servos[index].pending = nil
                }
            }
            return broadcast ? [] : feetechStatus(frame.id, [], level: 2)
        case .syncRead:
            guard p.count >= 2 else { return [] }
            return p[2...].flatMap { id -> [EmulatedReply] in
                guard let data = servo(id)?.readBytes(address: Int(p[0]), length: Int(p[1])) else { return [] }
                return feetechStatus(id, data, level: 1)
            }
        case .syncWrite:
            guard p.count >= 2 else { return [] }
            let address = Int(p[0]), length = Int(p[1])
            var offset = 2
            while length > 0 && offset + 1 + length <= p.count {
                if let index = servos.firstIndex(where: { $0.id == p[offset] }) {
                    _ = servos[index].writeBytes(address: address, data: Array(p[(offset + 1)..<(offset + 1 + length)]))
                }
                offset += 1 + length
            }
            return []
        case .factoryReset, .reset:
            return []
        }
    }

    /// Feetech's status return level: 0 answers only ping, 1 (factory) everything.
    private func feetechStatus(_ id: UInt8, _ parameters: [UInt8], level: Int32) -> [EmulatedReply] {
        guard let servo = servo(id), level == 0 || servo.statusReturnLevel >= 1 else { return [] }
        var bytes: [UInt8] = []
        FeetechPacket.encodeStatus(id: id, error: servo.hardwareError, parameters: parameters, into: &bytes)
        return [EmulatedReply(bytes: bytes, delay: servo.returnDelay)]
    }
}
