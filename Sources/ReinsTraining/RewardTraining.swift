import Foundation
import ReinsControl
import ReinsCore
import ReinsData
import ReinsLearn
import ReinsNN

/// A folder of labelled episodes that cannot train or judge a classifier; the message says what to do.
public struct RewardDataError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Labelled frames and the episode files they came from.
public struct LabelledEpisodes: Sendable {
    public var frames: LabelledFrames
    /// Per episode (as `frames.episodes` counts them): its file, as the folder was named plus the file's name.
    public var files: [String]
    /// Per episode: whether the policy acted in it (some step was not the operator's), as in the
    /// episodes `reins train --record` writes: its labels show success about as often as a run's
    /// frames do, where a recording's scripted or operated episodes, often past a success, show
    /// it far more.
    public var online: [Bool]

    /// The share of success frames in the episodes the policy acted in; nil without any.
    public var onlineSuccessRate: Double? {
        var positives = 0, total = 0
        for (label, episode) in zip(frames.labels, frames.episodes) where online[episode] {
            total += 1
            if label { positives += 1 }
        }
        return total > 0 && positives > 0 ? Double(positives) / Double(total) : nil
    }
}

/// The labelled frames of a folder of episodes (`reins record` labels every frame).
public enum RewardDataset {
    /// Every frame of every episode file in `folders`, labelled, for `cameras` (nil: the first
    /// episode's first camera). Episodes count from 0, folder by folder in file-name order.
    public static func load(folders: [URL], cameras: [String]?) throws(RewardDataError) -> LabelledFrames {
        try loadEpisodes(folders: folders, cameras: cameras).frames
    }

