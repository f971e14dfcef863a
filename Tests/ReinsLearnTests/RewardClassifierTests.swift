import Foundation
import ReinsCore
import Testing
@testable import ReinsLearn

@Suite("the reward classifier")
struct RewardClassifierTests {
    @Test("metrics count the confusion at a threshold; the threshold kept is the lowest with the precision asked for")
    func metricsAndThreshold() {
        let probabilities: [Float] = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2]
        let labels = [true, true, false, true, false, true, false]
        let metrics = ClassifierMetrics(probabilities: probabilities, labels: labels, threshold: 0.5)
        #expect((metrics.truePositives, metrics.falsePositives, metrics.trueNegatives, metrics.falseNegatives) == (3, 1, 2, 1))
        #expect(metrics.precision == 0.75 && metrics.recall == 0.75 && abs(metrics.accuracy - 5.0 / 7) < 1e-12)
        #expect(ClassifierMetrics.threshold(probabilities: probabilities, labels: labels, minimumPrecision: 1) == 0.8)
        #expect(ClassifierMetrics.threshold(probabilities: probabilities, labels: labels, minimumPrecision: 0.75) == 0.6)
        #expect(ClassifierMetrics.threshold(probabilities: [0.9, 0.8], labels: [false, false], minimumPrecision: 0.5) == nil)
    }

    @Test("one failure frame that looks like success cannot drive the threshold past the recall asked for; the trade is listed")
    func recallFloor() {
        // Ten success frames from 0.91 to 1.0, a failure at 0.995 among them, 99 clear failures below.
        var probabilities: [Float] = [0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0, 0.995]
        var labels = [Bool](repeating: true, count: 10) + [false]
        probabilities += (0..<99).map { 0.001 * Float($0) }
        labels += [Bool](repeating: false, count: 99)
        // At a live rate of 5 %, each failure frame counts about twice: precision 0.95 needs the
        // threshold above the lone failure, where one success in ten is left.
        #expect(ClassifierMetrics.threshold(probabilities: probabilities, labels: labels, minimumPrecision: 0.95, successRate: 0.05) == 1.0)
        #expect(ClassifierMetrics.threshold(probabilities: probabilities, labels: labels, minimumPrecision: 0.95, minimumRecall: 0.5,
                                            successRate: 0.05) == nil)
        let kept = ClassifierMetrics.mostPrecise(probabilities: probabilities, labels: labels, minimumRecall: 0.5, successRate: 0.05)
        let metrics = ClassifierMetrics(probabilities: probabilities, labels: labels, threshold: kept)
        // The lone failure is called at any threshold keeping half the successes, so all are kept.
        #expect(kept == 0.91 && metrics.recall == 1 && metrics.falsePositives == 1, "\(metrics)")
        // Without the lone failure, precision comes first again at full recall.
        #expect(ClassifierMetrics.threshold(probabilities: Array(probabilities[..<10] + probabilities[11...]),
                                            labels: Array(labels[..<10] + labels[11...]), minimumPrecision: 0.95, minimumRecall: 0.5,
                                            successRate: 0.05) == 0.91)
        let points = ClassifierMetrics.operatingPoints(probabilities: probabilities, labels: labels, recalls: [1, 0.5, 0.05])
        #expect(points.map(\.threshold) == [0.91, 0.96, 1.0])
    }

    /// 12×12 frames: a success shows a bright square somewhere in the top left, a failure does not
    /// (noise everywhere in both).
    static func frames(count: Int, seed: UInt64) -> LabelledFrames {
        let camera = ObservationSpec.Image(name: "front", height: 12, width: 12)
        var data = LabelledFrames(cameras: [camera])
        var generator = SplitMix64(seed: seed)
        for index in 0..<count {
            let positive = index % 3 == 0
            var pixels = (0..<camera.byteCount).map { _ in UInt8.random(in: 0...90, using: &generator) }
            if positive {
                let top = Int.random(in: 0...2, using: &generator), left = Int.random(in: 0...2, using: &generator)
                for y in top..<(top + 4) { for x in left..<(left + 4) { for c in 0..<3 { pixels[(y * 12 + x) * 3 + c] = 250 } } }
            }
            data.append(frames: [pixels[...]], label: positive, episode: index / 10)
        }
        return data
    }

    static func smallConfig() -> RewardClassifierConfig {
        var config = RewardClassifierConfig(cameras: [ObservationSpec.Image(name: "front", height: 12, width: 12)])
        (config.encoderFilters, config.encoderLayers, config.encoderLatentWidth, config.hiddenWidths, config.batchSize) = (8, 2, 16, [16], 16)
        config.augmentationShift = 1
        config.learningRate = 3e-3
        return config
    }

    @Test("it learns to tell success frames from failures it has not seen, and a saved file gives the same probabilities")
    func learnsAndRoundTrips() throws {
        let training = Self.frames(count: 120, seed: 1), heldOut = Self.frames(count: 60, seed: 2)
        let classifier = RewardClassifier(config: Self.smallConfig(), seed: 4)
        let positives = (0..<training.count).filter { training.labels[$0] }, negatives = (0..<training.count).filter { !training.labels[$0] }
        var generator = SplitMix64(seed: 5)
        var losses: [Float] = []
        for _ in 0..<200 { losses.append(classifier.trainStep(training, positives: positives, negatives: negatives, using: &generator)) }
        let first: Float = losses.prefix(20).reduce(0, +), last: Float = losses.suffix(20).reduce(0, +)
        #expect(last < first / 4, "loss \(first / 20) → \(last / 20)")
        let probabilities = classifier.probabilities(heldOut, indices: Array(0..<heldOut.count))
        let metrics = ClassifierMetrics(probabilities: probabilities, labels: heldOut.labels, threshold: 0.5)
        #expect(metrics.accuracy >= 0.95, "\(metrics)")

        classifier.setThreshold(0.8)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-reward-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try classifier.save(to: path, metadata: ["note": "test"])
        let (loaded, metadata) = try RewardClassifier.load(from: path)
        #expect(loaded.config == classifier.config && loaded.config.threshold == 0.8 && metadata["note"] == "test")
        #expect(loaded.probabilities(heldOut, indices: Array(0..<heldOut.count)) == probabilities)
        let live = loaded.probability(frames: [Array(heldOut.frame(0, camera: 0))])
        #expect(abs(live - probabilities[0]) < 1e-6)
    }

    @Test("a file that is not a classifier is refused with its path")
    func refusesOtherFiles() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-policy-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Policy(config: .standardState).save(to: path)
        #expect { try RewardClassifier.load(from: path) } throws: { "\($0)".contains(path) && "\($0)".contains("reward train") }
    }
}
