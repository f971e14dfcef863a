import ArgumentParser
import ReinsHardware

struct Ports: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List serial ports with their USB vendor:product and serial number.",
        discussion: """
        Servo bus adapters (Feetech URT-1, ROBOTIS U2D2, CH340 and FTDI boards) appear here. An empty list is a valid answer on a machine with none.

        Example:
          reins ports
          reins ports --json
        """)

    @Flag(help: "One JSON object per port.") var json = false

    func run() throws {
        let ports = try SerialPortList.ports()
        for port in ports {
            if json {
                JSONLines.print(port)
            } else {
                let usb = port.usbID.map { " usb \($0)" } ?? ""
                let serial = port.usbSerialNumber.map { " serial \($0)" } ?? ""
                print("\(port.path)  \(port.description)\(usb)\(serial)")
            }
        }
        if ports.isEmpty && !json { print("no serial ports found") }
    }
}
