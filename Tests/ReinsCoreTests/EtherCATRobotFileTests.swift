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
}
