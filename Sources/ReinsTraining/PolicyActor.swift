import ReinsControl
import ReinsCore
import ReinsLearn
import ReinsNN
import Synchronization

/// A policy as an action source: the actor's copy of the learner's actor network, sampled during
/// training and its mean at evaluation. The learner swaps new parameters in between two steps.
public final class PolicyActor: ActionSource, ParameterReceiver, @unchecked Sendable {
    public let spec: TrainingSpec
    public var deterministic: Bool
    private let policy: Lock<Policy>
    private var generator: SplitMix64

    public init(spec: TrainingSpec, policy: Policy, deterministic: Bool, seed: UInt64) {
        self.spec = spec
        self.deterministic = deterministic
        self.policy = Lock(policy)
        generator = SplitMix64(seed: seed)
    }

    /// The generator's state, saved with checkpoints.
    public var generatorState: UInt64 { generator.state }

    public func restoreGenerator(_ state: UInt64) { generator = SplitMix64(seed: state) }

    /// The policy's action as a command; a discrete gripper's class becomes a gripper command
    /// against the command in force.
    public func action(for observation: EpisodeObservation) -> [Double]? {
        guard let input = spec.observation(observation) else { return nil }
        let deterministic = deterministic
        let commandInForce = observation.gripperCommandInForce
        var generator = self.generator
        let action = policy.withLock { $0.act(input, deterministic: deterministic, gripperOpen: commandInForce >= 0, using: &generator) }
        self.generator = generator
        return spec.command(action.map(Double.init), commandInForce: commandInForce)
    }

    /// Takes the learner's current actor parameters (called on the learner's thread, between updates).
    public func update(from agent: SACAgent) {
        policy.withLock { $0.copyParameters(from: agent) }
    }

    /// Saves the current policy as a safetensors file `reins eval` and `reins sim run` can load.
    public func save(to path: String, metadata: [String: String]) throws(SafetensorsError) {
        try policy.withLock { (policy: inout Policy) throws(SafetensorsError) in try policy.save(to: path, metadata: metadata) }
    }
}
