import Foundation
import Testing

extension RealTimeCommands {
    /// The README's "From the box to a trained policy", step by step, against `reins bus emulate
    /// --factory --hands` (servos out of their boxes, a person's hands for calibration) and the
    /// emulator's camera streams, with keys pressed under tmux where a person would press them.
    @Suite("the first hour on an arm, end to end on the emulator", .serialized)
    struct WalkthroughTests {
        /// A home of its own (copies of Robots and Calibration), so calibrating writes nothing into the checkout.
        static func home() throws -> URL {
            let home = temporaryFolder("walkthrough")
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            for folder in ["Robots", "Calibration"] {
                try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent(folder), to: home.appendingPathComponent(folder))
            }
            // The suites beside this one load the same cores: its arms ride out a second of failed
            // bus cycles and stale frames. The walkthrough checks the steps; timing is measured
            // apart (README, "Training on the emulated arm").
            for robot in ["so101", "omx"] {
                let file = home.appendingPathComponent("Robots/\(robot)/robot.yaml")
                let text = try String(contentsOf: file, encoding: .utf8)
                #expect(text.contains("failed_cycles: 20") && text.contains("frame_age_ms: 200"))
                try text.replacingOccurrences(of: "failed_cycles: 20", with: "failed_cycles: 200")
                    .replacingOccurrences(of: "frame_age_ms: 200", with: "frame_age_ms: 1000")
                    .write(to: file, atomically: true, encoding: .utf8)
            }
            return home
        }

        /// One step under tmux: the command with its output kept in a file, and the window to press keys into.
        final class Step {
            let tmux: Tmux
            let log: String

            init(_ name: String, home: URL, command: String) throws {
                tmux = Tmux(session: name)
                log = home.appendingPathComponent("\(name).log").path
                let shell = "cd '\(home.path)' && LANG=C.UTF-8 TERM=xterm-256color REINS_HOME='\(home.path)' '\(reinsExecutable)' \(command); "
                    + "echo \"exit status $?\"; sleep 120"
                try tmux.command("new-session", "-d", "-s", name, "-x", "200", "-y", "50", shell)
                try tmux.command("pipe-pane", "-t", name, "-o", "cat >> '\(log)'")
            }

            func press(_ keys: String...) throws {
                for key in keys {
                    try tmux.command("send-keys", "-t", tmux.session, key)
                    usleep(150_000)
                }
            }

            /// Waits up to `seconds` until the screen shows `text`.
            func wait(for text: String, seconds: Double = 30) throws -> Bool {
                for _ in 0..<Int(seconds * 10) {
                    if try tmux.screen().contains(text) { return true }
                    usleep(100_000)
                }
                return try tmux.screen().contains(text)
            }

            /// The screen now, for failure messages.
            var shown: String { (try? tmux.screen()) ?? "" }

            func close() { _ = try? tmux.command("kill-server") }
        }

