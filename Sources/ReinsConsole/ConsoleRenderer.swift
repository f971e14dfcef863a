import CNcurses
import Foundation
import ReinsControl

/// The console's keys: one place, shown in the footer and the help screen.
public enum KeyMap {
    /// What a key asks for, or nil for keys that mean nothing here.
    public static func command(for code: Int32) -> TeleopCommand? {
        switch code {
        case 32: .toggleControl
        case Int32(UInt8(ascii: "w")): .translate(axis: 0, direction: 1)
        case Int32(UInt8(ascii: "s")): .translate(axis: 0, direction: -1)
        case Int32(UInt8(ascii: "a")): .translate(axis: 1, direction: 1)
        case Int32(UInt8(ascii: "d")): .translate(axis: 1, direction: -1)
        case Int32(UInt8(ascii: "r")): .translate(axis: 2, direction: 1)
        case Int32(UInt8(ascii: "f")): .translate(axis: 2, direction: -1)
        case reins_key_up(): .rotate(axis: 1, direction: 1)
        case reins_key_down(): .rotate(axis: 1, direction: -1)
        case reins_key_left(): .rotate(axis: 0, direction: 1)
        case reins_key_right(): .rotate(axis: 0, direction: -1)
        case Int32(UInt8(ascii: "q")): .rotate(axis: 2, direction: 1)
        case Int32(UInt8(ascii: "e")): .rotate(axis: 2, direction: -1)
        case Int32(UInt8(ascii: "o")): .openGripper
        case Int32(UInt8(ascii: "c")): .closeGripper
        case Int32(UInt8(ascii: "+")), Int32(UInt8(ascii: "=")): .faster
        case Int32(UInt8(ascii: "-")): .slower
        case Int32(UInt8(ascii: "y")): .markSuccess
        case Int32(UInt8(ascii: "n")): .markFailure
        case reins_key_backspace(), 127, 8: .discard
        case Int32(UInt8(ascii: "p")): .pause
        case Int32(UInt8(ascii: "k")): .checkpoint
        case Int32(UInt8(ascii: "l")): .toggleSuccessLabel
        case Int32(UInt8(ascii: "x")), 27: .stop
        case Int32(UInt8(ascii: "?")): .help
        case 3, Int32(UInt8(ascii: "Q")): .quit
        default: nil
        }
    }

    public static let footer = "spc take/give  wasdrf move  arrows q/e turn  o/c grip  +/- speed  y/n end  bksp drop  p pause  x/Esc STOP  ? help  Q quit"

    public static let help = [
        "space        take over from the policy / hand back",
        "w s          end effector forward / back (base x)",
        "a d          left / right (base y)",
        "r f          up / down (base z)",
        "up down      tilt the tool (about its y axis)",
        "left right   roll the tool (about its x axis)",
        "q e          turn the tool (about its z axis)",
        "o c          open / close the gripper",
        "+ -          faster / slower steps",
        "y n          mark success / failure and end the episode",
        "backspace    end the episode and discard it",
        "p            pause (the arm holds)",
        "k            training: checkpoint and learning curve after this episode",
        "l            label the frames from now on success (again: failure)",
        "x or Esc     STOP: hold, then torque off",
        "?            this help",
        "Q or Ctrl-C  quit (asks first)",
    ]
}

/// Draws a `ConsoleModel` on a `Screen`: header, joints with bars, end effector, camera previews
/// in half-block characters (256 colours, 8 when that is all the terminal has), the learner panel,
/// recent events and the key line. Lays out for any size from 80×24 up.
final class ConsoleRenderer {
    let screen: Screen

    init(screen: Screen) {
        self.screen = screen
    }

    func draw(_ model: ConsoleModel) {
        screen.clear()
        let rows = screen.rows, columns = screen.columns
        guard rows >= 12, columns >= 40 else {
            screen.draw("terminal too small: \(columns)x\(rows), need 80x24", row: 0, column: 0, style: .warning)
            screen.refresh()
            return
        }
        drawHeader(model, columns: columns)
        let panelWidth = min(50, columns / 2 + 8)
        var row = 2
        row = drawJoints(model, row: row, width: panelWidth)
        let topEnd = max(row, 2 + min(12, rows / 3))
        drawPreviews(model.previews, top: 1, bottom: topEnd, left: panelWidth + 1, right: columns - 1)
        row = topEnd + 1
        drawLearner(model.learner, row: row, columns: columns)
        row += 2
        let footerRow = rows - 1
        let promptRow = rows - 2
        drawEvents(model.events, from: row, to: promptRow - 1, columns: columns)
        if let prompt = model.prompt {
            screen.draw(String(repeating: " ", count: columns), row: promptRow, column: 0, style: .inverse)
            screen.draw(prompt, row: promptRow, column: 1, style: .inverse)
        }
        screen.draw(String(KeyMap.footer.prefix(columns - 1)), row: footerRow, column: 0, style: .bold)
        if model.showHelp { drawHelp(rows: rows, columns: columns) }
        screen.refresh()
    }

