import ArgumentParser
import Foundation
import ReinsCore
import ReinsHardware
import ReinsSim

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print JSON: the numbers behind Reins' speed claims.",
        discussion: "Example:\n  reins bench bus --protocol feetech --seconds 5 --json",
        subcommands: [BenchBus.self, BenchEtherCAT.self, BenchLoop.self, BenchLearner.self, BenchInference.self, BenchSACPendulum.self, BenchSim.self])
}

struct BenchBus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus",
        abstract: "Sync read of present position plus sync write of goal position against an emulated bus on a pty.",
        discussion: """
        A pty has no wire timing, so the time per cycle is host overhead (driver, emulator, kernel); it is compared with the time the same bytes take on a 1 Mbps wire with return delay 0. With --protocol ethercat it runs `reins bench ethercat` with --motors emulated CiA 402 drives at 1 kHz (its own figures).

        Example:
          reins bench bus --protocol dynamixel --motors 6 --seconds 5
          reins bench bus --protocol feetech --json
        """)

    @Option(name: .customLong("protocol"), help: "dynamixel, feetech or ethercat.") var busProtocol: BusProtocol = .feetech
    @Option(help: "Servos (or EtherCAT drives) on the bus.") var motors = 6
    @Option(help: "How long to run.") var seconds = 5.0
    @Flag(help: "Dynamixel only: group reads as Fast Sync Read (one reply for all servos).") var fastSyncRead = false
    @Option(help: "Bench a bus already there (a real adapter, or `reins bus emulate` in another process) with ids 1…motors, instead of an emulator in this process.")
    var port: String?
    @Option(help: "Baud rate, with --port.") var baud = 1_000_000
    @Flag(help: "Print one JSON object.") var json = false

    struct Output: Encodable {
        var benchmark = "bus"
        var `protocol`: String
        var fastSyncRead: Bool
        var motors: Int
        var cycles: Int
        var cyclesPerS: Double
        var cycleMedianUs: Double
        var cycleP99Us: Double
        var retries: Int
        var timeouts: Int
        var wireBytesPerCycle: Int
        var wireTimeUs: Double
        var overheadRatio: Double
    }

    func validate() throws {
        guard (1...32).contains(motors) else { throw ValidationError("--motors must be from 1 to 32") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard !fastSyncRead || busProtocol == .dynamixel else { throw ValidationError("--fast-sync-read is a Dynamixel instruction") }
        guard busProtocol != .ethercat || port == nil else { throw ValidationError("--port is a serial device; for an EtherCAT bus use `reins bench ethercat --iface IF` or `--udp HOST:PORT`") }
    }

    func run() throws {
        if busProtocol == .ethercat {
            let drives = try BenchEtherCAT.parse(["--slaves", String(motors), "--seconds", String(seconds)] + (json ? ["--json"] : []))
            try drives.run()
            return
        }
        let model: MotorModel = busProtocol == .dynamixel ? .xm430W350 : .sts3215
        let ids = (1...motors).map { UInt8($0) }
        var emulator: ServoBusEmulator?
        if port == nil {
            emulator = try ServoBusEmulator(busProtocol: busProtocol, servos: ids.map { ($0, model) })
            emulator?.start()
        }
        defer { emulator?.stop() }
        let line = try SerialLine(path: port ?? emulator!.devicePath, baud: baud)
        line.requestLowLatency()
        let bus = makeBus(busProtocol, line: line, baud: baud, motors: ids.map { BusMotor(name: "servo \($0)", id: $0) },
                          returnDelay: .zero, margin: .milliseconds(10))
        (bus as? DynamixelBus)?.usesFastSyncRead = fastSyncRead
        let (present, goal) = busProtocol == .dynamixel
            ? (DynamixelControlTable.presentPosition, DynamixelControlTable.goalPosition)
            : (FeetechControlTable.presentPosition, FeetechControlTable.goalPosition)

        var positions = [Int32](repeating: 0, count: motors)
        let goals = [Int32](repeating: 2048, count: motors)
        // Warm the buffers, then time every cycle into a preallocated array.
        for _ in 0..<50 {
            try bus.syncRead(present, into: &positions)
            try bus.syncWrite(goal, goals)
        }
        var cycleNs = [Int64]()
        cycleNs.reserveCapacity(1_000_000)
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(Int64(seconds * 1000))
        while clock.now < end && cycleNs.count < cycleNs.capacity {
            let start = clock.now
            try bus.syncRead(present, into: &positions)
            try bus.syncWrite(goal, goals)
            let elapsed = start.duration(to: clock.now)
            cycleNs.append(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        cycleNs.sort()
        let median = Double(cycleNs[cycleNs.count / 2]) / 1000
        let p99 = Double(cycleNs[min(cycleNs.count - 1, cycleNs.count * 99 / 100)]) / 1000
        let wireBytes = Self.wireBytes(busProtocol, motors: motors, size: present.size, fast: fastSyncRead)
        let output = Output(
            protocol: busProtocol.rawValue, fastSyncRead: fastSyncRead, motors: motors, cycles: cycleNs.count,
            cyclesPerS: Double(cycleNs.count) / seconds, cycleMedianUs: median, cycleP99Us: p99,
            retries: bus.statistics.retries, timeouts: bus.statistics.timeouts,
            // 10 bits a byte at 1 Mbps: 10 µs a byte.
            wireBytesPerCycle: wireBytes, wireTimeUs: Double(wireBytes) * 10, overheadRatio: median / (Double(wireBytes) * 10))
        if json {
            JSONLines.print(output)
        } else {
            print("""
            \(busProtocol.rawValue), \(motors) servos: \(output.cycles) read+write cycles, \(String(format: "%.0f", output.cyclesPerS)) per second
            host time per cycle: median \(String(format: "%.1f", median)) µs, p99 \(String(format: "%.1f", p99)) µs; retries \(output.retries)
            the same \(wireBytes) bytes on a 1 Mbps wire (return delay 0): \(String(format: "%.0f", output.wireTimeUs)) µs; overhead ratio \(String(format: "%.3f", output.overheadRatio))
            """)
        }
    }

    /// Bytes a sync read (instruction and every reply) plus a sync write put on the wire.
    static func wireBytes(_ busProtocol: BusProtocol, motors: Int, size: Int, fast: Bool) -> Int {
        switch busProtocol {
        case .dynamixel where fast:
            (14 + motors) + 11 + DynamixelPacket.fastSyncReplyLength(count: motors, dataLength: size) + (14 + motors * (1 + size))
        case .dynamixel: (14 + motors) + motors * (11 + size) + (14 + motors * (1 + size))
        case .feetech: (8 + motors) + motors * (6 + size) + (8 + motors * (1 + size))
        case .ethercat: 0  // never asked: run() hands EtherCAT to `reins bench ethercat`
        }
    }
}
