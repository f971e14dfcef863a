import CVideo4Linux
import Foundation

/// A V4L2 device node, whether this user may open it, and what it captures.
public struct VideoDeviceInfo: Sendable, Equatable, Codable {
    public var path: String
    /// The driver's name for it, from sysfs, else VIDIOC_QUERYCAP's card (e.g. "HD Pro Webcam C920").
    public var name: String
    public var accessible: Bool
    /// The kernel driver (`uvcvideo`), from VIDIOC_QUERYCAP; empty when the node could not be asked.
    public var driver: String
    /// Where it is plugged in (`usb-0000:00:14.0-1`): tells two identical cameras apart.
    public var busInfo: String
    /// Whether the node captures video (V4L2_CAP_VIDEO_CAPTURE); a webcam's second node usually
    /// carries only metadata, and cannot be opened as a camera.
    public var capture: Bool
    /// The capture formats, in the driver's order (usually its preference).
    public var formats: [VideoFormat]
    /// Why the node could not be asked (permissions, not a V4L2 device), or nil.
    public var problem: String?
}

/// A pixel format a capture device offers, with its frame sizes and rates.
public struct VideoFormat: Sendable, Equatable, Codable {
    /// The V4L2 pixel format as four characters: `MJPG`, `YUYV`, `H264`.
    public var fourcc: String
    /// The driver's words for it (`Motion-JPEG`).
    public var description: String
    /// Compressed formats (MJPG, H264) reach larger sizes at full rate over USB 2.
    public var compressed: Bool
    public var sizes: [VideoFrameSize]
    /// True when the device takes any size from the first to the last of `sizes`
    /// (V4L2_FRMSIZE_TYPE_STEPWISE or CONTINUOUS), not just those two.
    public var continuousSizes: Bool
}

/// A frame size and the rates a device offers at it.
public struct VideoFrameSize: Sendable, Equatable, Codable {
    public var width: Int
    public var height: Int
    /// Frames per second, fastest first.
    public var fps: [Double]
    /// True when any rate from the first to the last of `fps` works (V4L2_FRMIVAL_TYPE_STEPWISE
    /// or CONTINUOUS), not just those two.
    public var continuousFPS: Bool
}

