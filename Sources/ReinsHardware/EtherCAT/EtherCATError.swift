/// An EtherCAT bus operation that failed; each case says what to check.
public enum EtherCATError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The socket could not be opened: check the interface name (`ip link`), that it is up, and
    /// that Reins runs as root or with CAP_NET_RAW; for UDP, the host and port.
    case openFailed(location: String, reason: String)
    /// Sending or receiving failed at the socket.
    case io(location: String, operation: String, reason: String)
    /// No reply to a frame in time: check the cable, the slaves' power and the interface.
    case timeout(operation: String, after: Duration)
    /// Fewer slaves answered than expected: one is unpowered, unplugged or not in the state the
    /// datagram needs.
    case workingCounter(operation: String, expected: Int, received: Int)
    /// No slave answered a broadcast read: check the cable and power.
    case noSlaves(location: String)
    /// A slave did not reach a requested state; the AL status code says why.
    case stateChange(slave: String, requested: ALState, reached: ALState, code: ALStatusCode, after: Duration)
    /// A slave refused an SDO transfer with an abort code.
    case sdoAbort(slave: String, index: UInt16, subindex: UInt8, code: SDOAbortCode)
    /// The mailbox exchange went wrong (no reply, a reply that makes no sense).
    case mailbox(slave: String, detail: String)
    /// The slave's SII EEPROM could not be read or decoded.
    case sii(slave: String, detail: String)
    /// The bus does not match what the configuration asks of it.
    case configuration(String)

    public var description: String {
        switch self {
        case .openFailed(let location, let reason) where location.hasPrefix("udp "):
            "\(location): cannot open: \(reason); check the host and port (another program may hold the port)"
        case .openFailed(let location, let reason):
            "\(location): cannot open: \(reason); check the interface name (ip link), that it is up, and run as root or with CAP_NET_RAW"
        case .io(let location, let operation, let reason): "\(location): \(operation) failed: \(reason)"
        case .timeout(let operation, let after):
            "\(operation): no reply within \(after); check the cable, the interface and the slaves' power"
        case .workingCounter(let operation, let expected, let received):
            "\(operation): working counter \(received), expected \(expected); a slave missed the datagram (unpowered, unplugged, or in the wrong state)"
        case .noSlaves(let location): "\(location): no EtherCAT slave answered; check the cable and the slaves' power"
        case .stateChange(let slave, let requested, let reached, let code, let after):
            "\(slave): did not reach \(requested) within \(after), stayed in \(reached): AL status \(code)"
        case .sdoAbort(let slave, let index, let subindex, let code):
            "\(slave): SDO 0x\(String(index, radix: 16, uppercase: true).leftPadded(to: 4)):\(subindex) aborted: \(code)"
        case .mailbox(let slave, let detail): "\(slave): mailbox: \(detail)"
        case .sii(let slave, let detail): "\(slave): SII EEPROM: \(detail)"
        case .configuration(let detail): detail
        }
    }
}
