import Foundation
import Testing

@Suite("reins setup-motors against reins bus emulate --factory, keys pressed under tmux")
struct SetupMotorsTests {
    @Test("each motor in turn: the factory-fresh servo is found, given its id and the robot's baud, and checked; then bus scan finds the chain",
          .enabled(if: Tmux.path != nil, "tmux is not installed here (make setup installs it; CI always has it)"),
          arguments: [("omx", "dynamixel", 5), ("so101", "feetech", 6)])
    func factoryToChain(robot: String, busProtocol: String, motors: Int) throws {
        let emulator = try BackgroundReins(["bus", "emulate", "--robot", robot, "--factory", "--no-physics"])
        defer { _ = emulator.stop() }
        let port = try #require(emulator.firstLine())
        #expect(emulator.wait(for: "factory-fresh: ", seconds: 10), "\(emulator.output)")
        let tmux = Tmux(session: "setup-\(robot)")
        defer { _ = try? tmux.command("kill-server") }
        let shell = "'\(reinsExecutable)' setup-motors --robot \(robot) --port \(port) --margin-ms 2; echo \"exit status $?\"; sleep 60"
        try tmux.command("new-session", "-d", "-s", tmux.session, "-x", "200", "-y", "50", shell)
        for index in 1...motors {
            #expect(try tmux.waitFor("[\(index)/\(motors)]").contains("[\(index)/\(motors)]"))
            // The person swaps the cables before pressing Enter: the emulator plugs in the next servo
            // once the bus has been quiet for 0.3 s.
            usleep(600_000)
            try tmux.command("send-keys", "-t", tmux.session, "Enter")
            let answered = index == motors ? "Next: chain the servos" : "[\(index + 1)/\(motors)]"
            var screen = ""
            for _ in 0..<4 where !screen.contains(answered) { screen = try tmux.waitFor(answered) }
            #expect(screen.contains(answered), "\(screen)")
        }
        let screen = try tmux.waitFor("exit status")
        #expect(screen.contains("exit status 0"), "\(screen)")
        #expect(screen.components(separatedBy: "it answers there").count - 1 + screen.components(separatedBy: "nothing written").count - 1 == motors)
        #expect(emulator.wait(for: "all \(motors) servos are chained", seconds: 5), "\(emulator.output)")
        let scan = try reins("bus", "scan", "--port", port, "--protocol", busProtocol, "--baud", "1000000", "--ids", "0-20", "--json")
        #expect(try jsonLines(scan.stdout).count == motors, "\(scan.stdout)")
    }

    @Test("the whole chain connected at once: told to unplug all but one, nothing written; q stops",
          .enabled(if: Tmux.path != nil, "tmux is not installed here (make setup installs it; CI always has it)"))
    func chainConnected() throws {
        let emulator = try BackgroundReins(["bus", "emulate", "--robot", "so101", "--no-physics"])
        defer { _ = emulator.stop() }
        let port = try #require(emulator.firstLine())
        let tmux = Tmux(session: "setup-chain")
        defer { _ = try? tmux.command("kill-server") }
        let shell = "'\(reinsExecutable)' setup-motors --robot so101 --port \(port) --margin-ms 2; echo \"exit status $?\"; sleep 60"
        try tmux.command("new-session", "-d", "-s", tmux.session, "-x", "200", "-y", "50", shell)
        _ = try tmux.waitFor("[1/6]")
        try tmux.command("send-keys", "-t", tmux.session, "Enter")
        var screen = ""
        for _ in 0..<3 where !screen.contains("6 servos answer") { screen = try tmux.waitFor("6 servos answer") }
        #expect(screen.contains("6 servos answer (ids 1, 2, 3, 4, 5, 6 at 1000000 baud): unplug all but gripper's servo"), "\(screen)")
        try tmux.command("send-keys", "-t", tmux.session, "q", "Enter")
        screen = try tmux.waitFor("exit status")
        #expect(screen.contains("stopped before gripper; no motor set up") && screen.contains("exit status 1"), "\(screen)")
    }

    @Test("a motor the robot file lacks is refused, naming its motors")
    func unknownMotor() throws {
        let result = try reins("setup-motors", "--robot", "so101", "--port", "/dev/null", "--motor", "elbow")
        #expect(result.status != 0)
        #expect(result.stderr.contains("--motor elbow: Robots/so101/robot.yaml has no such motor; its motors are shoulder_pan"), "\(result.stderr)")
    }
}
