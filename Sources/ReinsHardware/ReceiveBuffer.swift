/// Bytes received and not yet decoded: a preallocated array and a read position, compacted in
/// place when it would outgrow its capacity. Both protocol decoders keep one.
struct ReceiveBuffer: Sendable {
    private(set) var bytes: [UInt8] = []
    /// The first byte not yet consumed.
    var start = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        bytes.reserveCapacity(capacity)
    }

    var pendingCount: Int { bytes.count - start }
    var count: Int { bytes.count }
    subscript(index: Int) -> UInt8 { bytes[index] }

    /// Realtime once warmed up: compacts in place, allocates nothing.
    mutating func append(_ new: UnsafeBufferPointer<UInt8>) {
        if start > 0 && bytes.count + new.count > capacity {
            bytes.removeSubrange(0..<start)
            start = 0
        }
        bytes.append(contentsOf: new)
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        start = 0
    }

    /// Empties the buffer once everything in it has been consumed.
    mutating func removeAllIfConsumed() {
        if start >= bytes.count { removeAll() }
    }
}
