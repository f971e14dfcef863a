import Foundation
import ReinsCore
import ReinsHardware
import Synchronization

/// Faults an emulated bus injects into its replies, for tests of the drivers' recovery.
public struct BusFaults: Sendable, Equatable {
    /// Fraction of replies never sent.
    public var dropRate: Double
    /// Fraction of replies with one bit flipped after the header.
    public var corruptRate: Double
    /// Extra delay before every reply.
    public var delay: Duration

    public init(dropRate: Double = 0, corruptRate: Double = 0, delay: Duration = .zero) {
        self.dropRate = dropRate
        self.corruptRate = corruptRate
        self.delay = delay
    }
}

/// A bus of emulated servos on a pty: a driver opens `devicePath` as it would a USB adapter.
///
/// Each servo keeps its whole control table in memory; EEPROM registers are writable only with
/// torque off (a Dynamixel servo answers an Access error); status return level and return delay
/// are honoured; a broadcast ping is answered by every servo in id order. A simple servo model
/// moves the present position toward the goal at the servo's top speed while torque is on.
/// Fast Sync Read is emulated; Fast Bulk Read is not.
public final class ServoBusEmulator: TwinScene, @unchecked Sendable {
    public let busProtocol: BusProtocol
    /// The pty and the servos' state, shared with the serving and physics threads; they hold
    /// this, never the emulator, so dropping the emulator stops them (its `deinit` does).
    private let line: EmulatedLine
    private var pty: PseudoTerminal { line.pty }
    private var thread: Thread?
    private var physics: TwinPhysics?

    public var devicePath: String { pty.devicePath }

    /// Servos with the given ids and models; all models must speak `busProtocol`.
    public init(busProtocol: BusProtocol, servos: [(id: UInt8, model: MotorModel)], faults: BusFaults = BusFaults(),
                seed: UInt64 = 1) throws(HardwareError) {
        precondition(busProtocol != .ethercat, "CiA 402 drives are emulated by EtherCATSegment")
        precondition(servos.allSatisfy { $0.model.busProtocol == busProtocol }, "every servo must speak \(busProtocol)")
        self.busProtocol = busProtocol
        line = EmulatedLine(pty: try PseudoTerminal(),
                            state: EmulatorState(busProtocol: busProtocol, servos: servos.map { EmulatedServo(id: $0.id, model: $0.model) },
                                                 faults: faults, generator: SplitMix64(seed: seed)))
    }

    /// A robot's servos as they leave the factory, connected one at a time, last motor first (see
    /// `FactorySetup`): the first is on the bus at id 1 and its model's default baud, and a servo hears only a host
    /// at its own baud.
    public static func factoryFresh(robot: RobotDefinition, seed: UInt64 = 1) throws(HardwareError) -> ServoBusEmulator {
        guard robot.busProtocol != .ethercat else {
            throw .openFailed(path: robot.file.path, reason: "\(robot.name) has CiA 402 drives on EtherCAT: they have no factory ids to set")
        }
        let emulator = try ServoBusEmulator(robot: robot, seed: seed)
        // Last motor first, as `reins setup-motors` (and LeRobot) asks for them.
        let order = robot.motors.reversed()
        emulator.line.state.withLock { state in
            var boxed = order.map { EmulatedServo.factoryFresh($0.model) }
            state.servos = [boxed.removeFirst()]
            state.factory = FactorySetup(motors: order.map { ($0.name, UInt8($0.id)) }, baud: robot.baud, boxed: boxed)
            state.hearsOnlyItsBaud = true
        }
        return emulator
    }

    /// The servos of a robot file; `busProtocol` swaps every motor for the other protocol's
    /// model (sts3215 or xm430-w350) with the same id.
    public convenience init(robot: RobotDefinition, busProtocol: BusProtocol? = nil, faults: BusFaults = BusFaults(),
                            seed: UInt64 = 1) throws(HardwareError) {
        let chosen = busProtocol ?? robot.busProtocol
        guard chosen != .ethercat else {
            throw .openFailed(path: robot.file.path, reason: "\(robot.name) has CiA 402 drives on EtherCAT; emulate them with `reins ethercat emulate --robot \(robot.name)`")
        }
        let servos = robot.motors.map { motor -> (id: UInt8, model: MotorModel) in
            let model = motor.model.busProtocol == chosen ? motor.model : (chosen == .feetech ? .sts3215 : .xm430W350)
            return (UInt8(motor.id), model)
        }
        try self.init(busProtocol: chosen, servos: servos, faults: faults, seed: seed)
    }

