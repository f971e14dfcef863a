import COpenCV
import Foundation
import ReinsCore
import ReinsHardware
import Testing

@Suite("OpenCVCamera on a generated video file")
struct OpenCVCameraTests {
    /// Top-left, top-right, bottom-left and bottom-right colours of the test video.
    static let quadrants: [[Int]] = [[220, 30, 30], [30, 200, 40], [40, 40, 210], [230, 230, 230]]
    /// 128 × 96, so each 64 × 48 quadrant ends on a 16-pixel JPEG macroblock boundary.
    static let (videoWidth, videoHeight) = (128, 96)

    /// A folder holding an MJPG .avi of `frames` frames of the four quadrants at `fps`.
    struct Video: ~Copyable {
        let folder: URL
        var path: String { folder.appendingPathComponent("quadrants.avi").path }

        init(frames: Int = 12, fps: Double = 30) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-camera-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var rgb = [UInt8](repeating: 0, count: videoWidth * videoHeight * 3)
            for y in 0..<videoHeight {
                for x in 0..<videoWidth {
                    let colour = quadrants[(y < videoHeight / 2 ? 0 : 2) + (x < videoWidth / 2 ? 0 : 1)]
                    for channel in 0..<3 { rgb[(y * videoWidth + x) * 3 + channel] = UInt8(colour[channel]) }
                }
            }
            let writer = try #require(reins_cv_video_writer_open(folder.appendingPathComponent("quadrants.avi").path, "MJPG", fps,
                                                                 Int32(videoWidth), Int32(videoHeight)))
            defer { reins_cv_video_writer_close(writer) }
            for _ in 0..<frames { #expect(reins_cv_video_writer_write(writer, rgb) == 0) }
        }

        deinit { try? FileManager.default.removeItem(at: folder) }
    }

    static func spec(_ source: String, crop: PixelRect? = nil) -> CameraSpec {
        CameraSpec(name: "front", source: source, width: videoWidth, height: videoHeight, fps: 30, crop: crop)
    }

    /// Reads until the camera has a frame (the capture thread opens and decodes asynchronously).
    static func firstFrame(_ camera: OpenCVCamera, into rgb: inout [UInt8]) throws -> FrameStamp {
        for _ in 0..<2000 {
            do {
                return try camera.read(into: &rgb, maxAge: .seconds(3600))
            } catch {
                guard case .noFrame = error else { throw error }
                usleep(5000)
            }
        }
        Issue.record("no frame from \(camera.spec.source) in 10 s")
        throw CameraError.noFrame(camera: camera.name)
    }

    /// The largest difference from `colour` over the pixels of rows `rows` (all columns) of an RGB image `width` wide.
    static func worstDifference(_ rgb: [UInt8], width: Int, rows: Range<Int>, from colour: [Int]) -> Int {
        var worst = 0
        for row in rows {
            for pixel in (row * width)..<((row + 1) * width) {
                for channel in 0..<3 { worst = max(worst, abs(Int(rgb[pixel * 3 + channel]) - colour[channel])) }
            }
        }
        return worst
    }

    @Test("a crop of the top-right quadrant, resized to 32x24, is that quadrant's colour")
    func quadrantCrop() throws {
        let video = try Video()
        let camera = try OpenCVCamera(spec: Self.spec(video.path, crop: PixelRect(x: 64, y: 0, width: 64, height: 48)), width: 32, height: 24)
        try camera.start()
        defer { camera.stop() }
        var rgb: [UInt8] = []
        let stamp = try Self.firstFrame(camera, into: &rgb)
        #expect(stamp.sequence >= 1)
        #expect((camera.width, camera.height) == (32, 24) && rgb.count == 32 * 24 * 3)
        #expect(camera.sourceFormat == OpenCVCamera.SourceFormat(width: 128, height: 96, fps: 30))
        let worst = Self.worstDifference(rgb, width: 32, rows: 0..<24, from: Self.quadrants[1])
        #expect(worst <= 12, "a pixel is \(worst) away from the top-right green")
    }

    @Test("a crop of the left half keeps red above blue, each in its half of the output")
    func halfCrop() throws {
        let video = try Video()
        let camera = try OpenCVCamera(spec: Self.spec(video.path, crop: PixelRect(x: 0, y: 0, width: 64, height: 96)), width: 16, height: 24)
        try camera.start()
        defer { camera.stop() }
        var rgb: [UInt8] = []
        _ = try Self.firstFrame(camera, into: &rgb)
        // Chroma is subsampled and smoothed across the middle edge; the rows next to it may blend.
        #expect(Self.worstDifference(rgb, width: 16, rows: 0..<11, from: Self.quadrants[0]) <= 16)
        #expect(Self.worstDifference(rgb, width: 16, rows: 13..<24, from: Self.quadrants[2]) <= 16)
    }

    @Test("without a crop the whole frame is resized: four quadrants in the four corners")
    func wholeFrame() throws {
        let video = try Video()
        let camera = try OpenCVCamera(spec: Self.spec(video.path), width: 32, height: 24)
        try camera.start()
        defer { camera.stop() }
        var rgb: [UInt8] = []
        _ = try Self.firstFrame(camera, into: &rgb)
        for (index, colour) in Self.quadrants.enumerated() {
            let (x, y) = (index % 2 == 0 ? 4 : 28, index < 2 ? 4 : 20)
            let pixel = (y * 32 + x) * 3
            let difference = (0..<3).map { abs(Int(rgb[pixel + $0]) - colour[$0]) }.max()!
            #expect(difference <= 12, "quadrant \(index) at (\(x), \(y)) is \(difference) away from \(colour)")
        }
    }

    @Test("a file loops at its end without reopening, and the sequence counts every frame")
    func fileLoops() throws {
        let video = try Video(frames: 6)
        let camera = try OpenCVCamera(spec: Self.spec(video.path), width: 16, height: 12)
        try camera.start()
        defer { camera.stop() }
        var rgb: [UInt8] = []
        let first = try Self.firstFrame(camera, into: &rgb)
        for _ in 0..<2000 where camera.framesCaptured < 15 { usleep(5000) }
        let later = try camera.read(into: &rgb, maxAge: .seconds(3600))
        #expect(camera.framesCaptured >= 15, "frames: \(camera.framesCaptured) of a 6-frame file")
        #expect(later.sequence > first.sequence && later.timestampNs > first.timestampNs)
        #expect(camera.reconnects == 0 && camera.lastError == nil)
    }

    @Test("a frame older than the maximum age is stale; a lenient read still gets it")
    func stale() throws {
        let video = try Video()
        let camera = try OpenCVCamera(spec: Self.spec(video.path), width: 16, height: 12)
        try camera.start()
        var rgb: [UInt8] = []
        _ = try Self.firstFrame(camera, into: &rgb)
        camera.stop()
        let last = try camera.read(into: &rgb, maxAge: .seconds(3600))
        usleep(60_000)
        let error = #expect(throws: CameraError.self) { try camera.read(into: &rgb, maxAge: .milliseconds(50)) }
        guard case .stale(let name, let ageMs) = error else {
            Issue.record("expected stale, got \(String(describing: error))")
            return
        }
        #expect(name == "front" && ageMs >= 50)
        #expect(try camera.read(into: &rgb, maxAge: .seconds(3600)) == last)
    }

    @Test("a missing file is unavailable, naming the camera and the source, at start and on read")
    func missingFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-no-such-\(UUID().uuidString).avi").path
        let camera = try OpenCVCamera(spec: Self.spec(path), width: 16, height: 12)
        var rgb: [UInt8] = []
        #expect(throws: CameraError.noFrame(camera: "front")) { try camera.read(into: &rgb, maxAge: .seconds(1)) }
        let error = #expect(throws: CameraError.self) { try camera.start() }
        guard case .unavailable(let name, let source, _) = error else {
            Issue.record("expected unavailable, got \(String(describing: error))")
            return
        }
        #expect(name == "front" && source == path && "\(error!)".contains(path))
        #expect(!camera.isCapturing)
        #expect(throws: camera.lastError!) { try camera.read(into: &rgb, maxAge: .seconds(1)) }
    }

    @Test("a crop outside the source frame is reported, with the frame's size")
    func cropOutsideFrame() throws {
        let video = try Video()
        let camera = try OpenCVCamera(spec: Self.spec(video.path, crop: PixelRect(x: 100, y: 0, width: 64, height: 48)), width: 16, height: 12)
        try camera.start()
        defer { camera.stop() }
        var rgb: [UInt8] = []
        var failure: CameraError?
        for _ in 0..<2000 where failure == nil {
            do {
                _ = try camera.read(into: &rgb, maxAge: .seconds(1))
            } catch {
                if case .noFrame = error { usleep(5000) } else { failure = error }
            }
        }
        guard case .unavailable(_, _, let reason) = failure else {
            Issue.record("expected unavailable, got \(String(describing: failure))")
            return
        }
        #expect(reason.contains("128x96"), "\(reason)")
    }

    @Test("stop ends the capture thread; no frame arrives after it")
    func stopIsClean() throws {
        let video = try Video()
        let camera = try OpenCVCamera(spec: Self.spec(video.path), width: 16, height: 12)
        try camera.start()
        var rgb: [UInt8] = []
        _ = try Self.firstFrame(camera, into: &rgb)
        camera.stop()
        #expect(!camera.isCapturing)
        let frames = camera.framesCaptured
        usleep(100_000)
        #expect(camera.framesCaptured == frames)
        // It starts again, continuing the sequence.
        try camera.start()
        defer { camera.stop() }
        for _ in 0..<2000 where camera.framesCaptured == frames { usleep(5000) }
        #expect(try camera.read(into: &rgb, maxAge: .seconds(3600)).sequence > UInt64(frames))
    }

    @Test("the source kind follows how the source is written", arguments: [
        ("0", OpenCVCamera.SourceKind.device), ("/dev/video2", .device), ("clips/front.avi", .file), ("10fps.mp4", .file),
        ("http://127.0.0.1:8081/front.mjpg", .stream), ("rtsp://camera.local/stream", .stream),
    ])
    func sourceKinds(source: String, kind: OpenCVCamera.SourceKind) {
        #expect(OpenCVCamera.SourceKind(source: source) == kind)
    }

    @Test("a sim: source is refused with a pointer to the twin")
    func simSource() {
        #expect(throws: CameraError.self) { try OpenCVCamera(spec: Self.spec("sim:front")) }
    }
}
