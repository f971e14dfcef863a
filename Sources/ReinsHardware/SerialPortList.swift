import CSerialPort

/// A serial port the system knows, with what its USB descriptor says about it.
public struct SerialPortInfo: Sendable, Equatable, Codable {
    public var path: String
    public var description: String
    /// usb, native or bluetooth.
    public var transport: String
    public var usbVendorID: Int?
    public var usbProductID: Int?
    public var usbSerialNumber: String?
    public var usbManufacturer: String?
    public var usbProduct: String?

    /// `vvvv:pppp` in hex, as lsusb prints it, for USB ports.
    public var usbID: String? {
        guard let usbVendorID, let usbProductID else { return nil }
        return Self.hex4(usbVendorID) + ":" + Self.hex4(usbProductID)
    }

    private static func hex4(_ value: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// Lists serial ports through libserialport (which cannot open ptys, but names USB adapters).
public enum SerialPortList {
    /// libserialport's version, e.g. "0.1.1".
    public static var libraryVersion: String { String(cString: sp_get_package_version_string()) }

    /// Every port the system reports; an empty list is a valid answer on a machine with none.
    public static func ports() throws(HardwareError) -> [SerialPortInfo] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let status = sp_list_ports(&list)
        guard status == SP_OK, let list else {
            let message = sp_last_error_message().map { text in
                defer { sp_free_error_message(text) }
                return String(cString: text)
            }
            throw .listing(reason: message ?? "libserialport error \(status.rawValue)")
        }
        defer { sp_free_port_list(list) }
        var ports: [SerialPortInfo] = []
        var index = 0
        while let port = list[index] {
            ports.append(info(of: port))
            index += 1
        }
        return ports.sorted { $0.path < $1.path }
    }

    private static func info(of port: OpaquePointer) -> SerialPortInfo {
        func text(_ value: UnsafeMutablePointer<CChar>?) -> String? { value.map { String(cString: $0) } }
        let transport = sp_get_port_transport(port)
        var info = SerialPortInfo(
            path: text(sp_get_port_name(port)) ?? "?",
            description: text(sp_get_port_description(port)) ?? "",
            transport: transport == SP_TRANSPORT_USB ? "usb" : transport == SP_TRANSPORT_BLUETOOTH ? "bluetooth" : "native")
        if transport == SP_TRANSPORT_USB {
            var vendor: Int32 = 0
            var product: Int32 = 0
            if sp_get_port_usb_vid_pid(port, &vendor, &product) == SP_OK {
                info.usbVendorID = Int(vendor)
                info.usbProductID = Int(product)
            }
            info.usbSerialNumber = text(sp_get_port_usb_serial(port))
            info.usbManufacturer = text(sp_get_port_usb_manufacturer(port))
            info.usbProduct = text(sp_get_port_usb_product(port))
        }
        return info
    }
}
