import Foundation
import Testing
@testable import ReinsData

@Suite("TensorBoard event files")
struct TensorBoardTests {
    @Test("CRC-32C matches the standard check value and TensorFlow's masking")
    func crc() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        // An empty record's masked length CRC, as every TFRecord writer produces it.
        let zeroLength = withUnsafeBytes(of: UInt64(0).littleEndian, Array.init)
        let crc = CRC32C.checksum(zeroLength)
        #expect(CRC32C.masked(zeroLength) == ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
    }

    @Test("scalars written are read back with valid CRCs, tags, steps and values")
    func roundTrip() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-tb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let writer = try TensorBoardWriter(directory: folder)
        #expect(writer.url.lastPathComponent.hasPrefix("events.out.tfevents."))
        for step in 0..<50 {
            try writer.scalars([("train/critic_loss", 1 / Double(step + 1)), ("eval/success_rate", Double(step) / 50)], step: step * 100)
        }
        writer.flush()
        let (version, scalars) = try TensorBoardReader.read(writer.url)
        #expect(version == "brain.Event:2")
        #expect(scalars.count == 100)
        let success = scalars.filter { $0.tag == "eval/success_rate" }
        #expect(success.map(\.step) == (0..<50).map { $0 * 100 })
        #expect(success.enumerated().allSatisfy { abs($0.element.value - Double($0.offset) / 50) < 1e-6 })
        #expect(abs(scalars[0].value - 1) < 1e-7 && scalars[0].wallTime > 1_700_000_000)
    }

    @Test("a flipped byte fails its CRC, naming the record's offset")
    func corruption() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-tb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let writer = try TensorBoardWriter(directory: folder)
        try writer.scalar("a", 1, step: 1)
        writer.flush()
        var bytes = [UInt8](try Data(contentsOf: writer.url))
        bytes[bytes.count - 6] ^= 0x10
        try Data(bytes).write(to: writer.url)
        #expect { try TensorBoardReader.read(writer.url) } throws: { "\($0)".contains("valid CRC") }
    }
}
