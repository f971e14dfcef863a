import Foundation

/// Changes one setting of a robot file in place, keeping its comments and layout, and writes it
/// only when the result still parses as a robot file and holds the new value: a crop chosen with
/// `reins cameras crop`, a workspace box proposed by `reins robot bounds`.
public struct RobotFileEditor {
    public let file: URL
    /// How errors name the file (e.g. `Robots/so101/robot.yaml`).
    public let displayName: String
    public private(set) var text: String

    public init(file: URL, displayName: String) throws(ConfigError) {
        self.file = file
        self.displayName = displayName
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw ConfigError.unreadable(file: displayName, reason: error.localizedDescription)
        }
    }

    /// Sets (or with nil removes) a camera's crop. The camera's entry must be a one-line flow
    /// mapping, `- {name: front, source: …}`, as the shipped files have them.
    public mutating func setCrop(_ crop: PixelRect?, camera: String) throws(ConfigError) {
        var lines = text.components(separatedBy: "\n")
        guard let index = lines.firstIndex(where: { Self.isFlowEntry($0, named: camera) }) else {
            throw ConfigError.invalid(file: displayName, line: 0, column: 0, field: "cameras",
                                      message: "no one-line entry `- {name: \(camera), …}` to put the crop in; add crop: {x, y, width, height} to camera \(camera) by hand")
        }
        var line = lines[index]
        if let range = line.range(of: #",\s*crop:\s*\{[^}]*\}"#, options: .regularExpression) { line.removeSubrange(range) }
        if let crop, let close = line.lastIndex(of: "}") {
            line.insert(contentsOf: ", crop: {x: \(crop.x), y: \(crop.y), width: \(crop.width), height: \(crop.height)}", at: close)
        }
        lines[index] = line
        let edited = lines.joined(separator: "\n")
        let definition = try RobotDefinition(yaml: edited, file: file)
        guard definition.cameras.first(where: { $0.name == camera })?.crop == crop else {
            throw ConfigError.invalid(file: displayName, line: index + 1, column: 1, field: "cameras",
                                      message: "the edited line does not hold the crop asked for; set it by hand")
        }
        text = edited
    }

    /// Sets the workspace box's min and max, which must be the `min:` and `max:` lines under
    /// `workspace_m:`.
    public mutating func setWorkspace(_ box: WorkspaceBox) throws(ConfigError) {
        var lines = text.components(separatedBy: "\n")
        guard let top = lines.firstIndex(where: { $0.hasPrefix("workspace_m:") }) else {
            throw ConfigError.invalid(file: displayName, line: 0, column: 0, field: "workspace_m", message: "no workspace_m: mapping to change")
        }
        func format(_ values: [Double]) -> String { "[" + values.map { String(format: "%.3f", $0) }.joined(separator: ", ") + "]" }
        for (key, values) in [("min", box.minM), ("max", box.maxM)] {
            guard let index = lines[(top + 1)...].prefix(while: { $0.hasPrefix(" ") || $0.hasPrefix("#") || $0.isEmpty })
                .firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(key):") }) else {
                throw ConfigError.invalid(file: displayName, line: top + 1, column: 1, field: "workspace_m",
                                          message: "no \(key): line under workspace_m to change; write it by hand: \(key): \(format(values))")
            }
            let indent = lines[index].prefix { $0 == " " }
            lines[index] = "\(indent)\(key): \(format(values))"
        }
        let edited = lines.joined(separator: "\n")
        let definition = try RobotDefinition(yaml: edited, file: file)
        let written = WorkspaceBox(minM: box.minM.map { ($0 * 1000).rounded() / 1000 }, maxM: box.maxM.map { ($0 * 1000).rounded() / 1000 })
        guard definition.workspace == written else {
            throw ConfigError.invalid(file: displayName, line: top + 1, column: 1, field: "workspace_m",
                                      message: "the edited lines do not hold the box asked for; set it by hand")
        }
        text = edited
    }

    /// Writes the file (atomically: a crash leaves the old file or the new, never half of one).
    public func save() throws(ConfigError) {
        do {
            try text.write(to: file, atomically: true, encoding: .utf8)
        } catch {
            throw ConfigError.unreadable(file: displayName, reason: "cannot write it: \(error.localizedDescription)")
        }
    }

    private static func isFlowEntry(_ line: String, named camera: String) -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("- {"), trimmed.hasSuffix("}") else { return false }
        return trimmed.range(of: #"^- \{\s*name:\s*"?"# + NSRegularExpression.escapedPattern(for: camera) + #""?\s*,"#,
                             options: .regularExpression) != nil
    }
}
