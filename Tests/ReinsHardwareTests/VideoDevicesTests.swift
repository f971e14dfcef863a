import Foundation
import ReinsHardware
import Testing

@Suite("VideoDevices formats")
struct VideoDevicesTests {
    @Test("a folder without video nodes lists none")
    func noDevices() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-video-none-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(VideoDevices.list(deviceDirectory: folder.path).isEmpty)
        #expect(VideoDevices.list(deviceDirectory: folder.appendingPathComponent("missing").path).isEmpty)
    }

    @Test("a node that is not a V4L2 device is listed with the reason, not as a camera")
    func notV4L2() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-video-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("video0").path, contents: Data())
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("video1").path, withDestinationPath: "/dev/null")
        let devices = VideoDevices.list(deviceDirectory: folder.path)
        #expect(devices.count == 2)
        for device in devices {
            #expect(!device.capture && device.formats.isEmpty && device.driver.isEmpty)
            #expect(device.problem?.contains("not a V4L2 device") == true, "\(device.path): \(device.problem ?? "no problem")")
        }
    }
}
