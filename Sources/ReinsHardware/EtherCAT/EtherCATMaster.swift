import ReinsCore

/// A slave as the master found and configured it.
public struct EtherCATSlave: Sendable, Equatable {
    /// 0-based place on the cable.
    public var position: Int
    /// Configured station address (0x1001 for the first).
    public var stationAddress: UInt16
    public var information: SlaveInformation
    public var state: ALState
    public var errorPending: Bool
    public var statusCode: ALStatusCode
    /// Read from (or written to) the slave's CoE objects; nil until then.
    public var mapping: PDOMapping?
    /// Where its outputs and inputs sit in the logical process image, bytes.
    public var outputOffset = 0
    public var inputOffset = 0
    /// Propagation delay from the reference clock, ns.
    public var delayNs: Int64 = 0

    public var outputBytes: Int { mapping?.outputBytes ?? 0 }
    public var inputBytes: Int { mapping?.inputBytes ?? 0 }

    /// "slave 2 (0x1002, Drive name)", for messages.
    public var label: String {
        "slave \(position + 1) (0x\(String(stationAddress, radix: 16, uppercase: true)), \(information.name.isEmpty ? "unnamed" : information.name))"
    }
}

/// How patient the master is; SOEM's defaults.
public struct EtherCATTimeouts: Sendable, Equatable {
    /// One frame's round trip (EC_TIMEOUTRET).
    public var frame: Duration
    /// Attempts after the first for non-cyclic datagrams.
    public var retries: Int
    /// One state change.
    public var stateChange: Duration
    /// One mailbox reply.
    public var mailbox: Duration

    public init(frame: Duration = .microseconds(2000), retries: Int = 3, stateChange: Duration = .seconds(2), mailbox: Duration = .milliseconds(700)) {
        self.frame = frame
        self.retries = retries
        self.stateChange = stateChange
        self.mailbox = mailbox
    }
}

/// Counters that make bus faults visible rather than silent.
public struct EtherCATStatistics: Sendable, Equatable, Codable {
    public var framesSent = 0
    /// Frames that did not come back in time.
    public var framesLost = 0
    /// Replies that belonged to an earlier, abandoned frame.
    public var staleReplies = 0
    public var cycles = 0
    /// Cycles whose working counter was wrong: their inputs were discarded.
    public var workingCounterErrors = 0

    public init() {}
}

/// How one process-data cycle went. Inputs are taken only from an `.ok` cycle.
public enum CycleOutcome: Sendable, Equatable {
    case ok
    /// The frame did not come back within the frame timeout.
    case lost
    /// It came back with the wrong working counter: some slave missed it.
    case workingCounter(expected: UInt16, received: UInt16)
}

/// An EtherCAT master: it finds and configures the slaves on a transport, talks CoE to them,
/// maps their process data into one logical image exchanged with one LRW per cycle, and keeps
/// their distributed clocks in step.
///
/// Not thread-safe: one thread owns it (the cyclic task while it runs, the caller otherwise).
/// `cycle()` is realtime: it allocates nothing; everything else is set-up and may.
public final class EtherCATMaster {
    public let transport: any EtherCATTransport
    public var timeouts: EtherCATTimeouts
    public private(set) var slaves: [EtherCATSlave] = []
    public private(set) var statistics = EtherCATStatistics()
    /// The logical process image: every slave's outputs, then every slave's inputs.
    public private(set) var outputs: [UInt8] = []
    public private(set) var inputs: [UInt8] = []
    /// What a good cycle's LRW returns: outputs × 2 + inputs over the slaves that have them once
    /// the bus is in OP; in SAFE-OP only the inputs count.
    public var expectedWorkingCounter: UInt16 { outputsEnabled ? operationalWorkingCounter : inputsWorkingCounter }
    private var operationalWorkingCounter: UInt16 = 0
    private var inputsWorkingCounter: UInt16 = 0
    /// Whether the whole bus is in OP as the master last saw it (its outputs are taken and counted).
    public private(set) var outputsEnabled = false
    /// Whether cycles also carry the reference clock to the others (FRMW of 0x0910).
    public private(set) var distributedClocks = false
    /// The largest |system time difference| a slave reported, refreshed one slave per cycle, ns.
    public private(set) var dcMaxDifferenceNs: Int64 = 0
    /// The reference clock's system time from the latest good cycle, ns.
    public private(set) var referenceTimeNs: UInt64 = 0
    private var differences: [Int64] = []
    private var differenceSlave = 0

    private var builder: EtherCATFrameBuilder
    private var cycleBuilder: EtherCATFrameBuilder
    private var receiveBuffer = [UInt8](repeating: 0, count: 1600)
    private var index: UInt8 = 0
    private var mailboxCounter: [UInt8] = []
    /// Offsets in `cycleBuilder` of the cycle's datagrams' data.
    private var cycleLRW = 0
    private var cycleFRMW: Int?
    private var cycleDifference: Int?
    /// The first logical address of the image.
    public static let logicalStart: UInt32 = 0x0001_0000
    /// The largest SII EEPROM read: 64 kbit.
    static let maxEEPROMWords = 4096

