import ArgumentParser
import Glibc

/// The version written into episode files and printed by `reins --version`.
let reinsVersion = "0.7.0"

@main
struct Reins: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reins",
        abstract: "Human-in-the-loop reinforcement learning on real robot arms and their MuJoCo twins.",
        discussion: """
        Start with `reins doctor` to check the machine, then `reins robots` to see the arms it knows.

        Example:
          reins doctor
          reins robots show so101
          reins sim render --out frame.png
        """,
        version: reinsVersion,
        subcommands: [Doctor.self, Robots.self, Ports.self, Cameras.self, Bus.self, EtherCAT.self, RobotCommand.self, SetupMotors.self, Calibrate.self, Teleop.self, Record.self, Replay.self, Dataset.self, Train.self, Eval.self, Reward.self, Bench.self, Sim.self, Console.self]
    )

    static func main() {
        // A pipe whose reader has gone (`reins train | tee log` when the terminal closes) makes
        // writes fail instead of killing the run before it saves its episode or checkpoint.
        signal(SIGPIPE, SIG_IGN)
        KernelChoice.apply()
        main(nil)
    }
}
