/// What a slave's SII EEPROM says about it (ETG.2010): identity, name, mailboxes, sync managers.
///
/// The EEPROM is read in 16-bit words: a fixed header up to word 0x3F, then categories (type,
/// size in words, data) ending with type 0xFFFF.
public struct SlaveInformation: Sendable, Equatable {
    public var vendorID: UInt32
    public var productCode: UInt32
    public var revision: UInt32
    public var serialNumber: UInt32
    public var alias: UInt16
    public var name: String
    /// The mailbox the master writes (SM0): offset and size in bytes; 0 size without a mailbox.
    public var mailboxOutStart: UInt16
    public var mailboxOutSize: UInt16
    /// The mailbox the master reads (SM1).
    public var mailboxInStart: UInt16
    public var mailboxInSize: UInt16
    /// Bit 2 (0x04): CoE.
    public var mailboxProtocols: UInt16
    /// The sync managers the SII describes, SM0 first (their lengths are defaults; process data
    /// lengths come from the PDO mapping).
    public var syncManagers: [SyncManagerConfig]
    /// What each FMMU is meant for: 1 outputs, 2 inputs, 3 sync-manager status.
    public var fmmuUsage: [UInt8]

    public init(vendorID: UInt32, productCode: UInt32, revision: UInt32, serialNumber: UInt32, alias: UInt16 = 0, name: String,
                mailboxOutStart: UInt16, mailboxOutSize: UInt16, mailboxInStart: UInt16, mailboxInSize: UInt16,
                mailboxProtocols: UInt16, syncManagers: [SyncManagerConfig], fmmuUsage: [UInt8]) {
        self.vendorID = vendorID
        self.productCode = productCode
        self.revision = revision
        self.serialNumber = serialNumber
        self.alias = alias
        self.name = name
        self.mailboxOutStart = mailboxOutStart
        self.mailboxOutSize = mailboxOutSize
        self.mailboxInStart = mailboxInStart
        self.mailboxInSize = mailboxInSize
        self.mailboxProtocols = mailboxProtocols
        self.syncManagers = syncManagers
        self.fmmuUsage = fmmuUsage
    }

    public var supportsCoE: Bool { mailboxProtocols & 0x04 != 0 && mailboxOutSize > 0 && mailboxInSize > 0 }

    /// SII word addresses of the fixed header's fields.
    enum Word {
        static let alias = 0x0004
        static let checksum = 0x0007
        static let vendorID = 0x0008
        static let productCode = 0x000A
        static let revision = 0x000C
        static let serialNumber = 0x000E
        static let mailboxOut = 0x0018
        static let mailboxIn = 0x001A
        static let mailboxProtocols = 0x001C
        static let size = 0x003E
        static let version = 0x003F
        static let firstCategory = 0x0040
    }

    enum Category {
        static let strings: UInt16 = 10
        static let general: UInt16 = 30
        static let fmmu: UInt16 = 40
        static let syncManager: UInt16 = 41
        static let end: UInt16 = 0xFFFF
    }

    /// The EEPROM image as words, as a slave stores it.
    public var eepromWords: [UInt16] {
        var words = [UInt16](repeating: 0, count: Word.firstCategory)
        func put32(_ value: UInt32, _ at: Int) {
            words[at] = UInt16(truncatingIfNeeded: value)
            words[at + 1] = UInt16(truncatingIfNeeded: value >> 16)
        }
        words[0] = 0x0C05  // PDI control: SPI slave, as small drives have
        words[Word.alias] = alias
        put32(vendorID, Word.vendorID)
        put32(productCode, Word.productCode)
        put32(revision, Word.revision)
        put32(serialNumber, Word.serialNumber)
        words[Word.mailboxOut] = mailboxOutStart
        words[Word.mailboxOut + 1] = mailboxOutSize
        words[Word.mailboxIn] = mailboxInStart
        words[Word.mailboxIn + 1] = mailboxInSize
        words[Word.mailboxProtocols] = mailboxProtocols
        words[Word.size] = 1  // 2 kbit
        words[Word.version] = 1
        words[Word.checksum] = UInt16(Self.checksum(words))

        func category(_ type: UInt16, _ bytes: [UInt8]) {
            var bytes = bytes
            if bytes.count % 2 == 1 { bytes.append(0) }
            words.append(type)
            words.append(UInt16(bytes.count / 2))
            for pair in stride(from: 0, to: bytes.count, by: 2) { words.append(UInt16(bytes[pair]) | UInt16(bytes[pair + 1]) << 8) }
        }
        let nameBytes = Array(name.utf8.prefix(255))
        category(Category.strings, [1, UInt8(nameBytes.count)] + nameBytes)
        // Group, image, order 0; name string 1; CoE details: SDO, PDO assign, PDO config (bits 0, 2, 3;
        // not SDO information, which the emulated drives do not offer).
        var general = [UInt8](repeating: 0, count: 32)
        general[3] = 1
        general[5] = supportsCoE ? 0x0D : 0
        category(Category.general, general)
        category(Category.fmmu, fmmuUsage)
        category(Category.syncManager, syncManagers.flatMap { sm -> [UInt8] in
            let type: UInt8 = sm.isMailbox ? (sm.masterWrites ? 1 : 2) : (sm.masterWrites ? 3 : 4)
            return [UInt8](littleEndian: sm.start) + [UInt8](littleEndian: sm.length) + [sm.control, 0, sm.enabled ? 1 : 0, type]
        })
        words.append(Category.end)
        return words
    }

