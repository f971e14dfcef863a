import Foundation
import ReinsCore
import ReinsHardware
import ReinsSim
import Testing

/// A segment of emulated drives served on loopback UDP at a port of the system's choosing, and
/// a master connected to it.
func udpBus(slaves: Int = 3, faults: EtherCATFaults = EtherCATFaults(), seed: UInt64 = 1) throws -> (EtherCATSegment, EtherCATMaster) {
    let segment = EtherCATSegment(slaves: slaves, faults: faults, seed: seed)
    try segment.serve(on: .udp(host: "127.0.0.1", port: 0))
    let port = try #require(UInt16(segment.location.split(separator: ":").last ?? ""))
    let master = EtherCATMaster(transport: try UDPTransport(connectingTo: "127.0.0.1", port: port))
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
    // Drives want outputs before OP: one cycle of them first, as SOEM's examples do.
    _ = try master.cycle()
    try master.requestState(.operational)
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
