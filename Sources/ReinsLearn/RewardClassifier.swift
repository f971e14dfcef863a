import Foundation
import ReinsCore
import ReinsNN

/// The reward classifier's settings, stored in its file.
public struct RewardClassifierConfig: Codable, Sendable, Equatable {
    /// The cameras it looks at, in order, and their frame size.
    public var cameras: [ObservationSpec.Image]
    /// The policy's encoder layers: 3×3 stride-2 convolutions, a bottleneck, LayerNorm, tanh.
    public var encoderFilters = 32
    public var encoderLayers = 3
    public var encoderLatentWidth = 64
    public var hiddenWidths = [256]
    public var learningRate: Float = 3e-4
    public var batchSize = 64
    /// Random-shift augmentation while training, in pixels.
    public var augmentationShift = 4
    /// The probability at or above which a frame counts as success.
    public var threshold: Float = 0.5

    public init(cameras: [ObservationSpec.Image]) {
        self.cameras = cameras
    }

    /// The encoder's view of these settings: cameras only, no proprio.
    var encoderConfig: SACConfig {
        var config = SACConfig(observation: ObservationSpec(images: cameras, proprioWidth: 0), actionWidth: 1)
        (config.encoderFilters, config.encoderLayers, config.encoderLatentWidth) = (encoderFilters, encoderLayers, encoderLatentWidth)
        return config
    }
}

/// Frames with success/failure labels, per camera one block of [count, H, W, 3] bytes, and the
/// episode each frame came from (so a held-out split can be made by episode).
public struct LabelledFrames: Sendable {
    public let cameras: [ObservationSpec.Image]
    public private(set) var pixels: [[UInt8]]
    public private(set) var labels: [Bool] = []
    public private(set) var episodes: [Int] = []

    public init(cameras: [ObservationSpec.Image]) {
        self.cameras = cameras
        pixels = cameras.map { _ in [] }
    }

    public var count: Int { labels.count }
    public var positives: Int { labels.lazy.filter { $0 }.count }
    public var negatives: Int { count - positives }

    /// Adds one frame per camera, in `cameras` order.
    public mutating func append(frames: [ArraySlice<UInt8>], label: Bool, episode: Int) {
        precondition(frames.count == cameras.count, "one frame per camera")
        for (index, frame) in frames.enumerated() {
            precondition(frame.count == cameras[index].byteCount, "camera \(cameras[index].name) frame size")
            pixels[index] += frame
        }
        labels.append(label)
        episodes.append(episode)
    }

    /// Frame `index` of camera `camera`.
    public func frame(_ index: Int, camera: Int) -> ArraySlice<UInt8> {
        let size = cameras[camera].byteCount
        return pixels[camera][(index * size)..<((index + 1) * size)]
    }
}

/// Precision, recall and the confusion counts at one threshold.
public struct ClassifierMetrics: Codable, Sendable, Equatable {
    public var threshold: Float
    public var truePositives = 0, falsePositives = 0, trueNegatives = 0, falseNegatives = 0

