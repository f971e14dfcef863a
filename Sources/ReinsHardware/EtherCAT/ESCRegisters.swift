import Foundation

/// Addresses of the EtherCAT slave controller (ESC) registers a master uses (Beckhoff's ESC
/// datasheet, section II).
public enum ESCRegister {
    public static let type: UInt16 = 0x0000
    public static let stationAddress: UInt16 = 0x0010
    public static let stationAlias: UInt16 = 0x0012
    public static let dlControl: UInt16 = 0x0100
    public static let dlStatus: UInt16 = 0x0110
    public static let alControl: UInt16 = 0x0120
    public static let alStatus: UInt16 = 0x0130
    public static let alStatusCode: UInt16 = 0x0134
    /// Watchdog divider (u16): ticks of 40 ns, plus 2.
    public static let watchdogDivider: UInt16 = 0x0400
    /// Sync-manager watchdog time (u16), in divider ticks.
    public static let syncManagerWatchdog: UInt16 = 0x0420
    public static let siiConfig: UInt16 = 0x0500
    /// SII control/status (u16), then the word address (u32), then the data (4 or 8 bytes).
    public static let siiControl: UInt16 = 0x0502
    public static let siiAddress: UInt16 = 0x0504
    public static let siiData: UInt16 = 0x0508
    public static let fmmu0: UInt16 = 0x0600
    public static let fmmuSize: UInt16 = 16
    public static let syncManager0: UInt16 = 0x0800
    public static let syncManagerSize: UInt16 = 8
    /// Receive times of ports 0–3 (u32 each); a write to 0x0900 latches them.
    public static let dcReceiveTimePort0: UInt16 = 0x0900
    public static let dcSystemTime: UInt16 = 0x0910
    /// Local time when port 0 received the latching frame (u64).
    public static let dcReceiveTimeProcessingUnit: UInt16 = 0x0918
    public static let dcSystemTimeOffset: UInt16 = 0x0920
    public static let dcSystemTimeDelay: UInt16 = 0x0928
    /// Signed magnitude (bit 31 set: the local copy is behind), ns.
    public static let dcSystemTimeDifference: UInt16 = 0x092C
    public static let dcCyclicUnitControl: UInt16 = 0x0980
    public static let dcSyncActivation: UInt16 = 0x0981
    public static let dcStartTime: UInt16 = 0x0990
    public static let dcSync0CycleTime: UInt16 = 0x09A0
    /// Process data RAM starts here; mailboxes and process data buffers live in it.
    public static let processRAM: UInt16 = 0x1000

    public static func fmmu(_ index: Int) -> UInt16 { fmmu0 + UInt16(index) * fmmuSize }
    public static func syncManager(_ index: Int) -> UInt16 { syncManager0 + UInt16(index) * syncManagerSize }
}

/// An EtherCAT state machine state (AL status bits 0–3).
public enum ALState: UInt8, Sendable, CaseIterable, Codable, CustomStringConvertible, Comparable {
    case initial = 1
    case preOperational = 2
    case bootstrap = 3
    case safeOperational = 4
    case operational = 8

    public var description: String {
        switch self {
        case .initial: "INIT"
        case .preOperational: "PRE-OP"
        case .bootstrap: "BOOT"
        case .safeOperational: "SAFE-OP"
        case .operational: "OP"
        }
    }

    /// `INIT`, `PRE-OP`, `PREOP`, `SAFE-OP`, `OP`, `BOOT`, any case.
    public init?(name: String) {
        switch name.uppercased().replacingOccurrences(of: "_", with: "-") {
        case "INIT": self = .initial
        case "PRE-OP", "PREOP": self = .preOperational
        case "BOOT": self = .bootstrap
        case "SAFE-OP", "SAFEOP": self = .safeOperational
        case "OP": self = .operational
        default: return nil
        }
    }

    public static func < (lhs: ALState, rhs: ALState) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Bit 4 of AL control: acknowledge an error; of AL status: an error is pending.
    public static let errorBit: UInt8 = 0x10
}

