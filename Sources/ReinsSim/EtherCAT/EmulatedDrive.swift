import ReinsHardware

/// What an emulated CiA 402 drive is: its identity and its motor.
public struct EmulatedDriveSpec: Sendable, Equatable {
    public var name: String
    public var vendorID: UInt32
    public var productCode: UInt32
    public var revision: UInt32
    public var serialNumber: UInt32
    /// Encoder counts per motor revolution.
    public var countsPerRevolution: Int32
    /// 0x6076, mN·m: what 1000 ‰ of target or actual torque is.
    public var ratedTorqueMilliNm: UInt32
    /// The motor's top speed, counts per second.
    public var maxVelocity: Double
    /// Rotor and reflected load, kg·m², and viscous friction, N·m·s/rad, at the motor.
    public var inertia: Double
    public var damping: Double
    /// Where the shaft is at power-on, counts.
    public var initialPosition: Int32

    public init(name: String = "Reins emulated CiA 402 drive", vendorID: UInt32 = 0x0000_0E1E, productCode: UInt32 = 0x0000_0402,
                revision: UInt32 = 0x0001_0000, serialNumber: UInt32 = 1, countsPerRevolution: Int32 = 131_072,
                ratedTorqueMilliNm: UInt32 = 1_270, maxVelocity: Double = 131_072 * 50, inertia: Double = 2e-4, damping: Double = 2e-3,
                initialPosition: Int32 = 0) {
        self.name = name
        self.vendorID = vendorID
        self.productCode = productCode
        self.revision = revision
        self.serialNumber = serialNumber
        self.countsPerRevolution = countsPerRevolution
        self.ratedTorqueMilliNm = ratedTorqueMilliNm
        self.maxVelocity = maxVelocity
        self.inertia = inertia
        self.damping = damping
        self.initialPosition = initialPosition
    }
}

/// What a drive asks of its shaft this cycle, motor side: what physics outside the drive (the
/// twin's) applies when it moves the shaft.
public enum ShaftCommand: Sendable, Equatable {
    /// Power off: the drive gives no torque (a holding brake, where the joint has one, engages).
    case off
    /// Torque at the motor, N·m (CST, already clamped to the drive's peak).
    case torque(Double)
    /// A position to hold, counts (CSP, and the stop a quick stop brakes to).
    case position(Double)
    /// A velocity, counts per second (CSV).
    case velocity(Double)
}

/// What physics outside the drive measured of its shaft, motor side.
public struct ShaftMeasurement: Sendable, Equatable {
    public var positionCounts: Double
    public var countsPerSecond: Double
    /// At the motor, N·m.
    public var torqueNm: Double

    public init(positionCounts: Double, countsPerSecond: Double, torqueNm: Double) {
        self.positionCounts = positionCounts
        self.countsPerSecond = countsPerSecond
        self.torqueNm = torqueNm
    }
}

/// A CiA 402 servo drive behind an emulated ESC: its object dictionary, its power state machine
/// driven by the controlword, modes CSP, CSV and CST, and a motor (an inertia with viscous
/// friction) it moves, or, once physics outside measures its shaft (the twin's), the command it
/// leaves for that physics. In CSP a target further than the following-error window (0x6065) from
/// the shaft faults the drive with 0x8611, as a real drive would after a jump.
final class EmulatedDrive {
    let spec: EmulatedDriveSpec
    var dictionary = ObjectDictionary()
    private(set) var state = CiA402.State.switchOnDisabled
    /// Motor-side, in counts and counts per second.
    private(set) var position: Double
    private(set) var velocity: Double = 0
    private var torquePerMille: Double = 0
    private var previousControlword: UInt16 = 0
    /// A fault a test injected, raised on the next step.
    var pendingFault: UInt16?
    /// Set once physics outside the drive moves its shaft (`measure`): the drive then leaves its
    /// command in `shaftCommand` and publishes what was measured instead of moving its own motor.
    private(set) var movedOutside = false
    private(set) var shaftCommand = ShaftCommand.off
    private var measuredTorqueNm = 0.0

    init(spec: EmulatedDriveSpec) {
        self.spec = spec
        position = Double(spec.initialPosition)
        buildDictionary()
        publish()
    }

