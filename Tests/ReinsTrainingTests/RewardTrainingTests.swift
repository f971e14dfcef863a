import Foundation
import ReinsCore
import ReinsData
import Testing
@testable import ReinsLearn
@testable import ReinsTraining

@Suite("training the reward classifier on labelled episodes")
struct RewardTrainingTests {
    /// Episodes of 12×12 frames whose last `positives` frames show a bright square (the task done).
    static func episodes(_ count: Int, steps: Int = 12, positives: Int = 4, size: Int = 12, seed: UInt64) -> LabelledFrames {
        let camera = ObservationSpec.Image(name: "front", height: size, width: size)
        var data = LabelledFrames(cameras: [camera])
        var generator = SplitMix64(seed: seed)
        for episode in 0..<count {
            for step in 0..<steps {
                let done = step >= steps - positives
                var pixels = (0..<camera.byteCount).map { _ in UInt8.random(in: 0...90, using: &generator) }
                if done { for y in 2..<6 { for x in 3..<7 { for c in 0..<3 { pixels[(y * size + x) * 3 + c] = 240 } } } }
                data.append(frames: [pixels[...]], label: done, episode: episode)
            }
        }
        return data
    }

    /// 150 steps of a small classifier at a high rate, every frame kept, for the 12×12 episodes.
    static func smallTraining(_ data: LabelledFrames, seed: UInt64) -> RewardTraining {
        var config = RewardClassifierConfig(cameras: data.cameras)
        (config.encoderFilters, config.encoderLayers, config.encoderLatentWidth, config.hiddenWidths, config.batchSize) = (8, 2, 16, [16], 16)
        config.learningRate = 3e-3
        config.augmentationShift = 1
        var training = RewardTraining(config: config)
        training.steps = 150
        training.seed = seed
        training.labelChangeMargin = 0
        return training
    }

    @Test("whole episodes are held out, both sides keep both classes, and the threshold keeps the precision asked for")
    func heldOutByEpisode() throws {
        let data = Self.episodes(10, seed: 1)
        let held = try #require(RewardDataset.heldOutEpisodes(data, fraction: 0.2, seed: 3))
        #expect(held.count == 2)
        let training = Self.smallTraining(data, seed: 3)
        var lines = 0
        let (classifier, report) = try training.run(data, folder: "synthetic", progressEvery: 50) { _ in lines += 1 }
        #expect(lines == 3)
        #expect(Set(report.heldOutEpisodes) == held && report.heldOutFrames == 24 && report.heldOutPositives == 8)
        #expect(report.trainingFrames == 96 && report.trainingPositives == 32)
        #expect(report.precisionReached && report.precision >= 0.95 && report.recall >= 0.75, "\(report.heldOut)")
        #expect(classifier.config.threshold == report.heldOut.threshold)
        #expect(report.heldOutPolicy == nil && report.heldOutPolicyEpisodes == 0)
    }

    @Test("the held-out figures on the episodes the policy acted in are given apart")
    func heldOutPolicyEpisodes() throws {
        let data = Self.episodes(10, seed: 1)
        let held = try #require(RewardDataset.heldOutEpisodes(data, fraction: 0.2, seed: 3)).sorted()
        let acted = (0..<10).map { $0 == held[0] }
        let report = try Self.smallTraining(data, seed: 3).run(data, folder: "synthetic", online: acted).1
        let policy = try #require(report.heldOutPolicy)
        #expect(report.heldOutPolicyEpisodes == 1)
        #expect(policy.truePositives + policy.falsePositives + policy.trueNegatives + policy.falseNegatives == 12)
        #expect(policy.threshold == report.heldOut.threshold)
        let everyOne = try Self.smallTraining(data, seed: 3).run(data, folder: "synthetic", online: [Bool](repeating: true, count: 10)).1
        #expect(everyOne.heldOutPolicy == everyOne.heldOut && everyOne.heldOutPolicyEpisodes == 2)
    }

