import Foundation
import ReinsCore
import ReinsHardware
import Testing
@testable import ReinsSim

@Suite("Robot twins")
struct RobotTwinTests {
    @Test("each robot's scene loads and matches its robot file: joints in order, limits, actuators, cameras", arguments: ["so101", "omx"])
    func sceneMatches(robot: String) throws {
        let definition = try catalog.robot(robot)
        let twin = try RobotTwin(robot: definition)
        #expect(Array(twin.model.jointNames.prefix(definition.motors.count)) == definition.motors.map(\.name))
        #expect(Array(twin.model.actuatorNames) == definition.motors.map(\.name))
        #expect(twin.model.cameraNames.contains("front") && twin.model.cameraNames.contains("wrist"))
    }

    @Test("a scene that disagrees with its robot file is refused, naming the joint")
    func mismatch() throws {
        var definition = try catalog.robot("so101")
        definition.motors[1].limitsRad = -1.0...1.0
        definition.motors.swapAt(2, 3)
        do {
            _ = try RobotTwin(robot: definition)
            Issue.record("a mismatched scene was accepted")
        } catch {
            #expect(error.description.contains("scene.xml does not match its robot file"))
            #expect(error.description.contains("joint shoulder_lift range"))
            #expect(error.description.contains("joint wrist_flex is joint 3, the robot file has it at 2"))
        }
    }

    @Test("joints driven past their limits stop at them, and the actuators track targets inside them", arguments: ["so101", "omx"])
    func limits(robot: String) throws {
        let twin = try RobotTwin(robot: try catalog.robot(robot))
        // Without contacts, so the table does not stop the arm before its limits do.
        twin.model.contactsEnabled = false
        let simulation = twin.simulation(at: twin.robot.homePoseRad)
        for end in [\ClosedRange<Double>.upperBound, \ClosedRange<Double>.lowerBound] {
            // Ask for 0.5 rad beyond each limit; the control range clips the target and the joint range holds the joint.
            simulation.controls = twin.robot.motors.map { $0.limitsRad[keyPath: end] + (end == \ClosedRange<Double>.upperBound ? 0.5 : -0.5) }
                + Array(repeating: 0, count: simulation.model.actuatorCount - twin.robot.motors.count)
            simulation.step(1500)  // 3 s
            for (motor, joint) in zip(twin.robot.motors, twin.joints) {
                let position = simulation.jointPosition(joint)
                #expect(position <= motor.limitsRad.upperBound + 0.02 && position >= motor.limitsRad.lowerBound - 0.02,
                        "\(motor.name) at \(position) outside \(motor.limitsRad)")
            }
        }
        let target = twin.robot.homePoseRad
        simulation.controls = target + Array(repeating: 0, count: simulation.model.actuatorCount - target.count)
        simulation.step(1500)
        for (index, joint) in twin.joints.enumerated() {
            #expect(abs(simulation.jointPosition(joint) - target[index]) < 0.1, "\(twin.robot.motors[index].name) does not track its target")
        }
    }

    @Test("the front view at home shows the arm, the table and the cube", arguments: ["so101", "omx"])
    func frontView(robot: String) throws {
        // so101's links are yellow, omx's light grey.
        let isArm = robot == "so101"
            ? { (r: Int, g: Int, b: Int) in r > 150 && g > 110 && b < 90 }
            : { (r: Int, g: Int, b: Int) in r > 150 && g > 150 && b > 150 }
        let twin = try RobotTwin(robot: try catalog.robot(robot))
        let simulation = twin.simulation(at: twin.robot.homePoseRad)
        simulation.step(250)
        let renderer = try OffscreenRenderer(model: twin.model, width: 128, height: 128)
        let rgb = try renderer.render(simulation, camera: "front")
        var arm = 0, cube = 0, table = 0
        for pixel in stride(from: 0, to: rgb.count, by: 3) {
            let (r, g, b) = (Int(rgb[pixel]), Int(rgb[pixel + 1]), Int(rgb[pixel + 2]))
            if isArm(r, g, b) { arm += 1 }
            if r > 120 && g < 60 && b < 60 { cube += 1 }
            if r > g && g > b && r > 50 && r < 200 && r - b > 25 && g < 150 { table += 1 }
        }
        #expect(arm > 100, "arm pixels: \(arm)")
        #expect(cube > 4, "cube pixels: \(cube)")
        #expect(table > 128 * 128 / 4, "table pixels: \(table)")
    }
}

@Suite("The twin's cameras rendered at the size their output needs")
struct TwinRenderSizeTests {
    @Test("a 640x480 camera (and its crop) is scaled by a whole factor that keeps the cropped frame at least twice the output")
    func scaling() {
        let front = CameraSpec(name: "front", source: "sim", width: 640, height: 480, fps: 30)
        let wrist = CameraSpec(name: "wrist", source: "sim", width: 640, height: 480, fps: 30, crop: PixelRect(x: 80, y: 0, width: 480, height: 480))
        let small = front.rendered(forOutput: 64)
        #expect((small.width, small.height) == (213, 160) && small.crop == nil)
        #expect(wrist.rendered(forOutput: 64).crop == PixelRect(x: 26, y: 0, width: 160, height: 160))
        #expect(wrist.rendered(forOutput: 100).crop == PixelRect(x: 40, y: 0, width: 240, height: 240))
        #expect(front.rendered(forOutput: 128) == front.rendered(forOutput: 121))
        #expect(front.rendered(forOutput: 240) == front && wrist.rendered(forOutput: 512) == wrist)
    }

    @Test("the scaled render shrunk to 64x64 matches the full-size render shrunk to 64x64", arguments: ["front", "wrist"])
    func samePixels(camera: String) throws {
        let definition = try catalog.robot("so101")
        let twin = try RobotTwin(robot: definition)
        let simulation = twin.simulation(at: twin.robot.homePoseRad)
        let full = try #require(definition.cameras.first { $0.name == camera })
        let scaled = full.rendered(forOutput: 64)
        #expect(scaled.width < full.width)
        let context = try OffscreenContext(backend: .osmesa, width: full.width, height: full.height)
        var shrunk: [[UInt8]] = []
        for spec in [full, scaled] {
            let renderer = try OffscreenRenderer(model: twin.model, width: spec.width, height: spec.height, context: context)
            var out: [UInt8] = []
            try spec.cropResize(try renderer.render(simulation, camera: camera), width: spec.width, height: spec.height,
                                into: &out, outWidth: 64, outHeight: 64)
            shrunk.append(out)
        }
        let meanDifference = Double(zip(shrunk[0], shrunk[1]).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }) / Double(shrunk[0].count)
        #expect(meanDifference < 4, "mean difference \(meanDifference) per byte")
        #expect(Set(shrunk[1]).count > 20, "the scaled render is not flat")
    }
}
