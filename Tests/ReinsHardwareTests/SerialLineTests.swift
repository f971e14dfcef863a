import Foundation
import Glibc
import ReinsHardware
import Testing

/// Reads what is available on the controller side of a pty, waiting up to one second in total.
func readController(_ pty: PseudoTerminal, count: Int) -> [UInt8] {
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 256)
    for _ in 0..<100 where received.count < count {
        var entry = pollfd(fd: pty.controller, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 10) > 0 else { continue }
        let n = read(pty.controller, &buffer, buffer.count)
        if n > 0 { received += buffer[0..<n] }
    }
    return received
}

@Suite("serial line on a pty")
struct SerialLineTests {
    @Test("bytes round-trip both ways at 1 Mbaud")
    func roundTrip() throws {
        let pty = try PseudoTerminal()
        let line = try SerialLine(path: pty.devicePath, baud: 1_000_000)
        #expect(line.baud == 1_000_000)

        let request: [UInt8] = [0xFF, 0xFF, 0xFD, 0x00, 0x01, 0x03, 0x00, 0x01, 0x19, 0x4E]
        try line.write(request)
        #expect(readController(pty, count: request.count) == request)

        let reply: [UInt8] = Array(0...255)
        _ = reply.withUnsafeBytes { write(pty.controller, $0.baseAddress, $0.count) }
        var received = [UInt8](repeating: 0, count: reply.count)
        try received.withUnsafeMutableBytes { try line.read(exactly: $0, timeout: .seconds(1)) }
        #expect(received == reply)
    }

    @Test("stale input is flushed before a transaction")
    func flush() throws {
        let pty = try PseudoTerminal()
        let line = try SerialLine(path: pty.devicePath, baud: 115_200)
        _ = [UInt8](repeating: 0xAA, count: 5).withUnsafeBytes { write(pty.controller, $0.baseAddress, $0.count) }
        usleep(20_000)
        line.flushInput()
        _ = [UInt8]([1, 2]).withUnsafeBytes { write(pty.controller, $0.baseAddress, $0.count) }
        var received = [UInt8](repeating: 0, count: 2)
        try received.withUnsafeMutableBytes { try line.read(exactly: $0, timeout: .seconds(1)) }
        #expect(received == [1, 2])
    }

    @Test("a short reply times out, reporting how many bytes came")
    func timeout() throws {
        let pty = try PseudoTerminal()
        let line = try SerialLine(path: pty.devicePath, baud: 1_000_000)
        _ = [UInt8]([7, 7, 7]).withUnsafeBytes { write(pty.controller, $0.baseAddress, $0.count) }
        var received = [UInt8](repeating: 0, count: 8)
        #expect(throws: HardwareError.timeout(path: pty.devicePath, expected: 8, received: 3, after: .milliseconds(30))) {
            try received.withUnsafeMutableBytes { try line.read(exactly: $0, timeout: .milliseconds(30)) }
        }
    }

    @Test("a second opener gets an in-use error")
    func exclusive() throws {
        let pty = try PseudoTerminal()
        let first = try SerialLine(path: pty.devicePath, baud: 1_000_000)
        #expect(throws: HardwareError.inUse(path: pty.devicePath)) {
            _ = try SerialLine(path: pty.devicePath, baud: 1_000_000)
        }
        _ = first
    }

    @Test("a vanished device is reported as disconnected")
    func disconnected() throws {
        var pty: PseudoTerminal? = try PseudoTerminal()
        let path = pty!.devicePath
        let line = try SerialLine(path: path, baud: 1_000_000)
        pty = nil
        var received = [UInt8](repeating: 0, count: 4)
        #expect(throws: HardwareError.disconnected(path: path)) {
            try received.withUnsafeMutableBytes { try line.read(exactly: $0, timeout: .milliseconds(200)) }
        }
    }

    @Test("low latency is reported as unavailable on a pty, with the reason")
    func lowLatency() throws {
        let pty = try PseudoTerminal()
        let line = try SerialLine(path: pty.devicePath, baud: 1_000_000)
        guard case .unavailable(let reason) = line.requestLowLatency() else {
            Issue.record("a pty has no latency timer to set")
            return
        }
        #expect(reason.contains("pty"))
    }

    @Test("a missing device names its path")
    func missing() {
        #expect(throws: HardwareError.openFailed(path: "/dev/ttyREINS404", reason: "No such file or directory")) {
            _ = try SerialLine(path: "/dev/ttyREINS404", baud: 1_000_000)
        }
    }

    @Test("Feetech's nonstandard baud rates are set through termios2", arguments: [76_800, 128_000, 250_000, 4_000_000])
    func nonstandardBaud(baud: Int) throws {
        let pty = try PseudoTerminal()
        let line = try SerialLine(path: pty.devicePath, baud: baud)
        #expect(line.baud == baud)
    }

    @Test("an impossible baud rate is refused")
    func unsupportedBaud() throws {
        let pty = try PseudoTerminal()
        #expect(throws: HardwareError.unsupportedBaud(path: pty.devicePath, baud: 0)) {
            _ = try SerialLine(path: pty.devicePath, baud: 0)
        }
    }
}

@Suite("port discovery")
struct PortListTests {
    @Test("libserialport lists ports (an empty list is valid) with consistent USB fields")
    func list() throws {
        let ports = try SerialPortList.ports()
        for port in ports {
            #expect(port.path.hasPrefix("/dev/"))
            #expect((port.usbID != nil) == (port.transport == "usb" && port.usbVendorID != nil))
        }
        #expect(ports.map(\.path) == ports.map(\.path).sorted())
        #expect(SerialPortList.libraryVersion.split(separator: ".").count == 3)
    }

    @Test("video devices are listed from a device folder, in numeric order")
    func videoDevices() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-video-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["video10", "video2", "null"] {
            _ = FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data())
        }
        let devices = VideoDevices.list(deviceDirectory: folder.path)
        #expect(devices.map(\.path) == ["\(folder.path)/video2", "\(folder.path)/video10"])
        #expect(devices.allSatisfy { $0.accessible })
    }
}
