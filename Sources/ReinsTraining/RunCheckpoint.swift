import Foundation
import ReinsControl
import ReinsLearn
import ReinsNN

/// The counters and histories a training run carries across a restart.
public struct RunCounters: Codable, Sendable, Equatable {
    public struct CurvePoint: Codable, Sendable, Equatable {
        public var step: Int
        public var successRate: Double
        public var interventionRate: Double

        public init(step: Int, successRate: Double, interventionRate: Double) {
            self.step = step
            self.successRate = successRate
            self.interventionRate = interventionRate
        }
    }

    public var environmentSteps = 0
    public var episodes = 0
    public var updates = 0
    /// Per finished episode: success, intervention fraction, return (the last 20 feed the panel).
    public var successes: [Bool] = []
    public var interventionRates: [Double] = []
    public var returns: [Double] = []
    /// Success and intervention rate over the last 20 episodes, at each episode's end.
    public var curve: [CurvePoint] = []
    public var actorGenerator: UInt64 = 0
    public var learnerGenerator: UInt64 = 0
    public var seed: UInt64 = 0
    /// Seconds the actor held the arm between episodes for the learner to catch up (`minUpdatesPerStep`);
    /// nil in counters written before the setting existed.
    public var learnerWaitSeconds: Double?
    /// With a classifier's rewards on the twin: its calls against the twin's check over every frame
    /// so far; nil otherwise, and in counters written before it.
    public var rewardAgreement: ClassifierAgreement?
    /// With a classifier's rewards: who ended the rewarded episodes; nil otherwise, and in
    /// counters written before it.
    public var classifierEnds: ClassifierEnds?
    /// With the twin's stand-in operator: its presses and takeovers over the run, made, missed and
    /// false; nil otherwise, and in counters written before it.
    public var standIn: StandInCounts?

    public init() {}

    public func recent<T>(_ values: [T]) -> ArraySlice<T> { values.suffix(20) }

    public var recentSuccessRate: Double {
        let window = recent(successes)
        return window.isEmpty ? 0 : Double(window.filter { $0 }.count) / Double(window.count)
    }

    public var recentInterventionRate: Double {
        let window = recent(interventionRates)
        return window.isEmpty ? 0 : window.reduce(0, +) / Double(window.count)
    }

    /// Success over the last 20 episodes counting only those the operator never touched: what the
    /// policy does alone, which the assisted success rate hides.
    public var recentUnassistedSuccessRate: Double { Self.unassistedRate(successes.suffix(20), interventionRates.suffix(20)) }

    /// `recentUnassistedSuccessRate` as it was at each point of `curve` (one per finished episode).
    public var unassistedCurve: [(step: Int, rate: Double)] {
        (0..<min(curve.count, successes.count, interventionRates.count)).map { index in
            let window = max(0, index - 19)...index
            return (curve[index].step, Self.unassistedRate(successes[window], interventionRates[window]))
        }
    }

    private static func unassistedRate(_ successes: ArraySlice<Bool>, _ interventionRates: ArraySlice<Double>) -> Double {
        guard !successes.isEmpty else { return 0 }
        return Double(zip(successes, interventionRates).filter { $0 && $1 == 0 }.count) / Double(successes.count)
    }
}

/// Checkpoints of a run: `RUN/checkpoints/step_00001234/` with the learner's state (networks,
/// optimisers, generator), both replay buffers and the counters. Each is written as a hidden
/// temporary folder and renamed into place, so a kill leaves either the whole checkpoint or none;
/// the last `keep` are kept.
public enum RunCheckpoint {
    public static func folder(of run: URL) -> URL { run.appendingPathComponent("checkpoints", isDirectory: true) }

    @discardableResult
    public static func save(_ learner: Learner, counters: RunCounters, run: URL, keep: Int = 3) throws -> URL {
        let parent = folder(of: run)
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        let name = String(format: "step_%08d", counters.environmentSteps)
        let final = parent.appendingPathComponent(name, isDirectory: true)
        let temporary = parent.appendingPathComponent(".\(name).tmp", isDirectory: true)
        try? FileManager.default.removeItem(at: temporary)
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        var counters = counters
        try learner.whilePaused {
            counters.learnerGenerator = learner.samplingState
            try learner.agent.saveState(to: temporary.appendingPathComponent("agent.safetensors").path)
            try learner.online.save(to: temporary.appendingPathComponent("online.safetensors").path)
            try learner.demos.save(to: temporary.appendingPathComponent("demos.safetensors").path)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(counters).write(to: temporary.appendingPathComponent("counters.json"))
        try? FileManager.default.removeItem(at: final)
        guard rename(temporary.path, final.path) == 0 else {
            throw TrainingError.checkpoint(path: final.path, problem: "could not rename it into place: \(String(cString: strerror(errno)))")
        }
        for old in all(in: run).dropLast(keep) { try? FileManager.default.removeItem(at: old) }
        return final
    }

    /// Complete checkpoints, oldest first (temporary folders of an interrupted save are not among them).
    public static func all(in run: URL) -> [URL] {
        let parent = folder(of: run)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
        return names.filter { $0.hasPrefix("step_") }.sorted().map { parent.appendingPathComponent($0, isDirectory: true) }
    }

    /// The capacities the checkpoint's buffers were made with: a resumed learner must make its
    /// buffers the same size to load them.
    public static func bufferCapacities(_ checkpoint: URL) throws -> (online: Int, demos: Int) {
        func capacity(_ name: String) throws -> Int {
            let path = checkpoint.appendingPathComponent(name).path
            guard let value = try SafetensorsFile(path: path).metadata["capacity"].flatMap(Int.init) else {
                throw TrainingError.checkpoint(path: path, problem: "no buffer capacity in its metadata")
            }
            return value
        }
        return (try capacity("online.safetensors"), try capacity("demos.safetensors"))
    }

    /// The learner configuration a checkpoint was made with; nil when it does not say.
    public static func savedConfig(_ checkpoint: URL) -> SACConfig? {
        let path = checkpoint.appendingPathComponent("agent.safetensors").path
        guard let json = (try? SafetensorsFile(path: path))?.metadata["reins.sac_config"] else { return nil }
        return try? JSONDecoder().decode(SACConfig.self, from: Data(json.utf8))
    }

    /// Restores the learner (and its buffers) and the actor it feeds from a checkpoint folder;
    /// returns the counters.
    public static func load(_ checkpoint: URL, into learner: Learner, actor: PolicyActor) throws -> RunCounters {
        let counters: RunCounters
        do {
            counters = try JSONDecoder().decode(RunCounters.self, from: Data(contentsOf: checkpoint.appendingPathComponent("counters.json")))
        } catch {
            throw TrainingError.checkpoint(path: checkpoint.path, problem: "counters.json is missing or unreadable (\(error.localizedDescription))")
        }
        try learner.whilePaused {
            try learner.agent.loadState(from: checkpoint.appendingPathComponent("agent.safetensors").path)
            try learner.online.load(from: checkpoint.appendingPathComponent("online.safetensors").path)
            try learner.demos.load(from: checkpoint.appendingPathComponent("demos.safetensors").path)
        }
        learner.samplingState = counters.learnerGenerator
        learner.resumeCount(updates: counters.updates)
        actor.update(from: learner.agent)
        actor.restoreGenerator(counters.actorGenerator)
        return counters
    }
}
