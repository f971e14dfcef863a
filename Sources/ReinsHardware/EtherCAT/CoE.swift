/// The mailbox header every mailbox message starts with (ETG.1000.4): length of what follows,
/// address, channel and priority, then type (3 = CoE) and a 3-bit counter.
public struct MailboxHeader: Sendable, Equatable {
    public static let size = 6
    public static let coeType: UInt8 = 3
    /// A mailbox protocol error reply (type 0).
    public static let errorType: UInt8 = 0

    public var length: Int
    public var address: UInt16
    public var type: UInt8
    /// 1…7; 0 is reserved for the first message after a reset.
    public var counter: UInt8

    public init(length: Int, address: UInt16 = 0, type: UInt8 = coeType, counter: UInt8) {
        self.length = length
        self.address = address
        self.type = type
        self.counter = counter
    }

    public var bytes: [UInt8] {
        [UInt8](littleEndian: UInt16(length)) + [UInt8](littleEndian: address) + [0, type & 0x0F | (counter & 0x07) << 4]
    }

    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= Self.size else { return nil }
        length = Int(bytes.littleEndian(UInt16.self, at: 0))
        address = bytes.littleEndian(UInt16.self, at: 2)
        type = bytes[5] & 0x0F
        counter = (bytes[5] >> 4) & 0x07
    }
}

/// An SDO abort code (CiA 301), named in words.
public struct SDOAbortCode: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static let toggleBit = SDOAbortCode(0x0503_0000)
    public static let timedOut = SDOAbortCode(0x0504_0000)
    public static let unknownCommand = SDOAbortCode(0x0504_0001)
    public static let unsupportedAccess = SDOAbortCode(0x0601_0000)
    public static let writeOnly = SDOAbortCode(0x0601_0001)
    public static let readOnly = SDOAbortCode(0x0601_0002)
    public static let noObject = SDOAbortCode(0x0602_0000)
    public static let notMappable = SDOAbortCode(0x0604_0041)
    public static let mappingTooLong = SDOAbortCode(0x0604_0042)
    public static let hardwareError = SDOAbortCode(0x0606_0000)
    public static let lengthMismatch = SDOAbortCode(0x0607_0010)
    public static let noSubindex = SDOAbortCode(0x0609_0011)
    public static let valueRange = SDOAbortCode(0x0609_0030)
    public static let generalError = SDOAbortCode(0x0800_0000)
    public static let deviceState = SDOAbortCode(0x0800_0022)

    public var description: String {
        let words: String = switch rawValue {
        case 0x0503_0000: "toggle bit not alternated"
        case 0x0504_0000: "SDO protocol timed out"
        case 0x0504_0001: "client/server command specifier not valid or unknown"
        case 0x0504_0005: "out of memory"
        case 0x0601_0000: "unsupported access to an object"
        case 0x0601_0001: "attempt to read a write-only object"
        case 0x0601_0002: "attempt to write a read-only object"
        case 0x0601_0003: "subindex cannot be written, subindex 0 must be 0 for write access"
        case 0x0602_0000: "the object does not exist in the object dictionary"
        case 0x0604_0041: "the object cannot be mapped to the PDO"
        case 0x0604_0042: "the objects to be mapped would exceed the PDO length"
        case 0x0604_0043: "general parameter incompatibility"
        case 0x0604_0047: "general internal incompatibility in the device"
        case 0x0606_0000: "access failed because of a hardware error"
        case 0x0607_0010: "data type does not match, length of service parameter does not match"
        case 0x0607_0012: "data type does not match, length of service parameter too high"
        case 0x0607_0013: "data type does not match, length of service parameter too low"
        case 0x0609_0011: "subindex does not exist"
        case 0x0609_0030: "value range of parameter exceeded"
        case 0x0609_0031: "value of parameter written too high"
        case 0x0609_0032: "value of parameter written too low"
        case 0x0609_0036: "maximum value is less than minimum value"
        case 0x0800_0000: "general error"
        case 0x0800_0020: "data cannot be transferred or stored to the application"
        case 0x0800_0021: "data cannot be transferred or stored because of local control"
        case 0x0800_0022: "data cannot be transferred or stored because of the present device state"
        case 0x0800_0023: "no object dictionary present"
        default: "unknown abort code"
        }
        return "0x\(String(rawValue, radix: 16, uppercase: true).leftPadded(to: 8)) \(words)"
    }
}

