import Foundation
import ReinsLearn
import ReinsNN
import Testing

@Suite("the learner's configuration in files")
struct SACConfigTests {
    /// Every setting away from its default, so a setting the decoder forgets shows as a difference.
    static var everySettingChanged: SACConfig {
        var config = SACConfig.standardImage
        config.hiddenWidths = [64, 32]
        config.encoderFilters = 16
        config.encoderLayers = 2
        config.encoderLatentWidth = 48
        config.criticEnsemble = 3
        config.discount = 0.9
        config.targetRate = 0.01
        config.learningRate = 1e-3
        config.initialTemperature = 0.2
        config.targetEntropy = -2
        config.batchSize = 64
        config.demoFraction = 0.25
        config.criticUpdatesPerActorUpdate = 1
        config.imitationWeight = 1.5
        config.augmentationShift = 2
        config.logStdMin = -7
        config.logStdMax = 1
        config.discreteGripper = true
        config.gripperChangePenalty = -0.05
        config.gripperExploration = 0.2
        return config
    }

    static func json(_ config: SACConfig) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(config)) as? [String: Any])
    }

    @Test("every setting survives a round trip through JSON")
    func roundTrip() throws {
        let config = Self.everySettingChanged
        #expect(Mirror(reflecting: config).children.count == (try Self.json(config)).count, "a setting is not encoded")
        #expect(try JSONDecoder().decode(SACConfig.self, from: try JSONEncoder().encode(config)) == config)
    }

    @Test("a file from before a setting existed loads with that setting's default")
    func missingSetting() throws {
        var older = try Self.json(Self.everySettingChanged)
        older["imitationWeight"] = nil
        older["criticUpdatesPerActorUpdate"] = nil
        older["discreteGripper"] = nil
        let decoded = try JSONDecoder().decode(SACConfig.self, from: try JSONSerialization.data(withJSONObject: older))
        var expected = Self.everySettingChanged
        expected.imitationWeight = 0
        expected.criticUpdatesPerActorUpdate = SACConfig.standardImage.criticUpdatesPerActorUpdate
        expected.discreteGripper = false
        #expect(decoded == expected)
    }

    @Test("a file without the observation or action width is refused")
    func requiredSettings() throws {
        for key in ["observation", "actionWidth"] {
            var broken = try Self.json(.standardState)
            broken[key] = nil
            #expect(throws: DecodingError.self) {
                _ = try JSONDecoder().decode(SACConfig.self, from: try JSONSerialization.data(withJSONObject: broken))
            }
        }
    }

    @Test("a policy file whose configuration does not decode says so, apart from one with none")
    func brokenPolicyFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-config-\(getpid()).safetensors").path
        defer { unlink(path) }
        let weights: [Float] = [1, 2]
        for (metadata, expected) in [(["reins.sac_config": "{\"actionWidth\": 6}"], "is not a learner configuration"),
                                     ([:], "not a Reins policy file")] {
            try weights.withUnsafeBufferPointer {
                try Safetensors.write([.init(name: "w", shape: [2], floats: $0.baseAddress!)], metadata: metadata, to: path)
            }
            do {
                _ = try Policy(contentsOf: path)
                Issue.record("a broken policy file loaded")
            } catch {
                #expect(error.description.contains(path) && error.description.contains(expected), "\(error)")
            }
        }
    }
}
