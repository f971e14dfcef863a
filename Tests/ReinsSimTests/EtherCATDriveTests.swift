import Foundation
import ReinsCore
import ReinsHardware
import ReinsSim
import Testing

/// The emulated drives' scaling: 2^17 counts per motor turn, a 50:1 gearbox, 1.27 N·m rated.
let emulatedScaling = DriveScaling(countsPerRevolution: 131_072, gearRatio: 50, ratedTorqueNm: 1.27)

@Suite("CiA 402 drives on the EtherCAT master")
struct EtherCATDriveTests {
    @Test("enabling walks shutdown → switch on → enable operation with targets set to where each drive is: nothing jumps, no following-error fault")
    func enableWithoutJump() throws {
        let (segment, master) = try udpBus(slaves: 3)
        defer { segment.stop() }
        try bringUp(master)
        let before = (0..<3).map { segment.drivePosition(slave: $0) }
        #expect(before.allSatisfy { abs($0) > 1_000 }, "the emulated shafts start away from zero")
        let drives = try CiA402Drives(master: master, scaling: Array(repeating: emulatedScaling, count: 3), mode: .cyclicPosition)
        try drives.enable()
        #expect(drives.allEnabled && drives.feedback.allSatisfy { $0.mode == .cyclicPosition && $0.errorCode == 0 })
        for _ in 0..<20 { try drives.exchange() }
        for drive in 0..<3 {
            #expect(abs(segment.drivePosition(slave: drive) - before[drive]) < 1)
            #expect(abs(drives.feedback[drive].positionRad - emulatedScaling.radians(counts: Int32(before[drive].rounded()))) < 1e-6)
        }
    }

    @Test("a drive whose target jumps faults with 0x8611 in words; a reset and enable bring it back")
    func followingErrorAndReset() throws {
        let (segment, master) = try udpBus(slaves: 1)
        defer { segment.stop() }
        try bringUp(master)
        let drives = try CiA402Drives(master: master, scaling: [emulatedScaling], mode: .cyclicPosition)
        try drives.enable()
        drives.setTargetPosition(0, radians: drives.feedback[0].positionRad + 1)
        for _ in 0..<3 { try drives.exchange() }
        #expect(drives.feedback[0].state == .fault)
        #expect(CiA402.errorText(drives.feedback[0].errorCode) == "0x8611 following error")
        drives.setTargetPosition(0, radians: drives.feedback[0].positionRad)
        try drives.enable()
        #expect(drives.allEnabled && drives.feedback[0].errorCode == 0)
    }

    @Test("CSP follows a slow ramp in radians; CSV turns at the asked rad/s; CST accelerates with the asked N·m; each mode confirmed by 0x6061")
    func modesInSIUnits() throws {
        for mode in [CiA402.Mode.cyclicPosition, .cyclicVelocity, .cyclicTorque] {
            let (segment, master) = try udpBus(slaves: 1)
            defer { segment.stop() }
            try bringUp(master)
            let drives = try CiA402Drives(master: master, scaling: [emulatedScaling], mode: mode)
            try drives.enable()
            #expect(drives.feedback[0].mode == mode)
            let start = drives.feedback[0].positionRad
            for step in 1...200 {
                switch mode {
                case .cyclicPosition: drives.setTargetPosition(0, radians: start + 0.001 * Double(step))
                case .cyclicVelocity: drives.setTargetVelocity(0, radiansPerSecond: 0.5)
                default: drives.setTargetTorque(0, newtonMetres: 5)
                }
                try drives.exchange()
                usleep(1000)
            }
            let moved = drives.feedback[0].positionRad - start
            switch mode {
            case .cyclicPosition: #expect(abs(moved - 0.2) < 0.01, "CSP moved \(moved) rad")
            case .cyclicVelocity:
                #expect(abs(drives.feedback[0].velocityRadPerS - 0.5) < 1e-3)
                #expect(moved > 0.05 && moved < 0.2, "CSV moved \(moved) rad in 200 cycles")
            default:
                #expect(drives.feedback[0].velocityRadPerS > 0.1 && moved > 0, "CST: \(drives.feedback[0].velocityRadPerS) rad/s")
            }
        }
    }
}

