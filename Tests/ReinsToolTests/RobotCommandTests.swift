import Foundation
import Testing

extension RealTimeCommands {
    @Suite("reins robot and reins calibrate against reins bus emulate")
    struct RobotCommandTests {
        static let home = [0.0, -1.0, 1.0, 0.5, 0.0, 0.0]

        func positions(_ port: String) throws -> [Double] {
            let state = try run(reinsExecutable, ["robot", "state", "--robot", "so101", "--port", port, "--json"])
            #expect(state.status == 0, "\(state.stderr)")
            let object = try #require(try jsonLines(state.stdout).first)
            #expect((object["ee_pos_m"] as? [Double])?.count == 3)
            #expect((object["temperature_c"] as? [Double])?.count == 6)
            return try #require(object["joint_pos_rad"] as? [Double])
        }

        @Test("through an emulated bus, `reins robot home` then `reins robot state` shows the home pose within 0.05 rad")
        func homeThenState() throws {
            let emulator = try BackgroundReins(["bus", "emulate", "--robot", "so101"])
            defer { _ = emulator.stop() }
            let port = try #require(emulator.firstLine())
            // Servos power up with torque off: the twin's arm sags away from home under gravity.
            usleep(500_000)
            let sagged = try positions(port)
            #expect(zip(sagged, Self.home).contains { abs($0 - $1) > 0.1 }, "the arm did not sag: \(sagged)")

            let home = try run(reinsExecutable, ["robot", "home", "--robot", "so101", "--port", port, "--speed", "1", "--json"])
            #expect(home.status == 0, "\(home.stderr)")
            let report = try #require(try jsonLines(home.stdout).first)
            #expect(report["reached"] as? Bool == true)

            // The motors keep holding after the command exits.
            usleep(300_000)
            let after = try positions(port)
            for (index, value) in after.enumerated() {
                #expect(abs(value - Self.home[index]) < 0.05, "joint \(index) at \(value), home \(Self.home[index])")
            }
        }

        @Test("Ctrl-C during `reins robot home` stops the move: hold, then torque off, and a non-zero exit", arguments: [SIGINT, SIGTERM])
        func interruptedHome(signal: Int32) throws {
            let emulator = try BackgroundReins(["bus", "emulate", "--robot", "so101"])
            defer { _ = emulator.stop() }
            let port = try #require(emulator.firstLine())
            usleep(500_000)  // let the arm sag, so the slow move has far to go
            let home = try BackgroundReins(["robot", "home", "--robot", "so101", "--port", port, "--speed", "0.02"])
            usleep(1_500_000)
            let status = home.stop(signal: signal)
            #expect(status == 1)
            #expect(home.output.contains(signal == SIGINT ? "stopped: interrupted (Ctrl-C)" : "stopped: terminated (SIGTERM)"), "\(home.output)")
            // Torque is off again on every motor (a finished `robot home` leaves it on, holding the pose).
            usleep(300_000)
            let torque = try run(reinsExecutable, ["bus", "read", "--port", port, "--protocol", "feetech", "--margin-ms", "25",
                                                   "--ids", "1,2,3,4,5,6", "--register", "torque_enable", "--json"])
            #expect(torque.status == 0, "\(torque.stderr)")
            let values = try jsonLines(torque.stdout).map { $0["raw"] as? Int }
            #expect(values.count == 6 && values.allSatisfy { $0 == 0 }, "torque_enable: \(values)")
        }

        @Test("a missing calibration names the command that makes one")
        func missingCalibration() throws {
            let result = try run(reinsExecutable, ["robot", "state", "--robot", "so101", "--sim", "--id", "left_arm"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("Calibration/so101/left_arm.yaml"))
            #expect(result.stderr.contains("reins calibrate --robot so101"))
        }

        @Test("a port where the robot's motors do not answer is a clear error")
        func wrongRobot() throws {
            // omx's Dynamixel servos on the bus, so101's Feetech driver talking to them.
            let emulator = try BackgroundReins(["bus", "emulate", "--robot", "omx", "--no-physics"])
            defer { _ = emulator.stop() }
            let port = try #require(emulator.firstLine())
            let result = try run(reinsExecutable, ["robot", "state", "--robot", "so101", "--port", port, "--margin-ms", "3"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("shoulder_pan (id 1)"), "\(result.stderr)")
        }

        @Test("calibrating an arm nobody moved is refused, and no file is written")
        func calibrateUnmoved() throws {
            let emulator = try BackgroundReins(["bus", "emulate", "--robot", "so101", "--no-physics"])
            defer { _ = emulator.stop() }
            let port = try #require(emulator.firstLine())
            let result = try run(reinsExecutable, ["calibrate", "--robot", "so101", "--port", port, "--id", "unmoved_test"], input: "\n\n")
            #expect(result.status != 0)
            #expect(result.stderr.contains("hardly moved"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent("Calibration/so101/unmoved_test.yaml").path))
        }

        @Test("robot bounds on an arm nobody moves: refused, and the robot file is not touched")
        func boundsUnmoved() throws {
            let emulator = try BackgroundReins(["bus", "emulate", "--robot", "so101", "--no-physics"])
            defer { _ = emulator.stop() }
            let port = try #require(emulator.firstLine())
            let file = repositoryRoot.appendingPathComponent("Robots/so101/robot.yaml")
            let before = try String(contentsOf: file, encoding: .utf8)
            let result = try run(reinsExecutable, ["robot", "bounds", "--robot", "so101", "--port", port, "--id", "sim", "--seconds", "0.5", "--write"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("hardly moved") && result.stderr.contains("nothing was written to Robots/so101/robot.yaml"), "\(result.stderr)")
            #expect(try String(contentsOf: file, encoding: .utf8) == before)
        }

        @Test("bench loop reports its rate and jitter as JSON")
        func benchLoop() throws {
            let result = try run(reinsExecutable, ["bench", "loop", "--rate", "200", "--seconds", "1", "--bus", "loopback", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try #require(try jsonLines(result.stdout).first)
            #expect((object["cycles"] as? Int ?? 0) > 100)
            #expect((object["achieved_hz"] as? Double).map { $0 > 150 && $0 < 250 } == true)
            #expect(object["jitter_p99_us"] is Double)
        }
    }
}
