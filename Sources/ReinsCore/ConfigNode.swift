import Foundation
import Yams

/// One value of a YAML file, with the field path and position needed to report a problem with it.
///
/// Robot and calibration files are read through this rather than `Decodable`, so every error can
/// name the file, the line and the field, and unknown fields are refused instead of ignored.
struct ConfigNode {
    let node: Node
    /// Where the value sits, e.g. `motors[2].id`; empty for the document itself.
    let field: String
    let file: String

    /// Parses `text` and returns its root, or a syntax error that names the line.
    static func parse(_ text: String, file: String) throws(ConfigError) -> ConfigNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw .syntax(file: file, line: 1, column: 1, message: "\(error)")
        }
        guard let root else {
            throw .syntax(file: file, line: 1, column: 1, message: "the file is empty; expected a mapping of fields")
        }
        return ConfigNode(node: root, field: "", file: file)
    }

    /// Reads and parses a file, naming it in every error.
    static func load(contentsOf url: URL, displayName: String) throws(ConfigError) -> ConfigNode {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw .unreadable(
                file: displayName,
                reason: exists ? "cannot be read as UTF-8 text (\(error.localizedDescription))" : "no such file")
        }
        return try parse(text, file: displayName)
    }

    private static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _):
            return .syntax(file: file, line: mark.line, column: mark.column,
                           message: "YAML syntax: \(problem)" + (context.map { " \($0.text)" } ?? ""))
        case .parser(let context, let problem, let mark, _):
            return .syntax(file: file, line: mark.line, column: mark.column,
                           message: "YAML syntax: \(problem)" + (context.map { " \($0.text)" } ?? ""))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return .syntax(file: file, line: context.mark.line, column: context.mark.column,
                           message: "the key \(keys) appears more than once in the same mapping; keep one")
        default:
            return .syntax(file: file, line: 1, column: 1, message: "YAML: \(error)")
        }
    }

    var line: Int { node.mark?.line ?? 1 }
    var column: Int { node.mark?.column ?? 1 }

    /// An error about this value.
    func invalid(_ message: String) -> ConfigError {
        .invalid(file: file, line: line, column: column, field: field.isEmpty ? "(document)" : field, message: message)
    }

    /// What the value is, for "expected X, found Y" messages.
    var found: String {
        switch node {
        case .scalar(let scalar):
            scalar.string.isEmpty ? "an empty value" : "\"\(scalar.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    func scalarText(expected: String) throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw invalid("expected \(expected), found \(found)") }
        return scalar.string
    }

    func string() throws(ConfigError) -> String {
        let text = try scalarText(expected: "a string")
        guard !text.isEmpty else { throw invalid("expected a non-empty string, found an empty value") }
        return text
    }

    func int(in range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int {
        let expected = range.map { "an integer from \($0.lowerBound) to \($0.upperBound)" } ?? "an integer"
        let text = try scalarText(expected: expected)
        guard let value = Int(text) else { throw invalid("expected \(expected), found \(found)") }
        if let range, !range.contains(value) { throw invalid("expected \(expected), found \(value)") }
        return value
    }

    func double() throws(ConfigError) -> Double {
        let text = try scalarText(expected: "a number")
        guard let value = Double(text), value.isFinite else { throw invalid("expected a number, found \(found)") }
        return value
    }

    /// A number that must be greater than zero.
    func positiveDouble() throws(ConfigError) -> Double {
        let value = try double()
        guard value > 0 else { throw invalid("expected a number greater than 0, found \(value)") }
        return value
    }

    func list() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw invalid("expected a list, found \(found)") }
        return sequence.enumerated().map { ConfigNode(node: $1, field: "\(field)[\($0)]", file: file) }
    }

    /// A list of exactly `count` numbers, e.g. `[min, max]` or `[x, y, z]`.
    func numbers(count: Int, meaning: String) throws(ConfigError) -> [Double] {
        let items = try list()
        guard items.count == count else {
            throw invalid("expected \(count) numbers \(meaning), found \(items.count)")
        }
        var values: [Double] = []
        for item in items { values.append(try item.double()) }
        return values
    }

    /// The value as a mapping whose keys must all be among `allowed`.
    func fields(allowed: [String]) throws(ConfigError) -> ConfigFields {
        guard case .mapping(let mapping) = node else {
            throw invalid("expected a mapping with fields \(allowed.joined(separator: ", ")), found \(found)")
        }
        var entries: [(key: String, value: ConfigNode)] = []
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? ""
            let child = ConfigNode(node: valueNode, field: field.isEmpty ? key : "\(field).\(key)", file: file)
            guard allowed.contains(key) else {
                let keyAt = ConfigNode(node: keyNode, field: child.field, file: file)
                throw keyAt.invalid(Self.unknownFieldMessage(key, allowed: allowed))
            }
            entries.append((key, child))
        }
        return ConfigFields(owner: self, entries: entries)
    }

    /// A mapping whose keys are names chosen by the file (motor names, camera names), in file order.
    func namedEntries() throws(ConfigError) -> [(name: String, value: ConfigNode)] {
        guard case .mapping(let mapping) = node else { throw invalid("expected a mapping of names, found \(found)") }
        return mapping.map { keyNode, valueNode in
            let key = keyNode.string ?? ""
            return (key, ConfigNode(node: valueNode, field: field.isEmpty ? key : "\(field).\(key)", file: file))
        }
    }

    static func unknownFieldMessage(_ key: String, allowed: [String]) -> String {
        var message = "unknown field \"\(key)\""
        if let close = allowed.min(by: { editDistance($0, key) < editDistance($1, key) }),
           editDistance(close, key) <= 2 {
            message += " (did you mean \"\(close)\"?)"
        }
        return message + "; expected one of: \(allowed.joined(separator: ", "))"
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 0..<b.count {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (a[i - 1] == b[j] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// The fields of one YAML mapping, already checked against the allowed names.
struct ConfigFields {
    let owner: ConfigNode
    let entries: [(key: String, value: ConfigNode)]

    func optional(_ key: String) -> ConfigNode? {
        entries.first { $0.key == key }?.value
    }

    func required(_ key: String, expected: String) throws(ConfigError) -> ConfigNode {
        guard let value = optional(key) else {
            let name = owner.field.isEmpty ? key : "\(owner.field).\(key)"
            throw ConfigError.invalid(file: owner.file, line: owner.line, column: owner.column, field: name,
                                      message: "missing; expected \(expected)")
        }
        return value
    }
}
