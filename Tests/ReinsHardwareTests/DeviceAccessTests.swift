import Foundation
import Testing
@testable import ReinsHardware

@Suite("may this user open a device")
struct DeviceAccessTests {
    @Test("a device that is not there is missing; one this user owns is granted")
    func presentOrNot() throws {
        #expect(DeviceAccess.check("/dev/reins-no-such-device") == .missing)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("reins-access-\(getpid())").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(DeviceAccess.check(file) == .granted)
        #expect(DeviceAccess.latencyTimerMs(file) == nil)
    }

    @Test("not in the owning group: the usermod that fixes it, and a fresh login")
    func notInGroup() {
        let verdict = DeviceAccess.decide(path: "/dev/ttyUSB0", user: "ann", group: "dialout", groupCanReadWrite: true,
                                          userInGroup: false, sessionHasGroup: false)
        #expect(verdict == .denied(reason: "/dev/ttyUSB0 belongs to group dialout, which ann is not in",
                                   fix: "sudo usermod -aG dialout ann, then log out and in again (or start a shell with newgrp dialout)"))
    }

    @Test("added to the group after logging in: log in again, no usermod")
    func loginPredatesGroup() {
        let verdict = DeviceAccess.decide(path: "/dev/video0", user: "ann", group: "video", groupCanReadWrite: true,
                                          userInGroup: true, sessionHasGroup: false)
        guard case .denied(let reason, let fix) = verdict else { Issue.record("granted"); return }
        #expect(reason.contains("this login started before that"))
        #expect(fix == "log out and in again (or start a shell with newgrp video)")
    }

    @Test("a group that may not read and write it: chmod now, a udev rule for good")
    func groupLacksRights() {
        let verdict = DeviceAccess.decide(path: "/dev/ttyACM0", user: "ann", group: "root", groupCanReadWrite: false,
                                          userInGroup: false, sessionHasGroup: false)
        guard case .denied(_, let fix) = verdict else { Issue.record("granted"); return }
        #expect(fix.hasPrefix("sudo chmod 660 /dev/ttyACM0") && fix.contains("udev rule"))
    }
}
