import ReinsCore
import ReinsHardware
import Testing

/// Bytes from a hex string such as "FF FF FD 00".
func hex(_ text: String) -> [UInt8] {
    text.split(separator: " ").map { UInt8($0, radix: 16)! }
}

func built(_ body: (inout [UInt8]) -> Void) -> [UInt8] {
    var out: [UInt8] = []
    body(&out)
    return out
}

/// Feeds `bytes` in chunks of `chunk` and collects every packet.
func decodeAll(_ bytes: [UInt8], chunk: Int, unstuffs: Bool = true) throws -> [DynamixelFrame] {
    var decoder = DynamixelDecoder(unstuffs: unstuffs)
    var frames: [DynamixelFrame] = []
    var offset = 0
    while offset < bytes.count {
        decoder.feed(Array(bytes[offset..<min(offset + chunk, bytes.count)]))
        offset += chunk
        while let frame = try decoder.next() { frames.append(frame) }
    }
    return frames
}

@Suite("Dynamixel Protocol 2.0 codec")
struct DynamixelCodecTests {
    @Test("CRC-16/BUYPASS of 123456789 is 0xFEE8")
    func crcCheckValue() {
        #expect(DynamixelCRC.checksum(Array("123456789".utf8)) == 0xFEE8)
    }

    @Test("instruction packets match the reference's golden bytes")
    func goldenInstructions() {
        #expect(built { DynamixelPacket.ping(id: 1, into: &$0) } == hex("FF FF FD 00 01 03 00 01 19 4E"))
        #expect(built { DynamixelPacket.read(id: 1, address: 132, length: 4, into: &$0) }
                == hex("FF FF FD 00 01 07 00 02 84 00 04 00 1D 15"))
        #expect(built { DynamixelPacket.syncWrite(address: 116, length: 4, ids: [1, 2],
                                                   data: [DynamixelPacket.littleEndian(2048, size: 4), DynamixelPacket.littleEndian(1024, size: 4)],
                                                   into: &$0) }
                == hex("FF FF FD 00 FE 11 00 83 74 00 04 00 01 00 08 00 00 02 00 04 00 00 98 4C"))
        #expect(built { DynamixelPacket.syncRead(ids: [1, 2, 3, 4, 5, 6], address: 132, length: 4, into: &$0) }
                == hex("FF FF FD 00 FE 0D 00 82 84 00 04 00 01 02 03 04 05 06 B2 9B"))
    }

    @Test("a parameter holding FF FF FD is stuffed on send, as the golden packet is")
    func goldenStuffedWrite() {
        #expect(built { DynamixelPacket.write(id: 1, address: 208, data: [0xFF, 0xFF, 0xFD], into: &$0) }
                == hex("FF FF FD 00 01 09 00 03 D0 00 FF FF FD FD 68 65"))
    }

    @Test("the golden status packet decodes to position 2048")
    func goldenStatus() throws {
        let frames = try decodeAll(hex("FF FF FD 00 01 08 00 55 00 00 08 00 00 1C 38"), chunk: 64)
        #expect(frames.count == 1)
        #expect(frames[0].id == 1)
        #expect(frames[0].isStatus)
        #expect(frames[0].error == DynamixelStatusError(raw: 0))
        #expect(DynamixelControlTable.presentPosition.value(fromRaw: 2048) == 2048)
        #expect(frames[0].parameters == [0x00, 0x08, 0x00, 0x00])
    }

    @Test("the stuffed golden write decodes back to its parameters")
    func goldenStuffedDecode() throws {
        let frames = try decodeAll(hex("FF FF FD 00 01 09 00 03 D0 00 FF FF FD FD 68 65"), chunk: 64)
        #expect(frames == [DynamixelFrame(id: 1, instruction: 0x03, error: nil, parameters: [0xD0, 0x00, 0xFF, 0xFF, 0xFD])])
    }

    @Test("packets decode fed one byte at a time and several at once, with noise between")
    func dripFeedAndBatch() throws {
        let status = hex("FF FF FD 00 01 08 00 55 00 00 08 00 00 1C 38")
        let stuffed = hex("FF FF FD 00 01 09 00 03 D0 00 FF FF FD FD 68 65")
        let stream = [0x00, 0xFF, 0x13] + status + stuffed + [0xFF, 0xFF] + status
        for chunk in [1, 2, 3, 7, stream.count] {
            let frames = try decodeAll(stream, chunk: chunk)
            #expect(frames.map(\.id) == [1, 1, 1], "chunk \(chunk)")
            #expect(frames.map(\.instruction) == [0x55, 0x03, 0x55], "chunk \(chunk)")
        }
    }

    @Test("a corrupted packet is refused, and the packet after it still decodes")
    func corruption() throws {
        var bad = hex("FF FF FD 00 01 08 00 55 00 00 08 00 00 1C 38")
        bad[9] ^= 0x04  // one bit of the position flips on the wire
        var decoder = DynamixelDecoder()
        decoder.feed(bad + hex("FF FF FD 00 01 08 00 55 00 00 08 00 00 1C 38"))
        #expect(throws: DynamixelDecodeError.crcMismatch(id: 1)) { _ = try decoder.next() }
        let frame = try #require(try decoder.next())
        #expect(frame.parameters == [0x00, 0x08, 0x00, 0x00])
        #expect(try decoder.next() == nil)
        #expect(decoder.pendingCount == 0)
    }

    @Test("stuffing round-trips random payloads dense in FF and FD", arguments: [1, 2, 3])
    func stuffingProperty(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        var packet: [UInt8] = []
        var decoder = DynamixelDecoder()
        var parameters: [UInt8] = []
        for _ in 0..<500 {
            let count = Int.random(in: 0...40, using: &generator)
            let payload = (0..<count).map { _ in [0xFF, 0xFD, 0x00, UInt8.random(in: 0...255, using: &generator)].randomElement(using: &generator)! }
            let id = UInt8.random(in: 0...252, using: &generator)
            DynamixelPacket.encode(id: id, instruction: .write, parameters: payload, into: &packet)
            // The body never contains a header.
            let body = Array(packet[4...])
            #expect(!(0..<max(0, body.count - 3)).contains { body[$0] == 0xFF && body[$0 + 1] == 0xFF && body[$0 + 2] == 0xFD && body[$0 + 3] == 0x00 })
            decoder.feed(packet)
            let frame = try #require(try decoder.next(parameters: &parameters))
            #expect(frame.id == id)
            #expect(parameters == payload)
        }
    }

    @Test("status packets are stuffed too, and a present current of -1 survives")
    func stuffedStatus() throws {
        var packet: [UInt8] = []
        let minusOne = DynamixelPacket.littleEndian(DynamixelControlTable.presentCurrent.raw(fromValue: -1)!, size: 2)
        DynamixelPacket.encodeStatus(id: 3, error: 0, parameters: minusOne + [0xFD, 0x00], into: &packet)
        #expect(packet.count == 4 + 3 + 2 + 4 + 1 + 2)  // one stuffed FD
        let frames = try decodeAll(packet, chunk: 1)
        #expect(frames.first?.parameters == [0xFF, 0xFF, 0xFD, 0x00])
        #expect(DynamixelControlTable.presentCurrent.value(fromRaw: 0xFFFF) == -1)
    }

    @Test("fast sync read replies are decoded without unstuffing")
    func unstuffedMode() throws {
        // A reply whose data happens to hold FF FF FD FD: in fast mode it stays as sent.
        var packet: [UInt8] = []
        DynamixelPacket.encodeStatus(id: 0xFE, error: 0, parameters: [0x01, 0xFF, 0xFF, 0xFD, 0x00], into: &packet)
        let frames = try decodeAll(packet, chunk: 3, unstuffs: false)
        #expect(frames.first?.parameters == [0x01, 0xFF, 0xFF, 0xFD, 0xFD, 0x00])
    }

    @Test("every instruction builds a packet the decoder reads back")
    func allInstructions() throws {
        let packets: [[UInt8]] = [
            built { DynamixelPacket.ping(id: DynamixelPacket.broadcastID, into: &$0) },
            built { DynamixelPacket.regWrite(id: 2, address: 116, data: [0, 8, 0, 0], into: &$0) },
            built { DynamixelPacket.action(id: 2, into: &$0) },
            built { DynamixelPacket.reboot(id: 2, into: &$0) },
            built { DynamixelPacket.fastSyncRead(ids: [1, 2], address: 132, length: 4, into: &$0) },
            built { DynamixelPacket.bulkRead([(id: 1, address: 132, length: 4), (id: 2, address: 70, length: 1)], into: &$0) },
            built { DynamixelPacket.bulkWrite([(id: 1, address: 64, data: [1]), (id: 2, address: 116, data: [0, 4, 0, 0])], into: &$0) },
        ]
        let frames = try decodeAll(packets.flatMap { $0 }, chunk: 5)
        #expect(frames.map(\.instruction) == [0x01, 0x04, 0x05, 0x08, 0x8A, 0x92, 0x93])
        #expect(frames[5].parameters == [1, 132, 0, 4, 0, 2, 70, 0, 1, 0])
        #expect(frames[6].parameters == [1, 64, 0, 1, 0, 1, 2, 116, 0, 4, 0, 0, 4, 0, 0])
    }

    @Test("the status error byte decodes into typed errors and the alert bit")
    func statusErrors() {
        #expect(DynamixelStatusError(raw: 0x00).isOK)
        #expect(DynamixelStatusError(raw: 0x07).kind == .access)
        #expect(DynamixelStatusError(raw: 0x84).kind == .dataRange)
        #expect(DynamixelStatusError(raw: 0x84).alert)
        #expect(DynamixelStatusError(raw: 0x80).kind == nil)
        #expect(DynamixelStatusError(raw: 0x80).description == "hardware alert")
        #expect(DynamixelStatusError(raw: 0x03).description == "crc")
        #expect(DynamixelHardwareError(rawValue: 0x24).description == "overheating, overload")
    }

    @Test("the X-series control table has the reference's addresses")
    func controlTable() {
        let table = DynamixelControlTable.xSeries
        #expect(table.register(named: "goal_position")?.address == 116)
        #expect(table.register(named: "present_position")?.address == 132)
        #expect(table.register(named: "torque_enable")?.address == 64)
        #expect(table.register(named: "hardware_error_status")?.address == 70)
        #expect(table.filter(\.isEEPROM).allSatisfy { $0.address < 64 })
        #expect(Set(table.map(\.name)).count == table.count)
        #expect(DynamixelModel(modelNumber: 1020) == .xm430W350)
        #expect(DynamixelModel(modelNumber: 1200) == .xl330M288)
        #expect(DynamixelControlTable.baudRateCode(1_000_000) == 3)
        #expect(DynamixelControlTable.homingOffset.raw(fromValue: -1) == 0xFFFF_FFFF)
        #expect(DynamixelControlTable.goalCurrent.raw(fromValue: 40000) == nil)
    }
}