/// An AL status code (register 0x0134), the reason a slave refused a state or left one, in words.
public struct ALStatusCode: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let none = ALStatusCode(0x0000)
    public static let invalidStateChange = ALStatusCode(0x0011)
    public static let unknownState = ALStatusCode(0x0012)
    public static let invalidMailboxConfiguration = ALStatusCode(0x0016)
    public static let synchronizationError = ALStatusCode(0x001A)
    public static let syncManagerWatchdog = ALStatusCode(0x001B)
    public static let invalidOutputConfiguration = ALStatusCode(0x001D)
    public static let invalidInputConfiguration = ALStatusCode(0x001E)
    public static let invalidInputMapping = ALStatusCode(0x0024)
    public static let invalidOutputMapping = ALStatusCode(0x0025)
    public static let fatalSyncError = ALStatusCode(0x002C)
    public static let invalidDCSyncConfiguration = ALStatusCode(0x0030)
    public static let pllError = ALStatusCode(0x0032)
    public static let dcSyncTimeout = ALStatusCode(0x0034)

    public var description: String {
        let words: String = switch rawValue {
        case 0x0000: "no error"
        case 0x0001: "unspecified error"
        case 0x0002: "no memory"
        case 0x0011: "invalid requested state change"
        case 0x0012: "unknown requested state"
        case 0x0013: "bootstrap not supported"
        case 0x0014: "no valid firmware"
        case 0x0015: "invalid mailbox configuration (bootstrap)"
        case 0x0016: "invalid mailbox configuration"
        case 0x0017: "invalid sync manager configuration"
        case 0x0018: "no valid inputs available"
        case 0x0019: "no valid outputs"
        case 0x001A: "synchronisation error"
        case 0x001B: "sync-manager watchdog: outputs stopped arriving"
        case 0x001C: "invalid sync manager types"
        case 0x001D: "invalid output configuration (sync manager 2 does not match the RxPDO mapping)"
        case 0x001E: "invalid input configuration (sync manager 3 does not match the TxPDO mapping)"
        case 0x001F: "invalid watchdog configuration"
        case 0x0020: "slave needs cold start"
        case 0x0021: "slave needs INIT"
        case 0x0022: "slave needs PRE-OP"
        case 0x0023: "slave needs SAFE-OP"
        case 0x0024: "invalid input mapping"
        case 0x0025: "invalid output mapping"
        case 0x0026: "inconsistent settings"
        case 0x0027: "free-run not supported"
        case 0x0028: "synchronisation not supported"
        case 0x0029: "free-run needs 3-buffer mode"
        case 0x002A: "background watchdog"
        case 0x002B: "no valid inputs and outputs"
        case 0x002C: "fatal sync error"
        case 0x002D: "no sync error"
        case 0x0030: "invalid DC SYNC configuration"
        case 0x0031: "invalid DC latch configuration"
        case 0x0032: "PLL error"
        case 0x0033: "DC sync IO error"
        case 0x0034: "DC sync timeout"
        case 0x0035: "DC invalid sync cycle time"
        case 0x0036: "DC SYNC0 cycle time"
        case 0x0037: "DC SYNC1 cycle time"
        case 0x0050: "EEPROM no access"
        case 0x0051: "EEPROM error"
        case 0x0060: "slave restarted locally"
        default: "vendor-specific or unknown code"
        }
        return "0x\(String(rawValue, radix: 16, uppercase: true).leftPadded(to: 4)) \(words)"
    }
}

extension String {
    /// Zero-padded on the left to `width` characters, for hex codes.
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// A sync manager's configuration as registers 0x0800 + 8n hold it.
public struct SyncManagerConfig: Sendable, Equatable {
    public var start: UInt16
    public var length: UInt16
    /// Bits 0–1 mode (0 buffered, 2 mailbox), 2–3 direction (0 the master reads, 1 it writes),
    /// bit 4 ECAT interrupt, 5 PDI interrupt, 6 watchdog trigger.
    public var control: UInt8
    public var enabled: Bool

    public init(start: UInt16, length: UInt16, control: UInt8, enabled: Bool) {
        self.start = start
        self.length = length
        self.control = control
        self.enabled = enabled
    }

    public var isMailbox: Bool { control & 0x03 == 0x02 }
    /// The master writes it (mailbox out, outputs).
    public var masterWrites: Bool { control & 0x0C == 0x04 }

    /// The 8 register bytes (status byte 0; activate bit 0 = enable).
    public var registerBytes: [UInt8] {
        [UInt8(truncatingIfNeeded: start), UInt8(start >> 8), UInt8(truncatingIfNeeded: length), UInt8(length >> 8), control, 0, enabled ? 1 : 0, 0]
    }

    public init(registerBytes bytes: [UInt8]) {
        start = bytes.littleEndian(UInt16.self, at: 0)
        length = bytes.littleEndian(UInt16.self, at: 2)
        control = bytes[4]
        enabled = bytes[6] & 1 != 0
    }

    /// Control bytes masters write: mailbox out 0x26, mailbox in 0x22, outputs 0x64 (with the
    /// watchdog), inputs 0x20.
    public static let mailboxOutControl: UInt8 = 0x26
    public static let mailboxInControl: UInt8 = 0x22
    public static let outputsControl: UInt8 = 0x64
    public static let inputsControl: UInt8 = 0x20
}

/// An FMMU's configuration as registers 0x0600 + 16n hold it: a logical range mapped onto
/// physical memory.
public struct FMMUConfig: Sendable, Equatable {
    public var logicalStart: UInt32
    public var length: UInt16
    public var physicalStart: UInt16
    /// 1: the master reads (inputs); 2: it writes (outputs).
    public var type: UInt8
    public var enabled: Bool

    public init(logicalStart: UInt32, length: UInt16, physicalStart: UInt16, type: UInt8, enabled: Bool) {
        self.logicalStart = logicalStart
        self.length = length
        self.physicalStart = physicalStart
        self.type = type
        self.enabled = enabled
    }

    public static let readType: UInt8 = 1
    public static let writeType: UInt8 = 2

    /// The 16 register bytes: byte-aligned (start bit 0, end bit 7).
    public var registerBytes: [UInt8] {
        var bytes = [UInt8](littleEndian: logicalStart) + [UInt8](littleEndian: length) + [0, 7]
        bytes += [UInt8](littleEndian: physicalStart) + [0, type, enabled ? 1 : 0, 0, 0, 0]
        return bytes
    }

    public init(registerBytes bytes: [UInt8]) {
        logicalStart = bytes.littleEndian(UInt32.self, at: 0)
        length = bytes.littleEndian(UInt16.self, at: 4)
        physicalStart = bytes.littleEndian(UInt16.self, at: 8)
        type = bytes[11]
        enabled = bytes[12] & 1 != 0
    }
}
