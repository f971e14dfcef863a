import Glibc

/// A source of RGB frames at a fixed output size: a real camera through OpenCV, or the twin's
/// renderer. A capture thread keeps the latest frame; readers take a copy of it and say how old a
/// frame they accept, so a stalled camera is an error rather than a frozen observation.
public protocol Camera: AnyObject, Sendable {
    /// The camera's name in the robot file (`front`, `wrist`).
    var name: String { get }
    /// The size of the frames it delivers, after crop and resize.
    var width: Int { get }
    var height: Int { get }
    /// Copies the latest frame into `rgb` (height × width × 3, top row first), resizing `rgb`
    /// only when its size is wrong, and says when it was captured.
    /// Realtime once `rgb` has the right size: one short lock and a copy, no allocation, no waiting.
    /// Throws `stale` when the latest frame is older than `maxAge`.
    func read(into rgb: inout [UInt8], maxAge: Duration) throws(CameraError) -> FrameStamp
}

/// When a frame was captured and where it falls in its camera's sequence.
public struct FrameStamp: Sendable, Equatable {
    /// Capture time on CLOCK_MONOTONIC, in nanoseconds (the clock of `FrameStamp.now()`).
    public var timestampNs: UInt64
    /// Counts the camera's frames from 1: a repeat means the same frame was read twice, a jump
    /// means frames were captured but not read.
    public var sequence: UInt64

    public init(timestampNs: UInt64, sequence: UInt64) {
        self.timestampNs = timestampNs
        self.sequence = sequence
    }

    /// Now on CLOCK_MONOTONIC, in nanoseconds. (Swift's ContinuousClock counts suspended time on
    /// Linux, so it would not match timestamps from the kernel or other processes.)
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// How long ago the frame was captured.
    public func age(now: UInt64 = FrameStamp.now()) -> Duration {
        .nanoseconds(Int64(now) - Int64(timestampNs))
    }
}

/// A camera that cannot deliver a fresh frame; each case says what to check.
public enum CameraError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The latest frame is older than the reader accepts: the camera stalled, was unplugged, or its
    /// stream stopped. Check the cable or the stream, and `reins cameras --probe SOURCE`.
    case stale(camera: String, ageMs: Int)
    /// No frame has arrived since the camera started: it is still opening, or delivers nothing.
    case noFrame(camera: String)
    /// The source cannot be opened or read; the reason is the capture library's.
    case unavailable(camera: String, source: String, reason: String)

    public var description: String {
        switch self {
        case .stale(let camera, let ageMs):
            "camera \(camera): the latest frame is \(ageMs) ms old; check the cable or stream, "
                + "and `reins cameras --probe SOURCE` for what the source delivers"
        case .noFrame(let camera):
            "camera \(camera): no frame yet; it may still be opening, or the source sends nothing "
                + "(try `reins cameras --probe SOURCE`)"
        case .unavailable(let camera, let source, let reason):
            "camera \(camera): \(source): \(reason)"
        }
    }
}