    public init(transport: any EtherCATTransport, timeouts: EtherCATTimeouts = EtherCATTimeouts()) {
        self.transport = transport
        self.timeouts = timeouts
        builder = EtherCATFrameBuilder(headerRoom: transport.headerRoom)
        cycleBuilder = EtherCATFrameBuilder(headerRoom: transport.headerRoom)
    }

    // MARK: Frames

    private func nextIndex() -> UInt8 {
        index &+= 1
        return index
    }

    /// Sends the frame in `frame` and waits for it to come back (matched by its first
    /// datagram's index). True when it did. Realtime: allocates nothing.
    private func transceive(_ frame: inout EtherCATFrameBuilder, index: UInt8, timeout: Duration) throws(EtherCATError) -> Bool {
        let length = frame.finish()
        let transport = transport
        try frame.withUnsafeMutableBytes { raw in
            Result { () throws(EtherCATError) in try transport.send(UnsafeMutableRawBufferPointer(rebasing: raw[0..<length])) }
        }.get()
        statistics.framesSent += 1
        let deadline = ContinuousClock.now + timeout
        let room = transport.headerRoom
        while true {
            let received = try receiveBuffer.withUnsafeMutableBytes { raw in
                Result { () throws(EtherCATError) in try transport.receive(into: raw, until: deadline) }
            }.get()
            guard let count = received else {
                statistics.framesLost += 1
                return false
            }
            guard count >= room + EtherCATFrame.headerSize + EtherCATFrame.datagramHeaderSize, receiveBuffer[room + 3] == index else {
                statistics.staleReplies += 1
                continue
            }
            // The reply replaces the request: same layout, slaves' data and working counters in it.
            let copied = min(count, frame.bytes.count)
            receiveBuffer.withUnsafeBytes { reply in frame.copy(UnsafeRawBufferPointer(rebasing: reply[0..<copied]), to: 0) }
            return true
        }
    }

    /// One datagram, retried on a lost frame; its reply data and working counter.
    public func exchange(_ command: EtherCATCommand, address: UInt32, length: Int, data: [UInt8]? = nil,
                         what: @autoclosure () -> String) throws(EtherCATError) -> (data: [UInt8], workingCounter: UInt16) {
        for _ in 0...timeouts.retries {
            if let reply = try exchangeOnce(command, address: address, length: length, data: data) { return reply }
        }
        throw .timeout(operation: what(), after: timeouts.frame * (timeouts.retries + 1))
    }

    /// One datagram, one attempt: nil when the frame was lost (the slaves may or may not have
    /// seen it), for callers that must not simply repeat a read that has side effects.
    private func exchangeOnce(_ command: EtherCATCommand, address: UInt32, length: Int, data: [UInt8]? = nil)
        throws(EtherCATError) -> (data: [UInt8], workingCounter: UInt16)?
    {
        do {
            builder.reset()
            let index = nextIndex()
            let offset: Int
            if let data {
                offset = data.withUnsafeBytes { builder.append(command, index: index, address: address, length: length, data: $0) }
            } else {
                offset = builder.append(command, index: index, address: address, length: length)
            }
            guard try transceive(&builder, index: index, timeout: timeouts.frame) else { return nil }
            let reply = Array(builder.bytes[offset..<(offset + length)])
            return (reply, builder.bytes.littleEndian(UInt16.self, at: offset + length))
        }
    }

    /// FPRD of `length` bytes at `register` of the slave with `station`; throws unless it answered.
    public func read(station: UInt16, register: UInt16, length: Int) throws(EtherCATError) -> [UInt8] {
        let what = "FPRD 0x\(String(register, radix: 16)) of station 0x\(String(station, radix: 16))"
        let reply = try exchange(.fprd, address: DatagramHeader.physical(slave: station, offset: register), length: length, what: what)
        guard reply.workingCounter == 1 else { throw .workingCounter(operation: what, expected: 1, received: Int(reply.workingCounter)) }
        return reply.data
    }

    /// FPWR of `data` at `register`; throws unless the slave took it.
    public func write(station: UInt16, register: UInt16, _ data: [UInt8]) throws(EtherCATError) {
        let what = "FPWR 0x\(String(register, radix: 16)) of station 0x\(String(station, radix: 16))"
        let reply = try exchange(.fpwr, address: DatagramHeader.physical(slave: station, offset: register), length: data.count, data: data, what: what)
        guard reply.workingCounter == 1 else { throw .workingCounter(operation: what, expected: 1, received: Int(reply.workingCounter)) }
    }

    // MARK: Bring-up

