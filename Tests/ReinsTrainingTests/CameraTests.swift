import Foundation
@testable import ReinsControl
import ReinsCore
import ReinsData
import Testing
@testable import ReinsLearn
@testable import ReinsTraining

/// Training on several cameras: each is its own image in the spec's order, from a live
/// observation and from a recorded episode file, and the learner gives each its own encoder.
@Suite("policies that see several cameras")
struct CameraTests {
    static let spec = TrainingSpec(cameras: ["front", "wrist"], imageSize: 4, joints: 2)

    /// An episode recorded with the wrist camera first: its frames are 10 + step (wrist) and 200 + step (front).
    static func episode(steps: Int, cameras: [String] = ["wrist", "front"]) -> Episode {
        let metadata = Episode.Metadata(robot: "so101", task: "reach", busHz: 200, policyHz: 10, calibrationID: "sim", success: true,
                                        softwareVersion: "test", jointNames: ["a", "b"], startedUnixSeconds: 1_700_000_000)
        var episode = Episode(metadata: metadata, actionWidth: TrainingSpec.actionWidth,
                              cameras: cameras.map { Episode.CameraFrames(name: $0, width: 4, height: 4) }, recordsCube: false)
        for step in 0..<steps {
            let images = cameras.map { [UInt8](repeating: UInt8(($0 == "wrist" ? 10 : 200) + step), count: 4 * 4 * 3) }
            episode.append(jointPositions: [0.1, 0.2], endEffector: [0.3, 0, 0.1, 0, 0, 0], gripper: 0, cubePosition: nil, images: images,
                           action: [Double](repeating: 0.5, count: TrainingSpec.actionWidth), jointTargets: [0.1, 0.2],
                           reward: 0, done: step == steps - 1, intervention: true, timestamp: Double(step) / 10)
        }
        return episode
    }

    @Test("a recorded file's cameras become the images of each transition in the order training names them")
    func recordedCameras() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("reins-cameras-\(UUID().uuidString).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        try EpisodeFile.write(Self.episode(steps: 3), to: url)
        let transitions = try Self.spec.transitions(of: try EpisodeFile.read(url), file: url.path)
        #expect(transitions.count == 3)
        for (step, transition) in transitions.enumerated() {
            #expect(transition.observation.images.map { $0[0] } == [UInt8(200 + step), UInt8(10 + step)])
            #expect(transition.nextObservation.images.map { $0[0] } == [UInt8(200 + min(step + 1, 2)), UInt8(10 + min(step + 1, 2))])
        }
        #expect(transitions.last?.terminal == true)
    }

    @Test("an episode without one of the cameras is refused, naming the file, the camera and what it has")
    func missingCamera() {
        #expect(throws: TrainingError.demo(file: "demos/e.h5", problem: "it has no camera wrist (it has front); record with the cameras training uses")) {
            try Self.spec.transitions(of: Self.episode(steps: 2, cameras: ["front"]), file: "demos/e.h5")
        }
    }

    @Test("a live observation gives the policy every camera, and nothing while one has no frame")
    func liveCameras() {
        let front = [UInt8](repeating: 1, count: 48), wrist = [UInt8](repeating: 2, count: 48)
        var live = EpisodeObservation(joints: [0, 0], endEffector: Pose(position: .init(x: 0.2, y: 0, z: 0.1)), gripper: nil,
                                      images: ["wrist": wrist, "front": front], timestampNs: 0)
        #expect(Self.spec.observation(live)?.images == [front, wrist])
        live.images["wrist"] = nil
        #expect(Self.spec.observation(live) == nil)
    }

    @Test("each camera has its own encoder; the learner updates on both, the actor sharing the critic's or with its own",
          arguments: [false, true])
    func learnerOnTwoCameras(shared: Bool) throws {
        var config = Self.spec.learnerConfig(imitationWeight: 1, sharedEncoder: shared)
        (config.hiddenWidths, config.encoderFilters, config.encoderLayers, config.batchSize) = ([8], 4, 1, 8)
        let policy = Policy(config: config)
        let actor = PolicyActor(spec: Self.spec, policy: policy, deterministic: false, seed: 1)
        let learner = Learner(config: config, actor: actor, onlineCapacity: 200, demoCapacity: 200, seed: 2)
        let names = learner.agent.critic.parameters.slots.map(\.name)
        #expect(names.contains { $0.hasPrefix("critic.encoder.front.") } && names.contains { $0.hasPrefix("critic.encoder.wrist.") })
        #expect(learner.agent.actor.encoder == nil ? shared : !shared)
        learner.learningStarts = 20
        let transitions = try Self.spec.transitions(of: Self.episode(steps: 30), file: "memory")
        learner.addDemonstration(transitions)
        #expect(learner.submit(episode: transitions) == 30)
        learner.start()
        for _ in 0..<2_000 where learner.stats.updates < 3 { usleep(5_000) }
        learner.stop()
        #expect(learner.stats.updates >= 3)
        #expect(learner.stats.imitationLoss.isFinite && learner.stats.imitationLoss > 0)
        var generator = SplitMix64(seed: 4)
        let action = policy.act(try Self.spec.observation(Self.episode(steps: 1), step: 0, file: "memory"), deterministic: true, using: &generator)
        #expect(action.count == TrainingSpec.actionWidth && action.allSatisfy { $0.isFinite && abs($0) <= 1 })
    }
}
