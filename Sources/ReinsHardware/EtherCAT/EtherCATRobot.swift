import ReinsCore

/// A robot whose joints are CiA 402 drives on EtherCAT, as the control loop, the safety layer
/// and the rest of Reins see robots.
///
/// Each `read` is one process-data cycle: the targets of the last `write` go out and the drives'
/// positions and velocities come back, in radians through the robot file's encoder counts and
/// gear ratios. A lost cycle or a wrong working counter fails that read (the loop holds, as it
/// does for a servo's missed reply); `wkc_fault_cycles` in a row fault the drives, which get a
/// quick stop, and every later read fails with the reason. The robot runs CSP: the loop sends
/// joint positions. Owned by the control loop's thread while it runs, like a servo bus.
public final class EtherCATRobot: Robot {
    public let definition: RobotDefinition
    public let drives: CiA402Drives
    public let location: String
    public var limits: [ClosedRange<Double>] { definition.motors.map(\.limitsRad) }
    /// The drive (slave position) of each motor, in motor order.
    private let driveOf: [Int]
    private let period: Duration

    /// Brings the bus at `endpoint` up for `definition` as far as SAFE-OP: finds the slaves (one
    /// per motor, the motor's id its position from 1), writes the robot file's PDO mapping into
    /// them or reads theirs, maps the process data, synchronises their clocks with SYNC0 at the
    /// bus rate. Inputs flow from then on; `setTorque(true)` takes the bus to OP and enables the
    /// drives, so no outputs are due (and no watchdog can trip) before the loop runs.
    public static func connect(_ definition: RobotDefinition, endpoint: EtherCATEndpoint,
                               timeouts: EtherCATTimeouts = EtherCATTimeouts()) throws(EtherCATError) -> EtherCATRobot {
        guard definition.busProtocol == .ethercat, let settings = definition.ethercat else {
            throw .configuration("\(definition.name) is a \(definition.busProtocol.rawValue) robot, not an EtherCAT one")
        }
        guard settings.mode == "csp" else {
            throw .configuration("\(definition.name): the robot interface sends joint positions, which needs mode csp (the robot file says \(settings.mode))")
        }
        let master = EtherCATMaster(transport: try endpoint.openMaster(), timeouts: timeouts)
        let found = try master.scan().count
        for motor in definition.motors where motor.id > found {
            throw .configuration("\(endpoint): motor \(motor.name) is drive \(motor.id) in \(definition.file.path), but the bus has \(found) slave\(found == 1 ? "" : "s"); check the cable and power, and `reins ethercat scan`")
        }
        var mapping: PDOMapping?
        if let outputs = settings.outputs, let inputs = settings.inputs {
            mapping = PDOMapping(outputs: [(0x1600, outputs.map(PDOEntry.init(packed:)))], inputs: [(0x1A00, inputs.map(PDOEntry.init(packed:)))])
        }
        let period = Duration.nanoseconds(Int64((1e9 / definition.rates.busHz).rounded()))
        try master.configure(mapping: mapping, cycle: period)
        var scaling = master.slaves.map { _ in DriveScaling(countsPerRevolution: 1, ratedTorqueNm: 1) }
        for motor in definition.motors {
            guard let drive = motor.drive else { throw .configuration("\(definition.name): motor \(motor.name) has no drive parameters") }
            scaling[motor.id - 1] = DriveScaling(countsPerRevolution: Double(drive.countsPerRevolution), gearRatio: drive.gearRatio,
                                                 ratedTorqueNm: drive.ratedTorqueNm)
        }
        let drives = try CiA402Drives(master: master, scaling: scaling, mode: .cyclicPosition, faultAfter: settings.workingCounterFaultCycles)
        return EtherCATRobot(definition: definition, drives: drives, location: endpoint.description, period: period)
    }

    init(definition: RobotDefinition, drives: CiA402Drives, location: String, period: Duration) {
        self.definition = definition
        self.drives = drives
        self.location = location
        self.period = period
        driveOf = definition.motors.map { $0.id - 1 }
    }

    public func read(into state: inout RobotState) throws(MotorBusError) {
        let outcome: CycleOutcome
        do {
            outcome = try drives.exchange()
        } catch {
            throw .port(error.description)
        }
        if let fault = drives.fault { throw .port("\(location): \(fault.description); the drives were sent a quick stop") }
        switch outcome {
        case .ok: break
        case .lost: throw .cycleMissed(location: location, detail: "the frame did not come back within \(drives.master.timeouts.frame)")
        case .workingCounter(let expected, let received):
            throw .cycleMissed(location: location, detail: "working counter \(received), expected \(expected)")
        }
        for (motor, drive) in driveOf.enumerated() {
            let feedback = drives.feedback[drive]
            if feedback.state == .fault {
                throw .hardwareError(motor: definition.motors[motor].name, id: UInt8(truncatingIfNeeded: drive + 1),
                                     detail: "drive fault \(CiA402.errorText(feedback.errorCode))")
            }
            state.positions[motor] = feedback.positionRad
            state.velocities[motor] = feedback.velocityRadPerS
        }
        state.timestampNs = LoopClock.nowNs()
    }

    public func write(targets: [Double]) throws(MotorBusError) {
        for (motor, drive) in driveOf.enumerated() { drives.setTargetPosition(drive, radians: targets[motor]) }
    }

    /// On: the bus goes to OP with cycles flowing (slaves that left it are acknowledged and
    /// brought back) and each drive walks to operation enabled holding where it is. Off: disable
    /// voltage, then SAFE-OP, so the outputs may stop without tripping a watchdog.
    public func setTorque(_ enabled: Bool) throws(MotorBusError) {
        do {
            if enabled {
                if drives.fault != nil {
                    try drives.resetFault(period: period)
                } else {
                    try drives.master.enterOperational(period: period)
                }
                try drives.enable(period: period)
            } else {
                try drives.disable(period: period)
                try drives.master.requestState(.safeOperational)
            }
        } catch {
            throw .port("\(location): \(error.description)")
        }
    }

    /// A frame's timeout is fixed by the master; the loop's cycle is the retry.
    public func limitTransactions(margin: Duration?) {}

    /// Drives report torque (N·m at the joint), not temperature here.
    public func diagnostics() throws(MotorBusError) -> (temperatures: [Double], efforts: [Double], effortUnit: String) {
        (driveOf.map { _ in Double.nan }, driveOf.map { drives.feedback[$0].torqueNm }, "N·m")
    }
}
