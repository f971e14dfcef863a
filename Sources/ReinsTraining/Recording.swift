import Foundation
import ReinsControl
import ReinsCore
import ReinsData

extension OperatorStation {
    /// Runs one episode and returns it as an episode file holds it: every step with its label, and
    /// an episode a key ended (y or n) ended on its last step before the key (or, with
    /// `pastSuccessSteps`, before the steps recorded past its success). `onStep` sees each step as well.
    public func recordEpisode(index: Int, softwareVersion: String, onStep: (StationStep) -> Void = { _ in }) throws -> (Episode, EpisodeOutcome) {
        var episode = Episode(metadata: episodeMetadata(success: false, softwareVersion: softwareVersion), actionWidth: 7,
                              cameras: session.cameras.map { Episode.CameraFrames(name: $0.name, width: $0.width, height: $0.height) },
                              recordsCube: session.isTwin)
        let cameras = session.cameras
        var startNs: Int64?
        var labels: [UInt8] = []
        let outcome = try runEpisode(index: index) { recorded in
            let observation = recorded.observation, step = recorded.step
            let start = startNs ?? observation.timestampNs
            startNs = start
            episode.append(jointPositions: observation.joints, endEffector: observation.endEffector.vector,
                           gripper: observation.gripper ?? 0, cubePosition: recorded.cube.map { [$0.x, $0.y, $0.z] },
                           images: cameras.map { observation.images[$0.name] ?? [] }, action: step.action,
                           jointTargets: step.jointTargets, reward: step.reward, done: step.done && !recorded.pastEnd,
                           intervention: step.intervention, timestamp: Double(observation.timestampNs - start) * 1e-9)
            labels.append(recorded.label ? 1 : 0)
            onStep(recorded)
        }
        episode.metadata.startedUnixSeconds = outcome.startedUnixSeconds
        episode.startJointTargets = outcome.startTargets
        episode.metadata.success = outcome.end == .success
        episode.labels = labels
        let lastStep = (outcome.experienceSteps ?? episode.steps) - 1
        switch outcome.end {
        case .success: episode.end(at: lastStep, success: true)
        case .failure: episode.end(at: lastStep, success: false)
        case .discarded, .quit, .stopped: break
        }
        return (episode, outcome)
    }
}

extension OperatorStation {
    /// What an episode file records of this station's robot, task and rates, started now.
    func episodeMetadata(success: Bool, softwareVersion: String) -> Episode.Metadata {
        let definition = session.robot.definition
        return Episode.Metadata(robot: definition.name, task: options.task.rawValue, busHz: loop.configuration.busHz,
                                policyHz: loop.configuration.policyHz, calibrationID: session.calibrationID, success: success,
                                softwareVersion: softwareVersion, jointNames: definition.motors.map(\.name),
                                startedUnixSeconds: Date().timeIntervalSince1970)
    }

    /// One frame as a one-step episode file with its label (what the operator said it shows).
    public func labelledFrame(_ observation: EpisodeObservation, success: Bool, softwareVersion: String) -> Episode {
        let cameras = session.cameras
        var episode = Episode(metadata: episodeMetadata(success: success, softwareVersion: softwareVersion), actionWidth: 7,
                              cameras: cameras.map { Episode.CameraFrames(name: $0.name, width: $0.width, height: $0.height) }, recordsCube: false)
        episode.append(jointPositions: observation.joints, endEffector: observation.endEffector.vector, gripper: observation.gripper ?? 0,
                       cubePosition: nil, images: cameras.map { observation.images[$0.name] ?? [UInt8](repeating: 0, count: $0.width * $0.height * 3) },
                       action: [Double](repeating: 0, count: 7), jointTargets: observation.joints, reward: success ? 1 : 0, done: true,
                       intervention: true, timestamp: 0)
        episode.labels = [success ? 1 : 0]
        episode.startJointTargets = observation.joints
        return episode
    }
}

/// `reins record`: episodes from the station written one file each until enough are kept.
/// Successes and failures are kept (failures not with `onlySuccess`), an episode stopped by the
/// operator or a fault is kept if it has steps, discarded and quit episodes never.
public struct DemonstrationRecording {
    public let episodes: Int
    public let onlySuccess: Bool
    public let softwareVersion: String

    public init(episodes: Int, onlySuccess: Bool, softwareVersion: String) {
        self.episodes = episodes
        self.onlySuccess = onlySuccess
        self.softwareVersion = softwareVersion
    }

    /// Whether an episode that ended so, with `steps` steps, is written.
    public func keeps(_ end: EpisodeEnd, steps: Int) -> Bool {
        end == .success || (!onlySuccess && Self.keepsAny(end, steps: steps))
    }

    /// Whether an episode that ended so is worth a file at all: discarded and quit ones never are.
    public static func keepsAny(_ end: EpisodeEnd, steps: Int) -> Bool {
        switch end {
        case .success, .failure: true
        case .stopped: steps > 0
        case .discarded, .quit: false
        }
    }

    /// Records until `episodes` are kept, the operator quits or stops, or a signal asks to stop.
    public func run(station: OperatorStation, writer: EpisodeWriter) throws -> (kept: Int, successes: Int) {
        for name in writer.removedLeftovers { station.log("removed \(name), an episode a previous run did not finish") }
        var kept = 0, successes = 0, attempt = 0
        while kept < episodes && !station.quitRequested {
            let (episode, outcome) = try station.recordEpisode(index: attempt, softwareVersion: softwareVersion)
            let end = outcome.end
            if keeps(end, steps: episode.steps) {
                let url = try writer.write(episode)
                kept += 1
                if end == .success { successes += 1 }
                station.log("episode \(attempt): \(end.description) in \(episode.steps) steps → \(url.lastPathComponent) (\(kept)/\(episodes))")
            } else {
                station.log("episode \(attempt): \(end.description) after \(episode.steps) steps, not kept")
            }
            attempt += 1
            if end == .quit { break }
            if case .stopped = end {
                station.waitForQuit()
                break
            }
        }
        return (kept, successes)
    }
}
