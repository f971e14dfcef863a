/// One decoded Feetech packet: `code` is the instruction (controller to servo) or the error byte
/// (servo to controller); the wire format does not say which.
public struct FeetechFrame: Sendable, Equatable {
    public var id: UInt8
    public var code: UInt8
    public var parameters: [UInt8]

    public init(id: UInt8, code: UInt8, parameters: [UInt8]) {
        self.id = id
        self.code = code
        self.parameters = parameters
    }

    /// The code read as a status packet's error byte.
    public var statusError: FeetechStatusError { FeetechStatusError(rawValue: code) }
}

/// Why bytes on a Feetech bus were not a packet. The bytes are dropped and decoding goes on.
public enum FeetechDecodeError: Error, Equatable, Sendable {
    /// The checksum did not match: the packet is discarded, never applied.
    case checksumMismatch(id: UInt8)
    /// LEN below 2, which no packet has.
    case badLength(id: UInt8, length: Int)
}

/// An incremental Feetech decoder: feed bytes as they arrive, take packets out when complete.
/// A bad checksum throws once; decoding resumes just after the bad packet's first byte.
public struct FeetechDecoder: Sendable {
    private var buffer: ReceiveBuffer
    /// The first byte not yet consumed.
    private var start: Int {
        get { buffer.start }
        set { buffer.start = newValue }
    }
    public var capacity: Int { buffer.capacity }

    public init(capacity: Int = 1024) {
        buffer = ReceiveBuffer(capacity: capacity)
    }

    public var pendingCount: Int { buffer.pendingCount }

    /// Appends received bytes. Realtime once warmed up: compacts in place, allocates nothing.
    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        buffer.append(bytes)
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { feed($0) }
    }

    public mutating func reset() {
        buffer.removeAll()
    }

    public mutating func next() throws(FeetechDecodeError) -> FeetechFrame? {
        var parameters: [UInt8] = []
        guard let frame = try next(parameters: &parameters) else { return nil }
        return FeetechFrame(id: frame.id, code: frame.code, parameters: parameters)
    }

    /// The next packet with its parameters written into `parameters` (emptied, capacity kept).
    /// Realtime: allocates nothing once buffers are warm.
    public mutating func next(parameters: inout [UInt8]) throws(FeetechDecodeError) -> (id: UInt8, code: UInt8)? {
        // A header is FF FF followed by an id, which is never FF.
        while start + 2 < buffer.count && !(buffer[start] == 0xFF && buffer[start + 1] == 0xFF && buffer[start + 2] != 0xFF) {
            start += 1
        }
        guard buffer.count - start >= 4 else {
            if buffer.count - start < 2 || buffer[start] != 0xFF { buffer.removeAllIfConsumed() }
            return nil
        }
        let id = buffer[start + 2]
        let length = Int(buffer[start + 3])
        guard length >= 2 else {
            start += 1
            throw .badLength(id: id, length: length)
        }
        guard buffer.count - start >= 4 + length else { return nil }
        let checksumAt = start + 3 + length
        guard FeetechPacket.checksum(buffer.bytes[(start + 2)..<checksumAt]) == buffer[checksumAt] else {
            start += 1
            throw .checksumMismatch(id: id)
        }
        parameters.removeAll(keepingCapacity: true)
        parameters.append(contentsOf: buffer.bytes[(start + 5)..<checksumAt])
        let code = buffer[start + 4]
        start = checksumAt + 1
        buffer.removeAllIfConsumed()
        return (id, code)
    }
}
