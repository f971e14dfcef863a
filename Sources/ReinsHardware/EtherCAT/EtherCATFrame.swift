/// EtherCAT datagram commands (ETG.1000.4), with how each addresses slaves and moves data.
public enum EtherCATCommand: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case nop = 0, aprd, apwr, aprw, fprd, fpwr, fprw, brd, bwr, brw, lrd, lwr, lrw, armw, frmw

    public var description: String {
        ["NOP", "APRD", "APWR", "APRW", "FPRD", "FPWR", "FPRW", "BRD", "BWR", "BRW", "LRD", "LWR", "LRW", "ARMW", "FRMW"][Int(rawValue)]
    }

    /// Auto-increment (position) addressing: each slave increments ADP; the one that sees 0 answers.
    public var isPositional: Bool { [.aprd, .apwr, .aprw, .armw].contains(self) }
    /// Configured station addressing: ADP is the station address.
    public var isConfigured: Bool { [.fprd, .fpwr, .fprw, .frmw].contains(self) }
    public var isBroadcast: Bool { [.brd, .bwr, .brw].contains(self) }
    /// A 32-bit logical address mapped through each slave's FMMUs.
    public var isLogical: Bool { [.lrd, .lwr, .lrw].contains(self) }
    /// The addressed slave's data is read into the datagram.
    public var reads: Bool { [.aprd, .aprw, .fprd, .fprw, .brd, .brw, .lrd, .lrw, .armw, .frmw].contains(self) }
    /// The datagram's data is written into the addressed slave.
    public var writes: Bool { [.apwr, .aprw, .fpwr, .fprw, .bwr, .brw, .lwr, .lrw].contains(self) }
}

/// The fixed part of a datagram: `cmd(1) idx(1) address(4) len(2) irq(2)`, then data and a
/// 16-bit working counter.
public struct DatagramHeader: Sendable, Equatable {
    public var command: EtherCATCommand
    /// Chosen by the master; replies are matched to requests by it.
    public var index: UInt8
    /// ADP in the low 16 bits and ADO in the high 16 (position and configured addressing), or the
    /// logical address.
    public var address: UInt32
    /// Data bytes (at most 1486).
    public var length: Int
    /// C: the frame has circulated once (a ring was broken and closed).
    public var circulating: Bool
    /// M: another datagram follows.
    public var more: Bool
    public var interrupt: UInt16

    public init(command: EtherCATCommand, index: UInt8, address: UInt32, length: Int, circulating: Bool = false, more: Bool = false,
                interrupt: UInt16 = 0) {
        self.command = command
        self.index = index
        self.address = address
        self.length = length
        self.circulating = circulating
        self.more = more
        self.interrupt = interrupt
    }

    /// ADP: a position (negative, counting up to 0) or a station address.
    public var slaveAddress: UInt16 { UInt16(truncatingIfNeeded: address) }
    /// ADO: the register or memory offset in the slave.
    public var offset: UInt16 { UInt16(truncatingIfNeeded: address >> 16) }

    /// The address of register `offset` in the slave at `slave` (a position or a station address).
    public static func physical(slave: UInt16, offset: UInt16) -> UInt32 { UInt32(slave) | UInt32(offset) << 16 }
}

/// A datagram within a decoded frame: its header, where its data starts and its working counter.
public struct Datagram: Sendable, Equatable {
    public var header: DatagramHeader
    /// Offset of the data in the buffer handed to the decoder.
    public var dataOffset: Int
    public var workingCounter: UInt16
    /// Offset of the working counter in that buffer, so a slave can update it in place.
    public var workingCounterOffset: Int { dataOffset + header.length }
}

/// What a frame decoder found.
public enum FrameParse: Sendable, Equatable {
    /// Not enough bytes yet: at least `needed` are required before the frame can be decoded.
    case incomplete(needed: Int)
    /// A whole frame of `consumed` bytes (padding after it is not counted).
    case complete(consumed: Int)
}

/// A frame that is not EtherCAT as ETG.1000.4 defines it.
public struct MalformedFrame: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { "malformed EtherCAT frame: \(reason)" }
}

