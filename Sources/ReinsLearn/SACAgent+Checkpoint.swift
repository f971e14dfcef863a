import Foundation
import ReinsCore
import ReinsNN

extension SACAgent {
    /// Writes the learner's whole state to one safetensors file: actor, critic, target critic and
    /// temperature values (and a discrete gripper's critic and target), both Adam moments of each optimiser, and, as metadata, the optimiser
    /// step counts, the sampling generator's state and the configuration. With `loadState` a run
    /// resumes exactly: the next update is the one the saved agent would have made.
    public func saveState(to path: String, metadata extra: [String: String] = [:]) throws(SafetensorsError) {
        var entries = actor.parameters.entries(prefix: "actor/") + critic.parameters.entries(prefix: "critic/")
            + targetCritic.parameters.entries(prefix: "target_critic/") + temperature.entries(prefix: "temperature/")
        if let gripperCritic, let targetGripperCritic {
            entries += gripperCritic.parameters.entries(prefix: "gripper_critic/") + targetGripperCritic.parameters.entries(prefix: "target_gripper_critic/")
        }
        var metadata = extra
        for (name, optimizer) in optimizers {
            entries.append(Safetensors.Entry(name: "adam/\(name)/m", shape: [optimizer.parameters.count], floats: optimizer.firstMoment.pointer))
            entries.append(Safetensors.Entry(name: "adam/\(name)/v", shape: [optimizer.parameters.count], floats: optimizer.secondMoment.pointer))
            metadata["reins.adam.\(name).step"] = String(optimizer.step)
        }
        metadata["reins.generator"] = String(generator.state)
        if let config = try? JSONEncoder().encode(config) { metadata["reins.sac_config"] = String(decoding: config, as: UTF8.self) }
        try Safetensors.write(entries, metadata: metadata, to: path)
    }

    /// Restores what `saveState` wrote, for an agent built with the same configuration; returns the
    /// file's metadata (the caller's counters ride along in it).
    @discardableResult
    public func loadState(from path: String) throws(SafetensorsError) -> [String: String] {
        let file = try SafetensorsFile(path: path)
        if let saved = file.metadata["reins.sac_config"], let savedConfig = try? JSONDecoder().decode(SACConfig.self, from: Data(saved.utf8)),
           savedConfig != config {
            throw .mismatch(path: path, tensor: "reins.sac_config", reason: "the checkpoint was made with a different learner configuration")
        }
        try actor.parameters.load(from: file, prefix: "actor/")
        try critic.parameters.load(from: file, prefix: "critic/")
        try targetCritic.parameters.load(from: file, prefix: "target_critic/")
        try temperature.load(from: file, prefix: "temperature/")
        try gripperCritic?.parameters.load(from: file, prefix: "gripper_critic/")
        try targetGripperCritic?.parameters.load(from: file, prefix: "target_gripper_critic/")
        for (name, optimizer) in optimizers {
            let count = optimizer.parameters.count
            try file.read("adam/\(name)/m", dtype: .f32, shape: [count], into: optimizer.firstMoment.pointer)
            try file.read("adam/\(name)/v", dtype: .f32, shape: [count], into: optimizer.secondMoment.pointer)
            guard let step = file.metadata["reins.adam.\(name).step"].flatMap(Int.init) else {
                throw .malformed(path: path, reason: "no step count for the \(name) optimiser")
            }
            optimizer.step = step
        }
        guard let state = file.metadata["reins.generator"].flatMap(UInt64.init) else {
            throw .malformed(path: path, reason: "no generator state")
        }
        generator = SplitMix64(seed: state)
        return file.metadata
    }

    private var optimizers: [(String, Adam)] {
        [("actor", actorOptimizer), ("critic", criticOptimizer), ("temperature", temperatureOptimizer)]
            + (gripperOptimizer.map { [("gripper", $0)] } ?? [])
    }
}
