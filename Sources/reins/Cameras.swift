import ArgumentParser
import Foundation
import ReinsCore
import ReinsData
import ReinsHardware

struct Cameras: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List video devices with their capture formats, or probe a camera source; `reins cameras crop` chooses a crop.",
        discussion: """
        Lists the /dev/video* nodes with each capture format's fourcc, frame sizes and rates, as the driver reports them. A webcam usually has a second node that carries only metadata; it is listed as not a capture node. An empty list is a valid answer on a machine with no cameras.

        --probe opens a source the way a robot does (a device index or path, a video file, or an http/rtsp URL), crops then resizes as asked, waits for a frame, and prints the source's size and rate, how long the first frame took and the rate frames arrive at; --out saves the frame.

        Example:
          reins cameras
          reins cameras --json
          reins cameras --probe 0 --out front.png
          reins cameras --probe /dev/video2 --crop 80,0,480,480 --size 128x128 --out wrist.png
          reins cameras --probe http://127.0.0.1:8081/front.mjpg --json
          reins cameras crop --robot so101 --camera wrist
        """,
        subcommands: [Crop.self])

    @Flag(help: "One JSON object per device (or one for --probe).") var json = false
    @Option(help: "Open this source and wait for a frame: a device index or path, a video file, or a URL.") var probe: String?
    @Option(help: "With --probe: crop x,y,width,height of the source frame before resizing.", transform: parseCrop) var crop: PixelRect?
    @Option(help: "With --probe: the output size WxH (default: the crop's size, else the source's).", transform: parseSize) var size: PixelSize?
    @Option(help: "With --probe of a device: the size WxH to ask it for (default: 640x480).", transform: parseSize) var request = PixelSize(width: 640, height: 480)
    @Option(help: "With --probe of a device: the frame rate to ask it for.") var fps = 30.0
    @Option(help: "With --probe: seconds to wait for the first frame.") var timeout = 10.0
    @Option(help: "With --probe: write the frame here (PNG, or any format the extension names).") var out: String?

    struct ProbeOutput: Encodable {
        var source: String
        var sourceWidth: Int
        var sourceHeight: Int
        var sourceFps: Double
        var width: Int
        var height: Int
        var crop: PixelRect?
        var firstFrameMs: Double
        var deliveredFps: Double?
        var frameAgeMs: Double
        var out: String?
    }

    func validate() throws {
        guard probe != nil || (crop == nil && size == nil && out == nil) else {
            throw ValidationError("--crop, --size and --out go with --probe SOURCE")
        }
        guard fps > 0, timeout > 0 else { throw ValidationError("--fps and --timeout must be positive") }
    }

    func run() throws {
        if let probe {
            try self.probe(probe)
        } else {
            list()
        }
    }

    private func list() {
        let devices = VideoDevices.list()
        for device in devices {
            if json {
                JSONLines.print(device)
                continue
            }
            let location = [device.driver, device.busInfo].filter { !$0.isEmpty }.joined(separator: " ")
            print("\(device.path)  \(device.name.isEmpty ? "(no name)" : device.name)\(location.isEmpty ? "" : "  \(location)")")
            if let problem = device.problem {
                print("  \(problem)")
            } else if !device.capture {
                print("  not a capture node (metadata or output only)")
            }
            for format in device.formats {
                print("  \(column(format.fourcc, 5))\(format.description)\(format.compressed ? " (compressed)" : "")"
                      + (format.continuousSizes ? ", any size from the first to the last" : ""))
                for size in format.sizes {
                    let rates = size.fps.map { String(format: "%g", $0) }.joined(separator: size.continuousFPS ? " to " : ", ")
                    print("    \(column("\(size.width)x\(size.height)", 11))\(rates.isEmpty ? "rate not reported" : "\(rates) fps")")
                }
            }
        }
        if devices.isEmpty && !json { print("no video devices found") }
    }

    private func probe(_ source: String) throws {
        let spec = CameraSpec(name: "probe", source: source, width: request.width, height: request.height, fps: fps, crop: crop)
        var started = FrameStamp.now()
        var camera = try OpenCVCamera(spec: spec, width: size?.width, height: size?.height)
        try camera.start()
        var rgb: [UInt8] = []
        var first = try waitForFrame(camera, into: &rgb, since: started)
        // Without --size or --crop the frame keeps the source's size, known only once it is open.
        if size == nil, crop == nil, let format = camera.sourceFormat, (format.width, format.height) != (camera.width, camera.height) {
            camera.stop()
            started = FrameStamp.now()
            camera = try OpenCVCamera(spec: spec, width: format.width, height: format.height)
            try camera.start()
            first = try waitForFrame(camera, into: &rgb, since: started)
        }
        let firstFrameMs = Double(first.timestampNs - started) / 1e6
        let deliveredFps = measureRate(camera, from: first, into: &rgb)
        let stamp = try camera.read(into: &rgb, maxAge: .seconds(3600))
        let frameAgeMs = Double(FrameStamp.now() - stamp.timestampNs) / 1e6
        camera.stop()
        if let out {
            try Image(width: camera.width, height: camera.height, channels: 3, pixels: rgb).write(to: out)
        }
        let format = camera.sourceFormat
        let output = ProbeOutput(source: source, sourceWidth: format?.width ?? 0, sourceHeight: format?.height ?? 0, sourceFps: format?.fps ?? 0,
                                 width: camera.width, height: camera.height, crop: crop, firstFrameMs: firstFrameMs,
                                 deliveredFps: deliveredFps, frameAgeMs: frameAgeMs, out: out)
        if json {
            JSONLines.print(output)
            return
        }
        let cropText = crop.map { " cropped to \($0.width)x\($0.height) at (\($0.x), \($0.y))," } ?? ""
        print("\(source): \(output.sourceWidth)x\(output.sourceHeight) at \(String(format: "%g", output.sourceFps)) fps announced,"
              + "\(cropText) out \(output.width)x\(output.height)")
        print("first frame after \(String(format: "%.0f", firstFrameMs)) ms; "
              + (deliveredFps.map { "frames arrive at \(String(format: "%.1f", $0)) fps; " } ?? "only one frame arrived; ")
              + "a frame is \(String(format: "%.1f", frameAgeMs)) ms old when read")
        if let out { print("wrote \(out)") }
    }

    /// Polls until the camera has a frame; its errors end the wait at once, since the capture
    /// thread has already failed to open or read the source.
    private func waitForFrame(_ camera: OpenCVCamera, into rgb: inout [UInt8], since started: UInt64) throws -> FrameStamp {
        while true {
            do {
                return try camera.read(into: &rgb, maxAge: .seconds(3600))
            } catch {
                guard case .noFrame = error else { throw error }
                guard Double(FrameStamp.now() - started) / 1e9 < timeout else {
                    throw CommandError("\(camera.spec.source): no frame within \(String(format: "%g", timeout)) s; check the source sends frames")
                }
                usleep(5000)
            }
        }
    }

    /// Frames per second over the next second (or 30 frames), from capture timestamps; nil when no
    /// second frame arrives.
    private func measureRate(_ camera: OpenCVCamera, from first: FrameStamp, into rgb: inout [UInt8]) -> Double? {
        var last = first
        let deadline = FrameStamp.now() + 1_000_000_000
        while FrameStamp.now() < deadline, last.sequence - first.sequence < 30 {
            usleep(2000)
            if let stamp = try? camera.read(into: &rgb, maxAge: .seconds(3600)) { last = stamp }
        }
        guard last.sequence > first.sequence else { return nil }
        return Double(last.sequence - first.sequence) / (Double(last.timestampNs - first.timestampNs) / 1e9)
    }
}

/// A frame size given as WxH.
struct PixelSize: Equatable {
    var width: Int
    var height: Int
}

private func parseSize(_ text: String) throws -> PixelSize {
    let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
    guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else { throw ValidationError("a size is WxH in pixels, like 128x128, not \(text)") }
    return PixelSize(width: parts[0], height: parts[1])
}

func parseCrop(_ text: String) throws -> PixelRect {
    let parts = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 4, parts[0] >= 0, parts[1] >= 0, parts[2] > 0, parts[3] > 0 else {
        throw ValidationError("a crop is x,y,width,height in pixels, like 80,0,480,480, not \(text)")
    }
    return PixelRect(x: parts[0], y: parts[1], width: parts[2], height: parts[3])
}
