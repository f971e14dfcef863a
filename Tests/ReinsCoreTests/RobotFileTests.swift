import Foundation
import ReinsCore
import Testing

/// The checkout's root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let catalog = RobotCatalog(root: repositoryRoot)

func shippedText(_ robot: String) throws -> String {
    try String(contentsOf: catalog.robotsDirectory.appendingPathComponent("\(robot)/robot.yaml"), encoding: .utf8)
}

/// Parses so101's robot file with one edit, expecting it to be refused.
func refusal(replacing original: String, with replacement: String,
             sourceLocation: SourceLocation = #_sourceLocation) throws -> (error: ConfigError, text: String) {
    let text = try shippedText("so101")
    #expect(text.contains(original), "the shipped file no longer contains \(original)", sourceLocation: sourceLocation)
    let edited = text.replacingOccurrences(of: original, with: replacement)
    let file = URL(fileURLWithPath: "/tmp/edited/robot.yaml")
    do {
        _ = try RobotDefinition(yaml: edited, file: file)
    } catch {
        return (error, edited)
    }
    Issue.record("the edited file was accepted", sourceLocation: sourceLocation)
    throw CancellationError()
}

/// The 1-based line of the first line containing `needle`.
func line(of needle: String, in text: String) -> Int {
    text.components(separatedBy: "\n").firstIndex { $0.contains(needle) }.map { $0 + 1 } ?? -1
}

@Suite("robot files")
struct RobotFileTests {
    @Test("the shipped so101 has six STS3215 servos with ids 1 to 6")
    func so101() throws {
        let robot = try catalog.robot("so101")
        #expect(robot.busProtocol == .feetech)
        #expect(robot.baud == 1_000_000)
        #expect(robot.motors.map(\.name) == ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"])
        #expect(robot.motors.map(\.id) == [1, 2, 3, 4, 5, 6])
        #expect(robot.motors.allSatisfy { $0.model == .sts3215 })
        #expect(robot.homePoseRad.count == 6)
        #expect(robot.cameras.map(\.name) == ["front", "wrist"])
        #expect(robot.cameras[1].crop == PixelRect(x: 80, y: 0, width: 480, height: 480))
        #expect(robot.rates == ControlRates(busHz: 200, policyHz: 10))
        #expect(robot.timeouts == ActorTimeouts(replyMs: 2, failedCycles: 20, frameAgeMs: 200))
        #expect(robot.scene.path == catalog.robotsDirectory.appendingPathComponent("so101/scene.xml").path)
    }

    @Test("the shipped omx has five XM430-W350 servos with ids 11 to 15")
    func omx() throws {
        let robot = try catalog.robot("omx")
        #expect(robot.busProtocol == .dynamixel)
        #expect(robot.motors.map(\.name) == ["joint1", "joint2", "joint3", "joint4", "gripper"])
        #expect(robot.motors.map(\.id) == [11, 12, 13, 14, 15])
        #expect(robot.motors.allSatisfy { $0.model == .xm430W350 })
        #expect(robot.workspace.contains([0.2, 0, 0.1]))
        #expect(!robot.workspace.contains([0.5, 0, 0.1]))
    }

    @Test("the catalog lists ec6, omx and so101")
    func listing() {
        #expect(catalog.robotNames() == ["ec6", "omx", "so101"])
    }

    @Test("a wrong type names the file, line and field")
    func wrongType() throws {
        let (error, text) = try refusal(replacing: "baud: 1000000", with: "baud: fast")
        #expect(error.file == "/tmp/edited/robot.yaml")
        #expect(error.line == line(of: "baud: fast", in: text))
        #expect(error.field == "bus.baud")
        #expect(error.description.contains("expected an integer, found \"fast\""))
    }

    @Test("a list where a number belongs is a wrong type too")
    func wrongShape() throws {
        let (error, text) = try refusal(replacing: "bus_hz: 200", with: "bus_hz: [200]")
        #expect(error.line == line(of: "bus_hz: [200]", in: text))
        #expect(error.field == "rates.bus_hz")
        #expect(error.description.contains("expected a number, found a list"))
    }

    @Test("an unknown field is refused with a suggestion")
    func unknownField() throws {
        let (error, text) = try refusal(replacing: "  baud: 1000000", with: "  bauds: 1000000")
        #expect(error.line == line(of: "bauds:", in: text))
        #expect(error.field == "bus.bauds")
        #expect(error.description.contains("unknown field \"bauds\" (did you mean \"baud\"?)"))
    }

    @Test("an unknown field inside a list item names the item")
    func unknownFieldInList() throws {
        let (error, text) = try refusal(replacing: "id: 3, model: sts3215", with: "id: 3, modle: sts3215")
        #expect(error.field == "motors[2].modle")
        #expect(error.line == line(of: "modle", in: text))
    }

    @Test("a duplicate id is refused at the second motor")
    func duplicateID() throws {
        let (error, text) = try refusal(replacing: "name: elbow_flex,    id: 3", with: "name: elbow_flex,    id: 2")
        #expect(error.line == line(of: "name: elbow_flex", in: text))
        #expect(error.field == "motors[2].id")
        #expect(error.description.contains("duplicate id 2: motor \"shoulder_lift\" already has it"))
    }

    @Test("a duplicate motor name is refused")
    func duplicateName() throws {
        let (error, _) = try refusal(replacing: "name: elbow_flex,", with: "name: shoulder_lift,")
        #expect(error.field == "motors[2].name")
    }

