import Foundation
import ReinsControl
import ReinsCore
import ReinsHardware
import ReinsSim
import Testing

@Suite("recording the workspace box by hand")
struct WorkspaceBoundsTests {
    @Test("moved by hand through poses, the box is what the end effector reached plus the margin, never below the table")
    func recordsExtremes() throws {
        let definition = try catalog.robot("so101")
        // The simple servo model, torque off: the shafts stay where the hand puts them.
        let emulator = try ServoBusEmulator(robot: definition, seed: 5)
        emulator.start()
        defer { emulator.stop() }
        let line = try SerialLine(path: emulator.devicePath, baud: definition.baud)
        let bus = FeetechBus(line: line, baud: definition.baud, motors: ServoRobot.busMotors(definition), margin: .milliseconds(5))
        let robot = try ServoRobot(definition: definition, calibration: try catalog.calibration(for: definition, instance: "sim"),
                                   bus: bus, location: emulator.devicePath)
        try robot.connect()
        try robot.setTorque(false)
        let kinematics = try ArmKinematics.model(of: try RobotTwin(robot: definition)).makeInstance()

        var generator = SplitMix64(seed: 3)
        let poses = (0..<12).map { _ in definition.motors.map { Double.random(in: $0.limitsRad.lowerBound / 2...$0.limitsRad.upperBound / 2, using: &generator) } }
        func place(_ pose: [Double]) {
            for (motor, angle) in zip(definition.motors, pose) { emulator.setPosition(id: UInt8(motor.id), ticks: 2048 + angle * 4096 / (2 * .pi)) }
        }
        var next = 0
        place(poses[0])
        let bounds = try WorkspaceBounds.record(from: robot, kinematics: kinematics) { _ in
            next += 1
            guard next < poses.count else { return true }
            place(poses[next])
            return false
        }
        #expect(bounds.samples == poses.count)
        let reached = poses.map { Array(kinematics.pose($0).vector[0..<3]) }
        for axis in 0..<3 {
            let low = reached.map { $0[axis] }.min()!, high = reached.map { $0[axis] }.max()!
            // A tick is 1.5 mrad: within a few millimetres at the arm's reach.
            #expect(abs(bounds.minM[axis] - low) < 0.005 && abs(bounds.maxM[axis] - high) < 0.005, "axis \(axis)")
        }
        let box = try bounds.proposal(margin: 0.02).get()
        #expect(abs(box.maxM[0] - (bounds.maxM[0] + 0.02)) < 1e-9 && abs(box.minM[1] - (bounds.minM[1] - 0.02)) < 1e-9)
        #expect(box.minM[2] == max(0, bounds.minM[2] - 0.02))
        #expect(reached.allSatisfy(box.contains))
    }

    @Test("an arm nobody moved is refused, naming the axes and how far it went")
    func notMoved() {
        var bounds = WorkspaceBounds()
        for offset in [0.0, 0.005, 0.01] { bounds.add([0.2 + offset, 0.3 * offset, 0.1]) }
        guard case .failure(let error) = bounds.proposal(margin: 0.02) else { Issue.record("a box was proposed"); return }
        #expect(error == .notMoved(extentM: bounds.extentM, axes: ["x", "y", "z"]))
        #expect(error.description.contains("hardly moved along x and y and z (x 1 cm, y 0 cm, z 0 cm)"))
    }
}
