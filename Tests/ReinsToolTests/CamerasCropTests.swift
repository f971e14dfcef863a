import Foundation
import Testing

@Suite("reins cameras crop on the emulator's camera streams")
struct CamerasCropTests {
    /// A copy of so101's robot file to write crops into, and the emulator whose wrist stream it reads.
    static func rig(_ name: String) throws -> (emulator: BackgroundReins, robotFile: String, wrist: String, folder: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-crop-\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let robots = repositoryRoot.appendingPathComponent("Robots/so101")
        let yaml = try String(contentsOf: robots.appendingPathComponent("robot.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "scene: scene.xml", with: "scene: \(robots.appendingPathComponent("scene.xml").path)")
        let robotFile = folder.appendingPathComponent("robot.yaml")
        try yaml.write(to: robotFile, atomically: true, encoding: .utf8)
        let emulator = try BackgroundReins(["bus", "emulate", "--robot", "so101"])
        #expect(emulator.wait(for: "wrist http://", seconds: 10))
        let line = try #require(emulator.output.split(separator: "\n").first { $0.hasPrefix("wrist http://") })
        return (emulator, robotFile.path, String(line.split(separator: " ")[1]), folder)
    }

    @Test("--set writes the crop into the robot file and the pictures show it; a crop outside the frame or an unknown camera changes nothing")
    func setCrop() throws {
        let (emulator, robotFile, wrist, folder) = try Self.rig("set")
        defer { _ = emulator.stop(); try? FileManager.default.removeItem(at: folder) }
        let common = ["cameras", "crop", "--robot", robotFile, "--camera", "wrist=\(wrist)", "--pictures", folder.path]
        let set = try run(reinsExecutable, common + ["--set", "96,16,400,400"])
        #expect(set.status == 0, "\(set.stderr)")
        let written = try String(contentsOfFile: robotFile, encoding: .utf8)
        #expect(written.contains("- {name: wrist, source: /dev/video2, width: 640, height: 480, fps: 30, crop: {x: 96, y: 16, width: 400, height: 400}}"))
        #expect(written.contains("# What the actor waits for"), "the file's comments were lost")
        for picture in ["wrist-crop.png", "wrist-policy.png"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(picture).path), "\(picture)")
        }
        let shown = try run(reinsExecutable, ["robots", "show", robotFile])
        #expect(shown.stdout.contains("crop 400x400 at (96, 16)"), "\(shown.stdout)")

        let outside = try run(reinsExecutable, common + ["--set", "300,16,400,400"])
        #expect(outside.status != 0 && outside.stderr.contains("runs outside the 640x480 frame") && outside.stderr.contains("is unchanged"), "\(outside.stderr)")
        let unknown = try run(reinsExecutable, ["cameras", "crop", "--robot", robotFile, "--camera", "top", "--set", "0,0,16,16"])
        #expect(unknown.status != 0 && unknown.stderr.contains("has no camera \"top\""), "\(unknown.stderr)")
        #expect(try String(contentsOfFile: robotFile, encoding: .utf8) == written)
    }

    @Test("in a terminal the keys move the crop over the console's preview and Enter writes it",
          .enabled(if: Tmux.path != nil, "tmux is not installed here (make setup installs it; CI always has it)"))
    func keys() throws {
        let (emulator, robotFile, wrist, folder) = try Self.rig("keys")
        defer { _ = emulator.stop(); try? FileManager.default.removeItem(at: folder) }
        let tmux = Tmux(session: "crop")
        defer { _ = try? tmux.command("kill-server") }
        let shell = "'\(reinsExecutable)' cameras crop --robot \(robotFile) --camera wrist=\(wrist) --pictures \(folder.path); echo \"exit status $?\"; sleep 60"
        try tmux.command("new-session", "-d", "-s", tmux.session, "-x", "160", "-y", "48", shell)
        #expect(try tmux.waitFor("crop 80,0,480,480 of 640x480").contains("Enter writes"))
        // Right twice (16 px), shorter by 8 px so it can move down, down (8 px), narrower by 8 px.
        for key in ["Right", "Right", "h", "Down", "w"] { try tmux.command("send-keys", "-t", tmux.session, key) }
        #expect(try tmux.waitFor("crop 96,8,472,472").contains("crop 96,8,472,472"))
        try tmux.command("send-keys", "-t", tmux.session, "Enter")
        let screen = try tmux.waitFor("exit status")
        #expect(screen.contains("wrist: crop 96,8,472,472 written into") && screen.contains("exit status 0"), "\(screen)")
        #expect(try String(contentsOfFile: robotFile, encoding: .utf8).contains("crop: {x: 96, y: 8, width: 472, height: 472}"))
    }
}
