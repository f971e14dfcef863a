import Foundation
import ReinsSim
import Testing

let pendulumXML = """
<mujoco model="pendulum">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="0.001" gravity="0 0 -9.81"/>
  <worldbody>
    <body name="bob" pos="0 0 0">
      <joint name="hinge" type="hinge" axis="0 1 0"/>
      <geom type="sphere" pos="0 0 -1" size="0.01" mass="1"/>
    </body>
  </worldbody>
</mujoco>
"""

@Suite("MuJoCo")
struct MuJoCoTests {
    @Test("a model loads from a string and swings with the period of a simple pendulum")
    func pendulumFromString() throws {
        let model = try MuJoCoModel(xml: pendulumXML)
        #expect(model.positionCount == 1)
        #expect(model.jointNames == ["hinge"])
        let simulation = Simulation(model: model)
        // A small swing of a 1 m point pendulum: θ(t) = θ0·cos(√(g/l)·t), a quarter period is 0.5015 s.
        simulation.positions = [0.05]
        simulation.step(Int((0.25 * 2 * .pi / sqrt(9.81) / model.timestep).rounded()))
        #expect(abs(simulation.positions[0]) < 0.003)
        simulation.step(Int((0.25 * 2 * .pi / sqrt(9.81) / model.timestep).rounded()))
        #expect(abs(simulation.positions[0] + 0.05) < 0.003)
    }

    @Test("a model loads from a file and a free body falls as ½gt²")
    func demoFromFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("reins-demo-\(getpid()).xml")
        try DemoScene.xml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let model = try MuJoCoModel(contentsOf: file)
        #expect(model.cameraNames == ["front"])
        #expect(model.actuatorCount == 2)
        let simulation = Simulation(model: model)
        let cube = try #require(model.bodyID("cube"))
        let start = simulation.bodyPosition(cube).z
        simulation.step(100)  // 0.2 s, before it lands
        let fallen = start - simulation.bodyPosition(cube).z
        #expect(abs(fallen - 0.5 * 9.81 * 0.2 * 0.2) < 0.005)
        #expect(abs(simulation.time - 0.2) < 1e-9)
    }

    @Test("a position actuator drives its joint to the commanded angle")
    func actuator() throws {
        let simulation = Simulation(model: try MuJoCoModel(xml: DemoScene.xml))
        simulation.controls = [0.5, -0.4]
        simulation.step(2000)
        // qpos follows the body tree: shoulder, elbow, then the cube's seven free-joint coordinates.
        #expect(abs(simulation.positions[0] - 0.5) < 0.05)
        #expect(abs(simulation.positions[1] + 0.4) < 0.05)
    }

    @Test("a broken model reports MuJoCo's message")
    func brokenModel() {
        do {
            _ = try MuJoCoModel(xml: "<mujoco><worldbody><geom type=\"sphere\"/></worldbody>", name: "broken")
            Issue.record("a broken model loaded")
        } catch {
            #expect(error.description.hasPrefix("broken: MuJoCo could not load the model: "))
        }
        #expect(throws: SimError.modelLoad(source: "/tmp/no-such-scene.xml", message: "no such file")) {
            _ = try MuJoCoModel(contentsOf: URL(fileURLWithPath: "/tmp/no-such-scene.xml"))
        }
    }

    @Test("an offscreen frame through OSMesa shows the scene, not a blank")
    func render() throws {
        let model = try MuJoCoModel(xml: DemoScene.xml)
        let simulation = Simulation(model: model)
        let context = try OffscreenContext(backend: .osmesa, width: 96, height: 64)
        #expect(!context.renderer.isEmpty)
        #expect(context.version.first?.isNumber == true)
        let renderer = try OffscreenRenderer(model: model, width: 96, height: 64, context: context)
        let frame = try renderer.render(simulation, camera: "front")
        #expect(frame.count == 96 * 64 * 3)
        #expect(Set(frame).count > 30, "a blank or flat frame")
        // The red cube is in view: some pixel is strongly red.
        let hasRed = stride(from: 0, to: frame.count, by: 3).contains { frame[$0] > 120 && frame[$0 + 1] < 60 && frame[$0 + 2] < 60 }
        #expect(hasRed)
        // The free camera sees the scene from elsewhere: a different image.
        #expect(try renderer.render(simulation) != frame)
        #expect(throws: SimError.unknownCamera(name: "wrist", available: ["front"])) {
            _ = try renderer.render(simulation, camera: "wrist")
        }
    }

    @Test("two renderers sharing a GL context each read back their own camera")
    func sharedContext() throws {
        let twin = try RobotTwin(robot: try catalog.robot("so101"))
        let simulation = twin.simulation(at: twin.robot.homePoseRad)
        let context = try OffscreenContext(backend: .osmesa, width: 96, height: 64)
        let front = try OffscreenRenderer(model: twin.model, width: 96, height: 64, context: context)
        let wrist = try OffscreenRenderer(model: twin.model, width: 96, height: 64, context: context)
        let first = try front.render(simulation, camera: "front")
        let wristFrame = try wrist.render(simulation, camera: "wrist")
        let second = try front.render(simulation, camera: "front")
        // Compared as Bools, so a failure does not print 18,432 bytes.
        let sameFront = first == second, distinct = first != wristFrame
        #expect(sameFront, "the front renderer read back another camera's frame")
        #expect(distinct)
        let alone = try OffscreenRenderer(model: twin.model, width: 96, height: 64, context: context)
        let sameWrist = try alone.render(simulation, camera: "wrist") == wristFrame
        #expect(sameWrist, "a renderer of its own sees a different wrist frame")
    }

    @Test("a frame larger than the offscreen buffer is refused")
    func tooLarge() throws {
        let model = try MuJoCoModel(xml: pendulumXML)
        #expect(throws: SimError.frameTooLarge(width: 1000, height: 1000, maxWidth: 640, maxHeight: 480)) {
            _ = try OffscreenRenderer(model: model, width: 1000, height: 1000)
        }
    }

    @Test("a missing GL library names the package to install")
    func missingGL() {
        do {
            _ = try OffscreenContext(backend: .osmesa, library: "libOSMesa.so.404")
            Issue.record("a missing library loaded")
        } catch {
            #expect(error.description.contains("libOSMesa.so.404"))
            #expect(error.description.contains("apt-get install libosmesa6"))
        }
    }
}
