import ReinsCore
import ReinsHardware

/// A slave's distributed clock: a local 64-bit nanosecond counter that runs `ppm` fast or slow
/// against the host, started at a random point, and the ESC's control loop that steers it
/// toward the reference's time on every ARMW/FRMW compare (a phase step and a rate
/// correction, as the ESC's speed counter does).
struct DistributedClock {
    private var lastHostNs: Int64
    private var lastLocalNs: Double
    /// 1 + drift + correction.
    private var rate: Double
    private let nominalRate: Double
    private var lastCompareHostNs: Int64?

    init(hostNs: Int64, startNs: Int64, driftPPM: Double) {
        lastHostNs = hostNs
        lastLocalNs = Double(startNs)
        nominalRate = 1 + driftPPM * 1e-6
        rate = nominalRate
    }

    func local(atHost hostNs: Int64) -> Int64 {
        Int64(lastLocalNs + Double(hostNs - lastHostNs) * rate)
    }

    /// Steers by `difference` (own system time minus the reference's, ns) measured at `hostNs`.
    mutating func steer(difference: Int64, atHost hostNs: Int64) {
        lastLocalNs = Double(local(atHost: hostNs)) - Double(difference) * 0.25
        lastHostNs = hostNs
        if let previous = lastCompareHostNs, hostNs > previous {
            let correction = rate - nominalRate - 0.05 * Double(difference) / Double(hostNs - previous)
            rate = nominalRate + min(max(correction, -1e-3), 1e-3)
        }
        lastCompareHostNs = hostNs
    }
}

/// One emulated EtherCAT slave controller with a CiA 402 drive behind it.
///
/// It keeps 4 KB of registers and 4 KB of process RAM and does what an ESC does with them: the
/// AL state machine (checking the mailbox sync managers before PRE-OP and the process data
/// ones against the PDO mapping before SAFE-OP), the SII EEPROM interface, mailboxes through
/// SM0/SM1 (reads of an empty mailbox and writes to a full one are not counted), FMMUs for
/// logical addressing (inputs counted from SAFE-OP, outputs in OP), distributed clocks and the
/// sync-manager watchdog. Every master that configures slaves from their SII and CoE objects
/// can bring it to OP.
final class EmulatedESC {
    let information: SlaveInformation
    let drive: EmulatedDrive
    private let eeprom: [UInt16]
    private var memory = [UInt8](repeating: 0, count: 0x2000)
    private(set) var state = ALState.initial
    private(set) var errorPending = false
    private(set) var statusCode = ALStatusCode.none
    var clock: DistributedClock
    private var mailboxOutFull = false
    private var mailboxInFull = false
    private var mailboxCounter: UInt8 = 0
    /// The counter of the last request answered: a repeated write with it is ignored.
    private var lastRequestCounter: UInt8 = 0
    /// The last reply posted, for the master's repeat request.
    private var lastReply: [UInt8] = []
    private var transfer = SDOServer()
    /// SDO aborts a test forces, by object.
    var forcedAborts: [UInt16: SDOAbortCode] = [:]
    private var outputSlots: [(index: UInt16, subindex: UInt8, offset: Int, size: Int)] = []
    private var inputSlots: [(index: UInt16, subindex: UInt8, offset: Int, size: Int)] = []
    private var outputsArrived = false
    private var lastOutputsHostNs: Int64 = 0
    private var lastStepHostNs: Int64?
    /// Logical datagrams this slave lets pass untouched (a test's "missed the frame").
    var framesToMiss = 0
    /// Process data bytes of the largest PDO mapping the drive accepts.
    static let maxProcessData = 64

    static let mailboxOut: UInt16 = 0x1000
    static let mailboxIn: UInt16 = 0x1080
    static let mailboxSize: UInt16 = 128
    static let outputsStart: UInt16 = 0x1100
    static let inputsStart: UInt16 = 0x1180