/// The EtherCAT frame format, shared by raw Ethernet (EtherType 0x88A4) and UDP (port 34980):
/// a 2-byte header (length 11 bits, type 4 bits = 1 for datagrams), then chained datagrams.
public enum EtherCATFrame {
    public static let etherType: UInt16 = 0x88A4
    public static let udpPort: UInt16 = 0x88A4
    public static let headerSize = 2
    /// Command, index, address, length and interrupt.
    public static let datagramHeaderSize = 10
    public static let workingCounterSize = 2
    public static let maxDatagramData = 1486
    /// Destination, source and EtherType.
    public static let ethernetHeaderSize = 14
    /// The shortest Ethernet frame without its FCS; shorter frames are padded with zeros.
    public static let ethernetMinimum = 60
    /// The largest EtherCAT payload in one Ethernet frame (1500 minus nothing: the EtherCAT header is inside it).
    public static let maxPayload = 1500

    /// Decodes the EtherCAT payload at the start of `bytes`, handing each datagram to `visit` in
    /// order. Nothing is visited unless the whole frame is there; then `.complete`. Realtime:
    /// allocates nothing.
    public static func decode(_ bytes: UnsafeRawBufferPointer, visit: (Datagram) throws(MalformedFrame) -> Void = { _ in })
        throws(MalformedFrame) -> FrameParse
    {
        guard bytes.count >= headerSize else { return .incomplete(needed: headerSize) }
        let header = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        let length = Int(header & 0x07FF)
        let type = header >> 12
        guard type == 1 else { throw MalformedFrame(reason: "type \(type) in the EtherCAT header; only 1 (datagrams) is defined here") }
        guard length >= datagramHeaderSize + workingCounterSize else { throw MalformedFrame(reason: "length \(length) cannot hold one datagram") }
        guard bytes.count >= headerSize + length else { return .incomplete(needed: headerSize + length) }
        var offset = headerSize
        let end = headerSize + length
        while true {
            guard offset + datagramHeaderSize + workingCounterSize <= end else {
                throw MalformedFrame(reason: "a datagram header runs past the frame's length \(length) at byte \(offset)")
            }
            guard let command = EtherCATCommand(rawValue: bytes[offset]) else {
                throw MalformedFrame(reason: "unknown command \(bytes[offset]) at byte \(offset)")
            }
            let address = UInt32(bytes[offset + 2]) | UInt32(bytes[offset + 3]) << 8 | UInt32(bytes[offset + 4]) << 16 | UInt32(bytes[offset + 5]) << 24
            let lengthWord = UInt16(bytes[offset + 6]) | UInt16(bytes[offset + 7]) << 8
            let dataLength = Int(lengthWord & 0x07FF)
            let dataOffset = offset + datagramHeaderSize
            guard dataOffset + dataLength + workingCounterSize <= end else {
                throw MalformedFrame(reason: "\(command) datagram of \(dataLength) bytes runs past the frame's length \(length)")
            }
            let wkcOffset = dataOffset + dataLength
            let more = lengthWord & 0x8000 != 0
            let datagram = Datagram(
                header: DatagramHeader(command: command, index: bytes[offset + 1], address: address, length: dataLength,
                                       circulating: lengthWord & 0x4000 != 0, more: more,
                                       interrupt: UInt16(bytes[offset + 8]) | UInt16(bytes[offset + 9]) << 8),
                dataOffset: dataOffset,
                workingCounter: UInt16(bytes[wkcOffset]) | UInt16(bytes[wkcOffset + 1]) << 8)
            try visit(datagram)
            offset = wkcOffset + workingCounterSize
            if !more { break }
        }
        guard offset == end else { throw MalformedFrame(reason: "the last datagram ends at byte \(offset) but the header says \(end)") }
        return .complete(consumed: end)
    }
}

/// Builds one frame in a buffer it owns, datagram by datagram, leaving `headerRoom` bytes in
/// front for the transport (the Ethernet header). Realtime once made: `reset`, `append` and
/// `finish` allocate nothing.
public struct EtherCATFrameBuilder: Sendable {
    /// The whole frame: header room, EtherCAT header, datagrams, padding.
    public private(set) var bytes: [UInt8]
    public let headerRoom: Int
    /// Bytes used so far, header room included.
    public private(set) var count: Int
    private var lastDatagram: Int?