    /// `load`, with each episode's file and whether the policy acted in it.
    public static func loadEpisodes(folders: [URL], cameras: [String]?) throws(RewardDataError) -> LabelledEpisodes {
        var paths: [String] = []
        var seen = Set<String>()
        for folder in folders {
            // The same folder named twice (a resumed classifier's and a --data) counts once.
            guard seen.insert(folder.standardizedFileURL.resolvingSymlinksInPath().path).inserted else { continue }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
                throw RewardDataError("\(folder.path) is not a folder; give a folder `reins record --out` (or `reins train --record`) wrote")
            }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
                .filter { $0.hasSuffix(".h5") && !$0.hasPrefix(".") }.sorted()
            guard !names.isEmpty else { throw RewardDataError("\(folder.path) has no episode files (episode_NNNNNN.h5); record some with `reins record`") }
            paths += names.map { folder.appendingPathComponent($0).relativePath }
        }
        var frames: LabelledFrames?
        var online: [Bool] = []
        for (index, path) in paths.enumerated() {
            let episode: Episode
            do {
                episode = try EpisodeFile.read(URL(fileURLWithPath: path))
            } catch {
                throw RewardDataError("\(path): \(error)")
            }
            guard let labels = episode.labels else {
                throw RewardDataError("\(path) has no frame labels (recorded before labels): record again with `reins record` (the console's l key, or --operator scripted on the twin)")
            }
            let wanted = cameras ?? episode.cameras.first.map { [$0.name] } ?? []
            guard !wanted.isEmpty else { throw RewardDataError("\(path) has no camera frames to classify") }
            var sources: [Episode.CameraFrames] = []
            for camera in wanted {
                guard let source = episode.cameras.first(where: { $0.name == camera }) else {
                    throw RewardDataError("\(path) has no camera \(camera) (it has \(episode.cameras.map(\.name).joined(separator: ", ")))")
                }
                sources.append(source)
            }
            let images = sources.map { ObservationSpec.Image(name: $0.name, height: $0.height, width: $0.width) }
            if frames == nil { frames = LabelledFrames(cameras: images) }
            guard frames!.cameras == images else {
                throw RewardDataError("\(path) has \(describe(images)) where the episodes before it have \(describe(frames!.cameras)); record every episode alike")
            }
            for step in 0..<episode.steps {
                frames!.append(frames: sources.enumerated().map { camera, source in
                    let size = images[camera].byteCount
                    return source.pixels[(step * size)..<((step + 1) * size)]
                }, label: labels[step] != 0, episode: index)
            }
            online.append(episode.interventions.contains(0))
        }
        return LabelledEpisodes(frames: frames!, files: paths, online: online)
    }

    /// A file's name as `loadEpisodes` gives it, made comparable however the folder was named.
    public static func identity(_ file: String) -> String {
        URL(fileURLWithPath: file).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// "front 64x64, wrist 64x64".
    public static func describe(_ cameras: [ObservationSpec.Image]) -> String {
        cameras.map { "\($0.name) \($0.width)x\($0.height)" }.joined(separator: ", ")
    }

    /// For each frame, whether it is more than `margin` frames from a change of label within its
    /// episode (frames of an episode are consecutive, as `load` appends them).
    public static func clearOfLabelChanges(_ data: LabelledFrames, margin: Int) -> [Bool] {
        var clear = [Bool](repeating: true, count: data.count)
        guard margin > 0 else { return clear }
        for index in 1..<max(data.count, 1) where data.episodes[index] == data.episodes[index - 1] && data.labels[index] != data.labels[index - 1] {
            for near in max(0, index - margin)..<min(data.count, index + margin) where data.episodes[near] == data.episodes[index] {
                clear[near] = false
            }
        }
        return clear
    }

    /// Episodes held out from training: `kept` (a resumed classifier's held-out episodes) and about
    /// `fraction` of `candidates` (nil: every episode), drawn with `seed` so that both sides keep
    /// frames of both classes; nil when the episodes cannot be split so.
    public static func heldOutEpisodes(_ data: LabelledFrames, fraction: Double, seed: UInt64, kept: Set<Int> = [],
                                       candidates: [Int]? = nil) -> Set<Int>? {
        let episodes = Array(Set(data.episodes)).sorted()
        guard episodes.count >= 2 else { return nil }
        let drawn = (candidates ?? episodes).filter { !kept.contains($0) }
        var classes: [Int: (positives: Int, negatives: Int)] = [:]
        for (episode, label) in zip(data.episodes, data.labels) {
            var counts = classes[episode] ?? (0, 0)
            if label { counts.positives += 1 } else { counts.negatives += 1 }
            classes[episode] = counts
        }
        func both(_ side: [Int]) -> Bool {
            side.contains { classes[$0]!.positives > 0 } && side.contains { classes[$0]!.negatives > 0 }
        }
        let room = episodes.count - kept.count - 1
        guard room >= 0 else { return nil }
        // As many as the fraction asks (at least one when nothing is kept), more only when the split needs them.
        let base = min(max(kept.isEmpty ? 1 : 0, Int((Double(drawn.count) * fraction).rounded())), min(drawn.count, room))
        var generator = SplitMix64(seed: seed)
        for wanted in base...max(base, min(drawn.count, room)) {
            for _ in 0..<100 {
                let held = kept.union(drawn.shuffled(using: &generator).prefix(wanted))
                if both(Array(held)), both(episodes.filter { !held.contains($0) }) { return held }
                if wanted == 0 { break }
            }
        }
        return nil
    }
}

/// Trains a reward classifier on labelled frames, holding out whole episodes, and picks its
/// threshold on them.
public struct RewardTraining {
    public struct Progress: Sendable {
        public var step: Int
        public var loss: Float
        public var heldOutAccuracy: Double
    }

    /// The episodes a classifier was trained on and held out, by file (a resumed classifier keeps
    /// its held-out ones held out, so none of their frames is ever trained on).
    public struct Split: Codable, Sendable, Equatable {
        public var heldOut: [String]
        public var trained: [String]

        public init(heldOut: [String], trained: [String]) {
            self.heldOut = heldOut
            self.trained = trained
        }
    }

