import Foundation

/// The manipulation tasks, defined once: where each episode's cube starts and when the task is
/// done. Only the twin can check it (it knows where the cube is); it judges with this check and
/// never teaches with it. On hardware the operator's keys decide.
public enum TaskKind: String, CaseIterable, Sendable {
    /// Bring the gripper's tip within 2 cm of a cube placed at random on the table.
    case reach
    /// Grasp the cube and lift it 5 cm.
    case pick

    /// Half the cube's edge, metres: a cube at rest on the table has its centre this high.
    public static let cubeHalfSize = 0.015
    /// Where episodes place the cube, metres in the base frame (in reach of every arm's tip).
    public static let cubeRegion = (x: 0.15...0.28, y: -0.12...0.12)
    /// How near the tip must come to the cube's centre for `reach`, metres.
    public static let reachDistance = 0.02
    /// How far above its starting height the cube must be for `pick`, metres.
    public static let liftHeight = 0.05

    /// A seeded place for the next episode's cube, resting on the table.
    public static func cubePlacement(using generator: inout SplitMix64) -> Vector3 {
        Vector3(Double.random(in: cubeRegion.x, using: &generator), Double.random(in: cubeRegion.y, using: &generator), cubeHalfSize)
    }

    /// Whether the task is done with the cube at `cube`, the tip at `tip`, and the cube's centre
    /// at `cubeStartHeight` when the episode began.
    public func isDone(cube: Vector3, tip: Vector3, cubeStartHeight: Double) -> Bool {
        switch self {
        case .reach: length(cube - tip) <= Self.reachDistance
        case .pick: cube.z - cubeStartHeight >= Self.liftHeight
        }
    }
}

/// The twin's scene as an episode may use it: to put the cube in place for a reset, and to judge
/// (the logged "true" success, the scripted supervisor's and labeller's eyes). A real arm has none.
public protocol TwinScene: AnyObject {
    /// The cube's centre, metres in the base frame; nil before the physics has stepped.
    var cubePosition: Vector3? { get }
    /// Puts the cube at `position`, at rest.
    func placeCube(at position: Vector3)
}

extension TwinScene {
    /// Puts the cube at `position` for a new episode and waits (up to a second) until the physics
    /// has it there; the height its centre rests at, the pick task's reference.
    public func resetCube(at position: Vector3) -> Double {
        placeCube(at: position)
        for _ in 0..<100 {
            if let cube = cubePosition, length(cube - position) < 0.005 { break }
            LoopClock.sleep(for: .milliseconds(10))
        }
        return cubePosition?.z ?? 0
    }

    /// What is wrong with the cube for an episode that placed it at `placed`: not finite, off the
    /// table, or not where it was placed (the arm knocked it on its way home); nil when it is ready.
    public func cubeProblem(placed: Vector3) -> String? {
        guard let cube = cubePosition else { return "the twin reports no cube" }
        let place = String(format: "(%.3f, %.3f, %.3f) m", cube.x, cube.y, cube.z)
        guard cube.x.isFinite, cube.y.isFinite, cube.z.isFinite else { return "the cube's position is not finite" }
        guard abs(cube.z - TaskKind.cubeHalfSize) < 0.005 else { return "the cube is not resting on the table: it is at \(place)" }
        guard length(cube - placed) < 0.01 else { return "the cube moved from where it was placed to \(place)" }
        return nil
    }
}
