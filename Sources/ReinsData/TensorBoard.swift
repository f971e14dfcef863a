import Foundation

/// Writes TensorBoard event files: `events.out.tfevents.<seconds>.<host>.reins` in a run folder,
/// one record per scalar, framed as TensorFlow's TFRecord (length, masked CRC-32C of the length,
/// an `Event` protocol buffer, masked CRC-32C of the data). TensorBoard and tbparse read them.
///
/// The protocol buffers are encoded by hand: only `Event{wall_time, step, file_version, summary}`
/// and `Summary.Value{tag, simple_value}` are needed.
public final class TensorBoardWriter {
    public let url: URL
    private let handle: FileHandle

    public init(directory: URL) throws(DataError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .hdf5(file: directory.path, object: "/", operation: "creating the run folder (\(error.localizedDescription))")
        }
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let seconds = Int(Date().timeIntervalSince1970)
        var candidate = directory.appendingPathComponent("events.out.tfevents.\(seconds).\(host).reins")
        var suffix = 1
        while FileManager.default.fileExists(atPath: candidate.path) {
            candidate = directory.appendingPathComponent("events.out.tfevents.\(seconds).\(host).reins.\(suffix)")
            suffix += 1
        }
        url = candidate
        guard FileManager.default.createFile(atPath: url.path, contents: nil), let handle = FileHandle(forWritingAtPath: url.path) else {
            throw .hdf5(file: url.path, object: "/", operation: "creating the event file")
        }
        self.handle = handle
        var event = ProtoWriter()
        event.double(1, Date().timeIntervalSince1970)
        event.string(3, "brain.Event:2")
        try append(event.bytes)
    }

    deinit {
        try? handle.close()
    }

    /// Records one scalar at a step.
    public func scalar(_ tag: String, _ value: Double, step: Int) throws(DataError) {
        try scalars([(tag, value)], step: step)
    }

    /// Records several scalars at one step, one event each.
    public func scalars(_ values: [(String, Double)], step: Int) throws(DataError) {
        for (tag, value) in values {
            var summaryValue = ProtoWriter()
            summaryValue.string(1, tag)
            summaryValue.float(2, Float(value))
            var summary = ProtoWriter()
            summary.message(1, summaryValue.bytes)
            var event = ProtoWriter()
            event.double(1, Date().timeIntervalSince1970)
            event.varint(2, UInt64(bitPattern: Int64(step)))
            event.message(5, summary.bytes)
            try append(event.bytes)
        }
    }

    /// Pushes what was written to the disk, so TensorBoard sees it now.
    public func flush() {
        try? handle.synchronize()
    }

    private func append(_ data: [UInt8]) throws(DataError) {
        var record: [UInt8] = []
        record.reserveCapacity(data.count + 16)
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian, Array.init)
        record += length
        record += withUnsafeBytes(of: CRC32C.masked(length).littleEndian, Array.init)
        record += data
        record += withUnsafeBytes(of: CRC32C.masked(data).littleEndian, Array.init)
        do {
            try handle.write(contentsOf: record)
        } catch {
            throw .hdf5(file: url.path, object: "event", operation: "writing (\(error.localizedDescription))")
        }
    }
}

/// One scalar read back from an event file.
public struct TensorBoardScalar: Sendable, Equatable {
    public var tag: String
    public var step: Int
    public var value: Double
    public var wallTime: Double
}

