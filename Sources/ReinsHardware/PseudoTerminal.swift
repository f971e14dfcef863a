import CSerialPort
import Glibc

/// A pty pair: the controller side is held here, the device side has a path any serial code can
/// open. Emulated servo buses and tests use it in place of a USB adapter.
public final class PseudoTerminal {
    /// The controller side: what an emulator reads commands from and writes replies to.
    public let controller: Int32
    /// Kept open so the controller does not see a hang-up while no client has the path open.
    private let devicePlaceholder: Int32
    /// The device side's path, e.g. `/dev/pts/7`.
    public let devicePath: String

    public init() throws(HardwareError) {
        var controller: Int32 = -1
        var device: Int32 = -1
        guard openpty(&controller, &device, nil, nil, nil) == 0 else {
            throw .openFailed(path: "/dev/ptmx", reason: errnoText(errno))
        }
        var options = termios()
        tcgetattr(device, &options)
        cfmakeraw(&options)
        tcsetattr(device, TCSANOW, &options)
        var name = [CChar](repeating: 0, count: 128)
        guard ttyname_r(device, &name, name.count) == 0 else {
            close(controller)
            close(device)
            throw .openFailed(path: "/dev/ptmx", reason: "ttyname failed: \(errnoText(errno))")
        }
        self.controller = controller
        devicePlaceholder = device
        devicePath = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private var isOpen = true

    /// The baud rate a client last set on the device side (a pty moves bytes at any rate, but an
    /// emulated servo only hears a host at its own); 0 when it cannot be read.
    public var clientBaud: Int { Int(reins_get_baud_termios2(devicePlaceholder)) }

    deinit {
        hangUp()
    }

    /// Closes both sides, as unplugging an adapter does: a client's reads and writes then fail.
    public func hangUp() {
        guard isOpen else { return }
        isOpen = false
        close(devicePlaceholder)
        close(controller)
    }
}
