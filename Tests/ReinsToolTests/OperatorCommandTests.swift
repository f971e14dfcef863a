import Foundation
import ReinsData
import Testing

/// A fresh folder under the temporary directory, removed by the caller.
func temporaryFolder(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("reins-\(name)-\(UUID().uuidString)")
}

extension RealTimeCommands {
    @Suite("teleop, record, replay and dataset info", .serialized)
    struct OperatorCommandTests {
        @Test("teleop under tmux: space switches the mode, w moves the end effector, Q then y quits and gives the terminal back",
              .enabled(if: Tmux.path != nil, "tmux is not installed here (make setup installs it; CI always has it)"))
        func teleopUnderTmux() throws {
            let tmux = Tmux(session: "teleop")
            defer { _ = try? tmux.command("kill-server") }
            let shell = "LANG=C.UTF-8 TERM=xterm-256color '\(reinsExecutable)' teleop --robot so101 --sim --max-steps 1000; "
                + "echo \"exit status $?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo; sleep 60"
            try tmux.command("new-session", "-d", "-s", tmux.session, "-x", "80", "-y", "24", shell)

            let first = try tmux.waitFor("go")
            #expect(first.contains("OPERATOR"), "\(first)")
            #expect(first.contains("shoulder_pan") && first.contains("wrist") && first.contains("front"))
            let before = try #require(Self.endEffectorX(first))

            try tmux.command("send-keys", "-t", tmux.session, "Space")
            #expect(try tmux.waitFor("POLICY").contains("policy has control"))
            try tmux.command("send-keys", "-t", tmux.session, "Space")
            #expect(try tmux.waitFor("operator has control").contains("OPERATOR"))

            // Forward from home the elbow soon meets its limit and the IK gains a few millimetres a
            // step (its first steps turn the joints as fast as the safety layer allows).
            for _ in 0..<16 {
                try tmux.command("send-keys", "-t", tmux.session, "w")
                usleep(120_000)
            }
            var after = before
            for _ in 0..<40 {
                after = Self.endEffectorX(try tmux.screen()) ?? after
                if after > before + 0.02 { break }
                usleep(100_000)
            }
            #expect(after > before + 0.02, "the end effector stayed at x \(before) → \(after)")

            // A resize redraws at the new size: the key line moves to the new last row.
            try tmux.command("resize-window", "-t", tmux.session, "-x", "120", "-y", "40")
            var lines: [Substring] = []
            for _ in 0..<40 {
                lines = try tmux.screen().split(separator: "\n", omittingEmptySubsequences: false)
                if lines.count >= 40 && lines[39].contains("spc take/give") { break }
                usleep(100_000)
            }
            #expect(lines.count >= 40 && lines[39].contains("spc take/give"), "no redraw at 120x40: \(lines.count) lines, last: \(lines.suffix(3)); window \((try? tmux.command("display", "-p", "-t", tmux.session, "#{window_width}x#{window_height}").stdout) ?? "")")

            try tmux.command("send-keys", "-t", tmux.session, "Q")
            #expect(try tmux.waitFor("Quit?").contains("y quits"))
            try tmux.command("send-keys", "-t", tmux.session, "y")
            let end = try tmux.waitFor("exit status")
            #expect(end.contains("exit status 0"), "\(end)")
            // The terminal is back in its usual mode: line editing and echo on.
            let restored = try tmux.waitFor("icanon")
            #expect(restored.contains("icanon") && !restored.contains("-icanon"), "\(restored)")
            #expect(restored.contains("echo") && !restored.contains("-echo"), "\(restored)")
            #expect(!end.contains("OPERATOR"), "the console was not cleared away")
        }

