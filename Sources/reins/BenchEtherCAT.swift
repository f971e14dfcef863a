import ArgumentParser
import CAllocationCounter
import Foundation
import ReinsControl
import ReinsCore
import ReinsHardware
import ReinsNN
import ReinsSim
import Synchronization

struct BenchEtherCAT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ethercat",
        abstract: "The EtherCAT process-data loop: achieved rate, wake-up jitter, frame round trip, working-counter failures, DC spread.",
        discussion: """
        A master brings the drives to OP with distributed clocks and SYNC0 at the cycle time, enables them in CSP and sends each a slow sine for --seconds on a SCHED_FIFO thread, one LRW (plus the clock's FRMW) per cycle. Jitter is how late each cycle woke after its deadline; the round trip is send to matching reply. By default the drives are emulated in this process and reached over loopback UDP; --veth puts them behind a veth pair in a network namespace (raw Ethernet, root); --udp or --iface bench a bus that is already there. With --load learner, SAC image updates (one BLAS thread) run flat out meanwhile.

        Example:
          reins bench ethercat --slaves 6 --rate 1000 --seconds 10 --json
          reins bench ethercat --veth --load learner --json
        """)

    @Option(help: "Emulated drives (in-process or --veth).") var slaves = 6
    @Option(help: "Cycles per second.") var rate = 1_000.0
    @Option(help: "How long to run.") var seconds = 10.0
    @Option(help: "none, or learner: SAC updates on another thread.") var load: LoopLoad = .none
    @Flag(help: "Emulate the drives behind a veth pair whose far end is in a network namespace this bench makes and removes (raw Ethernet; needs root).")
    var veth = false
    @Option(help: "Bench the slaves on this interface instead (raw Ethernet; root or CAP_NET_RAW).") var iface: String?
    @Option(help: ArgumentHelp("Bench the slaves at HOST:PORT over UDP instead.", valueName: "host:port")) var udp: String?
    @Flag(help: "Do not ask for SCHED_FIFO, to see what it buys.") var normalScheduling = false
    @Option(help: "Seed for the emulated drives.") var seed: UInt64 = 1
    @Flag(help: "Print one JSON object.") var json = false

    struct Output: Encodable {
        var benchmark = "ethercat"
        var transport: String
        var slaves: Int
        var load: String
        var rateHz: Double
        var achievedHz: Double
        var cycles: Int
        var overruns: Int
        var jitterP50Us: Double
        var jitterP99Us: Double
        var jitterMaxUs: Double
        var roundTripMedianUs: Double
        var roundTripP99Us: Double
        var roundTripMaxUs: Double
        var framesLost: Int
        var wkcFailures: Int
        var staleReplies: Int
        /// Largest system-time difference a slave reported during the run, and after it.
        var dcMaxDiffNs: Int64
        var dcMaxDiffEndNs: Int64
        var dcLockFrames: Int
        /// Heap allocations per cycle on the cyclic thread after its first second (or half the
        /// run); nil where the counter is unavailable (sanitizer builds).
        var allocationsPerCycle: Double?
        var learnerUpdates: Int
        var cpu: String
        var blasCore: String
        var fifoScheduling: Bool
        var memoryLocked: Bool
        var notes: [String]
    }

    func validate() throws {
        guard (1...64).contains(slaves) else { throw ValidationError("--slaves must be from 1 to 64") }
        guard rate > 0 && rate <= 10_000 else { throw ValidationError("--rate must be in (0, 10000] Hz") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard [veth, iface != nil, udp != nil].filter({ $0 }).count <= 1 else { throw ValidationError("choose at most one of --veth, --iface and --udp") }
        if let udp, EtherCATEndpoint.udp(udp) == nil { throw ValidationError("--udp takes HOST:PORT, not \"\(udp)\"") }
    }

    func run() throws {
        var segment: EtherCATSegment?
        var pair: VirtualEthernetPair?
        let endpoint: EtherCATEndpoint
        if let iface {
            endpoint = .interface(iface)
        } else if let udp {
            endpoint = EtherCATEndpoint.udp(udp)!
        } else {
            let emulated = EtherCATSegment(slaves: slaves, seed: seed)
            if veth {
                let made = try VirtualEthernetPair(prefix: "bench")
                pair = made
                try emulated.serve(on: .interface(made.slaveSide, namespace: made.namespace))
                endpoint = .interface(made.masterSide)
            } else {
                try emulated.serve(on: .udp(host: "127.0.0.1", port: 0))
                endpoint = emulated.endpoint!
            }
            segment = emulated
        }
        defer {
            segment?.stop()
            pair?.remove()
        }

        let master = EtherCATMaster(transport: try endpoint.openMaster())
        let period = Duration.nanoseconds(Int64((1e9 / rate).rounded()))
        let lockFrames = try master.configure(cycle: period)
        try master.enterOperational(period: period)
        let scaling = DriveScaling(countsPerRevolution: 131_072, gearRatio: 50, ratedTorqueNm: 1.27)
        let drives = try CiA402Drives(master: master, scaling: Array(repeating: scaling, count: master.slaves.count), mode: .cyclicPosition,
                                      faultAfter: 10)
        try drives.enable(period: period)

        let learner = load == .learner ? LearnerLoad() : nil
        learner?.start()
        let run = CyclicRun(drives: drives, rateHz: rate, seconds: seconds, priority: normalScheduling ? 0 : 80)
        let thread = Thread { run.loop() }
        thread.name = "reins ethercat bench"
        thread.start()
        run.waitUntilFinished()
        let updates = learner?.stop() ?? 0
        if let error = run.error { throw error }
        let dcEnd = try master.measureDCDifference()
        try drives.disable(period: period)

        func percentile(_ values: [Int64], _ p: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            return Double(sorted[min(sorted.count - 1, Int((Double(sorted.count) * p / 100).rounded(.down)))]) / 1000
        }
        let statistics = master.statistics
        let output = Output(
            transport: segment == nil ? endpoint.description : (veth ? "raw Ethernet on a veth pair (emulated)" : "udp loopback (emulated)"),
            slaves: master.slaves.count, load: load.rawValue, rateHz: rate, achievedHz: Double(run.lateness.count) / run.elapsedSeconds,
            cycles: run.lateness.count, overruns: run.overruns,
            jitterP50Us: percentile(run.lateness, 50), jitterP99Us: percentile(run.lateness, 99), jitterMaxUs: Double(run.lateness.max() ?? 0) / 1000,
            roundTripMedianUs: percentile(run.roundTrips, 50), roundTripP99Us: percentile(run.roundTrips, 99),
            roundTripMaxUs: Double(run.roundTrips.max() ?? 0) / 1000,
            framesLost: run.lost, wkcFailures: run.wrongCounts, staleReplies: statistics.staleReplies,
            dcMaxDiffNs: run.dcMaxDifference, dcMaxDiffEndNs: dcEnd, dcLockFrames: lockFrames,
            allocationsPerCycle: run.allocationsPerCycle, learnerUpdates: updates,
            cpu: cpuModelName(), blasCore: load == .learner ? BLAS.coreName : "none", fifoScheduling: run.realtime.fifoScheduling,
            memoryLocked: run.realtime.memoryLocked, notes: run.realtime.notes)
        if json {
            JSONLines.print(output)
        } else {
            print(String(format: "%d drives on %@ at %.0f Hz (%@ load): achieved %.1f Hz over %d cycles, %d overruns", output.slaves, output.transport,
                         rate, load.rawValue, output.achievedHz, output.cycles, output.overruns))
            print(String(format: "wake-up jitter: p50 %.1f µs, p99 %.1f µs, max %.1f µs", output.jitterP50Us, output.jitterP99Us, output.jitterMaxUs))
            print(String(format: "frame round trip: median %.1f µs, p99 %.1f µs, max %.1f µs", output.roundTripMedianUs, output.roundTripP99Us,
                         output.roundTripMaxUs))
            print("frames lost: \(output.framesLost), working-counter failures: \(output.wkcFailures), stale replies: \(output.staleReplies)")
            print("DC: largest difference \(output.dcMaxDiffNs) ns during the run, \(output.dcMaxDiffEndNs) ns after; locked in \(lockFrames) frames")
            print("allocations per cycle on the cyclic thread: " + (output.allocationsPerCycle.map { String(format: "%.3f", $0) } ?? "not counted (sanitizer build)"))
            if load == .learner { print("learner: \(updates) updates meanwhile (BLAS \(output.blasCore))") }
            print("CPU: \(output.cpu); SCHED_FIFO \(output.fifoScheduling ? "on" : "off"), memory \(output.memoryLocked ? "locked" : "not locked")")
            for note in output.notes { print("note: \(note)") }
        }
    }
}