    public init(probabilities: [Float], labels: [Bool], threshold: Float) {
        self.threshold = threshold
        for (probability, label) in zip(probabilities, labels) {
            switch (probability >= threshold, label) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, false): trueNegatives += 1
            case (false, true): falseNegatives += 1
            }
        }
    }

    /// Of the frames called success, the share that were; 1 when none was called.
    public var precision: Double { truePositives + falsePositives == 0 ? 1 : Double(truePositives) / Double(truePositives + falsePositives) }
    /// Of the success frames, the share called success.
    public var recall: Double { truePositives + falseNegatives == 0 ? 0 : Double(truePositives) / Double(truePositives + falseNegatives) }
    public var accuracy: Double {
        let total = truePositives + falsePositives + trueNegatives + falseNegatives
        return total == 0 ? 0 : Double(truePositives + trueNegatives) / Double(total)
    }

    /// Precision where a share `rate` of the frames show success, as live in a run (about 4 % of
    /// a pick run's frames) rather than as in the labelled set (about half, recorded past
    /// success): each failure frame counts as many times as makes the failures stand to the
    /// successes as they would live. A false success is so much more likely live than in a set
    /// of half successes. The raw precision without frames of either class.
    public func precision(atSuccessRate rate: Double) -> Double {
        let positives = truePositives + falseNegatives, negatives = falsePositives + trueNegatives
        guard positives > 0, negatives > 0, rate > 0, rate < 1 else { return precision }
        let weight = Double(positives) * (1 - rate) / (rate * Double(negatives))
        let called = Double(truePositives) + weight * Double(falsePositives)
        return called == 0 ? 1 : Double(truePositives) / called
    }

    /// The lowest threshold (most recall) whose precision, at the live success rate `successRate`
    /// when given, is at least `minimumPrecision` with at least one success called, so long as its
    /// recall stays at least `minimumRecall`; nil when no threshold reaches both. A false success
    /// ends an episode with a reward it did not earn, so precision comes first, but a classifier
    /// that calls one success in ten leaves the operator pressing `y` for the rest.
    public static func threshold(probabilities: [Float], labels: [Bool], minimumPrecision: Double, minimumRecall: Double = 0,
                                 successRate: Double? = nil) -> Float? {
        let candidates = Set(probabilities.filter { $0 > 0 }).sorted()
        for candidate in candidates {
            let metrics = ClassifierMetrics(probabilities: probabilities, labels: labels, threshold: candidate)
            guard metrics.recall >= minimumRecall else { return nil }
            if metrics.truePositives > 0 && metrics.precision(atSuccessRate: successRate ?? 0) >= minimumPrecision { return candidate }
        }
        return nil
    }

    /// Without a threshold that reaches both: the one with the best precision (at `successRate`
    /// when given) whose recall is at least `minimumRecall` (when none keeps it, any that calls
    /// some success), the highest such on ties.
    public static func mostPrecise(probabilities: [Float], labels: [Bool], minimumRecall: Double = 0, successRate: Double? = nil) -> Float {
        let points = curve(probabilities: probabilities, labels: labels).filter { $0.truePositives > 0 }
        let keepingRecall = points.filter { $0.recall >= minimumRecall }
        var best: (precision: Double, threshold: Float) = (-1, 0.5)
        for metrics in keepingRecall.isEmpty ? points : keepingRecall {
            let precision = metrics.precision(atSuccessRate: successRate ?? 0)
            if precision >= best.precision { best = (precision, metrics.threshold) }
        }
        return best.threshold
    }

    /// For each recall in `recalls`, the highest threshold that keeps it: the trade a threshold
    /// makes between false successes and missed ones, to print beside the one chosen.
    public static func operatingPoints(probabilities: [Float], labels: [Bool], recalls: [Double]) -> [ClassifierMetrics] {
        let points = curve(probabilities: probabilities, labels: labels)
        return recalls.compactMap { recall in points.last { $0.recall >= recall } }
    }

    /// The metrics at every distinct probability as a threshold, lowest first.
    static func curve(probabilities: [Float], labels: [Bool]) -> [ClassifierMetrics] {
        Set(probabilities).sorted().map { ClassifierMetrics(probabilities: probabilities, labels: labels, threshold: $0) }
    }
}

/// A binary success classifier on camera frames, as HIL-SERL's reward: the policy's convolution
/// layers per camera, latents concatenated, an MLP and one logit. Trained with binary
/// cross-entropy on class-balanced, random-shifted batches.
public final class RewardClassifier: @unchecked Sendable {
    public private(set) var config: RewardClassifierConfig
    let parameters = ParameterSet()
    let encoder: ObservationEncoder
    let head: Sequential
    let optimizer: Adam
    private let images: [FloatBuffer]  // per camera (B, H, W, C)
    private let proprio: FloatBuffer
    private let batch: ObservationBatch
    private let logitGradient: FloatBuffer  // (B)
    private let targets: FloatBuffer  // (B)

    public init(config: RewardClassifierConfig, seed: UInt64) {
        self.config = config
        let encoderConfig = config.encoderConfig
        encoder = ObservationEncoder("reward.encoder", config: encoderConfig, extraWidth: 0, maxBatch: config.batchSize, parameters: parameters)
        head = multilayerPerceptron("reward.head", input: encoder.featureWidth, hidden: config.hiddenWidths, output: 1,
                                    maxBatch: config.batchSize, parameters: parameters)
        parameters.allocate()
        var generator = SplitMix64(seed: seed)
        encoder.initialize(using: &generator)
        head.initialize(using: &generator)
        optimizer = Adam(parameters, learningRate: config.learningRate)
        images = config.cameras.map { FloatBuffer(count: config.batchSize * $0.byteCount) }
        proprio = FloatBuffer(count: 1)
        batch = ObservationBatch(images: images.map { UnsafePointer($0.pointer) }, proprio: proprio.pointer)
        logitGradient = FloatBuffer(count: config.batchSize)
        targets = FloatBuffer(count: config.batchSize)
    }

    /// Sets the decision threshold (chosen on held-out frames after training).
    public func setThreshold(_ threshold: Float) { config.threshold = threshold }

