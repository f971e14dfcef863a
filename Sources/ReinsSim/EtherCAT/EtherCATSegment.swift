import Foundation
import ReinsCore
import ReinsHardware
import Synchronization

/// Faults an emulated segment injects, for tests of the master's handling.
public struct EtherCATFaults: Sendable, Equatable {
    /// Fraction of frames lost: half before the slaves see them, half on the way back.
    public var dropRate: Double
    /// Extra delay before every reply.
    public var delay: Duration
    /// Fraction of logical datagrams one random slave misses (the working counter comes back short).
    public var missRate: Double

    public init(dropRate: Double = 0, delay: Duration = .zero, missRate: Double = 0) {
        self.dropRate = dropRate
        self.delay = delay
        self.missRate = missRate
    }
}

/// A line of emulated EtherCAT slaves (ESCs with CiA 402 drives) that frames pass through in
/// order, as on a cable: auto-increment addresses count along it, broadcast reads OR every
/// slave's data, each slave adds to the working counter what it served, and the frame comes
/// back from the last slave present. Served on UDP or a network interface by a thread the
/// segment owns and stops (`stop`, or when the segment is released).
public final class EtherCATSegment: @unchecked Sendable {
    private let core: SegmentCore
    private var thread: Thread?

    /// Drives with the given specs; `driftPPM` per slave (default: spread over ±50 ppm, seeded).
    public init(drives: [EmulatedDriveSpec], driftPPM: [Double]? = nil, faults: EtherCATFaults = EtherCATFaults(), seed: UInt64 = 1) {
        precondition(!drives.isEmpty, "a segment needs at least one slave")
        var generator = SplitMix64(seed: seed)
        let now = Int64(FrameStamp.now())
        let slaves = drives.enumerated().map { index, spec in
            let drift = driftPPM?[index] ?? (Double(generator.next() % 10_001) / 100 - 50)
            // Each clock starts somewhere in its first ten minutes, as slaves powered at different times.
            let start = Int64(generator.next() % 600_000_000_000)
            return EmulatedESC(drive: spec, hostNs: now, clockStartNs: start, driftPPM: drift)
        }
        core = SegmentCore(state: SegmentState(slaves: slaves, faults: faults, generator: generator))
    }

    /// `count` identical drives with serial numbers 1…count, shafts at seeded positions.
    public convenience init(slaves count: Int, faults: EtherCATFaults = EtherCATFaults(), seed: UInt64 = 1) {
        var generator = SplitMix64(seed: seed ^ 0x5EED)
        let drives = (1...count).map { index in
            EmulatedDriveSpec(serialNumber: UInt32(index), initialPosition: Int32(generator.next() % 200_000) - 100_000)
        }
        self.init(drives: drives, faults: faults, seed: seed)
    }

    /// One drive per motor of an EtherCAT robot file, in cable order (each motor's id is its
    /// position), with the file's encoder counts and rated torque, shafts at the home pose.
    public convenience init(robot: RobotDefinition, faults: EtherCATFaults = EtherCATFaults(), seed: UInt64 = 1) throws(EtherCATError) {
        guard robot.busProtocol == .ethercat else {
            throw .configuration("\(robot.name) is a \(robot.busProtocol.rawValue) robot; emulate its servos with `reins bus emulate --robot \(robot.name)`")
        }
        let count = robot.motors.map(\.id).max() ?? 0
        var drives = (1...count).map { EmulatedDriveSpec(serialNumber: UInt32($0)) }
        for (index, motor) in robot.motors.enumerated() {
            guard let drive = motor.drive else { continue }
            let countsPerRadian = Double(drive.countsPerRevolution) * drive.gearRatio / (2 * .pi)
            drives[motor.id - 1] = EmulatedDriveSpec(
                name: "\(robot.name) \(motor.name) drive", serialNumber: UInt32(motor.id), countsPerRevolution: Int32(clamping: drive.countsPerRevolution),
                ratedTorqueMilliNm: UInt32((drive.ratedTorqueNm * 1000).rounded()), maxVelocity: Double(drive.countsPerRevolution) * 50,
                initialPosition: Int32(clamping: Int64((robot.homePoseRad[index] * countsPerRadian).rounded())))
        }
        self.init(drives: drives, faults: faults, seed: seed)
    }

