import Foundation
import ReinsCore
import ReinsData
import ReinsHardware
import ReinsSim
import Synchronization
import Testing

/// The twin's frames as rendered, before JPEG: the last second of them, newest last.
private final class RenderedFrames: Sendable {
    let frames = Mutex<[[UInt8]]>([])

    func append(_ rgb: [UInt8]) {
        frames.withLock { frames in
            frames.append(rgb)
            if frames.count > 30 { frames.removeFirst() }
        }
    }
}

@Suite("CameraStream: the twin's cameras over MJPEG, read by OpenCVCamera", .serialized)
struct CameraStreamTests {
    /// Mean absolute difference per byte of two images of one size.
    static func meanDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
        Double(zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }) / Double(a.count)
    }

    /// A solid card of `colour`, as the JPEG a server publishes.
    static func card(_ colour: [UInt8], width: Int = 64, height: Int = 48) throws -> [UInt8] {
        try Image(width: width, height: height, channels: 3, pixels: Array((0..<width * height).map { _ in colour }.joined())).jpeg(quality: 95)
    }

    /// Polls `condition` every 10 ms for up to `seconds`; whether it came true.
    static func wait(seconds: Double, for condition: () -> Bool) -> Bool {
        for _ in 0..<Int(seconds * 100) {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    @Test("the twin's front camera arrives cropped and resized, matching the same crop of a rendered frame")
    func twinStream() throws {
        let robot = try catalog.robot("omx")
        let front = try #require(robot.cameras.first)
        let server = try MJPEGServer(cameras: [front.name], fps: front.fps)
        defer { server.stop() }
        // As `reins bus emulate` does: the twin's renderer thread draws, a sink publishes JPEG.
        let rendered = RenderedFrames()
        let emulator = try ServoBusEmulator(robot: robot, seed: 5)
        emulator.drive(with: try RobotTwin(robot: robot), cameras: CameraFeed { camera, width, height, rgb in
            guard let jpeg = try? Image(width: width, height: height, channels: 3, pixels: rgb).jpeg(quality: 85) else { return }
            rendered.append(rgb)
            server.publish(camera, jpeg: jpeg)
        })
        defer { emulator.stop() }
        try #require(Self.wait(seconds: 30) { rendered.frames.withLock { !$0.isEmpty } }, "the twin rendered no frame")
        #expect((emulator.cameraFrames?.rendered ?? 0) >= 1)

        let spec = CameraSpec(name: front.name, source: server.url(for: front.name), width: front.width, height: front.height,
                              fps: front.fps, crop: PixelRect(x: 80, y: 0, width: 480, height: 480))
        let camera = try OpenCVCamera(spec: spec, width: 128, height: 128)
        try camera.start()
        defer { camera.stop() }
        try #require(Self.wait(seconds: 30) { camera.framesCaptured >= 3 }, "no frames through \(spec.source): \(String(describing: camera.lastError))")
        var rgb: [UInt8] = []
        _ = try camera.read(into: &rgb, maxAge: .seconds(5))
        #expect(rgb.count == 128 * 128 * 3)
        #expect(camera.sourceFormat?.width == front.width && camera.sourceFormat?.height == front.height)

        // The frame streamed is one of those rendered lately: the closest, cropped and resized the
        // same way, differs by JPEG's loss only (the limp arm may be moving between frames).
        var reference: [UInt8] = []
        var closest = Double.infinity
        for frame in rendered.frames.withLock({ $0 }) {
            try spec.cropResize(frame, width: front.width, height: front.height, into: &reference, outWidth: 128, outHeight: 128)
            closest = min(closest, Self.meanDifference(rgb, reference))
        }
        #expect(closest < 4, "mean difference from the closest rendered frame: \(closest)")
        // And it shows a scene, not a flat colour.
        let mean = Double(rgb.reduce(0) { $0 + Int($1) }) / Double(rgb.count)
        let spread = (rgb.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(rgb.count)).squareRoot()
        #expect(spread > 10, "pixel standard deviation \(spread)")
    }

    @Test("when the stream stops reads go stale, and a server back on the port is reconnected to")
    func reconnect() throws {
        let first = try MJPEGServer(cameras: ["cam"], fps: 30)
        let port = first.port
        first.publish("cam", jpeg: try Self.card([200, 20, 20]))
        let camera = try OpenCVCamera(spec: CameraSpec(name: "cam", source: first.url(for: "cam"), width: 64, height: 48, fps: 30),
                                      width: 32, height: 24)
        try camera.start()
        defer { camera.stop() }
        var rgb: [UInt8] = []
        try #require(Self.wait(seconds: 20) { (try? camera.read(into: &rgb, maxAge: .seconds(1))) != nil })
        let before = try camera.read(into: &rgb, maxAge: .seconds(1))
        #expect(rgb[0] > 150 && rgb[1] < 60, "red first: \(rgb[0..<3])")

        first.stop()
        var staleError: CameraError?
        #expect(Self.wait(seconds: 10) {
            do {
                _ = try camera.read(into: &rgb, maxAge: .milliseconds(300))
                return false
            } catch {
                staleError = error as? CameraError
                return true
            }
        })
        guard case .stale(camera: "cam", _) = staleError else {
            Issue.record("expected stale, got \(String(describing: staleError))")
            return
        }
        #expect(camera.lastError != nil, "the stream's end is recorded")

        let second = try MJPEGServer(cameras: ["cam"], port: port, fps: 30)
        defer { second.stop() }
        second.publish("cam", jpeg: try Self.card([20, 200, 20]))
        var after: FrameStamp?
        #expect(Self.wait(seconds: 20) {
            after = try? camera.read(into: &rgb, maxAge: .milliseconds(300))
            return after != nil && rgb[1] > 150
        }, "no green frame after the restart; last error: \(String(describing: camera.lastError))")
        #expect(camera.reconnects >= 1)
        #expect((after?.sequence ?? 0) > before.sequence)
    }
}
