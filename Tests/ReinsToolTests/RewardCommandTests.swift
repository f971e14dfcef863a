import Foundation
import ReinsData
import Testing

@Suite("labelled recording and the reward classifier's commands")
struct RewardCommandTests {
    @Test("record labels frames and goes on past success; reward train and eval use them and refuse another image size; train rewards with it and records its episodes")
    func labelTrainEvaluate() throws {
        let folder = temporaryFolder("labelled"), other = temporaryFolder("labelled-32")
        defer {
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(at: other)
        }
        let record = try run(reinsExecutable, ["record", "--robot", "so101", "--task", "reach", "--episodes", "3", "--out", folder.path, "--sim",
                                               "--operator", "scripted", "--reward", "keys", "--past-success", "25", "--no-console",
                                               "--max-steps", "60", "--seed", "3"])
        #expect(record.status == 0, "\(record.stderr)")
        let episode = try EpisodeFile.read(folder.appendingPathComponent("episode_000000.h5"))
        let labels = try #require(episode.labels)
        #expect(episode.metadata.success && episode.experienceSteps == episode.steps - 25)
        #expect(labels.suffix(20).allSatisfy { $0 == 1 } && labels.first == 0, "\(labels)")
        #expect(episode.dones.reduce(0) { $0 + Int($1) } == 1)

        let info = try #require(try jsonLines(try reins("dataset", "info", folder.path, "--json").stdout).first)
        let positives = try #require(info["success_labels"] as? Int), negatives = try #require(info["failure_labels"] as? Int)
        #expect(positives >= 60 && negatives >= 20 && info["unlabelled_episodes"] as? Int == 0, "\(info)")

        let model = folder.appendingPathComponent("reward.safetensors").path
        let rewardTrain = try reins("reward", "train", "--data", folder.path, "--out", model, "--steps", "30", "--batch-size", "8", "--json")
        #expect(rewardTrain.status == 0, "\(rewardTrain.stderr)")
        let trained = try #require(try jsonLines(rewardTrain.stdout).first)
        #expect(trained["cameras"] as? [String] == ["front"] && trained["frames"] as? Int == positives + negatives)
        let report = try #require(trained["report"] as? [String: Any])
        #expect((report["held_out_episodes"] as? [Int])?.count == 1 && report["precision"] as? Double != nil)
        #expect(rewardTrain.stderr.contains("step 30: loss"))

        let errors = folder.appendingPathComponent("errors.png").path
        let eval = try reins("reward", "eval", "--model", model, "--data", folder.path, "--errors", errors, "--json")
        #expect(eval.status == 0, "\(eval.stderr)")
        let judged = try #require(try jsonLines(eval.stdout).first)
        let metrics = try #require(judged["metrics"] as? [String: Any])
        func count(_ key: String) -> Int { metrics[key] as? Int ?? -1 }
        #expect(count("true_positives") + count("false_negatives") == positives)
        #expect(count("true_negatives") + count("false_positives") == negatives)
        if count("false_positives") + count("false_negatives") > 0 {
            #expect(FileManager.default.fileExists(atPath: errors) && judged["errors_sheet"] as? String == errors)
        }

        let runFolder = folder.appendingPathComponent("run")
        let online = folder.appendingPathComponent("online")
        let train = try reins("train", "--robot", "so101", "--task", "reach", "--sim", "--reward", "classifier:\(model)", "--steps", "40",
                              "--run", runFolder.path, "--no-console", "--seed", "3", "--max-steps", "20", "--record", online.path)
        #expect(train.status == 0, "\(train.stderr)")
        let kept = try FileManager.default.contentsOfDirectory(atPath: online.path).filter { $0.hasSuffix(".h5") }.sorted()
        #expect(kept.count >= 2, "\(kept)")
        let first = try EpisodeFile.read(online.appendingPathComponent(try #require(kept.first)))
        #expect(first.labels?.count == first.steps && first.cameras.map(\.name) == ["front", "wrist"])
        #expect(train.stdout.contains("classifier against the twin so far: precision"), "\(train.stdout)")
        let counters = try JSONSerialization.jsonObject(with: Data(contentsOf: try #require(
            try FileManager.default.contentsOfDirectory(at: runFolder.appendingPathComponent("checkpoints"), includingPropertiesForKeys: nil)
                .sorted { $0.path < $1.path }.last).appendingPathComponent("counters.json"))) as? [String: Any]
        #expect(counters?["rewardAgreement"] != nil || counters?["reward_agreement"] != nil, "\(String(describing: counters))")

        // Going on from the classifier: its own folder (named in its file) and the policy's episodes.
        let onlineInfo = try #require(try jsonLines(try reins("dataset", "info", online.path, "--json").stdout).first)
        let onlineFrames = (onlineInfo["success_labels"] as? Int ?? -1) + (onlineInfo["failure_labels"] as? Int ?? -1)
        let goneOn = try reins("reward", "train", "--resume", model, "--data", online.path, "--out", folder.appendingPathComponent("reward-2.safetensors").path,
                               "--steps", "10", "--json")
        #expect(goneOn.status == 0, "\(goneOn.stderr)")
        let resumed = try #require(try jsonLines(goneOn.stdout).first)
        #expect(resumed["data"] as? [String] == [folder.path, online.path] && resumed["frames"] as? Int == positives + negatives + onlineFrames, "\(resumed)")
        let otherCameras = try reins("reward", "train", "--resume", model, "--data", online.path, "--cameras", "wrist")
        #expect(otherCameras.status != 0 && otherCameras.stderr.contains("classifies front"), "\(otherCameras.stderr)")

        let small = try run(reinsExecutable, ["record", "--robot", "so101", "--task", "reach", "--episodes", "1", "--out", other.path, "--sim",
                                              "--operator", "scripted", "--no-console", "--max-steps", "30", "--image-size", "32", "--seed", "4"])
        #expect(small.status == 0, "\(small.stderr)")
        let refused = try reins("reward", "eval", "--model", model, "--data", other.path)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("front 64x64") && refused.stderr.contains("front 32x32"), "\(refused.stderr)")
        let thin = try reins("reward", "train", "--data", other.path, "--out", folder.appendingPathComponent("thin.safetensors").path)
        #expect(thin.status != 0 && thin.stderr.contains("at least 20 of each"), "\(thin.stderr)")
    }
}