    /// Counts the slaves, puts them in INIT with errors acknowledged, clears their FMMUs and
    /// sync managers, gives them station addresses from 0x1001 and reads their SII EEPROMs.
    /// With `reset` false the slaves keep their state, configuration and any station address
    /// they already have (to look, not to take over).
    @discardableResult
    public func scan(reset: Bool = true) throws(EtherCATError) -> [EtherCATSlave] {
        let count = Int(try exchange(.brd, address: DatagramHeader.physical(slave: 0, offset: ESCRegister.type), length: 1,
                                     what: "counting slaves (BRD 0x0000)").workingCounter)
        guard count > 0 else { throw .noSlaves(location: transport.location) }
        func broadcast(_ register: UInt16, _ data: [UInt8], _ what: String) throws(EtherCATError) {
            _ = try exchange(.bwr, address: DatagramHeader.physical(slave: 0, offset: register), length: data.count, data: data, what: what)
        }
        if reset {
            try broadcast(ESCRegister.alControl, [ALState.initial.rawValue | ALState.errorBit, 0], "reset to INIT (BWR 0x0120)")
            try broadcast(ESCRegister.fmmu0, [UInt8](repeating: 0, count: 16 * 3), "clearing FMMUs (BWR 0x0600)")
            try broadcast(ESCRegister.syncManager0, [UInt8](repeating: 0, count: 8 * 4), "clearing sync managers (BWR 0x0800)")
            try broadcast(ESCRegister.dcSyncActivation, [0], "stopping SYNC0 (BWR 0x0981)")
        }
        slaves = []
        outputsEnabled = false
        mailboxCounter = [UInt8](repeating: 0, count: count)
        for position in 0..<count {
            let slaveAtPosition = UInt16(bitPattern: Int16(-position))
            var station = UInt16(0x1001 + position)
            if !reset {
                // Looking only: a station address another master gave is kept.
                let what = "reading the station address of slave \(position + 1) (APRD 0x0010)"
                let found = try exchange(.aprd, address: DatagramHeader.physical(slave: slaveAtPosition, offset: ESCRegister.stationAddress), length: 2, what: what)
                guard found.workingCounter == 1 else { throw .workingCounter(operation: what, expected: 1, received: Int(found.workingCounter)) }
                let existing = found.data.littleEndian(UInt16.self)
                if existing != 0 && !slaves.contains(where: { $0.stationAddress == existing }) { station = existing }
            }
            let what = "assigning station address 0x\(String(station, radix: 16)) to slave \(position + 1) (APWR 0x0010)"
            let reply = try exchange(.apwr, address: DatagramHeader.physical(slave: slaveAtPosition, offset: ESCRegister.stationAddress),
                                     length: 2, data: [UInt8](littleEndian: station), what: what)
            guard reply.workingCounter == 1 else { throw .workingCounter(operation: what, expected: 1, received: Int(reply.workingCounter)) }
            let information = try readSII(station: station, position: position)
            slaves.append(EtherCATSlave(position: position, stationAddress: station, information: information, state: .initial,
                                        errorPending: false, statusCode: .none))
            try refreshState(position)
        }
        return slaves
    }

    /// Reads the SII EEPROM word by word through registers 0x0502–0x050B until its end category.
    private func readSII(station: UInt16, position: Int) throws(EtherCATError) -> SlaveInformation {
        let label = "slave \(position + 1) (0x\(String(station, radix: 16)))"
        var words: [UInt16] = []
        let clock = ContinuousClock()
        func readPair(_ address: Int) throws(EtherCATError) -> (UInt16, UInt16) {
            // Command read (bit 8) with the word address, written in one datagram as masters do.
            try write(station: station, register: ESCRegister.siiControl, [0x00, 0x01] + [UInt8](littleEndian: UInt32(address)))
            let deadline = clock.now + .milliseconds(100)
            while true {
                let status = try read(station: station, register: ESCRegister.siiControl, length: 2).littleEndian(UInt16.self)
                if status & 0x7800 != 0 { throw .sii(slave: label, detail: "the EEPROM interface reports error bits 0x\(String(status, radix: 16))") }
                if status & 0x8000 == 0 { break }
                guard clock.now < deadline else { throw .sii(slave: label, detail: "the EEPROM stayed busy for 100 ms") }
            }
            let data = try read(station: station, register: ESCRegister.siiData, length: 4)
            return (data.littleEndian(UInt16.self, at: 0), data.littleEndian(UInt16.self, at: 2))
        }
        while words.count < SlaveInformation.Word.firstCategory {
            let (first, second) = try readPair(words.count)
            words += [first, second]
        }
        // Categories: header (type, size), then the data, until type 0xFFFF.
        var at = SlaveInformation.Word.firstCategory
        while true {
            // A garbage category size must not send the master reading for ever.
            guard at + 2 <= Self.maxEEPROMWords else {
                throw .sii(slave: label, detail: "the categories run past \(Self.maxEEPROMWords) words without an end category; the EEPROM is corrupt")
            }
            while words.count < at + 2 {
                let (first, second) = try readPair(words.count)
                words += [first, second]
            }
            if words[at] == SlaveInformation.Category.end || words[at] == 0 { break }
            at += 2 + Int(words[at + 1])
        }
        do {
            return try SlaveInformation(eepromWords: words)
        } catch {
            throw .sii(slave: label, detail: error.description)
        }
    }

    /// Reads a slave's AL status and status code into `slaves`.
    @discardableResult
    public func refreshState(_ position: Int) throws(EtherCATError) -> EtherCATSlave {
        let station = slaves[position].stationAddress
        let status = try read(station: station, register: ESCRegister.alStatus, length: 6)
        slaves[position].state = ALState(rawValue: status[0] & 0x0F) ?? .initial
        slaves[position].errorPending = status[0] & ALState.errorBit != 0
        slaves[position].statusCode = ALStatusCode(status.littleEndian(UInt16.self, at: 4))
        return slaves[position]
    }