    /// The CRC-8 (polynomial 0x07, initial 0xFF) over words 0–6 that ETG.2010 puts in word 7.
    static func checksum(_ words: [UInt16]) -> UInt8 {
        var crc: UInt8 = 0xFF
        for word in words[0..<7] {
            for byte in [UInt8(truncatingIfNeeded: word), UInt8(word >> 8)] {
                crc ^= byte
                for _ in 0..<8 { crc = crc & 0x80 != 0 ? (crc << 1) ^ 0x07 : crc << 1 }
            }
        }
        return crc
    }

    /// Decodes an EEPROM image read from word 0 to (at least) its end category.
    public init(eepromWords words: [UInt16]) throws(SIIError) {
        guard words.count >= Word.firstCategory else { throw .tooShort(words: words.count) }
        func get32(_ at: Int) -> UInt32 { UInt32(words[at]) | UInt32(words[at + 1]) << 16 }
        vendorID = get32(Word.vendorID)
        productCode = get32(Word.productCode)
        revision = get32(Word.revision)
        serialNumber = get32(Word.serialNumber)
        alias = words[Word.alias]
        mailboxOutStart = words[Word.mailboxOut]
        mailboxOutSize = words[Word.mailboxOut + 1]
        mailboxInStart = words[Word.mailboxIn]
        mailboxInSize = words[Word.mailboxIn + 1]
        mailboxProtocols = words[Word.mailboxProtocols]
        name = ""
        syncManagers = []
        fmmuUsage = []
        let stored = UInt8(truncatingIfNeeded: words[Word.checksum])
        guard stored == Self.checksum(words) else { throw .checksum(stored: stored, computed: Self.checksum(words)) }

        var strings: [String] = []
        var nameIndex = 0
        var at = Word.firstCategory
        while at < words.count {
            let type = words[at]
            if type == Category.end {
                if nameIndex > 0, nameIndex <= strings.count { name = strings[nameIndex - 1] }
                return
            }
            guard at + 1 < words.count else { break }
            let size = Int(words[at + 1])
            guard at + 2 + size <= words.count else { throw .categoryOverrun(type: type, atWord: at) }
            var bytes: [UInt8] = []
            for word in words[(at + 2)..<(at + 2 + size)] { bytes += [UInt8(truncatingIfNeeded: word), UInt8(word >> 8)] }
            switch type {
            case Category.strings where !bytes.isEmpty:
                var offset = 1
                for _ in 0..<Int(bytes[0]) where offset < bytes.count {
                    let length = Int(bytes[offset])
                    let end = min(offset + 1 + length, bytes.count)
                    strings.append(String(decoding: bytes[(offset + 1)..<end], as: UTF8.self))
                    offset = end
                }
            case Category.general where bytes.count >= 4:
                nameIndex = Int(bytes[3])
            case Category.fmmu:
                fmmuUsage = bytes.filter { $0 != 0 && $0 != 0xFF }
            case Category.syncManager:
                syncManagers = stride(from: 0, to: bytes.count - 7, by: 8).map { offset -> SyncManagerConfig in
                    let start: UInt16 = bytes.littleEndian(UInt16.self, at: offset)
                    let length: UInt16 = bytes.littleEndian(UInt16.self, at: offset + 2)
                    return SyncManagerConfig(start: start, length: length, control: bytes[offset + 4], enabled: bytes[offset + 6] & 1 != 0)
                }
            default:
                break
            }
            at += 2 + size
        }
        throw .noEndCategory
    }
}

/// An SII EEPROM that could not be read or decoded.
public enum SIIError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooShort(words: Int)
    case checksum(stored: UInt8, computed: UInt8)
    case categoryOverrun(type: UInt16, atWord: Int)
    case noEndCategory

    public var description: String {
        switch self {
        case .tooShort(let words): "the SII EEPROM image has \(words) words, fewer than its 64-word header"
        case .checksum(let stored, let computed):
            "the SII EEPROM header's checksum is 0x\(String(stored, radix: 16)) but its words give 0x\(String(computed, radix: 16)); the EEPROM is corrupt or unprogrammed"
        case .categoryOverrun(let type, let at): "SII category \(type) at word \(at) runs past the end of the EEPROM"
        case .noEndCategory: "the SII EEPROM has no end category (0xFFFF)"
        }
    }
}
