/// Dynamixel Protocol 2.0 instruction codes.
public enum DynamixelInstruction: UInt8, Sendable, CaseIterable {
    case ping = 0x01
    case read = 0x02
    case write = 0x03
    case regWrite = 0x04
    case action = 0x05
    case factoryReset = 0x06
    case reboot = 0x08
    case clear = 0x10
    case status = 0x55
    case syncRead = 0x82
    case syncWrite = 0x83
    case fastSyncRead = 0x8A
    case bulkRead = 0x92
    case bulkWrite = 0x93
    case fastBulkRead = 0x9A
}

/// Builds Dynamixel Protocol 2.0 packets: `FF FF FD 00 | ID | LEN | INST | params | CRC`.
///
/// Every builder writes into a caller-owned buffer, emptied but keeping its capacity, so a driver
/// that reuses one buffer allocates nothing per packet. Parameters are byte-stuffed (an `FD` after
/// every `FF FF FD`), LEN counts the stuffed bytes, and the CRC covers them, as servos require;
/// one widely used SDK skips the stuffing on send.
public enum DynamixelPacket {
    public static let header: [UInt8] = [0xFF, 0xFF, 0xFD, 0x00]
    public static let broadcastID: UInt8 = 0xFE

    /// An instruction packet with raw parameters.
    public static func encode(id: UInt8, instruction: DynamixelInstruction, parameters: [UInt8], into out: inout [UInt8]) {
        encodeFrame(id: id, leading: instruction.rawValue, secondLeading: nil, parameters: parameters, into: &out)
    }

    /// A status packet (servo to controller): `… 0x55 | ERR | params | CRC`, stuffed like any other
    /// unless `stuffing` is false (Fast Sync and Fast Bulk Read replies are never stuffed).
    public static func encodeStatus(id: UInt8, error: UInt8, parameters: [UInt8], stuffing: Bool = true, into out: inout [UInt8]) {
        encodeFrame(id: id, leading: DynamixelInstruction.status.rawValue, secondLeading: error, parameters: parameters,
                    stuffing: stuffing, into: &out)
    }