    /// Asks slaves (all, or the one at `position`) for `state` and waits until they are in it.
    /// A pending error is acknowledged with the request. A slave that refuses (its error flag
    /// still up 100 ms after the request: firmware takes a moment to clear an acknowledged one)
    /// or does not get there in time is reported with its AL status code in words.
    public func requestState(_ state: ALState, slave position: Int? = nil) throws(EtherCATError) {
        try requestState(state, slave: position, cycling: nil)
    }

    private func requestState(_ state: ALState, slave position: Int?, cycling period: Duration?) throws(EtherCATError) {
        let targets = position.map { [$0] } ?? Array(slaves.indices)
        if state < .operational { outputsEnabled = false }
        for target in targets {
            let current = try refreshState(target)
            let control = state.rawValue | (current.errorPending ? ALState.errorBit : 0)
            try write(station: current.stationAddress, register: ESCRegister.alControl, [control, 0])
        }
        let clock = ContinuousClock()
        let started = clock.now
        let patience = Duration.milliseconds(100)
        for target in targets {
            while true {
                // Drives want process data while they go to OP: a cycle between polls.
                if let period {
                    _ = try cycle()
                    LoopClock.sleep(for: period)
                }
                let slave = try refreshState(target)
                if slave.state == state && !slave.errorPending { break }
                let waited = clock.now - started
                if (slave.errorPending && waited > patience) || waited > timeouts.stateChange {
                    throw .stateChange(slave: slave.label, requested: state, reached: slave.state, code: slave.statusCode, after: waited)
                }
            }
        }
        outputsEnabled = slaves.allSatisfy { $0.state == .operational && !$0.errorPending }
    }

    /// Takes every slave to OP with process data flowing: a cycle every `period` while they get
    /// there (SYNC0-driven drives expect outputs from their first SM event and trip their
    /// watchdog without them). Errors are acknowledged on the way. From then on a good cycle's
    /// working counter counts outputs too.
    public func enterOperational(period: Duration) throws(EtherCATError) {
        var all = true
        for position in slaves.indices {
            let slave = try refreshState(position)
            if slave.state != .operational || slave.errorPending { all = false }
        }
        if all {
            outputsEnabled = true
            return
        }
        // Outputs are sent (and counted) from the first cycle: a slave in OP takes them.
        outputsEnabled = true
        try requestState(.operational, slave: nil, cycling: period)
    }

    /// From power-on to SAFE-OP the way a master that configures slaves from their SII and CoE
    /// objects does: scan, mailboxes and PRE-OP, each slave's PDO mapping written (`mapping`)
    /// or read, process data laid out, distributed clocks synchronised and SYNC0 started at
    /// `cycle`, SAFE-OP (inputs flowing, outputs not yet). Returns the frames the clocks took
    /// to lock. `enterOperational` goes on from there.
    @discardableResult
    public func configure(mapping: PDOMapping? = nil, cycle: Duration) throws(EtherCATError) -> Int {
        try scan()
        try enterPreOperational()
        for slave in slaves {
            if let mapping { try writePDOMapping(slave: slave.position, mapping) } else { _ = try readPDOMapping(slave: slave.position) }
        }
        try configureProcessData()
        let frames = try configureDistributedClocks()
        try startSync0(cycle: cycle)
        try requestState(.safeOperational)
        return frames
    }

    /// Acknowledges a slave's error and puts it back in `state` (its current one by default).
    public func acknowledgeError(slave position: Int, state: ALState? = nil) throws(EtherCATError) {
        let slave = try refreshState(position)
        let wanted = state ?? slave.state
        try write(station: slave.stationAddress, register: ESCRegister.alControl, [wanted.rawValue | ALState.errorBit, 0])
        try requestState(wanted, slave: position)
    }

    /// Configures every slave's mailbox sync managers from its SII and brings the bus to PRE-OP.
    public func enterPreOperational() throws(EtherCATError) {
        for slave in slaves where slave.information.supportsCoE {
            let info = slave.information
            let boxes = SyncManagerConfig(start: info.mailboxOutStart, length: info.mailboxOutSize, control: SyncManagerConfig.mailboxOutControl, enabled: true)
                .registerBytes
                + SyncManagerConfig(start: info.mailboxInStart, length: info.mailboxInSize, control: SyncManagerConfig.mailboxInControl, enabled: true)
                .registerBytes
            try write(station: slave.stationAddress, register: ESCRegister.syncManager0, boxes)
        }
        try requestState(.preOperational)
    }

    // MARK: Mailbox (CoE)