    deinit { stop() }

    /// Where the segment listens (`udp 127.0.0.1:PORT`, an interface name), once serving.
    public private(set) var location = ""
    /// The endpoint a master reaches it at, once serving: a UDP port 0 asked for is the one the
    /// system gave.
    public private(set) var endpoint: EtherCATEndpoint?

    /// Starts answering frames on `endpoint` on a thread of its own.
    public func serve(on endpoint: EtherCATEndpoint) throws(EtherCATError) {
        precondition(thread == nil, "the segment is already serving")
        let transport = try endpoint.openSegment()
        location = transport.location
        if case .udp(let host, _) = endpoint, let udp = transport as? UDPTransport {
            self.endpoint = .udp(host: host, port: udp.boundPort)
        } else {
            self.endpoint = endpoint
        }
        let core = core
        core.transport = transport
        core.running.store(true, ordering: .releasing)
        core.finished.store(false, ordering: .releasing)
        let thread = Thread { core.serve() }
        thread.name = "reins ethercat segment"
        thread.start()
        self.thread = thread
    }

    /// Stops answering (within about 2 ms) and closes the socket.
    public func stop() {
        guard thread != nil else { return }
        core.running.store(false, ordering: .releasing)
        while !core.finished.load(ordering: .acquiring) { usleep(500) }
        thread = nil
    }

    /// Processes one frame in place (header room first, then the EtherCAT payload) as the
    /// serving thread does; false when it is lost (a fault, or no slave present).
    public func process(_ frame: inout [UInt8], headerRoom: Int) -> Bool {
        core.state.withLock { state in state.process(&frame, headerRoom: headerRoom, hostNs: Int64(FrameStamp.now())) }
    }

    public var slaveCount: Int { core.state.withLock { $0.slaves.count } }

    public var faults: EtherCATFaults {
        get { core.state.withLock { $0.faults } }
        set { core.state.withLock { $0.faults = newValue } }
    }

    /// Frames answered and lost so far.
    public var counters: (processed: Int, dropped: Int) { core.state.withLock { ($0.processed, $0.dropped) } }

    // MARK: Fault injection

    /// The slave at `position` (0-based) lets the next `count` logical datagrams pass untouched.
    public func missFrames(slave position: Int, count: Int) {
        core.state.withLock { $0.slaves[position].framesToMiss = count }
    }

    /// The slave drops to `state` with the error flag and `code`, as on a sync error.
    public func fallBack(slave position: Int, to state: ALState, code: ALStatusCode) {
        core.state.withLock { $0.slaves[position].fail(code, fallBackTo: state) }
    }

    /// SDO transfers of `index` on the slave are aborted with `code` (nil: no longer).
    public func abortSDO(slave position: Int, index: UInt16, code: SDOAbortCode?) {
        core.state.withLock { $0.slaves[position].forcedAborts[index] = code }
    }

    /// The slave at `position` and every one after it vanish (power lost, cable cut there);
    /// frames come back from the slave before.
    public func disconnect(from position: Int) {
        core.state.withLock { $0.present = min($0.present, position) }
    }

    public func reconnectAll() {
        core.state.withLock { $0.present = $0.slaves.count }
    }

    /// The drive at `position` faults with a CiA 402 error code on its next cycle.
    public func raiseDriveFault(slave position: Int, code: UInt16) {
        core.state.withLock { $0.slaves[position].drive.pendingFault = code }
    }

    // MARK: Physics outside the drives

    /// What every drive asks of its shaft, in cable order (`.off` for a drive not yet enabled).
    public func shaftCommands() -> [ShaftCommand] { core.state.withLock { $0.slaves.map(\.drive.shaftCommand) } }

    /// What physics outside the drives measured of their shafts, in cable order: from then on the
    /// drives publish these instead of moving motors of their own (the twin's physics calls this
    /// every step; the drives' states and the master's frames go on as before).
    public func measureShafts(_ measurements: [ShaftMeasurement]) {
        core.state.withLock { state in
            for (slave, measurement) in zip(state.slaves, measurements) { slave.drive.measure(measurement) }
        }
    }

