import ReinsCore

/// How a drive's counts and per-mille become joint radians and newton-metres: the encoder's
/// counts per motor revolution, the gear ratio (motor turns per joint turn) and the motor's
/// rated torque (what 1000 ‰ is).
public struct DriveScaling: Sendable, Equatable {
    public var countsPerRevolution: Double
    public var gearRatio: Double
    public var ratedTorqueNm: Double

    public init(countsPerRevolution: Double, gearRatio: Double = 1, ratedTorqueNm: Double) {
        self.countsPerRevolution = countsPerRevolution
        self.gearRatio = gearRatio
        self.ratedTorqueNm = ratedTorqueNm
    }

    private var countsPerRadian: Double { countsPerRevolution * gearRatio / (2 * .pi) }

    public func radians(counts: Int32) -> Double { Double(counts) / countsPerRadian }
    public func counts(radians: Double) -> Int32 { Int32(clamping: Int64((radians * countsPerRadian).rounded())) }
    /// Joint-side torque from the drive's per-mille of motor rated torque.
    public func newtonMetres(perMille: Int16) -> Double { Double(perMille) / 1000 * ratedTorqueNm * gearRatio }
    public func perMille(newtonMetres: Double) -> Int16 {
        Int16(clamping: Int64((newtonMetres / (ratedTorqueNm * gearRatio) * 1000).rounded()))
    }
}

/// What one drive reported in the latest good cycle, in joint units.
public struct DriveFeedback: Sendable, Equatable {
    public var positionRad: Double = 0
    public var velocityRadPerS: Double = 0
    public var torqueNm: Double = 0
    public var statusword: UInt16 = 0
    public var errorCode: UInt16 = 0
    public var mode: CiA402.Mode?
    public var state: CiA402.State { CiA402.State(statusword: statusword) }

    public init() {}
}

/// CiA 402 drives on an EtherCAT master in OP: targets in radians, rad/s or N·m go out each
/// cycle, feedback comes back in the same units, and each drive's power state machine is
/// walked by its controlword.
///
/// Missed cycles are expected events: a cycle that is lost or comes back with the wrong working
/// counter leaves the last good feedback in place and is counted; after `faultAfter` in a row
/// the drives are faulted (`fault` says why) and sent a quick stop on every later cycle until
/// `resetFault()`. Owned by one thread, like its master.
public final class CiA402Drives {
    public let master: EtherCATMaster
    public let scaling: [DriveScaling]
    public let mode: CiA402.Mode
    /// Consecutive bad cycles before the drives are faulted and quick-stopped (the robot file's
    /// `wkc_fault_cycles`, 3 by default).
    public var faultAfter: Int
    public private(set) var feedback: [DriveFeedback]
    /// Bad cycles in a row so far.
    public private(set) var consecutiveFailures = 0
    /// Why the drives were stopped; nil while all is well.
    public private(set) var fault: EtherCATError?
    private var layout: [Layout] = []
    private var controlwords: [UInt16]
    private var targetPositions: [Int32]
    private var targetVelocities: [Int32]
    private var targetTorques: [Int16]

    /// Byte offsets of each drive's objects in the master's output and input images.
    private struct Layout {
        var controlword: Int
        var targetPosition: Int?
        var targetVelocity: Int?
        var targetTorque: Int?
        var mode: Int?
        var statusword: Int
        var positionActual: Int
        var velocityActual: Int?
        var torqueActual: Int?
        var modeDisplay: Int?
        var errorCode: Int?
    }

