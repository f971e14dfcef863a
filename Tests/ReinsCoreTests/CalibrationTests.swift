import Foundation
import ReinsCore
import Testing

@Suite("calibration files")
struct CalibrationTests {
    @Test("the shipped sim calibrations match their robots with identity homing")
    func shipped() throws {
        for name in ["so101", "omx"] {
            let robot = try catalog.robot(name)
            let calibration = try catalog.calibration(for: robot, instance: nil)
            #expect(calibration.robot == name)
            #expect(calibration.motors.map(\.id) == robot.motors.map(\.id))
            for (motor, spec) in zip(calibration.motors, robot.motors) {
                #expect(motor.homingOffset == 0)
                #expect(motor.driveMode == 0)
                // The range spans the joint limits: 4096 ticks per turn about the centre, 2048.
                let expectedMin = 2048 + Int((spec.limitsRad.lowerBound * 4096 / (2 * .pi)).rounded())
                let expectedMax = 2048 + Int((spec.limitsRad.upperBound * 4096 / (2 * .pi)).rounded())
                #expect(motor.rangeMin == expectedMin, "\(name).\(motor.name)")
                #expect(motor.rangeMax == expectedMax, "\(name).\(motor.name)")
            }
        }
    }

    func refusal(replacing original: String, with replacement: String) throws -> ConfigError? {
        let robot = try catalog.robot("so101")
        let file = catalog.calibrationDirectory.appendingPathComponent("so101/sim.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.contains(original))
        do {
            _ = try Calibration(yaml: text.replacingOccurrences(of: original, with: replacement), file: file, for: robot)
            return nil
        } catch {
            return error
        }
    }

    @Test("an id that disagrees with the robot file is refused")
    func wrongID() throws {
        let error = try #require(try refusal(replacing: "elbow_flex: {id: 3", with: "elbow_flex: {id: 9"))
        #expect(error.field == "motors.elbow_flex.id")
        #expect(error.line == 7)
        #expect(error.description.contains("has id 3 in robot.yaml, not 9"))
    }

    @Test("a duplicate id is refused")
    func duplicateID() throws {
        let error = try #require(try refusal(replacing: "elbow_flex: {id: 3", with: "elbow_flex: {id: 2"))
        #expect(error.description.contains("duplicate id 2"))
    }

    @Test("a range out of order is refused")
    func rangeOutOfOrder() throws {
        let error = try #require(try refusal(replacing: "range_min: 796, range_max: 3300", with: "range_min: 3300, range_max: 796"))
        #expect(error.field == "motors.shoulder_pan.range_max")
    }

    @Test("ticks beyond the encoder are refused")
    func ticksBeyondEncoder() throws {
        let error = try #require(try refusal(replacing: "range_max: 3300", with: "range_max: 5000"))
        #expect(error.description.contains("expected an integer from 0 to 4095, found 5000"))
    }

    @Test("a missing motor is refused")
    func missingMotor() throws {
        let text = try String(contentsOf: catalog.calibrationDirectory.appendingPathComponent("so101/sim.yaml"), encoding: .utf8)
        let gripperLine = try #require(text.components(separatedBy: "\n").first { $0.contains("gripper:") })
        let error = try #require(try refusal(replacing: gripperLine + "\n", with: ""))
        #expect(error.description.contains("missing motor \"gripper\""))
    }

    @Test("an unknown field is refused")
    func unknownField() throws {
        let error = try #require(try refusal(replacing: "drive_mode: 0, homing_offset: 0, range_min: 796", with: "drive_mod: 0, homing_offset: 0, range_min: 796"))
        #expect(error.field == "motors.shoulder_pan.drive_mod")
        #expect(error.description.contains("did you mean \"drive_mode\""))
    }

    @Test("a calibration for another robot is refused")
    func otherRobot() throws {
        let error = try #require(try refusal(replacing: "robot: so101", with: "robot: omx"))
        #expect(error.field == "robot")
    }

    @Test("camera intrinsics are read with their distortion")
    func intrinsics() throws {
        let robot = try catalog.robot("so101")
        let text = try String(contentsOf: catalog.calibrationDirectory.appendingPathComponent("so101/sim.yaml"), encoding: .utf8)
            + "cameras:\n  wrist: {fx: 410.5, fy: 409.0, cx: 320, cy: 240, distortion: [0.1, -0.2, 0, 0, 0.05]}\n"
        let calibration = try Calibration(yaml: text, file: URL(fileURLWithPath: "/tmp/c.yaml"), for: robot)
        #expect(calibration.cameras == [CameraIntrinsics(name: "wrist", fx: 410.5, fy: 409, cx: 320, cy: 240,
                                                         distortion: [0.1, -0.2, 0, 0, 0.05])])
    }
}
