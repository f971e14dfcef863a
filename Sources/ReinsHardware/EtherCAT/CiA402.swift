/// The CiA 402 drive profile: power state machine, modes of operation and the objects a cyclic
/// drive uses (IEC 61800-7-201).
public enum CiA402 {
    /// The drive's power state, decoded from the statusword with the profile's masks.
    public enum State: Sendable, Equatable, CustomStringConvertible {
        case notReadyToSwitchOn, switchOnDisabled, readyToSwitchOn, switchedOn, operationEnabled, quickStopActive
        case faultReactionActive, fault

        public init(statusword: UInt16) {
            switch (statusword & 0x4F, statusword & 0x6F) {
            case (0x00, _): self = .notReadyToSwitchOn
            case (0x40, _): self = .switchOnDisabled
            case (0x0F, _): self = .faultReactionActive
            case (0x08, _): self = .fault
            case (_, 0x21): self = .readyToSwitchOn
            case (_, 0x23): self = .switchedOn
            case (_, 0x27): self = .operationEnabled
            case (_, 0x07): self = .quickStopActive
            default: self = .notReadyToSwitchOn
            }
        }

        /// The statusword bits 0–6 of the state (voltage enabled, bit 4, is set from switched on up).
        public var statusBits: UInt16 {
            switch self {
            case .notReadyToSwitchOn: 0x00
            case .switchOnDisabled: 0x40
            case .readyToSwitchOn: 0x21
            case .switchedOn: 0x33
            case .operationEnabled: 0x37
            case .quickStopActive: 0x17
            case .faultReactionActive: 0x1F
            case .fault: 0x18
            }
        }

        public var description: String {
            switch self {
            case .notReadyToSwitchOn: "not ready to switch on"
            case .switchOnDisabled: "switch on disabled"
            case .readyToSwitchOn: "ready to switch on"
            case .switchedOn: "switched on"
            case .operationEnabled: "operation enabled"
            case .quickStopActive: "quick stop active"
            case .faultReactionActive: "fault reaction active"
            case .fault: "fault"
            }
        }
    }

    /// Controlword commands.
    public enum Command {
        public static let shutdown: UInt16 = 0x0006
        public static let switchOn: UInt16 = 0x0007
        public static let enableOperation: UInt16 = 0x000F
        public static let disableVoltage: UInt16 = 0x0000
        public static let quickStop: UInt16 = 0x0002
        public static let faultReset: UInt16 = 0x0080
    }

    /// The controlword that moves a drive one step from `state` toward operation enabled; nil
    /// once there. A fault needs the reset bit's rising edge: 0x0080 and 0x0000 alternate until
    /// it clears. Quick stop active is left by disable voltage (transition 12).
    public static func nextCommand(toward state: State, previous: UInt16) -> UInt16? {
        switch state {
        case .operationEnabled: nil
        case .fault: previous & Command.faultReset != 0 ? Command.disableVoltage : Command.faultReset
        case .faultReactionActive, .notReadyToSwitchOn, .quickStopActive: Command.disableVoltage
        case .switchOnDisabled: Command.shutdown
        case .readyToSwitchOn: Command.switchOn
        case .switchedOn: Command.enableOperation
        }
    }

    /// Modes of operation (0x6060, confirmed in 0x6061).
    public enum Mode: Int8, Sendable, CaseIterable, CustomStringConvertible {
        case profilePosition = 1, profileVelocity = 3, profileTorque = 4, homing = 6, interpolatedPosition = 7
        case cyclicPosition = 8, cyclicVelocity = 9, cyclicTorque = 10

        public var description: String {
            switch self {
            case .profilePosition: "PP"
            case .profileVelocity: "PV"
            case .profileTorque: "PT"
            case .homing: "homing"
            case .interpolatedPosition: "IP"
            case .cyclicPosition: "CSP"
            case .cyclicVelocity: "CSV"
            case .cyclicTorque: "CST"
            }
        }

        /// `csp`, `csv`, `cst` (case-insensitive) or the number.
        public init?(name: String) {
            switch name.lowercased() {
            case "csp": self = .cyclicPosition
            case "csv": self = .cyclicVelocity
            case "cst": self = .cyclicTorque
            default:
                guard let number = Int8(name), let mode = Mode(rawValue: number) else { return nil }
                self = mode
            }
        }
    }

    /// Object indices.
    public enum Object {
        public static let errorCode: UInt16 = 0x603F
        public static let controlword: UInt16 = 0x6040
        public static let statusword: UInt16 = 0x6041
        public static let quickStopOption: UInt16 = 0x605A
        public static let modesOfOperation: UInt16 = 0x6060
        public static let modesOfOperationDisplay: UInt16 = 0x6061
        public static let positionActual: UInt16 = 0x6064
        public static let followingErrorWindow: UInt16 = 0x6065
        public static let velocityActual: UInt16 = 0x606C
        public static let targetTorque: UInt16 = 0x6071
        public static let ratedTorque: UInt16 = 0x6076
        public static let torqueActual: UInt16 = 0x6077
        public static let targetPosition: UInt16 = 0x607A
        public static let followingErrorActual: UInt16 = 0x60F4
        public static let targetVelocity: UInt16 = 0x60FF
        public static let supportedModes: UInt16 = 0x6502
    }