    public struct Report: Codable, Sendable {
        public var trainingFrames: Int
        public var trainingPositives: Int
        public var heldOutEpisodes: [Int]
        /// With the episodes' files: which were held out and trained on.
        public var split: Split?
        /// A resumed classifier's held-out episodes not among the data (held out no more: not trained on either).
        public var missingHeldOut: [String]
        /// Of the held-out episodes, those a resumed classifier had held out.
        public var keptHeldOut: Int
        /// The share of success frames the threshold was chosen for, and the held-out precision there.
        public var liveSuccessRate: Double?
        public var precisionAtLiveRate: Double
        public var heldOutFrames: Int
        public var heldOutPositives: Int
        /// Frames left out of both sides for being near a change of label (`labelChangeMargin`).
        public var nearLabelChanges: Int
        /// On the held-out episodes, at the chosen threshold.
        public var heldOut: ClassifierMetrics
        /// Of those, on the episodes the policy acted in (nil without any): its frames are the
        /// ones a run shows, where scripted or operated episodes look like the training frames.
        public var heldOutPolicyEpisodes: Int
        public var heldOutPolicy: ClassifierMetrics?
        public var precision: Double
        public var recall: Double
        public var accuracy: Double
        /// Whether a threshold reached the minimum precision with the minimum recall (else the
        /// most precise keeping the recall was kept).
        public var precisionReached: Bool
        public var minimumRecall: Double
        /// The highest thresholds keeping each of `reportedRecalls` on the held-out episodes.
        public var operatingPoints: [ClassifierMetrics]
        public var steps: Int
        public var seconds: Double
    }

    /// Fewer frames of either class than this and training is refused.
    public static let minimumFramesPerClass = 20

    public var config: RewardClassifierConfig
    public var steps = 1_500
    public var seed: UInt64 = 0
    public var heldOutFraction = 0.2
    public var minimumPrecision = 0.95
    /// The threshold never rises past the recall this keeps: held-out failure frames are a few
    /// hundred, so at a live rate of 5 % a single one that looks like success can otherwise drive
    /// the threshold to where it calls one success in ten (measured on pick: 1 − 2.3e-05, recall 0.13),
    /// and the operator presses `y` for the rest.
    public var minimumRecall = 0.5
    /// The recalls whose thresholds the report lists.
    public static let reportedRecalls = [1, 0.9, 0.75, 0.5, 0.25]
    /// The share of success frames live in a run: the threshold keeps `minimumPrecision` with the
    /// held-out failures weighted to it (nil: as the held-out set has them).
    public var liveSuccessRate: Double?
    /// Frames this close to a change of label within their episode are left out of training and
    /// of the held-out figures: a person's key, and the stand-in's, follows what they see 0.2–0.5 s
    /// late, so the labels there are unsure, and a frame a moment past the lift looks like the one
    /// before it. Left in, such frames push the threshold that keeps precision up until frames well
    /// past success no longer reach it.
    public var labelChangeMargin = 3

    public init(config: RewardClassifierConfig) {
        self.config = config
    }

    /// Refuses data too thin to learn from, with the counts (of the frames `clear` keeps).
    public static func check(_ data: LabelledFrames, clear: [Bool]? = nil, folder: String) throws(RewardDataError) {
        let kept = clear ?? [Bool](repeating: true, count: data.count)
        let positives = zip(data.labels, kept).filter { $0 && $1 }.count
        let negatives = kept.filter { $0 }.count - positives
        guard positives >= minimumFramesPerClass, negatives >= minimumFramesPerClass else {
            let near = kept.count - kept.filter { $0 }.count
            throw RewardDataError("\(folder) has \(positives) success and \(negatives) failure frames\(near > 0 ? " (leaving out \(near) near a change of label)" : ""); the classifier needs at least \(minimumFramesPerClass) of each: record more episodes (--past-success N adds success frames)")
        }
    }

