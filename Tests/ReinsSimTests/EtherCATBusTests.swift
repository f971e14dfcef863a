import Foundation
import ReinsCore
import ReinsHardware
import ReinsSim
import Testing

/// A segment of emulated drives served on loopback UDP at a port of the system's choosing, and
/// a master connected to it.
///
/// The frame timeout is 20 ms, not SOEM's 2 ms: under a sanitizer, with other suites busy on both
/// cores, a reply can take longer than 2 ms. It stays well under the slaves' 100 ms sync-manager
/// watchdog, which a lost frame's wait would otherwise trip.
func udpBus(slaves: Int = 3, faults: EtherCATFaults = EtherCATFaults(), seed: UInt64 = 1,
            frameTimeout: Duration = .milliseconds(20)) throws -> (EtherCATSegment, EtherCATMaster) {
    let segment = EtherCATSegment(slaves: slaves, faults: faults, seed: seed)
    try segment.serve(on: .udp(host: "127.0.0.1", port: 0))
    let master = EtherCATMaster(transport: try #require(segment.endpoint).openMaster(),
                                timeouts: EtherCATTimeouts(frame: frameTimeout))
    return (segment, master)
}

/// Brings a scanned bus to `state` the way a master that configures from SII and CoE does.
func bringUp(_ master: EtherCATMaster, to state: ALState = .operational, distributedClocks: Bool = false) throws {
    try master.scan()
    try master.enterPreOperational()
    for position in master.slaves.indices { _ = try master.readPDOMapping(slave: position) }
    try master.configureProcessData()
    if distributedClocks {
        try master.configureDistributedClocks()
        try master.startSync0(cycle: .milliseconds(1))
    }
    guard state > .preOperational else { return }
    try master.requestState(.safeOperational)
    guard state > .safeOperational else { return }
    try master.enterOperational(period: .milliseconds(1))
}

/// The abort code `body` failed with; nil when it succeeded or failed otherwise.
func sdoAbortCode(_ body: () throws -> Void) -> SDOAbortCode? {
    do {
        try body()
    } catch {
        if case .sdoAbort(_, _, _, let code) = error as? EtherCATError { return code }
    }
    return nil
}

@Suite("EtherCAT master and emulated slaves over UDP on loopback")
struct EtherCATBusTests {
    @Test("scan finds every slave with its SII identity and name, at station addresses from 0x1001, in INIT")
    func scan() throws {
        let (segment, master) = try udpBus(slaves: 3)
        defer { segment.stop() }
        let slaves = try master.scan()
        #expect(slaves.count == 3)
        #expect(slaves.map(\.stationAddress) == [0x1001, 0x1002, 0x1003])
        #expect(slaves.map(\.information.serialNumber) == [1, 2, 3])
        #expect(slaves.allSatisfy { $0.information.name == "Reins emulated CiA 402 drive" && $0.information.vendorID == 0x0E1E && $0.state == .initial })
        #expect(slaves[0].information.mailboxOutSize == 128 && slaves[0].information.supportsCoE)
    }

    @Test("INIT → PRE-OP → SAFE-OP → OP with the PDO mapping read over CoE, and process data with the expected working counter")
    func bringUpToOperational() throws {
        let (segment, master) = try udpBus(slaves: 2)
        defer { segment.stop() }
        try bringUp(master)
        #expect(master.slaves.allSatisfy { $0.mapping == .cyclicDrive })
        #expect(master.expectedWorkingCounter == 6)
        for _ in 0..<20 { #expect(try master.cycle() == .ok) }
        #expect((0..<2).allSatisfy { segment.alStatus(slave: $0).state == .operational })
    }
}

@Suite("CoE, distributed clocks and the sync-manager watchdog on emulated slaves")
struct EtherCATServiceTests {
    @Test("segmented SDO both ways: 300 bytes written to 0x2000 in segments read back the same; the name comes back in a normal upload")
    func segmentedTransfers() throws {
        let (segment, master) = try udpBus(slaves: 1)
        defer { segment.stop() }
        try master.scan()
        try master.enterPreOperational()
        let block = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        try master.sdoWrite(slave: 0, index: 0x2000, subindex: 0, block)
        #expect(try master.sdoRead(slave: 0, index: 0x2000, subindex: 0) == block)
        #expect(String(decoding: try master.sdoRead(slave: 0, index: 0x1008, subindex: 0), as: UTF8.self) == "Reins emulated CiA 402 drive")
        #expect(try master.sdoRead(slave: 0, index: 0x1018, subindex: 4).littleEndian(UInt32.self) == 1)
    }

