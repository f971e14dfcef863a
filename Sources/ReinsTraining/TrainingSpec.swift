import Foundation
import ReinsControl
import ReinsCore
import ReinsData
import ReinsLearn

/// What a policy sees and does on a robot: its cameras (the robot's first by default, or several,
/// as HIL-SERL feeds front and wrist) at N×N each, proprio = the joint angles and the end
/// effector's position, actions = the 7 values of an end-effector step (twist + gripper).
/// The cube's position is not in it: the policy has to see it.
public struct TrainingSpec: Sendable, Equatable {
    public var cameras: [String]
    public var imageSize: Int
    public var joints: Int

    public init(cameras: [String], imageSize: Int, joints: Int) {
        precondition(!cameras.isEmpty, "a policy learns from at least one camera")
        self.cameras = cameras
        self.imageSize = imageSize
        self.joints = joints
    }

    /// The spec a learned policy was trained with: its cameras, their size, and the joints its proprio implies.
    public init?(policy config: SACConfig) {
        guard let first = config.observation.images.first, config.actionWidth == Self.actionWidth,
              config.observation.images.allSatisfy({ $0.width == first.width && $0.height == first.width && $0.channels == 3 })
        else { return nil }
        self.init(cameras: config.observation.images.map(\.name), imageSize: first.width, joints: config.observation.proprioWidth - 3)
    }

    public var observation: ObservationSpec {
        ObservationSpec(images: cameras.map { .init(name: $0, height: imageSize, width: imageSize) }, proprioWidth: joints + 3)
    }

    public static let actionWidth = 7

    /// The learner's settings for this observation and action: HIL-SERL's, except where two CPU
    /// cores call for less work per update. A batch of 128 (64 demo + 64 online) and one critic step
    /// per actor step double the updates a second, and `imitationWeight` pulls the policy toward its
    /// operator's actions (0 is HIL-SERL's actor loss). With `sharedEncoder` (the default) the actor
    /// reads the critic's encoder, which the imitation term trains as well as the critic's TD loss:
    /// on reach that learned as well as separate encoders with 1.4× the updates (see README).
    public func learnerConfig(imitationWeight: Float, sharedEncoder: Bool = true) -> SACConfig {
        var config = SACConfig(observation: observation, actionWidth: Self.actionWidth)
        config.batchSize = 128
        config.criticUpdatesPerActorUpdate = 1
        config.imitationWeight = imitationWeight
        config.sharedEncoder = sharedEncoder
        config.imitationTrainsSharedEncoder = sharedEncoder
        return config
    }

    /// The policy's input for a live observation; nil when a camera has no frame in it.
    public func observation(_ live: EpisodeObservation) -> Observation? {
        var images: [[UInt8]] = []
        for camera in cameras {
            guard let image = live.images[camera], image.count == imageSize * imageSize * 3 else { return nil }
            images.append(image)
        }
        let p = live.endEffector.position
        return Observation(images: images, proprio: live.joints.map(Float.init) + [Float(p.x), Float(p.y), Float(p.z)])
    }

    /// Each of the spec's cameras in a recorded episode, checked once; the error names the file and what differs.
    public func frames(of episode: Episode, file: String) throws(TrainingError) -> [Episode.CameraFrames] {
        guard episode.jointCount == joints, episode.actionWidth == Self.actionWidth else {
            throw .demo(file: file, problem: "it has \(episode.jointCount) joints and \(episode.actionWidth) action values, training expects \(joints) and \(Self.actionWidth)")
        }
        var found: [Episode.CameraFrames] = []
        for camera in cameras {
            guard let frames = episode.cameras.first(where: { $0.name == camera }) else {
                throw .demo(file: file, problem: "it has no camera \(camera) (it has \(episode.cameras.map(\.name).joined(separator: ", "))); record with the cameras training uses")
            }
            guard frames.width == imageSize, frames.height == imageSize else {
                throw .demo(file: file, problem: "its \(camera) frames are \(frames.width)x\(frames.height), training uses \(imageSize)x\(imageSize); record with --image-size \(imageSize)")
            }
            found.append(frames)
        }
        return found
    }

    /// The policy's input at step `step` of a recorded episode; the error names the file and what differs.
    public func observation(_ episode: Episode, step: Int, file: String) throws(TrainingError) -> Observation {
        observation(episode, frames: try frames(of: episode, file: file), step: step)
    }

    private func observation(_ episode: Episode, frames: [Episode.CameraFrames], step: Int) -> Observation {
        let size = imageSize * imageSize * 3
        let pose = episode.endEffector[(step * 6)..<(step * 6 + 3)]
        return Observation(images: frames.map { Array($0.pixels[(step * size)..<((step + 1) * size)]) },
                           proprio: episode.jointPositions(at: step).map(Float.init) + pose.map(Float.init))
    }

    /// Every transition of a recorded episode, in order, for the demo buffer.
    public func transitions(of episode: Episode, file: String) throws(TrainingError) -> [Transition] {
        let frames = try frames(of: episode, file: file)
        var transitions: [Transition] = []
        // Frames recorded past the episode's end (for their labels) are no experience.
        let steps = episode.experienceSteps
        for step in 0..<steps {
            let observation = observation(episode, frames: frames, step: step)
            let next = step + 1 < steps ? self.observation(episode, frames: frames, step: step + 1) : observation
            let last = step == steps - 1
            transitions.append(Transition(
                observation: observation, action: episode.actions[(step * Self.actionWidth)..<((step + 1) * Self.actionWidth)].map(Float.init),
                reward: Float(episode.rewards[step]), nextObservation: next,
                terminal: last && episode.metadata.success, episodeEnded: last, intervention: episode.interventions[step] != 0))
        }
        return transitions
    }
}

/// One step of experience as the learner stores it.
public struct Transition: Sendable {
    public var observation: Observation
    public var action: [Float]
    public var reward: Float
    public var nextObservation: Observation
    /// Success: nothing to bootstrap past it.
    public var terminal: Bool
    /// The episode's last step (success, failure or time limit).
    public var episodeEnded: Bool
    public var intervention: Bool

    public init(observation: Observation, action: [Float], reward: Float, nextObservation: Observation, terminal: Bool,
                episodeEnded: Bool, intervention: Bool) {
        self.observation = observation
        self.action = action
        self.reward = reward
        self.nextObservation = nextObservation
        self.terminal = terminal
        self.episodeEnded = episodeEnded
        self.intervention = intervention
    }
}

public enum TrainingError: Error, Equatable, CustomStringConvertible, Sendable {
    case demo(file: String, problem: String)
    case checkpoint(path: String, problem: String)

    public var description: String {
        switch self {
        case .demo(let file, let problem): "demo \(file): \(problem)"
        case .checkpoint(let path, let problem): "checkpoint \(path): \(problem)"
        }
    }
}
