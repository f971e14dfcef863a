/// Every trainable tensor of a network in one allocation, and their gradients in a second one, so
/// an optimiser, a target-network update or a copy to the actor is one flat loop.
///
/// Layers declare their tensors with `add` while the network is being built; `allocate()` then
/// makes the two blocks. Slots keep their declaration order, so two networks built the same way
/// have the same layout and can be copied or averaged slot for slot.
public final class ParameterSet: @unchecked Sendable {
    /// One named tensor inside the set.
    public struct Slot: Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public private(set) var slots: [Slot] = []
    public private(set) var count = 0
    private var valueBuffer: FloatBuffer?
    /// One gradient block per thread that backpropagates part of a batch; block 0 is `gradients`.
    private var gradientBuffers: [FloatBuffer] = []

    public init() {}

    /// Declares a tensor; returns its slot. Only before `allocate()`.
    public func add(_ name: String, shape: [Int]) -> Slot {
        precondition(valueBuffer == nil, "parameter \(name) added after the set was allocated")
        precondition(!slots.contains { $0.name == name }, "parameter \(name) declared twice")
        let slot = Slot(name: name, shape: shape, offset: count)
        slots.append(slot)
        count += slot.count
        return slot
    }

    /// Makes the value block and `shards` gradient blocks, zeroed. Layers then write their initial values.
    public func allocate(shards: Int = 1) {
        precondition(valueBuffer == nil, "parameter set allocated twice")
        valueBuffer = FloatBuffer(count: count)
        gradientBuffers = (0..<max(shards, 1)).map { _ in FloatBuffer(count: count) }
    }

    public var values: UnsafeMutablePointer<Float> { valueBuffer!.pointer }
    public var gradients: UnsafeMutablePointer<Float> { gradientBuffers[0].pointer }
    public var shards: Int { gradientBuffers.count }

    /// The gradient block thread `shard` accumulates into.
    public func gradients(shard: Int) -> UnsafeMutablePointer<Float> { gradientBuffers[shard].pointer }

    /// gradients[range] = Σ over blocks, and the other blocks' range zeroed: after the threads that
    /// each backpropagated part of a batch are done. Threads may each take a disjoint range.
    public func reduceGradients(_ range: Range<Int>) {
        for shard in 1..<max(gradientBuffers.count, 1) {
            let part = gradientBuffers[shard].pointer + range.lowerBound
            Elementwise.add(into: gradients + range.lowerBound, part, count: range.count)
            part.update(repeating: 0, count: range.count)
        }
    }

    public func values(_ slot: Slot) -> UnsafeMutablePointer<Float> { values + slot.offset }

    public func zeroGradients() {
        for block in gradientBuffers { block.zero() }
    }

    /// Copies every value from a set with the same layout (a target network, the actor's copy).
    public func copyValues(from other: ParameterSet) {
        precondition(other.count == count, "parameter sets differ in size: \(other.count) vs \(count)")
        values.update(from: other.values, count: count)
    }

    /// Copies each tensor from the one of the same name and shape in `other` (a policy's copy of the
    /// critic's encoder, out of the whole critic).
    public func copyValues(byName other: ParameterSet) {
        for slot in slots {
            guard let source = other.slots.first(where: { $0.name == slot.name }), source.shape == slot.shape else {
                preconditionFailure("parameter \(slot.name) \(slot.shape) is not in the set copied from")
            }
            values(slot).update(from: other.values(source), count: slot.count)
        }
    }

    /// Polyak averaging, self ← τ·source + (1 − τ)·self, as target networks are updated; over
    /// `range` of the flat parameters (all of them by default).
    public func blend(toward source: ParameterSet, rate tau: Float, range: Range<Int>? = nil) {
        precondition(source.count == count, "parameter sets differ in size: \(source.count) vs \(count)")
        let range = range ?? 0..<count
        let target = values + range.lowerBound, online = source.values + range.lowerBound
        let keep = 1 - tau, count = range.count
        var index = 0
        while index + 8 <= count {
            let mixed = SIMD8<Float>.load(online + index) * tau + SIMD8<Float>.load(target + index) * keep
            mixed.store(to: target + index)
            index += 8
        }
        while index < count {
            target[index] = tau * online[index] + keep * target[index]
            index += 1
        }
    }
}

/// Unaligned eight-lane loads and stores for the element-wise loops.
extension SIMD8 where Scalar == Float {
    @inline(__always) public static func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) public static func load(_ pointer: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) public func store(to pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: self, as: SIMD8<Float>.self)
    }
}
