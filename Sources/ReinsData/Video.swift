import COpenCV

/// Writes RGB frames to a video file through OpenCV's FFmpeg backend.
public final class VideoWriter {
    public let path: String
    public let width: Int
    public let height: Int
    private var handle: OpaquePointer?

    /// `codec` is a FourCC: "MJPG" for .avi, "mp4v" or "avc1" for .mp4, "FFV1" for lossless .mkv.
    public init(path: String, codec: String, fps: Double, width: Int, height: Int) throws(DataError) {
        guard let handle = reins_cv_video_writer_open(path, codec, fps, Int32(width), Int32(height)) else {
            throw .openCV(path: path, message: OpenCV.lastError)
        }
        self.path = path
        self.width = width
        self.height = height
        self.handle = handle
    }

    deinit {
        close()
    }

    /// Appends one frame of width × height × 3 RGB bytes.
    public func write(_ rgb: [UInt8]) throws(DataError) {
        guard rgb.count == width * height * 3 else { throw .frameSize(path: path, expected: width * height * 3, got: rgb.count) }
        guard let handle else { throw .openCV(path: path, message: "the writer is closed") }
        guard rgb.withUnsafeBufferPointer({ reins_cv_video_writer_write(handle, $0.baseAddress) }) == 0 else {
            throw .openCV(path: path, message: OpenCV.lastError)
        }
    }

    /// Finishes the file; further writes fail.
    public func close() {
        if let handle { reins_cv_video_writer_close(handle) }
        handle = nil
    }
}

/// Reads a video file or stream frame by frame into RGB buffers.
public final class VideoReader {
    public let source: String
    public let width: Int
    public let height: Int
    public let fps: Double
    /// The container's frame count, or 0 when it does not say.
    public let frameCount: Int
    private let handle: OpaquePointer

    public init(source: String) throws(DataError) {
        guard let handle = reins_cv_video_reader_open(source) else { throw .openCV(path: source, message: OpenCV.lastError) }
        var width: Int32 = 0, height: Int32 = 0, frames: Int32 = 0
        var fps = 0.0
        reins_cv_video_reader_info(handle, &width, &height, &fps, &frames)
        self.source = source
        self.handle = handle
        self.width = Int(width)
        self.height = Int(height)
        self.fps = fps
        frameCount = Int(frames)
    }

    deinit {
        reins_cv_video_reader_close(handle)
    }

    /// Decodes the next frame into `rgb`; false at the end of the stream.
    public func read(into rgb: inout [UInt8]) throws(DataError) -> Bool {
        if rgb.count != width * height * 3 { rgb = [UInt8](repeating: 0, count: width * height * 3) }
        let status = rgb.withUnsafeMutableBufferPointer { reins_cv_video_reader_read(handle, $0.baseAddress, $0.count) }
        guard status >= 0 else { throw .openCV(path: source, message: OpenCV.lastError) }
        return status == 1
    }
}