    private func drawHeader(_ model: ConsoleModel, columns: Int) {
        screen.draw(String(repeating: " ", count: columns), row: 0, column: 0, style: .inverse)
        let left = " \(model.command) · \(model.robot)\(model.task.isEmpty ? "" : " · \(model.task)") "
        screen.draw(left, row: 0, column: 0, style: .inverse)
        let modeStyle: Screen.Style = model.mode == .stopped ? .warning : .bold
        screen.draw(" \(model.mode.rawValue) ", row: 0, column: left.count + 1, style: modeStyle)
        let classifier = model.rewardProbability.map { String(format: "p(success) %.2f  ", $0) } ?? ""
        let episode = String(format: "ep %d  step %d/%d  reward %.2f  return %.2f  ", model.episode, model.step, model.maxSteps, model.reward,
                             model.episodeReturn) + classifier + String(format: "loop %.0f Hz p99 %.0f µs ", model.loopHz, model.jitterP99Us)
        screen.draw(episode, row: 0, column: max(left.count + model.mode.rawValue.count + 4, columns - episode.count), style: .inverse)
    }

    private func drawJoints(_ model: ConsoleModel, row start: Int, width: Int) -> Int {
        var row = start - 1
        screen.draw("joint          pos     target  limits", row: row, column: 1, style: .bold)
        row += 1
        let barWidth = max(6, width - 34)
        for joint in model.joints {
            let span = joint.limits.upperBound - joint.limits.lowerBound
            let fraction = span > 0 ? (joint.position - joint.limits.lowerBound) / span : 0.5
            let targetFraction = span > 0 ? (joint.target - joint.limits.lowerBound) / span : 0.5
            var bar = Array(repeating: Character("-"), count: barWidth)
            let at = min(max(Int((fraction * Double(barWidth - 1)).rounded()), 0), barWidth - 1)
            let targetAt = min(max(Int((targetFraction * Double(barWidth - 1)).rounded()), 0), barWidth - 1)
            bar[targetAt] = "+"
            bar[at] = "#"
            let name = String(joint.name.prefix(13)).padding(toLength: 14, withPad: " ", startingAt: 0)
            let text = name + String(format: "%+6.2f  %+6.2f  ", joint.position, joint.target) + "[" + String(bar) + "]"
            let nearLimit = fraction < 0.03 || fraction > 0.97
            screen.draw(text, row: row, column: 1, style: nearLimit ? .warning : .plain)
            row += 1
        }
        if model.endEffector.count == 6 {
            let e = model.endEffector
            screen.draw(String(format: "ee x %.3f y %.3f z %.3f m", e[0], e[1], e[2]), row: row, column: 1)
            screen.draw(String(format: "   rot (%+.2f %+.2f %+.2f) rad", e[3], e[4], e[5]), row: row + 1, column: 1)
            row += 2
        }
        let gripper = model.gripper.map { String(format: "gripper %3.0f %% open", $0 * 100) } ?? "no gripper"
        screen.draw(gripper + String(format: "   speed %.2f   clamps %d", model.speed, model.safetyClamps), row: row, column: 1)
        return row + 1
    }

    private func drawPreviews(_ previews: [ConsoleModel.Preview], top: Int, bottom: Int, left: Int, right: Int) {
        guard !previews.isEmpty, right - left >= 8, bottom - top >= 4 else { return }
        let each = (right - left) / previews.count
        for (index, preview) in previews.enumerated() {
            let x = left + index * each
            screen.draw(String(preview.name.prefix(each - 1)), row: top, column: x, style: .bold)
            screen.drawImage(preview, row: top + 1, column: x, maxColumns: each - 1, maxRows: bottom - top - 1)
        }
    }

    /// Two rows: the first after the label, the second the whole width.
    private func drawLearner(_ lines: [String]?, row: Int, columns: Int) {
        screen.draw("learner", row: row, column: 1, style: .bold)
        guard let lines, let first = lines.first else {
            screen.draw(String("none in this command (reins train shows updates/s, losses, buffers and success rates here)".prefix(columns - 10)),
                        row: row, column: 9)
            return
        }
        screen.draw(String(first.prefix(columns - 10)), row: row, column: 9)
        if lines.count > 1 { screen.draw(String(lines[1...].joined(separator: "  ").prefix(columns - 2)), row: row + 1, column: 1) }
    }

    private func drawEvents(_ events: [String], from top: Int, to bottom: Int, columns: Int) {
        guard bottom >= top else { return }
        screen.draw("events", row: top, column: 1, style: .bold)
        let shown = events.suffix(max(0, bottom - top))
        for (offset, event) in shown.enumerated() {
            screen.draw(String(event.prefix(columns - 2)), row: top + 1 + offset, column: 1)
        }
    }

    private func drawHelp(rows: Int, columns: Int) {
        let width = min(columns - 4, 62), height = min(rows - 4, KeyMap.help.count + 2)
        let left = (columns - width) / 2, top = (rows - height) / 2
        for y in 0..<height { screen.draw(String(repeating: " ", count: width), row: top + y, column: left, style: .inverse) }
        screen.draw(" keys (? closes) ", row: top, column: left + 2, style: .inverse)
        for (index, line) in KeyMap.help.prefix(height - 2).enumerated() {
            screen.draw(String(line.prefix(width - 4)), row: top + 1 + index, column: left + 2, style: .inverse)
        }
    }
}
