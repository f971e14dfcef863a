import CSerialPort
import Glibc

/// A raw serial line on termios: USB adapters, ACM devices and ptys alike.
///
/// Opened in raw mode at a fixed baud rate and held exclusively (an advisory lock, which root
/// cannot bypass the way it bypasses TIOCEXCL), so a second process gets `inUse`.
public final class SerialLine {
    public let path: String
    public let descriptor: Int32

    /// Opens `path` at `baud` in raw 8N1 mode and discards any stale input. Standard rates go
    /// through termios; any other (Feetech's 76800, 128000, 250000) through Linux's termios2.
    public init(path: String, baud: Int) throws(HardwareError) {
        guard baud > 0 && baud <= 12_000_000 else { throw .unsupportedBaud(path: path, baud: baud) }
        let fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            let hint = code == EACCES ? " (add your user to the dialout group: sudo usermod -aG dialout $USER)" : ""
            throw .openFailed(path: path, reason: errnoText(code) + hint)
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .inUse(path: path)
        }
        var options = termios()
        guard tcgetattr(fd, &options) == 0 else {
            let reason = errnoText(errno)
            close(fd)
            throw .openFailed(path: path, reason: "not a terminal device (\(reason))")
        }
        cfmakeraw(&options)
        options.c_cflag |= tcflag_t(CLOCAL | CREAD)
        options.c_cflag &= ~(tcflag_t(CSTOPB) | tcflag_t(CRTSCTS))
        withUnsafeMutableBytes(of: &options.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        let speed = Self.speed(forBaud: baud) ?? speed_t(B38400)
        guard cfsetispeed(&options, speed) == 0, cfsetospeed(&options, speed) == 0,
              tcsetattr(fd, TCSANOW, &options) == 0,
              Self.speed(forBaud: baud) != nil || reins_set_baud_termios2(fd, UInt32(baud)) == 0,
              Int(reins_get_baud_termios2(fd)) == baud else {
            close(fd)
            throw .unsupportedBaud(path: path, baud: baud)
        }
        self.path = path
        descriptor = fd
        flushInput()
    }

    deinit {
        close(descriptor)
    }

    /// The baud rate the driver reports back.
    public var baud: Int? {
        let baud = Int(reins_get_baud_termios2(descriptor))
        return baud > 0 ? baud : nil
    }

    /// Drops bytes received but not yet read, so a reply is never mistaken for an older one.
    /// `tcflush` waits for the kernel's tty worker to finish the delivery in progress, and that
    /// worker runs at normal priority: for opening the line only, never from the realtime loop
    /// (which uses `discardInput`).
    public func flushInput() {
        tcflush(descriptor, TCIFLUSH)
    }

    /// Reads and drops whatever has arrived, without waiting and without taking the lock the
    /// kernel's tty worker holds while it delivers (as `tcflush` does); the bytes delivered so far.
    /// Realtime: allocates nothing (`scratch` holds what is read).
    @discardableResult
    public func discardInput(using scratch: UnsafeMutableRawBufferPointer) -> Int {
        var discarded = 0
        while true {
            let count = Glibc.read(descriptor, scratch.baseAddress!, scratch.count)
            guard count > 0 else { return discarded }
            discarded += count
        }
    }

