/// A robot or calibration file that cannot be used, located as precisely as the file allows.
///
/// Every description reads like a compiler diagnostic, `file:line:column: field: problem`, so an
/// editor can jump to it and the user knows what to type instead.
public enum ConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file is missing or unreadable: check the path, or the robot name against `reins robots`.
    case unreadable(file: String, reason: String)
    /// The file is not valid YAML (bad indentation, a tab, an unclosed quote, a repeated key):
    /// fix the text at the line given.
    case syntax(file: String, line: Int, column: Int, message: String)
    /// A field is missing, unknown, of the wrong type or out of range: the message says what is
    /// expected.
    case invalid(file: String, line: Int, column: Int, field: String, message: String)

    public var file: String {
        switch self {
        case .unreadable(let file, _), .syntax(let file, _, _, _), .invalid(let file, _, _, _, _): file
        }
    }

    /// The 1-based line of the problem, when the file was readable.
    public var line: Int? {
        switch self {
        case .unreadable: nil
        case .syntax(_, let line, _, _), .invalid(_, let line, _, _, _): line
        }
    }

    /// The field's path in the file, such as `motors[2].id`, for field errors.
    public var field: String? {
        if case .invalid(_, _, _, let field, _) = self { return field }
        return nil
    }

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            "\(file): \(reason)"
        case .syntax(let file, let line, let column, let message):
            "\(file):\(line):\(column): \(message)"
        case .invalid(let file, let line, let column, let field, let message):
            "\(file):\(line):\(column): \(field): \(message)"
        }
    }
}