    @Test("going on from a trained classifier keeps what it learnt; frames of another size are refused, naming both")
    func goesOnFromATrainedClassifier() throws {
        let data = Self.episodes(10, seed: 4)
        var training = Self.smallTraining(data, seed: 5)
        let (trained, _) = try training.run(data, folder: "synthetic")
        training.steps = 1
        let (resumed, report) = try training.run(data, folder: "synthetic", startingFrom: trained)
        let fresh = try training.run(data, folder: "synthetic").1
        #expect(resumed === trained)
        #expect(report.precisionReached && report.accuracy > fresh.accuracy, "resumed \(report.heldOut), fresh \(fresh.heldOut)")
        #expect { try training.run(Self.episodes(10, size: 8, seed: 6), folder: "small", startingFrom: trained) } throws: {
            "\($0)".contains("small has front 8x8 where the classifier goes on from front 12x12")
        }
    }

    @Test("too few frames of a class are refused before training, with the counts")
    func refusesThinData() {
        let data = Self.episodes(4, positives: 4, seed: 2)
        var training = RewardTraining(config: RewardClassifierConfig(cameras: data.cameras))
        training.labelChangeMargin = 0
        #expect { try training.run(data, folder: "thin") } throws: { error in
            let text = "\(error)"
            return text.contains("thin has 16 success and 32 failure frames") && text.contains("at least 20")
        }
        // Near a change of label frames do not count: 6 of each episode's 12 are within 3 of it.
        training.labelChangeMargin = 3
        let more = Self.episodes(8, positives: 4, seed: 2)
        #expect { try training.run(more, folder: "near") } throws: { "\($0)".contains("near has 8 success and 40 failure frames (leaving out 48 near a change of label)") }
    }

    @Test("frames within the margin of a change of label, in the same episode, are not clear; other episodes' frames are")
    func framesNearLabelChanges() {
        var data = LabelledFrames(cameras: [ObservationSpec.Image(name: "front", height: 1, width: 1)])
        let labels: [(Bool, Int)] = [(false, 0), (false, 0), (false, 0), (true, 0), (true, 0), (true, 0), (true, 1), (false, 1), (false, 1), (false, 1)]
        for (label, episode) in labels { data.append(frames: [[0, 0, 0]], label: label, episode: episode) }
        #expect(RewardDataset.clearOfLabelChanges(data, margin: 0) == Array(repeating: true, count: 10))
        #expect(RewardDataset.clearOfLabelChanges(data, margin: 2) == [true, false, false, false, false, true, false, false, false, true])
    }

    @Test("a folder of episodes without labels is refused, saying how to label; a folder named twice counts once")
    func refusesUnlabelledEpisodes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-unlabelled-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let writer = try EpisodeWriter(directory: folder)
        let metadata = Episode.Metadata(robot: "so101", task: "reach", busHz: 200, policyHz: 10, calibrationID: "sim", success: false,
                                        softwareVersion: "test", jointNames: ["a"], startedUnixSeconds: 0)
        var episode = Episode(metadata: metadata, actionWidth: 1, cameras: [Episode.CameraFrames(name: "front", width: 2, height: 2)], recordsCube: false)
        episode.append(jointPositions: [0], endEffector: [0, 0, 0, 0, 0, 0], gripper: 0, cubePosition: nil, images: [[UInt8](repeating: 0, count: 12)],
                       action: [0], jointTargets: [0], reward: 0, done: true, intervention: false, timestamp: 0)
        try writer.write(episode)
        #expect { try RewardDataset.load(folders: [folder], cameras: nil) } throws: { error in
            "\(error)".contains("episode_000000.h5 has no frame labels") && "\(error)".contains("record again")
        }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("episode_000000.h5"))
        episode.labels = [1]
        try writer.write(episode)
        #expect { try RewardDataset.load(folders: [folder], cameras: ["wrist"]) } throws: { "\($0)".contains("has no camera wrist (it has front)") }
        // The same folder named twice, once through another spelling of its path, counts once.
        let once = try RewardDataset.load(folders: [folder], cameras: nil)
        let twice = try RewardDataset.load(folders: [folder, URL(fileURLWithPath: folder.path + "/./")], cameras: nil)
        #expect(once.count == 1 && twice.count == once.count)
    }

    @Test("the live success rate is estimated from the episodes the policy acted in, not the operated ones; the files are named as the folder was")
    func onlineSuccessRate() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-online-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let writer = try EpisodeWriter(directory: folder)
        let metadata = Episode.Metadata(robot: "so101", task: "pick", busHz: 200, policyHz: 10, calibrationID: "sim", success: false,
                                        softwareVersion: "test", jointNames: ["a"], startedUnixSeconds: 0)
        /// `steps` steps, the last `successes` labelled success; the operator's on every step or on none.
        func write(steps: Int, successes: Int, operated: Bool) throws {
            var episode = Episode(metadata: metadata, actionWidth: 1, cameras: [Episode.CameraFrames(name: "front", width: 2, height: 2)], recordsCube: false)
            for step in 0..<steps {
                episode.append(jointPositions: [0], endEffector: [0, 0, 0, 0, 0, 0], gripper: 0, cubePosition: nil, images: [[UInt8](repeating: 0, count: 12)],
                               action: [0], jointTargets: [0], reward: 0, done: step == steps - 1, intervention: operated, timestamp: 0)
            }
            episode.labels = (0..<steps).map { $0 >= steps - successes ? 1 : 0 }
            try writer.write(episode)
        }
        try write(steps: 40, successes: 20, operated: true)  // a scripted demonstration recorded past its success
        try write(steps: 50, successes: 2, operated: false)  // the policy's episodes, as a run records them
        try write(steps: 50, successes: 0, operated: false)
        let loaded = try RewardDataset.loadEpisodes(folders: [folder], cameras: nil)
        #expect(loaded.online == [false, true, true])
        #expect(loaded.onlineSuccessRate == 0.02)
        #expect(loaded.files.map { URL(fileURLWithPath: $0).lastPathComponent } == ["episode_000000.h5", "episode_000001.h5", "episode_000002.h5"])
        #expect(loaded.files.allSatisfy { RewardDataset.identity($0) == RewardDataset.identity(folder.path + "/" + URL(fileURLWithPath: $0).lastPathComponent) })
    }

    @Test("precision at a live success rate weighs each false success as the rate says; the threshold it chooses is no lower than the raw one's")
    func precisionAtTheLiveRate() {
        // 10 success and 10 failure frames; 8 successes and 2 failures called success.
        let probabilities: [Float] = Array(repeating: 0.9, count: 8) + [0.2, 0.2] + [0.9, 0.9] + Array(repeating: 0.1, count: 8)
        let labels = Array(repeating: true, count: 10) + Array(repeating: false, count: 10)
        let metrics = ClassifierMetrics(probabilities: probabilities, labels: labels, threshold: 0.5)
        #expect(metrics.precision == 0.8)
        #expect(abs(metrics.precision(atSuccessRate: 0.5) - 0.8) < 1e-12)
        // At 5 % success each failure stands for 19: 8 / (8 + 2 × 19).
        #expect(abs(metrics.precision(atSuccessRate: 0.05) - 8.0 / 46.0) < 1e-12)
        let data = Self.episodes(10, seed: 1)
        var training = Self.smallTraining(data, seed: 3)
        let raw = try? training.run(data, folder: "synthetic").1
        training.liveSuccessRate = 0.02
        let live = try? training.run(data, folder: "synthetic").1
        #expect(raw != nil && live != nil)
        if let raw, let live {
            #expect(live.heldOut.threshold >= raw.heldOut.threshold)
            #expect(live.liveSuccessRate == 0.02 && raw.liveSuccessRate == nil)
            #expect(live.precisionAtLiveRate == live.heldOut.precision(atSuccessRate: 0.02))
        }
    }

    @Test("a resumed classifier keeps its held-out episodes held out and its trained ones in training; only new episodes are split")
    func resumedSplit() throws {
        let first = Self.episodes(10, seed: 7)
        let files = (0..<10).map { "a/episode_\($0).h5" }
        let training = Self.smallTraining(first, seed: 8)
        let (classifier, report) = try training.run(first, folder: "a", files: files)
        let split = try #require(report.split)
        #expect(split.heldOut.count == 2 && split.trained.count == 8 && Set(split.heldOut + split.trained) == Set(files))
        // Ten more episodes in folder b; the same ten of a, in another order, first.
        let both = Self.episodes(20, seed: 7)
        let order = Array(files.reversed()) + (0..<10).map { "b/episode_\($0).h5" }
        var resumedWith = training
        resumedWith.seed = 99
        resumedWith.steps = 10
        let (_, resumed) = try resumedWith.run(both, folder: "a + b", startingFrom: classifier, files: order, resumedSplit: split)
        let after = try #require(resumed.split)
        #expect(Set(split.heldOut).isSubset(of: Set(after.heldOut)))
        #expect(Set(split.trained).isSubset(of: Set(after.trained)))
        #expect(after.heldOut.filter { $0.hasPrefix("b/") }.count == 2, "a fifth of the new episodes: \(after.heldOut)")
        #expect(resumed.keptHeldOut == 2 && resumed.missingHeldOut.isEmpty)
        // Without one of its held-out episodes it goes on with the other, and names the missing one.
        let missing = split.heldOut[0]
        let without = order.filter { $0 != missing }
        var fewer = LabelledFrames(cameras: both.cameras)
        let dropped = order.firstIndex(of: missing)!
        for index in 0..<both.count where both.episodes[index] != dropped {
            let episode = both.episodes[index]
            fewer.append(frames: [both.frame(index, camera: 0)], label: both.labels[index], episode: episode > dropped ? episode - 1 : episode)
        }
        let (_, partial) = try resumedWith.run(fewer, folder: "a + b", startingFrom: classifier, files: without, resumedSplit: split)
        #expect(partial.missingHeldOut == [missing] && partial.keptHeldOut == 1)
        #expect(try #require(partial.split).heldOut.contains(split.heldOut[1]))
    }
}
