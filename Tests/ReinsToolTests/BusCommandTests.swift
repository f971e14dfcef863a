import Foundation
import ReinsData
import Testing

@Suite("reins bus against reins bus emulate")
struct BusCommandTests {
    @Test("scan, read and write end to end on the emulated pty", arguments: [("so101", "feetech", "sts3215", 777), ("omx", "dynamixel", "xm430-w350", 1020)])
    func endToEnd(robot: String, busProtocol: String, model: String, modelNumber: Int) throws {
        // The simple servo model: exact positions, no gravity.
        let emulator = try BackgroundReins(["bus", "emulate", "--robot", robot, "--no-physics"])
        let port = try #require(emulator.firstLine())
        #expect(port.hasPrefix("/dev/pts/"))
        // Generous: other suites run real-time loops meanwhile on two cores; this checks bytes, not speed.
        let common = ["--port", port, "--protocol", busProtocol, "--margin-ms", "25"]

        let scan = try run(reinsExecutable, ["bus", "scan", "--ids", "0-20", "--json"] + common)
        #expect(scan.status == 0, "\(scan.stderr)")
        let found = try jsonLines(scan.stdout)
        let expectedIDs = robot == "so101" ? [1, 2, 3, 4, 5, 6] : [11, 12, 13, 14, 15]
        #expect(found.compactMap { $0["id"] as? Int } == expectedIDs)
        #expect(found.allSatisfy { $0["model"] as? String == model && $0["model_number"] as? Int == modelNumber })

        let id = String(expectedIDs[1])
        let read = try run(reinsExecutable, ["bus", "read", "--ids", id, "--register", "present_position", "--json"] + common)
        let before = try #require(try jsonLines(read.stdout).first)
        #expect(before["raw"] as? Int == 2048)
        #expect(before["unit"] as? String == "deg")
        #expect((before["value"] as? Double).map { abs($0 - 180) < 1e-9 } == true)

        for (register, value) in [("torque_enable", "1"), ("goal_position", "1024")] {
            let write = try run(reinsExecutable, ["bus", "write", "--ids", id, "--register", register, "--value", value] + common)
            #expect(write.status == 0, "\(write.stderr)")
        }
        var position = 0
        for _ in 0..<100 where position != 1024 {
            usleep(20_000)
            let text = try run(reinsExecutable, ["bus", "read", "--ids", id, "--register", "present_position", "--json"] + common).stdout
            position = try jsonLines(text).first?["raw"] as? Int ?? 0
        }
        #expect(position == 1024)

        #expect(emulator.stop() == 0)
        #expect(emulator.output.contains("stopped; replies dropped: 0, corrupted: 0"))
    }

    @Test("with the twin's physics, a goal written with reins bus write is where reins bus read finds the joint")
    func physics() throws {
        let emulator = try BackgroundReins(["bus", "emulate", "--robot", "so101"])
        let port = try #require(emulator.firstLine())
        defer { _ = emulator.stop() }
        let common = ["--port", port, "--protocol", "feetech", "--margin-ms", "25", "--ids", "1"]
        // The base turns about the vertical, so gravity does not pull it: 0.5 rad is 326 ticks from the centre.
        for (register, value) in [("goal_position", "2374"), ("torque_enable", "1")] {
            let write = try run(reinsExecutable, ["bus", "write", "--register", register, "--value", value] + common)
            #expect(write.status == 0, "\(write.stderr)")
        }
        var position = 0
        for _ in 0..<100 where abs(position - 2374) > 10 {
            usleep(20_000)
            let text = try run(reinsExecutable, ["bus", "read", "--register", "present_position", "--json"] + common).stdout
            position = try jsonLines(text).first?["raw"] as? Int ?? 0
        }
        #expect(abs(position - 2374) <= 10, "present \(position)")
        #expect(emulator.output.contains("moved by its MuJoCo twin"))

        // The cameras stream: OpenCV opens the URL printed after the pty path and reads frames.
        let lines = emulator.output.split(separator: "\n").map(String.init)
        let front = try #require(lines.first { $0.hasPrefix("front http://127.0.0.1:") }?.split(separator: " ").last.map(String.init))
        #expect(lines.contains { $0.hasPrefix("wrist http://127.0.0.1:") })
        let reader = try VideoReader(source: front)
        #expect(reader.width == 640 && reader.height == 480)
        var rgb = [UInt8](repeating: 0, count: 640 * 480 * 3)
        #expect(try reader.read(into: &rgb))
        #expect(try reader.read(into: &rgb))
        let mean = Double(rgb.reduce(0) { $0 + Int($1) }) / Double(rgb.count)
        #expect(mean > 20, "the frame is a rendered scene, not black: mean \(mean)")
    }

    @Test("an unknown register lists the valid ones; a missing port says so")
    func errors() throws {
        let emulator = try BackgroundReins(["bus", "emulate", "--robot", "omx"])
        let port = try #require(emulator.firstLine())
        defer { _ = emulator.stop() }
        let unknown = try reins("bus", "read", "--port", port, "--protocol", "dynamixel", "--ids", "11", "--register", "position")
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown register \"position\" for dynamixel; valid: model_number"))
        let missing = try reins("bus", "scan", "--port", "/dev/ttyREINS404", "--protocol", "feetech")
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("/dev/ttyREINS404: cannot open: No such file or directory"))
    }

    @Test("reins bench bus prints its figures as JSON")
    func bench() throws {
        let result = try reins("bench", "bus", "--protocol", "feetech", "--seconds", "0.3", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let output = try #require(try jsonLines(result.stdout).first)
        #expect(output["wire_bytes_per_cycle"] as? Int == 88)  // 62 bytes of sync read + 26 of sync write, as the reference counts
        #expect((output["cycles"] as? Int ?? 0) > 0)
        for key in ["cycle_median_us", "cycle_p99_us", "overhead_ratio", "cycles_per_s"] { #expect(output[key] is Double, "\(key)") }
    }
}
