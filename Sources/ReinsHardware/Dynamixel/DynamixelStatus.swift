/// The error byte of a Dynamixel status packet.
public struct DynamixelStatusError: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// What the servo refused, from bits 0–6.
    public enum Kind: UInt8, Sendable {
        /// The instruction failed.
        case resultFail = 1
        /// An unknown instruction, or an action without a reg write.
        case instruction = 2
        /// The servo saw a bad CRC: check wiring and baud rate.
        case crc = 3
        /// A value outside the register's range.
        case dataRange = 4
        /// Too short or too long for the register.
        case dataLength = 5
        /// Beyond a limit register (e.g. goal position past max position limit).
        case dataLimit = 6
        /// A read-only register, or an EEPROM register while torque is on.
        case access = 7
    }

    public let raw: UInt8

    public init(raw: UInt8) {
        self.raw = raw
    }

    /// Bit 7: the servo has a hardware error; read Hardware Error Status (address 70) for which.
    public var alert: Bool { raw & 0x80 != 0 }
    /// The instruction error, nil when the instruction succeeded.
    public var kind: Kind? { Kind(rawValue: raw & 0x7F) }
    /// An error code outside the documented ones.
    public var isUnknown: Bool { raw & 0x7F != 0 && kind == nil }
    public var isOK: Bool { raw == 0 }

    public var description: String {
        var parts: [String] = []
        if let kind { parts.append("\(kind)") }
        if isUnknown { parts.append("error code \(raw & 0x7F)") }
        if alert { parts.append("hardware alert") }
        return parts.isEmpty ? "ok" : parts.joined(separator: ", ")
    }
}

/// The bits of the X series' Hardware Error Status register (address 70).
public struct DynamixelHardwareError: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let inputVoltage = Self(rawValue: 1 << 0)
    public static let overheating = Self(rawValue: 1 << 2)
    public static let motorEncoder = Self(rawValue: 1 << 3)
    public static let electricalShock = Self(rawValue: 1 << 4)
    public static let overload = Self(rawValue: 1 << 5)

    public var description: String {
        let names: [(Self, String)] = [(.inputVoltage, "input voltage"), (.overheating, "overheating"),
                                       (.motorEncoder, "motor encoder"), (.electricalShock, "electrical shock"),
                                       (.overload, "overload")]
        let present = names.filter { contains($0.0) }.map(\.1)
        return present.isEmpty ? "none" : present.joined(separator: ", ")
    }
}