/// CoE SDO messages (CiA 301 over EtherCAT, ETG.1000.6): what follows the mailbox header.
///
/// Every message starts with the 2-byte CoE header (service in bits 12–15: 2 request, 3
/// response), then a command byte, index (2), subindex (1) and 4 bytes of data or size.
public enum SDOMessage: Sendable, Equatable {
    /// Expedited download (1–4 bytes) or normal download with the complete size and the first
    /// part of the data.
    case downloadRequest(index: UInt16, subindex: UInt8, completeSize: Int, data: [UInt8], expedited: Bool)
    case downloadResponse(index: UInt16, subindex: UInt8)
    case downloadSegmentRequest(toggle: Bool, last: Bool, data: [UInt8])
    case downloadSegmentResponse(toggle: Bool)
    case uploadRequest(index: UInt16, subindex: UInt8)
    /// Expedited (data only) or normal (the complete size and as much data as fits).
    case uploadResponse(index: UInt16, subindex: UInt8, completeSize: Int, data: [UInt8], expedited: Bool)
    case uploadSegmentRequest(toggle: Bool)
    case uploadSegmentResponse(toggle: Bool, last: Bool, data: [UInt8])
    case abort(index: UInt16, subindex: UInt8, code: SDOAbortCode)

    static let requestService: UInt16 = 2
    static let responseService: UInt16 = 3
    /// CoE header, command, index, subindex and 4 bytes.
    public static let initiateSize = 10
    /// CoE header and command byte; segment data follows (at least 7 bytes).
    public static let segmentHeaderSize = 3

    var isRequest: Bool {
        switch self {
        case .downloadRequest, .downloadSegmentRequest, .uploadRequest, .uploadSegmentRequest: true
        case .abort, .downloadResponse, .downloadSegmentResponse, .uploadResponse, .uploadSegmentResponse: false
        }
    }

    /// Whether this (a slave's reply) answers `request`: the same object, or the segment with
    /// the same toggle; an abort of the same object (or of none, index 0), or any abort during
    /// segments (they name no object).
    public func answers(_ request: SDOMessage) -> Bool {
        switch (request, self) {
        case (.uploadRequest(let index, let subindex), .abort(let gotIndex, let gotSub, _)),
             (.downloadRequest(let index, let subindex, _, _, _), .abort(let gotIndex, let gotSub, _)):
            gotIndex == 0 || (gotIndex == index && gotSub == subindex)
        case (_, .abort): true
        case (.uploadRequest(let index, let subindex), .uploadResponse(let gotIndex, let gotSub, _, _, _)),
             (.downloadRequest(let index, let subindex, _, _, _), .downloadResponse(let gotIndex, let gotSub)):
            index == gotIndex && subindex == gotSub
        case (.uploadSegmentRequest(let toggle), .uploadSegmentResponse(let gotToggle, _, _)),
             (.downloadSegmentRequest(let toggle, _, _), .downloadSegmentResponse(let gotToggle)):
            toggle == gotToggle
        default: false
        }
    }

    /// The CoE bytes (after the mailbox header).
    public var bytes: [UInt8] {
        // An abort is always sent with the request service (2), by either side.
        let service: UInt16
        if case .abort = self { service = Self.requestService } else { service = isRequest ? Self.requestService : Self.responseService }
        var out = [UInt8](littleEndian: service << 12)
        func initiate(_ command: UInt8, _ index: UInt16, _ subindex: UInt8, _ four: [UInt8]) {
            out.append(command)
            out += [UInt8](littleEndian: index)
            out.append(subindex)
            out += four + [UInt8](repeating: 0, count: 4 - four.count)
        }
        func segment(_ command: UInt8, _ data: [UInt8]) {
            out.append(command)
            out += data + [UInt8](repeating: 0, count: max(0, 7 - data.count))
        }
        switch self {
        case .downloadRequest(let index, let subindex, let size, let data, let expedited):
            if expedited {
                initiate(0x23 | UInt8(4 - data.count) << 2, index, subindex, data)
            } else {
                initiate(0x21, index, subindex, [UInt8](littleEndian: UInt32(size)))
                out += data
            }
        case .downloadResponse(let index, let subindex):
            initiate(0x60, index, subindex, [])
        case .downloadSegmentRequest(let toggle, let last, let data):
            segment((toggle ? 0x10 : 0) | UInt8(max(0, 7 - data.count)) << 1 | (last ? 1 : 0), data)
        case .downloadSegmentResponse(let toggle):
            segment(0x20 | (toggle ? 0x10 : 0), [])
        case .uploadRequest(let index, let subindex):
            initiate(0x40, index, subindex, [])
        case .uploadResponse(let index, let subindex, let size, let data, let expedited):
            if expedited {
                initiate(0x43 | UInt8(4 - data.count) << 2, index, subindex, data)
            } else {
                initiate(0x41, index, subindex, [UInt8](littleEndian: UInt32(size)))
                out += data
            }
        case .uploadSegmentRequest(let toggle):
            segment(0x60 | (toggle ? 0x10 : 0), [])
        case .uploadSegmentResponse(let toggle, let last, let data):
            segment((toggle ? 0x10 : 0) | UInt8(max(0, 7 - data.count)) << 1 | (last ? 1 : 0), data)
        case .abort(let index, let subindex, let code):
            initiate(0x80, index, subindex, [UInt8](littleEndian: code.rawValue))
        }
        return out
    }