    deinit {
        stop()
    }

    /// Starts answering on a thread of its own; `events` hears what a person did on the bus (a
    /// factory-fresh servo swapped for the next), from that thread.
    public func start(events: (@Sendable (String) -> Void)? = nil) {
        guard !line.running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let line = line
        line.listen(events)
        let thread = Thread { line.serve() }
        thread.name = "reins bus emulator"
        thread.start()
        self.thread = thread
    }

    /// Stops answering (within about 10 ms).
    public func stop() {
        physics?.stop()
        physics = nil
        line.running.store(false, ordering: .releasing)
        while thread != nil && !line.finished.load(ordering: .acquiring) { usleep(1000) }
        thread = nil
    }

    /// Stops answering and closes the pty, as pulling the USB adapter out does.
    public func hangUp() {
        stop()
        pty.hangUp()
    }

    /// A servo's position in raw ticks, as the motor shaft is (before homing offset).
    public func position(id: UInt8) -> Double? {
        line.state.withLock { $0.servo(id)?.positionTicks }
    }

    /// Moves a servo's shaft, as a hand would with torque off.
    public func setPosition(id: UInt8, ticks: Double) {
        line.state.withLock { state in
            guard let index = state.servos.firstIndex(where: { $0.id == id }) else { return }
            state.servos[index].positionTicks = ticks
            state.servos[index].refreshPresent()
        }
    }

    /// Gives a servo a hardware fault: Dynamixel servos set the alert bit in every reply and the
    /// bits in Hardware Error Status; Feetech servos put the bits in their status byte. 0 clears it.
    public func setHardwareError(id: UInt8, flags: UInt8) {
        line.state.withLock { state in
            guard let index = state.servos.firstIndex(where: { $0.id == id }) else { return }
            state.servos[index].hardwareError = flags
            if state.busProtocol == .dynamixel {
                state.servos[index].store(DynamixelControlTable.hardwareErrorStatus, Int32(flags))
            }
        }
    }

    /// Drives the servos with a robot's twin from now on: a thread steps its physics in real time,
    /// goal positions written over the bus become the actuators' targets, torque off makes a joint
    /// limp, and present position, speed and load come from the simulation. The twin's joints map
    /// to shaft ticks as the simulated robot's calibration has it: 2048 + angle · 4096 / 2π.
    /// The arm starts at its home pose, torque off, as real servos power up.
    ///
    /// With `cameras`, a thread below the physics renders each of the robot's cameras at its size
    /// and rate from the latest state, dropping the frames it has no time for, and hands the RGB
    /// frames to `cameras.sink` (to be streamed, say). With `hands`, a person's
    /// hands calibrate the arm as `reins calibrate` asks (see `CalibratingHands`).
    public func drive(with twin: RobotTwin, cameras: CameraFeed? = nil, hands: Bool = false) {
        let physics = TwinPhysics(twin: twin, ids: twin.robot.motors.map { UInt8($0.id) }, cameras: cameras,
                                  hands: hands ? CalibratingHands(robot: twin.robot) : nil)
        line.state.withLock { state in
            state.markPhysicsDriven()
            for (index, id) in physics.ids.enumerated() {
                guard let servo = state.servos.firstIndex(where: { $0.id == id }) else { continue }
                let ticks = TwinPhysics.ticks(radians: twin.robot.homePoseRad[index])
                state.servos[servo].measure(positionTicks: ticks, ticksPerSecond: 0, loadFraction: 0)
                let goal = state.busProtocol == .dynamixel ? DynamixelControlTable.goalPosition : FeetechControlTable.goalPosition
                state.servos[servo].store(goal, Int32(ticks.rounded()))
            }
        }
        physics.start(line)
        self.physics = physics
    }

