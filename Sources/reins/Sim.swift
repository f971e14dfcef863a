import ArgumentParser
import Foundation
import ReinsCore
import ReinsData
import ReinsLearn
import ReinsSim

struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with the MuJoCo twins: render a frame offscreen, run a task with a policy.",
        discussion: "Example:\n  reins sim render --out frame.png",
        subcommands: [Render.self, Run.self])

    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a scene, step it, and write one offscreen-rendered frame as a PNG.",
            discussion: """
            With --robot, renders that robot's twin (Robots/<robot>/scene.xml, checked against its robot file) with the arm at its home pose or a random one, from the robot's first camera unless --camera names another. With --scene, any MJCF file; with neither, Reins' built-in demo scene. The GL backend is OSMesa unless --gl or MUJOCO_GL says egl.

            Example:
              reins sim render --robot so101 --size 128 --out front.png
              reins sim render --robot omx --camera wrist --pose random --seed 3 --out wrist.png
              reins sim render --scene my_scene.xml --width 320 --height 240 --out frame.png
              reins sim render --gl egl --json
            """)

        @Option(help: "A robot (a name under Robots/ or a robot.yaml path): render its twin.") var robot: String?
        @Option(help: "The arm's pose with --robot: home, middle (the calibration pose) or random.") var pose: TwinPose = .home
        @Option(help: "Seed for --pose random.") var seed: UInt64 = 0
        @Option(help: "An MJCF scene file (default: the built-in demo scene).") var scene: String?
        @Option(help: "A camera of the scene (default: a free camera framing the whole scene).") var camera: String?
        @Option(help: "Image width in pixels.") var width = 320
        @Option(help: "Image height in pixels.") var height = 240
        @Option(help: "A square image of N×N pixels (instead of --width and --height).") var size: Int?
        @Option(help: "Physics steps to take before rendering.") var steps = 250
        @Option(help: "Offscreen GL backend: osmesa or egl (default: MUJOCO_GL, else osmesa).") var gl: GLBackend?
        @Option(help: "Where to write the PNG.") var out = "frame.png"
        @Flag(help: "Print one JSON object.") var json = false

        struct Output: Encodable {
            var scene: String
            var out: String
            var width: Int
            var height: Int
            var simTimeS: Double
            var glBackend: String
            var glRenderer: String
            var renderMs: Double
            var meanIntensity: Double
        }

        func validate() throws {
            guard width > 0, height > 0, size ?? 1 > 0 else { throw ValidationError("--width, --height and --size must be positive") }
            guard steps >= 0 else { throw ValidationError("--steps cannot be negative") }
            guard robot == nil || scene == nil else { throw ValidationError("give --robot or --scene, not both") }
        }

        func run() throws {
            let (width, height) = size.map { ($0, $0) } ?? (self.width, self.height)
            let model: MuJoCoModel
            let simulation: Simulation
            var camera = self.camera
            if let robot {
                let twin = try RobotTwin(robot: try RobotCatalog.locate().robot(robot))
                var generator = SplitMix64(seed: seed)
                let angles = switch pose {
                case .home: twin.robot.homePoseRad
                case .middle: twin.robot.motors.map { ($0.limitsRad.lowerBound + $0.limitsRad.upperBound) / 2 }
                case .random: twin.randomPose(using: &generator)
                }
                simulation = twin.simulation(at: angles)
                model = twin.model
                camera = camera ?? twin.robot.cameras.first?.name
            } else {
                model = try scene.map { try MuJoCoModel(contentsOf: URL(fileURLWithPath: $0)) }
                    ?? MuJoCoModel(xml: DemoScene.xml, name: "demo scene")
                simulation = Simulation(model: model)
            }
            simulation.step(steps)
            let context = try OffscreenContext(backend: gl ?? .fromEnvironment(), width: width, height: height)
            let renderer = try OffscreenRenderer(model: model, width: width, height: height, context: context)
            let clock = ContinuousClock()
            var rgb: [UInt8] = []
            let elapsed = try clock.measure { try renderer.render(simulation, camera: camera, into: &rgb) }
            try Image(width: width, height: height, channels: 3, pixels: rgb).write(to: out)
            let output = Output(
                scene: robot.map { "\($0) twin" } ?? scene ?? "demo", out: out, width: width, height: height, simTimeS: simulation.time,
                glBackend: context.backend.rawValue, glRenderer: context.renderer,
                renderMs: elapsed.milliseconds,
                meanIntensity: Double(rgb.reduce(0) { $0 + Int($1) }) / Double(max(rgb.count, 1)))
            if json {
                JSONLines.print(output)
            } else {
                print("wrote \(out): \(width)x\(height) from \(output.scene) at t = \(String(format: "%.3f", output.simTimeS)) s, "
                      + "\(context.backend.rawValue) (\(output.glRenderer)), rendered in \(String(format: "%.2f", output.renderMs)) ms")
            }
        }
    }
}

extension GLBackend: ExpressibleByArgument {}
extension TaskKind: ExpressibleByArgument {}

/// The arm's pose in a rendered twin.
enum TwinPose: String, ExpressibleByArgument, CaseIterable {
    /// home: the robot file's home pose; middle: every joint halfway between its limits (the
    /// calibration pose); random: drawn within the limits.
    case home, middle, random
}