    /// Decodes CoE bytes of `length` (the mailbox header's length). A master decodes the
    /// slave's replies (`fromSlave`), a slave the master's requests; the command specifier
    /// means different things each way.
    public init(coe bytes: [UInt8], fromSlave: Bool) throws(CoEError) {
        guard bytes.count >= Self.segmentHeaderSize else { throw .truncated(bytes: bytes.count) }
        let service = bytes.littleEndian(UInt16.self, at: 0) >> 12
        guard service == Self.requestService || service == Self.responseService else { throw .unsupportedService(service) }
        let command = bytes[2]
        let specifier = command >> 5
        func initiateFields() throws(CoEError) -> (UInt16, UInt8, [UInt8]) {
            guard bytes.count >= Self.initiateSize else { throw .truncated(bytes: bytes.count) }
            return (bytes.littleEndian(UInt16.self, at: 3), bytes[5], Array(bytes[6..<10]))
        }
        let toggle = command & 0x10 != 0
        func segmentData() -> [UInt8] {
            let data = Array(bytes[3...])
            // n (bits 1–3) counts the unused bytes of a 7-byte segment; longer segments use all.
            guard data.count <= 7 else { return data }
            return Array(data.prefix(max(0, 7 - Int((command >> 1) & 0x07))))
        }
        if specifier == 4 {
            let (index, subindex, four) = try initiateFields()
            self = .abort(index: index, subindex: subindex, code: SDOAbortCode(four.littleEndian(UInt32.self)))
            return
        }
        switch (fromSlave, specifier) {
        case (false, 1):
            let (index, subindex, four) = try initiateFields()
            if command & 0x02 != 0 {
                let count = command & 0x01 != 0 ? 4 - Int((command >> 2) & 0x03) : 4
                self = .downloadRequest(index: index, subindex: subindex, completeSize: count, data: Array(four.prefix(count)), expedited: true)
            } else {
                self = .downloadRequest(index: index, subindex: subindex, completeSize: Int(four.littleEndian(UInt32.self)),
                                        data: Array(bytes[Self.initiateSize...]), expedited: false)
            }
        case (false, 0):
            self = .downloadSegmentRequest(toggle: toggle, last: command & 0x01 != 0, data: segmentData())
        case (false, 2):
            let (index, subindex, _) = try initiateFields()
            self = .uploadRequest(index: index, subindex: subindex)
        case (false, 3):
            self = .uploadSegmentRequest(toggle: toggle)
        case (true, 3):
            let (index, subindex, _) = try initiateFields()
            self = .downloadResponse(index: index, subindex: subindex)
        case (true, 1):
            self = .downloadSegmentResponse(toggle: toggle)
        case (true, 2):
            let (index, subindex, four) = try initiateFields()
            if command & 0x02 != 0 {
                let count = command & 0x01 != 0 ? 4 - Int((command >> 2) & 0x03) : 4
                self = .uploadResponse(index: index, subindex: subindex, completeSize: count, data: Array(four.prefix(count)), expedited: true)
            } else {
                self = .uploadResponse(index: index, subindex: subindex, completeSize: Int(four.littleEndian(UInt32.self)),
                                       data: Array(bytes[Self.initiateSize...]), expedited: false)
            }
        case (true, 0):
            self = .uploadSegmentResponse(toggle: toggle, last: command & 0x01 != 0, data: segmentData())
        default:
            throw .unknownCommand(command)
        }
    }
}

/// A CoE message that cannot be decoded.
public enum CoEError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated(bytes: Int)
    case unsupportedService(UInt16)
    case unknownCommand(UInt8)

    public var description: String {
        switch self {
        case .truncated(let bytes): "a CoE message of \(bytes) bytes is too short"
        case .unsupportedService(let service): "CoE service \(service) is not SDO"
        case .unknownCommand(let command): "unknown SDO command 0x\(String(command, radix: 16))"
        }
    }
}
