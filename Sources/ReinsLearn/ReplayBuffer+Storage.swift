import Foundation
import ReinsNN

extension ReplayBuffer {
    /// Writes the whole ring (contents and indices) as one safetensors file, for resuming training.
    public func save(to path: String) throws(SafetensorsError) {
        var entries = spec.images.enumerated().map { camera, image in
            Safetensors.Entry(name: "frames.\(image.name)", dtype: .u8, shape: [capacity, image.height, image.width, image.channels],
                              data: UnsafeRawPointer(frames[camera]))
        }
        entries += [
            Safetensors.Entry(name: "proprio", shape: [capacity, spec.proprioWidth], floats: proprio.pointer),
            Safetensors.Entry(name: "actions", shape: [capacity, actionWidth], floats: actions.pointer),
            Safetensors.Entry(name: "rewards", shape: [capacity], floats: rewards.pointer),
            Safetensors.Entry(name: "terminals", dtype: .u8, shape: [capacity], data: terminals),
            Safetensors.Entry(name: "interventions", dtype: .u8, shape: [capacity], data: interventions),
            Safetensors.Entry(name: "gripper_open", dtype: .u8, shape: [capacity], data: gripperOpen),
            Safetensors.Entry(name: "starts_transition", dtype: .u8, shape: [capacity], data: startsTransition),
        ]
        let specJSON = String(decoding: (try? JSONEncoder().encode(spec)) ?? Data(), as: UTF8.self)
        let metadata = [
            "format": "reins.replay_buffer", "spec": specJSON, "action_width": "\(actionWidth)", "capacity": "\(capacity)",
            "insert_index": "\(insertIndex)", "filled_slots": "\(filledSlots)", "count": "\(count)", "added": "\(added)",
            "pending_slot": "\(pendingSlot ?? -1)",
        ]
        try Safetensors.write(entries, metadata: metadata, to: path)
    }

    /// Replaces the contents with a file written by `save` for a buffer of the same spec and capacity.
    public func load(from path: String) throws(SafetensorsError) {
        let file = try SafetensorsFile(path: path)
        let metadata = file.metadata
        guard metadata["format"] == "reins.replay_buffer" else {
            throw .malformed(path: path, reason: "not a Reins replay buffer (metadata format is \(metadata["format"] ?? "missing"))")
        }
        guard let savedSpec = metadata["spec"].flatMap({ try? JSONDecoder().decode(ObservationSpec.self, from: Data($0.utf8)) }),
              savedSpec == spec, metadata["action_width"] == "\(actionWidth)", metadata["capacity"] == "\(capacity)"
        else {
            throw .mismatch(path: path, tensor: "(metadata)",
                            reason: "buffer was saved with capacity \(metadata["capacity"] ?? "?") and action width \(metadata["action_width"] ?? "?") for spec \(metadata["spec"] ?? "?")")
        }
        func number(_ key: String) throws(SafetensorsError) -> Int {
            guard let value = metadata[key].flatMap(Int.init) else { throw .malformed(path: path, reason: "metadata \(key) missing") }
            return value
        }
        let indices = (insert: try number("insert_index"), filled: try number("filled_slots"), count: try number("count"),
                       added: try number("added"), pending: try number("pending_slot"))
        for (camera, image) in spec.images.enumerated() {
            try file.read("frames.\(image.name)", dtype: .u8, shape: [capacity, image.height, image.width, image.channels], into: frames[camera])
        }
        try file.read("proprio", dtype: .f32, shape: [capacity, spec.proprioWidth], into: proprio.pointer)
        try file.read("actions", dtype: .f32, shape: [capacity, actionWidth], into: actions.pointer)
        try file.read("rewards", dtype: .f32, shape: [capacity], into: rewards.pointer)
        try file.read("terminals", dtype: .u8, shape: [capacity], into: terminals)
        try file.read("interventions", dtype: .u8, shape: [capacity], into: interventions)
        // Buffers saved before the gripper's state was stored had only continuous grippers, which do not read it.
        if file.tensors["gripper_open"] != nil {
            try file.read("gripper_open", dtype: .u8, shape: [capacity], into: gripperOpen)
        } else {
            gripperOpen.update(repeating: 1, count: capacity)
        }
        try file.read("starts_transition", dtype: .u8, shape: [capacity], into: startsTransition)
        insertIndex = indices.insert
        filledSlots = indices.filled
        count = indices.count
        added = indices.added
        pendingSlot = indices.pending >= 0 ? indices.pending : nil
    }
}