/// The bench's cyclic thread: paced by a LoopClock, one drive exchange per tick, lateness and
/// round trip recorded into arrays reserved before the loop (nothing allocated in it). The
/// thread that starts `loop()` owns the drives until `waitUntilFinished()` returns.
final class CyclicRun: @unchecked Sendable {
    let drives: CiA402Drives
    let rateHz: Double
    let cycles: Int
    let priority: Int32
    private(set) var lateness: [Int64] = []
    private(set) var roundTrips: [Int64] = []
    private(set) var lost = 0
    private(set) var wrongCounts = 0
    private(set) var overruns = 0
    private(set) var dcMaxDifference: Int64 = 0
    private(set) var elapsedSeconds = 0.0
    private(set) var allocationsPerCycle: Double?
    private(set) var realtime = RealtimeSetup()
    private(set) var error: EtherCATError?
    private let finished = Atomic<Bool>(false)

    init(drives: CiA402Drives, rateHz: Double, seconds: Double, priority: Int32) {
        self.drives = drives
        self.rateHz = rateHz
        cycles = Int((rateHz * seconds).rounded())
        self.priority = priority
        lateness.reserveCapacity(cycles)
        roundTrips.reserveCapacity(cycles)
    }

    func loop() {
        defer { finished.store(true, ordering: .releasing) }
        realtime = ControlLoop.enterRealtime(priority: priority)
        reins_count_allocations_on_this_thread()
        let start = drives.feedback.map(\.positionRad)
        // Allocations are counted from the end of the first second (or half a shorter run).
        let warmCycles = min(Int(rateHz), cycles / 2)
        var warmAllocations = 0
        var clock = LoopClock(rateHz: rateHz)
        clock.start()
        let began = LoopClock.nowNs()
        do {
            for cycle in 0..<cycles {
                if cycle == warmCycles { warmAllocations = reins_counted_allocations() }
                if !clock.waitForNextTick() { overruns += 1 }
                lateness.append(clock.lastLatenessNs)
                let phase = Double(cycle) / rateHz
                for drive in start.indices { drives.setTargetPosition(drive, radians: start[drive] + 0.2 * sin(2 * .pi * phase / 4)) }
                let sent = LoopClock.nowNs()
                switch try drives.exchange() {
                case .ok: roundTrips.append(LoopClock.nowNs() - sent)
                case .lost: lost += 1
                case .workingCounter: wrongCounts += 1
                }
                dcMaxDifference = max(dcMaxDifference, drives.master.dcMaxDifferenceNs)
            }
        } catch {
            self.error = error
        }
        let counted = reins_counted_allocations()
        if counted >= 0, warmAllocations >= 0, cycles > warmCycles {
            allocationsPerCycle = Double(counted - warmAllocations) / Double(cycles - warmCycles)
        }
        elapsedSeconds = Double(LoopClock.nowNs() - began) * 1e-9
    }

    func waitUntilFinished() {
        while !finished.load(ordering: .acquiring) { usleep(10_000) }
    }
}

/// The CPU's model name from /proc/cpuinfo, for benchmark figures.
func cpuModelName() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
        return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }
    return "unknown"
}