@Suite("Dynamixel Fast Sync Read replies")
struct FastSyncReadTests {
    @Test("a three-servo reply splits into each servo's error, id and data, unstuffed")
    func split() throws {
        // ERR1 is the frame's error byte; then ID1 D1 CRC1, ERR2 ID2 D2 CRC2, ERR3 ID3 D3 (its CRC is the frame's).
        let data: [[UInt8]] = [[0x00, 0x08, 0x00, 0x00], [0xFF, 0xFF, 0xFD, 0x00], [0x10, 0x00, 0x00, 0x00]]
        let parameters: [UInt8] = [1] + data[0] + [0xAA, 0xBB] + [0x80, 2] + data[1] + [0xCC, 0xDD] + [0x00, 3] + data[2]
        #expect(parameters.count == DynamixelPacket.fastSyncReplyLength(count: 3, dataLength: 4))
        var packet: [UInt8] = []
        DynamixelPacket.encodeStatus(id: DynamixelPacket.broadcastID, error: 0, parameters: parameters, stuffing: false, into: &packet)
        let frame = try #require(try decodeAll(packet, chunk: 1, unstuffs: false).first)
        #expect(frame.parameters == parameters)
        var seen: [(UInt8, Bool, [UInt8])] = []
        let fits = DynamixelPacket.forEachFastSyncReply(firstError: frame.error!, parameters: frame.parameters, count: 3, dataLength: 4) {
            _, error, id, bytes in seen.append((id, error.alert, Array(bytes)))
        }
        #expect(fits)
        #expect(seen.map(\.0) == [1, 2, 3])
        #expect(seen.map(\.1) == [false, true, false])
        #expect(seen.map(\.2) == data)
        #expect(!DynamixelPacket.forEachFastSyncReply(firstError: frame.error!, parameters: frame.parameters, count: 2, dataLength: 4) { _, _, _, _ in })
    }
}
