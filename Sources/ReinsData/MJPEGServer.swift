import Foundation
import ReinsCore
import Synchronization

/// Serves camera frames as MJPEG over HTTP on 127.0.0.1, one path per camera
/// (`http://127.0.0.1:PORT/<camera>.mjpg`), so a robot process opens a simulated camera with
/// OpenCV exactly as it opens a networked one. Each client gets the latest frame at `fps`.
public final class MJPEGServer: @unchecked Sendable {
    public let port: Int
    public let fps: Double
    private let listener: Int32
    private let frames: Lock<[String: [UInt8]]>
    private let running = Atomic<Bool>(true)
    private let clients = Atomic<Int>(0)

    /// Listens on 127.0.0.1:`port` (0 picks a free port) for the given camera names.
    public init(cameras: [String], port: Int = 0, fps: Double = 30) throws(DataError) {
        self.fps = fps
        frames = Lock(Dictionary(uniqueKeysWithValues: cameras.map { ($0, [UInt8]()) }))
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw .stream(address: "127.0.0.1:\(port)", reason: String(cString: strerror(errno))) }
        var yes: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socket, 8) == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw .stream(address: "127.0.0.1:\(port)", reason: "cannot listen: \(reason)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        listener = socket
        let thread = Thread { [self] in acceptClients() }
        thread.name = "reins mjpeg"
        thread.start()
    }

    deinit { stop() }

    public func url(for camera: String) -> String { "http://127.0.0.1:\(port)/\(camera).mjpg" }

    /// Replaces a camera's latest frame (JPEG bytes).
    public func publish(_ camera: String, jpeg: [UInt8]) {
        frames.withLock { $0[camera] = jpeg }
    }

    /// Clients connected now.
    public var clientCount: Int { clients.load(ordering: .relaxed) }

    /// Stops accepting; connected clients are dropped within a frame period.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptClients() {
        while running.load(ordering: .acquiring) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            let thread = Thread { [self] in serve(client) }
            thread.name = "reins mjpeg client"
            thread.start()
        }
    }

    private func serve(_ client: Int32) {
        clients.add(1, ordering: .relaxed)
        defer {
            clients.subtract(1, ordering: .relaxed)
            close(client)
        }
        guard let path = requestPath(client) else { return }
        let camera = String(path.dropFirst().prefix { $0 != "." && $0 != "?" })
        guard frames.withLock({ $0[camera] != nil }) else {
            let cameras = frames.withLock { $0.keys.sorted().map { "/\($0).mjpg" }.joined(separator: ", ") }
            send(client, "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno camera at \(path); cameras: \(cameras)\r\n")
            return
        }
        guard send(client, "HTTP/1.0 200 OK\r\nCache-Control: no-cache\r\nConnection: close\r\n"
                   + "Content-Type: multipart/x-mixed-replace; boundary=reinsframe\r\n\r\n") else { return }
        let period = UInt32(1_000_000 / max(fps, 1))
        while running.load(ordering: .acquiring) {
            let jpeg = frames.withLock { $0[camera] ?? [] }
            if !jpeg.isEmpty {
                let header = "--reinsframe\r\nContent-Type: image/jpeg\r\nContent-Length: \(jpeg.count)\r\n\r\n"
                guard send(client, header), send(client, jpeg), send(client, "\r\n") else { return }
            }
            usleep(period)
        }
    }

    /// The path of an HTTP GET request, from its first line.
    private func requestPath(_ client: Int32) -> String? {
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1024)
        while request.count < 16_384 {
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            request += buffer[0..<count]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { break }
        }
        let firstLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        guard firstLine.count >= 2, firstLine[0] == "GET" else { return nil }
        return String(firstLine[1])
    }

    @discardableResult
    private func send(_ client: Int32, _ text: String) -> Bool { send(client, Array(text.utf8)) }

    /// Sends everything, with MSG_NOSIGNAL so a client that hung up is an error, not a SIGPIPE.
    private func send(_ client: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { return false }
            sent += result
        }
        return true
    }
}
