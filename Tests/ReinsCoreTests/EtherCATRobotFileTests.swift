import Foundation
import ReinsCore
import Testing

@Suite("EtherCAT robot files")
struct EtherCATRobotFileTests {
    static let fixture = repositoryRoot.appendingPathComponent("Tests/Fixtures/so101-ethercat/robot.yaml")

    /// The fixture with one edit, and the error it gets (nil when accepted).
    static func parse(replacing original: String, with replacement: String) throws -> ConfigError? {
        let text = try String(contentsOf: fixture, encoding: .utf8)
        #expect(text.contains(original), "the fixture no longer contains \(original)")
        do {
            _ = try RobotDefinition(yaml: text.replacingOccurrences(of: original, with: replacement), file: fixture)
            return nil
        } catch {
            return error
        }
    }

    @Test("the fixture reads: drives with counts, gears and torque, CSP, three bad cycles to fault, and the PDO mapping to write")
    func fixtureReads() throws {
        let robot = try RobotDefinition(contentsOf: Self.fixture)
        #expect(robot.busProtocol == .ethercat && robot.baud == 0)
        #expect(robot.ethercat == EtherCATSettings(mode: "csp", workingCounterFaultCycles: 3,
                                                   outputs: [0x6040_0010, 0x607A_0020, 0x6060_0008],
                                                   inputs: [0x6041_0010, 0x6064_0020, 0x606C_0020, 0x6077_0010, 0x6061_0008, 0x603F_0010]))
        #expect(robot.motors.map(\.id) == Array(1...6) && robot.motors.allSatisfy { $0.model == .cia402 })
        #expect(robot.motors[0].drive == DriveParameters(countsPerRevolution: 131_072, gearRatio: 100, ratedTorqueNm: 1.27))
        #expect(robot.motors[5].drive == DriveParameters(countsPerRevolution: 4096, gearRatio: 30, ratedTorqueNm: 0.32))
    }

    @Test("mistakes are named with the field and what to write instead")
    func mistakes() throws {
        #expect(try Self.parse(replacing: "  mode: csp", with: "  baud: 1000000")?.description.contains("EtherCAT has no baud rate; remove baud") == true)
        #expect(try Self.parse(replacing: "mode: csp", with: "mode: pp")?.description.contains("expected csp, csv or cst, found \"pp\"") == true)
        #expect(try Self.parse(replacing: "\"0x607A:32\"", with: "\"0x607A:24\"")?.description.contains("expected an object as \"0x6040:16\"") == true)
        #expect(try Self.parse(replacing: "wkc_fault_cycles: 3", with: "wkc_fault_cycles: 0") != nil)
        #expect(try Self.parse(replacing: ", drive: {counts_per_rev: 4096, gear_ratio: 30, rated_torque_nm: 0.32}", with: "")?
            .description.contains("counts_per_rev, gear_ratio and rated_torque_nm") == true)
        #expect(try Self.parse(replacing: "gear_ratio: 30", with: "gear_ratio: 0") != nil)
        #expect(try Self.parse(replacing: "id: 1, model: cia402", with: "id: 1, model: sts3215")?.description.contains("sts3215 is a feetech servo but the bus protocol is ethercat") == true)
        #expect(try Self.parse(replacing: "id: 1, model", with: "id: 0, model") != nil)
    }

    static let ec6 = repositoryRoot.appendingPathComponent("Robots/ec6/robot.yaml")

    @Test("the ec6 file reads: its arm's drives in cst with torque and velocity limits and default impedance, its gripper's in csp")
    func torqueArmReads() throws {
        let robot = try RobotDefinition(contentsOf: Self.ec6)
        #expect(robot.ethercat?.mode == "cst" && robot.rates.busHz == 1000 && robot.motors.count == 7)
        #expect(robot.motors[1].drive?.torqueControl == TorqueControl(torqueLimitNm: 150, velocityLimitRadPerS: 3.14, stiffness: 400, damping: 40, clipRad: 0.1))
        #expect(robot.motors[5].drive?.torqueControl?.torqueLimitNm == 28)
        #expect(robot.motors[6].drive?.mode == "csp" && robot.motors[6].drive?.torqueControl == nil)
    }

    @Test("a cst drive lacking its limits or gains, or a position drive given them, is refused naming the field")
    func torqueArmMistakes() throws {
        let text = try String(contentsOf: Self.ec6, encoding: .utf8)
        func error(_ original: String, _ replacement: String) -> String? {
            #expect(text.contains(original), "the ec6 file no longer contains \(original)")
            do {
                _ = try RobotDefinition(yaml: text.replacingOccurrences(of: original, with: replacement), file: Self.ec6)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(error("velocity_limit_rad_s: 3.14, stiffness: 400, damping: 40, clip_rad: 0.1}}\n  - {name: shoulder_lift",
                      "velocity_limit_rad_s: 3.14, damping: 40, clip_rad: 0.1}}\n  - {name: shoulder_lift")?.contains("stiffness") == true)
        #expect(error("rated_torque_nm: 0.1, mode: csp}", "rated_torque_nm: 0.1, mode: csp, stiffness: 10}")?
            .contains("stiffness belongs to a drive in cst (torque) mode; this one runs in csp") == true)
        #expect(error("rated_torque_nm: 0.1, mode: csp}", "rated_torque_nm: 0.1, mode: pt}")?.contains("expected csp, csv or cst") == true)
        #expect(error("torque_limit_nm: 28, velocity", "torque_limit_nm: -28, velocity") != nil)
    }
}
