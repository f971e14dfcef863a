import Foundation

/// One recorded episode, as stored in one HDF5 file in robomimic's layout:
///
/// ```
/// data                       attrs: total (steps), env_args (JSON)
/// data/demo_0                attrs: num_samples, robot, task, bus_hz, policy_hz, calibration_id,
///                                   success, software_version, joint_names, started_unix_s
///   obs/<camera>             uint8   [T, H, W, 3]  (gzip, one chunk per frame)
///   obs/joint_pos            float64 [T, J]  radians, motor order
///   obs/ee_pose              float64 [T, 6]  metres + rotation vector (radians), base frame
///   obs/gripper              float64 [T]     0 closed … 1 open
///   obs/cube_pos             float64 [T, 3]  only in the twin (privileged state, not for policies)
///   actions                  float64 [T, A]  what was applied (the operator's when intervening)
///   joint_targets            float64 [T, J]  the joint targets the action was turned into
///   start_joint_targets      float64 [J]     the targets held when the episode started
///   rewards                  float64 [T]
///   dones                    uint8   [T]
///   interventions            uint8   [T]
///   timestamps               float64 [T]     seconds since the episode started
///   labels                   uint8   [T]     1 where the operator said obs[t] shows success, else 0
///                                            (for the reward classifier; files before it have none)
/// ```
///
/// `obs[t]` is what was seen before `actions[t]`; `rewards[t]` and `dones[t]` follow it. The
/// episode ends at its first done; steps after it were recorded past the end for their labels
/// (`reins record --past-success`) and are no experience to learn from.
public struct Episode: Sendable, Equatable {
    public struct Metadata: Sendable, Equatable {
        public var robot: String
        public var task: String
        public var busHz: Double
        public var policyHz: Double
        public var calibrationID: String
        public var success: Bool
        public var softwareVersion: String
        public var jointNames: [String]
        /// Wall-clock start, seconds since 1970.
        public var startedUnixSeconds: Double

        public init(robot: String, task: String, busHz: Double, policyHz: Double, calibrationID: String, success: Bool,
                    softwareVersion: String, jointNames: [String], startedUnixSeconds: Double) {
            self.robot = robot
            self.task = task
            self.busHz = busHz
            self.policyHz = policyHz
            self.calibrationID = calibrationID
            self.success = success
            self.softwareVersion = softwareVersion
            self.jointNames = jointNames
            self.startedUnixSeconds = startedUnixSeconds
        }
    }

    /// One camera's frames, [T, height, width, 3].
    public struct CameraFrames: Sendable, Equatable {
        public var name: String
        public var width: Int
        public var height: Int
        public var pixels: [UInt8]

        public init(name: String, width: Int, height: Int, pixels: [UInt8] = []) {
            self.name = name
            self.width = width
            self.height = height
            self.pixels = pixels
        }
    }

    public var metadata: Metadata
    public let actionWidth: Int
    public private(set) var steps = 0
    public var jointPositions: [Double] = []
    public var endEffector: [Double] = []
    public var gripper: [Double] = []
    public var cubePositions: [Double]?
    public var actions: [Double] = []
    public var jointTargets: [Double] = []
    public var rewards: [Double] = []
    public var dones: [UInt8] = []
    public var interventions: [UInt8] = []
    public var timestamps: [Double] = []
    /// The joint targets held when the episode started (the reset pose): a replay starts from them.
    public var startJointTargets: [Double] = []
    /// Per step, 1 where the operator (or the twin's stand-in) said the frame shows the task done;
    /// nil in files recorded before labels.
    public var labels: [UInt8]?
    public var cameras: [CameraFrames]

    public var jointCount: Int { metadata.jointNames.count }

    public init(metadata: Metadata, actionWidth: Int, cameras: [CameraFrames], recordsCube: Bool) {
        self.metadata = metadata
        self.actionWidth = actionWidth
        self.cameras = cameras
        cubePositions = recordsCube ? [] : nil
    }

