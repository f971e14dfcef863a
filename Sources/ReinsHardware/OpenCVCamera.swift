import COpenCV
import Foundation
import ReinsCore
import Synchronization

/// A camera read through OpenCV: a V4L2 device (`0`, `/dev/video2`), a video file, or a stream URL
/// (http MJPEG, rtsp). A capture thread keeps the latest frame, cropped then resized to the output
/// size, so a reader never waits for the camera. A file is paced at its own frame rate and loops,
/// so a recording can stand in for a camera. When a read fails or the source vanishes, the thread
/// closes it and reopens it with backoff (0.1 s doubling to 2 s), counting the reconnects.
public final class OpenCVCamera: Camera, Sendable {
    /// How a source is opened and paced, from the way it is written.
    public enum SourceKind: Sendable, Equatable {
        /// A V4L2 device by index (`0`) or node (`/dev/video2`), asked for the spec's size and rate.
        case device
        /// A video file, paced at its frame rate and looped at its end.
        case file
        /// A URL (`http://host/front.mjpg`, `rtsp://...`), read as fast as it sends.
        case stream

        public init(source: String) {
            if source.hasPrefix("/dev/") || (!source.isEmpty && source.allSatisfy { $0.isASCII && $0.isNumber }) {
                self = .device
            } else if source.contains("://") {
                self = .stream
            } else {
                self = .file
            }
        }
    }

    /// What the source delivers, before crop and resize.
    public struct SourceFormat: Sendable, Equatable {
        public var width: Int
        public var height: Int
        /// The rate the device or container announces (0 when it does not say).
        public var fps: Double

        public init(width: Int, height: Int, fps: Double) {
            self.width = width
            self.height = height
            self.fps = fps
        }
    }

    /// Reopening waits this long after a failure, doubling up to `maxBackoff`.
    static let firstBackoff: Duration = .milliseconds(100)
    static let maxBackoff: Duration = .seconds(2)
    /// A stream that does not connect, or stops sending, fails after these and is reopened,
    /// instead of holding the capture thread for OpenCV's default 30 s.
    static let streamOpenTimeoutMs: Int32 = 5000
    static let streamReadTimeoutMs: Int32 = 2000
    /// How long `stop` waits for the capture thread.
    static let joinTimeout: Duration = .milliseconds(500)

    public let spec: CameraSpec
    public let width: Int
    public let height: Int
    public let kind: SourceKind
    public var name: String { spec.name }
    private let capture: Capture
    /// The last capture-thread generation handed out; held while starting or stopping.
    private let generations = Lock<Int>(0)

    /// A camera for `spec` delivering `width` × `height` frames (a policy's 128 × 128, say);
    /// without them, the crop's size, else the spec's. Nothing is opened until `start`.
    public init(spec: CameraSpec, width: Int? = nil, height: Int? = nil) throws(CameraError) {
        guard !spec.source.hasPrefix("sim:") else {
            throw .unavailable(camera: spec.name, source: spec.source, reason: "sim: cameras are rendered by the twin, not opened through OpenCV")
        }
        let width = width ?? spec.crop?.width ?? spec.width, height = height ?? spec.crop?.height ?? spec.height
        guard width > 0, height > 0 else {
            throw .unavailable(camera: spec.name, source: spec.source, reason: "the output size \(width)x\(height) is not positive")
        }
        self.spec = spec
        self.width = width
        self.height = height
        kind = SourceKind(source: spec.source)
        capture = Capture(spec: spec, kind: kind, width: width, height: height)
    }

    deinit { stop() }

    /// Opens the source on the calling thread, so a missing device, file or stream fails here with
    /// a clear error, then starts the capture thread. Does nothing when it is running already.
    /// Non-realtime: opening a stream can take seconds.
    public func start() throws(CameraError) {
        try generations.withLock { (last: inout Int) throws(CameraError) in
            guard capture.running.load(ordering: .acquiring) == 0 else { return }
            let opened = try capture.open()
            last += 1
            let generation = last
            capture.running.store(generation, ordering: .releasing)
            capture.threads.add(1, ordering: .acquiringAndReleasing)
            let thread = Thread { [capture] in capture.run(opened, generation: generation) }
            thread.name = "reins camera \(spec.name)"
            thread.start()
        }
    }