    /// The error code 0x603F in words (CiA 402 / DS 301 emergency codes).
    public static func errorText(_ code: UInt16) -> String {
        let words: String = switch code {
        case 0x0000: "no error"
        case 0x2310: "continuous overcurrent"
        case 0x2320: "short circuit"
        case 0x3210: "DC link overvoltage"
        case 0x3220: "DC link undervoltage"
        case 0x4210: "excess temperature device"
        case 0x4310: "excess temperature drive"
        case 0x5441: "safe torque off active"
        case 0x6320: "parameter error"
        case 0x7121: "motor blocked"
        case 0x7305: "incremental encoder 1 broken"
        case 0x8400: "velocity speed controller error"
        case 0x8611: "following error"
        case 0x8612: "reference limit"
        case 0x8700: "sync controller error (sync telegram failure)"
        case 0xFF00...0xFFFF: "manufacturer-specific error"
        default:
            switch code & 0xF000 {
            case 0x2000: "current fault"
            case 0x3000: "voltage fault"
            case 0x4000: "temperature fault"
            case 0x5000: "device hardware fault"
            case 0x6000: "device software fault"
            case 0x7000: "additional modules fault"
            case 0x8000: "monitoring fault"
            default: "generic error"
            }
        }
        return "0x\(String(code, radix: 16, uppercase: true).leftPadded(to: 4)) \(words)"
    }
}

/// One entry of a PDO mapping: an object, its subindex and its width in bits, packed as CoE
/// stores it in 0x1600…/0x1A00… (`index << 16 | subindex << 8 | bits`).
public struct PDOEntry: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var index: UInt16
    public var subindex: UInt8
    public var bits: UInt8

    public init(index: UInt16, subindex: UInt8 = 0, bits: UInt8) {
        self.index = index
        self.subindex = subindex
        self.bits = bits
    }

    public init(packed: UInt32) {
        index = UInt16(packed >> 16)
        subindex = UInt8(truncatingIfNeeded: packed >> 8)
        bits = UInt8(truncatingIfNeeded: packed)
    }

    public var packed: UInt32 { UInt32(index) << 16 | UInt32(subindex) << 8 | UInt32(bits) }

    public var description: String {
        "0x\(String(index, radix: 16, uppercase: true).leftPadded(to: 4)):\(subindex) (\(bits) bits)"
    }
}

/// A drive's cyclic process data: which objects travel master → drive (RxPDO, outputs) and
/// drive → master (TxPDO, inputs), each PDO's entries in order.
public struct PDOMapping: Sendable, Equatable, CustomStringConvertible {
    /// PDO object index (0x1600…) and its entries.
    public var outputs: [(pdo: UInt16, entries: [PDOEntry])]
    /// 0x1A00… and their entries.
    public var inputs: [(pdo: UInt16, entries: [PDOEntry])]

    public init(outputs: [(pdo: UInt16, entries: [PDOEntry])], inputs: [(pdo: UInt16, entries: [PDOEntry])]) {
        self.outputs = outputs
        self.inputs = inputs
    }

    public static func == (lhs: PDOMapping, rhs: PDOMapping) -> Bool {
        lhs.outputs.map(\.pdo) == rhs.outputs.map(\.pdo) && lhs.outputs.map(\.entries) == rhs.outputs.map(\.entries)
            && lhs.inputs.map(\.pdo) == rhs.inputs.map(\.pdo) && lhs.inputs.map(\.entries) == rhs.inputs.map(\.entries)
    }

    public var outputEntries: [PDOEntry] { outputs.flatMap(\.entries) }
    public var inputEntries: [PDOEntry] { inputs.flatMap(\.entries) }
    public var outputBytes: Int { (outputEntries.reduce(0) { $0 + Int($1.bits) } + 7) / 8 }
    public var inputBytes: Int { (inputEntries.reduce(0) { $0 + Int($1.bits) } + 7) / 8 }

    /// The byte offset of an object in the outputs or inputs; nil when it is not mapped or
    /// does not start on a byte.
    public static func byteOffset(of index: UInt16, subindex: UInt8 = 0, in entries: [PDOEntry]) -> Int? {
        var bits = 0
        for entry in entries {
            if entry.index == index && entry.subindex == subindex { return bits % 8 == 0 ? bits / 8 : nil }
            bits += Int(entry.bits)
        }
        return nil
    }

    /// The usual cyclic mapping of a drive that runs CSP, CSV and CST: controlword, target
    /// position, target velocity, target torque and mode out; statusword, position, velocity,
    /// torque, mode display and error code in.
    public static let cyclicDrive = PDOMapping(
        outputs: [(0x1600, [PDOEntry(index: CiA402.Object.controlword, bits: 16), PDOEntry(index: CiA402.Object.targetPosition, bits: 32),
                            PDOEntry(index: CiA402.Object.targetVelocity, bits: 32), PDOEntry(index: CiA402.Object.targetTorque, bits: 16),
                            PDOEntry(index: CiA402.Object.modesOfOperation, bits: 8)])],
        inputs: [(0x1A00, [PDOEntry(index: CiA402.Object.statusword, bits: 16), PDOEntry(index: CiA402.Object.positionActual, bits: 32),
                           PDOEntry(index: CiA402.Object.velocityActual, bits: 32), PDOEntry(index: CiA402.Object.torqueActual, bits: 16),
                           PDOEntry(index: CiA402.Object.modesOfOperationDisplay, bits: 8), PDOEntry(index: CiA402.Object.errorCode, bits: 16)])])

    public var description: String {
        let out = outputs.map { "0x\(String($0.pdo, radix: 16, uppercase: true)) [\($0.entries.map(\.description).joined(separator: ", "))]" }
        let inp = inputs.map { "0x\(String($0.pdo, radix: 16, uppercase: true)) [\($0.entries.map(\.description).joined(separator: ", "))]" }
        return "outputs \(out.joined(separator: " ")) (\(outputBytes) bytes); inputs \(inp.joined(separator: " ")) (\(inputBytes) bytes)"
    }
}