    /// Trains a new classifier, or goes on training `initial` (its settings, not `config`, hold),
    /// and sets its threshold on the held-out episodes. With `files` (each episode's file) the
    /// report names the split; with `resumedSplit` too, its held-out episodes stay held out, its
    /// trained ones are never held out, and only new episodes are split anew. With `online` (per
    /// episode, whether the policy acted in it) the report gives the held-out figures on those
    /// episodes apart.
    public func run(_ data: LabelledFrames, folder: String, startingFrom initial: RewardClassifier? = nil, files: [String]? = nil,
                    resumedSplit: Split? = nil, online: [Bool]? = nil, progressEvery: Int = 100,
                    progress: (Progress) -> Void = { _ in }) throws(RewardDataError) -> (RewardClassifier, Report) {
        let clear = RewardDataset.clearOfLabelChanges(data, margin: labelChangeMargin)
        try Self.check(data, clear: clear, folder: folder)
        if let initial, initial.config.cameras != data.cameras {
            throw RewardDataError("\(folder) has \(RewardDataset.describe(data.cameras)) where the classifier goes on from \(RewardDataset.describe(initial.config.cameras)); give episodes recorded as its own were")
        }
        var kept: Set<Int> = [], candidates: [Int]?, missing: [String] = []
        if let files, let resumedSplit {
            let identities = files.map(RewardDataset.identity)
            let heldBefore = Set(resumedSplit.heldOut.map(RewardDataset.identity))
            let known = heldBefore.union(resumedSplit.trained.map(RewardDataset.identity))
            kept = Set(identities.indices.filter { heldBefore.contains(identities[$0]) })
            candidates = identities.indices.filter { !known.contains(identities[$0]) }
            let present = Set(identities)
            missing = resumedSplit.heldOut.filter { !present.contains(RewardDataset.identity($0)) }
        }
        guard let held = RewardDataset.heldOutEpisodes(data, fraction: heldOutFraction, seed: seed, kept: kept, candidates: candidates) else {
            throw RewardDataError("\(folder): its episodes cannot be split into training and held-out ones that both have success and failure frames; record more episodes that succeed")
        }
        let start = Date()
        let classifier = initial ?? RewardClassifier(config: config, seed: seed)
        let training = (0..<data.count).filter { clear[$0] && !held.contains(data.episodes[$0]) }
        let heldOut = (0..<data.count).filter { clear[$0] && held.contains(data.episodes[$0]) }
        let positives = training.filter { data.labels[$0] }, negatives = training.filter { !data.labels[$0] }
        let heldOutLabels = heldOut.map { data.labels[$0] }
        guard !positives.isEmpty, !negatives.isEmpty, heldOutLabels.contains(true), heldOutLabels.contains(false) else {
            throw RewardDataError("\(folder): away from changes of label, its training or held-out episodes lack success or failure frames; record more episodes, longer past success (--past-success N)")
        }
        var generator = SplitMix64(seed: seed &+ 23)
        var recentLoss: Float = 0
        for step in 1...max(steps, 1) {
            let loss = classifier.trainStep(data, positives: positives, negatives: negatives, using: &generator)
            recentLoss = step == 1 ? loss : 0.95 * recentLoss + 0.05 * loss
            if step % progressEvery == 0 || step == steps {
                let metrics = ClassifierMetrics(probabilities: classifier.probabilities(data, indices: heldOut), labels: heldOutLabels, threshold: 0.5)
                progress(Progress(step: step, loss: recentLoss, heldOutAccuracy: metrics.accuracy))
            }
        }
        let probabilities = classifier.probabilities(data, indices: heldOut)
        let chosen = ClassifierMetrics.threshold(probabilities: probabilities, labels: heldOutLabels, minimumPrecision: minimumPrecision,
                                                 minimumRecall: minimumRecall, successRate: liveSuccessRate)
        let threshold = chosen ?? ClassifierMetrics.mostPrecise(probabilities: probabilities, labels: heldOutLabels, minimumRecall: minimumRecall,
                                                                successRate: liveSuccessRate)
        classifier.setThreshold(threshold)
        let metrics = ClassifierMetrics(probabilities: probabilities, labels: heldOutLabels, threshold: threshold)
        let policyFrames = online.map { online in heldOut.indices.filter { online[data.episodes[heldOut[$0]]] } } ?? []
        let policyEpisodes = Set(policyFrames.map { data.episodes[heldOut[$0]] }).count
        let heldOutPolicy = policyFrames.isEmpty ? nil
            : ClassifierMetrics(probabilities: policyFrames.map { probabilities[$0] }, labels: policyFrames.map { heldOutLabels[$0] }, threshold: threshold)
        let split = files.map { files in
            Split(heldOut: held.sorted().map { files[$0] }, trained: Set(data.episodes).subtracting(held).sorted().map { files[$0] })
        }
        let report = Report(trainingFrames: training.count, trainingPositives: positives.count, heldOutEpisodes: held.sorted(),
                            split: split, missingHeldOut: missing, keptHeldOut: kept.count, liveSuccessRate: liveSuccessRate,
                            precisionAtLiveRate: metrics.precision(atSuccessRate: liveSuccessRate ?? 0),
                            heldOutFrames: heldOut.count, heldOutPositives: heldOutLabels.filter { $0 }.count,
                            nearLabelChanges: clear.count - clear.filter { $0 }.count, heldOut: metrics,
                            heldOutPolicyEpisodes: policyEpisodes, heldOutPolicy: heldOutPolicy,
                            precision: metrics.precision, recall: metrics.recall, accuracy: metrics.accuracy,
                            precisionReached: chosen != nil, minimumRecall: minimumRecall,
                            operatingPoints: ClassifierMetrics.operatingPoints(probabilities: probabilities, labels: heldOutLabels,
                                                                               recalls: Self.reportedRecalls),
                            steps: steps, seconds: Date().timeIntervalSince(start))
        return (classifier, report)
    }
}

