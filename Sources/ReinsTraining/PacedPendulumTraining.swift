import Foundation
import ReinsCore
import ReinsLearn

/// Pendulum-v1 run as a robot runs: the environment steps in real time at `rate` Hz, the actor
/// acts with whatever parameters the learner (its own thread, the `Learner` of `reins train`) has
/// pushed, so the updates per step are what this machine's learner manages in the time, unless
/// `minUpdatesPerStep` holds each new episode until the learner has caught up, as `reins train
/// --min-utd` does. The check that a run which needs its updates learns the same on a slower
/// learner with the ratio held, only later.
public struct PacedPendulumTraining {
    public struct Progress: Sendable {
        public var step: Int
        public var episodes: Int
        public var lastReturn: Double?
        public var updates: Int
        public var updatesPerSecond: Double
        public var waitedSeconds: Double
    }

    /// Where an episode started: the transitions already submitted and the updates already made.
    public struct EpisodeStart: Sendable, Equatable {
        public var submittedTransitions: Int
        public var updates: Int
    }

    public struct Result: Sendable {
        public var evaluationReturns: [Double]
        public var trainingReturns: [Double]
        public var episodeStarts: [EpisodeStart]
        public var updates: Int
        public var seconds: Double
        /// Time the actor spent holding between episodes for the learner.
        public var waitedSeconds: Double
        public var meanEvaluationReturn: Double { evaluationReturns.reduce(0, +) / Double(max(evaluationReturns.count, 1)) }
    }

    public var steps: Int
    public var seed: UInt64
    /// Environment steps per second of wall clock.
    public var rate: Double
    /// Learner threads (see `SACAgent`).
    public var threads = 2
    /// Random actions for this many first steps; learning starts after as many transitions.
    public var randomSteps = 1000
    /// Updates per environment step (counted from when learning starts) the learner must have made
    /// before each new episode; nil lets the actor run on regardless.
    public var minUpdatesPerStep: Double?
    public var evaluationEpisodes = 10
    public var config: SACConfig

    public init(steps: Int, seed: UInt64, rate: Double) {
        self.steps = steps
        self.seed = seed
        self.rate = rate
        config = PendulumTraining(steps: steps, seed: seed).config
    }

    /// Runs training then evaluation; `progress` is called every `progressEvery` steps.
    public func run(progressEvery: Int = 1000, progress: (Progress) -> Void = { _ in }) -> (policy: Policy, result: Result) {
        let shared = SharedPolicy(Policy(config: config))
        let learner = Learner(config: config, actor: shared, onlineCapacity: max(steps + steps / Pendulum.episodeSteps + 2, 2),
                              demoCapacity: 2, seed: seed, threads: threads)
        learner.learningStarts = randomSteps
        learner.start()

        var environment = Pendulum(seed: seed)
        var generator = SplitMix64(seed: seed &+ 100)
        var observation = environment.reset()
        var episodeReturn = 0.0
        var returns: [Double] = []
        var starts = [EpisodeStart(submittedTransitions: 0, updates: 0)]
        var waited = 0.0
        let clock = ContinuousClock()
        let period = Duration.seconds(1 / rate)
        let start = clock.now
        var deadline = start
        var windowStart = start, windowUpdates = 0

        for step in 1...max(steps, 1) {
            let action: Float = step <= randomSteps
                ? Float.random(in: -1...1, using: &generator)
                : shared.act(observation, using: &generator)
            let (next, reward, truncated) = environment.step(action)
            learner.submit(Transition(observation: observation, action: [action], reward: Float(reward), nextObservation: next,
                                      terminal: false, episodeEnded: truncated, intervention: false))
            episodeReturn += reward
            observation = next
            if truncated {
                returns.append(episodeReturn)
                episodeReturn = 0
                if step < steps {
                    waited += waitForLearner(learner, submitted: step)
                    starts.append(EpisodeStart(submittedTransitions: step, updates: learner.stats.updates))
                    deadline = clock.now
                }
                observation = environment.reset()
            }
            if step % progressEvery == 0 {
                let updates = learner.stats.updates
                let elapsed = (clock.now - windowStart).seconds
                progress(Progress(step: step, episodes: returns.count, lastReturn: returns.last, updates: updates,
                                  updatesPerSecond: elapsed > 0 ? Double(updates - windowUpdates) / elapsed : 0, waitedSeconds: waited))
                (windowStart, windowUpdates) = (clock.now, updates)
            }
            // The next step starts on the next tick; a late step is not made up for, as a robot's loop would not.
            deadline = max(deadline + period, clock.now)
            let ahead = deadline - clock.now
            if ahead > .zero { usleep(UInt32(ahead.seconds * 1e6)) }
        }
        learner.stop()
        let policy = Policy(config: config)
        policy.copyParameters(from: learner.agent)
        let evaluation = PendulumTraining.evaluate(policy, episodes: evaluationEpisodes, seed: seed &+ 1_000_003)
        let result = Result(evaluationReturns: evaluation, trainingReturns: returns, episodeStarts: starts, updates: learner.stats.updates,
                            seconds: (clock.now - start).seconds, waitedSeconds: waited)
        return (policy, result)
    }

    /// Holds until the learner has `minUpdatesPerStep` updates per step learnt from; the seconds held.
    private func waitForLearner(_ learner: Learner, submitted: Int) -> Double {
        guard let ratio = minUpdatesPerStep else { return 0 }
        let required = TrainingRun.requiredUpdates(ratio: ratio, onlineTransitions: submitted, learningStarts: learner.learningStarts)
        let started = Date()
        while learner.stats.updates < required { usleep(1000) }
        return Date().timeIntervalSince(started)
    }
}

/// The actor's copy of the policy, which the learner replaces between two of its steps.
private final class SharedPolicy: ParameterReceiver, @unchecked Sendable {
    private let policy: Lock<Policy>

    init(_ policy: Policy) { self.policy = Lock(policy) }

    func update(from agent: SACAgent) {
        policy.withLock { $0.copyParameters(from: agent) }
    }

    func act(_ observation: Observation, using generator: inout SplitMix64) -> Float {
        policy.withLock { $0.act(observation, deterministic: false, using: &generator)[0] }
    }
}
