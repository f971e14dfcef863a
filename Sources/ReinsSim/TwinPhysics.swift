import Foundation
import ReinsCore
import ReinsHardware
import Synchronization

/// Where a physics-driven emulator sends its cameras' frames.
public struct CameraFeed: Sendable {
    /// Called on the renderer's thread with the camera's name and its RGB frame (height × width × 3).
    public var sink: @Sendable (_ camera: String, _ width: Int, _ height: Int, _ rgb: [UInt8]) -> Void
    /// GL backend for the offscreen renderer.
    public var backend: GLBackend

    public init(backend: GLBackend = .fromEnvironment(), sink: @escaping @Sendable (String, Int, Int, [UInt8]) -> Void) {
        self.backend = backend
        self.sink = sink
    }
}

/// The thread that steps a twin in real time for an emulated bus, exchanging goals, torque and
/// measurements with the servos' control tables every 5 ms and handing its state to the cameras'
/// renderer (`TwinRenderer`, a thread below it).
/// It steps a copy of the twin's model (torque off changes actuator gains), so the twin it was
/// given, which kinematics read on other threads, is never written.
final class TwinPhysics: @unchecked Sendable {
    let twin: RobotTwin
    let ids: [UInt8]
    /// The cameras' renderer, on its own thread; nil without cameras.
    private let renderer: TwinRenderer?
    private let simulation: Simulation
    private let stiffness: [Double]
    private let running = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let latest: Lock<[Double]>
    /// The cube's free joint and body, when the scene has one.
    private let cube: (joint: Int, body: Int)?
    private let cubePlacement = Lock<SIMD3<Double>?>(nil)
    private let latestCube = Lock<SIMD3<Double>?>(nil)
    /// Touched only by the physics thread once it runs.
    private var hands: CalibratingHands?

    init(twin shared: RobotTwin, ids: [UInt8], cameras: CameraFeed?, hands: CalibratingHands? = nil) {
        let twin = shared.copy()
        self.twin = twin
        self.ids = ids
        self.hands = hands
        let simulation = twin.simulation(at: twin.robot.homePoseRad)
        self.simulation = simulation
        renderer = cameras.map { TwinRenderer(model: twin.model, cameras: twin.robot.cameras, feed: $0, positions: simulation.positions) }
        stiffness = ids.indices.map { twin.model.positionGain(actuator: $0) }
        latest = Lock(twin.robot.homePoseRad)
        if let joint = twin.model.jointID("cube"), let body = twin.model.bodyID("cube") {
            cube = (joint, body)
            latestCube.withLock { $0 = simulation.bodyPosition(body) }
        } else {
            cube = nil
        }
    }

    /// The cameras' frames rendered and dropped so far (nil without cameras).
    var cameraFrames: (rendered: Int, dropped: Int)? { renderer?.frameCounts }

    /// Where the cube is (nil without one).
    var cubePosition: SIMD3<Double>? { latestCube.withLock { $0 } }

    /// Puts the cube at `position`, at rest, on the physics thread's next step.
    func placeCube(at position: SIMD3<Double>) {
        cubePlacement.withLock { $0 = position }
    }

    static func ticks(radians: Double) -> Double { 2048 + radians * 4096 / (2 * Double.pi) }
    static func radians(ticks: Double) -> Double { (ticks - 2048) * 2 * Double.pi / 4096 }

    var jointPositions: [Double] { latest.withLock { $0 } }

    func start(_ emulator: EmulatedLine) {
        running.store(true, ordering: .releasing)
        let thread = Thread { [self] in run(emulator) }
        thread.name = "reins twin physics"
        thread.start()
        renderer?.start()
    }

    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        renderer?.stop()
        while !finished.load(ordering: .acquiring) { usleep(1000) }
    }

    private func run(_ emulator: EmulatedLine) {
        defer { finished.store(true, ordering: .releasing) }
        var pacer = WallClockPacer(timestep: twin.model.timestep)
        var controls = simulation.controls
        var torque = [Bool](repeating: false, count: ids.count)
        var gainsOn: [Bool?] = [Bool?](repeating: nil, count: ids.count)
        while running.load(ordering: .acquiring) {
            // Goals and torque from the control tables.
            for (index, id) in ids.enumerated() {
                guard let (torqueOn, goal) = emulator.goal(id: id) else { continue }
                torque[index] = torqueOn
                controls[index] = Self.radians(ticks: goal)
            }
            for index in ids.indices where gainsOn[index] != torque[index] {
                // Torque off: no stiffness, the joint hangs on its damping.
                twin.model.setPositionGain(actuator: index, torque[index] ? stiffness[index] : 0)
                gainsOn[index] = torque[index]
            }
            simulation.controls = controls
            if let cube, let placement = cubePlacement.withLock({ request in defer { request = nil }; return request }) {
                simulation.placeFreeBody(joint: cube.joint, at: placement)
                latestCube.withLock { $0 = placement }
            }
            let steps = pacer.stepsDue()
            if steps > 0 { simulation.step(steps) }
            // Without hands the arguments are never evaluated (optional chaining).
            if let held = hands?.pose(torque: torque, offsetWrites: emulator.homingOffsetWrites,
                                      measured: twin.joints.map { simulation.jointPosition($0) }, now: pacer.elapsedSeconds,
                                      announce: { emulator.announce($0) }) {
                simulation.setJointPositions(Array(zip(twin.joints, held)).map { (joint: $0, value: $1) })
            }
            let positions = twin.joints.map { simulation.jointPosition($0) }
            let velocities = twin.joints.map { simulation.jointVelocity($0) }
            let forces = twin.joints.map { simulation.actuatorForce(joint: $0) }
            for (index, id) in ids.enumerated() {
                let stall = twin.model.forceLimit(actuator: index)
                emulator.measure(id: id, positionTicks: Self.ticks(radians: positions[index]),
                                 ticksPerSecond: velocities[index] * 4096 / (2 * Double.pi),
                                 loadFraction: stall > 0 ? forces[index] / stall : 0)
            }
            latest.withLock { $0 = positions }
            if let cube { latestCube.withLock { $0 = simulation.bodyPosition(cube.body) } }
            renderer?.publish(simulation.positions)
            usleep(1000)
        }
    }
}