    /// Adds one step: the observation before the action, the action and what followed it.
    /// `images` holds one frame per camera, in the episode's camera order.
    public mutating func append(jointPositions: [Double], endEffector: [Double], gripper: Double, cubePosition: [Double]?,
                                images: [[UInt8]], action: [Double], jointTargets: [Double], reward: Double, done: Bool,
                                intervention: Bool, timestamp: Double) {
        precondition(jointPositions.count == jointCount && jointTargets.count == jointCount, "one value per joint")
        precondition(endEffector.count == 6 && action.count == actionWidth && images.count == cameras.count, "step shapes")
        self.jointPositions += jointPositions
        self.endEffector += endEffector
        self.gripper.append(gripper)
        if let cubePosition { cubePositions?.append(contentsOf: cubePosition) }
        for (index, frame) in images.enumerated() {
            precondition(frame.count == cameras[index].width * cameras[index].height * 3, "camera \(cameras[index].name) frame size")
            cameras[index].pixels += frame
        }
        actions += action
        self.jointTargets += jointTargets
        rewards.append(reward)
        dones.append(done ? 1 : 0)
        interventions.append(intervention ? 1 : 0)
        timestamps.append(timestamp)
        steps += 1
    }

    /// Ends the episode at `step` (the last one before the operator's key, or the one the task
    /// check passed on): done, with reward 1 on a success and 0 on a failure (on a real arm the
    /// key is the reward: a success the classifier called and the operator took back is none), as
    /// the learner gets it. Steps after it were recorded past the end for their labels. Does
    /// nothing to an empty episode.
    public mutating func end(at step: Int, success: Bool) {
        guard (0..<steps).contains(step) else { return }
        dones[step] = 1
        rewards[step] = success ? 1 : 0
        metadata.success = success
    }

    /// The steps up to and including the first done (all of them when none is done): the
    /// episode as experience, without frames recorded past its end.
    public var experienceSteps: Int { (dones.firstIndex(of: 1) ?? (steps - 1)) + 1 }

    /// The joint positions at one step.
    public func jointPositions(at step: Int) -> ArraySlice<Double> {
        jointPositions[(step * jointCount)..<((step + 1) * jointCount)]
    }

    public func jointTargets(at step: Int) -> ArraySlice<Double> {
        jointTargets[(step * jointCount)..<((step + 1) * jointCount)]
    }
}

/// A short account of an episode file, read without its images.
public struct EpisodeSummary: Sendable {
    public var file: String
    public var robot: String
    public var task: String
    public var steps: Int
    public var success: Bool
    public var interventions: Int
    /// Frames labelled success and failure; nil for files without labels.
    public var labels: (success: Int, failure: Int)?
    public var cameras: [String]
    public var durationSeconds: Double
    public var bytes: Int
}

/// Reading and writing episode files.
public enum EpisodeFile {
    static let demo = "data/demo_0"

