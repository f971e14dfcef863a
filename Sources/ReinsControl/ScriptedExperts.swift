import ReinsCore

/// A scripted expert for one task: it acts in end-effector steps, as the operator and the policy
/// do, from where the twin says the cube is (so it runs only on the twin), and says how far the
/// task still is from done, so a supervisor can see whether a policy makes progress.
public protocol ScriptedExpert: ActionSource {
    /// How far the task is from done after `observation`, in metres of the expert's own measure;
    /// nil when the scene gives no cube.
    func remaining(_ observation: EpisodeObservation) -> Double?
}

/// The expert for `task`: `ScriptedReacher` or `ScriptedPicker`, seeded.
public func scriptedExpert(for task: TaskKind, scale: ActionScale, seed: UInt64, cube: @escaping () -> Vector3?) -> any ScriptedExpert {
    switch task {
    case .reach: ScriptedReacher(scale: scale, seed: seed, goal: cube)
    case .pick: ScriptedPicker(scale: scale, seed: seed, cube: cube)
    }
}

/// The tool-frame step toward `aim` from the tip, at most `maxSpeed` of a full action, with seeded
/// Gaussian noise on the three motion values, gripper as given, clipped to [−1, 1].
private func stepToward(_ aim: Vector3, from observation: EpisodeObservation, scale: ActionScale, maxSpeed: Double, noise: Double,
                        gripper: Double, using generator: inout SplitMix64) -> [Double] {
    var local = observation.endEffector.rotation.transposed * (aim - observation.endEffector.position) / scale.linearM
    if length(local) > maxSpeed { local *= maxSpeed / length(local) }
    return [local.x, local.y, local.z, 0, 0, 0, gripper].enumerated().map { index, value in
        min(max(value + (index < 3 ? noise * generator.nextGaussian() : 0), -1), 1)
    }
}

/// A scripted expert for reaching: moves the tip over the goal (4 cm above it), then down onto it,
/// gripper open, at most `maxSpeed` of a full step, with seeded Gaussian noise on the motion. It
/// demonstrates in the twin, where the goal (the cube) is known.
public final class ScriptedReacher: ScriptedExpert {
    public let scale: ActionScale
    public var noise: Double
    /// The largest move per step as a fraction of a full action (a calm demonstrator).
    public var maxSpeed = 0.5
    private let goal: () -> Vector3?
    private var generator: SplitMix64

    public init(scale: ActionScale, noise: Double = 0.1, seed: UInt64, goal: @escaping () -> Vector3?) {
        self.scale = scale
        self.noise = noise
        self.goal = goal
        generator = SplitMix64(seed: seed)
    }

    public func action(for observation: EpisodeObservation) -> [Double]? {
        guard let cube = goal() else { return nil }
        let tip = observation.endEffector.position
        let horizontal = length(Vector3(cube.x - tip.x, cube.y - tip.y, 0))
        let aim = cube + Vector3(0, 0, horizontal > 0.015 ? 0.04 : 0)
        return stepToward(aim, from: observation, scale: scale, maxSpeed: maxSpeed, noise: noise, gripper: 1, using: &generator)
    }

    public func remaining(_ observation: EpisodeObservation) -> Double? {
        goal().map { length($0 - observation.endEffector.position) }
    }
}

/// A scripted expert for picking: over the cube (4 cm above it) with the gripper open, down until
/// the tip is at the cube's centre, the jaws around it; closes for `closingSteps` steps while
/// holding still; then lifts straight up to 8 cm above the cube's start. If the cube is not
/// coming along (it slipped, or the jaws missed), it opens and starts over from above.
public final class ScriptedPicker: ScriptedExpert {
    public let scale: ActionScale
    public var noise: Double
    public var maxSpeed = 0.5
    /// Steps the gripper closes for before the lift (the jaws move only so far per step).
    public var closingSteps = 8
    private let cube: () -> Vector3?
    private var generator: SplitMix64
    private var cubeStartHeight: Double?
    private var closedFor = 0

    public init(scale: ActionScale, noise: Double = 0.05, seed: UInt64, cube: @escaping () -> Vector3?) {
        self.scale = scale
        self.noise = noise
        self.cube = cube
        generator = SplitMix64(seed: seed)
    }

    public func episodeStarted() {
        cubeStartHeight = nil
        closedFor = 0
    }

    public func action(for observation: EpisodeObservation) -> [Double]? {
        guard let cube = cube() else { return nil }
        let start = cubeStartHeight ?? cube.z
        cubeStartHeight = start
        let tip = observation.endEffector.position
        let offset = cube - tip
        let horizontal = length(Vector3(offset.x, offset.y, 0))
        let lifted = cube.z - start > 0.01
        if closedFor >= closingSteps {
            // Lifting: on while the cube comes along; a cube left behind means starting over.
            if lifted || length(offset) < 0.02 {
                return stepToward(Vector3(cube.x, cube.y, start + 0.08), from: observation, scale: scale, maxSpeed: maxSpeed,
                                  noise: noise, gripper: -1, using: &generator)
            }
            closedFor = 0
        }
        if closedFor > 0 || (horizontal < 0.006 && abs(offset.z) < 0.006) {
            closedFor += 1
            return [0, 0, 0, 0, 0, 0, -1]
        }
        // Open before coming down, so the jaws straddle the cube rather than land on it.
        let open = (observation.gripper ?? 1) > 0.8
        let aim = cube + Vector3(0, 0, horizontal > 0.01 || !open ? 0.04 : 0)
        return stepToward(aim, from: observation, scale: scale, maxSpeed: maxSpeed, noise: noise, gripper: 1, using: &generator)
    }

