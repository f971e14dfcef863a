import ReinsHardware

/// A CoE object dictionary: entries by index and subindex, each with its bytes, who may write
/// it and whether it can be mapped into process data. What an emulated drive answers SDOs from.
struct ObjectDictionary {
    enum Access {
        case readOnly
        case readWrite
        /// PDO mapping and assignment: writable in PRE-OP only, as drives have it.
        case preOperationalWrite
    }

    enum Mappable {
        case no, rx, tx
    }

    struct Entry {
        var data: [UInt8]
        var access: Access
        var mappable: Mappable
        /// Strings have no fixed width: a write of any length replaces them.
        var variableLength = false
    }

    private(set) var entries: [UInt32: Entry] = [:]

    static func key(_ index: UInt16, _ subindex: UInt8) -> UInt32 { UInt32(index) << 8 | UInt32(subindex) }

    mutating func add(_ index: UInt16, _ subindex: UInt8 = 0, _ data: [UInt8], _ access: Access = .readOnly, mappable: Mappable = .no) {
        entries[Self.key(index, subindex)] = Entry(data: data, access: access, mappable: mappable)
    }

    /// A string or a block of bytes of any length (a name, a drive's user memory).
    mutating func addVariable(_ index: UInt16, _ data: [UInt8], _ access: Access = .readOnly) {
        entries[Self.key(index, 0)] = Entry(data: data, access: access, mappable: .no, variableLength: true)
    }

    func entry(_ index: UInt16, _ subindex: UInt8) -> Entry? { entries[Self.key(index, subindex)] }

    func contains(_ index: UInt16) -> Bool { entries[Self.key(index, 0)] != nil }

    func read(_ index: UInt16, _ subindex: UInt8) -> Result<[UInt8], SDOAbortCode> {
        if let entry = entries[Self.key(index, subindex)] { return .success(entry.data) }
        return .failure(contains(index) ? .noSubindex : .noObject)
    }

    /// The little-endian value of a fixed-width entry; 0 when absent.
    func value<T: FixedWidthInteger>(_ index: UInt16, _ subindex: UInt8 = 0, as _: T.Type = T.self) -> T {
        guard let data = entries[Self.key(index, subindex)]?.data, data.count >= T.bitWidth / 8 else { return 0 }
        return data.littleEndian(T.self)
    }

    /// Stores a value the application produced (statusword, position), whatever the access.
    mutating func set<T: FixedWidthInteger>(_ index: UInt16, _ subindex: UInt8 = 0, _ value: T) {
        entries[Self.key(index, subindex)]?.data = [UInt8](littleEndian: value)
    }

    /// A write from the master; the abort code when it is refused.
    mutating func write(_ index: UInt16, _ subindex: UInt8, _ data: [UInt8], state: ALState) -> SDOAbortCode? {
        let key = Self.key(index, subindex)
        guard let entry = entries[key] else { return contains(index) ? .noSubindex : .noObject }
        switch entry.access {
        case .readOnly: return .readOnly
        case .preOperationalWrite where state != .preOperational: return .deviceState
        default: break
        }
        guard entry.variableLength || data.count == entry.data.count else { return .lengthMismatch }
        entries[key]?.data = data
        return nil
    }

    /// The PDOs assigned to a sync manager (0x1C12 outputs, 0x1C13 inputs) with their entries.
    func assignedPDOs(_ assignment: UInt16) -> [(pdo: UInt16, entries: [PDOEntry])] {
        let count = Int(value(assignment, 0, as: UInt8.self))
        return (0..<count).map { slot in
            let pdo = value(assignment, UInt8(slot + 1), as: UInt16.self)
            let entryCount = Int(value(pdo, 0, as: UInt8.self))
            return (pdo, (0..<entryCount).map { PDOEntry(packed: value(pdo, UInt8($0 + 1), as: UInt32.self)) })
        }
    }

    var mapping: PDOMapping { PDOMapping(outputs: assignedPDOs(0x1C12), inputs: assignedPDOs(0x1C13)) }

    /// Why a PDO's entries cannot be mapped, checked when the master enables the PDO (writes
    /// its subindex 0): every entry must exist, be mappable that way and have its width; at
    /// most `maxBytes` in all.
    func checkMapping(pdo: UInt16, count: Int, maxBytes: Int) -> SDOAbortCode? {
        let want: Mappable = pdo < 0x1A00 ? .rx : .tx
        var bits = 0
        for slot in 0..<count {
            let entry = PDOEntry(packed: value(pdo, UInt8(slot + 1), as: UInt32.self))
            bits += Int(entry.bits)
            // Padding (objects 0x0000–0x0007, the data types) maps any width.
            if entry.index <= 0x0007 { continue }
            guard let target = self.entry(entry.index, entry.subindex) else { return .noObject }
            guard target.mappable == want, target.data.count * 8 == Int(entry.bits) else { return .notMappable }
        }
        return bits > maxBytes * 8 ? .mappingTooLong : nil
    }
}
