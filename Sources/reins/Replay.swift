import ArgumentParser
import Foundation
import ReinsControl
import ReinsCore
import ReinsData

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a recorded episode in the twin or on the robot, and report how closely the joints followed.",
        discussion: """
        The arm first moves slowly to the recorded start; then the recorded joint targets are sent at the recorded rate through the control loop and its safety layer. In the twin the cube is put where it was. The tracking error compares each joint after every step with the recorded state after the same step (RMS and max, radians). --video writes the recorded camera beside the twin's view, frame by frame. Ctrl-C (or Esc in a terminal) stops: hold, then torque off.

        Example:
          reins replay demos/episode_000000.h5 --sim --video replay.mp4
          reins replay demos/episode_000000.h5 --robot so101 --port /dev/ttyUSB0
        """)

    @Argument(help: "The episode file (HDF5, as `reins record` writes).") var episode: String
    @Flag(help: "Replay in the twin (its servos emulated in this process).") var sim = false
    @Option(help: "The robot (default: the one the episode was recorded on).") var robot: String?
    @Option(help: "The servo bus's serial device.") var port: String?
    @Option(name: .customLong("id"), help: "The calibration (default: the robot's only one, `sim` with --sim).") var calibrationID: String?
    @Option(help: "Write the recorded camera beside the twin's view to this .mp4 (with --sim).") var video: String?
    @Option(help: "Top joint speed of the move to the start, rad/s.") var speed = 0.5
    @Flag(help: "Print one JSON object.") var json = false

    struct Output: Encodable {
        var episode: String
        var robot: String
        var steps: Int
        var joints: [String]
        var trackingRmsRad: [Double]
        var trackingMaxRad: [Double]
        var worstRmsRad: Double
        var completed: Bool
    }

    func validate() throws {
        guard sim != (port != nil) else { throw ValidationError("give either --sim (the twin) or --port P (the robot)") }
        guard video == nil || sim else { throw ValidationError("--video needs --sim: it shows the twin's view beside the recording") }
    }

    func run() throws {
        let url = URL(fileURLWithPath: episode)
        let recorded: Episode
        do {
            recorded = try EpisodeFile.read(url)
        } catch {
            throw CommandError("\(episode) is not a readable episode: \(error)")
        }
        guard recorded.steps > 1 else { throw CommandError("\(episode) has \(recorded.steps) step(s): nothing to replay") }
        let address = RobotAddress(robot: robot ?? recorded.metadata.robot, port: sim ? nil : port, calibrationID: calibrationID)
        let camera = recorded.cameras.first
        let session = try address.open(cameraSize: video != nil ? camera?.width : nil)
        defer { session.close() }
        guard session.robot.definition.motors.map(\.name) == recorded.metadata.jointNames else {
            throw CommandError("\(episode) was recorded with joints \(recorded.metadata.jointNames.joined(separator: ", ")), but \(session.robot.definition.name) has \(session.robot.definition.motors.map(\.name).joined(separator: ", "))")
        }
        if let cube = recorded.cubePositions, cube.count >= 3 {
            session.scene?.placeCube(at: SIMD3(cube[0], cube[1], cube[2]))
        }
        let loop = session.loop { $0.policyHz = recorded.metadata.policyHz }
        let signals = StopSignals { _ in loop.stop(reason: "interrupted") }
        let escape = EscapeWatcher()
        defer {
            escape.restore()
            signals.cancel()
            loop.stop(reason: "replay over")
            loop.wait()
        }
        try loop.start()
        let joints = recorded.jointCount
        // Hold what the recording held when it started, so the arm rests where it rested then.
        let start = recorded.startJointTargets.count == joints ? recorded.startJointTargets : Array(recorded.jointPositions(at: 0))
        let replay = EpisodeReplay(targets: (0..<recorded.steps).map { Array(recorded.jointTargets(at: $0)) },
                                   positions: (0..<recorded.steps).map { Array(recorded.jointPositions(at: $0)) }, start: start)
        var writer: VideoWriter?
        if let video, let camera {
            writer = try VideoWriter(path: video, codec: "mp4v", fps: recorded.metadata.policyHz, width: camera.width * 2, height: camera.height)
        }
        let twinCamera = session.cameras.first { $0.name == camera?.name }
        var twinFrame: [UInt8] = []
        let tracking = try replay.play(on: loop, speed: speed) { step in
            if let writer, let camera, let twinCamera, (try? twinCamera.read(into: &twinFrame, maxAge: .seconds(1))) != nil {
                try writer.write(sideBySide(recordedFrame(camera, step), twinFrame, width: camera.width, height: camera.height))
            }
            return !escape.pressed
        }
        writer?.close()
        let output = Output(episode: url.lastPathComponent, robot: session.robot.definition.name, steps: tracking.steps,
                            joints: recorded.metadata.jointNames, trackingRmsRad: tracking.rmsRad, trackingMaxRad: tracking.maxRad,
                            worstRmsRad: tracking.rmsRad.max() ?? 0, completed: tracking.completed)
        if json {
            JSONLines.print(output)
        } else {
            print("replayed \(output.steps) of \(recorded.steps) steps of \(output.episode) on \(sim ? "the twin" : session.robot.location)")
            print(column("joint", 15) + column("rms rad", 10) + "max rad")
            for (index, name) in output.joints.enumerated() {
                print(column(name, 15) + column(String(format: "%.4f", tracking.rmsRad[index]), 10) + String(format: "%.4f", tracking.maxRad[index]))
            }
            if let video { print("wrote \(video): recorded \(camera?.name ?? "") on the left, the twin on the right") }
        }
        if !output.completed { throw CommandError("the replay stopped early: \(tracking.stoppedBy ?? "\(loop.status.phase)")") }
    }

    private func recordedFrame(_ camera: Episode.CameraFrames, _ step: Int) -> ArraySlice<UInt8> {
        let size = camera.width * camera.height * 3
        return camera.pixels[(step * size)..<((step + 1) * size)]
    }

    private func sideBySide(_ left: ArraySlice<UInt8>, _ right: [UInt8], width: Int, height: Int) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: width * 2 * height * 3)
        let row = width * 3
        for y in 0..<height {
            let target = y * row * 2
            frame[target..<(target + row)] = left[(left.startIndex + y * row)..<(left.startIndex + (y + 1) * row)]
            frame[(target + row)..<(target + 2 * row)] = right[(y * row)..<((y + 1) * row)]
        }
        return frame
    }
}

/// Watches a terminal's standard input for Esc without waiting for Enter; does nothing when
/// standard input is not a terminal. `restore()` gives the terminal its settings back.
final class EscapeWatcher {
    private var saved: termios?

    init() {
        guard isatty(STDIN_FILENO) == 1 else { return }
        var settings = termios()
        tcgetattr(STDIN_FILENO, &settings)
        saved = settings
        settings.c_lflag &= ~tcflag_t(ICANON | ECHO)
        tcsetattr(STDIN_FILENO, TCSANOW, &settings)
    }

    var pressed: Bool {
        guard saved != nil else { return false }
        var entry = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return false }
        var byte: UInt8 = 0
        return read(STDIN_FILENO, &byte, 1) == 1 && byte == 27
    }

    func restore() {
        guard var settings = saved else { return }
        tcsetattr(STDIN_FILENO, TCSANOW, &settings)
        saved = nil
    }
}