    public func remaining(_ observation: EpisodeObservation) -> Double? {
        guard let cube = cube() else { return nil }
        let start = cubeStartHeight ?? cube.z
        let lift = max(0, TaskKind.liftHeight - (cube.z - start))
        return cube.z - start > 0.01 ? lift : length(cube - observation.endEffector.position) + lift
    }
}

/// A scripted expert as a person supervising a policy: it watches how far the task is from done
/// and takes over when the policy has moved it further away for `patience` steps in a row, or has
/// not brought it nearer for `stallSteps`; it then drives for `takeoverSteps` and hands back, or,
/// with `nil`, to the episode's end. Human-in-the-loop training can so be run and tested without
/// a person. `asPerson` gives it a person's reaction time before each takeover and their misses.
public final class InterveningSupervisor: ActionSource {
    /// A person's delay and misses, for the supervisor: a takeover starts a reaction time after
    /// the supervisor decided on it (the policy goes on meanwhile), or not at all when missed.
    public struct Person: Sendable {
        public var reactionSeconds: ClosedRange<Double> = 0.3...1.0
        public var policyHz: Double
        public var mistakes: OperatorMistakes
        public var seed: UInt64

        public init(policyHz: Double, mistakes: OperatorMistakes, seed: UInt64) {
            self.policyHz = policyHz
            self.mistakes = mistakes
            self.seed = seed
        }
    }

    public let expert: any ScriptedExpert
    public var patience = 3
    public var stallSteps = 15
    public var takeoverSteps: Int?
    /// Changes below this (metres) count as holding still.
    public var tolerance = 0.002
    /// This episode's takeovers, made and missed.
    public private(set) var counts = StandInCounts()
    private var awaySteps = 0, stalled = 0, controlLeft = 0
    private var lastRemaining: Double?, bestRemaining = Double.infinity
    private let person: Person?
    private var generator: SplitMix64
    private var slips: PersonSlips
    /// Steps until a decided takeover starts (the person's reaction): it acts on the step this
    /// reaches 0, so a reaction of 3 steps after deciding at step t acts at step t + 3.
    private var reactionLeft: Int?

    /// A person finishes a grasp they took over: a pick handed back after ten steps is undone by
    /// a policy that has not learnt to grasp (the jaws open, the arm wanders) and never ends in a
    /// lift, so no episode would show the learner one. A reach can be handed back mid-way.
    public init(expert: any ScriptedExpert, task: TaskKind, asPerson person: Person? = nil) {
        self.expert = expert
        self.person = person
        takeoverSteps = task == .pick ? nil : 10
        generator = SplitMix64(seed: person?.seed ?? 0)
        slips = PersonSlips(person?.mistakes ?? .none, seed: (person?.seed ?? 0) &+ 1)
    }

    public func episodeStarted() {
        expert.episodeStarted()
        awaySteps = 0
        stalled = 0
        controlLeft = 0
        lastRemaining = nil
        bestRemaining = .infinity
        reactionLeft = nil
        counts = StandInCounts()
    }

    public func action(for observation: EpisodeObservation) -> [Double]? {
        guard let remaining = expert.remaining(observation) else { return nil }
        if let last = lastRemaining, remaining > last + tolerance { awaySteps += 1 } else { awaySteps = 0 }
        if remaining < bestRemaining - tolerance {
            bestRemaining = remaining
            stalled = 0
        } else {
            stalled += 1
        }
        lastRemaining = remaining
        if controlLeft == 0 && reactionLeft == nil && (awaySteps >= patience || stalled >= stallSteps) {
            awaySteps = 0
            stalled = 0
            if let person {
                if slips.misses() {
                    counts.missedTakeovers += 1
                } else {
                    let seconds = Double.random(in: person.reactionSeconds, using: &generator)
                    reactionLeft = reactionSteps(seconds: seconds, policyHz: person.policyHz)
                }
            } else {
                startTakeover()
            }
        }
        if let left = reactionLeft {
            if left > 0 {
                reactionLeft = left - 1
                return nil
            }
            reactionLeft = nil
            startTakeover()
        }
        guard controlLeft > 0 else { return nil }
        controlLeft -= 1
        return expert.action(for: observation)
    }

    private func startTakeover() {
        controlLeft = takeoverSteps ?? .max
        counts.takeovers += 1
    }
}

/// Several operators at once (the keyboard and the scripted supervisor): the first that acts, acts.
public final class FirstAction: ActionSource {
    public let sources: [ActionSource]

    public init(_ sources: [ActionSource]) {
        self.sources = sources
    }

    public func action(for observation: EpisodeObservation) -> [Double]? {
        for source in sources {
            if let action = source.action(for: observation) { return action }
        }
        return nil
    }

    public func episodeStarted() {
        for source in sources { source.episodeStarted() }
    }
}
