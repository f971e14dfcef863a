import CNcurses
import CTerminal
import Glibc

/// The terminal under ncurses: started in cbreak mode with keypad keys decoded, ended on `close`
/// or deinit so the shell is always given back in a usable state.
///
/// ncurses is not thread-safe: one screen, driven from one thread.
public final class Screen {
    private var isOpen = true

    /// Takes over the terminal. Fails when standard input and output are not a terminal. With
    /// `raw`, Ctrl-C arrives as a key (code 3) instead of a signal, so the console can ask first.
    public init(raw: Bool = false) throws(ConsoleError) {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else { throw .notATerminal }
        setlocale(LC_ALL, "")
        // The terminal's own size, even when LINES and COLUMNS are in the environment (a parent
        // process may have exported stale ones), so a resize is followed.
        use_tioctl(true)
        reins_prepare_resize_signal()
        reins_terminal_guard_install()
        guard initscr() != nil else { throw .notATerminal }
        if raw { _ = CNcurses.raw() } else { cbreak() }
        noecho()
        keypad(reins_stdscr(), true)
        // Escape alone must not stall the console for ncurses' default second.
        set_escdelay(25)
        curs_set(0)
        if has_colors() {
            start_color()
            use_default_colors()
            init_pair(1, Int16(COLOR_GREEN), -1)
            init_pair(2, Int16(COLOR_YELLOW), -1)
        }
    }

    deinit {
        close()
    }

    /// Gives the terminal back.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        endwin()
        reins_terminal_guard_remove()
    }

    /// Whether the terminal shows 256 colours (else 8).
    public var has256Colours: Bool { has_colors() && reins_colors() >= 256 }

    /// Whether the locale can show the half-block character (UTF-8).
    public var canDrawHalfBlocks: Bool { reins_utf8_locale() != 0 }

    /// Draws text in a foreground and background colour (terminal colour indices).
    public func draw(_ text: String, row: Int, column: Int, foreground: Int, background: Int) {
        guard row >= 0, row < rows, column >= 0, column < columns else { return }
        let pair = reins_alloc_pair(Int32(foreground), Int32(background))
        guard pair >= 0 else {
            draw(text, row: row, column: column)
            return
        }
        _ = reins_color_set(pair)
        _ = reins_mvaddstr(Int32(row), Int32(column), String(text.prefix(columns - column)))
        _ = reins_color_set(0)
    }

    public var rows: Int { Int(reins_getmaxy(reins_stdscr())) }
    public var columns: Int { Int(reins_getmaxx(reins_stdscr())) }

    public enum Style: Sendable {
        case plain, bold, good, warning, inverse
    }

    public func clear() {
        _ = reins_erase()
    }

    /// Draws text at a row and column, clipped to the screen's width.
    public func draw(_ text: String, row: Int, column: Int, style: Style = .plain) {
        guard row >= 0, row < rows, column >= 0, column < columns else { return }
        let clipped = String(text.prefix(columns - column))
        let attributes = attributes(for: style)
        _ = reins_attron(attributes)
        _ = reins_mvaddstr(Int32(row), Int32(column), clipped)
        _ = reins_attroff(attributes)
    }

    /// Draws a line-drawn border around the whole screen with a title in it.
    public func border(title: String) {
        _ = reins_box(reins_stdscr())
        draw(" \(title) ", row: 0, column: 2, style: .bold)
    }

    public func refresh() {
        _ = reins_refresh()
    }

    /// Waits up to `timeoutMs` for a key (negative waits forever); nil when none came.
    public func readKey(timeoutMs: Int) -> Key? {
        _ = reins_timeout(Int32(timeoutMs))
        let code = reins_getch()
        return code == reins_err() ? nil : Key(code: code)
    }

    private func attributes(for style: Style) -> attr_t {
        switch style {
        case .plain: 0
        case .bold: reins_a_bold()
        case .good: reins_color_pair(1)
        case .warning: reins_color_pair(2) | reins_a_bold()
        case .inverse: reins_a_reverse()
        }
    }
}

/// A key press as ncurses decodes it.
public struct Key: Equatable, Sendable {
    public let code: Int32

    public init(code: Int32) {
        self.code = code
    }

    /// A readable name: the character itself, or ncurses' name for special keys ("KEY_UP").
    public var name: String {
        if code == 27 { return "Escape" }
        if code == 32 { return "Space" }
        if code == 10 || code == 13 { return "Enter" }
        if code == 127 { return "Backspace" }
        if code >= 33 && code < 127, let scalar = Unicode.Scalar(UInt32(code)) { return String(Character(scalar)) }
        if code == reins_key_resize() { return "Resize" }
        if let name = keyname(code) { return String(cString: name) }
        return "code \(code)"
    }

    /// The terminal was resized (ncurses has already updated its size).
    public var isResize: Bool { code == reins_key_resize() }

    public var character: Character? {
        guard code >= 32 && code < 127, let scalar = Unicode.Scalar(UInt32(code)) else { return nil }
        return Character(scalar)
    }
}

/// What can go wrong with the console.
public enum ConsoleError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The console needs a terminal: run it in a terminal, over `ssh -t`, or inside tmux.
    case notATerminal

    public var description: String {
        switch self {
        case .notATerminal: "the console needs an interactive terminal; run it in a terminal, with ssh -t, or inside tmux"
        }
    }
}