        @Test("a crash (SIGSEGV) while the console is up still gives the terminal back",
              .enabled(if: Tmux.path != nil, "tmux is not installed here (make setup installs it; CI always has it)"))
        func crashRestoresTerminal() throws {
            let tmux = Tmux(session: "crash")
            defer { _ = try? tmux.command("kill-server") }
            let marker = "997"
            let shell = "LANG=C.UTF-8 TERM=xterm-256color '\(reinsExecutable)' teleop --robot so101 --sim --max-steps \(marker); "
                + "echo \"exit status $?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo; sleep 60"
            try tmux.command("new-session", "-d", "-s", tmux.session, "-x", "80", "-y", "24", shell)
            #expect(try tmux.waitFor("go").contains("OPERATOR"))
            let pids = try run("/usr/bin/pgrep", ["-f", "^\(reinsExecutable) teleop --robot so101 --sim --max-steps \(marker)"]).stdout
            let pid = try #require(pids.split(separator: "\n").compactMap { Int32($0) }.first)
            kill(pid, SIGSEGV)
            let end = try tmux.waitFor("icanon")
            #expect(end.contains("exit status 139"), "\(end)")
            #expect(end.contains("icanon") && !end.contains("-icanon") && !end.contains("-echo"), "\(end)")
        }

        static func endEffectorX(_ screen: String) -> Double? {
            guard let range = screen.range(of: "ee x ") else { return nil }
            return Double(screen[range.upperBound...].prefix { !$0.isWhitespace })
        }

