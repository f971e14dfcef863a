import Foundation
import ReinsCore
import ReinsNN

/// The actor on its own, for one observation at a time: what runs on the robot at the policy rate
/// while the agent learns elsewhere, and what a policy file holds. With a shared encoder it holds
/// the critic's encoder too (tensors named as in the critic, "critic.encoder.…"): the actor's input.
/// With a discrete gripper it holds the gripper critic ("gripper_critic.…") and the critic's
/// encoder it reads, and the gripper's choice is that critic's best allowed class.
public final class Policy: @unchecked Sendable {
    public let config: SACConfig
    let actor: Actor
    /// The critic's image encoder and its tensors, with a shared encoder or a discrete gripper.
    private let encoder: ObservationEncoder?
    private let encoderParameters: ParameterSet?
    private let gripperCritic: GripperCritic?
    private let images: [FloatBuffer]  // per camera (1, H, W, C)
    private let proprio: FloatBuffer  // (1, P)
    private let observationBatch: ObservationBatch

    public init(config: SACConfig) {
        self.config = config
        actor = Actor("actor", config: config, maxBatch: 1, shards: 1, seed: 0)
        if config.sharesEncoder || config.discreteGripper {
            let parameters = ParameterSet()
            let shared = ObservationEncoder(Policy.sharedEncoderName, config: config, extraWidth: 0, maxBatch: 1, parameters: parameters)
            parameters.allocate()
            var generator = SplitMix64(seed: 0)
            shared.initialize(using: &generator)
            (encoder, encoderParameters) = (shared, parameters)
        } else {
            (encoder, encoderParameters) = (nil, nil)
        }
        gripperCritic = config.discreteGripper
            ? GripperCritic("gripper_critic", config: config, observationWidth: encoder!.observationWidth, maxBatch: 1, shards: 1, seed: 0) : nil
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
        try gripperCritic?.parameters.load(from: file)
    }

    /// The critic encoder's name, whose tensors a shared-encoder policy carries.
    static let sharedEncoderName = "critic.encoder"

    /// Takes the agent's current actor parameters (and the critic's encoder and the gripper critic, when the policy reads them).
    public func copyParameters(from agent: SACAgent) {
        actor.parameters.copyValues(from: agent.actorParameters)
        encoderParameters?.copyValues(byName: agent.critic.parameters)
        if let gripperCritic, let learned = agent.gripperCritic { gripperCritic.parameters.copyValues(from: learned.parameters) }
    }

    /// The action for one observation, in [−1, 1]: tanh of the mean when `deterministic`, else a
    /// sample. With a discrete gripper the last value is the gripper's class (`GripperClass.actionValue`)
    /// for a gripper that is `gripperOpen` now: the critic's best allowed class, or while sampling a
    /// random allowed one `gripperExploration` of the time.
    public func act(_ observation: Observation, deterministic: Bool, gripperOpen: Bool = true, using generator: inout SplitMix64) -> [Float] {
        if let problem = observation.mismatch(with: config.observation) { preconditionFailure(problem) }
        for (camera, image) in observation.images.enumerated() {
            let destination = images[camera].pointer
            for index in 0..<image.count { destination[index] = Float(image[index]) * (1 / 255) }
        }
        proprio.copy(from: observation.proprio)
        var sampling: SplitMix64? = deterministic ? nil : generator
        actor.setNoise(rows: 1, sampling: &sampling)
        if !deterministic { generator = sampling! }
        encoder?.forward(observationBatch, extra: nil, rows: 0..<1, forBackward: false)
        if let encoder, config.sharesEncoder {
            actor.forward(features: encoder.features.pointer, stride: encoder.featureWidth, rows: 0..<1)
        } else {
            actor.forward(observationBatch, rows: 0..<1, forBackward: false)
        }
        var action = Array(UnsafeBufferPointer(start: actor.actions.pointer, count: config.continuousActionWidth))
        if let gripperCritic, let encoder {
            gripperCritic.forward(features: encoder.features.pointer, stride: encoder.featureWidth, rows: 0..<1, forBackward: false) { _ in gripperOpen }
            var choice = gripperCritic.best(0, open: gripperOpen)
            if !deterministic && Float.random(in: 0..<1, using: &generator) < config.gripperExploration {
                choice = GripperClass.allCases.filter { $0.isAllowed(open: gripperOpen) }.randomElement(using: &generator)!
            }
            action.append(choice.actionValue)
        }
        return action
    }

    public func save(to path: String, metadata: [String: String] = [:]) throws(SafetensorsError) {
        try Policy.write(actor.parameters.entries() + (encoderParameters?.entries() ?? []) + (gripperCritic?.parameters.entries() ?? []),
                         config: config, metadata: metadata, to: path)
    }

    static func write(_ entries: [Safetensors.Entry], config: SACConfig, metadata: [String: String], to path: String) throws(SafetensorsError) {
        let json = String(decoding: (try? JSONEncoder().encode(config)) ?? Data(), as: UTF8.self)
        try Safetensors.write(entries, metadata: metadata.merging(["reins.sac_config": json, "format": "reins.policy"]) { $1 }, to: path)
    }
}

extension SACAgent {
    /// Writes the actor as a policy file (safetensors, tensors named e.g. "actor.policy.dense1.weight"),
    /// with the critic's encoder when the actor or a discrete gripper reads it, and the gripper critic.
    public func savePolicy(to path: String, metadata: [String: String] = [:]) throws(SafetensorsError) {
        let readsEncoder = config.sharesEncoder || config.discreteGripper
        let encoder = readsEncoder ? critic.parameters.entries().filter { $0.name.hasPrefix(Policy.sharedEncoderName + ".") } : []
        try Policy.write(actor.parameters.entries() + encoder + (gripperCritic?.parameters.entries() ?? []), config: config, metadata: metadata, to: path)
    }
}