@Suite("EtherCAT faults: lost frames, wrong working counters, a vanished slave")
struct EtherCATFaultTests {
    @Test("with 5 % of frames lost every miss is counted and no value is ever applied stale or wrong")
    func droppedFrames() throws {
        let (segment, master) = try udpBus(slaves: 2, faults: EtherCATFaults(dropRate: 0.05), seed: 9)
        defer { segment.stop() }
        master.timeouts.retries = 20
        try bringUp(master)
        let drives = try CiA402Drives(master: master, scaling: [emulatedScaling, emulatedScaling], mode: .cyclicPosition, faultAfter: 50)
        try drives.enable()
        let lostBefore = master.statistics.framesLost
        let droppedBefore = segment.counters.dropped
        var lost = 0
        let start = drives.feedback.map(\.positionRad)
        var previous = start
        for step in 1...1_000 {
            for drive in 0..<2 { drives.setTargetPosition(drive, radians: start[drive] + 1e-4 * Double(step)) }
            let outcome = try drives.exchange()
            if outcome == .lost { lost += 1 }
            for drive in 0..<2 {
                let now = drives.feedback[drive].positionRad
                // Feedback only moves forward along the ramp and never past the newest target.
                #expect(now >= previous[drive] - 1e-9 && now <= start[drive] + 1e-4 * Double(step) + 1e-9)
                if outcome != .ok { #expect(now == previous[drive], "a lost cycle changed the feedback") }
                previous[drive] = now
            }
        }
        #expect(lost > 20 && lost < 90, "\(lost) of 1000 lost")
        #expect(master.statistics.framesLost - lostBefore == lost)
        // With a frame timeout far above the round trip, every loss is a frame the segment dropped.
        #expect(segment.counters.dropped - droppedBefore == lost)
    }

    @Test("a cycle with the wrong working counter is discarded and counted; three in a row fault the drives and send a quick stop")
    func wrongWorkingCounter() throws {
        let (segment, master) = try udpBus(slaves: 2)
        defer { segment.stop() }
        try bringUp(master)
        let drives = try CiA402Drives(master: master, scaling: [emulatedScaling, emulatedScaling], mode: .cyclicPosition)
        try drives.enable()
        let errors = master.statistics.workingCounterErrors
        let held = drives.feedback
        segment.missFrames(slave: 1, count: 2)
        #expect(try drives.exchange() == .workingCounter(expected: 6, received: 3))
        #expect(drives.feedback == held)
        #expect(try drives.exchange() == .workingCounter(expected: 6, received: 3))
        #expect(try drives.exchange() == .ok)
        #expect(drives.fault == nil && master.statistics.workingCounterErrors == errors + 2)
        segment.missFrames(slave: 0, count: 3)
        for _ in 0..<3 { try drives.exchange() }
        #expect(drives.fault != nil)
        try drives.exchange()
        #expect(segment.driveState(slave: 0) == .quickStopActive && segment.driveState(slave: 1) == .quickStopActive)
    }

    @Test("a slave that vanishes faults the loop within three cycles and the drives still there get a quick stop")
    func vanishedSlave() throws {
        let (segment, master) = try udpBus(slaves: 3)
        defer { segment.stop() }
        try bringUp(master)
        let drives = try CiA402Drives(master: master, scaling: Array(repeating: emulatedScaling, count: 3), mode: .cyclicPosition)
        try drives.enable()
        segment.disconnect(from: 2)
        var cycles = 0
        while drives.fault == nil && cycles < 10 {
            try drives.exchange()
            cycles += 1
        }
        #expect(cycles == 3)
        #expect(drives.fault?.description.contains("working counter 6, expected 9") == true)
        try drives.exchange()
        #expect(segment.driveState(slave: 0) == .quickStopActive && segment.driveState(slave: 1) == .quickStopActive)
    }

    @Test("a slave that falls back to SAFE-OP on a sync error shortens the count, names 0x001A, and an acknowledge brings it back to OP")
    func fallBack() throws {
        let (segment, master) = try udpBus(slaves: 2)
        defer { segment.stop() }
        try bringUp(master)
        #expect(try master.cycle() == .ok)
        segment.fallBack(slave: 1, to: .safeOperational, code: .synchronizationError)
        #expect(try master.cycle() == .workingCounter(expected: 6, received: 4))
        let slave = try master.refreshState(1)
        #expect(slave.state == .safeOperational && slave.errorPending && slave.statusCode.description == "0x001A synchronisation error")
        try master.acknowledgeError(slave: 1)
        try master.requestState(.operational, slave: 1)
        #expect(try master.cycle() == .ok)
    }

    @Test("replies later than the frame timeout count as lost, their late copies are dropped by index, and the next cycles are good")
    func delayedReplies() throws {
        let (segment, master) = try udpBus(slaves: 2)
        defer { segment.stop() }
        try bringUp(master)
        master.timeouts.frame = .milliseconds(2)
        segment.faults = EtherCATFaults(delay: .milliseconds(10))
        for _ in 0..<3 { #expect(try master.cycle() == .lost) }
        segment.faults = EtherCATFaults()
        usleep(40_000)
        master.timeouts.frame = .milliseconds(20)
        for _ in 0..<3 { #expect(try master.cycle() == .ok) }
        #expect(master.statistics.staleReplies >= 1, "the late replies were taken for new ones")
    }
}
