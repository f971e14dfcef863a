import Foundation
import ReinsCore
import ReinsLearn
import ReinsNN
import Synchronization

/// Whatever acts with the learner's actor: it takes new parameters between two of its steps.
public protocol ParameterReceiver: AnyObject, Sendable {
    /// Called on the learner's thread, between updates.
    func update(from agent: SACAgent)
}

/// The learner: a thread that takes transitions from the actor through a bounded queue, stores
/// every one in the online buffer and the operator's (and demonstrations') in the demo buffer,
/// and runs SAC updates on 50/50 batches once `learningStarts` online transitions are in (demos
/// do not count: with them, early batches would repeat the first online steps), pushing the
/// actor's parameters to the policy every `pushEvery` updates. An update is the configuration's
/// critic steps, each on a fresh batch, then one actor step on the last of them.
public final class Learner: @unchecked Sendable {
    public struct Stats: Sendable, Equatable {
        public var updates = 0
        public var updatesPerSecond = 0.0
        public var criticLoss: Float = 0
        public var actorLoss: Float = 0
        public var imitationLoss: Float = 0
        public var temperature: Float = 0
        public var meanQ: Float = 0
        /// A discrete gripper's critic: its loss and mean Q of the classes taken.
        public var gripperLoss: Float = 0
        public var gripperMeanQ: Float = 0
        public var gripperImitationLoss: Float = 0
        public var onlineTransitions = 0
        public var demoTransitions = 0
        public var dropped = 0
    }

    private enum Message { case transition(Transition), endEpisode }

    public let agent: SACAgent
    public let online: ReplayBuffer
    public let demos: ReplayBuffer
    public let actor: any ParameterReceiver
    public var learningStarts = 100
    public var pushEvery = 50
    /// Transitions the queue holds before the actor's pushes are refused (and counted).
    public let queueCapacity = 2_000
    private let inbox = Lock<[Message]>([])
    private let published = Lock(Stats())
    /// What each learner thread's scheduling became: the learner's own (once started) and its shard workers'.
    private struct ThreadScheduling {
        var learner: BackgroundScheduling?
        var workers: [BackgroundScheduling] = []
    }
    private let threadScheduling: Lock<ThreadScheduling>
    private let started = DispatchSemaphore(value: 0)
    /// Held for each update, and by a checkpoint while it saves, so neither sees the other half done.
    private let gate = Lock<Int>(0)
    private let running = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(true)
    private var demoChained = false
    /// The queue's contents while they are stored; swapped with the queue so neither reallocates.
    private var draining: [Message] = []
    private var generator: SplitMix64
    private let batch: TransitionBatch

    public init(config: SACConfig, actor: any ParameterReceiver, onlineCapacity: Int, demoCapacity: Int, seed: UInt64, threads: Int = 1) {
        let threadScheduling = Lock(ThreadScheduling())
        self.threadScheduling = threadScheduling
        agent = SACAgent(config: config, seed: seed, threads: threads) {
            let scheduling = BackgroundScheduling.lowerCallingThread()
            threadScheduling.withLock { $0.workers.append(scheduling) }
        }
        // One core's worth of BLAS per learner thread: the actor, the loop and the twin need the rest.
        if threads == 1 { BLAS.setThreadCount(1) }
        online = ReplayBuffer(spec: config.observation, actionWidth: config.actionWidth, capacity: onlineCapacity)
        demos = ReplayBuffer(spec: config.observation, actionWidth: config.actionWidth, capacity: demoCapacity)
        self.actor = actor
        generator = SplitMix64(seed: seed &+ 17)
        batch = TransitionBatch(spec: config.observation, actionWidth: config.actionWidth, capacity: config.batchSize)
        actor.update(from: agent)
    }

    /// Adds a demonstration's transitions to the demo buffer (before training starts).
    public func addDemonstration(_ transitions: [Transition]) {
        demos.endEpisode()
        for t in transitions {
            demos.add(observation: t.observation, action: t.action, reward: t.reward, nextObservation: t.nextObservation,
                      terminal: t.terminal, episodeEnded: t.episodeEnded, intervention: t.intervention, gripperOpen: t.gripperOpen)
        }
        demos.endEpisode()
        published.withLock { $0.demoTransitions = demos.count }
    }

    /// Queues one step of experience; false (and counted) when the learner is too far behind.
    @discardableResult
    public func submit(_ transition: Transition) -> Bool {
        let accepted = inbox.withLock { queue in
            guard queue.count < queueCapacity else { return false }
            queue.append(.transition(transition))
            return true
        }
        if !accepted { published.withLock { $0.dropped += 1 } }
        return accepted
    }

    /// Queues a finished episode's transitions (as `HeldEpisode` labelled them), then its end, so
    /// the next episode's first step never chains onto this one's last; the number accepted.
    @discardableResult
    public func submit(episode transitions: [Transition]) -> Int {
        let accepted = inbox.withLock { queue in
            let room = max(0, min(transitions.count, queueCapacity - queue.count))
            for transition in transitions.prefix(room) { queue.append(.transition(transition)) }
            queue.append(.endEpisode)
            return room
        }
        if accepted < transitions.count { published.withLock { $0.dropped += transitions.count - accepted } }
        return accepted
    }