    private func buildDictionary() {
        typealias Object = CiA402.Object
        var od = ObjectDictionary()
        od.add(0x1000, 0, [UInt8](littleEndian: UInt32(0x0002_0192)))  // a servo drive, profile 402
        od.addVariable(0x1008, Array(spec.name.utf8))
        od.addVariable(0x1009, Array("emulated 1.0".utf8))
        od.addVariable(0x100A, Array("reins".utf8))
        // Vendor-specific user memory, as drives keep for tuning notes: long enough to need segments.
        od.addVariable(0x2000, [UInt8](repeating: 0, count: 256), .readWrite)
        od.add(0x1018, 0, [4])
        od.add(0x1018, 1, [UInt8](littleEndian: spec.vendorID))
        od.add(0x1018, 2, [UInt8](littleEndian: spec.productCode))
        od.add(0x1018, 3, [UInt8](littleEndian: spec.revision))
        od.add(0x1018, 4, [UInt8](littleEndian: spec.serialNumber))
        od.add(0x1C00, 0, [4])
        for (sub, type) in [(1, 1), (2, 2), (3, 3), (4, 4)] as [(UInt8, UInt8)] { od.add(0x1C00, sub, [type]) }
        // Sync error settings: sub 2 the counter limit the DC sync-error counter trips at.
        od.add(0x10F1, 0, [2])
        od.add(0x10F1, 1, [0, 0, 0, 0], .readWrite)
        od.add(0x10F1, 2, [4, 0], .readWrite)
        // PDO mapping objects: two of each, both writable in PRE-OP; assignment as the default mapping.
        for pdo in [UInt16(0x1600), 0x1601, 0x1A00, 0x1A01] {
            od.add(pdo, 0, [0], .preOperationalWrite)
            for sub in 1...10 { od.add(pdo, UInt8(sub), [0, 0, 0, 0], .preOperationalWrite) }
        }
        for assignment in [UInt16(0x1C12), 0x1C13] {
            od.add(assignment, 0, [0], .preOperationalWrite)
            for sub in 1...2 { od.add(assignment, UInt8(sub), [0, 0], .preOperationalWrite) }
        }
        let mapping = PDOMapping.cyclicDrive
        for (assignment, pdos) in [(UInt16(0x1C12), mapping.outputs), (0x1C13, mapping.inputs)] {
            od.set(assignment, 0, UInt8(pdos.count))
            for (slot, pdo) in pdos.enumerated() {
                od.set(assignment, UInt8(slot + 1), pdo.pdo)
                od.set(pdo.pdo, 0, UInt8(pdo.entries.count))
                for (position, entry) in pdo.entries.enumerated() { od.set(pdo.pdo, UInt8(position + 1), entry.packed) }
            }
        }
        od.add(Object.controlword, 0, [0, 0], .readWrite, mappable: .rx)
        od.add(Object.targetPosition, 0, [UInt8](littleEndian: spec.initialPosition), .readWrite, mappable: .rx)
        od.add(Object.targetVelocity, 0, [0, 0, 0, 0], .readWrite, mappable: .rx)
        od.add(Object.targetTorque, 0, [0, 0], .readWrite, mappable: .rx)
        od.add(Object.modesOfOperation, 0, [UInt8(bitPattern: CiA402.Mode.cyclicPosition.rawValue)], .readWrite, mappable: .rx)
        od.add(0x60B1, 0, [0, 0, 0, 0], .readWrite, mappable: .rx)  // velocity offset
        od.add(0x60B2, 0, [0, 0], .readWrite, mappable: .rx)  // torque offset
        od.add(Object.statusword, 0, [0, 0], mappable: .tx)
        od.add(Object.positionActual, 0, [0, 0, 0, 0], mappable: .tx)
        od.add(Object.velocityActual, 0, [0, 0, 0, 0], mappable: .tx)
        od.add(Object.torqueActual, 0, [0, 0], mappable: .tx)
        od.add(Object.modesOfOperationDisplay, 0, [UInt8(bitPattern: CiA402.Mode.cyclicPosition.rawValue)], mappable: .tx)
        od.add(Object.errorCode, 0, [0, 0], mappable: .tx)
        od.add(Object.followingErrorActual, 0, [0, 0, 0, 0], mappable: .tx)
        od.add(Object.followingErrorWindow, 0, [UInt8](littleEndian: UInt32(spec.countsPerRevolution / 10)), .readWrite)
        od.add(Object.ratedTorque, 0, [UInt8](littleEndian: spec.ratedTorqueMilliNm), .readWrite)
        // CSP, CSV and CST (bits 7, 8, 9).
        od.add(Object.supportedModes, 0, [UInt8](littleEndian: UInt32(0x0380)))
        // 6: stop on the quick-stop ramp and stay in quick stop active (1–4 go on to switch on disabled).
        od.add(Object.quickStopOption, 0, [6, 0], .readWrite)
        dictionary = od
    }