    /// Drives on every slave of `master`, which has its process data configured; the mode is
    /// set through the PDO or, when 0x6060 is not mapped, by SDO (the bus must be in PRE-OP or
    /// higher).
    public init(master: EtherCATMaster, scaling: [DriveScaling], mode: CiA402.Mode, faultAfter: Int = 3) throws(EtherCATError) {
        guard scaling.count == master.slaves.count else {
            throw .configuration("\(scaling.count) drives were described but the bus has \(master.slaves.count) slaves")
        }
        self.master = master
        self.scaling = scaling
        self.mode = mode
        self.faultAfter = faultAfter
        feedback = [DriveFeedback](repeating: DriveFeedback(), count: scaling.count)
        controlwords = [UInt16](repeating: CiA402.Command.disableVoltage, count: scaling.count)
        targetPositions = [Int32](repeating: 0, count: scaling.count)
        targetVelocities = [Int32](repeating: 0, count: scaling.count)
        targetTorques = [Int16](repeating: 0, count: scaling.count)
        typealias Object = CiA402.Object
        for slave in master.slaves {
            guard let mapping = slave.mapping else { throw .configuration("\(slave.label): its PDO mapping is not known") }
            let out = mapping.outputEntries, inp = mapping.inputEntries
            func output(_ index: UInt16) -> Int? { PDOMapping.byteOffset(of: index, in: out).map { $0 + slave.outputOffset } }
            func input(_ index: UInt16) -> Int? { PDOMapping.byteOffset(of: index, in: inp).map { $0 + slave.inputOffset - master.outputs.count } }
            guard let controlword = output(Object.controlword), let statusword = input(Object.statusword), let position = input(Object.positionActual) else {
                throw .configuration("\(slave.label): a CiA 402 drive needs the controlword (0x6040) mapped out and the statusword (0x6041) and actual position (0x6064) mapped in; it has \(mapping)")
            }
            let entry = Layout(controlword: controlword, targetPosition: output(Object.targetPosition), targetVelocity: output(Object.targetVelocity),
                               targetTorque: output(Object.targetTorque), mode: output(Object.modesOfOperation), statusword: statusword,
                               positionActual: position, velocityActual: input(Object.velocityActual), torqueActual: input(Object.torqueActual),
                               modeDisplay: input(Object.modesOfOperationDisplay), errorCode: input(Object.errorCode))
            let needed: (Int?, String) = switch mode {
            case .cyclicVelocity: (entry.targetVelocity, "target velocity (0x60FF)")
            case .cyclicTorque: (entry.targetTorque, "target torque (0x6071)")
            default: (entry.targetPosition, "target position (0x607A)")
            }
            guard needed.0 != nil else { throw .configuration("\(slave.label): \(mode) needs the \(needed.1) mapped; it has \(mapping)") }
            if entry.mode == nil {
                try master.sdoWrite(slave: slave.position, index: Object.modesOfOperation, subindex: 0, [UInt8(bitPattern: mode.rawValue)])
            }
            layout.append(entry)
        }
    }

    // MARK: Targets (joint units)

    /// Realtime: allocates nothing.
    public func setTargetPosition(_ drive: Int, radians: Double) { targetPositions[drive] = scaling[drive].counts(radians: radians) }
    public func setTargetVelocity(_ drive: Int, radiansPerSecond: Double) {
        targetVelocities[drive] = scaling[drive].counts(radians: radiansPerSecond)
    }
    public func setTargetTorque(_ drive: Int, newtonMetres: Double) { targetTorques[drive] = scaling[drive].perMille(newtonMetres: newtonMetres) }

    public var allEnabled: Bool { feedback.allSatisfy { $0.state == .operationEnabled } }

    // MARK: Cycles

    /// One cycle: the targets and controlwords go out, feedback comes back. After `faultAfter`
    /// bad cycles in a row the drives are faulted and quick-stopped. Realtime: allocates nothing.
    @discardableResult
    public func exchange() throws(EtherCATError) -> CycleOutcome {
        let quickStop = fault != nil
        let modeByte = UInt8(bitPattern: mode.rawValue)
        master.setOutputs { out in
            for (drive, entry) in layout.enumerated() {
                out.storeLittleEndian(quickStop ? CiA402.Command.quickStop : controlwords[drive], at: entry.controlword)
                if let at = entry.targetPosition { out.storeLittleEndian(targetPositions[drive], at: at) }
                if let at = entry.targetVelocity { out.storeLittleEndian(quickStop ? 0 : targetVelocities[drive], at: at) }
                if let at = entry.targetTorque { out.storeLittleEndian(quickStop ? 0 : targetTorques[drive], at: at) }
                if let at = entry.mode { out[at] = modeByte }
            }
        }
        let outcome = try master.cycle()
        guard outcome == .ok else {
            consecutiveFailures += 1
            if consecutiveFailures >= faultAfter && fault == nil {
                fault = switch outcome {
                case .workingCounter(let expected, let received):
                    .workingCounter(operation: "\(consecutiveFailures) process-data cycles in a row", expected: Int(expected), received: Int(received))
                default:
                    .timeout(operation: "\(consecutiveFailures) process-data cycles in a row", after: master.timeouts.frame * consecutiveFailures)
                }
            }
            return outcome
        }
        consecutiveFailures = 0
        master.inputs.withUnsafeBytes { image in
            for (drive, entry) in layout.enumerated() {
                feedback[drive].statusword = image.littleEndian(UInt16.self, at: entry.statusword)
                feedback[drive].positionRad = scaling[drive].radians(counts: image.littleEndian(Int32.self, at: entry.positionActual))
                if let at = entry.velocityActual { feedback[drive].velocityRadPerS = scaling[drive].radians(counts: image.littleEndian(Int32.self, at: at)) }
                if let at = entry.torqueActual { feedback[drive].torqueNm = scaling[drive].newtonMetres(perMille: image.littleEndian(Int16.self, at: at)) }
                if let at = entry.errorCode { feedback[drive].errorCode = image.littleEndian(UInt16.self, at: at) }
                if let at = entry.modeDisplay { feedback[drive].mode = CiA402.Mode(rawValue: Int8(bitPattern: image[at])) }
            }
        }
        return outcome
    }

