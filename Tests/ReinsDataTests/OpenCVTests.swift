import Foundation
import ReinsData
import Testing

/// A frame with a smooth gradient and a bright square that moves with `index`.
func syntheticFrame(width: Int, height: Int, index: Int) -> [UInt8] {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let offset = (y * width + x) * 3
            let inSquare = (x - index * 4 - 10).magnitude < 12 && (y - height / 2).magnitude < 12
            pixels[offset] = inSquare ? 240 : UInt8(x * 255 / width)
            pixels[offset + 1] = inSquare ? 230 : UInt8(y * 255 / height)
            pixels[offset + 2] = inSquare ? 40 : 128
        }
    }
    return pixels
}

@Suite("OpenCV")
struct OpenCVTests {
    @Test("a PNG round-trips exactly, in colour and in gray")
    func png() throws {
        let path = scratchPath("frame.png")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let image = Image(width: 80, height: 60, channels: 3, pixels: syntheticFrame(width: 80, height: 60, index: 3))
        try image.write(to: path)
        let back = try Image(contentsOf: path)
        #expect(back == image)
        #expect(back.psnr(against: image) == .infinity)

        let gray = Image(width: 16, height: 8, channels: 1, pixels: (0..<128).map { UInt8($0 * 2) })
        try gray.write(to: path)
        #expect(try Image(contentsOf: path, gray: true) == gray)
        let encoded = try #require(FileManager.default.contents(atPath: path))
        #expect(try Image(encoded: Array(encoded), gray: true) == gray)
    }

    @Test("videos round-trip with their size and content", arguments: [("MJPG", "avi"), ("mp4v", "mp4")])
    func video(codec: String, container: String) throws {
        let path = scratchPath("clip.\(container)")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let width = 128, height = 96, count = 12
        let frames = (0..<count).map { syntheticFrame(width: width, height: height, index: $0) }
        let writer = try VideoWriter(path: path, codec: codec, fps: 10, width: width, height: height)
        for frame in frames { try writer.write(frame) }
        writer.close()

        let reader = try VideoReader(source: path)
        #expect(reader.width == width)
        #expect(reader.height == height)
        #expect(abs(reader.fps - 10) < 0.01)
        var decoded: [[UInt8]] = []
        var buffer: [UInt8] = []
        while try reader.read(into: &buffer) { decoded.append(buffer) }
        #expect(decoded.count == count)
        for (index, (original, back)) in zip(frames, decoded).enumerated() {
            let psnr = Image(width: width, height: height, channels: 3, pixels: back)
                .psnr(against: Image(width: width, height: height, channels: 3, pixels: original))
            #expect(psnr > 28, "frame \(index): PSNR \(psnr) dB")
        }
        // Frames stay in order: each decoded frame is closest to its own original.
        let third = Image(width: width, height: height, channels: 3, pixels: decoded[3])
        #expect(third.psnr(against: Image(width: width, height: height, channels: 3, pixels: frames[3]))
                > third.psnr(against: Image(width: width, height: height, channels: 3, pixels: frames[8])))
    }

    @Test("OpenCV errors come back as messages, not crashes")
    func errors() throws {
        do {
            try Image(width: 4, height: 4, channels: 3, pixels: [UInt8](repeating: 0, count: 48)).write(to: scratchPath("x.unknownext"))
            Issue.record("an unknown extension was written")
        } catch {
            // OpenCV threw a cv::Exception; the shim caught it and handed its message back.
            #expect(error.description.contains("x.unknownext"))
            #expect(error.description.contains("could not find a writer for the specified extension"))
        }
        #expect(throws: DataError.self) { _ = try Image(contentsOf: "/no/such/image.png") }
        #expect(throws: DataError.self) { _ = try VideoReader(source: "/no/such/video.avi") }
        #expect(throws: DataError.self) { _ = try VideoWriter(path: scratchPath("bad.avi"), codec: "TOOLONG", fps: 10, width: 8, height: 8) }
        let writer = try VideoWriter(path: scratchPath("size.avi"), codec: "MJPG", fps: 10, width: 8, height: 8)
        #expect(throws: DataError.frameSize(path: scratchPath("size.avi"), expected: 192, got: 3)) { try writer.write([1, 2, 3]) }
        writer.close()
        try? FileManager.default.removeItem(atPath: scratchPath("size.avi"))
    }

    @Test("this OpenCV has the FFmpeg video backend")
    func backends() {
        #expect(OpenCV.version.hasPrefix("4."))
        #expect(OpenCV.videoBackends.contains("FFMPEG"))
    }
}
