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

/// What `reins cameras crop` shows: the whole frame with a grid every `grid` pixels (so a crop can
/// be read off it) and the crop's outline.
public enum CropPicture {
    /// A copy of `rgb` (width × height × 3) with grid lines darkened and the crop outlined in green,
    /// `thickness` pixels wide inside the crop.
    public static func annotate(_ rgb: [UInt8], width: Int, height: Int, crop: PixelRect?, grid: Int = 40, thickness: Int = 3) -> [UInt8] {
        var out = rgb
        func shade(_ x: Int, _ y: Int) {
            let offset = (y * width + x) * 3
            for channel in 0..<3 { out[offset + channel] = UInt8(Int(out[offset + channel]) * 3 / 5) }
        }
        if grid > 0 {
            for y in 0..<height { for x in stride(from: grid, to: width, by: grid) { shade(x, y) } }
            for y in stride(from: grid, to: height, by: grid) { for x in 0..<width { shade(x, y) } }
        }
        if let crop {
            let right = min(width, crop.x + crop.width), bottom = min(height, crop.y + crop.height)
            for y in max(0, crop.y)..<max(max(0, crop.y), bottom) {
                for x in max(0, crop.x)..<max(max(0, crop.x), right)
                where x < crop.x + thickness || x >= right - thickness || y < crop.y + thickness || y >= bottom - thickness {
                    let offset = (y * width + x) * 3
                    (out[offset], out[offset + 1], out[offset + 2]) = (40, 230, 60)
                }
            }
        }
        return out
    }
}
