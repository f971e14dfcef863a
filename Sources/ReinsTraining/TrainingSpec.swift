import Foundation
import ReinsControl
import ReinsCore
import ReinsData
import ReinsLearn

/// What a policy sees and does on a robot: its cameras (the robot's first by default, or several,
/// as HIL-SERL feeds front and wrist) at N×N each, proprio = the joint angles and the end
/// effector's position, actions = the 7 values of an end-effector step (twist + gripper).
/// The cube's position is not in it: the policy has to see it. With `discreteGripper` the learner
/// stores the gripper's class (close, stay, open; `GripperClass`) instead of its command, and the
/// policy chooses a class that becomes a command.
public struct TrainingSpec: Sendable, Equatable {
    public var cameras: [String]
    public var imageSize: Int
    public var joints: Int
    public var discreteGripper: Bool

    public init(cameras: [String], imageSize: Int, joints: Int, discreteGripper: Bool = false) {
        precondition(!cameras.isEmpty, "a policy learns from at least one camera")
        self.cameras = cameras
        self.imageSize = imageSize
        self.joints = joints
        self.discreteGripper = discreteGripper
    }

    /// The spec a learned policy was trained with: its cameras, their size, and the joints its proprio implies.
    public init?(policy config: SACConfig) {
        guard let first = config.observation.images.first, config.actionWidth == Self.actionWidth,
              config.observation.images.allSatisfy({ $0.width == first.width && $0.height == first.width && $0.channels == 3 })
        else { return nil }
        self.init(cameras: config.observation.images.map(\.name), imageSize: first.width, joints: config.observation.proprioWidth - 3,
                  discreteGripper: config.discreteGripper)
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
    public func learnerConfig(imitationWeight: Float, sharedEncoder: Bool = true, gripperMargin: Float = 0) -> SACConfig {
        var config = SACConfig(observation: observation, actionWidth: Self.actionWidth)
        config.discreteGripper = discreteGripper
        config.gripperImitationMargin = discreteGripper && imitationWeight > 0 ? gripperMargin : 0
        config.batchSize = 128
        config.criticUpdatesPerActorUpdate = 1
        config.imitationWeight = imitationWeight
        config.sharedEncoder = sharedEncoder
        config.imitationTrainsSharedEncoder = sharedEncoder
        return config
    }

    /// An executed action as the learner stores it, given the gripper command in force before it:
    /// with a discrete gripper its last value becomes the command's class, and the state before it
    /// (open when that command is at least half-open) rides along.
    public func learnerAction(_ action: [Double], commandBefore: Double) -> (action: [Float], gripperOpen: Bool) {
        var stored = action.map(Float.init)
        let open = commandBefore >= 0
        if discreteGripper { stored[Self.actionWidth - 1] = GripperClass.of(command: action[Self.actionWidth - 1], open: open).actionValue }
        return (stored, open)
    }

    /// The command a policy's action stands for, given the command in force: with a discrete
    /// gripper its last value is a class, and `stay` keeps the command in force.
    public func command(_ action: [Double], commandInForce: Double) -> [Double] {
        guard discreteGripper else { return action }
        var command = action
        command[Self.actionWidth - 1] = switch GripperClass(actionValue: Float(action[Self.actionWidth - 1])) {
        case .close: -1
        case .stay: commandInForce
        case .open: 1
        }
        return command
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
        let width = Self.actionWidth
        // Before the first step the command in force is the opening measured, as the live runner has it.
        var commandBefore = (episode.gripper.first ?? 1) * 2 - 1
        for step in 0..<steps {
            let observation = observation(episode, frames: frames, step: step)
            let next = step + 1 < steps ? self.observation(episode, frames: frames, step: step + 1) : observation
            let last = step == steps - 1
            let executed = Array(episode.actions[(step * width)..<((step + 1) * width)])
            let (action, gripperOpen) = learnerAction(executed, commandBefore: commandBefore)
            commandBefore = executed[width - 1]
            transitions.append(Transition(
                observation: observation, action: action, reward: Float(episode.rewards[step]), nextObservation: next,
                terminal: last && episode.metadata.success, episodeEnded: last, intervention: episode.interventions[step] != 0,
                gripperOpen: gripperOpen))
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
    /// Whether the gripper was open before the step (what a discrete gripper's class is relative to).
    public var gripperOpen: Bool

    public init(observation: Observation, action: [Float], reward: Float, nextObservation: Observation, terminal: Bool,
                episodeEnded: Bool, intervention: Bool, gripperOpen: Bool = true) {
        self.observation = observation
        self.action = action
        self.reward = reward
        self.nextObservation = nextObservation
        self.terminal = terminal
        self.episodeEnded = episodeEnded
        self.intervention = intervention
        self.gripperOpen = gripperOpen
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
