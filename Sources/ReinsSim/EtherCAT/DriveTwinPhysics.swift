import Foundation
import ReinsCore
import ReinsHardware
import Synchronization

/// The thread that moves an EtherCAT robot's twin from its emulated drives: each step it takes
/// what every drive asks of its shaft, applies it through the gear to the joint's actuator, steps
/// MuJoCo in real time and gives the drives back what their shafts measured, so the master sees
/// the twin's positions, velocities and torques in its process data.
///
/// - A torque (cst) goes straight to a `motor` actuator.
/// - A position (csp, or where a quick stop brakes to) is held by the drive's own servo loop: a
///   stiff PD on a `motor` actuator, the actuator itself on a `position` one (the gripper).
/// - With the power off a torque joint's holding brake engages where it is and holds it rigidly,
///   as on the arms this kind of twin stands for; a `position` actuator goes limp.
///
/// It steps a copy of the twin's model (a limp gripper changes actuator gains), so the twin it
/// was given, which kinematics and dynamics read on other threads, is never written.
public final class DriveTwinPhysics: @unchecked Sendable {
    /// One motor's drive: its place on the cable and its scaling, joint side.
    struct Drive {
        var slave: Int
        /// Motor counts per joint radian (encoder counts × gear / 2π).
        var countsPerRadian: Double
        var gear: Double
        var holdsPosition: Bool
        var stiffness: Double
    }

    /// The drive's own position loop on a torque joint, N·m/rad and N·m·s/rad: what holds a
    /// csp target or a quick stop's standstill.
    static let holdStiffness = 3_000.0, holdDamping = 150.0

    private let twin: RobotTwin
    private let segment: EtherCATSegment
    private let simulation: Simulation
    private let drives: [Drive]
    private let running = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(true)
    private let latest: Lock<[Double]>
    /// Drives on the cable (motors' ids reach up to it).
    private let slaveCount: Int
    /// Per drive, where its brake engaged (nil: released) and whether its position actuator is
    /// limp. Physics thread only.
    private var brakes: [Double?]
    private var limp: [Bool]

    /// The robot file's drives moving `shared`'s joints, starting at the home pose. Every motor
    /// needs its drive's scaling (the robot file's parser insists on it for EtherCAT).
    public init(twin shared: RobotTwin, segment: EtherCATSegment) {
        let twin = shared.copy()
        self.twin = twin
        self.segment = segment
        simulation = twin.simulation(at: twin.robot.homePoseRad)
        drives = twin.robot.motors.enumerated().map { index, motor in
            guard let drive = motor.drive else { preconditionFailure("\(motor.name) has no drive: \(twin.robot.name) is not an EtherCAT robot") }
            return Drive(slave: motor.id - 1, countsPerRadian: Double(drive.countsPerRevolution) * drive.gearRatio / (2 * .pi),
                         gear: drive.gearRatio, holdsPosition: twin.model.holdsPosition(actuator: index),
                         stiffness: twin.model.positionGain(actuator: index))
        }
        latest = Lock(twin.robot.homePoseRad)
        slaveCount = (drives.map(\.slave).max() ?? -1) + 1
        brakes = [Double?](repeating: nil, count: drives.count)
        limp = [Bool](repeating: false, count: drives.count)
    }

    deinit { stop() }

    /// The twin's joints as last stepped, motor order.
    public var jointPositions: [Double] { latest.withLock { $0 } }

    public func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.store(false, ordering: .releasing)
        measure()
        let thread = Thread { [self] in run() }
        thread.name = "reins drive twin physics"
        thread.start()
    }

    /// Stops the thread and waits for it.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        while !finished.load(ordering: .acquiring) { usleep(500) }
    }

    private func run() {
        defer { finished.store(true, ordering: .releasing) }
        var pacer = WallClockPacer(timestep: twin.model.timestep)
        var controls = simulation.controls
        while running.load(ordering: .acquiring) {
            let commands = segment.shaftCommands()
            let steps = pacer.stepsDue()
            for _ in 0..<steps {
                for (index, drive) in drives.enumerated() {
                    controls[index] = control(index, drive.slave < commands.count ? commands[drive.slave] : .off)
                }
                simulation.controls = controls
                simulation.step()
            }
            if steps > 0 { measure() }
            usleep(200)
        }
    }

    /// Drive `index`'s actuator control for `command` this step: its brake engaged or released,
    /// a position actuator made limp or stiff. Physics thread only.
    private func control(_ index: Int, _ command: ShaftCommand) -> Double {
        let drive = drives[index], joint = twin.joints[index]
        let q = simulation.jointPosition(joint), velocity = simulation.jointVelocity(joint)
        if case .off = command { brakes[index] = brakes[index] ?? q } else { brakes[index] = nil }
        let goLimp = drive.holdsPosition && !Self.isPosition(command)
        if goLimp != limp[index] {
            twin.model.setPositionGain(actuator: index, goLimp ? 0 : drive.stiffness)
            limp[index] = goLimp
        }
        switch command {
        case .torque(let motorNm):
            return drive.holdsPosition ? q : motorNm * drive.gear
        case .position(let counts):
            let target = counts / drive.countsPerRadian
            return drive.holdsPosition ? target : Self.holdStiffness * (target - q) - Self.holdDamping * velocity
        case .velocity(let countsPerSecond):
            return drive.holdsPosition ? q : Self.holdDamping * (countsPerSecond / drive.countsPerRadian - velocity)
        case .off:
            if drive.holdsPosition { return q }
            simulation.hold(joint: joint, at: brakes[index] ?? q)
            return 0
        }
    }

    private static func isPosition(_ command: ShaftCommand) -> Bool {
        if case .position = command { return true }
        return false
    }

    /// Gives the drives what their shafts measure and keeps the joints for readers.
    private func measure() {
        var measurements = [ShaftMeasurement](repeating: ShaftMeasurement(positionCounts: 0, countsPerSecond: 0, torqueNm: 0), count: slaveCount)
        var positions = [Double](repeating: 0, count: drives.count)
        for (index, drive) in drives.enumerated() {
            let joint = twin.joints[index]
            positions[index] = simulation.jointPosition(joint)
            measurements[drive.slave] = ShaftMeasurement(positionCounts: positions[index] * drive.countsPerRadian,
                                                         countsPerSecond: simulation.jointVelocity(joint) * drive.countsPerRadian,
                                                         torqueNm: simulation.actuatorForce(joint: joint) / drive.gear)
        }
        segment.measureShafts(measurements)
        latest.withLock { $0 = positions }
    }
}
