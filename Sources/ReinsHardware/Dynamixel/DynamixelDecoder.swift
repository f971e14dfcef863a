/// One decoded Dynamixel packet. For a status packet `instruction` is 0x55 and `error` is set.
public struct DynamixelFrame: Sendable, Equatable {
    public var id: UInt8
    public var instruction: UInt8
    /// The status error byte; nil for instruction packets.
    public var error: DynamixelStatusError?
    /// Unstuffed parameters (after the error byte for a status packet).
    public var parameters: [UInt8]

    public init(id: UInt8, instruction: UInt8, error: DynamixelStatusError?, parameters: [UInt8]) {
        self.id = id
        self.instruction = instruction
        self.error = error
        self.parameters = parameters
    }

    public var isStatus: Bool { instruction == DynamixelInstruction.status.rawValue }
}

/// Why bytes on a Dynamixel bus were not a packet. The bytes are dropped and decoding goes on.
public enum DynamixelDecodeError: Error, Equatable, Sendable {
    /// The CRC did not match: noise or a collision on the bus. The packet is discarded, never applied.
    case crcMismatch(id: UInt8)
    /// A length field that cannot be right (too short, or beyond the decoder's buffer).
    case badLength(id: UInt8, length: Int)
}

/// An incremental Dynamixel Protocol 2.0 decoder: feed it bytes as they arrive (one at a time or
/// several packets at once) and take packets out when complete.
///
/// Garbage before a header is skipped; a packet with a bad CRC throws once and is dropped, and
/// decoding resumes right after its first byte, so a real packet hidden in noise is still found.
public struct DynamixelDecoder: Sendable {
    private var buffer: ReceiveBuffer
    /// The first byte not yet consumed.
    private var start: Int {
        get { buffer.start }
        set { buffer.start = newValue }
    }
    /// Whether packets are byte-stuffed; fast sync and fast bulk read replies are not.
    public var unstuffs: Bool
    public var capacity: Int { buffer.capacity }

    public init(capacity: Int = 4096, unstuffs: Bool = true) {
        self.unstuffs = unstuffs
        buffer = ReceiveBuffer(capacity: capacity)
    }

    /// Bytes received but not yet part of a returned packet.
    public var pendingCount: Int { buffer.pendingCount }

    /// Appends received bytes. Realtime once warmed up: compacts in place, allocates nothing.
    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        buffer.append(bytes)
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { feed($0) }
    }

    /// Drops everything buffered (before a new transaction).
    public mutating func reset() {
        buffer.removeAll()
    }

    /// The next complete packet, or nil until more bytes arrive.
    public mutating func next() throws(DynamixelDecodeError) -> DynamixelFrame? {
        var parameters: [UInt8] = []
        guard let frame = try next(parameters: &parameters) else { return nil }
        return DynamixelFrame(id: frame.id, instruction: frame.instruction, error: frame.error, parameters: parameters)
    }

    /// The next complete packet with its parameters written into `parameters` (emptied, capacity
    /// kept), or nil until more bytes arrive. Realtime: allocates nothing once buffers are warm.
    public mutating func next(parameters: inout [UInt8]) throws(DynamixelDecodeError)
        -> (id: UInt8, instruction: UInt8, error: DynamixelStatusError?)? {
        guard let headerAt = findHeader() else { return nil }
        start = headerAt
        let available = buffer.count - start
        guard available >= 7 else { return nil }
        let id = buffer[start + 4]
        let length = Int(buffer[start + 5]) | Int(buffer[start + 6]) << 8
        guard length >= 3, 7 + length <= capacity else {
            start += 1
            throw .badLength(id: id, length: length)
        }
        guard available >= 7 + length else { return nil }
        let crcAt = start + 7 + length - 2
        let expected = UInt16(buffer[crcAt]) | UInt16(buffer[crcAt + 1]) << 8
        let actual = buffer.bytes.withUnsafeBufferPointer {
            DynamixelCRC.update(0, UnsafeBufferPointer(rebasing: $0[start..<crcAt]))
        }
        guard actual == expected else {
            start += 1
            throw .crcMismatch(id: id)
        }
        let instruction = buffer[start + 7]
        var bodyAt = start + 8
        var error: DynamixelStatusError?
        if instruction == DynamixelInstruction.status.rawValue {
            guard bodyAt < crcAt else {
                start += 1
                throw .badLength(id: id, length: length)
            }
            error = DynamixelStatusError(raw: buffer[bodyAt])
            bodyAt += 1
        }
        parameters.removeAll(keepingCapacity: true)
        var index = bodyAt
        while index < crcAt {
            let byte = buffer[index]
            parameters.append(byte)
            // Unstuff: drop the FD that follows FF FF FD.
            if unstuffs && byte == 0xFD && index + 1 < crcAt && buffer[index + 1] == 0xFD
                && index - 2 >= start + 7 && buffer[index - 1] == 0xFF && buffer[index - 2] == 0xFF {
                index += 1
            }
            index += 1
        }
        start = crcAt + 2
        buffer.removeAllIfConsumed()
        return (id, instruction, error)
    }

    /// The index of the next `FF FF FD 00` at or after `start`; keeps a partial header's bytes.
    private mutating func findHeader() -> Int? {
        var index = start
        while index + 4 <= buffer.count {
            if buffer[index] == 0xFF && buffer[index + 1] == 0xFF && buffer[index + 2] == 0xFD && buffer[index + 3] == 0x00 {
                return index
            }
            index += 1
        }
        // Keep a possible header prefix at the end; drop everything before it.
        start = max(start, buffer.count - 3)
        buffer.removeAllIfConsumed()
        return nil
    }
}