    // MARK: Inspection

    /// The drive's shaft in counts.
    public func drivePosition(slave position: Int) -> Double { core.state.withLock { $0.slaves[position].drive.position } }

    public func setDrivePosition(slave position: Int, counts: Double) {
        core.state.withLock { $0.slaves[position].drive.setPosition(counts: counts) }
    }

    public func driveState(slave position: Int) -> CiA402.State { core.state.withLock { $0.slaves[position].drive.state } }

    public func alStatus(slave position: Int) -> (state: ALState, error: Bool, code: ALStatusCode) {
        core.state.withLock { ($0.slaves[position].state, $0.slaves[position].errorPending, $0.slaves[position].statusCode) }
    }

    /// Every slave's system time minus the first's at one instant, ns: what distributed-clock
    /// synchronisation is meant to make small.
    public func systemTimeSpread() -> Int64 {
        core.state.withLock { state in
            let now = Int64(FrameStamp.now())
            let times = state.slaves.prefix(state.present).map { $0.systemTime(atHost: now) }
            guard let low = times.min(), let high = times.max() else { return 0 }
            return high - low
        }
    }
}

/// What the serving thread and the test's thread share.
final class SegmentCore: @unchecked Sendable {
    let state: Lock<SegmentState>
    let running = Atomic<Bool>(false)
    let finished = Atomic<Bool>(true)
    /// Set before the serving thread starts; from then on only that thread touches it.
    var transport: (any EtherCATTransport)?

    init(state: SegmentState) {
        self.state = Lock(state)
    }

    func serve() {
        guard let transport else { return }
        defer {
            transport.close()
            self.transport = nil
            finished.store(true, ordering: .releasing)
        }
        // Real slaves answer whatever the host is busy with: a realtime priority where allowed.
        var parameters = sched_param()
        parameters.sched_priority = 70
        _ = pthread_setschedparam(pthread_self(), Int32(SCHED_FIFO), &parameters)
        var frame = [UInt8](repeating: 0, count: 1600)
        let clock = ContinuousClock()
        while running.load(ordering: .acquiring) {
            let received: Int?
            do {
                received = try frame.withUnsafeMutableBytes { raw in
                    try transport.receive(into: raw, until: clock.now + .milliseconds(1))
                }
            } catch {
                return
            }
            let hostNs = Int64(FrameStamp.now())
            guard let count = received else {
                state.withLock { $0.serviceApplications(hostNs: hostNs) }
                continue
            }
            var payload = Array(frame[0..<count])
            let (answered, delay) = state.withLock { state in
                (state.process(&payload, headerRoom: transport.headerRoom, hostNs: hostNs), state.faults.delay)
            }
            guard answered else { continue }
            if delay > .zero { LoopClock.sleep(for: delay) }
            do {
                try payload.withUnsafeMutableBytes { try transport.send($0) }
            } catch {
                return
            }
        }
    }
}

/// The slaves in cable order and the faults, behind the segment's lock.
struct SegmentState {
    var slaves: [EmulatedESC]
    var faults: EtherCATFaults
    var generator: SplitMix64
    /// Slaves still on the cable: the first `present`.
    var present: Int {
        didSet { connectLinks() }
    }
    var processed = 0
    var dropped = 0
    private var datagrams: [Datagram] = []
    /// Time a frame takes from one slave to the next (cable and forwarding), ns.
    static let hopNs: Int64 = 600

    init(slaves: [EmulatedESC], faults: EtherCATFaults, generator: SplitMix64) {
        self.slaves = slaves
        self.faults = faults
        self.generator = generator
        present = slaves.count
        connectLinks()
    }

    private func connectLinks() {
        for (position, slave) in slaves.enumerated() { slave.setLinks(downstream: position + 1 < present) }
    }

    private mutating func chance(_ rate: Double) -> Bool {
        rate > 0 && Double(generator.next() >> 11) / Double(1 << 53) < rate
    }

