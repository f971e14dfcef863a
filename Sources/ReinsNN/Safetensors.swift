import Foundation

/// Reads and writes the safetensors format (Hugging Face): an 8-byte little-endian header length,
/// a JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian data.
/// Files are written under a temporary name and renamed, so a crash never leaves half a file.
public enum Safetensors {
    public enum DType: String, Sendable {
        case f32 = "F32", u8 = "U8", i64 = "I64"
        public var size: Int {
            switch self {
            case .f32: 4
            case .u8: 1
            case .i64: 8
            }
        }
    }

    /// A tensor to write: its bytes are read from `data` while `write` runs.
    public struct Entry {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var data: UnsafeRawPointer

        public init(name: String, dtype: DType, shape: [Int], data: UnsafeRawPointer) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.data = data
        }

        public init(name: String, shape: [Int], floats: UnsafePointer<Float>) {
            self.init(name: name, dtype: .f32, shape: shape, data: UnsafeRawPointer(floats))
        }

        public var byteCount: Int { shape.reduce(1, *) * dtype.size }
    }

    /// Writes `entries` and string `metadata` to `path` (atomically).
    public static func write(_ entries: [Entry], metadata: [String: String] = [:], to path: String) throws(SafetensorsError) {
        var header = "{"
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            header += metadata.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(quoted($0.value))" }.joined(separator: ",")
            header += "},"
        }
        var offset = 0
        header += entries.map { entry in
            defer { offset += entry.byteCount }
            let shape = entry.shape.map(String.init).joined(separator: ",")
            return "\(quoted(entry.name)):{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + entry.byteCount)]}"
        }.joined(separator: ",")
        header += "}"
        while (8 + header.utf8.count) % 8 != 0 { header += " " }

        let temporary = path + ".partial"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw .io(path: path, reason: "cannot create: \(String(cString: strerror(errno)))") }
        var length = UInt64(header.utf8.count).littleEndian
        var ok = withUnsafeBytes(of: &length) { writeAll(descriptor, $0.baseAddress!, 8) }
        ok = ok && Array(header.utf8).withUnsafeBytes { writeAll(descriptor, $0.baseAddress!, $0.count) }
        for entry in entries where ok {
            ok = writeAll(descriptor, entry.data, entry.byteCount)
        }
        ok = ok && fsync(descriptor) == 0
        let reason = String(cString: strerror(errno))
        close(descriptor)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .io(path: path, reason: "write failed: \(reason) (is the disk full?)")
        }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Bool {
        var written = 0
        while written < count {
            let result = Foundation.write(descriptor, bytes + written, min(count - written, 1 << 30))
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { return false }
            written += result
        }
        return true
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read or written: check the path, permissions and free space.
    case io(path: String, reason: String)
    /// Not a valid safetensors file (truncated, or written by something else).
    case malformed(path: String, reason: String)
    /// A tensor the reader needs is absent or has another shape or type: the file is from another network.
    case mismatch(path: String, tensor: String, reason: String)

    public var description: String {
        switch self {
        case .io(let path, let reason): "\(path): \(reason)"
        case .malformed(let path, let reason): "\(path): not a valid safetensors file: \(reason)"
        case .mismatch(let path, let tensor, let reason):
            "\(path): tensor \(tensor): \(reason) (was this file written for another network or configuration?)"
        }
    }
}

/// An open safetensors file: its header parsed, tensors read on demand.
public final class SafetensorsFile {
    public struct Tensor: Sendable {
        public let name: String
        public let dtype: Safetensors.DType
        public let shape: [Int]
        public let begin: Int
        public let end: Int
    }

    public let path: String
    public let metadata: [String: String]
    public let tensors: [String: Tensor]
    private let descriptor: Int32
    private let dataStart: Int

