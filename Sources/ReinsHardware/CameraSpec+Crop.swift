import COpenCV
import ReinsCore

extension CameraSpec {
    /// Crops a frame (height × width × 3 RGB) to this camera's crop, or keeps it whole when there
    /// is none, then resizes it with area averaging into `out` (outHeight × outWidth × 3), which is
    /// resized only when its size is wrong. The real camera and the twin's use this one function,
    /// so a policy sees the same pixels from both.
    public func cropResize(_ rgb: [UInt8], width: Int, height: Int,
                           into out: inout [UInt8], outWidth: Int, outHeight: Int) throws(CameraError) {
        precondition(rgb.count >= width * height * 3, "a \(width)x\(height) RGB frame needs \(width * height * 3) bytes")
        precondition(outWidth > 0 && outHeight > 0, "an output size is positive, not \(outWidth)x\(outHeight)")
        if out.count != outWidth * outHeight * 3 { out = [UInt8](repeating: 0, count: outWidth * outHeight * 3) }
        let rect = crop ?? PixelRect(x: 0, y: 0, width: width, height: height)
        let status = rgb.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                reins_cv_crop_resize(source.baseAddress, Int32(width), Int32(height),
                                     Int32(rect.x), Int32(rect.y), Int32(rect.width), Int32(rect.height),
                                     target.baseAddress, Int32(outWidth), Int32(outHeight))
            }
        }
        guard status == 0 else {
            throw .unavailable(camera: name, source: source,
                               reason: "\(String(cString: reins_cv_last_error())); fix the crop in the robot file to fit what the source delivers")
        }
    }
}