    mutating func serviceApplications(hostNs: Int64) {
        for slave in slaves.prefix(present) { slave.serviceApplication(hostNs: hostNs) }
    }

    /// Passes a frame along the slaves; false when it does not come back.
    mutating func process(_ frame: inout [UInt8], headerRoom: Int, hostNs: Int64) -> Bool {
        let lostOnTheWay = chance(faults.dropRate)
        let lostBefore = lostOnTheWay && generator.next() % 2 == 0
        if lostBefore || present == 0 {
            dropped += 1
            return false
        }
        guard frame.count >= headerRoom + EtherCATFrame.headerSize else { return false }
        datagrams.removeAll(keepingCapacity: true)
        let parse: FrameParse
        do {
            parse = try frame.withUnsafeBytes { raw in
                try EtherCATFrame.decode(UnsafeRawBufferPointer(rebasing: raw[headerRoom...])) { datagrams.append($0) }
            }
        } catch {
            return false  // a slave drops a frame it cannot parse, as a bad FCS would be
        }
        guard case .complete = parse else { return false }
        let missing = chance(faults.missRate) ? Int(generator.next() % UInt64(present)) : nil
        frame.withUnsafeMutableBytes { raw in
            let payload = UnsafeMutableRawBufferPointer(rebasing: raw[headerRoom...])
            for datagram in datagrams { pass(datagram, through: payload, hostNs: hostNs, missing: missing) }
        }
        serviceApplications(hostNs: hostNs)
        processed += 1
        if lostOnTheWay {
            dropped += 1
            return false
        }
        return true
    }

    private func pass(_ datagram: Datagram, through payload: UnsafeMutableRawBufferPointer, hostNs: Int64, missing: Int?) {
        let header = datagram.header
        let command = header.command
        var workingCounter = datagram.workingCounter
        var position = header.slaveAddress
        let data = datagram.dataOffset
        let length = header.length
        let offset = Int(header.offset)
        // A read-write datagram returns what the slave held and writes what the master sent.
        let sent: [UInt8]? = command.reads && command.writes && !command.isLogical
            ? Array(UnsafeRawBufferPointer(rebasing: payload[data..<(data + length)])) : nil
        for index in 0..<present {
            let slave = slaves[index]
            let arrival = hostNs + Int64(index) * Self.hopNs
            let returning = hostNs + Int64(2 * (present - 1) - index) * Self.hopNs
            if command.isLogical {
                guard missing != index else { continue }
                workingCounter &+= slave.logical(command, address: header.address, length: length, data: payload, dataOffset: data, hostNs: arrival)
                continue
            }
            let addressed: Bool
            if command.isPositional {
                addressed = position == 0
                position &+= 1
            } else if command.isConfigured {
                addressed = slave.stationAddress == header.slaveAddress
            } else if command.isBroadcast {
                addressed = true
                position &+= 1
            } else {
                continue  // NOP
            }
            switch command {
            case .armw, .frmw:
                if addressed {
                    if slave.read(offset, length, into: payload, at: data, or: false, hostNs: arrival) { workingCounter &+= 1 }
                } else if slave.write(offset, length, from: UnsafeRawBufferPointer(payload), at: data, hostNs: arrival, returnHostNs: returning) {
                    workingCounter &+= 1
                }
            default:
                guard addressed else { continue }
                if command.reads, slave.read(offset, length, into: payload, at: data, or: command.isBroadcast, hostNs: arrival) {
                    workingCounter &+= 1
                }
                guard command.writes else { continue }
                let wrote = if let sent {
                    sent.withUnsafeBytes { slave.write(offset, length, from: $0, at: 0, hostNs: arrival, returnHostNs: returning) }
                } else {
                    slave.write(offset, length, from: UnsafeRawBufferPointer(payload), at: data, hostNs: arrival, returnHostNs: returning)
                }
                if wrote { workingCounter &+= command.reads ? 2 : 1 }
            }
        }
        if command.isPositional || command.isBroadcast {
            payload.storeLittleEndian(position, at: data - EtherCATFrame.datagramHeaderSize + 2)
        }
        payload.storeLittleEndian(workingCounter, at: datagram.workingCounterOffset)
    }
}