    /// The episode in progress ends without a last step (discarded, quit): the buffers start afresh.
    public func endEpisode() {
        inbox.withLock { $0.append(.endEpisode) }
    }

    public var stats: Stats { published.withLock { $0 } }

    /// Continues the update count of a resumed run.
    public func resumeCount(updates: Int) {
        published.withLock { $0.updates = updates }
    }

    public func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.store(false, ordering: .releasing)
        let thread = Thread { [self] in run() }
        thread.name = "reins learner"
        thread.start()
        started.wait()
    }

    /// Where the learner's threads run, for the run's header: e.g. "2 threads at SCHED_IDLE". Read
    /// after `start`.
    public var schedulingSummary: String {
        let classes = threadScheduling.withLock { [$0.learner].compactMap { $0 } + $0.workers }
        let names = Set(classes.map(\.rawValue)).sorted().joined(separator: " and ")
        return "\(classes.count) thread\(classes.count == 1 ? "" : "s") at \(names)"
    }

    /// Stops after the update in progress, with every queued transition stored.
    public func stop() {
        running.store(false, ordering: .releasing)
        while !finished.load(ordering: .acquiring) { usleep(1000) }
        drain()
    }

    /// Runs `body` with the learner between updates and its queue drained into the buffers (for checkpoints).
    public func whilePaused<T>(_ body: () throws -> T) throws -> T {
        try gate.withLock { _ throws -> T in
            drain()
            return try body()
        }
    }

    /// The learner's sampling generator state, saved with checkpoints. Read it inside
    /// `whilePaused`, set it before `start`.
    public var samplingState: UInt64 {
        get { generator.state }
        set { generator = SplitMix64(seed: newValue) }
    }

    private func run() {
        defer { finished.store(true, ordering: .releasing) }
        let scheduling = BackgroundScheduling.lowerCallingThread()
        threadScheduling.withLock { $0.learner = scheduling }
        started.signal()
        let clock = ContinuousClock()
        var windowStart = clock.now, windowUpdates = 0
        while running.load(ordering: .acquiring) {
            let stepped: Bool = gate.withLock { _ in
                drain()
                guard readyToLearn else { return false }
                var critic = criticStepOnFreshBatch()
                for _ in 1..<max(agent.config.criticUpdatesPerActorUpdate, 1) { critic = criticStepOnFreshBatch() }
                let actorStats = agent.actorStep(batch)
                var stats = published.withLock { $0 }
                stats.updates += 1
                stats.criticLoss = critic.loss
                stats.meanQ = critic.meanQ
                (stats.gripperLoss, stats.gripperMeanQ, stats.gripperImitationLoss) = (critic.gripperLoss, critic.gripperMeanQ, critic.gripperImitationLoss)
                stats.actorLoss = actorStats.loss
                stats.imitationLoss = actorStats.imitationLoss
                stats.temperature = actorStats.temperature
                stats.onlineTransitions = online.count
                stats.demoTransitions = demos.count
                if stats.updates % pushEvery == 0 { actor.update(from: agent) }
                let updated = stats
                published.withLock { $0 = updated }
                return true
            }
            if stepped {
                windowUpdates += 1
                let elapsed = (clock.now - windowStart).seconds
                if elapsed >= 2 {
                    let rate = Double(windowUpdates) / elapsed
                    published.withLock { $0.updatesPerSecond = rate }
                    windowStart = clock.now
                    windowUpdates = 0
                }
            } else {
                usleep(10_000)
            }
        }
    }

    /// Whether enough online experience is in to learn from (call with the gate held).
    var readyToLearn: Bool { online.added >= learningStarts && !online.isEmpty }

    private func criticStepOnFreshBatch() -> SACAgent.CriticStats {
        sampleMixed(demos: demos, online: online, demoFraction: agent.config.demoFraction, into: batch,
                    shift: agent.config.augmentationShift, using: &generator)
        return agent.criticStep(batch)
    }

    /// Moves queued transitions into the buffers (call with the gate held).
    private func drain() {
        inbox.withLock { swap(&$0, &draining) }
        defer { draining.removeAll(keepingCapacity: true) }
        for message in draining {
            switch message {
            case .endEpisode:
                online.endEpisode()
                demos.endEpisode()
                demoChained = false
            case .transition(let t):
                online.add(observation: t.observation, action: t.action, reward: t.reward, nextObservation: t.nextObservation,
                           terminal: t.terminal, episodeEnded: t.episodeEnded, intervention: t.intervention, gripperOpen: t.gripperOpen)
                if t.intervention {
                    // Consecutive interventions share observations in the demo buffer; an isolated one stands alone.
                    if !demoChained { demos.endEpisode() }
                    demos.add(observation: t.observation, action: t.action, reward: t.reward, nextObservation: t.nextObservation,
                              terminal: t.terminal, episodeEnded: t.episodeEnded, intervention: true, gripperOpen: t.gripperOpen)
                    demoChained = !t.episodeEnded
                } else {
                    demoChained = false
                }
            }
        }
        if !draining.isEmpty {
            let (onlineCount, demoCount) = (online.count, demos.count)
            published.withLock { stats in
                stats.onlineTransitions = onlineCount
                stats.demoTransitions = demoCount
            }
        }
    }
}