    /// Leaving OP takes the drive's power away, as a drive that loses its process data does.
    func outputsInvalid() {
        if [.operationEnabled, .switchedOn, .readyToSwitchOn, .quickStopActive].contains(state) { state = .switchOnDisabled }
        publish()
    }

    /// The drive's cycle: reads the controlword and targets from the dictionary (the master's
    /// latest outputs), advances the state machine and the motor by `dt` seconds, and writes
    /// statusword and actual values back.
    func step(dt: Double) {
        typealias Object = CiA402.Object
        let controlword: UInt16 = dictionary.value(Object.controlword)
        if let fault = pendingFault {
            pendingFault = nil
            raise(fault)
        }
        advanceStateMachine(controlword)
        previousControlword = controlword

        let requested = CiA402.Mode(rawValue: dictionary.value(Object.modesOfOperation, as: Int8.self))
        if let requested, [.cyclicPosition, .cyclicVelocity, .cyclicTorque].contains(requested) {
            dictionary.set(Object.modesOfOperationDisplay, 0, requested.rawValue)
        }
        let mode = CiA402.Mode(rawValue: dictionary.value(Object.modesOfOperationDisplay, as: Int8.self)) ?? .cyclicPosition
        let rated = Double(spec.ratedTorqueMilliNm) / 1000
        let countsPerRad = Double(spec.countsPerRevolution) / (2 * .pi)
        let dt = min(max(dt, 0), 0.05)
        if movedOutside {
            command(mode: mode, rated: rated)
            publish()
            return
        }
        let before = velocity
        switch state {
        case .operationEnabled:
            switch mode {
            case .cyclicVelocity:
                velocity = clamp(Double(dictionary.value(Object.targetVelocity, as: Int32.self)), spec.maxVelocity)
                position += velocity * dt
            case .cyclicTorque:
                let torque = clamp(Double(dictionary.value(Object.targetTorque, as: Int16.self)) / 1000 * rated, 3 * rated)
                let radPerS = velocity / countsPerRad
                let acceleration = (torque - spec.damping * radPerS) / spec.inertia
                velocity = clamp((radPerS + acceleration * dt) * countsPerRad, spec.maxVelocity)
                position += velocity * dt
            default:
                let target = Double(dictionary.value(Object.targetPosition, as: Int32.self))
                let window = Double(dictionary.value(Object.followingErrorWindow, as: UInt32.self))
                if abs(target - position) > window {
                    raise(0x8611)
                } else {
                    let move = dt > 0 ? clamp(target - position, spec.maxVelocity * dt) : 0
                    velocity = dt > 0 ? move / dt : 0
                    position += move
                }
            }
        case .quickStopActive:
            velocity = 0
            // Option codes 1–4 end the quick stop with the power off once stopped.
            if (1...4).contains(dictionary.value(Object.quickStopOption, as: Int16.self)) { state = .switchOnDisabled }
        default:
            // Power off: the shaft coasts to a stop through its friction.
            let radPerS = velocity / countsPerRad
            let slowed = radPerS * max(0, 1 - spec.damping / spec.inertia * dt)
            velocity = abs(slowed) < 1e-3 ? 0 : slowed * countsPerRad
            position += velocity * dt
        }
        let accelerationRad = dt > 0 ? (velocity - before) / dt / countsPerRad : 0
        torquePerMille = state == .operationEnabled
            ? (spec.inertia * accelerationRad + spec.damping * velocity / countsPerRad) / rated * 1000 : 0
        publish()
    }

    private func clamp(_ value: Double, _ limit: Double) -> Double { min(max(value, -limit), limit) }

