import Foundation
import ReinsCore
import ReinsHardware
import ReinsSim
import Testing

/// The same checks on either transport.
enum Wire: String, CaseIterable, CustomTestStringConvertible {
    case udp, rawEthernet
    var testDescription: String { self == .udp ? "UDP on loopback" : "raw Ethernet on a veth pair in a namespace" }
}

@Suite("EtherCAT over both transports", .serialized)
struct EtherCATTransportTests {
    /// A segment of `slaves` drives served on `wire`, and a master on the other end.
    static func bus(_ wire: Wire, slaves: Int, tag: String) throws -> (EtherCATSegment, EtherCATMaster, VirtualEthernetPair?) {
        switch wire {
        case .udp:
            let (segment, master) = try udpBus(slaves: slaves)
            return (segment, master, nil)
        case .rawEthernet:
            let pair = try VirtualEthernetPair(prefix: "ecat", tag: tag)
            let segment = EtherCATSegment(slaves: slaves)
            try segment.serve(on: .interface(pair.slaveSide, namespace: pair.namespace))
            // The same frame timeout as the UDP bus's (see `udpBus`).
            return (segment, EtherCATMaster(transport: try RawEthernetTransport(interface: pair.masterSide),
                                            timeouts: EtherCATTimeouts(frame: .milliseconds(20))), pair)
        }
    }

    @Test("scan, the state machine, segmented SDO both ways, the PDO mapping, 10,000 cycles at 1 kHz and clocks within 1 µs",
          arguments: Wire.allCases)
    func fullExchange(_ wire: Wire) throws {
        // Namespaces and raw sockets need root: CI has it; a developer's account may not.
        if wire == .rawEthernet && !VirtualEthernetPair.canCreate { return }
        let (segment, master, pair) = try Self.bus(wire, slaves: 3, tag: "a")
        defer {
            segment.stop()
            pair?.remove()
        }
        #expect(try master.scan().map(\.information.serialNumber) == [1, 2, 3])
        try master.enterPreOperational()
        let notes = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try master.sdoWrite(slave: 2, index: 0x2000, subindex: 0, notes)
        #expect(try master.sdoRead(slave: 2, index: 0x2000, subindex: 0) == notes)
        for position in 0..<3 { #expect(try master.readPDOMapping(slave: position) == .cyclicDrive) }
        try master.configureProcessData()
        try master.configureDistributedClocks()
        try master.startSync0(cycle: .milliseconds(1))
        try master.requestState(.safeOperational)
        try master.enterOperational(period: .milliseconds(1))
        let drives = try CiA402Drives(master: master, scaling: Array(repeating: emulatedScaling, count: 3), mode: .cyclicPosition, faultAfter: 10)
        try drives.enable()
        let start = drives.feedback.map(\.positionRad)
        var clock = LoopClock(rateHz: 1_000)
        clock.start()
        var outcomes = (ok: 0, lost: 0, wrongCount: 0)
        for step in 1...10_000 {
            for drive in 0..<3 { drives.setTargetPosition(drive, radians: start[drive] + 0.5 * sin(Double(step) * 0.001)) }
            switch try drives.exchange() {
            case .ok: outcomes.ok += 1
            case .lost: outcomes.lost += 1
            case .workingCounter: outcomes.wrongCount += 1
            }
            clock.waitForNextTick()
        }
        #expect(outcomes.ok >= 9_990 && outcomes.wrongCount == 0, "\(outcomes)")
        #expect(master.statistics.framesLost >= outcomes.lost)
        #expect(drives.fault == nil && drives.allEnabled)
        // The last target was sent; the drives follow within one cycle's motion.
        for drive in 0..<3 { #expect(abs(drives.feedback[drive].positionRad - (start[drive] + 0.5 * sin(10.0))) < 1e-3) }
        #expect(master.dcMaxDifferenceNs < 1_000)
        #expect(try master.measureDCDifference() < 1_000)
    }
}
