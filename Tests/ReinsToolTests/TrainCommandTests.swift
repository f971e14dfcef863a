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
                                                  "--run", runFolder.path, "--steps", "120", "--checkpoint-every", "60", "--no-console",
                                                  "--image-size", "32", "--seed", "1", "--max-steps", "40"])
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
            let curve = try Image(contentsOf: runFolder.appendingPathComponent("learning-curve.png").path)
            #expect(curve.width == 900)

            let eval = try run(reinsExecutable, ["eval", "--robot", "so101", "--task", "reach", "--checkpoint", runFolder.path, "--episodes", "2",
                                                 "--sim", "--no-console", "--max-steps", "20", "--json"])
            #expect(eval.status == 0, "\(eval.stderr)")
            let report = try #require(try jsonLines(eval.stdout).last)
            #expect(report["episodes"] as? Int == 2)
            let low = try #require(report["ci95_low"] as? Double), high = try #require(report["ci95_high"] as? Double)
            #expect(low >= 0 && low <= high && high <= 1)
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
    }
}