    /// The command for a shaft that physics outside moves: as `step` would move its own motor,
    /// a quick stop braking to where the shaft is and then, by its option code, powering off.
    private func command(mode: CiA402.Mode, rated: Double) {
        typealias Object = CiA402.Object
        switch state {
        case .operationEnabled:
            switch mode {
            case .cyclicTorque:
                shaftCommand = .torque(clamp(Double(dictionary.value(Object.targetTorque, as: Int16.self)) / 1000 * rated, 3 * rated))
            case .cyclicVelocity:
                shaftCommand = .velocity(clamp(Double(dictionary.value(Object.targetVelocity, as: Int32.self)), spec.maxVelocity))
            default:
                let target = Double(dictionary.value(Object.targetPosition, as: Int32.self))
                let window = Double(dictionary.value(Object.followingErrorWindow, as: UInt32.self))
                if abs(target - position) > window { raise(0x8611); shaftCommand = .off } else { shaftCommand = .position(target) }
            }
        case .quickStopActive:
            if case .position = shaftCommand {} else { shaftCommand = .position(position) }
            let stopped = abs(velocity) < Double(spec.countsPerRevolution) * 0.01
            if stopped && (1...4).contains(dictionary.value(Object.quickStopOption, as: Int16.self)) { state = .switchOnDisabled }
        default:
            shaftCommand = .off
        }
    }

    /// What physics outside the drive measured of its shaft; from the first call on, the drive
    /// no longer moves a motor of its own.
    func measure(_ measurement: ShaftMeasurement) {
        movedOutside = true
        position = measurement.positionCounts
        velocity = measurement.countsPerSecond
        measuredTorqueNm = measurement.torqueNm
    }

    private func raise(_ code: UInt16) {
        state = .fault
        velocity = 0
        dictionary.set(CiA402.Object.errorCode, 0, code)
    }

    private func advanceStateMachine(_ cw: UInt16) {
        let shutdown = cw & 0x87 == 0x06, switchOn = cw & 0x8F == 0x07, enable = cw & 0x8F == 0x0F
        let disableVoltage = cw & 0x82 == 0x00, quickStop = cw & 0x86 == 0x02
        switch state {
        case .notReadyToSwitchOn:
            state = .switchOnDisabled
        case .switchOnDisabled:
            if shutdown { state = .readyToSwitchOn }
        case .readyToSwitchOn:
            if switchOn { state = .switchedOn } else if disableVoltage || quickStop { state = .switchOnDisabled }
        case .switchedOn:
            if enable {
                state = .operationEnabled
            } else if shutdown {
                state = .readyToSwitchOn
            } else if disableVoltage || quickStop {
                state = .switchOnDisabled
            }
        case .operationEnabled:
            if switchOn {
                state = .switchedOn
            } else if shutdown {
                state = .readyToSwitchOn
            } else if disableVoltage {
                state = .switchOnDisabled
            } else if quickStop {
                state = .quickStopActive
            }
        case .quickStopActive:
            if disableVoltage { state = .switchOnDisabled }
        case .faultReactionActive:
            state = .fault
        case .fault:
            if cw & 0x80 != 0 && previousControlword & 0x80 == 0 {
                state = .switchOnDisabled
                dictionary.set(CiA402.Object.errorCode, 0, UInt16(0))
            }
        }
    }

    private func publish() {
        typealias Object = CiA402.Object
        var status = state.statusBits | 0x0200  // remote
        let mode = CiA402.Mode(rawValue: dictionary.value(Object.modesOfOperationDisplay, as: Int8.self))
        if state == .operationEnabled && [.cyclicPosition, .cyclicVelocity, .cyclicTorque].contains(mode) { status |= 0x1000 }  // following the command
        dictionary.set(Object.statusword, 0, status)
        let rounded = Int32(clamping: Int64(position.rounded()))
        dictionary.set(Object.positionActual, 0, rounded)
        dictionary.set(Object.velocityActual, 0, Int32(clamping: Int64(velocity.rounded())))
        if movedOutside {
            let rated = Double(spec.ratedTorqueMilliNm) / 1000
            torquePerMille = state == .operationEnabled || state == .quickStopActive ? measuredTorqueNm / rated * 1000 : 0
        }
        dictionary.set(Object.torqueActual, 0, Int16(clamping: Int64(torquePerMille.rounded())))
        dictionary.set(Object.followingErrorActual, 0, dictionary.value(Object.targetPosition, as: Int32.self) &- rounded)
    }

    /// Moves the shaft, as a hand or a load would with the power off.
    func setPosition(counts: Double) {
        position = counts
        publish()
    }
}