    /// Cycles at `period` until every drive is in operation enabled, walking each one's state
    /// machine (a faulted drive is reset first). Before a drive is enabled its target is set to
    /// where it is and its velocity and torque targets to zero, so nothing jumps and no
    /// following-error fault trips; with `holding` (joint N·m per drive, an arm's gravity
    /// torques) torque drives start with those instead, so an arm whose brakes release does not
    /// drop. The mode must be confirmed by 0x6061 where it is mapped.
    public func enable(period: Duration = .milliseconds(1), timeout: Duration = .seconds(2), holding: [Double]? = nil) throws(EtherCATError) {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var seen = false
        while true {
            try exchange()
            if let fault { throw fault }
            if consecutiveFailures == 0 { seen = true }
            if seen {
                var done = true
                for drive in feedback.indices {
                    let state = feedback[drive].state
                    if state != .operationEnabled {
                        done = false
                        if state == .switchedOn || state == .readyToSwitchOn || state == .switchOnDisabled {
                            targetPositions[drive] = scaling[drive].counts(radians: feedback[drive].positionRad)
                            targetVelocities[drive] = 0
                            targetTorques[drive] = holding.map { scaling[drive].perMille(newtonMetres: $0[drive]) } ?? 0
                        }
                        controlwords[drive] = CiA402.nextCommand(toward: state, previous: controlwords[drive]) ?? CiA402.Command.enableOperation
                    } else if layout[drive].modeDisplay != nil && feedback[drive].mode != mode {
                        // The mode counts once 0x6061 shows it.
                        done = false
                    }
                }
                if done { return }
            }
            guard clock.now < deadline else {
                let stuck = feedback.indices.filter { feedback[$0].state != .operationEnabled || (feedback[$0].mode.map { $0 != mode } ?? false) }
                let detail = stuck.map { drive in
                    let f = feedback[drive]
                    let error = f.errorCode != 0 ? ", error \(CiA402.errorText(f.errorCode))" : ""
                    return "\(master.slaves[drive].label) is in \(f.state), mode \(f.mode?.description ?? "unknown")\(error)"
                }
                throw .configuration("drives not enabled within \(timeout): \(detail.joined(separator: "; "))")
            }
            LoopClock.sleep(for: period)
        }
    }

    /// Switches the drives' power off (disable voltage) over a few cycles.
    public func disable(period: Duration = .milliseconds(1)) throws(EtherCATError) {
        for drive in controlwords.indices { controlwords[drive] = CiA402.Command.disableVoltage }
        for _ in 0..<5 {
            try exchange()
            LoopClock.sleep(for: period)
        }
    }

    /// Clears a fault once its cause is gone: slaves that left OP meanwhile (a watchdog, a sync
    /// error) have their errors acknowledged and are taken back to OP with cycles flowing. The
    /// drives then need `enable` again.
    public func resetFault(period: Duration = .milliseconds(1)) throws(EtherCATError) {
        fault = nil
        consecutiveFailures = 0
        for drive in controlwords.indices { controlwords[drive] = CiA402.Command.disableVoltage }
        try master.enterOperational(period: period)
    }
}
