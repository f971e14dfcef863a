import Foundation
@testable import ReinsControl
import ReinsCore
import ReinsSim
import Testing

/// These run the real loop against servos emulated on a pty with the twin's physics, so each
/// takes a few seconds of wall time; they check outcomes, never durations.
@Suite("Control loop on an emulated bus", .serialized)
struct ControlLoopTests {
    @Test("the loop moves the arm to a commanded pose and holds it", arguments: ["so101", "omx"])
    func reachesPose(robot name: String) throws {
        let rig = try TwinRig(name)
        let loop = rig.loop()
        try loop.start()
        var pose = rig.robot.definition.homePoseRad
        pose[0] += 0.4
        pose[1] += 0.2
        let error = loop.move(to: pose, speed: 1.0, tolerance: 0.03, timeout: .seconds(10))
        #expect(error < 0.05, "joints still \(error) rad from the pose")
        let status = loop.status
        #expect(status.phase == .running)
        #expect(status.cycles > 20)
        loop.stop(reason: "test over")
        loop.wait()
        #expect(loop.status.phase == .stopped(reason: "test over"))
        let histogram = try #require(loop.jitterHistogram)
        #expect(histogram.totalCount > 100)
        // Every cycle's read succeeded and was timed: at 1 Mbaud on a pty it takes well under the 2 ms margin.
        let reads = try #require(loop.readHistogram)
        #expect(reads.totalCount == UInt64(loop.status.cycles - loop.status.failedCycles))
        #expect(loop.status.readP99Ms > 0 && loop.status.readP99Ms < 50)
    }

    @Test("the watchdog holds the arm when commands stop, and a new command resumes it")
    func watchdogHolds() throws {
        let rig = try TwinRig("so101")
        let loop = rig.loop { $0.watchdogTimeout = .milliseconds(300) }
        try loop.start()
        var pose = rig.robot.definition.homePoseRad
        pose[0] += 0.3
        loop.move(to: pose, speed: 1.0, tolerance: 0.03, timeout: .seconds(8))
        // No more commands: the loop notices within the timeout and holds.
        #expect(eventually(within: 3) { loop.status.phase == .holding })
        #expect(loop.status.watchdogTrips == 1)
        let held = loop.status.sent
        usleep(400_000)
        let later = loop.status
        #expect(later.sent == held, "the command moved while holding")
        #expect(zip(later.state.positions, held).allSatisfy { abs($0 - $1) < 0.05 }, "the arm drifted while holding")
        // A fresh command takes it out of holding.
        loop.command(held)
        #expect(eventually(within: 2) { loop.status.phase == .running })
        loop.stop(reason: "test over")
        loop.wait()
    }

    @Test("a pty that closes mid-run stops the loop with an error naming the device")
    func hangUpFaults() throws {
        let rig = try TwinRig("so101")
        let loop = rig.loop { $0.torqueOffDelay = .milliseconds(200) }
        try loop.start()
        loop.command(rig.robot.definition.homePoseRad)
        usleep(200_000)
        #expect(loop.status.phase == .running)
        rig.emulator.hangUp()
        #expect(eventually(within: 5) { loop.status.phase.isFinished })
        loop.wait()
        guard case .faulted(let message) = loop.status.phase else {
            Issue.record("expected a fault, got \(loop.status.phase)")
            return
        }
        #expect(message.contains("bus fault on \(rig.emulator.devicePath)"))
        #expect(message.contains("Check the cable"))
        #expect(loop.status.busErrors > 0)
    }

    @Test("an operator stop holds, then switches torque off: the arm goes limp and sags")
    func stopGoesLimp() throws {
        let rig = try TwinRig("so101")
        let loop = rig.loop { $0.torqueOffDelay = .milliseconds(300) }
        try loop.start()
        var pose = rig.robot.definition.homePoseRad
        pose[1] = 0.0  // shoulder lifted so gravity pulls it once limp
        pose[2] = 0.0
        loop.move(to: pose, speed: 1.0, tolerance: 0.05, timeout: .seconds(8))
        let before = try #require(rig.emulator.twinJointPositions)
        loop.stop(reason: "operator stop")
        loop.wait()
        #expect(loop.status.phase == .stopped(reason: "operator stop"))
        usleep(500_000)
        let after = try #require(rig.emulator.twinJointPositions)
        #expect(abs(after[1] - before[1]) > 0.05 || abs(after[2] - before[2]) > 0.05, "torque still on: \(before) → \(after)")
    }

    @Test("with 5 % of replies dropped the loop runs on: a missed reply fails its cycle, and the retry is the next cycle")
    func droppedRepliesFailCycles() throws {
        let rig = try TwinRig("so101", faults: BusFaults(dropRate: 0.05))
        let patient = rig.robot.bus.transactionBudget
        let loop = rig.loop()
        // The bus is the loop's while it runs: its counters are read before and after.
        let retriesBefore = rig.robot.bus.statistics.retries
        try loop.start()
        var pose = rig.robot.definition.homePoseRad
        pose[0] += 0.3
        loop.move(to: pose, speed: 1.0, tolerance: 0.05, timeout: .seconds(5))
        let status = loop.status
        loop.stop(reason: "test over")
        loop.wait()
        let retries = rig.robot.bus.statistics.retries - retriesBefore
        #expect(status.phase == .running, "\(status.phase)")
        #expect(status.failedCycles > 0)
        // Tried once per cycle: no transaction was retried inside one.
        #expect(retries == 0)
        #expect(loop.status.phase == .stopped(reason: "test over"))
        // The bus gets its patience back once the loop is done.
        #expect(rig.robot.bus.transactionBudget == patient && patient.retries > 0)
    }

    @Test("a reader holding the status or a writer holding the inbox costs the loop no cycle")
    func slowThreadsDoNotStallTheLoop() throws {
        let rig = try TwinRig("so101")
        let loop = rig.loop()
        try loop.start()
        defer {
            loop.stop(reason: "test over")
            loop.wait()
        }
        loop.command(rig.robot.definition.homePoseRad)
        loop.wait(untilCycle: 10)
        for (name, hold) in [("status", loop.holdingStatusBoard), ("inbox", loop.holdingInbox)] {
            var advanced = false
            hold {
                // Two policy steps of cycles go by while the lock is held.
                let start = loop.cyclesCompleted
                advanced = eventually(within: 5) { loop.cyclesCompleted >= start + 40 }
            }
            #expect(advanced, "the loop stopped cycling while a thread held its \(name) lock")
        }
        #expect(!loop.status.phase.isFinished)
    }

    @Test("a running loop its owner lets go of stops: its thread does not keep it alive, and the torque goes off")
    func droppedLoopStops() throws {
        let rig = try TwinRig("so101")
        weak var released: ControlLoop?
        do {
            let loop = rig.loop { $0.torqueOffDelay = .milliseconds(100) }
            released = loop
            try loop.start()
            loop.command(rig.robot.definition.homePoseRad)
            loop.wait(untilCycle: 20)
        }
        #expect(released == nil)
        let torque = try rig.robot.definition.motors.map { try rig.robot.bus.read(rig.robot.bus.torqueEnable, id: UInt8($0.id)) }
        #expect(torque.allSatisfy { $0 == 0 }, "torque_enable \(torque)")
    }
}