    private func mailboxExchange(_ position: Int, _ request: SDOMessage) throws(EtherCATError) -> SDOMessage {
        let slave = slaves[position]
        let info = slave.information
        guard info.supportsCoE else { throw .mailbox(slave: slave.label, detail: "the slave has no CoE mailbox (SII)") }
        mailboxCounter[position] = mailboxCounter[position] % 7 + 1
        let body = request.bytes
        var message = MailboxHeader(length: body.count, counter: mailboxCounter[position]).bytes + body
        guard message.count <= Int(info.mailboxOutSize) else {
            throw .mailbox(slave: slave.label, detail: "a message of \(message.count) bytes does not fit the \(info.mailboxOutSize)-byte mailbox")
        }
        message += [UInt8](repeating: 0, count: Int(info.mailboxOutSize) - message.count)
        let clock = ContinuousClock()
        let deadline = clock.now + timeouts.mailbox
        // The outbox takes the message once the slave has emptied it (working counter 1). A
        // write repeated after a lost frame carries the same counter, so the slave ignores it.
        while true {
            let reply = try exchange(.fpwr, address: DatagramHeader.physical(slave: slave.stationAddress, offset: info.mailboxOutStart),
                                     length: message.count, data: message, what: "\(slave.label): writing the mailbox")
            if reply.workingCounter == 1 { break }
            guard clock.now < deadline else { throw .mailbox(slave: slave.label, detail: "the mailbox stayed full for \(timeouts.mailbox)") }
        }
        // The inbox answers (working counter 1) once the slave has put its reply in it. Reading
        // it empties it, so a read whose frame is lost is not repeated: the slave is asked to
        // post its reply again (the sync manager's repeat request).
        while true {
            guard let reply = try exchangeOnce(.fprd, address: DatagramHeader.physical(slave: slave.stationAddress, offset: info.mailboxInStart),
                                               length: Int(info.mailboxInSize)) else {
                try repeatMailbox(slave, until: deadline)
                continue
            }
            if reply.workingCounter == 1 {
                guard let header = MailboxHeader(reply.data), header.length <= reply.data.count - MailboxHeader.size else {
                    throw .mailbox(slave: slave.label, detail: "a reply with a malformed mailbox header")
                }
                if header.type == MailboxHeader.errorType {
                    throw .mailbox(slave: slave.label, detail: "mailbox error 0x\(String(reply.data.littleEndian(UInt16.self, at: 8), radix: 16))")
                }
                let coe = Array(reply.data[MailboxHeader.size..<(MailboxHeader.size + header.length)])
                // Emergencies (service 1) may arrive in between: skip them.
                if coe.count >= 2 && coe.littleEndian(UInt16.self) >> 12 == 1 { continue }
                do {
                    let message = try SDOMessage(coe: coe, fromSlave: true)
                    if message.answers(request) { return message }
                    // A reply to an earlier request, posted twice: not ours.
                } catch {
                    throw .mailbox(slave: slave.label, detail: error.description)
                }
            }
            guard clock.now < deadline else { throw .mailbox(slave: slave.label, detail: "no reply within \(timeouts.mailbox)") }
        }
    }

    /// Toggles the repeat bit of the slave's inbox sync manager (0x080E bit 1) and waits for the
    /// acknowledgement (0x080F bit 1): the slave then posts its last reply again.
    private func repeatMailbox(_ slave: EtherCATSlave, until deadline: ContinuousClock.Instant) throws(EtherCATError) {
        let activate = ESCRegister.syncManager(1) + 6
        let wanted = try read(station: slave.stationAddress, register: activate, length: 1)[0] ^ 0x02
        try write(station: slave.stationAddress, register: activate, [wanted])
        while try read(station: slave.stationAddress, register: activate + 1, length: 1)[0] & 0x02 != wanted & 0x02 {
            guard ContinuousClock.now < deadline else { throw .mailbox(slave: slave.label, detail: "the slave did not acknowledge a mailbox repeat request") }
        }
    }

    /// Reads an object (SDO upload, expedited or segmented).
    public func sdoRead(slave position: Int, index: UInt16, subindex: UInt8) throws(EtherCATError) -> [UInt8] {
        let label = slaves[position].label
        switch try mailboxExchange(position, .uploadRequest(index: index, subindex: subindex)) {
        case .abort(_, _, let code):
            throw .sdoAbort(slave: label, index: index, subindex: subindex, code: code)
        case .uploadResponse(let gotIndex, let gotSub, let size, var data, let expedited) where gotIndex == index && gotSub == subindex:
            if expedited || data.count >= size { return Array(data.prefix(size)) }
            var toggle = false
            while data.count < size {
                switch try mailboxExchange(position, .uploadSegmentRequest(toggle: toggle)) {
                case .abort(_, _, let code):
                    throw .sdoAbort(slave: label, index: index, subindex: subindex, code: code)
                case .uploadSegmentResponse(let gotToggle, let last, let segment) where gotToggle == toggle:
                    data += segment
                    if last { return Array(data.prefix(size)) }
                default:
                    throw .mailbox(slave: label, detail: "an unexpected reply to an upload segment of 0x\(String(index, radix: 16)):\(subindex)")
                }
                toggle.toggle()
            }
            return Array(data.prefix(size))
        default:
            throw .mailbox(slave: label, detail: "an unexpected reply to an upload of 0x\(String(index, radix: 16)):\(subindex)")
        }
    }

