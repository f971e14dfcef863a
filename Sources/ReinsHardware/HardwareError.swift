import Glibc

/// A serial line or device that failed; each case says what to check.
public enum HardwareError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The device could not be opened: check the path (`reins ports`), the cable, and that your
    /// user is in the `dialout` group.
    case openFailed(path: String, reason: String)
    /// Another process holds the device: close the other Reins, LeRobot or Dynamixel Wizard session.
    case inUse(path: String)
    /// The operating system or driver refused this baud rate: choose one the adapter supports.
    case unsupportedBaud(path: String, baud: Int)
    /// Fewer bytes than expected arrived in time: check power, baud rate and the servo ids.
    case timeout(path: String, expected: Int, received: Int, after: Duration)
    /// The device went away (unplugged, or the pty's other end closed): reconnect and restart.
    case disconnected(path: String)
    /// A system call failed with the given reason.
    case io(path: String, operation: String, reason: String)
    /// The serial port library failed while listing ports.
    case listing(reason: String)

    public var description: String {
        switch self {
        case .openFailed(let path, let reason): "\(path): cannot open: \(reason)"
        case .inUse(let path): "\(path): in use by another process; close it (another reins, LeRobot, Dynamixel Wizard) and retry"
        case .unsupportedBaud(let path, let baud): "\(path): the adapter or driver refused \(baud) baud; choose a standard rate such as 1000000"
        case .timeout(let path, let expected, let received, let after):
            "\(path): timed out after \(after) with \(received) of \(expected) bytes; check power, baud rate and ids"
        case .disconnected(let path): "\(path): the device disconnected; plug it back in and restart"
        case .io(let path, let operation, let reason): "\(path): \(operation) failed: \(reason)"
        case .listing(let reason): "listing serial ports failed: \(reason)"
        }
    }
}

/// The text of the current `errno`.
func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
