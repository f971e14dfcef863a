import Foundation

/// The learner's settings. The defaults are HIL-SERL's (DESIGN.md, "Learner defaults").
public struct SACConfig: Codable, Sendable, Equatable {
    public var observation: ObservationSpec
    public var actionWidth: Int
    /// Hidden widths of the actor and critic MLPs (each hidden layer: dense, LayerNorm, tanh).
    public var hiddenWidths = [256, 256]
    /// Image encoder: `encoderLayers` 3×3 convolutions of `encoderFilters` with stride 2 and padding 1,
    /// ReLU after each, then a dense layer to `encoderLatentWidth`, LayerNorm and tanh.
    public var encoderFilters = 32
    public var encoderLayers = 3
    public var encoderLatentWidth = 64
    public var criticEnsemble = 2
    public var discount: Float = 0.97
    /// Polyak rate of the target critics.
    public var targetRate: Float = 0.005
    public var learningRate: Float = 3e-4
    public var initialTemperature: Float = 0.01
    /// nil means −|A|/2.
    public var targetEntropy: Float?
    public var batchSize = 256
    /// Share of each batch drawn from the demo buffer while it has transitions.
    public var demoFraction = 0.5
    public var criticUpdatesPerActorUpdate = 2
    /// Weight of an imitation term in the actor's loss on the batch's intervention rows (demos and
    /// the operator's corrections): mean over those rows of ‖tanh(μ) − a_operator‖². 0 is HIL-SERL;
    /// a positive weight (as ConRFT and IBRL do) lets a vision policy copy its operator long before
    /// the critic has learned enough to teach it.
    public var imitationWeight: Float = 0
    /// The actor reads the critic's image encoder (features detached) instead of training its own,
    /// as HIL-SERL, RLPD and DrQ do: about half of each update's convolutions go. Files without
    /// the setting load with separate encoders, as they were written.
    public var sharedEncoder = false
    /// With the encoder shared and an imitation weight, the imitation term's gradient also trains
    /// the critic's encoder (the critic's optimizer applies it in the actor step): the actor's RL
    /// gradient still stops at the features, but the operator's actions help teach the encoder
    /// what to see, as the actor's own encoder learned it before. Files without it load off.
    public var imitationTrainsSharedEncoder = false
    /// Random-shift augmentation, in pixels (DrQ's pad 4).
    public var augmentationShift = 4
    /// The actor's standard deviation is clipped to [1e-5, 10] (SERL's bounds), as log-std.
    public var logStdMin: Float = Float(log(1e-5))
    public var logStdMax: Float = Float(log(10.0))
    /// The action's last value is the gripper, chosen by a critic of its own over {close, stay,
    /// open} (HIL-SERL's grasp critic, double DQN) instead of by the actor, which then acts on the
    /// other values alone. Files without the setting load with a continuous gripper.
    public var discreteGripper = false
    /// Added to the gripper critic's reward when its choice changes the gripper's state (HIL-SERL's grasp penalty).
    public var gripperChangePenalty: Float = -0.02
    /// While training, the gripper's choice is a random allowed one this often (ε-greedy).
    public var gripperExploration: Float = 0.1
    /// With a discrete gripper and an imitation weight: on the batch's intervention rows, DQfD's
    /// large-margin term, max over the classes s allows of (Q(s, g) + margin·[g ≠ g_operator]) −
    /// Q(s, g_operator), weighted as the actor's imitation term, so the gripper critic ranks the
    /// operator's choice first long before the sparse reward has reached it (the continuous
    /// actor's imitation term does the same for the other values). 0 is off, as HIL-SERL; files
    /// without the setting load off.
    public var gripperImitationMargin: Float = 0

    public init(observation: ObservationSpec, actionWidth: Int) {
        self.observation = observation
        self.actionWidth = actionWidth
    }

    public var resolvedTargetEntropy: Float { targetEntropy ?? -Float(continuousActionWidth) / 2 }

    /// The values the actor chooses (and the continuous critic reads): all but a discrete gripper.
    public var continuousActionWidth: Int { discreteGripper ? actionWidth - 1 : actionWidth }

    /// Whether the actor reads the critic's encoder: shared, and there are cameras to encode.
    public var sharesEncoder: Bool { sharedEncoder && !observation.images.isEmpty }

    /// Whether the imitation term's gradient reaches the shared encoder.
    public var imitationReachesSharedEncoder: Bool { sharesEncoder && imitationTrainsSharedEncoder && imitationWeight > 0 }

    /// The benchmark's image configuration: one 64×64×3 camera, 6-dim proprio, 6-dim action, the
    /// encoder shared as training shares it.
    public static var standardImage: SACConfig {
        var config = SACConfig(observation: ObservationSpec(images: [.init(name: "front", height: 64, width: 64)], proprioWidth: 6), actionWidth: 6)
        config.sharedEncoder = true
        return config
    }

    /// The benchmark's state configuration: a 12-dim observation vector (e.g. joint positions and
    /// velocities), 6-dim action, no encoder.
    public static var standardState: SACConfig {
        SACConfig(observation: ObservationSpec(images: [], proprioWidth: 12), actionWidth: 6)
    }
}

extension SACConfig {
    /// A setting missing from a file takes its default, so policies and checkpoints written before
    /// a setting existed still load; each new setting's default is the behaviour before it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(observation: try container.decode(ObservationSpec.self, forKey: .observation),
                  actionWidth: try container.decode(Int.self, forKey: .actionWidth))
        func setting<Value: Decodable>(_ key: CodingKeys, _ fallback: Value) throws -> Value {
            try container.decodeIfPresent(Value.self, forKey: key) ?? fallback
        }
        hiddenWidths = try setting(.hiddenWidths, hiddenWidths)
        encoderFilters = try setting(.encoderFilters, encoderFilters)
        encoderLayers = try setting(.encoderLayers, encoderLayers)
        encoderLatentWidth = try setting(.encoderLatentWidth, encoderLatentWidth)
        criticEnsemble = try setting(.criticEnsemble, criticEnsemble)
        discount = try setting(.discount, discount)
        targetRate = try setting(.targetRate, targetRate)
        learningRate = try setting(.learningRate, learningRate)
        initialTemperature = try setting(.initialTemperature, initialTemperature)
        targetEntropy = try container.decodeIfPresent(Float.self, forKey: .targetEntropy)
        batchSize = try setting(.batchSize, batchSize)
        demoFraction = try setting(.demoFraction, demoFraction)
        criticUpdatesPerActorUpdate = try setting(.criticUpdatesPerActorUpdate, criticUpdatesPerActorUpdate)
        imitationWeight = try setting(.imitationWeight, imitationWeight)
        sharedEncoder = try setting(.sharedEncoder, sharedEncoder)
        imitationTrainsSharedEncoder = try setting(.imitationTrainsSharedEncoder, imitationTrainsSharedEncoder)
        augmentationShift = try setting(.augmentationShift, augmentationShift)
        logStdMin = try setting(.logStdMin, logStdMin)
        logStdMax = try setting(.logStdMax, logStdMax)
        discreteGripper = try setting(.discreteGripper, discreteGripper)
        gripperChangePenalty = try setting(.gripperChangePenalty, gripperChangePenalty)
        gripperExploration = try setting(.gripperExploration, gripperExploration)
        gripperImitationMargin = try setting(.gripperImitationMargin, gripperImitationMargin)
    }
}
