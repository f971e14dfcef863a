import ArgumentParser
import Foundation
import ReinsCore
import ReinsSim

struct BenchSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Physics steps per second, and camera frames per second with physics, for a robot's twin.",
        discussion: """
        Physics alone: mj_step on the twin holding its home pose. With rendering: each frame advances the physics by one frame period of the robot's first camera (1/30 s at 30 fps) and renders that camera at N×N.

        Example:
          reins bench sim --robot so101 --size 128 --json
        """)

    @Option(help: "The robot whose twin to run.") var robot = "so101"
    @Option(help: "Frame size, N×N pixels.") var size = 128
    @Option(help: "Seconds to time each part.") var seconds = 3.0
    @Option(help: "Offscreen GL backend: osmesa or egl (default: MUJOCO_GL, else osmesa).") var gl: GLBackend?
    @Flag(help: "Print one JSON object.") var json = false

    struct Output: Encodable {
        var benchmark = "sim"
        var robot: String
        var size: Int
        var physicsStepsPerS: Double
        var framesPerS: Double
        var frameMedianMs: Double
        var physicsStepsPerFrame: Int
        var glBackend: String
        var glRenderer: String
    }

    func validate() throws {
        guard size > 0 else { throw ValidationError("--size must be positive") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        let twin = try RobotTwin(robot: try RobotCatalog.locate().robot(robot))
        let simulation = twin.simulation(at: twin.robot.homePoseRad)
        let clock = ContinuousClock()

        var steps = 0
        var start = clock.now
        while clock.now - start < .seconds(seconds) {
            simulation.step(100)
            steps += 100
        }
        let physicsRate = Double(steps) / (clock.now - start).seconds

        let context = try OffscreenContext(backend: gl ?? .fromEnvironment(), width: size, height: size)
        let renderer = try OffscreenRenderer(model: twin.model, width: size, height: size, context: context)
        let camera = twin.robot.cameras.first
        let stepsPerFrame = max(1, Int((1 / (camera?.fps ?? 30) / twin.model.timestep).rounded()))
        var rgb = [UInt8](repeating: 0, count: size * size * 3)
        for _ in 0..<10 { try renderer.render(simulation, camera: camera?.name, into: &rgb) }
        var frameTimes = [Double](repeating: 0, count: 200_000)
        var frames = 0
        start = clock.now
        while clock.now - start < .seconds(seconds), frames < frameTimes.count {
            let before = clock.now
            simulation.step(stepsPerFrame)
            try renderer.render(simulation, camera: camera?.name, into: &rgb)
            frameTimes[frames] = (clock.now - before).milliseconds
            frames += 1
        }
        let output = Output(robot: robot, size: size, physicsStepsPerS: physicsRate,
                            framesPerS: Double(frames) / (clock.now - start).seconds,
                            frameMedianMs: median(Array(frameTimes[0..<frames])), physicsStepsPerFrame: stepsPerFrame,
                            glBackend: context.backend.rawValue, glRenderer: context.renderer)
        if json {
            JSONLines.print(output)
        } else {
            print("""
            \(robot) twin: \(String(format: "%.0f", output.physicsStepsPerS)) physics steps/s; \
            \(String(format: "%.0f", output.framesPerS)) frames/s at \(size)×\(size) with \(stepsPerFrame) physics steps each \
            (median \(String(format: "%.2f", output.frameMedianMs)) ms, \(output.glBackend), \(output.glRenderer))
            """)
        }
    }
}