/// The `/dev/video*` nodes of this machine and their capture formats.
public enum VideoDevices {
    /// Every `video*` node of `deviceDirectory`, in numeric order; an empty list when there are none.
    /// A node that cannot be asked is listed with its `problem` rather than left out.
    public static func list(deviceDirectory: String = "/dev") -> [VideoDeviceInfo] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: deviceDirectory)) ?? []
        return entries.filter { $0.hasPrefix("video") }
            .sorted { (Int($0.dropFirst(5)) ?? 0) < (Int($1.dropFirst(5)) ?? 0) }
            .map { entry in
                let path = "\(deviceDirectory)/\(entry)"
                let name = (try? String(contentsOfFile: "/sys/class/video4linux/\(entry)/name", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                var device = VideoDeviceInfo(path: path, name: name, accessible: access(path, R_OK | W_OK) == 0,
                                             driver: "", busInfo: "", capture: false, formats: [], problem: nil)
                query(&device)
                return device
            }
    }

    /// Fills in what VIDIOC_QUERYCAP says of the node and, for a capture node, its formats.
    private static func query(_ device: inout VideoDeviceInfo) {
        let descriptor = open(device.path, O_RDWR | O_NONBLOCK)
        guard descriptor >= 0 else {
            let code = errno
            device.problem = "cannot open: \(errnoText(code))" + (code == EACCES ? "; add your user to the video group" : "")
            return
        }
        defer { close(descriptor) }
        var capability = v4l2_capability()
        guard reins_v4l2_ioctl(descriptor, reins_vidioc_querycap(), &capability) == 0 else {
            device.problem = "not a V4L2 device (VIDIOC_QUERYCAP: \(errnoText(errno)))"
            return
        }
        device.driver = text(capability.driver)
        device.busInfo = text(capability.bus_info)
        if device.name.isEmpty { device.name = text(capability.card) }
        // device_caps describes this node; capabilities, the whole physical device.
        let caps = capability.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? capability.device_caps : capability.capabilities
        let type: v4l2_buf_type
        if caps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0 {
            type = V4L2_BUF_TYPE_VIDEO_CAPTURE
        } else if caps & UInt32(V4L2_CAP_VIDEO_CAPTURE_MPLANE) != 0 {
            type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE
        } else {
            return
        }
        device.capture = true
        device.formats = formats(descriptor, type: type)
    }

    /// VIDIOC_ENUM_FMT, then the sizes of each format; each enumeration ends at the driver's EINVAL.
    private static func formats(_ descriptor: Int32, type: v4l2_buf_type) -> [VideoFormat] {
        var formats: [VideoFormat] = []
        var description = v4l2_fmtdesc()
        description.type = type.rawValue
        while reins_v4l2_ioctl(descriptor, reins_vidioc_enum_fmt(), &description) == 0 {
            let (sizes, continuous) = frameSizes(descriptor, pixelFormat: description.pixelformat)
            formats.append(VideoFormat(fourcc: fourcc(description.pixelformat), description: text(description.description),
                                       compressed: description.flags & UInt32(V4L2_FMT_FLAG_COMPRESSED) != 0,
                                       sizes: sizes, continuousSizes: continuous))
            description.index += 1
        }
        return formats
    }

    /// VIDIOC_ENUM_FRAMESIZES: the discrete sizes, or the smallest and largest of a range.
    private static func frameSizes(_ descriptor: Int32, pixelFormat: UInt32) -> ([VideoFrameSize], continuous: Bool) {
        var sizes: [VideoFrameSize] = []
        var size = v4l2_frmsizeenum()
        size.pixel_format = pixelFormat
        while reins_v4l2_ioctl(descriptor, reins_vidioc_enum_framesizes(), &size) == 0 {
            if size.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                sizes.append(frameSize(descriptor, pixelFormat: pixelFormat, width: size.discrete.width, height: size.discrete.height))
                size.index += 1
            } else {
                let range = size.stepwise
                for (width, height) in [(range.min_width, range.min_height), (range.max_width, range.max_height)] {
                    sizes.append(frameSize(descriptor, pixelFormat: pixelFormat, width: width, height: height))
                }
                return (sizes, true)
            }
        }
        return (sizes, false)
    }

    /// VIDIOC_ENUM_FRAMEINTERVALS at one size, as frame rates (an interval of n/d s is d/n fps).
    private static func frameSize(_ descriptor: Int32, pixelFormat: UInt32, width: UInt32, height: UInt32) -> VideoFrameSize {
        var rates: [Double] = []
        var continuous = false
        var interval = v4l2_frmivalenum()
        interval.pixel_format = pixelFormat
        interval.width = width
        interval.height = height
        while reins_v4l2_ioctl(descriptor, reins_vidioc_enum_frameintervals(), &interval) == 0 {
            if interval.type == V4L2_FRMIVAL_TYPE_DISCRETE.rawValue {
                rates.append(fps(interval.discrete))
                interval.index += 1
            } else {
                rates += [fps(interval.stepwise.min), fps(interval.stepwise.max)]
                continuous = true
                break
            }
        }
        return VideoFrameSize(width: Int(width), height: Int(height), fps: rates.filter(\.isFinite).sorted(by: >), continuousFPS: continuous)
    }

    private static func fps(_ interval: v4l2_fract) -> Double {
        (Double(interval.denominator) / Double(interval.numerator) * 100).rounded() / 100
    }

    /// A V4L2 pixel format's four characters, low byte first, without the padding spaces (`Y16 `).
    private static func fourcc(_ code: UInt32) -> String {
        let bytes = (0..<4).map { UInt8(truncatingIfNeeded: code >> ($0 * 8)) }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    /// A NUL-terminated byte array from a kernel struct (imported as a tuple) as text.
    private static func text<Bytes>(_ bytes: Bytes) -> String {
        withUnsafeBytes(of: bytes) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
