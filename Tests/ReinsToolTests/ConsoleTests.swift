import Foundation
import Testing

/// A tmux server of this test's own, driving `reins console keys` in a real terminal.
struct Tmux {
    let session: String
    let socket: String

    init(session: String = "keys") {
        self.session = session
        socket = "reins-test-\(getpid())-\(session)"
    }

    static var path: String? {
        ["/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @discardableResult
    func command(_ arguments: String...) throws -> Result {
        try run(Tmux.path!, ["-L", socket] + arguments)
    }

    func screen() throws -> String {
        try command("capture-pane", "-p", "-t", session).stdout
    }

    /// Polls the screen until it contains `text`, for up to ten seconds.
    func waitFor(_ text: String) throws -> String {
        var last = ""
        for _ in 0..<200 {
            last = try screen()
            if last.contains(text) { return last }
            usleep(50_000)
        }
        return last
    }
}

@Suite("ncurses console under tmux")
struct ConsoleTests {
    @Test("the key check screen draws, reads keys and hands the terminal back",
          .enabled(if: Tmux.path != nil, "tmux is not installed here (make setup installs it; CI always has it)"))
    func keyCheck() throws {
        let tmux = Tmux()
        defer { _ = try? tmux.command("kill-server") }
        let shell = "NCURSES_NO_UTF8_ACS=1 '\(reinsExecutable)' console keys; echo \"exit status $?\"; sleep 60"
        try tmux.command("new-session", "-d", "-s", tmux.session, "-x", "80", "-y", "24", shell)

        let first = try tmux.waitFor("Press keys")
        #expect(first.contains("reins console keys"))
        #expect(first.contains("Last key: none"))
        #expect(first.contains("Terminal: 80x24"))

        try tmux.command("send-keys", "-t", tmux.session, "a")
        #expect(try tmux.waitFor("Last key: a").contains("Keys so far: 1"))
        try tmux.command("send-keys", "-t", tmux.session, "Up")
        #expect(try tmux.waitFor("Last key: KEY_UP").contains("Recent: a KEY_UP"))
        try tmux.command("send-keys", "-t", tmux.session, "Space")
        #expect(try tmux.waitFor("Last key: Space").contains("Keys so far: 3"))

        try tmux.command("send-keys", "-t", tmux.session, "q")
        let after = try tmux.waitFor("exit status")
        #expect(after.contains("keys received: a KEY_UP Space"))
        #expect(after.contains("exit status 0"))
        #expect(!after.contains("Press keys"), "the screen was not handed back")
    }

    @Test("without a terminal the console says what it needs")
    func noTerminal() throws {
        let result = try reins("console", "keys")
        #expect(result.status != 0)
        #expect(result.stderr.contains("needs an interactive terminal"))
    }
}
