import ReinsCore

/// The twin's scene for one task: it places each episode's cube (seeded) and judges whether the
/// task is done. It judges (the logged "true" success, the stand-in's and the supervisor's eyes,
/// evaluation); it never teaches. A real arm has none.
public final class TwinTask {
    public let scene: any TwinScene
    public let task: TaskKind
    private var generator: SplitMix64
    /// Where this episode's cube was placed.
    public private(set) var placed: Vector3?
    /// The height the cube rested at when placed (the pick task's reference).
    private var startHeight = 0.0

    public init(scene: any TwinScene, task: TaskKind, seed: UInt64) {
        self.scene = scene
        self.task = task
        generator = SplitMix64(seed: seed)
    }

    /// Puts the cube somewhere new (seeded) for an episode and waits until the physics has it.
    public func placeCube() {
        let position = TaskKind.cubePlacement(using: &generator)
        placed = position
        startHeight = scene.resetCube(at: position)
    }

    /// What is wrong with the cube for the episode; nil when it is ready.
    public var cubeProblem: String? { placed.flatMap { scene.cubeProblem(placed: $0) } }

    /// The cube's centre now.
    public var cubePosition: Vector3? { scene.cubePosition }

    /// Whether the task is done on `observation` (the tip from it, the cube from the physics).
    public func isDone(_ observation: EpisodeObservation) -> Bool {
        guard let cube = scene.cubePosition else { return false }
        return task.isDone(cube: cube, tip: observation.endEffector.position, cubeStartHeight: startHeight)
    }
}

extension RobotSession {
    /// The twin's scene for `task`, cubes placed from `seed`; nil on a real arm.
    public func twinTask(_ task: TaskKind, seed: UInt64) -> TwinTask? {
        scene.map { TwinTask(scene: $0, task: task, seed: seed) }
    }
}