    /// The twin's camera frames rendered so far and those dropped for lack of time, while it drives
    /// the servos with cameras.
    public var cameraFrames: (rendered: Int, dropped: Int)? { physics?.cameraFrames }

    /// The twin's joint positions in radians (motor order), while it drives the servos.
    public var twinJointPositions: [Double]? { physics?.jointPositions }

    /// The twin's cube (base frame, metres), while it drives the servos and its scene has one.
    public var cubePosition: Vector3? { physics?.cubePosition }

    /// Puts the twin's cube at `position`, at rest (a task's reset).
    public func placeCube(at position: Vector3) {
        physics?.placeCube(at: position)
    }

    /// Replies dropped and corrupted so far.
    public var injectedFaults: (dropped: Int, corrupted: Int) {
        line.state.withLock { ($0.dropped, $0.corrupted) }
    }

}


/// What the emulator's threads share: the pty, the servos' state, and the serving thread's flags.
final class EmulatedLine: @unchecked Sendable {
    let pty: PseudoTerminal
    let state: Lock<EmulatorState>
    let running = Atomic<Bool>(false)
    /// Set by the serving thread as it exits, so `stop()` can wait for it.
    let finished = Atomic<Bool>(false)
    /// Who hears what a person did on the bus; set by `start`, called from the serving and physics threads.
    private let listener = Lock<(@Sendable (String) -> Void)?>(nil)

    func listen(_ events: (@Sendable (String) -> Void)?) { listener.withLock { $0 = events } }

    func announce(_ event: String) {
        listener.withLock { $0 }?(event)
    }

    init(pty: PseudoTerminal, state: EmulatorState) {
        self.pty = pty
        self.state = Lock(state)
    }

    /// Writes of a homing offset so far, over every servo.
    var homingOffsetWrites: Int { state.withLock { $0.servos.reduce(0) { $0 + $1.homingOffsetWrites } } }

    /// A servo's torque state and goal as a shaft position, for the twin's physics.
    func goal(id: UInt8) -> (torqueOn: Bool, shaftTicks: Double)? {
        state.withLock { state in state.servo(id).map { ($0.torqueOn, $0.goalShaftTicks) } }
    }

    /// Stores what the twin's physics measured for a servo.
    func measure(id: UInt8, positionTicks: Double, ticksPerSecond: Double, loadFraction: Double) {
        state.withLock { state in
            guard let index = state.servos.firstIndex(where: { $0.id == id }) else { return }
            state.servos[index].measure(positionTicks: positionTicks, ticksPerSecond: ticksPerSecond, loadFraction: loadFraction)
        }
    }

    func serve() {
        defer { finished.store(true, ordering: .releasing) }
        // Real servos answer whatever the host is busy with: when allowed, answer at a realtime
        // priority (below the control loop's 80), so a learner saturating the cores in the same
        // process does not make the emulated bus time out.
        var parameters = sched_param()
        parameters.sched_priority = 70
        _ = pthread_setschedparam(pthread_self(), Int32(SCHED_FIFO), &parameters)
        var input = [UInt8](repeating: 0, count: 4096)
        while running.load(ordering: .acquiring) {
            var entry = pollfd(fd: pty.controller, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 10) > 0 else {
                if let event = state.withLock({ $0.plugNextServo(now: .now) }) { announce(event) }
                continue
            }
            let count = read(pty.controller, &input, input.count)
            guard count > 0 else {
                if count < 0 && errno != EAGAIN && errno != EINTR && errno != EIO { return }
                usleep(1000)  // EIO: no client has the device open yet
                continue
            }
            let hostBaud = pty.clientBaud
            let replies = state.withLock { state in state.receive(input[0..<count], hostBaud: hostBaud) }
            for reply in replies {
                if reply.delay > .zero { LoopClock.sleep(for: reply.delay) }
                _ = reply.bytes.withUnsafeBytes { write(pty.controller, $0.baseAddress, $0.count) }
            }
        }
    }
}

/// One reply to send, after `delay`.
struct EmulatedReply {
    var bytes: [UInt8]
    var delay: Duration
}