    /// Writes every byte, waiting while the driver's buffer is full.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(HardwareError) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && (errno == EAGAIN || errno == EINTR) {
                _ = try waitFor(events: Int16(POLLOUT), timeoutMs: 100)
            } else {
                throw errno == EIO ? .disconnected(path: path) : .io(path: path, operation: "write", reason: errnoText(errno))
            }
        }
    }

    public func write(_ bytes: [UInt8]) throws(HardwareError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(HardwareError) in try write(raw) } }.get()
    }

    /// Reads exactly `buffer.count` bytes or throws `timeout` once `timeout` has passed.
    public func read(exactly buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(HardwareError) {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var received = 0
        while received < buffer.count {
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero, try waitFor(events: Int16(POLLIN), timeoutMs: Self.pollMilliseconds(remaining)) else {
                throw .timeout(path: path, expected: buffer.count, received: received, after: timeout)
            }
            let count = Glibc.read(descriptor, buffer.baseAddress! + received, buffer.count - received)
            if count > 0 {
                received += count
            } else if count < 0 && errno == EIO {
                throw .disconnected(path: path)
            } else if count < 0 && errno != EAGAIN && errno != EINTR {
                throw .io(path: path, operation: "read", reason: errnoText(errno))
            }
        }
    }

    /// A poll timeout covering `duration`, rounded up so a sub-millisecond wait still waits.
    static func pollMilliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(milliseconds, 1))
    }

    /// Reads whatever has arrived, waiting until at least one byte comes or `deadline` passes.
    /// Returns the count read, 0 at the deadline. Realtime: allocates nothing.
    public func read(into buffer: UnsafeMutableRawBufferPointer, until deadline: ContinuousClock.Instant) throws(HardwareError) -> Int {
        let clock = ContinuousClock()
        while true {
            // With VMIN = VTIME = 0 a tty read returns 0, not EAGAIN, when nothing has arrived.
            let count = Glibc.read(descriptor, buffer.baseAddress!, buffer.count)
            if count > 0 { return count }
            if count < 0 && errno == EIO { throw .disconnected(path: path) }
            if count < 0 && errno != EAGAIN && errno != EINTR { throw .io(path: path, operation: "read", reason: errnoText(errno)) }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero, try waitFor(events: Int16(POLLIN), timeoutMs: Self.pollMilliseconds(remaining)) else {
                return 0
            }
        }
    }

    /// Asks the driver to deliver bytes at once instead of batching them: the FTDI latency timer
    /// (16 ms by default) set to 1 ms through sysfs, or ASYNC_LOW_LATENCY for other adapters.
    /// Returns what was done, or why it could not be, with the fix.
    @discardableResult
    public func requestLowLatency() -> LowLatencyResult {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let timer = "/sys/bus/usb-serial/devices/\(name)/latency_timer"
        if access(timer, F_OK) == 0 {
            let fd = open(timer, O_WRONLY)
            if fd >= 0 {
                defer { close(fd) }
                if Glibc.write(fd, "1", 1) == 1 { return .set("FTDI latency timer set to 1 ms") }
            }
            return .unavailable("cannot write \(timer) (\(errnoText(errno))); run `echo 1 | sudo tee \(timer)` or add a udev rule")
        }
        var serial = serial_struct()
        guard reins_ioctl_ptr(descriptor, reins_tiocgserial(), &serial) == 0 else {
            return .unavailable("the driver does not report serial settings (a pty or a CDC-ACM device, which needs no latency setting)")
        }
        serial.flags |= Int32(reins_async_low_latency())
        guard reins_ioctl_ptr(descriptor, reins_tiocsserial(), &serial) == 0 else {
            return .unavailable("the driver refused ASYNC_LOW_LATENCY (\(errnoText(errno))); try `setserial \(path) low_latency`")
        }
        return .set("ASYNC_LOW_LATENCY set")
    }

    /// The outcome of `requestLowLatency()`.
    public enum LowLatencyResult: Equatable, Sendable {
        case set(String)
        case unavailable(String)
    }

    /// Waits until the line is ready for `events`; false when the time ran out.
    private func waitFor(events: Int16, timeoutMs: Int32) throws(HardwareError) -> Bool {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        let ready = poll(&entry, 1, timeoutMs)
        if ready < 0 {
            if errno == EINTR { return false }
            throw .io(path: path, operation: "poll", reason: errnoText(errno))
        }
        // A hang-up (adapter unplugged, pty closed) is final even when POLLIN comes with it.
        if entry.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
            throw .disconnected(path: path)
        }
        return ready > 0
    }

    static let standardBauds: [(baud: Int, speed: speed_t)] = [
        (9_600, speed_t(B9600)), (19_200, speed_t(B19200)), (38_400, speed_t(B38400)), (57_600, speed_t(B57600)),
        (115_200, speed_t(B115200)), (230_400, speed_t(B230400)), (460_800, speed_t(B460800)),
        (500_000, speed_t(B500000)), (576_000, speed_t(B576000)), (921_600, speed_t(B921600)),
        (1_000_000, speed_t(B1000000)), (1_152_000, speed_t(B1152000)), (1_500_000, speed_t(B1500000)),
        (2_000_000, speed_t(B2000000)), (2_500_000, speed_t(B2500000)), (3_000_000, speed_t(B3000000)),
        (3_500_000, speed_t(B3500000)), (4_000_000, speed_t(B4000000)),
    ]

    static func speed(forBaud baud: Int) -> speed_t? {
        standardBauds.first { $0.baud == baud }?.speed
    }
}
