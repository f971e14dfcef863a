import Foundation
import ReinsData
import Testing

@Suite("MJPEG camera streams")
struct MJPEGTests {
    /// A 64×48 test card: horizontal and vertical ramps and a square.
    static let card: Image = {
        var pixels = [UInt8](repeating: 0, count: 64 * 48 * 3)
        for y in 0..<48 {
            for x in 0..<64 {
                let index = (y * 64 + x) * 3
                let square = (20..<40).contains(x) && (10..<30).contains(y)
                (pixels[index], pixels[index + 1], pixels[index + 2]) = (UInt8(x * 4), UInt8(y * 5), square ? 255 : 40)
            }
        }
        return Image(width: 64, height: 48, channels: 3, pixels: pixels)
    }()

    @Test("OpenCV opens the stream by its URL and reads the published frame")
    func openCVCapture() throws {
        let server = try MJPEGServer(cameras: ["front", "wrist"], fps: 30)
        defer { server.stop() }
        server.publish("front", jpeg: try Self.card.jpeg(quality: 95))
        #expect(server.url(for: "front") == "http://127.0.0.1:\(server.port)/front.mjpg")
        let reader = try VideoReader(source: server.url(for: "front"))
        #expect(reader.width == 64 && reader.height == 48)
        var rgb = [UInt8](repeating: 0, count: 64 * 48 * 3)
        #expect(try reader.read(into: &rgb))
        #expect(Image(width: 64, height: 48, channels: 3, pixels: rgb).psnr(against: Self.card) > 30)
        // The next frame arrives too: a stream, not one picture.
        #expect(try reader.read(into: &rgb))
    }

    @Test("an unknown path gets a 404 that lists the cameras")
    func unknownCamera() throws {
        let server = try MJPEGServer(cameras: ["front"])
        defer { server.stop() }
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        let request = Array("GET /top.mjpg HTTP/1.0\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(socket, &buffer, buffer.count, Int32(MSG_WAITALL))
        let reply = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
        #expect(reply.hasPrefix("HTTP/1.0 404") && reply.contains("cameras: /front.mjpg"))
    }
}
