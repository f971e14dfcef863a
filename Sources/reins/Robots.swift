import ArgumentParser
import Foundation
import ReinsControl
import ReinsCore

struct Robots: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the robot definitions under Robots/, or show one.",
        discussion: """
        Each robot is Robots/<name>/robot.yaml; its calibrations are Calibration/<name>/*.yaml. The checkout is found from the current folder, the reins executable, or REINS_HOME.

        Example:
          reins robots
          reins robots --json
          reins robots show so101
          reins robots show path/to/robot.yaml
        """,
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the robots (the default).",
            discussion: "Example:\n  reins robots list --json")

        @Flag(help: "One JSON object per robot.") var json = false

        struct Row: Encodable {
            var name: String
            var busProtocol: String
            var baud: Int
            var motors: Int
            var cameras: [String]
            var calibrations: [String]
            var file: String
            var description: String
            var error: String?
        }

        func run() throws {
            let catalog = try RobotCatalog.locate()
            var failed = false
            for name in catalog.robotNames() {
                let calibrations = catalog.calibrationFiles(for: name).map { $0.deletingPathExtension().lastPathComponent }
                let file = catalog.displayPath(catalog.robotsDirectory.appendingPathComponent("\(name)/robot.yaml"))
                do {
                    let robot = try catalog.robot(name)
                    let row = Row(name: robot.name, busProtocol: robot.busProtocol.rawValue, baud: robot.baud,
                                  motors: robot.motors.count, cameras: robot.cameras.map(\.name),
                                  calibrations: calibrations, file: file, description: robot.description)
                    if json {
                        JSONLines.print(row)
                    } else {
                        let padded = column(robot.name, 8)
                        let bus = robot.ethercat.map { "ethercat (\($0.mode))" } ?? "\(robot.busProtocol.rawValue) @ \(robot.baud) baud"
                        print("\(padded) \(bus), \(robot.motors.count) motors, "
                              + "cameras: \(row.cameras.joined(separator: ", ")), calibrations: \(calibrations.joined(separator: ", "))  \(robot.description)")
                    }
                } catch {
                    failed = true
                    if json {
                        JSONLines.print(Row(name: name, busProtocol: "", baud: 0, motors: 0, cameras: [], calibrations: calibrations,
                                            file: file, description: "", error: error.description))
                    } else {
                        print("\(column(name, 8)) INVALID: \(error)")
                    }
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate and print one robot definition, with its calibrations.",
            discussion: """
            Exits with status 1 and a message naming the file, line and field when the file is invalid.

            Example:
              reins robots show omx
              reins robots show ./my-arm/robot.yaml --json
            """)

        @Argument(help: "A robot name (so101) or the path of a robot file.") var robot: String
        @Flag(help: "Print one JSON object.") var json = false

        struct Output: Encodable {
            var name: String
            var description: String
            var file: String
            var busProtocol: String
            var baud: Int
            var motors: [Motor]
            var cameras: [CameraSpec]
            var busHz: Double
            var policyHz: Double
            /// The timeouts in force (the file's, or their defaults).
            var replyMs: Double
            var failedCycles: Int
            var frameAgeMs: Double
            var workspaceMinM: [Double]
            var workspaceMaxM: [Double]
            var scene: String
            var sceneExists: Bool
            var calibrations: [CalibrationStatus]

            struct Motor: Encodable {
                var name: String
                var id: Int
                var model: String
                var minRad: Double
                var maxRad: Double
                var homeRad: Double
            }

            struct CalibrationStatus: Encodable {
                var instance: String
                var valid: Bool
                var error: String?
            }
        }

        func run() throws {
            let catalog = try RobotCatalog.locate()
            let definition: RobotDefinition
            do {
                definition = try catalog.robot(robot)
            } catch {
                printError("reins: invalid robot definition: \(error)")
                throw ExitCode(1)
            }
            let calibrations = catalog.calibrationFiles(for: definition.name).map { file in
                let instance = file.deletingPathExtension().lastPathComponent
                do {
                    _ = try Calibration(contentsOf: file, for: definition, displayName: catalog.displayPath(file))
                    return Output.CalibrationStatus(instance: instance, valid: true)
                } catch {
                    return Output.CalibrationStatus(instance: instance, valid: false, error: "\(error)")
                }
            }
            let loopTimeouts = LoopConfiguration(rates: definition.rates, timeouts: definition.timeouts)
            let output = Output(
                name: definition.name, description: definition.description, file: catalog.displayPath(definition.file),
                busProtocol: definition.busProtocol.rawValue, baud: definition.baud,
                motors: zip(definition.motors, definition.homePoseRad).map { motor, home in
                    Output.Motor(name: motor.name, id: motor.id, model: motor.model.rawValue,
                                 minRad: motor.limitsRad.lowerBound, maxRad: motor.limitsRad.upperBound, homeRad: home)
                },
                cameras: definition.cameras, busHz: definition.rates.busHz, policyHz: definition.rates.policyHz,
                replyMs: loopTimeouts.replyMargin.seconds * 1000, failedCycles: loopTimeouts.toleratedBusFailures,
                frameAgeMs: definition.timeouts.frameAgeMs,
                workspaceMinM: definition.workspace.minM, workspaceMaxM: definition.workspace.maxM,
                scene: catalog.displayPath(definition.scene),
                sceneExists: FileManager.default.fileExists(atPath: definition.scene.path),
                calibrations: calibrations)
            if json {
                JSONLines.print(output)
            } else {
                printText(output)
            }
            if calibrations.contains(where: { !$0.valid }) { throw ExitCode(1) }
        }

        private func printText(_ o: Output) {
            print("\(o.name): \(o.description)")
            print("  file       \(o.file)")
            let bus = o.baud > 0 ? "\(o.busProtocol) @ \(o.baud) baud" : o.busProtocol
            print("  bus        \(bus), polled at \(format(o.busHz)) Hz; policy at \(format(o.policyHz)) Hz")
            print("  timeouts   a read's replies \(format(o.replyMs)) ms past their wire time; \(o.failedCycles) failed cycles in a row stop the arm; frames up to \(format(o.frameAgeMs)) ms old")
            print("  motors")
            for m in o.motors {
                print("    \(column(m.name, 14)) id \(column(String(m.id), 4))"
                      + "\(column(m.model, 11)) limits [\(format(m.minRad)), \(format(m.maxRad))] rad, home \(format(m.homeRad)) rad")
            }
            print("  cameras")
            for c in o.cameras {
                let crop = c.crop.map { ", crop \($0.width)x\($0.height) at (\($0.x), \($0.y))" } ?? ""
                print("    \(column(c.name, 14)) \(c.source), \(c.width)x\(c.height) @ \(format(c.fps)) fps\(crop)")
            }
            if o.cameras.isEmpty { print("    none") }
            print("  workspace  min [\(o.workspaceMinM.map(format).joined(separator: ", "))] m, max [\(o.workspaceMaxM.map(format).joined(separator: ", "))] m")
            print("  scene      \(o.scene)\(o.sceneExists ? "" : " (missing: write the robot's MuJoCo twin there)")")
            print("  calibrations")
            for c in o.calibrations {
                print("    \(c.instance): \(c.valid ? "valid" : "INVALID: \(c.error ?? "")")")
            }
            if o.calibrations.isEmpty { print("    none; run reins calibrate --robot \(o.name)") }
        }

        private func format(_ value: Double) -> String {
            value == value.rounded() ? String(Int(value)) : String(value)
        }
    }
}