    private static func encodeFrame(id: UInt8, leading: UInt8, secondLeading: UInt8?, parameters: [UInt8], stuffing: Bool = true,
                                    into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: header)
        out.append(id)
        out.append(0)  // length, patched below
        out.append(0)
        let bodyStart = out.count
        out.append(leading)
        if let secondLeading { out.append(secondLeading) }
        for byte in parameters {
            out.append(byte)
            // Stuff: the body must never contain the header's FF FF FD.
            if stuffing && byte == 0xFD && out.count - bodyStart >= 3 && out[out.count - 2] == 0xFF && out[out.count - 3] == 0xFF {
                out.append(0xFD)
            }
        }
        let length = out.count - bodyStart + 2
        out[5] = UInt8(length & 0xFF)
        out[6] = UInt8(length >> 8)
        let crc = out.withUnsafeBufferPointer { DynamixelCRC.update(0, $0) }
        out.append(UInt8(crc & 0xFF))
        out.append(UInt8(crc >> 8))
    }

    // MARK: Instructions

    public static func ping(id: UInt8, into out: inout [UInt8]) {
        encode(id: id, instruction: .ping, parameters: [], into: &out)
    }

    public static func read(id: UInt8, address: UInt16, length: Int, into out: inout [UInt8]) {
        encode(id: id, instruction: .read, parameters: le16(address) + le16(UInt16(length)), into: &out)
    }

    public static func write(id: UInt8, address: UInt16, data: [UInt8], into out: inout [UInt8]) {
        encode(id: id, instruction: .write, parameters: le16(address) + data, into: &out)
    }

    /// Like write, but the servo holds the data until an action packet.
    public static func regWrite(id: UInt8, address: UInt16, data: [UInt8], into out: inout [UInt8]) {
        encode(id: id, instruction: .regWrite, parameters: le16(address) + data, into: &out)
    }

    /// Applies held reg-writes. A unicast action is answered with a status packet: read or drain it.
    public static func action(id: UInt8, into out: inout [UInt8]) {
        encode(id: id, instruction: .action, parameters: [], into: &out)
    }

    public static func reboot(id: UInt8, into out: inout [UInt8]) {
        encode(id: id, instruction: .reboot, parameters: [], into: &out)
    }

    /// One register range from several servos; each answers with its own status packet, in order.
    public static func syncRead(ids: [UInt8], address: UInt16, length: Int, into out: inout [UInt8]) {
        encode(id: broadcastID, instruction: .syncRead, parameters: le16(address) + le16(UInt16(length)) + ids, into: &out)
    }

    /// Like sync read, but all servos answer in one unstuffed packet (X430 firmware ≥ 45, X330 ≥ 46).
    public static func fastSyncRead(ids: [UInt8], address: UInt16, length: Int, into out: inout [UInt8]) {
        encode(id: broadcastID, instruction: .fastSyncRead, parameters: le16(address) + le16(UInt16(length)) + ids, into: &out)
    }

    /// The same register range written to several servos; `data[i]` goes to `ids[i]`, each `length` bytes.
    public static func syncWrite(address: UInt16, length: Int, ids: [UInt8], data: [[UInt8]], into out: inout [UInt8]) {
        precondition(ids.count == data.count && data.allSatisfy { $0.count == length }, "one \(length)-byte value per id")
        var parameters = le16(address) + le16(UInt16(length))
        for (id, bytes) in zip(ids, data) { parameters += [id] + bytes }
        encode(id: broadcastID, instruction: .syncWrite, parameters: parameters, into: &out)
    }

    /// Different register ranges from several servos: `(id, address, length)` each.
    public static func bulkRead(_ reads: [(id: UInt8, address: UInt16, length: Int)], into out: inout [UInt8]) {
        var parameters: [UInt8] = []
        for read in reads { parameters += [read.id] + le16(read.address) + le16(UInt16(read.length)) }
        encode(id: broadcastID, instruction: .bulkRead, parameters: parameters, into: &out)
    }

    /// Different register ranges written to several servos: `(id, address, data)` each.
    public static func bulkWrite(_ writes: [(id: UInt8, address: UInt16, data: [UInt8])], into out: inout [UInt8]) {
        var parameters: [UInt8] = []
        for write in writes { parameters += [write.id] + le16(write.address) + le16(UInt16(write.data.count)) + write.data }
        encode(id: broadcastID, instruction: .bulkWrite, parameters: parameters, into: &out)
    }

    /// The length of a Fast Sync Read reply's parameters for `count` servos of `dataLength` bytes
    /// each: every servo contributes ERR, ID, data and CRC; the first ERR is the frame's error byte
    /// and the last CRC is the frame's.
    public static func fastSyncReplyLength(count: Int, dataLength: Int) -> Int {
        count * (dataLength + 4) - 3
    }

    /// Walks a Fast Sync Read reply (decoded without unstuffing), handing each servo's error, id
    /// and data to `body` in order. Each servo's own CRC is skipped: the frame's CRC covers all of
    /// it. Returns false when the length does not fit `count` servos. Realtime: allocates nothing.
    public static func forEachFastSyncReply(firstError: DynamixelStatusError, parameters: [UInt8], count: Int, dataLength: Int,
                                            _ body: (_ index: Int, _ error: DynamixelStatusError, _ id: UInt8, _ data: ArraySlice<UInt8>) -> Void) -> Bool {
        guard count > 0, parameters.count == fastSyncReplyLength(count: count, dataLength: dataLength) else { return false }
        var offset = 0
        for index in 0..<count {
            var error = firstError
            if index > 0 {
                error = DynamixelStatusError(raw: parameters[offset])
                offset += 1
            }
            body(index, error, parameters[offset], parameters[(offset + 1)..<(offset + 1 + dataLength)])
            offset += 1 + dataLength + 2  // this servo's CRC
        }
        return true
    }

    /// Little-endian bytes of a register value of `size` bytes.
    public static func littleEndian(_ raw: UInt32, size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: raw >> (8 * UInt32($0))) }
    }

    static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
}
