import Foundation
import Testing

@Suite("learning and simulation benchmarks")
struct LearnerCommandTests {
    @Test("bench learner and bench inference print their figures as JSON")
    func learnerAndInference() throws {
        let learner = try #require(try jsonLines(try reins("bench", "learner", "--config", "state", "--seconds", "0.3", "--json").stdout).first)
        #expect(learner["config"] as? String == "state")
        #expect((learner["updates"] as? Int ?? 0) > 0)
        #expect((learner["updates_per_s"] as? Double ?? 0) > 0)
        #expect((learner["gflop_per_update"] as? Double ?? 0) > 0.5)
        #expect(learner["blas_core"] as? String != nil && learner["learner_threads"] as? Int == 2)

        let inference = try #require(try jsonLines(try reins("bench", "inference", "--config", "state", "--iterations", "50", "--json").stdout).first)
        #expect((inference["median_us"] as? Double ?? 0) > 0)
        #expect((inference["p99_us"] as? Double ?? 0) >= (inference["median_us"] as? Double ?? 0))
    }

    @Test("bench sac-pendulum evaluates 10 episodes and writes a policy file")
    func pendulum() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-pendulum-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try reins("bench", "sac-pendulum", "--steps", "1010", "--seed", "4", "--out", folder.path, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try jsonLines(result.stdout).first)
        #expect((json["evaluation_returns"] as? [Double])?.count == 10)
        #expect(json["updates"] as? Int == 11)
        #expect(result.stderr.contains("step 1000:"))
        let policy = folder.appendingPathComponent("policy.safetensors")
        let data = try Data(contentsOf: policy)
        let header = String(decoding: data.dropFirst(8).prefix(4000), as: UTF8.self)
        #expect(header.contains("\"actor.policy.dense1.weight\"") && header.contains("reins.sac_config"))
    }

    @Test("bench sac-pendulum --realtime holds --min-utd between episodes and reports the wait")
    func pendulumInRealTime() throws {
        let result = try reins("bench", "sac-pendulum", "--steps", "450", "--random-steps", "200", "--realtime", "1000", "--threads", "1",
                               "--min-utd", "0.2", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try jsonLines(result.stdout).first)
        #expect(json["realtime_hz"] as? Double == 1000 && json["min_utd"] as? Double == 0.2)
        #expect((json["updates"] as? Int ?? 0) >= 40, "the episode after 400 steps starts after 0.2 × 200 updates")
        #expect(json["waited_seconds"] as? Double != nil && (json["evaluation_returns"] as? [Double])?.count == 10)

        let stepped = try reins("bench", "sac-pendulum", "--steps", "10", "--min-utd", "1")
        #expect(stepped.status != 0 && stepped.stderr.contains("--min-utd needs --realtime"))
    }

    @Test("bench learner rejects a bad option with a clear message")
    func badOption() throws {
        let result = try reins("bench", "learner", "--config", "huge")
        #expect(result.status != 0)
        #expect(result.stderr.contains("standard") || result.stderr.contains("huge"))
    }

    @Test("bench sim reports physics steps and rendered frames per second")
    func sim() throws {
        let result = try reins("bench", "sim", "--robot", "omx", "--size", "64", "--seconds", "0.3", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try jsonLines(result.stdout).first)
        #expect((json["physics_steps_per_s"] as? Double ?? 0) > 1000)
        #expect((json["frames_per_s"] as? Double ?? 0) > 10)
        #expect(json["physics_steps_per_frame"] as? Int == 17)
    }
}