    public init(headerRoom: Int) {
        self.headerRoom = headerRoom
        bytes = [UInt8](repeating: 0, count: headerRoom + EtherCATFrame.maxPayload)
        count = headerRoom + EtherCATFrame.headerSize
    }

    /// Room left for one more datagram's data.
    public var remainingData: Int {
        bytes.count - count - EtherCATFrame.datagramHeaderSize - EtherCATFrame.workingCounterSize
    }

    public mutating func reset() {
        count = headerRoom + EtherCATFrame.headerSize
        lastDatagram = nil
    }

    /// Appends a datagram with `length` data bytes (zero, or copied from `data`) and working
    /// counter 0; returns the offset of its data in `bytes`.
    @discardableResult
    public mutating func append(_ command: EtherCATCommand, index: UInt8, address: UInt32, length: Int,
                                data: UnsafeRawBufferPointer? = nil) -> Int {
        precondition(length <= min(EtherCATFrame.maxDatagramData, remainingData), "a datagram of \(length) bytes does not fit the frame")
        if let lastDatagram { bytes[lastDatagram + 7] |= 0x80 }
        let start = count
        bytes[start] = command.rawValue
        bytes[start + 1] = index
        for byte in 0..<4 { bytes[start + 2 + byte] = UInt8(truncatingIfNeeded: address >> (8 * UInt32(byte))) }
        bytes[start + 6] = UInt8(truncatingIfNeeded: length)
        bytes[start + 7] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[start + 8] = 0
        bytes[start + 9] = 0
        let dataOffset = start + EtherCATFrame.datagramHeaderSize
        bytes.withUnsafeMutableBytes { raw in
            let region = UnsafeMutableRawBufferPointer(rebasing: raw[dataOffset..<(dataOffset + length + 2)])
            region.initializeMemory(as: UInt8.self, repeating: 0)
            if let data { region.copyMemory(from: UnsafeRawBufferPointer(rebasing: data[0..<min(data.count, length)])) }
        }
        count = dataOffset + length + EtherCATFrame.workingCounterSize
        lastDatagram = start
        return dataOffset
    }

    /// The frame's bytes, to send or to receive a reply into.
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        bytes.withUnsafeMutableBytes(body)
    }

    /// Writes `value` little-endian at `offset` (a datagram's data).
    public mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for byte in 0..<(T.bitWidth / 8) { bytes[offset + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
    }

    /// Copies `data` to `offset`.
    public mutating func copy(_ data: UnsafeRawBufferPointer, to offset: Int) {
        bytes.withUnsafeMutableBytes { raw in
            UnsafeMutableRawBufferPointer(rebasing: raw[offset..<(offset + data.count)]).copyMemory(from: data)
        }
    }

    /// Writes the EtherCAT header and zero padding to the Ethernet minimum (counting the header
    /// room as the Ethernet header); returns the frame's length to send.
    public mutating func finish() -> Int {
        let length = count - headerRoom - EtherCATFrame.headerSize
        let header = UInt16(length) | 0x1000
        bytes[headerRoom] = UInt8(truncatingIfNeeded: header)
        bytes[headerRoom + 1] = UInt8(truncatingIfNeeded: header >> 8)
        guard headerRoom > 0, count < EtherCATFrame.ethernetMinimum else { return count }
        for index in count..<EtherCATFrame.ethernetMinimum { bytes[index] = 0 }
        return EtherCATFrame.ethernetMinimum
    }
}

/// Little-endian reads of a raw buffer, for datagram data and registers.
extension UnsafeRawBufferPointer {
    @inline(__always)
    public func littleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for byte in 0..<(T.bitWidth / 8) { value |= T(truncatingIfNeeded: self[offset + byte]) << (8 * byte) }
        return value
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    public func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for byte in 0..<(T.bitWidth / 8) { self[offset + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
    }
}

extension Array where Element == UInt8 {
    /// The little-endian integer at `offset`.
    public func littleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int = 0) -> T {
        withUnsafeBytes { $0.littleEndian(T.self, at: offset) }
    }

    /// `value`'s bytes, little-endian.
    public init<T: FixedWidthInteger>(littleEndian value: T) {
        self = (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
