import Foundation
import ReinsData
import Testing

@Suite("episode files")
struct EpisodeFileTests {
    func sample(steps: Int) -> Episode {
        let metadata = Episode.Metadata(robot: "so101", task: "reach", busHz: 200, policyHz: 10, calibrationID: "sim", success: true,
                                        softwareVersion: "test", jointNames: ["a", "b"], startedUnixSeconds: 1_700_000_000.5)
        var episode = Episode(metadata: metadata, actionWidth: 3, cameras: [Episode.CameraFrames(name: "front", width: 4, height: 2)],
                              recordsCube: true)
        episode.startJointTargets = [0.5, -0.5]
        for step in 0..<steps {
            let t = Double(step)
            episode.append(jointPositions: [t, -t], endEffector: [t, 0, 1, 0, 0.1, 0], gripper: 0.5, cubePosition: [0.2, t, 0.015],
                           images: [(0..<24).map { UInt8(($0 + step) % 256) }], action: [0.1, -0.2, t], jointTargets: [t + 0.1, -t],
                           reward: step == steps - 1 ? 1 : 0, done: step == steps - 1, intervention: step % 2 == 0, timestamp: t / 10)
        }
        return episode
    }

    @Test("an episode written and read back is the same episode")
    func roundTrip() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("reins-episode-\(UUID().uuidString).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        let episode = sample(steps: 5)
        try EpisodeFile.write(episode, to: url)
        #expect(try EpisodeFile.read(url) == episode)
        let summary = try EpisodeFile.summary(url)
        #expect(summary.steps == 5 && summary.interventions == 3 && summary.cameras == ["front"] && summary.success)
        #expect(abs(summary.durationSeconds - 0.5) < 1e-9)
    }

    @Test("frame labels are written and read back and counted; a file without them reads as unlabelled")
    func labels() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("reins-episode-\(UUID().uuidString).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        var episode = sample(steps: 6)
        try EpisodeFile.write(episode, to: url)
        #expect(try EpisodeFile.read(url).labels == nil)
        #expect(try EpisodeFile.summary(url).labels == nil)

        episode.labels = [0, 0, 1, 1, 1, 0]
        try EpisodeFile.write(episode, to: url)
        #expect(try EpisodeFile.read(url) == episode)
        let counts = try #require(try EpisodeFile.summary(url).labels)
        #expect(counts.success == 3 && counts.failure == 3)
        let h5 = try HDF5File(path: url.path, mode: .readOnly)
        #expect(try h5.layout(of: "data/demo_0/labels").shape == [6] && (try h5.elementType(of: "data/demo_0/labels")) == "uint8")

        episode.labels = [1]
        #expect(throws: DataError.self) { try EpisodeFile.write(episode, to: url) }
    }

    @Test("an episode ended before its last step is experience up to that step; the steps after carry labels only")
    func endedBeforeTheLastStep() throws {
        var episode = sample(steps: 8)
        episode.dones = [UInt8](repeating: 0, count: 8)
        episode.rewards = [Double](repeating: 0, count: 8)
        #expect(episode.experienceSteps == 8)
        episode.end(at: 4, success: true)
        #expect(episode.experienceSteps == 5 && episode.dones[4] == 1 && episode.rewards[4] == 1 && episode.metadata.success)
        episode.end(at: 6, success: false)
        #expect(episode.experienceSteps == 5, "the first done ends it")
    }

    @Test("the writer numbers files after the ones there, and removes temporary leftovers")
    func writer() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-writer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data().write(to: folder.appendingPathComponent("episode_000004.h5"))
        try Data().write(to: folder.appendingPathComponent(".episode_000005.h5.tmp"))
        let writer = try EpisodeWriter(directory: folder)
        #expect(writer.removedLeftovers == [".episode_000005.h5.tmp"])
        let url = try writer.write(sample(steps: 2))
        #expect(url.lastPathComponent == "episode_000005.h5")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["episode_000004.h5", "episode_000005.h5"])
    }

    @Test("a file that is not an episode is refused with its name")
    func damaged() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("reins-damaged-\(UUID().uuidString).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("garbage".utf8).write(to: url)
        #expect { try EpisodeFile.read(url) } throws: { "\($0)".contains(url.path) }
    }
}