    @Test("limits out of order are refused")
    func limitsOutOfOrder() throws {
        let (error, text) = try refusal(replacing: "limits_rad: [-1.69, 1.69]", with: "limits_rad: [1.69, -1.69]")
        #expect(error.line == line(of: "[1.69, -1.69]", in: text))
        #expect(error.field == "motors[2].limits_rad")
        #expect(error.description.contains("limits out of order"))
    }

    @Test("limits in degrees are caught")
    func limitsInDegrees() throws {
        let (error, _) = try refusal(replacing: "limits_rad: [-1.92, 1.92]", with: "limits_rad: [-110, 110]")
        #expect(error.description.contains("radians, not degrees"))
    }

    @Test("a home pose outside the limits is refused")
    func homeOutsideLimits() throws {
        let (error, _) = try refusal(replacing: "elbow_flex: 1.0", with: "elbow_flex: 2.0")
        #expect(error.field == "home_pose_rad.elbow_flex")
        #expect(error.description.contains("outside the joint limits"))
    }

    @Test("a home pose must cover every motor")
    func homeMissing() throws {
        let (error, _) = try refusal(replacing: "  gripper: 0.0\n", with: "")
        #expect(error.field == "home_pose_rad")
        #expect(error.description.contains("missing the home angle of motor \"gripper\""))
    }

    @Test("a servo of another protocol is refused")
    func protocolMismatch() throws {
        let (error, _) = try refusal(replacing: "id: 4, model: sts3215", with: "id: 4, model: xm430-w350")
        #expect(error.field == "motors[3].model")
        #expect(error.description.contains("is a dynamixel servo but the bus protocol is feetech"))
    }

    @Test("a baud rate the servos cannot run at is refused")
    func unsupportedBaud() throws {
        let (error, _) = try refusal(replacing: "baud: 1000000", with: "baud: 1234567")
        #expect(error.field == "bus.baud")
        #expect(error.description.contains("cannot run at 1234567 baud"))
    }

    @Test("a crop outside the frame is refused")
    func cropOutsideFrame() throws {
        let (error, _) = try refusal(replacing: "crop: {x: 80,", with: "crop: {x: 400,")
        #expect(error.field == "cameras[1].crop")
    }

    @Test("a policy faster than the bus is refused")
    func policyFasterThanBus() throws {
        let (error, _) = try refusal(replacing: "policy_hz: 10", with: "policy_hz: 500")
        #expect(error.field == "rates.policy_hz")
    }

    @Test("a reply timeout that does not fit the bus period is refused, naming the period")
    func replyLongerThanPeriod() throws {
        let (error, _) = try refusal(replacing: "reply_ms: 2", with: "reply_ms: 6")
        #expect(error.field == "timeouts.reply_ms")
        #expect(error.description.contains("5.0 ms at 200.0 Hz"))
    }

    @Test("no failed cycle tolerated is refused")
    func zeroFailedCycles() throws {
        let (error, _) = try refusal(replacing: "failed_cycles: 20", with: "failed_cycles: 0")
        #expect(error.field == "timeouts.failed_cycles")
    }

    @Test("without timeouts a robot file gets the defaults its comments explain")
    func defaultTimeouts() throws {
        let text = try shippedText("so101")
        let start = try #require(text.range(of: "# What the actor waits for"))
        let end = try #require(text.range(of: "workspace_m:"))
        var trimmed = text
        trimmed.removeSubrange(start.lowerBound..<end.lowerBound)
        let robot = try RobotDefinition(yaml: trimmed, file: URL(fileURLWithPath: "/tmp/edited/robot.yaml"))
        #expect(robot.timeouts == ActorTimeouts())
        #expect(robot.timeouts.frameAgeMs == 200 && robot.timeouts.replyMs == nil && robot.timeouts.failedCycles == nil)
    }

    @Test("an inverted workspace is refused")
    func invertedWorkspace() throws {
        let (error, _) = try refusal(replacing: "max: [0.45, 0.30, 0.35]", with: "max: [0.45, 0.30, -0.1]")
        #expect(error.field == "workspace_m.max")
        #expect(error.description.contains("max z"))
    }

    @Test("a missing required field is named at its mapping")
    func missingField() throws {
        let (error, _) = try refusal(replacing: "scene: scene.xml\n", with: "")
        #expect(error.field == "scene")
        #expect(error.description.contains("missing; expected the MuJoCo scene file"))
    }

    @Test("a repeated key is a syntax error at its line")
    func repeatedKey() throws {
        let (error, text) = try refusal(replacing: "  policy_hz: 10", with: "  policy_hz: 10\n  policy_hz: 20")
        guard case .syntax = error else { Issue.record("expected a syntax error, got \(error)"); return }
        #expect(error.line == line(of: "policy_hz: 10", in: text))
        #expect(error.description.contains("\"policy_hz\" appears more than once"))
    }

    @Test("broken YAML is a syntax error with a line")
    func brokenYAML() throws {
        let (error, _) = try refusal(replacing: "rates:\n  bus_hz: 200", with: "rates:\n  bus_hz: [200")
        guard case .syntax(_, let errorLine, _, _) = error else { Issue.record("expected a syntax error, got \(error)"); return }
        #expect(errorLine > 20)
    }

    @Test("a missing file is named")
    func missingFile() {
        #expect(throws: ConfigError.unreadable(file: "/tmp/nowhere/robot.yaml", reason: "no such file")) {
            try RobotDefinition(contentsOf: URL(fileURLWithPath: "/tmp/nowhere/robot.yaml"))
        }
    }

    @Test("an unknown robot name lists the known ones")
    func unknownRobot() throws {
        do {
            _ = try catalog.robot("so100")
            Issue.record("so100 should not exist")
        } catch {
            #expect(error.description.contains("no robot named \"so100\"; known robots: ec6, omx, so101"))
        }
    }
}
