import ReinsCore
import ReinsHardware
import Synchronization

/// The twin's cameras as `Camera`s, fed in process by a physics-driven emulator's renders (no JPEG
/// round trip): each keeps the latest frame with its time, and a read crops and resizes it exactly
/// as an `OpenCVCamera` would a real camera's frame, so a policy sees the same pixels from both.
public final class TwinCameras: Sendable {
    public let cameras: [TwinCamera]

    /// One camera per robot camera, delivering `width` × `height` frames.
    public init(robot: RobotDefinition, width: Int, height: Int) {
        cameras = robot.cameras.map { TwinCamera(spec: $0, width: width, height: height) }
    }

    /// The feed to hand to `ServoBusEmulator.drive(with:cameras:)`; `also` sees every frame too.
    public func feed(also: (@Sendable (String, Int, Int, [UInt8]) -> Void)? = nil) -> CameraFeed {
        CameraFeed { [cameras] name, width, height, rgb in
            cameras.first { $0.name == name }?.receive(rgb, width: width, height: height)
            also?(name, width, height, rgb)
        }
    }
}

extension CameraSpec {
    /// The camera scaled down by a whole factor (its crop too) while the cropped frame stays at
    /// least twice `output` on each side: the twin renders on the CPU, and a 640×480 frame that is
    /// only ever shrunk to 64×64 costs nine times a 213×160 one for nearly the same pixels.
    public func rendered(forOutput output: Int) -> CameraSpec {
        let covered = min(crop?.width ?? width, crop?.height ?? height)
        let factor = max(1, covered / (2 * max(output, 1)))
        guard factor > 1 else { return self }
        var scaled = self
        scaled.width = width / factor
        scaled.height = height / factor
        scaled.crop = crop.map { PixelRect(x: $0.x / factor, y: $0.y / factor, width: $0.width / factor, height: $0.height / factor) }
        return scaled
    }
}

/// One of the twin's cameras.
public final class TwinCamera: Camera, Sendable {
    public let spec: CameraSpec
    public let width: Int
    public let height: Int
    public var name: String { spec.name }
    private struct Latest {
        var pixels: [UInt8] = []
        var width = 0
        var height = 0
        var stamp: FrameStamp?
    }
    private let latest = Lock(Latest())

    init(spec: CameraSpec, width: Int, height: Int) {
        self.spec = spec
        self.width = width
        self.height = height
    }

    func receive(_ rgb: [UInt8], width: Int, height: Int) {
        let now = FrameStamp.now()
        latest.withLock { latest in
            latest.pixels = rgb
            latest.width = width
            latest.height = height
            latest.stamp = FrameStamp(timestampNs: now, sequence: (latest.stamp?.sequence ?? 0) + 1)
        }
    }

    public func read(into rgb: inout [UInt8], maxAge: Duration) throws(CameraError) -> FrameStamp {
        let (frame, frameWidth, frameHeight, stamp) = latest.withLock { ($0.pixels, $0.width, $0.height, $0.stamp) }
        guard let stamp else { throw .noFrame(camera: name) }
        let age = stamp.age()
        guard age <= maxAge else { throw .stale(camera: name, ageMs: Int(age / .milliseconds(1))) }
        try spec.cropResize(frame, width: frameWidth, height: frameHeight, into: &rgb, outWidth: width, outHeight: height)
        return stamp
    }
}
