/// Dynamixel Protocol 2.0's CRC-16: polynomial 0x8005, initial value 0, no reflection, no final
/// XOR (CRC-16/BUYPASS). Computed over the stuffed bytes from the header to the last parameter.
public enum DynamixelCRC {
    static let table: [UInt16] = (0..<256).map { byte in
        var crc = UInt16(byte) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x8005 : crc << 1 }
        return crc
    }

    /// Continues `crc` over `bytes`. Realtime: allocates nothing.
    public static func update(_ crc: UInt16, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt16 {
        var crc = crc
        table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = (crc << 8) ^ table[Int(UInt8(crc >> 8) ^ byte)] }
        }
        return crc
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        bytes.withUnsafeBufferPointer { update(0, $0) }
    }
}