    init(drive spec: EmulatedDriveSpec, hostNs: Int64, clockStartNs: Int64, driftPPM: Double) {
        drive = EmulatedDrive(spec: spec)
        let mapping = drive.dictionary.mapping
        information = SlaveInformation(
            vendorID: spec.vendorID, productCode: spec.productCode, revision: spec.revision, serialNumber: spec.serialNumber, name: spec.name,
            mailboxOutStart: Self.mailboxOut, mailboxOutSize: Self.mailboxSize, mailboxInStart: Self.mailboxIn, mailboxInSize: Self.mailboxSize,
            mailboxProtocols: 0x04,
            syncManagers: [
                SyncManagerConfig(start: Self.mailboxOut, length: Self.mailboxSize, control: SyncManagerConfig.mailboxOutControl, enabled: true),
                SyncManagerConfig(start: Self.mailboxIn, length: Self.mailboxSize, control: SyncManagerConfig.mailboxInControl, enabled: true),
                SyncManagerConfig(start: Self.outputsStart, length: UInt16(mapping.outputBytes), control: SyncManagerConfig.outputsControl, enabled: true),
                SyncManagerConfig(start: Self.inputsStart, length: UInt16(mapping.inputBytes), control: SyncManagerConfig.inputsControl, enabled: true),
            ],
            fmmuUsage: [1, 2, 3])
        eeprom = information.eepromWords
        clock = DistributedClock(hostNs: hostNs, startNs: clockStartNs, driftPPM: driftPPM)
        store(UInt8(0x11), at: ESCRegister.type)  // an ET1100-class ESC
        store(UInt8(8), at: 0x0004)  // FMMUs
        store(UInt8(8), at: 0x0005)  // sync managers
        store(UInt8(8), at: 0x0006)  // process RAM, KB
        store(UInt8(0x0F), at: 0x0007)  // ports 0 and 1 in use (MII)
        store(UInt16(0x0004), at: 0x0008)  // features: distributed clocks
        store(information.alias, at: ESCRegister.stationAlias)
        store(UInt16(2498), at: ESCRegister.watchdogDivider)
        store(UInt16(1000), at: ESCRegister.syncManagerWatchdog)
        publishALStatus()
    }

    /// DL status (0x0110) for a slave on a line: port 0 open with communication, port 1 the same
    /// when a slave follows, else closed (the frame turns back here). Masters read their
    /// topology and which receive times count from it.
    func setLinks(downstream: Bool) {
        hasDownstream = downstream
        store(UInt16(downstream ? 0x0A30 : 0x0610), at: ESCRegister.dlStatus)
    }

    /// Whether a slave follows on port 1 (else the port is closed and the frame turns back here).
    private var hasDownstream = false

    // MARK: Memory