    /// Stops the capture thread and waits for it: a frame period normally, at most 0.5 s when it is
    /// stuck in a read of a stalled source (it then closes the source itself when the read
    /// returns). The latest frame stays readable, aging.
    public func stop() {
        generations.withLock { _ in capture.running.store(0, ordering: .releasing) }
        let deadline = FrameStamp.now() + UInt64(Self.joinTimeout / .nanoseconds(1))
        while capture.threads.load(ordering: .acquiring) > 0 && FrameStamp.now() < deadline { usleep(1000) }
    }

    public func read(into rgb: inout [UInt8], maxAge: Duration) throws(CameraError) -> FrameStamp {
        if rgb.count != width * height * 3 { rgb = [UInt8](repeating: 0, count: width * height * 3) }
        let now = FrameStamp.now()
        return try capture.latest.withLock { (latest: inout Capture.Latest) throws(CameraError) -> FrameStamp in
            guard let stamp = latest.stamp else { throw latest.lastError ?? .noFrame(camera: spec.name) }
            let age = stamp.age(now: now)
            guard age <= maxAge else { throw .stale(camera: spec.name, ageMs: Int(age / .milliseconds(1))) }
            rgb.withUnsafeMutableBufferPointer { target in
                latest.pixels.withUnsafeBufferPointer { target.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
            }
            return stamp
        }
    }

    /// Whether a capture thread is alive (one stopped mid-read may outlive `stop` briefly).
    public var isCapturing: Bool { capture.threads.load(ordering: .acquiring) > 0 }
    /// Frames captured over the camera's life.
    public var framesCaptured: Int { capture.frames.load(ordering: .relaxed) }
    /// Times the source was reopened after a failure.
    public var reconnects: Int { capture.reconnects.load(ordering: .relaxed) }
    /// The latest failure to open or read the source; it stays after the camera recovers.
    public var lastError: CameraError? { capture.latest.withLock { $0.lastError } }
    /// What the source delivers, once a frame has arrived.
    public var sourceFormat: SourceFormat? { capture.latest.withLock { $0.format } }
}

/// An OpenCV capture, used by one thread at a time: the one that opens it, then the capture
/// thread, which closes it.
private struct CaptureHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// What the capture thread shares with readers. The thread holds this, not the camera, so dropping
/// the camera stops the thread.
private final class Capture: Sendable {
    struct Latest {
        /// (height, width, 3) RGB; swapped with the capture thread's buffer, never reallocated.
        var pixels: [UInt8]
        var stamp: FrameStamp?
        var format: OpenCVCamera.SourceFormat?
        var lastError: CameraError?
    }

    let spec: CameraSpec
    let kind: OpenCVCamera.SourceKind
    let width: Int
    let height: Int
    let latest: Lock<Latest>
    /// The generation the capture thread may run as; any other value (0 after `stop`) ends it.
    let running = Atomic<Int>(0)
    let threads = Atomic<Int>(0)
    let frames = Atomic<Int>(0)
    let reconnects = Atomic<Int>(0)

    init(spec: CameraSpec, kind: OpenCVCamera.SourceKind, width: Int, height: Int) {
        self.spec = spec
        self.kind = kind
        self.width = width
        self.height = height
        latest = Lock(Latest(pixels: [UInt8](repeating: 0, count: width * height * 3)))
    }

    /// Opens the source and asks what it delivers; a failure is also kept as the last error.
    func open() throws(CameraError) -> (CaptureHandle, OpenCVCamera.SourceFormat) {
        let source = spec.source
        if kind == .file, !FileManager.default.fileExists(atPath: source) {
            throw failed("no such file (a source is a device index or /dev/video path, a video file, or a URL)")
        }
        let pointer = switch kind {
        case .device: reins_cv_video_reader_open_device(source, Int32(spec.width), Int32(spec.height), spec.fps)
        case .file: reins_cv_video_reader_open(source)
        case .stream: reins_cv_video_reader_open_stream(source, OpenCVCamera.streamOpenTimeoutMs, OpenCVCamera.streamReadTimeoutMs)
        }
        guard let pointer else { throw failed(String(cString: reins_cv_last_error())) }
        var width: Int32 = 0, height: Int32 = 0, frames: Int32 = 0
        var fps = 0.0
        reins_cv_video_reader_info(pointer, &width, &height, &fps, &frames)
        return (CaptureHandle(pointer: pointer), OpenCVCamera.SourceFormat(width: Int(width), height: Int(height), fps: fps))
    }

