/// A screen that shows each key as the console receives it, so an operator can check that their
/// terminal, ssh session or tmux passes the takeover keys through before a run. Ends on `q`.
public struct KeyCheck {
    public init() {}

    /// Runs until `q`; returns the names of the keys pressed, in order.
    public func run(on screen: Screen) -> [String] {
        var pressed: [String] = []
        while true {
            draw(on: screen, pressed: pressed)
            guard let key = screen.readKey(timeoutMs: -1) else { continue }
            if key.character == "q" { return pressed }
            pressed.append(key.name)
        }
    }

    private func draw(on screen: Screen, pressed: [String]) {
        screen.clear()
        screen.border(title: "reins console keys")
        screen.draw("Press keys to see what the console receives. q quits.", row: 2, column: 2)
        screen.draw("Terminal: \(screen.columns)x\(screen.rows)", row: 3, column: 2)
        screen.draw("Last key: \(pressed.last ?? "none")", row: 5, column: 2, style: .good)
        screen.draw("Keys so far: \(pressed.count)", row: 6, column: 2)
        screen.draw("Recent: " + pressed.suffix(8).joined(separator: " "), row: 7, column: 2)
        screen.refresh()
    }
}
