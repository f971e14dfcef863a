import Foundation
import Glibc

/// Whether this user may open a device (a serial adapter, a camera) for reading and writing, and
/// if not, why and the command that fixes it: the usual first-hour failure on a real arm is a
/// port owned by `dialout` or a camera by `video` that the user is not in, or was added to after
/// logging in.
public enum DeviceAccess: Equatable, Sendable {
    case granted
    case missing
    case denied(reason: String, fix: String)

    /// Checks `path` for the user running this process.
    public static func check(_ path: String) -> DeviceAccess {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        if access(path, R_OK | W_OK) == 0 { return .granted }
        let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "this user"
        let group = getgrgid(info.st_gid).map { String(cString: $0.pointee.gr_name) }
        let configured = group.map { configuredGroups(of: user).contains($0) } ?? false
        let session = sessionGroupIDs().contains(info.st_gid)
        return decide(path: path, user: user, group: group, groupCanReadWrite: info.st_mode & 0o060 == 0o060,
                      userInGroup: configured, sessionHasGroup: session)
    }

    /// The verdict for a device this user cannot open, from its group and the user's groups.
    static func decide(path: String, user: String, group: String?, groupCanReadWrite: Bool, userInGroup: Bool,
                       sessionHasGroup: Bool) -> DeviceAccess {
        guard let group, groupCanReadWrite else {
            return .denied(reason: "\(path) is not readable and writable by \(user), nor by its group",
                           fix: "sudo chmod 660 \(path) for now; for good, a udev rule giving it MODE=\"0660\" and a group you are in")
        }
        if !userInGroup {
            return .denied(reason: "\(path) belongs to group \(group), which \(user) is not in",
                           fix: "sudo usermod -aG \(group) \(user), then log out and in again (or start a shell with newgrp \(group))")
        }
        if !sessionHasGroup {
            return .denied(reason: "\(user) is in group \(group) (which owns \(path)), but this login started before that",
                           fix: "log out and in again (or start a shell with newgrp \(group))")
        }
        return .denied(reason: "\(path) refuses \(user) although its group \(group) may read and write it (an ACL or a security module?)",
                       fix: "ls -l \(path); getfacl \(path)")
    }

    /// The group names `/etc/group` gives `user` (what a fresh login gets).
    private static func configuredGroups(of user: String) -> Set<String> {
        var names: Set<String> = []
        setgrent()
        defer { endgrent() }
        while let entry = getgrent() {
            var member = entry.pointee.gr_mem
            while let name = member?.pointee {
                if String(cString: name) == user { names.insert(String(cString: entry.pointee.gr_name)) }
                member = member?.advanced(by: 1)
            }
        }
        if let primary = getpwnam(user).flatMap({ getgrgid($0.pointee.pw_gid) }) { names.insert(String(cString: primary.pointee.gr_name)) }
        return names
    }

    /// The groups this process has now.
    private static func sessionGroupIDs() -> Set<gid_t> {
        let count = getgroups(0, nil)
        guard count > 0 else { return [getegid()] }
        var ids = [gid_t](repeating: 0, count: Int(count))
        let filled = getgroups(count, &ids)
        return Set(ids.prefix(Int(max(filled, 0)))).union([getegid()])
    }

    /// A USB serial adapter's latency timer in milliseconds (FTDI's defaults to 16, which adds up
    /// to 16 ms to every bus transaction), or nil when the device has none.
    public static func latencyTimerMs(_ port: String) -> Int? {
        let name = (port as NSString).lastPathComponent
        let text = try? String(contentsOfFile: "/sys/bus/usb-serial/devices/\(name)/latency_timer", encoding: .utf8)
        return text.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