    /// Writes `episode` to `url` (replacing it), with images gzip-compressed one frame per chunk.
    public static func write(_ episode: Episode, to url: URL) throws(DataError) {
        let file = try HDF5File(path: url.path, mode: .create)
        let steps = episode.steps, joints = episode.jointCount
        let demo = Self.demo
        try file.createGroup("\(demo)/obs")
        for camera in episode.cameras {
            try file.write(camera.pixels, shape: [steps, camera.height, camera.width, 3],
                           chunk: steps > 0 ? [1, camera.height, camera.width, 3] : nil, gzipLevel: steps > 0 ? 4 : nil,
                           to: "\(demo)/obs/\(camera.name)")
        }
        try file.write(episode.jointPositions, shape: [steps, joints], to: "\(demo)/obs/joint_pos")
        try file.write(episode.endEffector, shape: [steps, 6], to: "\(demo)/obs/ee_pose")
        try file.write(episode.gripper, shape: [steps], to: "\(demo)/obs/gripper")
        if let cube = episode.cubePositions { try file.write(cube, shape: [steps, 3], to: "\(demo)/obs/cube_pos") }
        try file.write(episode.actions, shape: [steps, episode.actionWidth], to: "\(demo)/actions")
        try file.write(episode.jointTargets, shape: [steps, joints], to: "\(demo)/joint_targets")
        try file.write(episode.startJointTargets, shape: [episode.startJointTargets.count], to: "\(demo)/start_joint_targets")
        try file.write(episode.rewards, shape: [steps], to: "\(demo)/rewards")
        try file.write(episode.dones, shape: [steps], to: "\(demo)/dones")
        try file.write(episode.interventions, shape: [steps], to: "\(demo)/interventions")
        try file.write(episode.timestamps, shape: [steps], to: "\(demo)/timestamps")
        if let labels = episode.labels {
            guard labels.count == steps else {
                throw .typeMismatch(file: url.path, object: "\(demo)/labels", expected: "one label per step (\(steps), not \(labels.count))")
            }
            try file.write(labels, shape: [steps], to: "\(demo)/labels")
        }

        let meta = episode.metadata
        try file.setAttribute("total", steps, on: "data")
        let environment = ["env_name": "reins/\(meta.robot)/\(meta.task)", "type": "reins"]
        let environmentJSON = (try? JSONSerialization.data(withJSONObject: environment, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        try file.setAttribute("env_args", environmentJSON, on: "data")
        try file.setAttribute("num_samples", steps, on: demo)
        try file.setAttribute("robot", meta.robot, on: demo)
        try file.setAttribute("task", meta.task, on: demo)
        try file.setAttribute("bus_hz", meta.busHz, on: demo)
        try file.setAttribute("policy_hz", meta.policyHz, on: demo)
        try file.setAttribute("calibration_id", meta.calibrationID, on: demo)
        try file.setAttribute("success", meta.success ? 1 : 0, on: demo)
        try file.setAttribute("software_version", meta.softwareVersion, on: demo)
        try file.setAttribute("joint_names", meta.jointNames.joined(separator: ","), on: demo)
        try file.setAttribute("started_unix_s", meta.startedUnixSeconds, on: demo)
        try file.flush()
    }

    /// Reads a whole episode file back, images included.
    public static func read(_ url: URL) throws(DataError) -> Episode {
        let file = try HDF5File(path: url.path, mode: .readOnly)
        let demo = Self.demo
        let meta = try metadata(file)
        let actions = try file.readDoubles("\(demo)/actions")
        let cameraNames = try file.members(of: "\(demo)/obs").filter { name in
            (try? file.elementType(of: "\(demo)/obs/\(name)")) == "uint8"
        }
        var cameras: [Episode.CameraFrames] = []
        for name in cameraNames {
            let frames = try file.readBytes("\(demo)/obs/\(name)")
            guard frames.shape.count == 4, frames.shape[3] == 3 else {
                throw .typeMismatch(file: url.path, object: "\(demo)/obs/\(name)", expected: "frames of shape [T, H, W, 3]")
            }
            cameras.append(Episode.CameraFrames(name: name, width: frames.shape[2], height: frames.shape[1], pixels: frames.values))
        }
        let hasCube = file.exists("\(demo)/obs/cube_pos")
        var episode = Episode(metadata: meta, actionWidth: actions.shape.count == 2 ? actions.shape[1] : 0,
                              cameras: cameras.map { Episode.CameraFrames(name: $0.name, width: $0.width, height: $0.height) },
                              recordsCube: hasCube)
        let joints = try file.readDoubles("\(demo)/obs/joint_pos").values
        let pose = try file.readDoubles("\(demo)/obs/ee_pose").values
        let gripper = try file.readDoubles("\(demo)/obs/gripper").values
        let cube = hasCube ? try file.readDoubles("\(demo)/obs/cube_pos").values : nil
        let targets = try file.readDoubles("\(demo)/joint_targets").values
        let rewards = try file.readDoubles("\(demo)/rewards").values
        let dones = try file.readBytes("\(demo)/dones").values
        let interventions = try file.readBytes("\(demo)/interventions").values
        let timestamps = try file.readDoubles("\(demo)/timestamps").values
        episode.startJointTargets = try file.readDoubles("\(demo)/start_joint_targets").values
        let labels = file.exists("\(demo)/labels") ? try file.readBytes("\(demo)/labels").values : nil
        let steps = rewards.count
        let j = meta.jointNames.count, a = episode.actionWidth
        guard joints.count == steps * j, targets.count == steps * j, pose.count == steps * 6, actions.values.count == steps * a,
              gripper.count == steps, dones.count == steps, interventions.count == steps, timestamps.count == steps,
              cube.map({ $0.count == steps * 3 }) ?? true, labels.map({ $0.count == steps }) ?? true,
              cameras.allSatisfy({ $0.pixels.count == steps * $0.width * $0.height * 3 }) else {
            throw .typeMismatch(file: url.path, object: demo, expected: "datasets of \(steps) steps each")
        }
        for step in 0..<steps {
            episode.append(jointPositions: Array(joints[(step * j)..<((step + 1) * j)]), endEffector: Array(pose[(step * 6)..<((step + 1) * 6)]),
                           gripper: gripper[step], cubePosition: cube.map { Array($0[(step * 3)..<((step + 1) * 3)]) },
                           images: cameras.map { camera in
                               let size = camera.width * camera.height * 3
                               return Array(camera.pixels[(step * size)..<((step + 1) * size)])
                           },
                           action: Array(actions.values[(step * a)..<((step + 1) * a)]), jointTargets: Array(targets[(step * j)..<((step + 1) * j)]),
                           reward: rewards[step], done: dones[step] != 0, intervention: interventions[step] != 0, timestamp: timestamps[step])
        }
        episode.labels = labels
        return episode
    }

    /// The episode's numbers without reading its images.
    public static func summary(_ url: URL) throws(DataError) -> EpisodeSummary {
        let file = try HDF5File(path: url.path, mode: .readOnly)
        let demo = Self.demo
        let meta = try metadata(file)
        let rewards = try file.readDoubles("\(demo)/rewards").values
        let interventions = try file.readBytes("\(demo)/interventions").values
        let timestamps = try file.readDoubles("\(demo)/timestamps").values
        let cameras = try file.members(of: "\(demo)/obs").filter { (try? file.elementType(of: "\(demo)/obs/\($0)")) == "uint8" }
        let labels = file.exists("\(demo)/labels") ? try file.readBytes("\(demo)/labels").values : nil
        let bytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        let duration = (timestamps.last ?? 0) + (meta.policyHz > 0 ? 1 / meta.policyHz : 0)
        return EpisodeSummary(file: url.lastPathComponent, robot: meta.robot, task: meta.task, steps: rewards.count,
                              success: meta.success, interventions: interventions.reduce(0) { $0 + Int($1) },
                              labels: labels.map { labels in
                                  let positives = labels.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
                                  return (positives, labels.count - positives)
                              },
                              cameras: cameras, durationSeconds: rewards.isEmpty ? 0 : duration, bytes: bytes)
    }

    private static func metadata(_ file: HDF5File) throws(DataError) -> Episode.Metadata {
        let demo = Self.demo
        return Episode.Metadata(
            robot: try file.stringAttribute("robot", on: demo), task: try file.stringAttribute("task", on: demo),
            busHz: try file.doubleAttribute("bus_hz", on: demo), policyHz: try file.doubleAttribute("policy_hz", on: demo),
            calibrationID: try file.stringAttribute("calibration_id", on: demo),
            success: try file.intAttribute("success", on: demo) != 0,
            softwareVersion: try file.stringAttribute("software_version", on: demo),
            jointNames: try file.stringAttribute("joint_names", on: demo).split(separator: ",").map(String.init),
            startedUnixSeconds: try file.doubleAttribute("started_unix_s", on: demo))
    }
}

/// Writes episodes into a folder as `episode_000000.h5`, `episode_000001.h5`, …, each under a
/// temporary name (`.episode_000001.h5.tmp`) until complete, so a crash or kill -9 loses at most
/// the episode being written.
public final class EpisodeWriter {
    public let directory: URL
    /// Temporary files a previous run left behind, removed when this writer was made.
    public let removedLeftovers: [String]
    private var nextIndex: Int

    public init(directory: URL) throws(DataError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .hdf5(file: directory.path, object: "/", operation: "creating the folder (\(error.localizedDescription))")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var removed: [String] = []
        for name in names where name.hasSuffix(".h5.tmp") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
            removed.append(name)
        }
        removedLeftovers = removed.sorted()
        nextIndex = (names.compactMap(Self.index(of:)).max() ?? -1) + 1
    }

    /// The index in `episode_000123.h5`, or nil for other names.
    public static func index(of name: String) -> Int? {
        guard name.hasPrefix("episode_"), name.hasSuffix(".h5") else { return nil }
        return Int(name.dropFirst("episode_".count).dropLast(3))
    }

    /// Writes the episode under a temporary name, syncs it to disk, then renames it into place.
    @discardableResult
    public func write(_ episode: Episode) throws(DataError) -> URL {
        let name = String(format: "episode_%06d.h5", nextIndex)
        let final = directory.appendingPathComponent(name)
        let temporary = directory.appendingPathComponent(".\(name).tmp")
        try EpisodeFile.write(episode, to: temporary)
        let descriptor = open(temporary.path, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
        guard rename(temporary.path, final.path) == 0 else {
            throw .hdf5(file: final.path, object: "/", operation: "renaming \(temporary.lastPathComponent) into place (\(String(cString: strerror(errno))))")
        }
        nextIndex += 1
        return final
    }
}
