import ReinsHardware
import Testing

@Suite("EtherCAT frame, SII and CoE codecs")
struct EtherCATCodecTests {
    /// SOEM's slave count, BRD of register 0x0000, as it goes on the wire: Ethernet header
    /// (broadcast, source, 0x88A4), EtherCAT header 0x100D (13 bytes, type 1), the datagram,
    /// zero padding to 60 bytes.
    static let countSlaves: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0xA4]
        + [0x0D, 0x10, 0x07, 0x2A, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
        + [UInt8](repeating: 0, count: 31)

    /// A chain over UDP: APWR of station address 0x1001 to position 0 (M flag set), then FPRD of
    /// 2 bytes of AL status from station 0x1001, as a slave returned it (AL status 0x0002 and
    /// working counters 1).
    static let chain: [UInt8] = [0x1C, 0x10]
        + [0x02, 0x05, 0x00, 0x00, 0x10, 0x00, 0x02, 0x80, 0x00, 0x00, 0x01, 0x10, 0x01, 0x00]
        + [0x04, 0x06, 0x01, 0x10, 0x30, 0x01, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00]

    @Test("a BRD built for raw Ethernet is the golden frame, padded to the Ethernet minimum")
    func goldenBroadcastRead() {
        var builder = EtherCATFrameBuilder(headerRoom: 14)
        builder.append(.brd, index: 0x2A, address: DatagramHeader.physical(slave: 0, offset: 0x0000), length: 1)
        let length = builder.finish()
        #expect(length == 60)
        // The transport writes the Ethernet header; compare from the EtherCAT header on.
        #expect(Array(builder.bytes[14..<60]) == Array(Self.countSlaves[14...]))
    }

    @Test("a datagram chain decodes in order with M set on all but the last, addresses split into ADP and ADO, working counters read")
    func goldenChain() throws {
        var seen: [Datagram] = []
        let parse = try Self.chain.withUnsafeBytes { raw in try EtherCATFrame.decode(raw) { seen.append($0) } }
        #expect(parse == .complete(consumed: 30))
        #expect(seen.map(\.header.command) == [.apwr, .fprd])
        #expect(seen.map(\.header.more) == [true, false])
        #expect(seen[0].header.slaveAddress == 0 && seen[0].header.offset == 0x0010 && seen[0].header.index == 5)
        #expect(seen[1].header.slaveAddress == 0x1001 && seen[1].header.offset == 0x0130 && seen[1].header.length == 2)
        #expect(Array(Self.chain[seen[1].dataOffset..<(seen[1].dataOffset + 2)]) == [0x02, 0x00])
        #expect(seen.map(\.workingCounter) == [1, 1])

        var builder = EtherCATFrameBuilder(headerRoom: 0)
        [UInt8]([0x01, 0x10]).withUnsafeBytes { station in
            _ = builder.append(.apwr, index: 5, address: DatagramHeader.physical(slave: 0, offset: 0x0010), length: 2, data: station)
        }
        builder.append(.fprd, index: 6, address: DatagramHeader.physical(slave: 0x1001, offset: 0x0130), length: 2)
        let length = builder.finish()
        var expected = Self.chain
        // As sent: no data in the read, no working counters yet.
        expected[14] = 0; expected[15] = 0
        expected[26] = 0; expected[27] = 0; expected[28] = 0; expected[29] = 0
        #expect(Array(builder.bytes[0..<length]) == expected)
    }

    @Test("every command round-trips through the builder and the decoder", arguments: EtherCATCommand.allCases)
    func everyCommand(_ command: EtherCATCommand) throws {
        var builder = EtherCATFrameBuilder(headerRoom: 0)
        let data: [UInt8] = [1, 2, 3, 4, 5]
        let address: UInt32 = command.isLogical ? 0x0001_0040 : DatagramHeader.physical(slave: 0xFFFE, offset: 0x0910)
        let offset = data.withUnsafeBytes { builder.append(command, index: 9, address: address, length: data.count, data: $0) }
        builder.store(UInt16(3), at: offset + data.count)
        let length = builder.finish()
        var seen: [Datagram] = []
        let frame = Array(builder.bytes[0..<length])
        _ = try frame.withUnsafeBytes { try EtherCATFrame.decode($0) { seen.append($0) } }
        #expect(seen.count == 1)
        #expect(seen[0].header == DatagramHeader(command: command, index: 9, address: address, length: 5))
        #expect(Array(frame[seen[0].dataOffset..<(seen[0].dataOffset + 5)]) == data && seen[0].workingCounter == 3)
    }

    @Test("fed a byte at a time a frame is incomplete until its last byte, and nothing is visited before")
    func byteByByte() throws {
        for frame in [Self.chain, Array(Self.countSlaves[14...])] {
            let whole = frame.count
            for cut in 0..<whole {
                var visited = 0
                let parse = try Array(frame[0..<cut]).withUnsafeBytes { raw in try EtherCATFrame.decode(raw) { _ in visited += 1 } }
                guard case .incomplete(let needed) = parse else {
                    // The padded frame is complete as soon as the EtherCAT part is there.
                    #expect(frame.count == 46 && cut >= 15, "complete after \(cut) of \(whole) bytes")
                    continue
                }
                #expect(needed > cut && visited == 0)
            }
        }
    }

    @Test("malformed frames are refused with the reason")
    func malformed() {
        func reason(_ bytes: [UInt8]) -> String? {
            do {
                _ = try bytes.withUnsafeBytes { try EtherCATFrame.decode($0) }
                return nil
            } catch {
                return (error as? MalformedFrame)?.reason
            }
        }
        #expect(reason([0x0D, 0x40] + [UInt8](repeating: 0, count: 13))?.contains("type 4") == true)
        // The datagram says 8 data bytes but the frame holds 13 bytes in all.
        #expect(reason([0x0D, 0x10, 0x07, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0])?.contains("runs past") == true)
        #expect(reason([0x0D, 0x10, 0x2F, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0])?.contains("unknown command 47") == true)
        // M is clear but the header promises more bytes.
        #expect(reason([0x0F, 0x10, 0x07, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0])?.contains("header says") == true)
    }

    @Test("an SII image round-trips; a corrupt header checksum is named")
    func slaveInformation() throws {
        let info = SlaveInformation(
            vendorID: 0x0000_0E1E, productCode: 0x402, revision: 0x10000, serialNumber: 77, name: "Joint drive",
            mailboxOutStart: 0x1000, mailboxOutSize: 128, mailboxInStart: 0x1080, mailboxInSize: 128, mailboxProtocols: 0x04,
            syncManagers: [SyncManagerConfig(start: 0x1000, length: 128, control: 0x26, enabled: true),
                           SyncManagerConfig(start: 0x1080, length: 128, control: 0x22, enabled: true),
                           SyncManagerConfig(start: 0x1100, length: 13, control: 0x64, enabled: true),
                           SyncManagerConfig(start: 0x1180, length: 15, control: 0x20, enabled: true)],
            fmmuUsage: [1, 2, 3])
        var words = info.eepromWords
        #expect(try SlaveInformation(eepromWords: words) == info)
        words[4] ^= 1  // the alias, within the checksummed words 0–6
        #expect(throws: SIIError.self) { try SlaveInformation(eepromWords: words) }
    }

    @Test("SDO messages have their golden bytes and decode back, both directions")
    func sdoMessages() throws {
        // Expedited download of one byte (mode 8 to 0x6060:0): command 0x2F.
        let setMode = SDOMessage.downloadRequest(index: 0x6060, subindex: 0, completeSize: 1, data: [8], expedited: true)
        #expect(setMode.bytes == [0x00, 0x20, 0x2F, 0x60, 0x60, 0x00, 0x08, 0x00, 0x00, 0x00])
        #expect(try SDOMessage(coe: setMode.bytes, fromSlave: false) == setMode)
        // Expedited upload reply of two bytes (a statusword): 0x4B.
        let status = SDOMessage.uploadResponse(index: 0x6041, subindex: 0, completeSize: 2, data: [0x37, 0x02], expedited: true)
        #expect(status.bytes == [0x00, 0x30, 0x4B, 0x41, 0x60, 0x00, 0x37, 0x02, 0x00, 0x00])
        #expect(try SDOMessage(coe: status.bytes, fromSlave: true) == status)
        // A normal download with its size, then a last segment of three bytes (n = 4 unused).
        let initiate = SDOMessage.downloadRequest(index: 0x2000, subindex: 0, completeSize: 10, data: [1, 2, 3, 4, 5, 6, 7], expedited: false)
        #expect(Array(initiate.bytes[2..<10]) == [0x21, 0x00, 0x20, 0x00, 10, 0, 0, 0])
        #expect(try SDOMessage(coe: initiate.bytes, fromSlave: false) == initiate)
        let segment = SDOMessage.downloadSegmentRequest(toggle: true, last: true, data: [8, 9, 10])
        #expect(Array(segment.bytes[2..<6]) == [0x19, 8, 9, 10] && segment.bytes.count == 10)
        #expect(try SDOMessage(coe: segment.bytes, fromSlave: false) == segment)
        let abort = SDOMessage.abort(index: 0x1C12, subindex: 0, code: .deviceState)
        #expect(Array(abort.bytes[2..<10]) == [0x80, 0x12, 0x1C, 0x00, 0x22, 0x00, 0x00, 0x08])
        #expect(try SDOMessage(coe: abort.bytes, fromSlave: true) == abort)
        for message in [SDOMessage.uploadRequest(index: 0x1008, subindex: 0), .uploadSegmentRequest(toggle: true)] {
            #expect(try SDOMessage(coe: message.bytes, fromSlave: false) == message)
        }
        for message in [SDOMessage.downloadResponse(index: 0x1C12, subindex: 1), .downloadSegmentResponse(toggle: false),
                        .uploadSegmentResponse(toggle: false, last: false, data: Array(0..<20))] {
            #expect(try SDOMessage(coe: message.bytes, fromSlave: true) == message)
        }
    }

    @Test("AL status codes, SDO abort codes and CiA 402 error codes read as words")
    func codesInWords() {
        #expect(ALStatusCode.syncManagerWatchdog.description == "0x001B sync-manager watchdog: outputs stopped arriving")
        #expect(ALStatusCode.invalidInputConfiguration.description.hasPrefix("0x001E invalid input configuration"))
        #expect(SDOAbortCode.noObject.description == "0x06020000 the object does not exist in the object dictionary")
        #expect(CiA402.errorText(0x8611) == "0x8611 following error")
        #expect(CiA402.errorText(0x2350) == "0x2350 current fault")
    }

    @Test("the statusword decodes with the profile's masks, whatever the other bits say")
    func statusword() {
        let table: [(UInt16, CiA402.State)] = [(0x0000, .notReadyToSwitchOn), (0x0040, .switchOnDisabled), (0x0021, .readyToSwitchOn),
                                               (0x0023, .switchedOn), (0x0027, .operationEnabled), (0x0007, .quickStopActive),
                                               (0x000F, .faultReactionActive), (0x0008, .fault)]
        for (word, state) in table {
            #expect(CiA402.State(statusword: word) == state)
            #expect(CiA402.State(statusword: word | 0x1610) == state, "bits 4, 9, 10 and 12 must not matter")
            #expect(CiA402.State(statusword: state.statusBits) == state)
        }
        #expect(CiA402.nextCommand(toward: .switchOnDisabled, previous: 0) == 0x06)
        #expect(CiA402.nextCommand(toward: .fault, previous: 0) == 0x80)
        #expect(CiA402.nextCommand(toward: .fault, previous: 0x80) == 0x00)
    }
}