    /// One Adam step on a batch drawn half from `positives` and half from `negatives` (indices into
    /// `data`), each frame randomly shifted; the batch's mean binary cross-entropy.
    public func trainStep(_ data: LabelledFrames, positives: [Int], negatives: [Int], using generator: inout SplitMix64) -> Float {
        precondition(!positives.isEmpty && !negatives.isEmpty, "a balanced batch needs both classes")
        let size = config.batchSize
        for row in 0..<size {
            let positive = row % 2 == 0
            let pool = positive ? positives : negatives
            let index = pool[Int(generator.next() % UInt64(pool.count))]
            targets[row] = positive ? 1 : 0
            fill(row: row, from: data, index: index, shift: config.augmentationShift, using: &generator)
        }
        let logits = forward(rows: 0..<size, forBackward: true)
        var loss: Float = 0
        for row in 0..<size {
            let z = logits[row]
            loss += softplus(z) - targets[row] * z
            logitGradient[row] = (1 / (1 + exp(-z)) - targets[row]) / Float(size)
        }
        parameters.zeroGradients()
        head.backward(logitGradient.pointer, input: encoder.features.pointer, rows: 0..<size, gradients: parameters.gradients)
        encoder.featureGradient.pointer.update(from: head.inputGradient, count: size * encoder.featureWidth)
        encoder.backward(batch, rows: 0..<size, gradients: parameters.gradients)
        optimizer.update()
        return loss / Float(size)
    }

    /// The success probability of each frame `indices` names, unshifted.
    public func probabilities(_ data: LabelledFrames, indices: [Int]) -> [Float] {
        var generator = SplitMix64(seed: 0)
        var result: [Float] = []
        result.reserveCapacity(indices.count)
        for start in stride(from: 0, to: indices.count, by: config.batchSize) {
            let chunk = indices[start..<min(start + config.batchSize, indices.count)]
            for (row, index) in chunk.enumerated() { fill(row: row, from: data, index: index, shift: 0, using: &generator) }
            let logits = forward(rows: 0..<chunk.count, forBackward: false)
            result += (0..<chunk.count).map { 1 / (1 + exp(-logits[$0])) }
        }
        return result
    }

    /// The success probability of one live frame per camera, in `config.cameras` order.
    public func probability(frames: [[UInt8]]) -> Float {
        precondition(frames.count == config.cameras.count, "one frame per camera")
        for (camera, frame) in frames.enumerated() {
            precondition(frame.count == config.cameras[camera].byteCount, "camera \(config.cameras[camera].name) frame size")
            let destination = images[camera].pointer
            for index in 0..<frame.count { destination[index] = Float(frame[index]) * (1 / 255) }
        }
        let logit = forward(rows: 0..<1, forBackward: false)[0]
        return 1 / (1 + exp(-logit))
    }

    private func fill(row: Int, from data: LabelledFrames, index: Int, shift: Int, using generator: inout SplitMix64) {
        for (camera, image) in config.cameras.enumerated() {
            let frame = data.frame(index, camera: camera)
            frame.withUnsafeBufferPointer { source in
                ReplayBuffer.copyShifted(out: images[camera].pointer + row * image.byteCount, source.baseAddress!, image: image,
                                         shift: shift, using: &generator)
            }
        }
    }

    private func forward(rows: Range<Int>, forBackward: Bool) -> UnsafeMutablePointer<Float> {
        encoder.forward(batch, extra: nil, rows: rows, forBackward: forBackward)
        return head.forward(encoder.features.pointer, rows: rows, forBackward: forBackward)
    }

    static let format = "reins.reward_classifier"

    /// Writes the classifier (its tensors, settings and `metadata`) as a safetensors file.
    public func save(to path: String, metadata: [String: String] = [:]) throws(SafetensorsError) {
        let json = String(decoding: (try? JSONEncoder().encode(config)) ?? Data(), as: UTF8.self)
        try Safetensors.write(parameters.entries(), metadata: metadata.merging(["reins.reward_config": json, "format": Self.format]) { $1 },
                              to: path)
    }

    /// Loads a file `save(to:)` wrote; its metadata beside.
    public static func load(from path: String) throws(SafetensorsError) -> (classifier: RewardClassifier, metadata: [String: String]) {
        let file = try SafetensorsFile(path: path)
        guard file.metadata["format"] == format, let json = file.metadata["reins.reward_config"] else {
            throw .malformed(path: path, reason: "not a reward classifier file (written by `reins reward train`)")
        }
        let config: RewardClassifierConfig
        do {
            config = try JSONDecoder().decode(RewardClassifierConfig.self, from: Data(json.utf8))
        } catch {
            throw .malformed(path: path, reason: "its reins.reward_config metadata is not a classifier's settings (\(error))")
        }
        let classifier = RewardClassifier(config: config, seed: 0)
        try classifier.parameters.load(from: file)
        return (classifier, file.metadata)
    }
}