    /// Writes an object (SDO download: expedited up to 4 bytes, else normal and segmented).
    public func sdoWrite(slave position: Int, index: UInt16, subindex: UInt8, _ data: [UInt8]) throws(EtherCATError) {
        let label = slaves[position].label
        let room = Int(slaves[position].information.mailboxOutSize) - MailboxHeader.size
        let expedited = !data.isEmpty && data.count <= 4
        let first = expedited ? data.count : min(data.count, room - SDOMessage.initiateSize)
        let request = SDOMessage.downloadRequest(index: index, subindex: subindex, completeSize: data.count, data: Array(data[..<first]), expedited: expedited)
        switch try mailboxExchange(position, request) {
        case .abort(_, _, let code): throw .sdoAbort(slave: label, index: index, subindex: subindex, code: code)
        case .downloadResponse(let gotIndex, let gotSub) where gotIndex == index && gotSub == subindex: break
        default: throw .mailbox(slave: label, detail: "an unexpected reply to a download of 0x\(String(index, radix: 16)):\(subindex)")
        }
        var sent = first
        var toggle = false
        while sent < data.count {
            let count = min(data.count - sent, room - SDOMessage.segmentHeaderSize)
            let last = sent + count == data.count
            switch try mailboxExchange(position, .downloadSegmentRequest(toggle: toggle, last: last, data: Array(data[sent..<(sent + count)]))) {
            case .abort(_, _, let code): throw .sdoAbort(slave: label, index: index, subindex: subindex, code: code)
            case .downloadSegmentResponse(let gotToggle) where gotToggle == toggle: break
            default: throw .mailbox(slave: label, detail: "an unexpected reply to a download segment of 0x\(String(index, radix: 16)):\(subindex)")
            }
            sent += count
            toggle.toggle()
        }
    }

    // MARK: Process data

    /// Reads a slave's PDO assignment (0x1C12/0x1C13) and each assigned PDO's entries.
    public func readPDOMapping(slave position: Int) throws(EtherCATError) -> PDOMapping {
        func assigned(_ assignment: UInt16) throws(EtherCATError) -> [(pdo: UInt16, entries: [PDOEntry])] {
            let count = Int(try sdoRead(slave: position, index: assignment, subindex: 0).first ?? 0)
            var pdos: [(pdo: UInt16, entries: [PDOEntry])] = []
            for slot in 0..<count {
                let pdo = try sdoRead(slave: position, index: assignment, subindex: UInt8(slot + 1)).littleEndian(UInt16.self)
                let entryCount = Int(try sdoRead(slave: position, index: pdo, subindex: 0).first ?? 0)
                var entries: [PDOEntry] = []
                for entry in 0..<entryCount {
                    entries.append(PDOEntry(packed: try sdoRead(slave: position, index: pdo, subindex: UInt8(entry + 1)).littleEndian(UInt32.self)))
                }
                pdos.append((pdo, entries))
            }
            return pdos
        }
        let mapping = PDOMapping(outputs: try assigned(0x1C12), inputs: try assigned(0x1C13))
        slaves[position].mapping = mapping
        return mapping
    }

    /// Writes a PDO mapping into a slave (in PRE-OP), the standard way: each PDO disabled
    /// (subindex 0 = 0), its entries, then its count; the assignment likewise.
    public func writePDOMapping(slave position: Int, _ mapping: PDOMapping) throws(EtherCATError) {
        for (assignment, pdos) in [(UInt16(0x1C12), mapping.outputs), (0x1C13, mapping.inputs)] {
            try sdoWrite(slave: position, index: assignment, subindex: 0, [0])
            for pdo in pdos {
                try sdoWrite(slave: position, index: pdo.pdo, subindex: 0, [0])
                for (slot, entry) in pdo.entries.enumerated() {
                    try sdoWrite(slave: position, index: pdo.pdo, subindex: UInt8(slot + 1), [UInt8](littleEndian: entry.packed))
                }
                try sdoWrite(slave: position, index: pdo.pdo, subindex: 0, [UInt8(pdo.entries.count)])
            }
            for (slot, pdo) in pdos.enumerated() {
                try sdoWrite(slave: position, index: assignment, subindex: UInt8(slot + 1), [UInt8](littleEndian: pdo.pdo))
            }
            try sdoWrite(slave: position, index: assignment, subindex: 0, [UInt8(pdos.count)])
        }
        slaves[position].mapping = mapping
    }

    /// Lays out the logical image (every slave's outputs, then every slave's inputs), writes
    /// each slave's process-data sync managers (SM2, SM3 from its SII) and FMMUs, and works out
    /// the working counter a good cycle returns. Every slave's mapping must be known.
    public func configureProcessData() throws(EtherCATError) {
        var offset = 0
        for position in slaves.indices {
            guard slaves[position].mapping != nil else {
                throw .configuration("\(slaves[position].label): its PDO mapping is not known; read or write it first")
            }
            slaves[position].outputOffset = offset
            offset += slaves[position].outputBytes
        }
        let outputTotal = offset
        for position in slaves.indices {
            slaves[position].inputOffset = offset
            offset += slaves[position].inputBytes
        }
        outputs = [UInt8](repeating: 0, count: outputTotal)
        inputs = [UInt8](repeating: 0, count: offset - outputTotal)
        var expected = 0, inputsOnly = 0
        for slave in slaves {
            let info = slave.information
            guard info.syncManagers.count >= 4 || (slave.outputBytes == 0 && slave.inputBytes == 0) else {
                throw .configuration("\(slave.label): its SII describes \(info.syncManagers.count) sync managers; process data needs SM2 and SM3")
            }
            var fmmus: [UInt8] = []
            if slave.outputBytes > 0 {
                let sm = info.syncManagers[2]
                try write(station: slave.stationAddress, register: ESCRegister.syncManager(2),
                          SyncManagerConfig(start: sm.start, length: UInt16(slave.outputBytes), control: SyncManagerConfig.outputsControl, enabled: true).registerBytes)
                fmmus += FMMUConfig(logicalStart: Self.logicalStart + UInt32(slave.outputOffset), length: UInt16(slave.outputBytes),
                                    physicalStart: sm.start, type: FMMUConfig.writeType, enabled: true).registerBytes
                expected += 2
            }
            if slave.inputBytes > 0 {
                let sm = info.syncManagers[3]
                try write(station: slave.stationAddress, register: ESCRegister.syncManager(3),
                          SyncManagerConfig(start: sm.start, length: UInt16(slave.inputBytes), control: SyncManagerConfig.inputsControl, enabled: true).registerBytes)
                fmmus += FMMUConfig(logicalStart: Self.logicalStart + UInt32(slave.inputOffset), length: UInt16(slave.inputBytes),
                                    physicalStart: sm.start, type: FMMUConfig.readType, enabled: true).registerBytes
                expected += 1
                inputsOnly += 1
            }
            if !fmmus.isEmpty { try write(station: slave.stationAddress, register: ESCRegister.fmmu0, fmmus) }
        }
        operationalWorkingCounter = UInt16(expected)
        inputsWorkingCounter = UInt16(inputsOnly)
        prepareCycleFrame()
    }

