/// Feetech STS/SCS instruction codes.
public enum FeetechInstruction: UInt8, Sendable, CaseIterable {
    case ping = 0x01
    case read = 0x02
    case write = 0x03
    case regWrite = 0x04
    case action = 0x05
    case factoryReset = 0x06
    case reset = 0x0A
    /// Each listed servo answers with its own status packet, in list order (STS only, not SCS).
    case syncRead = 0x82
    case syncWrite = 0x83
}

/// Byte order of multi-byte registers: STS/SMS servos are little-endian, SCS big-endian.
/// One bus holds one kind.
public enum FeetechByteOrder: Sendable {
    case littleEndian
    case bigEndian

    public func bytes(_ raw: UInt32, size: Int) -> [UInt8] {
        let little = (0..<size).map { UInt8(truncatingIfNeeded: raw >> (8 * UInt32($0))) }
        return self == .littleEndian ? little : little.reversed()
    }

    /// Realtime: allocates nothing.
    public func value(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        // Index loops, not generic sequence calls: those allocate in a debug build.
        var raw: UInt32 = 0
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let offset = index - bytes.startIndex
            let position = self == .littleEndian ? offset : bytes.count - 1 - offset
            raw |= UInt32(bytes[index]) << (8 * UInt32(position))
            index += 1
        }
        return raw
    }
}

/// Builds Feetech packets: `FF FF | ID | LEN | INST | params | CHK`, LEN = params + 2,
/// CHK = ~(ID + LEN + INST + Σparams). No stuffing, no CRC. Writes into a caller-owned buffer,
/// emptied but keeping its capacity, so a reused buffer costs no allocation per packet.
public enum FeetechPacket {
    public static let broadcastID: UInt8 = 0xFE

    public static func encode(id: UInt8, instruction: FeetechInstruction, parameters: [UInt8], into out: inout [UInt8]) {
        encodeFrame(id: id, code: instruction.rawValue, parameters: parameters, into: &out)
    }

    /// A status packet (servo to controller): the error byte stands where the instruction would.
    public static func encodeStatus(id: UInt8, error: UInt8, parameters: [UInt8], into out: inout [UInt8]) {
        encodeFrame(id: id, code: error, parameters: parameters, into: &out)
    }

    private static func encodeFrame(id: UInt8, code: UInt8, parameters: [UInt8], into out: inout [UInt8]) {
        precondition(parameters.count <= 253, "a Feetech packet holds at most 253 parameter bytes")
        out.removeAll(keepingCapacity: true)
        out.append(0xFF)
        out.append(0xFF)
        out.append(id)
        out.append(UInt8(parameters.count + 2))
        out.append(code)
        out.append(contentsOf: parameters)
        out.append(checksum(out[2...]))
    }

    /// ~(sum of ID, LEN, INST/ERR and parameters) & 0xFF.
    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt8 {
        var sum: UInt8 = 0
        var index = bytes.startIndex
        while index < bytes.endIndex {
            sum &+= bytes[index]
            index += 1
        }
        return ~sum
    }

    public static func ping(id: UInt8, into out: inout [UInt8]) {
        encode(id: id, instruction: .ping, parameters: [], into: &out)
    }

    public static func read(id: UInt8, address: UInt8, length: Int, into out: inout [UInt8]) {
        encode(id: id, instruction: .read, parameters: [address, UInt8(length)], into: &out)
    }

    public static func write(id: UInt8, address: UInt8, data: [UInt8], into out: inout [UInt8]) {
        encode(id: id, instruction: .write, parameters: [address] + data, into: &out)
    }

    public static func regWrite(id: UInt8, address: UInt8, data: [UInt8], into out: inout [UInt8]) {
        encode(id: id, instruction: .regWrite, parameters: [address] + data, into: &out)
    }

    public static func action(id: UInt8 = broadcastID, into out: inout [UInt8]) {
        encode(id: id, instruction: .action, parameters: [], into: &out)
    }

    public static func syncRead(ids: [UInt8], address: UInt8, length: Int, into out: inout [UInt8]) {
        encode(id: broadcastID, instruction: .syncRead, parameters: [address, UInt8(length)] + ids, into: &out)
    }

    /// The same register range written to several servos; `data[i]` goes to `ids[i]`.
    public static func syncWrite(address: UInt8, length: Int, ids: [UInt8], data: [[UInt8]], into out: inout [UInt8]) {
        precondition(ids.count == data.count && data.allSatisfy { $0.count == length }, "one \(length)-byte value per id")
        var parameters: [UInt8] = [address, UInt8(length)]
        for (id, bytes) in zip(ids, data) { parameters += [id] + bytes }
        encode(id: broadcastID, instruction: .syncWrite, parameters: parameters, into: &out)
    }
}

/// The error byte of a Feetech status packet.
public struct FeetechStatusError: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let voltage = Self(rawValue: 0x01)
    public static let angleSensor = Self(rawValue: 0x02)
    public static let overheat = Self(rawValue: 0x04)
    public static let overCurrent = Self(rawValue: 0x08)
    public static let overload = Self(rawValue: 0x20)

    public var description: String {
        let names: [(Self, String)] = [(.voltage, "voltage"), (.angleSensor, "angle sensor"), (.overheat, "overheat"),
                                       (.overCurrent, "over-current"), (.overload, "overload")]
        var present = names.filter { contains($0.0) }.map(\.1)
        let unknown = rawValue & ~0x2F
        if unknown != 0 { present.append("bits 0x\(String(unknown, radix: 16))") }
        return present.isEmpty ? "ok" : present.joined(separator: ", ")
    }
}
