import ReinsCore

/// Gives servos on a serial bus their ids and baud, one connected at a time, as an owner does
/// with factory-fresh servos (they all answer at id 1): find whatever answers at any id and baud,
/// write the id and baud, and confirm the servo answers there. Firmwares differ on whether a
/// write of the id or baud is acknowledged at the old or the new settings, so those replies are
/// not relied on; the ping at the new settings is the check.
public struct ServoSetup {
    public let port: String
    public let busProtocol: BusProtocol
    /// Added to each transaction's wire time (a USB adapter needs a few milliseconds).
    public var margin: Duration

    public init(port: String, busProtocol: BusProtocol, margin: Duration = .milliseconds(10)) {
        precondition(busProtocol != .ethercat, "EtherCAT drives have no ids or baud to set")
        self.port = port
        self.busProtocol = busProtocol
        self.margin = margin
    }

    /// Servos that answered, at one baud.
    public struct Found: Sendable, Equatable {
        public var baud: Int
        public var servos: [MotorIdentity]

        public init(baud: Int, servos: [MotorIdentity]) {
            self.baud = baud
            self.servos = servos
        }
    }

    /// Searches the bauds in `order` (then any other the protocol has) and returns every servo
    /// answering at the first baud where any does; nil when none answers at any. Each baud takes
    /// a ping of every id, so a search that finds nothing takes the longest.
    public func search(bauds order: [Int]) throws(HardwareError) -> Found? {
        let bauds = order.filter(busProtocol.supportedBauds.contains) + busProtocol.supportedBauds.filter { !order.contains($0) }
        let candidates = 0...busProtocol.maxMotorID
        for baud in bauds {
            let bus = try open(baud: baud)
            var servos: [MotorIdentity] = []
            for id in candidates {
                // A reply garbled by two servos answering at once counts as a servo there.
                do {
                    if let identity = try bus.ping(id: UInt8(id)) { servos.append(identity) }
                } catch .corrupt {
                    servos.append(MotorIdentity(id: UInt8(id), modelNumber: 0, firmware: 0))
                } catch {
                    throw .io(path: port, operation: "ping id \(id) at \(baud) baud", reason: error.description)
                }
            }
            if !servos.isEmpty { return Found(baud: baud, servos: servos) }
        }
        return nil
    }

    /// Writes `id` and `baud` into the servo that answers at `from` (at `fromBaud`), then pings it
    /// at the new settings; its identity there, or nil when it does not answer.
    public func assign(from: UInt8, at fromBaud: Int, id: UInt8, baud: Int) throws(HardwareError) -> MotorIdentity? {
        let registers = Registers(busProtocol)
        guard let baudCode = registers.baudRates.code(for: baud) else {
            throw .io(path: port, operation: "setting \(baud) baud", reason: "\(busProtocol.rawValue) servos cannot run at it")
        }
        // The port is held exclusively: the line at the old baud is closed before the new one opens.
        func writeSettings() throws(HardwareError) {
            let old = try open(baud: fromBaud)
            do {
                // EEPROM takes writes only with torque off (and, on Feetech, unlocked).
                try old.write(old.torqueEnable, id: from, value: 0)
                if let lock = registers.lock { try old.write(lock, id: from, value: 0) }
                if id != from { try Self.unacknowledged { () throws(MotorBusError) in try old.write(registers.id, id: from, value: Int32(id)) } }
                if baud != fromBaud { try Self.unacknowledged { () throws(MotorBusError) in try old.write(registers.baud, id: id, value: Int32(baudCode)) } }
            } catch {
                throw .io(path: port, operation: "writing id \(id) and \(baud) baud into the servo at id \(from)", reason: error.description)
            }
        }
        try writeSettings()
        let new = try open(baud: baud)
        do {
            if let lock = registers.lock {
                try Self.unacknowledged { () throws(MotorBusError) in try new.write(lock, id: id, value: 1) }
            }
            return try new.ping(id: id)
        } catch {
            return nil
        }
    }

    /// Runs a write whose acknowledgement may be lost (it can come at the new id or baud): a
    /// timeout or a garbled reply is no failure; anything else (the servo refusing) is.
    private static func unacknowledged(_ write: () throws(MotorBusError) -> Void) throws(MotorBusError) {
        do {
            try write()
        } catch .timeout {
        } catch .corrupt {
        }
    }

    private func open(baud: Int) throws(HardwareError) -> any MotorBus {
        let line = try SerialLine(path: port, baud: baud)
        _ = line.requestLowLatency()
        switch busProtocol {
        case .dynamixel: return DynamixelBus(line: line, baud: baud, motors: [], margin: margin, maxRetries: 0)
        case .feetech: return FeetechBus(line: line, baud: baud, motors: [], margin: margin, maxRetries: 0)
        case .ethercat: preconditionFailure("refused in init")
        }
    }

    /// The registers setting up a servo touches beyond the bus's own (torque), in its protocol's
    /// control table.
    private struct Registers {
        let id: Register
        let baud: Register
        let baudRates: BaudRateCodes
        /// Feetech's EEPROM lock; Dynamixel has none.
        let lock: Register?

        init(_ busProtocol: BusProtocol) {
            switch busProtocol {
            case .dynamixel:
                (id, baud, baudRates, lock) = (DynamixelControlTable.id, DynamixelControlTable.baudRate, DynamixelControlTable.baudRates, nil)
            default:
                (id, baud, baudRates, lock) = (FeetechControlTable.id, FeetechControlTable.baudRate, FeetechControlTable.baudRates,
                                               FeetechControlTable.lock)
            }
        }
    }
}
