import Foundation
import ReinsControl
import ReinsCore
import ReinsHardware
import ReinsSim
import Testing

/// The ec6 twin moved by its emulated CiA 402 drives, a master on loopback UDP giving them
/// torques in cst: the bytes a real arm's drives would see, the twin's physics behind them.
@Suite("the ec6 twin moved by its emulated drives", .serialized)
struct DriveTwinTests {
    @Test("with the power off the brakes hold the arm; enabled with its gravity torques and compensated in cst through the bus, it holds within 1 mrad; with zero torque it falls; disabled, the brakes catch it")
    func holdsThroughTheBus() throws {
        let definition = try catalog.robot("ec6")
        let twin = try RobotTwin(robot: definition)
        let segment = try EtherCATSegment(robot: definition)
        try segment.serve(on: .udp(host: "127.0.0.1", port: 0))
        defer { segment.stop() }
        let physics = DriveTwinPhysics(twin: twin, segment: segment)
        physics.start()
        defer { physics.stop() }
        let master = EtherCATMaster(transport: try #require(segment.endpoint).openMaster(), timeouts: EtherCATTimeouts())
        try master.scan()
        try master.enterPreOperational()
        for position in master.slaves.indices { _ = try master.readPDOMapping(slave: position) }
        try master.configureProcessData()
        try master.requestState(.safeOperational)
        try master.enterOperational(period: .milliseconds(1))
        let scaling = try definition.motors.map { motor in
            let drive = try #require(motor.drive)
            return DriveScaling(countsPerRevolution: Double(drive.countsPerRevolution), gearRatio: drive.gearRatio, ratedTorqueNm: drive.ratedTorqueNm)
        }
        let drives = try CiA402Drives(master: master, scaling: scaling, mode: .cyclicTorque)
        let arm = 0..<6
        func drift(from start: [Double]) -> Double { arm.map { abs(physics.jointPositions[$0] - start[$0]) }.max()! }

        // The master cycles every millisecond from OP on, or the drives' sync-manager watchdog
        // trips; `each` runs after every exchange.
        func cycle(seconds: Double, each: () -> Void = {}) throws {
            var clock = LoopClock(rateHz: 1000)
            clock.start()
            for _ in 0..<Int(seconds * 1000) {
                _ = clock.waitForNextTick()
                _ = try drives.exchange()
                each()
            }
        }
        try cycle(seconds: 0.3)
        let home = definition.homePoseRad
        #expect(drift(from: home) < 1e-3, "the brakes let the arm move to \(physics.jointPositions)")

        let dynamics = TwinDynamics(model: twin.model, joints: twin.joints, compensated: 6)
        var gravity = [Double](repeating: 0, count: definition.motors.count)
        func compensate(scale: Double) {
            dynamics.gravity(drives.feedback.map(\.positionRad), into: &gravity)
            for joint in arm { drives.setTargetTorque(joint, newtonMetres: scale * gravity[joint]) }
        }
        // Enabled with the gravity torques where the brakes hold it, the arm does not drop as they release.
        dynamics.gravity(drives.feedback.map(\.positionRad), into: &gravity)
        try drives.enable(holding: gravity.enumerated().map { $0.offset < 6 ? $0.element : 0 })
        #expect(drives.allEnabled)
        try cycle(seconds: 2) { compensate(scale: 1) }
        #expect(drift(from: home) < 1e-3, "gravity compensation through the bus let the arm drift \(drift(from: home)) rad: to \(physics.jointPositions)")
        // The drives' torque feedback reads back what the twin's actuators apply.
        #expect(abs(drives.feedback[1].torqueNm - gravity[1]) < 0.1 * abs(gravity[1]) + 0.1, "shoulder: \(drives.feedback[1].torqueNm) against \(gravity[1]) N·m")

        let falling = physics.jointPositions
        try cycle(seconds: 0.3) { compensate(scale: 0) }
        #expect(drift(from: falling) > 0.02, "without torque the arm did not fall")

        try drives.disable()
        try cycle(seconds: 0.1)
        let braked = physics.jointPositions
        try cycle(seconds: 0.5)
        #expect(drift(from: braked) < 2e-3, "the brakes let the arm drift \(drift(from: braked)) rad")
    }
}
