import CRawEthernet
import Glibc

/// Carries EtherCAT frames: raw Ethernet on an interface, or UDP datagrams to a host and port.
///
/// Owned by one thread at a time (the master's or the emulator's); not thread-safe.
public protocol EtherCATTransport: AnyObject {
    /// Bytes the transport puts in front of the EtherCAT header (14 for Ethernet, 0 for UDP).
    var headerRoom: Int { get }
    /// Where frames go, for messages: `eth0`, `udp 127.0.0.1:34980`.
    var location: String { get }
    /// Sends `frame`, filling its first `headerRoom` bytes. Realtime: allocates nothing.
    func send(_ frame: UnsafeMutableRawBufferPointer) throws(EtherCATError)
    /// Waits until `deadline` for one frame and copies it whole (header room included) into
    /// `buffer`; returns its length, or nil when none came in time. Realtime: allocates nothing.
    func receive(into buffer: UnsafeMutableRawBufferPointer, until deadline: ContinuousClock.Instant) throws(EtherCATError) -> Int?
    func close()
}

/// Where a master or an emulator meets the bus, as the command line names it.
public enum EtherCATEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// A network interface, in a network namespace (`ip netns`) when one is named.
    case interface(String, namespace: String? = nil)
    case udp(host: String, port: UInt16)

    /// `HOST:PORT`, `HOST` (port 34980) or `:PORT` (127.0.0.1).
    public static func udp(_ text: String) -> EtherCATEndpoint? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let host = parts[0].isEmpty ? "127.0.0.1" : String(parts[0])
        guard parts.count == 2 else { return .udp(host: host, port: EtherCATFrame.udpPort) }
        guard let port = UInt16(parts[1]) else { return nil }
        return .udp(host: host, port: port)
    }

    public var description: String {
        switch self {
        case .interface(let name, let namespace): namespace.map { "\(name) (netns \($0))" } ?? name
        case .udp(let host, let port): "udp \(host):\(port)"
        }
    }

    /// A master's transport: frames go out to the bus and come back.
    public func openMaster() throws(EtherCATError) -> any EtherCATTransport {
        switch self {
        case .interface(let name, let namespace): try RawEthernetTransport(interface: name, namespace: namespace)
        case .udp(let host, let port): try UDPTransport(connectingTo: host, port: port)
        }
    }

    /// An emulated segment's transport: frames come in, are processed and go back where they came from.
    public func openSegment() throws(EtherCATError) -> any EtherCATTransport {
        switch self {
        case .interface(let name, let namespace): try RawEthernetTransport(interface: name, namespace: namespace, slaveSide: true)
        case .udp(let host, let port): try UDPTransport(listeningOn: host, port: port)
        }
    }
}