/// Reads event files back, checking every record's CRCs (for tests and `reins` tools).
public enum TensorBoardReader {
    /// The file version and every scalar, in file order; a bad CRC or a truncated record is an error
    /// naming its byte offset.
    public static func read(_ url: URL) throws(DataError) -> (fileVersion: String, scalars: [TensorBoardScalar]) {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .hdf5(file: url.path, object: "/", operation: "reading the event file")
        }
        let bytes = [UInt8](data)
        var offset = 0, version = "", scalars: [TensorBoardScalar] = []
        func fail(_ problem: String) -> DataError { .typeMismatch(file: url.path, object: "record at byte \(offset)", expected: problem) }
        while offset < bytes.count {
            guard offset + 12 <= bytes.count else { throw fail("a complete record header") }
            let lengthBytes = Array(bytes[offset..<(offset + 8)])
            let length = Int(lengthBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
            let lengthCRC = bytes[(offset + 8)..<(offset + 12)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian
            guard lengthCRC == CRC32C.masked(lengthBytes) else { throw fail("a length with a valid CRC") }
            guard offset + 16 + length <= bytes.count else { throw fail("\(length) bytes of data and a CRC") }
            let payload = Array(bytes[(offset + 12)..<(offset + 12 + length)])
            let dataCRC = bytes[(offset + 12 + length)..<(offset + 16 + length)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian
            guard dataCRC == CRC32C.masked(payload) else { throw fail("data with a valid CRC") }
            var wallTime = 0.0, step = 0
            var values: [(String, Double)] = []
            for field in ProtoReader.fields(payload) {
                switch (field.number, field.value) {
                case (1, .fixed64(let bits)): wallTime = Double(bitPattern: bits)
                case (2, .varint(let raw)): step = Int(Int64(bitPattern: raw))
                case (3, .bytes(let text)): version = String(decoding: text, as: UTF8.self)
                case (5, .bytes(let summary)):
                    for value in ProtoReader.fields(summary) where value.number == 1 {
                        guard case .bytes(let entry) = value.value else { continue }
                        var tag = "", number = 0.0
                        for part in ProtoReader.fields(entry) {
                            switch (part.number, part.value) {
                            case (1, .bytes(let text)): tag = String(decoding: text, as: UTF8.self)
                            case (2, .fixed32(let bits)): number = Double(Float(bitPattern: bits))
                            default: break
                            }
                        }
                        values.append((tag, number))
                    }
                default: break
                }
            }
            scalars += values.map { TensorBoardScalar(tag: $0.0, step: step, value: $0.1, wallTime: wallTime) }
            offset += 16 + length
        }
        return (version, scalars)
    }
}

/// CRC-32C (Castagnoli), as TFRecord frames use it, with TensorFlow's mask.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    static func masked(_ bytes: [UInt8]) -> UInt32 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

/// Protocol buffer encoding of the few field types an event needs.
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func key(_ field: Int, _ wireType: UInt64) { rawVarint(UInt64(field) << 3 | wireType) }

    mutating func varint(_ field: Int, _ value: UInt64) {
        key(field, 0)
        rawVarint(value)
    }

    mutating func double(_ field: Int, _ value: Double) {
        key(field, 1)
        bytes += withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, 5)
        bytes += withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
    }

    mutating func message(_ field: Int, _ content: [UInt8]) {
        key(field, 2)
        rawVarint(UInt64(content.count))
        bytes += content
    }

    mutating func string(_ field: Int, _ text: String) { message(field, Array(text.utf8)) }
}

/// Decoding of the same, skipping what it does not know.
enum ProtoReader {
    enum Value {
        case varint(UInt64), fixed64(UInt64), bytes([UInt8]), fixed32(UInt32)
    }

    static func fields(_ bytes: [UInt8]) -> [(number: Int, value: Value)] {
        var offset = 0, fields: [(Int, Value)] = []
        func varint() -> UInt64? {
            var result: UInt64 = 0, shift: UInt64 = 0
            while offset < bytes.count {
                let byte = bytes[offset]
                offset += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
                if shift > 63 { return nil }
            }
            return nil
        }
        while offset < bytes.count, let key = varint() {
            let number = Int(key >> 3)
            switch key & 7 {
            case 0:
                guard let value = varint() else { return fields }
                fields.append((number, .varint(value)))
            case 1:
                guard offset + 8 <= bytes.count else { return fields }
                fields.append((number, .fixed64(bytes[offset..<(offset + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)))
                offset += 8
            case 2:
                guard let length = varint(), offset + Int(length) <= bytes.count else { return fields }
                fields.append((number, .bytes(Array(bytes[offset..<(offset + Int(length))]))))
                offset += Int(length)
            case 5:
                guard offset + 4 <= bytes.count else { return fields }
                fields.append((number, .fixed32(bytes[offset..<(offset + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian)))
                offset += 4
            default:
                return fields
            }
        }
        return fields
    }
}
