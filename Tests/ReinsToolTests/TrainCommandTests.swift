import Foundation
import ReinsData
import Testing

extension RealTimeCommands {
    @Suite("reins train and reins eval", .serialized)
    struct TrainCommandTests {
        /// Two scripted demonstrations at 32×32, recorded the way a user would.
        static func recordDemos(into folder: URL) throws {
            let result = try run(reinsExecutable, ["record", "--robot", "so101", "--task", "reach", "--episodes", "2", "--out", folder.path, "--sim",
                                                   "--operator", "scripted", "--no-console", "--image-size", "32", "--seed", "2"])
            #expect(result.status == 0, "\(result.stderr)")
        }

        static func counters(_ checkpoint: URL) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: checkpoint.appendingPathComponent("counters.json"))) as? [String: Any])
        }

        @Test("a short seeded run trains from demos, checkpoints, writes valid TensorBoard files and a curve; eval reads its policy")
        func smoke() throws {
            let folder = temporaryFolder("train")
            defer { try? FileManager.default.removeItem(at: folder) }
            let demos = folder.appendingPathComponent("demos"), runFolder = folder.appendingPathComponent("run")
            try Self.recordDemos(into: demos)
            let train = try run(reinsExecutable, ["train", "--robot", "so101", "--task", "reach", "--sim", "--demos", demos.path,
                                                  "--run", runFolder.path, "--steps", "180", "--checkpoint-every", "60", "--no-console",
                                                  "--image-size", "32", "--seed", "1", "--max-steps", "30"])
            #expect(train.status == 0, "\(train.stderr)")
            #expect(train.stdout.contains("trained "))

            let names = try FileManager.default.contentsOfDirectory(atPath: runFolder.path)
            #expect(names.contains("learning-curve.png") && names.contains("policy.safetensors"))
            let checkpoints = try FileManager.default.contentsOfDirectory(atPath: runFolder.appendingPathComponent("checkpoints").path).sorted()
            #expect(!checkpoints.isEmpty && checkpoints.allSatisfy { $0.hasPrefix("step_") })
            let last = runFolder.appendingPathComponent("checkpoints").appendingPathComponent(try #require(checkpoints.last))
            let counters = try Self.counters(last)
            let steps = try #require(counters["environmentSteps"] as? Int)
            #expect(steps >= 120)
            #expect((counters["episodes"] as? Int ?? 0) >= 3)
            for file in ["agent.safetensors", "online.safetensors", "demos.safetensors", "policy.safetensors"] {
                #expect(FileManager.default.fileExists(atPath: last.appendingPathComponent(file).path), "\(file)")
            }

            let events = try #require(names.first { $0.hasPrefix("events.out.tfevents.") })
            let (version, scalars) = try TensorBoardReader.read(runFolder.appendingPathComponent(events))
            #expect(version == "brain.Event:2")
            let successes = scalars.filter { $0.tag == "episode/success" }
            #expect(successes.count >= 3 && successes.allSatisfy { $0.value == 0 || $0.value == 1 })
            #expect(successes.map(\.step) == successes.map(\.step).sorted())
            #expect(successes.last?.step == steps)
            for tag in ["episode/return", "rolling20/success_rate", "learner/critic_loss", "learner/temperature", "buffers/online", "loop/jitter_p99_us"] {
                #expect(scalars.contains { $0.tag == tag }, "\(tag)")
            }
            let online = try #require(scalars.last { $0.tag == "buffers/online" })
            #expect(online.value > 0)
            // Learning starts after 100 online steps (4 episodes here); every batch has demo rows,
            // so the imitation term is on and measured.
            let imitation = try #require(scalars.last { $0.tag == "learner/imitation_loss" })
            #expect(imitation.value > 0)
            let curve = try Image(contentsOf: runFolder.appendingPathComponent("learning-curve.png").path)
            #expect(curve.width == 900)

            let eval = try run(reinsExecutable, ["eval", "--robot", "so101", "--task", "reach", "--checkpoint", runFolder.path, "--episodes", "2",
                                                 "--sim", "--no-console", "--max-steps", "20", "--json"])
            #expect(eval.status == 0, "\(eval.stderr)")
            let report = try #require(try jsonLines(eval.stdout).last)
            #expect(report["episodes"] as? Int == 2)
            let low = try #require(report["ci95_low"] as? Double), high = try #require(report["ci95_high"] as? Double)
            #expect(low >= 0 && low <= high && high <= 1)

            // The policy train wrote runs in `reins sim run` too (it acts with end-effector steps).
            let simRun = try run(reinsExecutable, ["sim", "run", "--policy", runFolder.appendingPathComponent("policy.safetensors").path,
                                                   "--episodes", "1", "--json"])
            #expect(simRun.status == 0, "\(simRun.stderr)")
            #expect(try jsonLines(simRun.stdout).last?["episodes"] as? Int == 1)
        }

        @Test("with --min-utd the arm waits between episodes until the learner has made its updates per step since learning started")
        func minimumUpdateRatio() throws {
            let folder = temporaryFolder("utd")
            defer { try? FileManager.default.removeItem(at: folder) }
            let demos = folder.appendingPathComponent("demos"), runFolder = folder.appendingPathComponent("run")
            try Self.recordDemos(into: demos)
            let train = try run(reinsExecutable, ["train", "--robot", "so101", "--task", "reach", "--sim", "--demos", demos.path,
                                                  "--run", runFolder.path, "--steps", "200", "--no-console", "--image-size", "32",
                                                  "--seed", "3", "--max-steps", "30", "--min-utd", "0.5", "--learner-threads", "1", "--operator", "none"])
            #expect(train.status == 0, "\(train.stderr)")
            #expect(train.stdout.contains("s for the learner"), "\(train.stdout)")
            let events = try #require(try FileManager.default.contentsOfDirectory(atPath: runFolder.path).first { $0.hasPrefix("events.out.tfevents.") })
            let scalars = try TensorBoardReader.read(runFolder.appendingPathComponent(events)).scalars
            let updates = scalars.filter { $0.tag == "learner/updates" }
            #expect(updates.count >= 5)
            // Every episode but the last began only once the learner had caught up: with nobody
            // supervising, every step it took reached the learner.
            for point in updates.dropLast() {
                #expect(Int(point.value) >= Int((0.5 * Double(max(0, point.step - 100))).rounded(.up)), "\(point.step): \(point.value)")
            }
            #expect((updates.last?.value ?? 0) > 0)
            let waited = scalars.filter { $0.tag == "learner/wait_s" }.map(\.value).reduce(0, +)
            #expect(waited > 0)
            let checkpoints = try FileManager.default.contentsOfDirectory(atPath: runFolder.appendingPathComponent("checkpoints").path).sorted()
            let counters = try Self.counters(runFolder.appendingPathComponent("checkpoints").appendingPathComponent(try #require(checkpoints.last)))
            #expect((counters["learnerWaitSeconds"] as? Double ?? 0) > 0)
        }

        @Test("with --reward keys the twin gives no reward: the stand-in's y, late as a person's, ends each episode with reward 1 on its last step")
        func keysReward() throws {
            let folder = temporaryFolder("keys")
            defer { try? FileManager.default.removeItem(at: folder) }
            let record = try run(reinsExecutable, ["record", "--robot", "so101", "--task", "reach", "--episodes", "2", "--out", folder.path, "--sim",
                                                   "--operator", "scripted", "--reward", "keys", "--no-console", "--image-size", "32", "--seed", "2"])
            #expect(record.status == 0, "\(record.stderr)")
            #expect(record.stderr.contains("y: done (the stand-in operator)"))
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".h5") }.sorted()
            #expect(names.count == 2)
            for name in names {
                let episode = try EpisodeFile.read(folder.appendingPathComponent(name))
                #expect(episode.metadata.success)
                // Reward only on the step the key labelled; the twin's check on the steps before
                // (it passed 3–10 steps earlier) gave none.
                #expect(episode.rewards.last == 1 && episode.rewards.dropLast().allSatisfy { $0 == 0 })
                #expect(episode.dones.last == 1 && episode.dones.dropLast().allSatisfy { $0 == 0 })
                let cube = try #require(episode.cubePositions)
                let doneAt = (0..<episode.steps).first { step in
                    let tip = episode.endEffector[(step * 6)..<(step * 6 + 3)].map { $0 }
                    let c = cube[(step * 3)..<(step * 3 + 3)].map { $0 }
                    return zip(tip, c).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() <= 0.02
                }
                #expect(doneAt.map { episode.steps - 1 - $0 >= 2 } ?? false, "\(name): y came \(doneAt.map { episode.steps - 1 - $0 } ?? -1) steps after the tip reached the cube")
            }
            // A real arm has no task check.
            let refused = try run(reinsExecutable, ["train", "--robot", "so101", "--task", "reach", "--port", "/dev/null", "--reward", "task", "--no-console"])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("--reward task: the task's reward needs the twin"), "\(refused.stderr)")
        }

        @Test("kill -9 during training, then --resume: the run continues from its last checkpoint with buffers and counters intact")
        func killThenResume() throws {
            let folder = temporaryFolder("resume")
            defer { try? FileManager.default.removeItem(at: folder) }
            let demos = folder.appendingPathComponent("demos"), runFolder = folder.appendingPathComponent("run")
            try Self.recordDemos(into: demos)
            let common = ["train", "--robot", "so101", "--task", "reach", "--sim", "--run", runFolder.path, "--checkpoint-every", "40",
                          "--no-console", "--image-size", "32", "--seed", "1", "--max-steps", "40"]
            let trainer = try BackgroundReins(common + ["--demos", demos.path, "--steps", "5000"])
            let checkpoints = runFolder.appendingPathComponent("checkpoints")
            var found: [String] = []
            for _ in 0..<1200 {
                found = ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []).filter { $0.hasPrefix("step_") }
                if !found.isEmpty { break }
                usleep(50_000)
            }
            #expect(trainer.stop(signal: SIGKILL) == 128 + SIGKILL)
            found = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).filter { $0.hasPrefix("step_") }.sorted()
            let last = try #require(found.last)
            let saved = try Self.counters(checkpoints.appendingPathComponent(last))
            let savedSteps = try #require(saved["environmentSteps"] as? Int), savedEpisodes = try #require(saved["episodes"] as? Int)

            // Without --resume an existing run is not overwritten.
            let refused = try run(reinsExecutable, common + ["--steps", "10"])
            #expect(refused.status != 0 && refused.stderr.contains("--resume"))

            let resumed = try run(reinsExecutable, common + ["--resume", "--steps", String(savedSteps + 40)])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(resumed.stderr.contains("resumed \(last): \(savedSteps) steps, \(savedEpisodes) episodes"), "\(resumed.stderr)")
            // Every step so far is in the online buffer; the demonstrations are still in the demo buffer.
            #expect(resumed.stderr.contains("\(savedSteps) online and"), "\(resumed.stderr)")
            let demoCount = try #require(Int(resumed.stderr.components(separatedBy: " online and ").last?.split(separator: " ").first ?? ""))
            #expect(demoCount > 0)
            let after = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).filter { $0.hasPrefix("step_") }.sorted()
            let final = try Self.counters(checkpoints.appendingPathComponent(try #require(after.last)))
            #expect((final["environmentSteps"] as? Int ?? 0) >= savedSteps + 40)
            #expect((final["episodes"] as? Int ?? 0) > savedEpisodes)
            #expect((final["updates"] as? Int ?? -1) >= (saved["updates"] as? Int ?? 0))
        }

        @Test("--cameras front,wrist: demos recorded with both train a policy that sees both; --resume keeps them; eval runs it")
        func twoCameras() throws {
            let folder = temporaryFolder("cameras")
            defer { try? FileManager.default.removeItem(at: folder) }
            let demos = folder.appendingPathComponent("demos"), runFolder = folder.appendingPathComponent("run")
            try Self.recordDemos(into: demos)
            let common = ["train", "--robot", "so101", "--task", "reach", "--sim", "--run", runFolder.path, "--checkpoint-every", "1000",
                          "--no-console", "--image-size", "32", "--seed", "1", "--max-steps", "40"]
            let unknown = try run(reinsExecutable, common + ["--steps", "10", "--cameras", "front,top"])
            #expect(unknown.status != 0 && unknown.stderr.contains("so101 has no camera top; its cameras are front, wrist"), "\(unknown.stderr)")
            let first = try run(reinsExecutable, common + ["--demos", demos.path, "--steps", "60", "--cameras", "front,wrist"])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stderr.contains("training front + wrist 32x32"), "\(first.stderr)")
            let resumed = try run(reinsExecutable, common + ["--resume", "--steps", "100"])
            #expect(resumed.status == 0 && resumed.stderr.contains("training front + wrist 32x32"), "\(resumed.stderr)")
            let changed = try run(reinsExecutable, common + ["--resume", "--steps", "140", "--cameras", "front"])
            #expect(changed.status != 0 && changed.stderr.contains("resume it with the same --cameras"), "\(changed.stderr)")
            let evaluated = try run(reinsExecutable, ["eval", "--robot", "so101", "--task", "reach", "--checkpoint", runFolder.path, "--episodes", "1",
                                                      "--sim", "--no-console", "--json", "--max-steps", "20"])
            #expect(evaluated.status == 0 && evaluated.stdout.contains("\"episodes\":1"), "\(evaluated.stderr)")
        }

        @Test("pick trains with the gripper's own critic by default: its loss reaches TensorBoard, a resume keeps it, eval and sim run act with it")
        func pickWithGripperCritic() throws {
            let folder = temporaryFolder("pick")
            defer { try? FileManager.default.removeItem(at: folder) }
            let demos = folder.appendingPathComponent("demos"), runFolder = folder.appendingPathComponent("run")
            let record = try run(reinsExecutable, ["record", "--robot", "so101", "--task", "pick", "--episodes", "2", "--out", demos.path, "--sim",
                                                   "--operator", "scripted", "--no-console", "--image-size", "32", "--seed", "2"])
            #expect(record.status == 0, "\(record.stderr)")
            // No supervisor: its failed 40-step episodes would be held back from the learner.
            let common = ["train", "--robot", "so101", "--task", "pick", "--sim", "--run", runFolder.path, "--checkpoint-every", "1000",
                          "--no-console", "--image-size", "32", "--seed", "1", "--max-steps", "40", "--operator", "none"]
            let first = try run(reinsExecutable, common + ["--demos", demos.path, "--steps", "200"])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stderr.contains("→ 6 actions and the gripper critic's close/stay/open"), "\(first.stderr)")
            let events = try #require(try FileManager.default.contentsOfDirectory(atPath: runFolder.path).first { $0.hasPrefix("events.out.tfevents.") })
            let scalars = try TensorBoardReader.read(runFolder.appendingPathComponent(events)).scalars
            // Logged from the start; nonzero once learning starts (after 100 online steps).
            let gripperLoss = scalars.filter { $0.tag == "learner/gripper_loss" }.map(\.value)
            #expect(gripperLoss.count >= 4 && gripperLoss.contains { $0 > 0 } && gripperLoss.allSatisfy(\.isFinite), "\(gripperLoss)")
            let resumed = try run(reinsExecutable, common + ["--resume", "--steps", "240", "--gripper", "continuous"])
            #expect(resumed.status == 0 && resumed.stderr.contains("the gripper critic's close/stay/open"), "\(resumed.stderr)")
            let evaluated = try run(reinsExecutable, ["eval", "--robot", "so101", "--task", "pick", "--checkpoint", runFolder.path, "--episodes", "1",
                                                      "--sim", "--no-console", "--json", "--max-steps", "20"])
            #expect(evaluated.status == 0 && evaluated.stdout.contains("\"episodes\":1"), "\(evaluated.stderr)")
            let simRun = try run(reinsExecutable, ["sim", "run", "--task", "pick", "--policy", runFolder.appendingPathComponent("policy.safetensors").path,
                                                   "--episodes", "1", "--max-steps", "20", "--json"])
            #expect(simRun.status == 0, "\(simRun.stderr)")
            // Reach keeps the continuous gripper unless told.
            let reach = try run(reinsExecutable, ["train", "--robot", "so101", "--task", "reach", "--sim", "--run", folder.appendingPathComponent("reach").path,
                                                  "--steps", "5", "--no-console", "--image-size", "32", "--max-steps", "5"])
            #expect(reach.status == 0 && reach.stderr.contains("→ 7 actions;"), "\(reach.stderr)")
        }

        /// The checkpoints of a run with --checkpoint-every beyond its length: only the one at exit.
        static func checkpoints(_ run: URL) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints").path)) ?? [])
                .filter { $0.hasPrefix("step_") }
        }

        static func trainArguments(run: URL) -> [String] {
            ["train", "--robot", "so101", "--task", "reach", "--sim", "--run", run.path, "--steps", "5000",
             "--checkpoint-every", "100000", "--image-size", "32", "--seed", "1", "--max-steps", "40"]
        }

        @Test("a hang-up (SIGHUP) stops headless training with a final checkpoint")
        func hangUpHeadless() throws {
            let folder = temporaryFolder("hangup")
            defer { try? FileManager.default.removeItem(at: folder) }
            let runFolder = folder.appendingPathComponent("run")
            let trainer = try BackgroundReins(Self.trainArguments(run: runFolder) + ["--no-console"])
            defer { _ = trainer.stop(signal: SIGKILL) }
            #expect(trainer.wait(for: "episode 1:", seconds: 60), "\(trainer.output)")
            kill(trainer.pid, SIGHUP)
            // The runner's worker threads block signals and children inherit the mask, so a command
            // that did not handle SIGHUP itself would run on here rather than die.
            #expect(trainer.exitStatus(within: 60) == 0, "still running a minute after SIGHUP")
            #expect(trainer.output.contains("trained "), "\(trainer.output)")
            let saved = Self.checkpoints(runFolder)
            #expect(saved.count == 1, "\(saved)")
            let last = try #require(saved.first)
            let steps = try #require(try Self.counters(runFolder.appendingPathComponent("checkpoints/\(last)"))["environmentSteps"] as? Int)
            #expect(steps >= 1)
        }

        @Test("closing the terminal under training in the console saves a final checkpoint",
              .enabled(if: Tmux.path != nil, "tmux is not installed here (make setup installs it; CI always has it)"))
        func hangUpConsole() throws {
            let folder = temporaryFolder("hangup-console")
            defer { try? FileManager.default.removeItem(at: folder) }
            let runFolder = folder.appendingPathComponent("run")
            let tmux = Tmux(session: "hangup")
            defer { _ = try? tmux.command("kill-server") }
            let command = ([reinsExecutable] + Self.trainArguments(run: runFolder)).map { "'\($0)'" }.joined(separator: " ")
            try tmux.command("new-session", "-d", "-s", tmux.session, "-x", "80", "-y", "24", "LANG=C.UTF-8 TERM=xterm-256color \(command)")
            #expect(try tmux.waitFor("episode 1").contains("episode 1"), "the console never showed an episode")
            let pids = try run("/usr/bin/pgrep", ["-f", "^\(reinsExecutable) train --robot so101 --task reach --sim --run \(runFolder.path)"]).stdout
            let pid = try #require(pids.split(separator: "\n").compactMap { Int32($0) }.first)
            // The terminal goes away: tmux hangs up on everything in it.
            try tmux.command("kill-session", "-t", tmux.session)
            // Gone, or a zombie waiting for a parent that reaps (tmux went with the session).
            func gone() -> Bool {
                kill(pid, 0) != 0 || ((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?
                    .split(separator: ")").last?.split(separator: " ").first == "Z")
            }
            var exited = false
            for _ in 0..<600 where !exited {
                exited = gone()
                if !exited { usleep(50_000) }
            }
            if !exited { kill(pid, SIGKILL) }
            #expect(exited, "training still ran 30 s after its terminal closed")
            #expect(Self.checkpoints(runFolder).count == 1, "no checkpoint at the hang-up")
        }

        /// `reins bus emulate` (the twin's servos on a pty, its cameras as MJPEG) and the options it
        /// prints that point the so101's own robot file at that pty and those streams, as a user would
        /// paste them.
        static func emulatedRig() throws -> (emulator: BackgroundReins, port: String, robotOptions: [String]) {
            let emulator = try BackgroundReins(["bus", "emulate", "--robot", "so101"])
            do {
                let port = try #require(emulator.firstLine())
                #expect(emulator.wait(for: "for teleop, record, train and eval on this bus: ", seconds: 10))
                let lines = emulator.output.split(separator: "\n").map(String.init)
                let paste = try #require(lines.first { $0.hasPrefix("for teleop, record, train and eval on this bus: ") })
                let options = paste.dropFirst("for teleop, record, train and eval on this bus: ".count).split(separator: " ").map(String.init)
                #expect(options.prefix(2) == ["--port", port])
                #expect(options.filter { $0 == "--camera" }.count == 2 && options.contains { $0.hasPrefix("front=http://127.0.0.1:") }
                        && options.contains { $0.hasPrefix("wrist=http://127.0.0.1:") }, "\(paste)")
                return (emulator, port, ["--robot", "so101"] + options)
            } catch {
                _ = emulator.stop()
                throw error
            }
        }

        @Test("a bus that vanishes: training saves what it has and names the device; evaluation reports its finished episodes first")
        func vanishedBus() throws {
            let folder = temporaryFolder("vanished")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let runFolder = folder.appendingPathComponent("run")
            let common = ["--task", "reach", "--id", "sim", "--operator", "none", "--no-console", "--image-size", "32", "--max-steps", "10"]

            var rig = try Self.emulatedRig()
            let trainer = try BackgroundReins(["train"] + rig.robotOptions + ["--run", runFolder.path, "--steps", "5000",
                                               "--checkpoint-every", "5000", "--seed", "4"] + common, errorsToo: true)
            // Whatever fails below, nothing is left running (both have exited when all goes well).
            defer { _ = trainer.stop(signal: SIGKILL) }
            #expect(trainer.wait(for: "episode 2: failure", seconds: 90), "\(trainer.output)")
            #expect(rig.emulator.stop() == 0)
            let trainStatus = trainer.exitStatus(within: 30)
            #expect(trainStatus == 1, "\(trainer.output)")
            // The emulator took the cameras' streams with it: whichever the loop noticed first is named.
            let namesDevice = { (text: String, port: String) in text.contains(port) || text.contains("camera front") || text.contains("camera wrist") }
            #expect(trainer.output.contains("training stopped at step") && namesDevice(trainer.output, rig.port)
                    && trainer.output.contains("--resume"), "\(trainer.output)")
            let checkpoints = try FileManager.default.contentsOfDirectory(atPath: runFolder.appendingPathComponent("checkpoints").path)
            #expect(checkpoints.count == 1, "only the checkpoint made at the fault: \(checkpoints)")
            let saved = try Self.counters(runFolder.appendingPathComponent("checkpoints").appendingPathComponent(try #require(checkpoints.first)))
            #expect((saved["episodes"] as? Int ?? 0) >= 2 && (saved["environmentSteps"] as? Int ?? 0) >= 20)

            rig = try Self.emulatedRig()
            let evaluator = try BackgroundReins(["eval"] + rig.robotOptions + ["--checkpoint", runFolder.path,
                                                 "--episodes", "20"] + common, errorsToo: true)
            defer { _ = evaluator.stop(signal: SIGKILL) }
            #expect(evaluator.wait(for: "episode 1: failure", seconds: 90), "\(evaluator.output)")
            #expect(rig.emulator.stop() == 0)
            #expect(evaluator.exitStatus(within: 30) == 1, "\(evaluator.output)")
            let report = evaluator.output
            #expect(report.range(of: #"success 0/[2-9] = 0 %"#, options: .regularExpression) != nil, "\(report)")
            #expect(report.contains("evaluation stopped after") && report.contains("of 20 episodes") && namesDevice(report, rig.port), "\(report)")
        }
    }
}
