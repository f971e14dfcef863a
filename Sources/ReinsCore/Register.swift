/// How a register's raw bits map to a signed value.
public enum Signedness: Sendable, Equatable, Hashable {
    case unsigned
    /// Two's complement over the register's size (Dynamixel).
    case twosComplement
    /// Magnitude below `signBit`, the sign in `signBit` (Feetech: bit 11, 15 or 10).
    case signMagnitude(signBit: Int)
}

/// One entry of a servo's control table: a typed constant instead of a string and two numbers.
public struct Register: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The snake_case name the command line accepts, e.g. `present_position`.
    public let name: String
    public let address: UInt16
    /// Size in bytes: 1, 2 or 4.
    public let size: Int
    public let signedness: Signedness
    /// EEPROM registers can be written only while torque is off.
    public let isEEPROM: Bool
    public let isWritable: Bool
    /// The physical unit one raw step is worth `unitScale` of, e.g. "deg" for positions; empty for counts and codes.
    public let unit: String
    public let unitScale: Double

    public init(_ name: String, address: UInt16, size: Int, signedness: Signedness = .unsigned,
                eeprom: Bool = false, writable: Bool = true, unit: String = "", unitScale: Double = 1) {
        precondition([1, 2, 4].contains(size), "a register is 1, 2 or 4 bytes, not \(size)")
        self.name = name
        self.address = address
        self.size = size
        self.signedness = signedness
        isEEPROM = eeprom
        isWritable = writable
        self.unit = unit
        self.unitScale = unitScale
    }

    /// A signed register value in the register's unit, e.g. 2048 ticks → 180 deg.
    public func physical(_ value: Int32) -> Double {
        Double(value) * unitScale
    }

    public var description: String { "\(name) (address \(address), \(size) byte\(size == 1 ? "" : "s"))" }

    /// The signed value of raw register bits.
    public func value(fromRaw raw: UInt32) -> Int32 {
        switch signedness {
        case .unsigned:
            return Int32(bitPattern: raw)
        case .twosComplement:
            let shift = UInt32(32 - 8 * size)
            return Int32(bitPattern: raw << shift) >> Int32(shift)
        case .signMagnitude(let signBit):
            let magnitude = Int32(raw & ((1 << UInt32(signBit)) - 1))
            return raw & (1 << UInt32(signBit)) != 0 ? -magnitude : magnitude
        }
    }

    /// The raw bits that store `value`; nil when it does not fit.
    public func raw(fromValue value: Int32) -> UInt32? {
        let bits = 8 * size
        switch signedness {
        case .unsigned:
            guard value >= 0, bits == 32 || value < (1 << bits) else { return nil }
            return UInt32(value)
        case .twosComplement:
            guard bits == 32 || (value >= -(1 << (bits - 1)) && value < (1 << (bits - 1))) else { return nil }
            return UInt32(bitPattern: value) & (bits == 32 ? .max : (1 << UInt32(bits)) - 1)
        case .signMagnitude(let signBit):
            guard value.magnitude < (1 << UInt32(signBit)) else { return nil }
            return UInt32(value.magnitude) | (value < 0 ? 1 << UInt32(signBit) : 0)
        }
    }
}

extension Array where Element == Register {
    /// The register with a snake_case name, or nil.
    public func register(named name: String) -> Register? {
        first { $0.name == name }
    }
}
