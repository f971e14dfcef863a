import Foundation
import ReinsCore
import ReinsNN

/// A preallocated ring of transitions (SERL's layout: an insert index and a size).
///
/// Each slot holds one observation: its camera frames (uint8), its proprio vector, and, when the
/// slot starts a transition, the action, reward and flags. A transition's next observation is the
/// following slot, so a frame is stored once, not twice; an episode's last next-observation takes
/// one slot of its own that starts no transition. Memory per transition is therefore the frame
/// bytes plus (P + A + 1) floats and four flag bytes, plus one frame slot per episode.
public final class ReplayBuffer: @unchecked Sendable {
    public let spec: ObservationSpec
    public let actionWidth: Int
    public let capacity: Int
    let frames: [UnsafeMutablePointer<UInt8>]  // per camera (capacity, H, W, C)
    let proprio: FloatBuffer  // (capacity, P)
    let actions: FloatBuffer  // (capacity, A)
    let rewards: FloatBuffer  // (capacity)
    let terminals: UnsafeMutablePointer<UInt8>  // (capacity)
    let interventions: UnsafeMutablePointer<UInt8>  // (capacity)
    /// 1 where the gripper was open before the transition (what a discrete gripper's class is relative to).
    let gripperOpen: UnsafeMutablePointer<UInt8>  // (capacity)
    /// 1 where the slot starts a transition whose next observation is the following slot.
    let startsTransition: UnsafeMutablePointer<UInt8>  // (capacity)
    /// The slot the next write goes to.
    public internal(set) var insertIndex = 0
    /// Slots written so far, up to capacity.
    public internal(set) var filledSlots = 0
    /// Transitions that can be sampled now.
    public internal(set) var count = 0
    /// Transitions ever added (including those the ring has since overwritten).
    public internal(set) var added = 0
    /// The slot holding the current episode's latest observation, or nil between episodes.
    var pendingSlot: Int?

