import COpenCV
import Foundation

/// An 8-bit image, rows top first, channels interleaved (RGB or gray).
public struct Image: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * channels, "\(width)x\(height)x\(channels) needs \(width * height * channels) bytes")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Writes the image; the extension picks the format (.png is lossless).
    public func write(to path: String) throws(DataError) {
        let status = pixels.withUnsafeBufferPointer {
            reins_cv_image_write(path, $0.baseAddress, Int32(width), Int32(height), Int32(channels))
        }
        guard status == 0 else { throw .openCV(path: path, message: OpenCV.lastError) }
    }

    /// Reads an image file as RGB, or gray.
    /// The image encoded as JPEG (what an MJPEG stream carries).
    public func jpeg(quality: Int = 90) throws(DataError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(width * height * channels + 4096, 8192))
        let count = pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { reins_cv_image_encode(".jpg", source.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(quality), $0.baseAddress, $0.count) }
        }
        guard count >= 0 else { throw .openCV(path: "(jpeg encoding)", message: OpenCV.lastError) }
        return Array(out.prefix(count))
    }

    public init(contentsOf path: String, gray: Bool = false) throws(DataError) {
        guard let image = reins_cv_image_read(path, gray ? 1 : 0) else { throw .openCV(path: path, message: OpenCV.lastError) }
        self.init(image)
    }

    /// Decodes an encoded image (PNG, JPEG, ...) held in memory.
    public init(encoded bytes: [UInt8], gray: Bool = false) throws(DataError) {
        guard let image = bytes.withUnsafeBufferPointer({ reins_cv_image_decode($0.baseAddress, $0.count, gray ? 1 : 0) }) else {
            throw .openCV(path: "<memory>", message: OpenCV.lastError)
        }
        self.init(image)
    }

    private init(_ image: OpaquePointer) {
        defer { reins_cv_image_free(image) }
        var width: Int32 = 0, height: Int32 = 0, channels: Int32 = 0
        reins_cv_image_shape(image, &width, &height, &channels)
        let count = Int(width * height * channels)
        self.init(width: Int(width), height: Int(height), channels: Int(channels),
                  pixels: Array(UnsafeBufferPointer(start: reins_cv_image_pixels(image), count: count)))
    }

    /// Peak signal-to-noise ratio against another image of the same size, in dB (infinite when equal).
    public func psnr(against other: Image) -> Double {
        precondition(pixels.count == other.pixels.count, "PSNR needs images of one size")
        var squared = 0.0
        for (a, b) in zip(pixels, other.pixels) {
            let difference = Double(a) - Double(b)
            squared += difference * difference
        }
        let mse = squared / Double(pixels.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }
}

/// What this OpenCV build is and can do.
public enum OpenCV {
    public static var version: String { String(cString: reins_cv_version()) }
    /// The video I/O backends compiled in, e.g. "FFMPEG, GSTREAMER, V4L2, ...".
    public static var videoBackends: String { String(cString: reins_cv_videoio_backends()) }
    static var lastError: String { String(cString: reins_cv_last_error()) }
}
