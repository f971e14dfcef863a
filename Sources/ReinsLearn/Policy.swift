import Foundation
import ReinsCore
import ReinsNN

/// The actor on its own, for one observation at a time: what runs on the robot at the policy rate
/// while the agent learns elsewhere, and what a policy file holds. With a shared encoder it holds
/// the critic's encoder too (tensors named as in the critic, "critic.encoder.…"): the actor's input.
public final class Policy: @unchecked Sendable {
    public let config: SACConfig
    let actor: Actor
    /// The critic's image encoder and its tensors, with a shared encoder.
    private let encoder: ObservationEncoder?
    private let encoderParameters: ParameterSet?
    private let images: [FloatBuffer]  // per camera (1, H, W, C)
    private let proprio: FloatBuffer  // (1, P)
    private let observationBatch: ObservationBatch

    public init(config: SACConfig) {
        self.config = config
        actor = Actor("actor", config: config, maxBatch: 1, shards: 1, seed: 0)
        if config.sharesEncoder {
            let parameters = ParameterSet()
            let shared = ObservationEncoder(Policy.sharedEncoderName, config: config, extraWidth: 0, maxBatch: 1, parameters: parameters)
            parameters.allocate()
            var generator = SplitMix64(seed: 0)
            shared.initialize(using: &generator)
            (encoder, encoderParameters) = (shared, parameters)
        } else {
            (encoder, encoderParameters) = (nil, nil)
        }
        images = config.observation.images.map { FloatBuffer(count: $0.byteCount) }
        proprio = FloatBuffer(count: config.observation.proprioWidth)
        observationBatch = ObservationBatch(images: images.map { UnsafePointer($0.pointer) }, proprio: proprio.pointer)
    }

    /// Loads a policy file written by `save(to:)` or `SACAgent.savePolicy(to:)`.
    public convenience init(contentsOf path: String) throws(SafetensorsError) {
        let file = try SafetensorsFile(path: path)
        guard let json = file.metadata["reins.sac_config"] else {
            throw .malformed(path: path, reason: "no reins.sac_config metadata: not a Reins policy file")
        }
        let config: SACConfig
        do {
            config = try JSONDecoder().decode(SACConfig.self, from: Data(json.utf8))
        } catch {
            throw .malformed(path: path, reason: "its reins.sac_config metadata is not a learner configuration (\(error))")
        }
        self.init(config: config)
        try actor.parameters.load(from: file)
        try encoderParameters?.load(from: file)
    }

    /// The critic encoder's name, whose tensors a shared-encoder policy carries.
    static let sharedEncoderName = "critic.encoder"

    /// Takes the agent's current actor parameters (and the critic's encoder, when shared).
    public func copyParameters(from agent: SACAgent) {
        actor.parameters.copyValues(from: agent.actorParameters)
        encoderParameters?.copyValues(byName: agent.critic.parameters)
    }

    /// The action for one observation, in [−1, 1]: tanh of the mean when `deterministic`, else a sample.
    public func act(_ observation: Observation, deterministic: Bool, using generator: inout SplitMix64) -> [Float] {
        if let problem = observation.mismatch(with: config.observation) { preconditionFailure(problem) }
        for (camera, image) in observation.images.enumerated() {
            let destination = images[camera].pointer
            for index in 0..<image.count { destination[index] = Float(image[index]) * (1 / 255) }
        }
        proprio.copy(from: observation.proprio)
        var sampling: SplitMix64? = deterministic ? nil : generator
        actor.setNoise(rows: 1, sampling: &sampling)
        if !deterministic { generator = sampling! }
        if let encoder {
            encoder.forward(observationBatch, extra: nil, rows: 0..<1, forBackward: false)
            actor.forward(features: encoder.features.pointer, stride: encoder.featureWidth, rows: 0..<1)
        } else {
            actor.forward(observationBatch, rows: 0..<1, forBackward: false)
        }
        return Array(UnsafeBufferPointer(start: actor.actions.pointer, count: config.actionWidth))
    }

    public func save(to path: String, metadata: [String: String] = [:]) throws(SafetensorsError) {
        try Policy.write(actor.parameters.entries() + (encoderParameters?.entries() ?? []), config: config, metadata: metadata, to: path)
    }

    static func write(_ entries: [Safetensors.Entry], config: SACConfig, metadata: [String: String], to path: String) throws(SafetensorsError) {
        let json = String(decoding: (try? JSONEncoder().encode(config)) ?? Data(), as: UTF8.self)
        try Safetensors.write(entries, metadata: metadata.merging(["reins.sac_config": json, "format": "reins.policy"]) { $1 }, to: path)
    }
}

extension SACAgent {
    /// Writes the actor as a policy file (safetensors, tensors named e.g. "actor.policy.dense1.weight"),
    /// with the critic's encoder when the actor reads it.
    public func savePolicy(to path: String, metadata: [String: String] = [:]) throws(SafetensorsError) {
        let encoder = config.sharesEncoder ? critic.parameters.entries().filter { $0.name.hasPrefix(Policy.sharedEncoderName + ".") } : []
        try Policy.write(actor.parameters.entries() + encoder, config: config, metadata: metadata, to: path)
    }
}