    /// The capture thread: read, crop and resize, publish; pace files; reopen after failures.
    /// Allocates nothing per frame once its buffers fit the source.
    func run(_ opened: (CaptureHandle, OpenCVCamera.SourceFormat), generation: Int) {
        var handle: CaptureHandle? = opened.0
        var format = opened.1
        defer {
            if let handle { reins_cv_video_reader_close(handle.pointer) }
            threads.subtract(1, ordering: .acquiringAndReleasing)
        }
        // (source height, source width, 3), grown when the source sends larger frames than it announced.
        var raw = [UInt8](repeating: 0, count: format.width * format.height * 3)
        // (height, width, 3) after crop and resize; swapped with the published frame.
        var resized = [UInt8](repeating: 0, count: width * height * 3)
        var backoff = OpenCVCamera.firstBackoff
        var due = FrameStamp.now()  // when a file's next frame is due
        var rewound = false
        while running.load(ordering: .acquiring) == generation {
            guard let current = handle else {
                guard pause(until: FrameStamp.now() + nanoseconds(backoff), generation: generation) else { break }
                backoff = min(backoff * 2, OpenCVCamera.maxBackoff)
                if let reopened = try? open() {
                    handle = reopened.0
                    format = reopened.1
                    reconnects.add(1, ordering: .relaxed)
                    due = FrameStamp.now()
                }
                continue
            }
            var frameWidth: Int32 = 0, frameHeight: Int32 = 0
            let status = raw.withUnsafeMutableBufferPointer {
                reins_cv_video_reader_next(current.pointer, $0.baseAddress, $0.count, &frameWidth, &frameHeight)
            }
            let stamp = FrameStamp.now()
            if status == -2 {
                raw = [UInt8](repeating: 0, count: Int(frameWidth) * Int(frameHeight) * 3)
                continue
            }
            if status == 0, kind == .file, !rewound, reins_cv_video_reader_rewind(current.pointer) == 0 {
                rewound = true  // the end of the file: loop from its first frame
                continue
            }
            var error: CameraError?
            if status == 1 {
                do {
                    try spec.cropResize(raw, width: Int(frameWidth), height: Int(frameHeight), into: &resized, outWidth: width, outHeight: height)
                } catch let cropError {
                    error = cropError
                }
            } else {
                let reason = status < 0 ? String(cString: reins_cv_last_error())
                    : kind == .file ? "the file has no frames, or cannot seek back to its start" : "the stream ended"
                error = .unavailable(camera: spec.name, source: spec.source, reason: reason)
            }
            if let error {
                latest.withLock { $0.lastError = error }
                reins_cv_video_reader_close(current.pointer)
                handle = nil
                continue
            }
            publish(&resized, stamp: stamp, format: .init(width: Int(frameWidth), height: Int(frameHeight), fps: format.fps), generation: generation)
            rewound = false
            backoff = OpenCVCamera.firstBackoff
            if kind == .file {
                let fps = format.fps.isFinite && format.fps > 0 ? format.fps : spec.fps
                due = max(due + UInt64(1e9 / fps), stamp)
                guard pause(until: due, generation: generation) else { break }
            }
        }
    }

    /// Makes `frame` the latest by swapping buffers with it, unless the camera stopped meanwhile.
    private func publish(_ frame: inout [UInt8], stamp: UInt64, format: OpenCVCamera.SourceFormat, generation: Int) {
        latest.withLock { latest in
            guard running.load(ordering: .acquiring) == generation else { return }
            swap(&latest.pixels, &frame)
            latest.stamp = FrameStamp(timestampNs: stamp, sequence: (latest.stamp?.sequence ?? 0) + 1)
            latest.format = format
            frames.add(1, ordering: .relaxed)
        }
    }

    /// Sleeps until `deadline` (CLOCK_MONOTONIC ns) in slices of at most 10 ms; false when the
    /// camera stopped meanwhile.
    private func pause(until deadline: UInt64, generation: Int) -> Bool {
        while running.load(ordering: .acquiring) == generation {
            let now = FrameStamp.now()
            guard now < deadline else { return true }
            usleep(UInt32(min(deadline - now, 10_000_000) / 1000))
        }
        return false
    }

    private func nanoseconds(_ duration: Duration) -> UInt64 { UInt64(duration / .nanoseconds(1)) }

    /// Keeps `reason` as the last error and returns it as the camera's error.
    private func failed(_ reason: String) -> CameraError {
        let error = CameraError.unavailable(camera: spec.name, source: spec.source, reason: reason)
        latest.withLock { $0.lastError = error }
        return error
    }
}