    public init(path: String) throws(SafetensorsError) {
        self.path = path
        let descriptor = open(path, O_RDONLY)
        self.descriptor = descriptor
        guard descriptor >= 0 else { throw .io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        var status = stat()
        fstat(descriptor, &status)
        let fileSize = Int(status.st_size)
        var length: UInt64 = 0
        guard fileSize >= 8, pread(descriptor, &length, 8, 0) == 8 else {
            close(descriptor)
            throw .malformed(path: path, reason: "shorter than its 8-byte header length")
        }
        let headerLength = Int(UInt64(littleEndian: length))
        guard headerLength > 1, headerLength <= 100_000_000, 8 + headerLength <= fileSize else {
            close(descriptor)
            throw .malformed(path: path, reason: "header length \(headerLength) does not fit a \(fileSize)-byte file")
        }
        var headerBytes = [UInt8](repeating: 0, count: headerLength)
        _ = headerBytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress!, headerLength, 8) }
        let dataStart = 8 + headerLength
        self.dataStart = dataStart
        guard let object = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any] else {
            close(descriptor)
            throw .malformed(path: path, reason: "header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var tensors: [String: Tensor] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let fields = value as? [String: Any], let dtypeName = fields["dtype"] as? String,
                  let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int], offsets.count == 2
            else {
                close(descriptor)
                throw .malformed(path: path, reason: "tensor \(name) lacks dtype, shape or data_offsets")
            }
            guard let dtype = Safetensors.DType(rawValue: dtypeName) else {
                close(descriptor)
                throw .mismatch(path: path, tensor: name, reason: "dtype \(dtypeName) is not one Reins reads (F32, U8, I64)")
            }
            guard offsets[0] >= 0, offsets[1] - offsets[0] == shape.reduce(1, *) * dtype.size,
                  dataStart + offsets[1] <= fileSize
            else {
                close(descriptor)
                throw .malformed(path: path, reason: "tensor \(name)'s data_offsets \(offsets) do not match its shape or the file size")
            }
            tensors[name] = Tensor(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        }
        self.metadata = metadata
        self.tensors = tensors
    }

    deinit { close(descriptor) }

    /// Reads tensor `name` into `destination`, after checking it has the expected type and shape.
    public func read(_ name: String, dtype: Safetensors.DType, shape: [Int], into destination: UnsafeMutableRawPointer) throws(SafetensorsError) {
        guard let tensor = tensors[name] else { throw .mismatch(path: path, tensor: name, reason: "missing") }
        guard tensor.dtype == dtype else { throw .mismatch(path: path, tensor: name, reason: "dtype \(tensor.dtype.rawValue), expected \(dtype.rawValue)") }
        guard tensor.shape == shape else { throw .mismatch(path: path, tensor: name, reason: "shape \(tensor.shape), expected \(shape)") }
        var done = 0
        let total = tensor.end - tensor.begin
        while done < total {
            let result = pread(descriptor, destination + done, min(total - done, 1 << 30), off_t(dataStart + tensor.begin + done))
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { throw .io(path: path, reason: "read of \(name) failed: \(String(cString: strerror(errno)))") }
            done += result
        }
    }

    public func floats(_ name: String) throws(SafetensorsError) -> [Float] {
        guard let tensor = tensors[name] else { throw .mismatch(path: path, tensor: name, reason: "missing") }
        let buffer = FloatBuffer(count: tensor.shape.reduce(1, *))
        try read(name, dtype: .f32, shape: tensor.shape, into: buffer.pointer)
        return buffer.array
    }
}

extension ParameterSet {
    /// The set's tensors as safetensors entries named `prefix` + slot name, e.g. "critic.encoder.conv1.weight".
    public func entries(prefix: String = "") -> [Safetensors.Entry] {
        slots.map { Safetensors.Entry(name: prefix + $0.name, shape: $0.shape, floats: values($0)) }
    }

    /// Loads every slot from a file written by `entries(prefix:)` for a network of the same shape.
    public func load(from file: SafetensorsFile, prefix: String = "") throws(SafetensorsError) {
        for slot in slots {
            try file.read(prefix + slot.name, dtype: .f32, shape: slot.shape, into: values(slot))
        }
    }
}