    @Test("an SDO abort is named in words: a missing object, a read-only one, a mapping outside PRE-OP, and one a test forces")
    func sdoAborts() throws {
        let (segment, master) = try udpBus(slaves: 1)
        defer { segment.stop() }
        try bringUp(master, to: .safeOperational)
        #expect(sdoAbortCode { _ = try master.sdoRead(slave: 0, index: 0x5555, subindex: 0) } == .noObject)
        #expect(sdoAbortCode { try master.sdoWrite(slave: 0, index: 0x6041, subindex: 0, [1, 0]) } == .readOnly)
        #expect(sdoAbortCode { try master.sdoWrite(slave: 0, index: 0x1600, subindex: 0, [0]) } == .deviceState)
        segment.abortSDO(slave: 0, index: 0x6065, code: .hardwareError)
        do {
            _ = try master.sdoRead(slave: 0, index: 0x6065, subindex: 0)
            Issue.record("the forced abort did not arrive")
        } catch {
            #expect(error.description.contains("0x6065:0 aborted: 0x06060000 access failed because of a hardware error"))
        }
    }

    @Test("a PDO mapping written over CoE in PRE-OP is what the slave runs with; a sync manager that does not match it is refused with AL 0x1D in words")
    func writtenMapping() throws {
        let (segment, master) = try udpBus(slaves: 1)
        defer { segment.stop() }
        try master.scan()
        try master.enterPreOperational()
        let torqueOnly = PDOMapping(
            outputs: [(0x1601, [PDOEntry(index: 0x6040, bits: 16), PDOEntry(index: 0x6071, bits: 16), PDOEntry(index: 0x6060, bits: 8)])],
            inputs: [(0x1A01, [PDOEntry(index: 0x6041, bits: 16), PDOEntry(index: 0x6064, bits: 32), PDOEntry(index: 0x6077, bits: 16)])])
        try master.writePDOMapping(slave: 0, torqueOnly)
        #expect(try master.readPDOMapping(slave: 0) == torqueOnly)
        // An entry the drive cannot map is refused by the drive itself.
        #expect(sdoAbortCode { try master.writePDOMapping(slave: 0, PDOMapping(outputs: [(0x1600, [PDOEntry(index: 0x6041, bits: 16)])], inputs: [])) }
            == .notMappable)
        try master.writePDOMapping(slave: 0, torqueOnly)
        try master.configureProcessData()
        try master.requestState(.safeOperational)
        // Now a sync manager 2 one byte short of the mapping.
        try master.requestState(.preOperational)
        try master.write(station: 0x1001, register: ESCRegister.syncManager(2),
                         SyncManagerConfig(start: 0x1100, length: 4, control: SyncManagerConfig.outputsControl, enabled: true).registerBytes)
        do {
            try master.requestState(.safeOperational)
            Issue.record("SAFE-OP was reached with a wrong sync manager")
        } catch {
            #expect(error.description.contains("AL status 0x001D invalid output configuration"))
        }
    }

    @Test("after synchronisation every slave's system time is within 1 µs of the reference, with clocks drifting up to 50 ppm")
    func distributedClocks() throws {
        let (segment, master) = try udpBus(slaves: 4)
        defer { segment.stop() }
        try bringUp(master, distributedClocks: true)
        #expect(master.slaves.map(\.delayNs) == [0, 600, 1200, 1800])
        for _ in 0..<500 {
            #expect(try master.cycle() == .ok)
            usleep(1000)
        }
        #expect(try master.measureDCDifference() < 1_000)
        #expect(abs(segment.systemTimeSpread()) < 1_000 + 3 * 600)
        #expect(master.dcMaxDifferenceNs < 1_000)
    }

    @Test("outputs that stop arriving trip the sync-manager watchdog: SAFE-OP with AL 0x1B in words; an acknowledge brings the slave back to OP")
    func watchdog() throws {
        let (segment, master) = try udpBus(slaves: 2)
        defer { segment.stop() }
        try bringUp(master)
        for _ in 0..<10 { _ = try master.cycle() }
        usleep(150_000)  // the watchdog is 100 ms
        #expect(segment.alStatus(slave: 0) == (.safeOperational, true, .syncManagerWatchdog))
        let slave = try master.refreshState(0)
        #expect(slave.statusCode.description == "0x001B sync-manager watchdog: outputs stopped arriving")
        // Only inputs flow in SAFE-OP: the count is short.
        #expect(try master.cycle() == .workingCounter(expected: 6, received: 2))
        for position in 0..<2 { try master.acknowledgeError(slave: position, state: .safeOperational) }
        try master.enterOperational(period: .milliseconds(1))
        #expect(try master.cycle() == .ok)
    }
}