    public init(spec: ObservationSpec, actionWidth: Int, capacity: Int) {
        precondition(capacity >= 2, "a replay buffer needs room for at least one transition")
        self.spec = spec
        self.actionWidth = actionWidth
        self.capacity = capacity
        frames = spec.images.map { image in
            let frames = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * image.byteCount)
            frames.initialize(repeating: 0, count: capacity * image.byteCount)
            return frames
        }
        proprio = FloatBuffer(count: capacity * spec.proprioWidth)
        actions = FloatBuffer(count: capacity * actionWidth)
        rewards = FloatBuffer(count: capacity)
        terminals = .allocate(capacity: capacity)
        interventions = .allocate(capacity: capacity)
        gripperOpen = .allocate(capacity: capacity)
        startsTransition = .allocate(capacity: capacity)
        for flags in [terminals, interventions, gripperOpen, startsTransition] { flags.initialize(repeating: 0, count: capacity) }
    }

    deinit {
        frames.forEach { $0.deallocate() }
        [terminals, interventions, gripperOpen, startsTransition].forEach { $0.deallocate() }
    }

    /// Bytes of storage per slot (frames, proprio, action, reward, flags).
    public var bytesPerSlot: Int {
        spec.images.reduce(0) { $0 + $1.byteCount } + 4 * (spec.proprioWidth + actionWidth + 1) + 4
    }

    public var isEmpty: Bool { count == 0 }

    /// Adds one transition. `episodeEnded` is true on an episode's last step (terminal or time
    /// limit); `terminal` only when nothing should be bootstrapped past it. Within an episode,
    /// `observation` must be the previous call's `nextObservation`: it is not stored again.
    /// `gripperOpen` matters only to a discrete gripper (its class is in the action's last value).
    public func add(observation: Observation, action: [Float], reward: Float, nextObservation: Observation,
                    terminal: Bool, episodeEnded: Bool, intervention: Bool, gripperOpen: Bool = true) {
        precondition(observation.mismatch(with: spec) == nil && nextObservation.mismatch(with: spec) == nil,
                     observation.mismatch(with: spec) ?? nextObservation.mismatch(with: spec) ?? "")
        precondition(action.count == actionWidth, "action has \(action.count) values, expected \(actionWidth)")
        let slot: Int
        if let pending = pendingSlot {
            slot = pending
        } else {
            slot = claimSlot()
            writeObservation(observation, to: slot)
        }
        action.withUnsafeBufferPointer { (actions.pointer + slot * actionWidth).update(from: $0.baseAddress!, count: actionWidth) }
        rewards[slot] = reward
        terminals[slot] = terminal ? 1 : 0
        interventions[slot] = intervention ? 1 : 0
        self.gripperOpen[slot] = gripperOpen ? 1 : 0
        let next = claimSlot()
        writeObservation(nextObservation, to: next)
        startsTransition[slot] = 1
        count += 1
        added += 1
        pendingSlot = episodeEnded ? nil : next
    }

    /// Forgets the episode in progress: the next `add` starts a new one (e.g. after a discarded episode).
    public func endEpisode() { pendingSlot = nil }

    /// Takes the slot at the insert index; whatever transition started there is overwritten.
    private func claimSlot() -> Int {
        let slot = insertIndex
        if startsTransition[slot] == 1 {
            startsTransition[slot] = 0
            count -= 1
        }
        insertIndex = (insertIndex + 1) % capacity
        filledSlots = min(filledSlots + 1, capacity)
        return slot
    }

    private func writeObservation(_ observation: Observation, to slot: Int) {
        for (camera, image) in observation.images.enumerated() {
            let size = spec.images[camera].byteCount
            image.withUnsafeBufferPointer { (frames[camera] + slot * size).update(from: $0.baseAddress!, count: size) }
        }
        observation.proprio.withUnsafeBufferPointer {
            (proprio.pointer + slot * spec.proprioWidth).update(from: $0.baseAddress!, count: spec.proprioWidth)
        }
    }

    /// Fills `rows` rows of `batch`, from `firstRow`, with transitions drawn uniformly, each image
    /// shifted at random by up to `shift` pixels (DrQ's pad-and-crop with edge padding; 0 for none),
    /// independently for every sample and for observation and next observation. Allocates nothing.
    public func sample(into batch: TransitionBatch, rows: Range<Int>, shift: Int, using generator: inout SplitMix64) {
        precondition(count > 0, "sampling from an empty replay buffer")
        let proprioWidth = spec.proprioWidth
        for row in rows {
            var slot = Int(generator.next() % UInt64(filledSlots))
            while startsTransition[slot] == 0 { slot = Int(generator.next() % UInt64(filledSlots)) }
            let next = (slot + 1) % capacity
            for camera in 0..<spec.images.count {
                let image = spec.images[camera]
                let source = frames[camera]
                Self.copyShifted(out: batch.images[camera].pointer + row * image.byteCount, source + slot * image.byteCount,
                                 image: image, shift: shift, using: &generator)
                Self.copyShifted(out: batch.nextImages[camera].pointer + row * image.byteCount, source + next * image.byteCount,
                                 image: image, shift: shift, using: &generator)
            }
            (batch.proprio.pointer + row * proprioWidth).update(from: proprio.pointer + slot * proprioWidth, count: proprioWidth)
            (batch.nextProprio.pointer + row * proprioWidth).update(from: proprio.pointer + next * proprioWidth, count: proprioWidth)
            (batch.actions.pointer + row * actionWidth).update(from: actions.pointer + slot * actionWidth, count: actionWidth)
            batch.rewards[row] = rewards[slot]
            batch.masks[row] = terminals[slot] == 1 ? 0 : 1
            batch.interventions[row] = Float(interventions[slot])
            batch.gripperOpen[row] = Float(gripperOpen[slot])
        }
        batch.count = max(batch.count, rows.upperBound)
    }

    private static let unitScale: [Float] = (0..<256).map { Float($0) / 255 }

    /// out (H, W, C) = source shifted by (dy, dx) ∈ [−shift, shift]², edges repeated, scaled to [0, 1].
    @inline(__always)
    static func copyShifted(out: UnsafeMutablePointer<Float>, _ source: UnsafePointer<UInt8>, image: ObservationSpec.Image,
                            shift: Int, using generator: inout SplitMix64) {
        let span = UInt64(2 * shift + 1)
        let dy = Int(generator.next() % span) - shift
        let dx = Int(generator.next() % span) - shift
        let channels = image.channels, width = image.width, height = image.height
        unitScale.withUnsafeBufferPointer { scale in
            var destination = out
            for y in 0..<height {
                let sourceRow = source + min(max(y + dy, 0), height - 1) * width * channels
                for x in 0..<width {
                    let pixel = sourceRow + min(max(x + dx, 0), width - 1) * channels
                    for channel in 0..<channels { destination[channel] = scale[Int(pixel[channel])] }
                    destination += channels
                }
            }
        }
    }
}

/// Draws a training batch from a demo buffer and an online buffer, `demoFraction` of the rows from
/// the demos (RLPD's symmetric sampling, HIL-SERL's 50/50); all from one when the other is empty.
public func sampleMixed(demos: ReplayBuffer, online: ReplayBuffer, demoFraction: Double, into batch: TransitionBatch,
                        shift: Int, using generator: inout SplitMix64) {
    let size = batch.capacity
    let demoRows = demos.isEmpty ? 0 : online.isEmpty ? size : Int((Double(size) * demoFraction).rounded())
    if demoRows > 0 { demos.sample(into: batch, rows: 0..<demoRows, shift: shift, using: &generator) }
    if demoRows < size { online.sample(into: batch, rows: demoRows..<size, shift: shift, using: &generator) }
    batch.count = size
}
