import ArgumentParser
import ReinsConsole

struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Operator console tools.",
        discussion: "Example:\n  reins console keys",
        subcommands: [Keys.self])

    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each key as the console receives it (check a terminal, ssh or tmux before a run).",
            discussion: """
            Arrow and function keys are decoded by ncurses; q quits and prints the keys seen.

            Example:
              reins console keys
            """)

        func run() throws {
            let screen = try Screen()
            let pressed = KeyCheck().run(on: screen)
            screen.close()
            print("keys received: \(pressed.isEmpty ? "none" : pressed.joined(separator: " "))")
        }
    }
}
