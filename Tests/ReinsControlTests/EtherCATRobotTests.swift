import Foundation
import ReinsControl
import ReinsCore
import ReinsHardware
import ReinsSim
import Testing

@Suite("An EtherCAT robot under the control loop and the safety layer", .serialized)
struct EtherCATRobotTests {
    static func fixture() throws -> RobotDefinition {
        try RobotDefinition(contentsOf: repositoryRoot.appendingPathComponent("Tests/Fixtures/so101-ethercat/robot.yaml"))
    }

    /// The fixture's drives emulated on loopback UDP, the robot connected to them, and a loop on it.
    static func rig() throws -> (EtherCATSegment, EtherCATRobot, ControlLoop) {
        let definition = try fixture()
        let segment = try EtherCATSegment(robot: definition)
        try segment.serve(on: .udp(host: "127.0.0.1", port: 0))
        let robot = try EtherCATRobot.connect(definition, endpoint: try #require(segment.endpoint))
        let kinematics = try ArmKinematics.model(of: try RobotTwin(robot: definition))
        let safety = SafetyLayer(limits: SafetyLimits(robot: definition, joints: robot.limits), kinematics: kinematics)
        let loop = ControlLoop(robot: robot, safety: safety, configuration: LoopConfiguration(rates: definition.rates))
        return (segment, robot, loop)
    }

    @Test("connecting writes the robot file's PDO mapping; the loop moves the drives to a pose in radians through their gears and holds it")
    func movesAndHolds() throws {
        let (segment, robot, loop) = try Self.rig()
        defer { segment.stop() }
        #expect(robot.drives.master.slaves.allSatisfy { $0.outputBytes == 7 && $0.inputBytes == 15 })
        try loop.start()
        var pose = robot.definition.homePoseRad
        pose[0] += 0.4
        pose[2] -= 0.3
        let error = loop.move(to: pose, speed: 1.0, tolerance: 0.01, timeout: .seconds(10))
        #expect(error < 0.02, "joints still \(error) rad from the pose")
        // The shaft of drive 1 turned 0.4 rad × 100:1 in 2^17 counts per turn, and the loop reads it back.
        let countsPerRadian = 100 * 131_072 / (2 * Double.pi)
        #expect(eventually(within: 3) { abs(segment.drivePosition(slave: 0) / countsPerRadian - 0.4) < 1e-4 }, "the drive did not settle on the pose")
        usleep(50_000)
        #expect(abs(loop.status.state.positions[0] - 0.4) < 1e-4 && abs(loop.status.state.positions[2] - 0.7) < 1e-4)
        #expect(loop.status.phase == .running && robot.drives.fault == nil)
        loop.stop(reason: "test over")
        loop.wait()
    }

    @Test("a drive that vanishes faults the loop with the working counter in words, the drives still there get a quick stop, and once it is back torque on recovers the bus")
    func vanishedDriveFaults() throws {
        let (segment, robot, loop) = try Self.rig()
        defer { segment.stop() }
        try loop.start()
        loop.command(robot.definition.homePoseRad)
        #expect(eventually(within: 3) { segment.driveState(slave: 0) == .operationEnabled })
        segment.disconnect(from: 4)
        #expect(eventually(within: 5) { loop.status.phase.isFinished })
        loop.wait()
        guard case .faulted(let message) = loop.status.phase else {
            Issue.record("expected a fault, got \(loop.status.phase)")
            return
        }
        #expect(message.contains("working counter 12, expected 18") && message.contains("quick stop"), "\(message)")
        #expect((0..<4).allSatisfy { segment.driveState(slave: $0) == .quickStopActive || segment.driveState(slave: $0) == .switchOnDisabled })
        // Power back: the returning slaves' watchdogs tripped while they were gone (SAFE-OP, AL 0x1B).
        segment.reconnectAll()
        usleep(20_000)
        #expect(segment.alStatus(slave: 5) == (.safeOperational, true, .syncManagerWatchdog))
        try robot.setTorque(true)
        #expect((0..<6).allSatisfy { segment.alStatus(slave: $0).state == .operational && segment.driveState(slave: $0) == .operationEnabled })
        var state = RobotState(motors: 6)
        try robot.read(into: &state)
        #expect(robot.drives.fault == nil)
    }
}

