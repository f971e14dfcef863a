import ArgumentParser
import Foundation
import ReinsCore
import ReinsHardware
import ReinsSim

struct EtherCAT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ethercat",
        abstract: "The EtherCAT bus: emulate drives, scan slaves, read and write their objects, show and set their states.",
        discussion: """
        A bus is reached on a network interface (raw Ethernet, EtherType 0x88A4; needs root or CAP_NET_RAW) or over UDP (port 34980). Slaves are numbered from 1 in cable order.

        Example:
          reins ethercat emulate --slaves 3 --udp 127.0.0.1:34980 &
          reins ethercat scan --udp 127.0.0.1:34980
          reins ethercat sdo read --udp 127.0.0.1:34980 --slave 1 --index 0x1008 --type string
          reins ethercat state --udp 127.0.0.1:34980 --set PRE-OP
        """,
        subcommands: [Emulate.self, Scan.self, SDO.self, State.self])
}

/// Where the bus is: one of --iface or --udp.
struct EtherCATConnection: ParsableArguments {
    @Option(help: "A network interface with EtherCAT slaves on it, e.g. eth1 (needs root or CAP_NET_RAW).") var iface: String?
    @Option(help: "With --iface: the network namespace the interface is in (`ip netns`).") var netns: String?
    @Option(help: ArgumentHelp("EtherCAT over UDP to HOST:PORT (port 34980 when left out).", valueName: "host:port")) var udp: String?
    @Option(help: "Microseconds a frame may take to come back.") var frameTimeoutUs = 2_000

    func validate() throws {
        guard (iface == nil) != (udp == nil) else { throw ValidationError("give one of --iface IF or --udp HOST:PORT") }
        if let udp, EtherCATEndpoint.udp(udp) == nil { throw ValidationError("--udp takes HOST:PORT, e.g. 127.0.0.1:34980, not \"\(udp)\"") }
        guard netns == nil || iface != nil else { throw ValidationError("--netns goes with --iface") }
        guard frameTimeoutUs > 0 else { throw ValidationError("--frame-timeout-us must be positive") }
    }

    var endpoint: EtherCATEndpoint {
        if let iface { return .interface(iface, namespace: netns) }
        return EtherCATEndpoint.udp(udp ?? "")!
    }

    func openMaster() throws -> EtherCATMaster {
        var timeouts = EtherCATTimeouts()
        timeouts.frame = .microseconds(frameTimeoutUs)
        return EtherCATMaster(transport: try endpoint.openMaster(), timeouts: timeouts)
    }
}

/// "0x6041", "24641" or "6041h".
func parseObjectIndex(_ text: String) -> UInt16? {
    let lowered = text.lowercased()
    if lowered.hasPrefix("0x") { return UInt16(lowered.dropFirst(2), radix: 16) }
    if lowered.hasSuffix("h") { return UInt16(lowered.dropLast(), radix: 16) }
    return UInt16(lowered)
}

/// How an object's bytes are read and written on the command line.
enum ObjectType: String, ExpressibleByArgument, CaseIterable {
    case u8, u16, u32, u64, i8, i16, i32, i64, string, hex

    func format(_ bytes: [UInt8]) -> String {
        func need(_ count: Int) -> Bool { bytes.count >= count }
        switch self {
        case .u8 where need(1): return String(bytes[0])
        case .i8 where need(1): return String(Int8(bitPattern: bytes[0]))
        case .u16 where need(2): return String(bytes.littleEndian(UInt16.self))
        case .i16 where need(2): return String(bytes.littleEndian(Int16.self))
        case .u32 where need(4): return String(bytes.littleEndian(UInt32.self))
        case .i32 where need(4): return String(bytes.littleEndian(Int32.self))
        case .u64 where need(8): return String(bytes.littleEndian(UInt64.self))
        case .i64 where need(8): return String(bytes.littleEndian(Int64.self))
        case .string: return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        default: return bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
        }
    }

