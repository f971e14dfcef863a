import Foundation
import ReinsCore
import ReinsHardware
import Synchronization

/// The thread that steps a twin in real time for an emulated bus, exchanging goals, torque and
/// measurements with the servos' control tables every 5 ms.
final class TwinPhysics: @unchecked Sendable {
    let twin: RobotTwin
    let ids: [UInt8]
    private let simulation: Simulation
    private let stiffness: [Double]
    private let running = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let latest: Mutex<[Double]>

    init(twin: RobotTwin, ids: [UInt8]) {
        self.twin = twin
        self.ids = ids
        simulation = twin.simulation(at: twin.robot.homePoseRad)
        stiffness = ids.indices.map { twin.model.positionGain(actuator: $0) }
        latest = Mutex(twin.robot.homePoseRad)
    }

    static func ticks(radians: Double) -> Double { 2048 + radians * 4096 / (2 * Double.pi) }
    static func radians(ticks: Double) -> Double { (ticks - 2048) * 2 * Double.pi / 4096 }

    var jointPositions: [Double] { latest.withLock { $0 } }

    func start(_ emulator: ServoBusEmulator) {
        running.store(true, ordering: .releasing)
        let thread = Thread { [self, unowned emulator] in run(emulator) }
        thread.name = "reins twin physics"
        thread.start()
    }

    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        while !finished.load(ordering: .acquiring) { usleep(1000) }
    }

    private func run(_ emulator: ServoBusEmulator) {
        defer { finished.store(true, ordering: .releasing) }
        let clock = ContinuousClock()
        let start = clock.now
        let timestep = twin.model.timestep
        var simulated = 0.0
        var controls = simulation.controls
        var torque = [Bool](repeating: false, count: ids.count)
        while running.load(ordering: .acquiring) {
            // Goals and torque from the control tables.
            for (index, id) in ids.enumerated() {
                guard let (torqueOn, goal) = emulator.goal(id: id) else { continue }
                torque[index] = torqueOn
                controls[index] = Self.radians(ticks: goal)
            }
            for index in ids.indices {
                // Torque off: no stiffness, the joint hangs on its damping.
                twin.model.setPositionGain(actuator: index, torque[index] ? stiffness[index] : 0)
            }
            simulation.controls = controls
            // Catch up with the wall clock, at most 50 ms at a time.
            let wall = (clock.now - start).seconds
            let steps = min(25, Int((wall - simulated) / timestep))
            if steps > 0 {
                simulation.step(steps)
                simulated += Double(steps) * timestep
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
            usleep(5000)
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