    func store<T: FixedWidthInteger>(_ value: T, at address: UInt16) {
        for byte in 0..<(T.bitWidth / 8) { memory[Int(address) + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
    }

    func load<T: FixedWidthInteger>(_: T.Type, at address: UInt16) -> T {
        memory.littleEndian(T.self, at: Int(address))
    }

    var stationAddress: UInt16 { load(UInt16.self, at: ESCRegister.stationAddress) }

    private func syncManager(_ index: Int) -> SyncManagerConfig {
        let base = Int(ESCRegister.syncManager(index))
        return SyncManagerConfig(registerBytes: Array(memory[base..<(base + 8)]))
    }

    private func fmmu(_ index: Int) -> FMMUConfig {
        let base = Int(ESCRegister.fmmu(index))
        return FMMUConfig(registerBytes: Array(memory[base..<(base + 16)]))
    }

    private func overlaps(_ start: Int, _ count: Int, _ area: UInt16, _ length: UInt16) -> Bool {
        start < Int(area) + Int(length) && Int(area) < start + count
    }

    /// A register or memory read of `count` bytes at `start` by a datagram arriving at
    /// `hostNs`; false (not counted) when a mailbox is read empty.
    func read(_ start: Int, _ count: Int, into data: UnsafeMutableRawBufferPointer, at dataOffset: Int, or orring: Bool, hostNs: Int64) -> Bool {
        guard start >= 0, start + count <= memory.count else { return false }
        if overlaps(start, count, ESCRegister.dcSystemTime, 8) {
            store(UInt64(bitPattern: systemTime(atHost: hostNs)), at: ESCRegister.dcSystemTime)
        }
        let inbox = syncManager(1)
        let readsInbox = inbox.enabled && inbox.length > 0 && overlaps(start, count, inbox.start, inbox.length)
        if readsInbox && !mailboxInFull { return false }
        for byte in 0..<count {
            if orring { data[dataOffset + byte] |= memory[start + byte] } else { data[dataOffset + byte] = memory[start + byte] }
        }
        if readsInbox && start + count >= Int(inbox.start) + Int(inbox.length) {
            mailboxInFull = false
            memory[Int(ESCRegister.syncManager(1)) + 5] &= ~0x08
        }
        return true
    }

    /// A register or memory write; false (not counted) when it targets a full mailbox.
    func write(_ start: Int, _ count: Int, from data: UnsafeRawBufferPointer, at dataOffset: Int, hostNs: Int64, returnHostNs: Int64) -> Bool {
        guard start >= 0, start + count <= memory.count else { return false }
        let outbox = syncManager(0)
        let writesOutbox = outbox.enabled && outbox.length > 0 && overlaps(start, count, outbox.start, outbox.length)
        if writesOutbox && mailboxOutFull { return false }
        for byte in 0..<count {
            let address = start + byte
            if Self.readOnly(address) { continue }
            memory[address] = data[dataOffset + byte]
        }
        if overlaps(start, count, ESCRegister.alControl, 2) { requestState(memory[Int(ESCRegister.alControl)]) }
        if overlaps(start, count, ESCRegister.syncManager(1) + 6, 1) { repeatRequested() }
        if overlaps(start, count, ESCRegister.siiControl, 2) { executeSIICommand() }
        if overlaps(start, count, ESCRegister.dcReceiveTimePort0, 4) { latchReceiveTimes(hostNs: hostNs, returnHostNs: returnHostNs) }
        if overlaps(start, count, ESCRegister.dcSystemTime, 8) {
            let received = count >= 8 && start == Int(ESCRegister.dcSystemTime)
                ? Int64(bitPattern: data.littleEndian(UInt64.self, at: dataOffset))
                : Int64(data.littleEndian(UInt32.self, at: dataOffset))
            compareSystemTime(received, wide: count >= 8, hostNs: hostNs)
        }
        if writesOutbox && start + count >= Int(outbox.start) + Int(outbox.length) {
            mailboxOutFull = true
            memory[Int(ESCRegister.syncManager(0)) + 5] |= 0x08
        }
        let outputs = syncManager(2)
        if state == .operational, outputs.enabled, outputs.length > 0, overlaps(start, count, outputs.start, outputs.length) {
            outputsArrived = true
            lastOutputsHostNs = hostNs
        }
        return true
    }

    /// Registers a master cannot write: identity, DL and AL status, the latched receive times,
    /// the SII data (read through the EEPROM interface), the system-time difference.
    private static func readOnly(_ address: Int) -> Bool {
        switch address {
        case 0x0000..<0x0010, 0x0110..<0x0112, 0x0130..<0x0136, 0x0508..<0x0510, 0x0900..<0x0910, 0x0918..<0x0920, 0x092C..<0x0930: true
        // Each sync manager's status and PDI control bytes belong to the slave.
        case 0x0800..<0x0880: (address - 0x0800) % 8 == 5 || (address - 0x0800) % 8 == 7
        default: false
        }
    }

    // MARK: Logical addressing

    /// An LRD, LWR or LRW datagram through this slave's FMMUs; returns what it adds to the
    /// working counter.
    func logical(_ command: EtherCATCommand, address: UInt32, length: Int, data: UnsafeMutableRawBufferPointer, dataOffset: Int,
                 hostNs: Int64) -> UInt16 {
        if framesToMiss > 0 {
            framesToMiss -= 1
            return 0
        }
        var readHit = false
        var writeHit = false
        for index in 0..<8 {
            let base = Int(ESCRegister.fmmu(index))
            guard memory[base + 12] & 1 != 0 else { continue }
            let map = fmmu(index)
            let start = max(Int(map.logicalStart), Int(address))
            let end = min(Int(map.logicalStart) + Int(map.length), Int(address) + length)
            guard start < end else { continue }
            let physical = Int(map.physicalStart) + start - Int(map.logicalStart)
            let offset = dataOffset + start - Int(address)
            if map.type == FMMUConfig.readType, command != .lwr, state >= .safeOperational, syncManager(3).enabled {
                for byte in 0..<(end - start) { data[offset + byte] = memory[physical + byte] }
                readHit = true
            } else if map.type == FMMUConfig.writeType, command != .lrd, state == .operational, syncManager(2).enabled {
                _ = write(physical, end - start, from: UnsafeRawBufferPointer(data), at: offset, hostNs: hostNs, returnHostNs: hostNs)
                writeHit = true
            }
        }
        switch command {
        case .lrw: return (readHit ? 1 : 0) + (writeHit ? 2 : 0)
        case .lrd: return readHit ? 1 : 0
        default: return writeHit ? 1 : 0
        }
    }

    // MARK: Application (the PDI side), after each frame

    /// What the slave's firmware does between frames: answer a full mailbox, apply fresh
    /// outputs, step the drive, refresh the inputs and watch for outputs that stopped.
    func serviceApplication(hostNs: Int64) {
        if mailboxOutFull && !mailboxInFull { answerMailbox() }
        guard state >= .safeOperational else {
            lastStepHostNs = nil
            return
        }
        if state == .operational {
            let watchdogNs = Int64(load(UInt16.self, at: ESCRegister.syncManagerWatchdog))
                * (Int64(load(UInt16.self, at: ESCRegister.watchdogDivider)) + 2) * 40
            if syncManager(2).control & 0x40 != 0, watchdogNs > 0, hostNs - lastOutputsHostNs > watchdogNs {
                fail(.syncManagerWatchdog, fallBackTo: .safeOperational)
                return
            }
            if outputsArrived {
                outputsArrived = false
                for slot in outputSlots {
                    let bytes = Array(memory[(Int(Self.outputsStart) + slot.offset)..<(Int(Self.outputsStart) + slot.offset + slot.size)])
                    _ = drive.dictionary.write(slot.index, slot.subindex, bytes, state: state)
                }
            }
        }
        let dt = lastStepHostNs.map { Double(hostNs - $0) * 1e-9 } ?? 0
        lastStepHostNs = hostNs
        if state == .operational { drive.step(dt: dt) }
        for slot in inputSlots {
            guard let data = drive.dictionary.entry(slot.index, slot.subindex)?.data else { continue }
            for byte in 0..<slot.size { memory[Int(Self.inputsStart) + slot.offset + byte] = data[byte] }
        }
    }

    // MARK: AL state machine

    private func publishALStatus() {
        store(UInt16(state.rawValue | (errorPending ? ALState.errorBit : 0)), at: ESCRegister.alStatus)
        store(statusCode.rawValue, at: ESCRegister.alStatusCode)
    }

    /// Drops to `state` with the error flag and `code`, as a slave does on its own.
    func fail(_ code: ALStatusCode, fallBackTo fallback: ALState) {
        if state == .operational && fallback < .operational { drive.outputsInvalid() }
        state = min(state, fallback)
        errorPending = true
        statusCode = code
        publishALStatus()
    }

    private func requestState(_ control: UInt8) {
        let acknowledge = control & ALState.errorBit != 0
        if errorPending {
            // An error holds the state until the master acknowledges it.
            guard acknowledge else { return }
            errorPending = false
            statusCode = .none
        }
        guard let requested = ALState(rawValue: control & 0x0F) else {
            errorPending = true
            statusCode = .unknownState
            publishALStatus()
            return
        }
        if requested == state {
            publishALStatus()
            return
        }
        if requested == .bootstrap {
            errorPending = true
            statusCode = ALStatusCode(0x0013)
            publishALStatus()
            return
        }
        if requested < state {
            if state == .operational { drive.outputsInvalid() }
            if requested == .initial { resetMailboxes() }
            state = requested
            publishALStatus()
            return
        }
        let next: ALState = switch state {
        case .initial: .preOperational
        case .preOperational: .safeOperational
        default: .operational
        }
        guard requested == next else {
            errorPending = true
            statusCode = .invalidStateChange
            publishALStatus()
            return
        }
        if let refusal = checkTransition(to: requested) {
            errorPending = true
            statusCode = refusal
        } else {
            // The watchdog runs from the moment the slave is in OP: outputs are due from then on.
            if requested == .operational { lastOutputsHostNs = Int64(FrameStamp.now()) }
            state = requested
        }
        publishALStatus()
    }

    /// Why the slave cannot enter `next`, or nil.
    private func checkTransition(to next: ALState) -> ALStatusCode? {
        switch next {
        case .preOperational:
            let (outbox, inbox) = (syncManager(0), syncManager(1))
            guard outbox.enabled, inbox.enabled, outbox.start == information.mailboxOutStart, outbox.length == information.mailboxOutSize,
                  inbox.start == information.mailboxInStart, inbox.length == information.mailboxInSize,
                  outbox.isMailbox, inbox.isMailbox, outbox.masterWrites, !inbox.masterWrites
            else { return .invalidMailboxConfiguration }
            resetMailboxes()
            return nil
        case .safeOperational:
            let mapping = drive.dictionary.mapping
            let (outputs, inputs) = (syncManager(2), syncManager(3))
            if mapping.outputBytes > 0 {
                guard outputs.enabled, Int(outputs.length) == mapping.outputBytes, outputs.masterWrites, !outputs.isMailbox,
                      Int(outputs.start) == Int(Self.outputsStart)
                else { return .invalidOutputConfiguration }
            }
            if mapping.inputBytes > 0 {
                guard inputs.enabled, Int(inputs.length) == mapping.inputBytes, !inputs.masterWrites, !inputs.isMailbox,
                      Int(inputs.start) == Int(Self.inputsStart)
                else { return .invalidInputConfiguration }
            }
            guard let outputSlots = Self.slots(mapping.outputEntries) else { return .invalidOutputMapping }
            guard let inputSlots = Self.slots(mapping.inputEntries) else { return .invalidInputMapping }
            if memory[Int(ESCRegister.dcSyncActivation)] & 0x03 == 0x03, load(UInt32.self, at: ESCRegister.dcSync0CycleTime) == 0 {
                return .invalidDCSyncConfiguration
            }
            self.outputSlots = outputSlots
            self.inputSlots = inputSlots
            return nil
        default:
            return nil
        }
    }

    /// Byte-aligned slots of mapped objects; nil when one is not on a byte boundary.
    private static func slots(_ entries: [PDOEntry]) -> [(index: UInt16, subindex: UInt8, offset: Int, size: Int)]? {
        var bits = 0
        var slots: [(index: UInt16, subindex: UInt8, offset: Int, size: Int)] = []
        for entry in entries {
            if entry.index > 0x0007 {
                guard bits % 8 == 0, entry.bits % 8 == 0 else { return nil }
                slots.append((entry.index, entry.subindex, bits / 8, Int(entry.bits) / 8))
            }
            bits += Int(entry.bits)
        }
        return slots
    }

    private func resetMailboxes() {
        mailboxOutFull = false
        mailboxInFull = false
        transfer = SDOServer()
        lastRequestCounter = 0
        lastReply = []
        memory[Int(ESCRegister.syncManager(0)) + 5] &= ~0x08
        memory[Int(ESCRegister.syncManager(1)) + 5] &= ~0x08
    }

    // MARK: SII EEPROM

    private func executeSIICommand() {
        let control = load(UInt16.self, at: ESCRegister.siiControl)
        // Bit 8 read; the data registers get 4 bytes (two words) from the word address.
        guard control & 0x0100 != 0 else { return }
        let address = Int(load(UInt32.self, at: ESCRegister.siiAddress))
        for word in 0..<4 {
            let value = address + word < eeprom.count ? eeprom[address + word] : 0xFFFF
            store(value, at: ESCRegister.siiData + UInt16(2 * word))
        }
        // Done at once: busy (bit 15) and the command bits clear, no error bits.
        store(UInt16(control & 0x0040), at: ESCRegister.siiControl)
    }

    // MARK: Distributed clocks

    func systemTime(atHost hostNs: Int64) -> Int64 {
        clock.local(atHost: hostNs) &+ Int64(bitPattern: load(UInt64.self, at: ESCRegister.dcSystemTimeOffset))
    }

    private func latchReceiveTimes(hostNs: Int64, returnHostNs: Int64) {
        let port0 = clock.local(atHost: hostNs)
        store(UInt32(truncatingIfNeeded: port0), at: ESCRegister.dcReceiveTimePort0)
        // A closed port receives nothing: its time stays what it was.
        if hasDownstream { store(UInt32(truncatingIfNeeded: clock.local(atHost: returnHostNs)), at: ESCRegister.dcReceiveTimePort0 + 4) }
        store(UInt64(bitPattern: port0), at: ESCRegister.dcReceiveTimeProcessingUnit)
    }

    private func compareSystemTime(_ received: Int64, wide: Bool, hostNs: Int64) {
        let delay = Int64(load(UInt32.self, at: ESCRegister.dcSystemTimeDelay))
        let own = systemTime(atHost: hostNs)
        let expected = received &+ delay
        let difference = wide ? own &- expected : Int64(Int32(truncatingIfNeeded: own &- expected))
        let magnitude = UInt32(min(difference.magnitude, 0x7FFF_FFFF))
        store(difference < 0 ? magnitude | 0x8000_0000 : magnitude, at: ESCRegister.dcSystemTimeDifference)
        clock.steer(difference: difference, atHost: hostNs)
    }

    // MARK: Mailbox (CoE)

    private func answerMailbox() {
        let outbox = syncManager(0)
        let raw = Array(memory[Int(outbox.start)..<(Int(outbox.start) + Int(outbox.length))])
        mailboxOutFull = false
        memory[Int(ESCRegister.syncManager(0)) + 5] &= ~0x08
        guard let header = MailboxHeader(raw), header.length <= raw.count - MailboxHeader.size else { return }
        // A master repeating a write it lost the frame of sends the same counter again.
        if header.counter != 0 && header.counter == lastRequestCounter { return }
        lastRequestCounter = header.counter
        let reply: [UInt8]
        if header.type != MailboxHeader.coeType {
            // Mailbox error: unsupported protocol (0x0002).
            reply = [1, 0, 2, 0]
            postMailbox(reply, type: MailboxHeader.errorType)
            return
        }
        let body = Array(raw[MailboxHeader.size..<(MailboxHeader.size + header.length)])
        do {
            let message = try SDOMessage(coe: body, fromSlave: false)
            // An abort from the master ends its transfer and gets no answer.
            guard let answer = transfer.answer(message, esc: self, room: Int(information.mailboxInSize) - MailboxHeader.size) else { return }
            reply = answer.bytes
        } catch {
            reply = SDOMessage.abort(index: 0, subindex: 0, code: .unknownCommand).bytes
        }
        postMailbox(reply, type: MailboxHeader.coeType)
    }

    /// The master toggled the inbox's repeat bit: post the last reply again and acknowledge.
    private func repeatRequested() {
        let register = Int(ESCRegister.syncManager(1))
        let requested = memory[register + 6] & 0x02
        guard memory[register + 7] & 0x02 != requested else { return }
        memory[register + 7] = memory[register + 7] & ~0x02 | requested
        guard !lastReply.isEmpty else { return }
        let start = Int(information.mailboxInStart)
        for index in 0..<Int(information.mailboxInSize) { memory[start + index] = index < lastReply.count ? lastReply[index] : 0 }
        mailboxInFull = true
        memory[register + 5] |= 0x08
    }

    private func postMailbox(_ body: [UInt8], type: UInt8) {
        mailboxCounter = mailboxCounter % 7 + 1
        let message = MailboxHeader(length: body.count, type: type, counter: mailboxCounter).bytes + body
        lastReply = message
        let start = Int(information.mailboxInStart)
        for index in 0..<Int(information.mailboxInSize) { memory[start + index] = index < message.count ? message[index] : 0 }
        mailboxInFull = true
        memory[Int(ESCRegister.syncManager(1)) + 5] |= 0x08
    }
}

/// The slave's side of SDO transfers: expedited and normal, segmented both ways.
struct SDOServer {
    private var download: (index: UInt16, subindex: UInt8, size: Int, data: [UInt8], toggle: Bool)?
    private var upload: (remaining: [UInt8], toggle: Bool)?

    /// The reply to a request; nil for an abort, which is not answered.
    mutating func answer(_ message: SDOMessage, esc: EmulatedESC, room: Int) -> SDOMessage? {
        switch message {
        case .uploadRequest(let index, let subindex):
            download = nil
            if let code = esc.forcedAborts[index] { return .abort(index: index, subindex: subindex, code: code) }
            switch esc.drive.dictionary.read(index, subindex) {
            case .failure(let code):
                return .abort(index: index, subindex: subindex, code: code)
            case .success(let data):
                if data.count <= 4 && !data.isEmpty {
                    return .uploadResponse(index: index, subindex: subindex, completeSize: data.count, data: data, expedited: true)
                }
                let first = min(data.count, room - SDOMessage.initiateSize)
                upload = first < data.count ? (Array(data[first...]), false) : nil
                return .uploadResponse(index: index, subindex: subindex, completeSize: data.count, data: Array(data[..<first]), expedited: false)
            }
        case .uploadSegmentRequest(let toggle):
            guard let pending = upload else { return .abort(index: 0, subindex: 0, code: .unknownCommand) }
            guard toggle == pending.toggle else {
                upload = nil
                return .abort(index: 0, subindex: 0, code: .toggleBit)
            }
            let count = min(pending.remaining.count, room - SDOMessage.segmentHeaderSize)
            let last = count == pending.remaining.count
            upload = last ? nil : (Array(pending.remaining[count...]), !toggle)
            return .uploadSegmentResponse(toggle: toggle, last: last, data: Array(pending.remaining[..<count]))
        case .downloadRequest(let index, let subindex, let size, let data, let expedited):
            upload = nil
            if let code = esc.forcedAborts[index] { return .abort(index: index, subindex: subindex, code: code) }
            if expedited || data.count >= size {
                if let code = store(index, subindex, Array(data.prefix(size)), esc: esc) { return .abort(index: index, subindex: subindex, code: code) }
                return .downloadResponse(index: index, subindex: subindex)
            }
            download = (index, subindex, size, data, false)
            return .downloadResponse(index: index, subindex: subindex)
        case .downloadSegmentRequest(let toggle, let last, let data):
            guard var pending = download else { return .abort(index: 0, subindex: 0, code: .unknownCommand) }
            guard toggle == pending.toggle else {
                download = nil
                return .abort(index: pending.index, subindex: pending.subindex, code: .toggleBit)
            }
            pending.data += data
            pending.toggle.toggle()
            download = last ? nil : pending
            if last {
                if let code = store(pending.index, pending.subindex, Array(pending.data.prefix(pending.size)), esc: esc) {
                    return .abort(index: pending.index, subindex: pending.subindex, code: code)
                }
            }
            return .downloadSegmentResponse(toggle: toggle)
        case .abort:
            download = nil
            upload = nil
            return nil
        default:
            return .abort(index: 0, subindex: 0, code: .unknownCommand)
        }
    }

    /// A write into the dictionary, with the checks a drive makes of PDO mapping and assignment.
    private func store(_ index: UInt16, _ subindex: UInt8, _ data: [UInt8], esc: EmulatedESC) -> SDOAbortCode? {
        let isMapping = (0x1600...0x17FF).contains(index) || (0x1A00...0x1BFF).contains(index)
        if isMapping, subindex == 0, let count = data.first, count > 0 {
            if let code = esc.drive.dictionary.checkMapping(pdo: index, count: Int(count), maxBytes: EmulatedESC.maxProcessData) { return code }
        }
        if isMapping, subindex > 0, esc.drive.dictionary.value(index, 0, as: UInt8.self) != 0, esc.state == .preOperational {
            // Entries change only while the PDO is disabled (subindex 0 = 0).
            return .unsupportedAccess
        }
        if index == 0x1C12 || index == 0x1C13, subindex > 0, data.count == 2 {
            let pdo = data.littleEndian(UInt16.self)
            guard esc.drive.dictionary.contains(pdo), (index == 0x1C12) == (pdo < 0x1A00) else { return .valueRange }
        }
        return esc.drive.dictionary.write(index, subindex, data, state: esc.state)
    }
}