    func encode(_ text: String) -> [UInt8]? {
        func integer<T: FixedWidthInteger>(_: T.Type) -> [UInt8]? {
            let lowered = text.lowercased()
            let value = lowered.hasPrefix("0x") ? T(lowered.dropFirst(2), radix: 16) : T(text)
            return value.map { [UInt8](littleEndian: $0) }
        }
        switch self {
        case .u8: return integer(UInt8.self)
        case .i8: return integer(Int8.self)
        case .u16: return integer(UInt16.self)
        case .i16: return integer(Int16.self)
        case .u32: return integer(UInt32.self)
        case .i32: return integer(Int32.self)
        case .u64: return integer(UInt64.self)
        case .i64: return integer(Int64.self)
        case .string: return Array(text.utf8)
        case .hex:
            let digits = text.filter { !$0.isWhitespace }
            guard digits.count % 2 == 0 else { return nil }
            var bytes: [UInt8] = []
            var index = digits.startIndex
            while index < digits.endIndex {
                let next = digits.index(index, offsetBy: 2)
                guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
                bytes.append(byte)
                index = next
            }
            return bytes
        }
    }
}

extension EtherCAT {
    struct Emulate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Emulate a line of EtherCAT slaves (CiA 402 drives) until interrupted.",
            discussion: """
            Each slave is an emulated ESC: registers, an SII EEPROM, the AL state machine, a CoE mailbox with segmented SDO, sync managers and FMMUs, a distributed clock drifting by a few ppm, and the sync-manager watchdog (outputs that stop for 100 ms drop it to SAFE-OP with AL code 0x1B). Behind each is a CiA 402 drive (CSP, CSV, CST) turning a simple motor. Any master that configures slaves from their SII and CoE objects can bring them to OP. Faults can be injected for tests.

            Example:
              reins ethercat emulate --slaves 6 --udp 127.0.0.1:34980
              reins ethercat emulate --robot Tests/Fixtures/so101-ethercat/robot.yaml --udp 127.0.0.1:34980
              reins ethercat emulate --slaves 2 --iface veth1 --drop 0.05 --seed 3
            """)

        @Option(help: "Emulated drives on the line.") var slaves = 6
        @Option(help: "Emulate an EtherCAT robot's drives instead (a name or a robot file): one per motor, its encoder and torque, at its home pose.")
        var robot: String?
        @Option(help: "Answer on this network interface (raw Ethernet; root or CAP_NET_RAW).") var iface: String?
        @Option(help: "With --iface: the network namespace the interface is in.") var netns: String?
        @Option(help: ArgumentHelp("Answer EtherCAT over UDP on HOST:PORT (port 0: any free port).", valueName: "host:port")) var udp: String?
        @Option(help: "Fraction of frames to lose.") var drop = 0.0
        @Option(help: "Fraction of logical datagrams one slave misses (a short working counter).") var miss = 0.0
        @Option(help: "Extra microseconds before every reply.") var delayUs = 0
        @Option(help: "Seed for the shafts' start positions, the clocks' drift and fault injection.") var seed: UInt64 = 1

        func validate() throws {
            guard (1...64).contains(slaves) else { throw ValidationError("--slaves must be from 1 to 64") }
            guard (iface == nil) != (udp == nil) else { throw ValidationError("give one of --iface IF or --udp HOST:PORT") }
            if let udp, EtherCATEndpoint.udp(udp) == nil { throw ValidationError("--udp takes HOST:PORT, e.g. 127.0.0.1:34980, not \"\(udp)\"") }
            guard (0..<1).contains(drop), (0..<1).contains(miss) else { throw ValidationError("--drop and --miss are fractions from 0 to below 1") }
            guard delayUs >= 0 else { throw ValidationError("--delay-us cannot be negative") }
        }

        func run() throws {
            let stop = StopSignalWait()
            let faults = EtherCATFaults(dropRate: drop, delay: .microseconds(delayUs), missRate: miss)
            let segment = try robot.map { try EtherCATSegment(robot: try RobotCatalog.locate().robot($0), faults: faults, seed: seed) }
                ?? EtherCATSegment(slaves: slaves, faults: faults, seed: seed)
            let endpoint: EtherCATEndpoint = iface.map { .interface($0, namespace: netns) } ?? EtherCATEndpoint.udp(udp ?? "")!
            try segment.serve(on: endpoint)
            print(segment.location)
            let count = segment.slaveCount
            print("emulating \(count) CiA 402 drive\(count == 1 ? "" : "s")\(robot.map { " of \($0)" } ?? "") on \(segment.location); Ctrl-C stops")
            fflush(nil)
            stop.wait()
            segment.stop()
            let counters = segment.counters
            print("stopped; frames answered: \(counters.processed), lost: \(counters.dropped)")
        }
    }

    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find the slaves: position, station address, vendor, product, revision, name, state and PDO mapping.",
            discussion: """
            The slaves are reset to INIT, given station addresses from 0x1001 and their SII EEPROMs read; those with a CoE mailbox are brought to PRE-OP and their PDO assignment and mapping read over SDO.

            Example:
              reins ethercat scan --udp 127.0.0.1:34980
              reins ethercat scan --iface eth1 --json
            """)

        @OptionGroup var connection: EtherCATConnection
        @Flag(help: "One JSON object per slave.") var json = false

        struct Row: Encodable {
            var position: Int
            var stationAddress: UInt16
            var vendorId: UInt32
            var productCode: UInt32
            var revision: UInt32
            var serialNumber: UInt32
            var name: String
            var state: String
            var alStatusCode: String?
            var outputs: [String]?
            var inputs: [String]?
            var outputBytes: Int?
            var inputBytes: Int?
        }

        func run() throws {
            let master = try connection.openMaster()
            try master.scan()
            var mappings: [PDOMapping?] = Array(repeating: nil, count: master.slaves.count)
            if master.slaves.contains(where: { $0.information.supportsCoE }) {
                try master.enterPreOperational()
                for slave in master.slaves where slave.information.supportsCoE {
                    mappings[slave.position] = try master.readPDOMapping(slave: slave.position)
                }
            }
            for slave in master.slaves {
                let state = try master.refreshState(slave.position)
                let mapping = mappings[slave.position]
                let row = Row(position: slave.position + 1, stationAddress: slave.stationAddress, vendorId: slave.information.vendorID,
                              productCode: slave.information.productCode, revision: slave.information.revision,
                              serialNumber: slave.information.serialNumber, name: slave.information.name, state: state.state.description,
                              alStatusCode: state.errorPending ? state.statusCode.description : nil,
                              outputs: mapping?.outputEntries.map(\.description), inputs: mapping?.inputEntries.map(\.description),
                              outputBytes: mapping?.outputBytes, inputBytes: mapping?.inputBytes)
                if json {
                    JSONLines.print(row)
                } else {
                    print(String(format: "%d  0x%04X  vendor 0x%08X  product 0x%08X  rev 0x%08X  serial %u  %@  %@", row.position, row.stationAddress,
                                 row.vendorId, row.productCode, row.revision, row.serialNumber, row.state, row.name))
                    if let mapping { print("   \(mapping)") }
                }
            }
        }
    }

    struct SDO: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sdo",
            abstract: "Read or write a slave's CoE object (SDO upload or download).",
            discussion: """
            The bus is brought to PRE-OP first (mailboxes need it). Aborts are named in words.

            Example:
              reins ethercat sdo read --udp 127.0.0.1:34980 --slave 2 --index 0x6041 --type u16
              reins ethercat sdo write --udp 127.0.0.1:34980 --slave 2 --index 0x6065 --type u32 --value 20000
            """,
            subcommands: [Read.self, Write.self])

        struct Target: ParsableArguments {
            @OptionGroup var connection: EtherCATConnection
            @Option(help: "The slave, counted from 1 in cable order.") var slave: Int
            @Option(help: ArgumentHelp("The object index, e.g. 0x6041.", valueName: "index")) var index: String
            @Option(help: "The subindex.") var subindex: UInt8 = 0
            @Option(help: "How to show or parse the value: \(ObjectType.allCases.map(\.rawValue).joined(separator: ", ")).") var type: ObjectType = .hex

            func validate() throws {
                guard slave >= 1 else { throw ValidationError("--slave counts from 1") }
                guard parseObjectIndex(index) != nil else { throw ValidationError("--index takes an object index such as 0x6041, not \"\(index)\"") }
            }

            /// A master with the bus in PRE-OP, and the slave's position.
            func open() throws -> (EtherCATMaster, Int, UInt16) {
                let master = try connection.openMaster()
                try master.scan()
                guard slave <= master.slaves.count else {
                    throw CommandError("there is no slave \(slave): the bus has \(master.slaves.count)")
                }
                try master.enterPreOperational()
                return (master, slave - 1, parseObjectIndex(index)!)
            }
        }

        struct Output: Encodable {
            var slave: Int
            var index: String
            var subindex: UInt8
            var bytes: Int
            var value: String
        }

        struct Read: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Read an object (SDO upload).",
                discussion: "Example:\n  reins ethercat sdo read --udp 127.0.0.1:34980 --slave 1 --index 0x1008 --type string")
            @OptionGroup var target: Target
            @Flag(help: "One JSON object.") var json = false

            func run() throws {
                let (master, position, index) = try target.open()
                let bytes = try master.sdoRead(slave: position, index: index, subindex: target.subindex)
                let output = Output(slave: target.slave, index: String(format: "0x%04X", index), subindex: target.subindex, bytes: bytes.count,
                                    value: target.type.format(bytes))
                if json { JSONLines.print(output) } else { print(output.value) }
            }
        }

        struct Write: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write an object (SDO download).",
                discussion: "Example:\n  reins ethercat sdo write --udp 127.0.0.1:34980 --slave 1 --index 0x6065 --type u32 --value 20000")
            @OptionGroup var target: Target
            @Option(help: "The value, as --type reads it.") var value: String
            @Flag(help: "One JSON object.") var json = false

            func run() throws {
                guard let bytes = target.type.encode(value) else {
                    throw ValidationError("--value \"\(value)\" is not a \(target.type.rawValue)")
                }
                let (master, position, index) = try target.open()
                try master.sdoWrite(slave: position, index: index, subindex: target.subindex, bytes)
                let output = Output(slave: target.slave, index: String(format: "0x%04X", index), subindex: target.subindex, bytes: bytes.count,
                                    value: target.type.format(bytes))
                if json { JSONLines.print(output) } else { print("wrote \(output.value) to slave \(target.slave) 0x\(String(format: "%04X", index)):\(target.subindex)") }
            }
        }
    }

    struct State: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each slave's EtherCAT state and AL status code, or ask for a state.",
            discussion: """
            Without --set the slaves keep their state and configuration. --set INIT, PRE-OP or SAFE-OP walks them there (configuring mailboxes and process data on the way) and acknowledges a pending error; OP needs cyclic process data, which only a running master gives (`reins bench ethercat`, the robot commands).

            Example:
              reins ethercat state --udp 127.0.0.1:34980
              reins ethercat state --udp 127.0.0.1:34980 --set SAFE-OP --json
            """)

        @OptionGroup var connection: EtherCATConnection
        @Option(help: "INIT, PRE-OP or SAFE-OP.", transform: { text in
            guard let state = ALState(name: text) else { throw ValidationError("--set takes INIT, PRE-OP or SAFE-OP, not \"\(text)\"") }
            return state
        }) var set: ALState?
        @Flag(help: "One JSON object per slave.") var json = false

        struct Row: Encodable {
            var position: Int
            var name: String
            var state: String
            var error: Bool
            var alStatusCode: String
        }

        func validate() throws {
            guard set != .operational, set != .bootstrap else {
                throw ValidationError("--set OP needs cyclic process data, which ends with this command; use `reins bench ethercat` or the robot commands")
            }
        }

        func run() throws {
            let master = try connection.openMaster()
            try master.scan(reset: set != nil)
            if let set, set > .initial {
                try master.enterPreOperational()
                if set == .safeOperational {
                    for slave in master.slaves { _ = try master.readPDOMapping(slave: slave.position) }
                    try master.configureProcessData()
                    try master.requestState(.safeOperational)
                }
            }
            for slave in master.slaves {
                let state = try master.refreshState(slave.position)
                let row = Row(position: slave.position + 1, name: slave.information.name, state: state.state.description, error: state.errorPending,
                              alStatusCode: state.statusCode.description)
                if json {
                    JSONLines.print(row)
                } else {
                    print("\(row.position)  \(column(row.state, 8))\(row.error ? "error: AL status \(row.alStatusCode)  " : "")\(row.name)")
                }
            }
        }
    }
}
