/// A simulation that could not be set up; each case says what to check.
public enum SimError: Error, Equatable, CustomStringConvertible, Sendable {
    /// MuJoCo refused the model: the message is its compiler's, with the element and line.
    case modelLoad(source: String, message: String)
    /// No offscreen GL context: install the package named, or try the other backend with `--gl`.
    case glUnavailable(backend: String, reason: String, fix: String)
    /// The model has no camera of that name.
    case unknownCamera(name: String, available: [String])
    /// The requested image is bigger than the model's offscreen buffer.
    case frameTooLarge(width: Int, height: Int, maxWidth: Int, maxHeight: Int)
    /// A robot's scene disagrees with its robot file (joint names, order, limits, cameras): fix one of the two.
    case sceneMismatch(scene: String, problems: [String])

    public var description: String {
        switch self {
        case .modelLoad(let source, let message):
            "\(source): MuJoCo could not load the model: \(message)"
        case .glUnavailable(let backend, let reason, let fix):
            "offscreen GL (\(backend)) unavailable: \(reason); \(fix)"
        case .unknownCamera(let name, let available):
            "the model has no camera \"\(name)\"; it has: \(available.isEmpty ? "none (use the free camera)" : available.joined(separator: ", "))"
        case .frameTooLarge(let width, let height, let maxWidth, let maxHeight):
            "a \(width)x\(height) frame exceeds the model's offscreen buffer of \(maxWidth)x\(maxHeight); raise <visual><global offwidth offheight> in the scene"
        case .sceneMismatch(let scene, let problems):
            "\(scene) does not match its robot file: \(problems.joined(separator: "; "))"
        }
    }
}