    /// Lays out the cyclic frame once: the LRW of the image, then (with distributed clocks) an
    /// FRMW of the reference's system time and an FPRD of one slave's time difference.
    private func prepareCycleFrame() {
        cycleBuilder.reset()
        cycleLRW = cycleBuilder.append(.lrw, index: 0, address: Self.logicalStart, length: outputs.count + inputs.count)
        cycleFRMW = nil
        cycleDifference = nil
        if distributedClocks, let reference = slaves.first {
            cycleFRMW = cycleBuilder.append(.frmw, index: 0, address: DatagramHeader.physical(slave: reference.stationAddress, offset: ESCRegister.dcSystemTime), length: 8)
            if slaves.count > 1 {
                cycleDifference = cycleBuilder.append(.fprd, index: 0, address: DatagramHeader.physical(slave: slaves[1].stationAddress, offset: ESCRegister.dcSystemTimeDifference), length: 4)
            }
        }
        differences = [Int64](repeating: 0, count: slaves.count)
        differenceSlave = 1
    }

    /// Hands the whole output image to `body` to fill (each slave's bytes at its `outputOffset`).
    /// Realtime: allocates nothing.
    public func setOutputs(_ body: (UnsafeMutableRawBufferPointer) -> Void) {
        outputs.withUnsafeMutableBytes(body)
    }

    /// One process-data cycle: the outputs go out in one LRW and the inputs come back in it.
    /// Inputs are copied into `inputs` only when the working counter is the expected one; a
    /// lost frame or a wrong count leaves the last good inputs in place. Realtime: allocates
    /// nothing.
    public func cycle() throws(EtherCATError) -> CycleOutcome {
        statistics.cycles += 1
        let index = nextIndex()
        // Refill the prepared frame in place: index, outputs, zeroed inputs and counters.
        let room = transport.headerRoom + EtherCATFrame.headerSize
        cycleBuilder.store(index, at: room + 1)
        outputs.withUnsafeBytes { cycleBuilder.copy($0, to: cycleLRW) }
        for byte in 0..<inputs.count { cycleBuilder.store(UInt8(0), at: cycleLRW + outputs.count + byte) }
        cycleBuilder.store(UInt16(0), at: cycleLRW + outputs.count + inputs.count)
        if let frmw = cycleFRMW {
            cycleBuilder.store(UInt64(0), at: frmw)
            cycleBuilder.store(UInt16(0), at: frmw + 8)
        }
        if let difference = cycleDifference {
            cycleBuilder.store(DatagramHeader.physical(slave: slaves[differenceSlave].stationAddress, offset: ESCRegister.dcSystemTimeDifference),
                               at: difference - EtherCATFrame.datagramHeaderSize + 2)
            cycleBuilder.store(UInt32(0), at: difference)
            cycleBuilder.store(UInt16(0), at: difference + 4)
        }
        guard try transceive(&cycleBuilder, index: index, timeout: timeouts.frame) else { return .lost }
        let received = cycleBuilder.bytes.littleEndian(UInt16.self, at: cycleLRW + outputs.count + inputs.count)
        if received == expectedWorkingCounter, let frmw = cycleFRMW, cycleBuilder.bytes.littleEndian(UInt16.self, at: frmw + 8) > 0 {
            referenceTimeNs = cycleBuilder.bytes.littleEndian(UInt64.self, at: frmw)
        }
        if let difference = cycleDifference, cycleBuilder.bytes.littleEndian(UInt16.self, at: difference + 4) == 1 {
            differences[differenceSlave] = Self.signedDifference(cycleBuilder.bytes.littleEndian(UInt32.self, at: difference))
            dcMaxDifferenceNs = differences.reduce(0) { max($0, abs($1)) }
            differenceSlave = differenceSlave + 1 < slaves.count ? differenceSlave + 1 : 1
        }
        guard received == expectedWorkingCounter else {
            statistics.workingCounterErrors += 1
            return .workingCounter(expected: expectedWorkingCounter, received: received)
        }
        cycleBuilder.bytes.withUnsafeBytes { frame in
            inputs.withUnsafeMutableBytes { image in
                image.copyMemory(from: UnsafeRawBufferPointer(rebasing: frame[(cycleLRW + outputs.count)..<(cycleLRW + outputs.count + image.count)]))
            }
        }
        return .ok
    }