        @Test("record with the scripted operator writes complete files in robomimic's layout, and replaying one in the twin tracks it")
        func recordThenReplay() throws {
            let folder = temporaryFolder("record")
            defer { try? FileManager.default.removeItem(at: folder) }
            let result = try run(reinsExecutable, ["record", "--robot", "so101", "--task", "reach", "--episodes", "2", "--out", folder.path,
                                                   "--sim", "--operator", "scripted", "--no-console", "--max-steps", "60",
                                                   "--image-size", "64", "--seed", "3"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("recorded 2 episode(s)"))
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            #expect(names == ["episode_000000.h5", "episode_000001.h5"])

            let file = folder.appendingPathComponent("episode_000000.h5")
            let h5 = try HDF5File(path: file.path, mode: .readOnly)
            let steps = try h5.intAttribute("num_samples", on: "data/demo_0")
            #expect(steps > 3)
            #expect(try h5.intAttribute("total", on: "data") == steps)
            let expected: [(String, [Int], String)] = [
                ("data/demo_0/obs/front", [steps, 64, 64, 3], "uint8"), ("data/demo_0/obs/wrist", [steps, 64, 64, 3], "uint8"),
                ("data/demo_0/obs/joint_pos", [steps, 6], "float64"), ("data/demo_0/obs/ee_pose", [steps, 6], "float64"),
                ("data/demo_0/obs/gripper", [steps], "float64"), ("data/demo_0/obs/cube_pos", [steps, 3], "float64"),
                ("data/demo_0/actions", [steps, 7], "float64"), ("data/demo_0/joint_targets", [steps, 6], "float64"),
                ("data/demo_0/rewards", [steps], "float64"), ("data/demo_0/dones", [steps], "uint8"),
                ("data/demo_0/interventions", [steps], "uint8"), ("data/demo_0/timestamps", [steps], "float64"),
            ]
            for (path, shape, type) in expected {
                let layout = try h5.layout(of: path)
                #expect(layout.shape == shape, "\(path)")
                #expect(try h5.elementType(of: path) == type, "\(path)")
            }
            #expect(try h5.layout(of: "data/demo_0/obs/front").gzip)
            #expect(try h5.stringAttribute("robot", on: "data/demo_0") == "so101")
            #expect(try h5.stringAttribute("task", on: "data/demo_0") == "reach")
            #expect(try h5.stringAttribute("calibration_id", on: "data/demo_0") == "sim")
            #expect(try h5.doubleAttribute("policy_hz", on: "data/demo_0") == 10)
            #expect(try h5.doubleAttribute("bus_hz", on: "data/demo_0") == 200)
            #expect(try h5.intAttribute("success", on: "data/demo_0") == 1)
            #expect(!(try h5.stringAttribute("software_version", on: "data/demo_0")).isEmpty)

            let episode = try EpisodeFile.read(file)
            #expect(episode.steps == steps)
            #expect(episode.dones.last == 1 && episode.dones.dropLast().allSatisfy { $0 == 0 })
            #expect(episode.rewards.last == 1)
            #expect(episode.interventions.allSatisfy { $0 == 1 }, "every step of a scripted demonstration is the operator's")
            #expect(episode.timestamps == episode.timestamps.sorted())
            let front = try #require(episode.cameras.first { $0.name == "front" })
            #expect(Set(front.pixels.prefix(64 * 64 * 3)).count > 20, "the first frame is flat")

            let replay = try run(reinsExecutable, ["replay", file.path, "--sim", "--json"])
            #expect(replay.status == 0, "\(replay.stderr)")
            let report = try #require(try jsonLines(replay.stdout).first)
            #expect(report["completed"] as? Bool == true)
            let rms = try #require(report["tracking_rms_rad"] as? [Double])
            #expect(rms.count == 6)
            // The gripper opens at up to 2.7 rad/s in the first steps (as fast as the safety layer
            // lets a command change), so a few milliseconds of timing between recording and
            // replay show as a larger error there than on the arm's slow joints.
            #expect(rms.dropLast().allSatisfy { $0 < 0.02 } && (rms.last ?? 1) < 0.04, "tracking RMS \(rms)")

            // dataset info sums the folder; a damaged file is named and left out.
            try Data("not an HDF5 file".utf8).write(to: folder.appendingPathComponent("episode_000002.h5"))
            let info = try run(reinsExecutable, ["dataset", "info", folder.path, "--json"])
            #expect(info.status == 0, "\(info.stderr)")
            let summary = try #require(try jsonLines(info.stdout).first)
            let second = try EpisodeFile.read(folder.appendingPathComponent("episode_000001.h5"))
            #expect(summary["episodes"] as? Int == 2)
            #expect(summary["steps"] as? Int == steps + second.steps)
            #expect(summary["success_rate"] as? Double == 1)
            #expect(summary["intervention_fraction"] as? Double == 1)
            #expect(summary["cameras"] as? [String] == ["front", "wrist"])
            #expect(summary["tasks"] as? [String] == ["reach"])
            let damaged = try #require(summary["damaged"] as? [[String: Any]])
            #expect(damaged.count == 1 && damaged.first?["file"] as? String == "episode_000002.h5")
            let seconds = try #require(summary["duration_s"] as? Double)
            #expect(abs(seconds - Double(steps + second.steps) / 10) < 0.5)
            let human = try run(reinsExecutable, ["dataset", "info", folder.path])
            #expect(human.stdout.contains("2 episodes") && human.stdout.contains("damaged: episode_000002.h5"))
        }

        @Test("kill -9 in the middle of a recording leaves every completed episode readable; the next run removes the leftover")
        func killedRecording() throws {
            let folder = temporaryFolder("killed")
            defer { try? FileManager.default.removeItem(at: folder) }
            let recorder = try BackgroundReins(["record", "--robot", "so101", "--episodes", "20", "--out", folder.path, "--sim",
                                                "--operator", "scripted", "--no-console", "--max-steps", "60", "--image-size", "32"])
            var completed: [String] = []
            for _ in 0..<600 {
                completed = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".h5") && !$0.hasPrefix(".") }
                if completed.count >= 2 { break }
                usleep(50_000)
            }
            #expect(recorder.stop(signal: SIGKILL) == 128 + SIGKILL)
            completed = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".h5") && !$0.hasPrefix(".") }
            #expect(completed.count >= 2)
            for name in completed {
                let episode = try EpisodeFile.read(folder.appendingPathComponent(name))
                #expect(episode.steps > 0 && episode.metadata.success, "\(name)")
            }
            // A run killed while writing leaves a temporary file: the next run reports and removes it.
            try Data("half an episode".utf8).write(to: folder.appendingPathComponent(".episode_000099.h5.tmp"))
            let info = try run(reinsExecutable, ["dataset", "info", folder.path])
            #expect(info.stdout.contains("unfinished: .episode_000099.h5.tmp"))
            let next = try run(reinsExecutable, ["record", "--robot", "so101", "--episodes", "1", "--out", folder.path, "--sim",
                                                 "--operator", "scripted", "--no-console", "--max-steps", "60", "--image-size", "32"])
            #expect(next.status == 0, "\(next.stderr)")
            #expect(next.stderr.contains("removed .episode_000099.h5.tmp"))
            let after = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            #expect(!after.contains { $0.hasSuffix(".tmp") })
            #expect(after.filter { $0.hasSuffix(".h5") }.count == completed.count + 1, "numbering continues after the kept files")
        }
    }
}