/// Waits until `fd` is readable or `deadline` passes, with nanosecond timeouts (ppoll), not
/// the tick-rounded ones `SO_RCVTIMEO` gives. False on timeout.
func waitReadable(_ fd: Int32, until deadline: ContinuousClock.Instant, location: String) throws(EtherCATError) -> Bool {
    let clock = ContinuousClock()
    while true {
        let remaining = clock.now.duration(to: deadline)
        if remaining <= .zero { return false }
        let (seconds, attoseconds) = remaining.components
        let result = reins_wait_readable(fd, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if result > 0 { return true }
        if result < 0 && result != -EINTR { throw .io(location: location, operation: "poll", reason: errnoText(-result)) }
    }
}

/// EtherCAT over raw Ethernet (EtherType 0x88A4) on a named interface, through an AF_PACKET
/// socket. Needs root or CAP_NET_RAW.
///
/// Frames go out broadcast from the interface's address with bit 1 of its first byte clear.
/// Slaves send them back with that bit set, as an ESC does on its way back through port 0: the
/// master takes only marked frames with its address, the slave side only unmarked ones.
public final class RawEthernetTransport: EtherCATTransport {
    public let interface: String
    public let headerRoom = EtherCATFrame.ethernetHeaderSize
    public var location: String { interface }
    private var fd: Int32
    private let mac: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)
    /// The emulated slaves' end: keep the source address's mark when sending back.
    private let slaveSide: Bool

    /// The interface `interface`, in the network namespace `namespace` (as `ip netns` names
    /// it) when given.
    public init(interface: String, namespace: String? = nil, slaveSide: Bool = false) throws(EtherCATError) {
        self.interface = interface
        self.slaveSide = slaveSide
        var address = [UInt8](repeating: 0, count: 6)
        let result = namespace.map { reins_packet_open_in_namespace("/var/run/netns/\($0)", interface, EtherCATFrame.etherType, &address) }
            ?? reins_packet_open(interface, EtherCATFrame.etherType, &address)
        guard result >= 0 else {
            let place = namespace.map { "\(interface) in network namespace \($0)" } ?? interface
            let reason = result == -ENODEV ? "no such network interface" : errnoText(-result)
            throw .openFailed(location: place, reason: reason)
        }
        fd = result
        mac = (address[0], address[1], address[2], address[3], address[4], address[5])
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    public func send(_ frame: UnsafeMutableRawBufferPointer) throws(EtherCATError) {
        if !slaveSide {
            for byte in 0..<6 { frame[byte] = 0xFF }
            frame[6] = mac.0 & ~0x02; frame[7] = mac.1; frame[8] = mac.2; frame[9] = mac.3; frame[10] = mac.4; frame[11] = mac.5
            frame[12] = UInt8(EtherCATFrame.etherType >> 8)
            frame[13] = UInt8(EtherCATFrame.etherType & 0xFF)
        } else {
            frame[6] |= 0x02
        }
        let sent = Glibc.send(fd, frame.baseAddress, frame.count, 0)
        guard sent == frame.count else {
            throw .io(location: interface, operation: "send", reason: sent < 0 ? errnoText(errno) : "sent \(sent) of \(frame.count) bytes")
        }
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer, until deadline: ContinuousClock.Instant) throws(EtherCATError) -> Int? {
        while true {
            let count = reins_packet_receive(fd, buffer.baseAddress, buffer.count)
            if count == -Int(EAGAIN) {
                guard try waitReadable(fd, until: deadline, location: interface) else { return nil }
                continue
            }
            if count < 0 {
                if count == -Int(EINTR) { continue }
                throw .io(location: interface, operation: "receive", reason: errnoText(Int32(-count)))
            }
            guard count >= EtherCATFrame.ethernetHeaderSize + EtherCATFrame.headerSize,
                  buffer[12] == UInt8(EtherCATFrame.etherType >> 8), buffer[13] == UInt8(EtherCATFrame.etherType & 0xFF)
            else { continue }
            // The master takes frames slaves sent back (its address, marked); slaves take unmarked ones.
            let marked = buffer[6] & 0x02 != 0
            if slaveSide {
                if marked { continue }
            } else if !marked || buffer[6] & ~0x02 != mac.0 & ~0x02 || buffer[7] != mac.1 || buffer[8] != mac.2 || buffer[9] != mac.3
                        || buffer[10] != mac.4 || buffer[11] != mac.5 {
                continue
            }
            return count
        }
    }
}

/// EtherCAT over UDP (port 34980 by default): the EtherCAT header and datagrams are the UDP
/// payload. A master connects to a host and port; an emulated segment listens on one and
/// answers whoever sent the last frame.
public final class UDPTransport: EtherCATTransport {
    public let headerRoom = 0
    public let location: String
    private var fd: Int32
    private var peer = sockaddr_in()
    private var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
    private let listening: Bool
    /// The port actually bound (a segment asked for port 0 gets one from the system).
    public private(set) var boundPort: UInt16 = 0

    public init(connectingTo host: String, port: UInt16) throws(EtherCATError) {
        location = "udp \(host):\(port)"
        listening = false
        var address = try Self.resolve(host, port: port, location: location)
        let socket = try Self.socket(location: location)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let reason = errnoText(errno)
            Glibc.close(socket)
            throw .openFailed(location: location, reason: reason)
        }
        fd = socket
    }

    public init(listeningOn host: String, port: UInt16) throws(EtherCATError) {
        listening = true
        var address = try Self.resolve(host, port: port, location: "udp \(host):\(port)")
        let socket = try Self.socket(location: "udp \(host):\(port)")
        var one: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let reason = errnoText(errno)
            Glibc.close(socket)
            throw .openFailed(location: "udp \(host):\(port)", reason: reason)
        }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        fd = socket
        boundPort = UInt16(bigEndian: bound.sin_port)
        location = "udp \(host):\(boundPort)"
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    private static func socket(location: String) throws(EtherCATError) -> Int32 {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .openFailed(location: location, reason: errnoText(errno)) }
        return fd
    }

    private static func resolve(_ host: String, port: UInt16, location: String) throws(EtherCATError) -> sockaddr_in {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        guard status == 0, let first = result, let found = first.pointee.ai_addr else {
            throw .openFailed(location: location, reason: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        var address = found.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
        address.sin_port = port.bigEndian
        return address
    }

    public func send(_ frame: UnsafeMutableRawBufferPointer) throws(EtherCATError) {
        let sent: Int
        if listening {
            sent = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, frame.baseAddress, frame.count, 0, $0, peerLength) }
            }
        } else {
            sent = Glibc.send(fd, frame.baseAddress, frame.count, 0)
        }
        guard sent == frame.count else {
            throw .io(location: location, operation: "send", reason: sent < 0 ? errnoText(errno) : "sent \(sent) of \(frame.count) bytes")
        }
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer, until deadline: ContinuousClock.Instant) throws(EtherCATError) -> Int? {
        while true {
            var from = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length) }
            }
            if count >= 0 {
                if listening {
                    peer = from
                    peerLength = length
                }
                return count
            }
            switch errno {
            case EAGAIN:
                guard try waitReadable(fd, until: deadline, location: location) else { return nil }
            case EINTR:
                continue
            case ECONNREFUSED:
                // Nothing listens at the other end (yet): as silent as a cut cable.
                guard try waitReadable(fd, until: deadline, location: location) else { return nil }
            default:
                throw .io(location: location, operation: "receive", reason: errnoText(errno))
            }
        }
    }
}
