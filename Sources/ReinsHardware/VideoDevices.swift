import Foundation

/// A V4L2 capture device node and whether this user may open it.
public struct VideoDeviceInfo: Sendable, Equatable, Codable {
    public var path: String
    /// The driver's name for it, from sysfs (e.g. "HD Pro Webcam C920").
    public var name: String
    public var accessible: Bool
}

/// The `/dev/video*` nodes of this machine.
public enum VideoDevices {
    public static func list(deviceDirectory: String = "/dev") -> [VideoDeviceInfo] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: deviceDirectory)) ?? []
        return entries.filter { $0.hasPrefix("video") }
            .sorted { (Int($0.dropFirst(5)) ?? 0) < (Int($1.dropFirst(5)) ?? 0) }
            .map { entry in
                let path = "\(deviceDirectory)/\(entry)"
                let name = (try? String(contentsOfFile: "/sys/class/video4linux/\(entry)/name", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                return VideoDeviceInfo(path: path, name: name, accessible: access(path, R_OK | W_OK) == 0)
            }
    }
}
