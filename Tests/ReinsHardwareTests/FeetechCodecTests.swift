import ReinsCore
import ReinsHardware
import Testing

func decodeFeetech(_ bytes: [UInt8], chunk: Int) throws -> [FeetechFrame] {
    var decoder = FeetechDecoder()
    var frames: [FeetechFrame] = []
    var offset = 0
    while offset < bytes.count {
        decoder.feed(Array(bytes[offset..<min(offset + chunk, bytes.count)]))
        offset += chunk
        while let frame = try decoder.next() { frames.append(frame) }
    }
    return frames
}

@Suite("Feetech STS/SCS codec")
struct FeetechCodecTests {
    @Test("instruction packets match the reference's golden bytes")
    func goldenInstructions() {
        #expect(built { FeetechPacket.ping(id: 1, into: &$0) } == hex("FF FF 01 02 01 FB"))
        #expect(built { FeetechPacket.read(id: 1, address: 56, length: 2, into: &$0) } == hex("FF FF 01 04 02 38 02 BE"))
        #expect(built { FeetechPacket.syncRead(ids: [1, 2, 3, 4, 5, 6], address: 56, length: 2, into: &$0) }
                == hex("FF FF FE 0A 82 38 02 01 02 03 04 05 06 26"))
        let order = FeetechByteOrder.littleEndian
        #expect(built { FeetechPacket.syncWrite(address: 42, length: 2, ids: [1, 2],
                                                 data: [order.bytes(2048, size: 2), order.bytes(1024, size: 2)], into: &$0) }
                == hex("FF FF FE 0A 83 2A 02 01 00 08 02 00 04 39"))
    }

    @Test("golden replies decode: ping, and position 2048 in STS and SCS byte order")
    func goldenReplies() throws {
        let ping = try decodeFeetech(hex("FF FF 01 02 00 FC"), chunk: 1)
        #expect(ping == [FeetechFrame(id: 1, code: 0, parameters: [])])
        #expect(built { FeetechPacket.encodeStatus(id: 1, error: 0, parameters: [], into: &$0) } == hex("FF FF 01 02 00 FC"))

        let sts = try #require(try decodeFeetech(hex("FF FF 01 04 00 00 08 F2"), chunk: 1).first)
        #expect(FeetechByteOrder.littleEndian.value(sts.parameters[...]) == 2048)
        #expect(sts.statusError.description == "ok")
        let scs = try #require(try decodeFeetech(hex("FF FF 01 04 00 08 00 F2"), chunk: 1).first)
        #expect(FeetechByteOrder.bigEndian.value(scs.parameters[...]) == 2048)
        #expect(FeetechByteOrder.bigEndian.bytes(2048, size: 2) == [0x08, 0x00])
    }

    @Test("sign-magnitude fields: -100 at bit 15 is 0x8064, load 0x0405 is -5, homing offset at bit 11")
    func signMagnitude() {
        #expect(FeetechControlTable.goalVelocity.raw(fromValue: -100) == 0x8064)
        #expect(FeetechControlTable.goalVelocity.value(fromRaw: 0x8064) == -100)
        #expect(FeetechControlTable.presentLoad.value(fromRaw: 0x0405) == -5)
        #expect(FeetechControlTable.homingOffset.raw(fromValue: -2047) == 0x0FFF)
        #expect(FeetechControlTable.homingOffset.raw(fromValue: 2048) == nil)
        #expect(FeetechControlTable.homingOffset.value(fromRaw: 0x0800 | 5) == -5)
        #expect(FeetechControlTable.presentPosition.value(fromRaw: 2048) == 2048)
    }

    @Test("sync read replies fed one byte at a time and all at once, with noise, decode in order")
    func stream() throws {
        let replies = (1...6).map { id in
            built { FeetechPacket.encodeStatus(id: UInt8(id), error: 0, parameters: FeetechByteOrder.littleEndian.bytes(UInt32(1000 + id), size: 2), into: &$0) }
        }
        let stream = [0x00, 0xFF] + replies.joined() + [0x12]
        for chunk in [1, 3, stream.count] {
            let frames = try decodeFeetech(stream, chunk: chunk)
            #expect(frames.map(\.id) == [1, 2, 3, 4, 5, 6], "chunk \(chunk)")
            #expect(frames.map { FeetechByteOrder.littleEndian.value($0.parameters[...]) } == (1...6).map { UInt32(1000 + $0) })
        }
    }

    @Test("a corrupted packet is refused, and the next one still decodes")
    func corruption() throws {
        var bad = hex("FF FF 01 04 00 00 08 F2")
        bad[6] = 0x09
        var decoder = FeetechDecoder()
        decoder.feed(bad + hex("FF FF 02 04 00 00 08 F1"))
        #expect(throws: FeetechDecodeError.checksumMismatch(id: 1)) { _ = try decoder.next() }
        #expect(try decoder.next()?.id == 2)
        #expect(try decoder.next() == nil)
    }

    @Test("status error bits are named")
    func statusBits() {
        #expect(FeetechStatusError(rawValue: 0x24).description == "overheat, overload")
        #expect(FeetechStatusError(rawValue: 0x01).contains(.voltage))
    }

    @Test("the STS3215 control table has the reference's addresses")
    func controlTable() {
        let table = FeetechControlTable.sts3215
        #expect(table.register(named: "goal_position")?.address == 42)
        #expect(table.register(named: "present_position")?.address == 56)
        #expect(table.register(named: "torque_enable")?.address == 40)
        #expect(table.register(named: "homing_offset")?.address == 31)
        #expect(Set(table.map(\.name)).count == table.count)
        #expect(table.filter(\.isEEPROM).allSatisfy { $0.address < 40 })
    }
}
