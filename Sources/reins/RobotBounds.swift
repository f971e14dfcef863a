import ArgumentParser
import Foundation
import ReinsControl
import ReinsCore

extension RobotCommand {
    struct Bounds: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the space the end effector is moved over and propose the workspace box for the robot file.",
            discussion: """
            Torque goes off. Move the end effector by hand over the whole space the task needs (every corner: reach, lift, both sides), then press Enter (or wait --seconds). The extremes reached, plus --margin on every side (the floor no lower than the table, z = 0), are the box proposed; --write puts it into the robot file's workspace_m, keeping the rest of the file as it is. An arm moved less than 2 cm along an axis is refused and nothing is written. Policies, teleop and the safety layer keep the end effector inside this box.

            Example:
              reins robot bounds --robot so101 --port /dev/ttyACM0
              reins robot bounds --robot so101 --port /dev/ttyACM0 --margin 0.03 --write
            """)

        @OptionGroup var connection: RobotConnection
        @Option(help: "Metres added beyond the extremes on every side.") var margin = 0.02
        @Option(help: "Stop after this many seconds instead of waiting for Enter.") var seconds: Double?
        @Flag(help: "Write the proposed box into the robot file.") var write = false

        func validate() throws {
            guard (0...0.2).contains(margin) else { throw ValidationError("--margin must be from 0 to 0.2 m") }
            if let seconds { guard seconds > 0 else { throw ValidationError("--seconds must be positive") } }
        }

        func run() throws {
            let session = try connection.open()
            defer { session.close() }
            let robot = session.robot
            let kinematics = session.kinematics.makeInstance()
            let catalog = try RobotCatalog.locate()
            let robotFile = catalog.displayPath(robot.definition.file)
            try robot.setTorque(false)
            print("Torque is off. Move the end effector by hand over the whole space the task needs, then press Enter"
                  + (seconds.map { " (or wait \(String(format: "%g", $0)) s)" } ?? "") + ".")
            fflush(nil)
            let started = FrameStamp.now()
            var lastShown: UInt64 = 0
            let live = isatty(STDOUT_FILENO) == 1
            let bounds: WorkspaceBounds
            do {
                bounds = try WorkspaceBounds.record(from: robot, kinematics: kinematics) { bounds in
                    if FrameStamp.now() - lastShown > 250_000_000 {
                        lastShown = FrameStamp.now()
                        let line = "reached " + describe(bounds.minM, bounds.maxM)
                        if live { print("\r\(line)   ", terminator: "") } else { print(line) }
                        fflush(nil)
                    }
                    if let seconds, Double(FrameStamp.now() - started) / 1e9 >= seconds { return true }
                    return Calibrate.enterPressed(within: 20)
                }
            } catch {
                throw CommandError("\(error); nothing was written")
            }
            if live { print() }
            let box: WorkspaceBox
            switch bounds.proposal(margin: margin) {
            case .success(let proposed): box = proposed
            case .failure(let error): throw CommandError("\(error); nothing was written to \(robotFile)")
            }
            let current = robot.definition.workspace
            print("reached \(describe(bounds.minM, bounds.maxM)) over \(bounds.samples) readings")
            print("proposed workspace_m (\(String(format: "%g", margin * 100)) cm margin):")
            print("  min: [\(box.minM.map { String(format: "%.3f", $0) }.joined(separator: ", "))]")
            print("  max: [\(box.maxM.map { String(format: "%.3f", $0) }.joined(separator: ", "))]")
            print("\(robotFile) has \(describe(current.minM, current.maxM))")
            guard write else {
                print("add --write to put it into \(robotFile)")
                return
            }
            var editor = try RobotFileEditor(file: robot.definition.file, displayName: robotFile)
            try editor.setWorkspace(box)
            try editor.save()
            print("written into \(robotFile)")
        }

        private func describe(_ low: [Double], _ high: [Double]) -> String {
            zip(["x", "y", "z"], zip(low, high)).map { String(format: "%@ %.3f…%.3f", $0, $1.0, $1.1) }.joined(separator: ", ") + " m"
        }
    }
}