    // MARK: Distributed clocks

    /// 0x092C's sign-and-magnitude as a signed difference, ns.
    static func signedDifference(_ raw: UInt32) -> Int64 {
        raw & 0x8000_0000 != 0 ? -Int64(raw & 0x7FFF_FFFF) : Int64(raw)
    }

    /// Synchronises the slaves' clocks to the first (the reference): latches every port's
    /// receive time with one broadcast write, works out each slave's propagation delay from
    /// them, writes system-time offsets and delays, then sends the reference's time to the
    /// others (ARMW) until every difference is under `lockNs` or `maxFrames` went out (SOEM
    /// sends ~15,000). From then on every cycle carries the reference's time too.
    /// Returns the frames the static drift compensation took.
    @discardableResult
    public func configureDistributedClocks(lockNs: Int64 = 100, maxFrames: Int = 15_000) throws(EtherCATError) -> Int {
        guard !slaves.isEmpty else { throw .configuration("no slaves: scan first") }
        _ = try exchange(.bwr, address: DatagramHeader.physical(slave: 0, offset: ESCRegister.dcReceiveTimePort0), length: 4,
                         data: [0, 0, 0, 0], what: "latching receive times (BWR 0x0900)")
        let masterTime = Int64(FrameStamp.now())
        var loops: [Int64] = []
        var receiveTimes: [Int64] = []
        for slave in slaves {
            let ports = try read(station: slave.stationAddress, register: ESCRegister.dcReceiveTimePort0, length: 8)
            let port0 = Int64(ports.littleEndian(UInt32.self, at: 0))
            let port1 = Int64(ports.littleEndian(UInt32.self, at: 4))
            // Port 1 open with communication (DL status bits 10-11 = 10b): a slave follows, and the
            // frame's time downstream is port 1's receive time less port 0's (32-bit registers
            // wrap). Closed, the frame turned back here and port 1's time is stale: no loop.
            let dlStatus = try read(station: slave.stationAddress, register: ESCRegister.dlStatus, length: 2).littleEndian(UInt16.self)
            let downstream = dlStatus & 0x0C00 == 0x0800
            loops.append(downstream ? Int64(UInt32(truncatingIfNeeded: port1 &- port0)) : 0)
            receiveTimes.append(Int64(bitPattern: try read(station: slave.stationAddress, register: ESCRegister.dcReceiveTimeProcessingUnit, length: 8)
                .littleEndian(UInt64.self)))
        }
        var delay: Int64 = 0
        for position in slaves.indices {
            if position > 0 { delay += (loops[position - 1] - loops[position]) / 2 }
            slaves[position].delayNs = delay
            let offset = masterTime + delay - receiveTimes[position]
            try write(station: slaves[position].stationAddress, register: ESCRegister.dcSystemTimeOffset, [UInt8](littleEndian: offset))
            try write(station: slaves[position].stationAddress, register: ESCRegister.dcSystemTimeDelay, [UInt8](littleEndian: UInt32(clamping: delay)))
        }
        var frames = 0
        while frames < maxFrames {
            _ = try exchange(.armw, address: DatagramHeader.physical(slave: 0, offset: ESCRegister.dcSystemTime), length: 8,
                             what: "static drift compensation (ARMW 0x0910)")
            frames += 1
            if frames % 500 == 0, try measureDCDifference() <= lockNs { break }
        }
        distributedClocks = true
        if !outputs.isEmpty || !inputs.isEmpty { prepareCycleFrame() }
        return frames
    }

    /// Reads every slave's system-time difference (0x092C) and returns the largest, ns.
    public func measureDCDifference() throws(EtherCATError) -> Int64 {
        var largest: Int64 = 0
        for slave in slaves.dropFirst() {
            let raw = try read(station: slave.stationAddress, register: ESCRegister.dcSystemTimeDifference, length: 4).littleEndian(UInt32.self)
            largest = max(largest, abs(Self.signedDifference(raw)))
        }
        dcMaxDifferenceNs = largest
        return largest
    }

    /// Starts SYNC0 on every slave at the cycle time, 100 ms from now on the reference's clock.
    public func startSync0(cycle: Duration) throws(EtherCATError) {
        let cycleNs = UInt32(cycle.components.seconds * 1_000_000_000 + cycle.components.attoseconds / 1_000_000_000)
        guard cycleNs > 0 else { throw .configuration("the SYNC0 cycle must be positive") }
        for slave in slaves {
            try write(station: slave.stationAddress, register: ESCRegister.dcSyncActivation, [0])
            let now = try read(station: slave.stationAddress, register: ESCRegister.dcSystemTime, length: 8).littleEndian(UInt64.self)
            let start = (now + 100_000_000) / UInt64(cycleNs) * UInt64(cycleNs) + UInt64(cycleNs)
            try write(station: slave.stationAddress, register: ESCRegister.dcStartTime, [UInt8](littleEndian: start))
            try write(station: slave.stationAddress, register: ESCRegister.dcSync0CycleTime, [UInt8](littleEndian: cycleNs))
            try write(station: slave.stationAddress, register: ESCRegister.dcSyncActivation, [3])
        }
    }
}