        @Test("setup-motors, calibrate, home, teleop, two demonstrations ended with y, keyboard-operated training with y and n, eval",
              .enabled(if: Tmux.path != nil, "tmux is not installed here (make setup installs it; CI always has it)"),
              .timeLimit(.minutes(10)),
              arguments: [("so101", 6), ("omx", 5)])
        func walkthrough(robot: String, motors: Int) throws {
            let home = try Self.home()
            defer { try? FileManager.default.removeItem(at: home) }
            let emulator = try BackgroundReins(["bus", "emulate", "--robot", robot, "--factory", "--hands"], environment: ["REINS_HOME": home.path])
            defer { _ = emulator.stop() }
            let port = try #require(emulator.firstLine())
            #expect(emulator.wait(for: "for teleop, record, train and eval on this bus: ", seconds: 20), "\(emulator.output)")
            let paste = try #require(emulator.output.split(separator: "\n").first { $0.hasPrefix("for teleop, record, train and eval on this bus: ") })
            let bus = String(paste.dropFirst("for teleop, record, train and eval on this bus: ".count))
            let arm = "--robot \(robot) --id walk \(bus)"

            // 1. Each servo its id and the robot's baud, one at a time.
            let setup = try Step("setup-\(robot)", home: home, command: "setup-motors --robot \(robot) --port \(port) --margin-ms 5")
            defer { setup.close() }
            for index in 1...motors {
                #expect(try setup.wait(for: "[\(index)/\(motors)]"), "\(setup.shown)")
                usleep(600_000)  // the person plugs in the next servo: the bus is quiet meanwhile
                try setup.press("Enter")
            }
            #expect(try setup.wait(for: "exit status 0", seconds: 60), "\(setup.shown)")
            #expect(emulator.wait(for: "all \(motors) servos are chained", seconds: 10))

            // 2. Calibrate: the hands hold the middle, then sweep every joint.
            let calibrate = try Step("calibrate-\(robot)", home: home, command: "calibrate --robot \(robot) --port \(port) --id walk --margin-ms 50")
            defer { calibrate.close() }
            #expect(try calibrate.wait(for: "Put the arm at the middle"))
            #expect(emulator.wait(for: "hands: holding the arm at the middle", seconds: 20), "\(emulator.output)")
            try calibrate.press("Enter")
            #expect(emulator.wait(for: "hands: moved every joint end to end", seconds: 30), "\(emulator.output)")
            try calibrate.press("Enter")
            #expect(try calibrate.wait(for: "exit status 0"), "\(calibrate.shown)")
            #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent("Calibration/\(robot)/walk.yaml").path))

            // 3. Home.
            let homed = try run(reinsExecutable, ["robot", "home", "--robot", robot, "--port", port, "--id", "walk"], environment: ["REINS_HOME": home.path])
            #expect(homed.status == 0 && homed.stdout.contains("home: every joint within"), "\(homed.stdout) \(homed.stderr)")

            // 4. Teleop: a few keys move the arm; Q then y quits.
            let teleop = try Step("teleop-\(robot)", home: home, command: "teleop \(arm) --max-steps 1000")
            defer { teleop.close() }
            #expect(try teleop.wait(for: "episode 0: go") && teleop.shown.contains("OPERATOR"), "\(teleop.shown)")
            try teleop.press("w", "w", "r", "r", "a")
            try teleop.press("Q", "y")
            #expect(try teleop.wait(for: "exit status 0"), "\(teleop.shown)")

            // 5. Two demonstrations, each ended with y.
            let demos = home.appendingPathComponent("demos")
            let record = try Step("record-\(robot)", home: home, command: "record \(arm) --task reach --episodes 2 --out \(demos.path) --reward keys")
            defer { record.close() }
            for episode in 0...1 {
                #expect(try record.wait(for: "episode \(episode): go"), "\(record.shown)")
                try record.press("w", "w", "r")
                try record.press("y")
            }
            // The console closes after the second: what it printed is in the log.
            #expect(try record.wait(for: "exit status 0", seconds: 60), "\(record.shown)")
            #expect(try String(contentsOfFile: record.log, encoding: .utf8).contains("recorded 2 episode(s), 2 successful"))

            // 6. Train with the keyboard: y on the first episode, n on the second, the rest to the time limit.
            let runFolder = home.appendingPathComponent("run")
            let train = try Step("train-\(robot)", home: home,
                                 command: "train \(arm) --task reach --demos \(demos.path) --reward keys --steps 120 --max-steps 30 --run \(runFolder.path) --seed 3")
            defer { train.close() }
            #expect(try train.wait(for: "episode 0: go", seconds: 60), "\(train.shown)")
            try train.press("y")
            #expect(try train.wait(for: "episode 0: success", seconds: 30), "\(train.shown)")
            #expect(try train.wait(for: "episode 1: go", seconds: 30), "\(train.shown)")
            try train.press("n")
            #expect(try train.wait(for: "episode 1: failure", seconds: 30), "\(train.shown)")
            #expect(try train.wait(for: "exit status 0", seconds: 180), "\(train.shown)")
            let trained = try String(contentsOfFile: train.log, encoding: .utf8)
            #expect(trained.contains("trained 12") && trained.contains("timing: a bus read took"), "\(train.shown)")
            #expect(trained.contains("learner: 2 threads at SCHED_IDLE"))
            #expect(FileManager.default.fileExists(atPath: runFolder.appendingPathComponent("policy.safetensors").path))

            // 7. Evaluate its policy: the operator judges with y and n.
            let eval = try Step("eval-\(robot)", home: home,
                                command: "eval \(arm) --task reach --checkpoint \(runFolder.path) --episodes 2 --max-steps 30")
            defer { eval.close() }
            #expect(try eval.wait(for: ": go", seconds: 60), "\(eval.shown)")
            try eval.press("y")
            #expect(try eval.wait(for: "exit status 0", seconds: 120), "\(eval.shown)")
            let evaluated = try String(contentsOfFile: eval.log, encoding: .utf8)
            #expect(evaluated.contains("success 1/2"), "\(eval.shown)")
        }
    }
}