extension RewardDataset {
    /// The frames `indices` names as one PNG-ready sheet: each tile the cameras side by side at
    /// twice their size, framed red where the classifier called a failure success and blue where
    /// it missed a success; at most `limit` tiles, eight to a row.
    public static func contactSheet(_ data: LabelledFrames, indices: [Int], limit: Int = 96) -> Image? {
        let shown = Array(indices.prefix(limit))
        guard !shown.isEmpty else { return nil }
        let scale = 2, border = 3, gap = 2
        let frameHeight = data.cameras.map(\.height).max()! * scale
        let tileWidth = data.cameras.reduce(0) { $0 + $1.width * scale } + 2 * border
        let tileHeight = frameHeight + 2 * border
        let columns = min(8, shown.count), rows = (shown.count + columns - 1) / columns
        let width = columns * tileWidth + (columns + 1) * gap, height = rows * tileHeight + (rows + 1) * gap
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for (tile, index) in shown.enumerated() {
            let left = gap + (tile % columns) * (tileWidth + gap), top = gap + (tile / columns) * (tileHeight + gap)
            // A success label wrongly called failure is a miss (blue); otherwise a false success (red).
            let colour: [UInt8] = data.labels[index] ? [40, 90, 230] : [230, 40, 40]
            for y in top..<(top + tileHeight) {
                for x in left..<(left + tileWidth) {
                    for channel in 0..<3 { pixels[(y * width + x) * 3 + channel] = colour[channel] }
                }
            }
            var x0 = left + border
            for (camera, image) in data.cameras.enumerated() {
                let frame = data.frame(index, camera: camera)
                let base = frame.startIndex
                for y in 0..<(image.height * scale) {
                    for x in 0..<(image.width * scale) {
                        let source = base + ((y / scale) * image.width + x / scale) * 3
                        let destination = ((top + border + y) * width + x0 + x) * 3
                        for channel in 0..<3 { pixels[destination + channel] = frame[source + channel] }
                    }
                }
                x0 += image.width * scale
            }
        }
        return Image(width: width, height: height, channels: 3, pixels: pixels)
    }
}

/// A reward classifier file as the station's success detector (`--reward classifier:FILE`).
public final class ClassifierReward: SuccessClassifier, @unchecked Sendable {
    public let path: String
    public let cameras: [(name: String, width: Int, height: Int)]
    public let threshold: Double
    private let classifier: Lock<RewardClassifier>

    public init(path: String) throws(SafetensorsError) {
        let loaded = try RewardClassifier.load(from: path).classifier
        self.path = path
        cameras = loaded.config.cameras.map { ($0.name, $0.width, $0.height) }
        threshold = Double(loaded.config.threshold)
        classifier = Lock(loaded)
    }

    /// 0 when a camera's frame is missing or of another size (the station checked the sizes when it opened).
    public func probability(of observation: EpisodeObservation) -> Double {
        let frames = cameras.map { observation.images[$0.name] ?? [] }
        guard zip(frames, cameras).allSatisfy({ $0.count == $1.width * $1.height * 3 }) else { return 0 }
        return Double(classifier.withLock { $0.probability(frames: frames) })
    }
}
