import Foundation
import Testing

@Suite("reins sim run")
struct SimCommandTests {
    @Test("the scripted operator reaches the cube on so101, and the video holds every step")
    func scriptedReach() throws {
        let video = FileManager.default.temporaryDirectory.appendingPathComponent("reins-reach-\(getpid()).mp4")
        defer { try? FileManager.default.removeItem(at: video) }
        let result = try reins("sim", "run", "--robot", "so101", "--task", "reach", "--policy", "scripted", "--episodes", "3",
                               "--seed", "4", "--size", "64", "--video", video.path, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try jsonLines(result.stdout).first)
        #expect(json["success_rate"] as? Double == 1)
        #expect((json["mean_steps_to_success"] as? Double ?? 100) < 30)
        #expect(result.stderr.contains("episode 3/3: success"))
        let size = try FileManager.default.attributesOfItem(atPath: video.path)[.size] as? Int ?? 0
        #expect(size > 1000)
    }

    @Test("a random policy rarely reaches, and a policy file for another task is refused clearly")
    func otherPolicies() throws {
        let random = try #require(try jsonLines(try reins("sim", "run", "--policy", "random", "--episodes", "2", "--json").stdout).first)
        #expect(random["episodes"] as? Int == 2 && random["intervention_rate"] == nil)
        let supervised = try #require(try jsonLines(try reins("sim", "run", "--policy", "random", "--episodes", "2", "--intervene", "--json").stdout).first)
        #expect((supervised["intervention_rate"] as? Double ?? 0) > 0 && (supervised["success_rate"] as? Double ?? 0) > 0)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-sim-policy-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try reins("bench", "sac-pendulum", "--steps", "5", "--out", folder.path).status == 0)
        let result = try reins("sim", "run", "--policy", folder.appendingPathComponent("policy.safetensors").path, "--episodes", "1")
        #expect(result.status != 0)
        #expect(result.stderr.contains("the policy observes") && result.stderr.contains("6 joints"), "\(result.stderr)")
    }
}
