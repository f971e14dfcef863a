/// A data file that could not be written or read; each case says what to check.
public enum DataError: Error, Equatable, CustomStringConvertible, Sendable {
    /// An HDF5 call failed on the named object: check the path exists, the disk has room, and
    /// that no other program holds the file open for writing.
    case hdf5(file: String, object: String, operation: String)
    /// A dataset holds a different element type or rank than asked for.
    case typeMismatch(file: String, object: String, expected: String)
    /// OpenCV failed; the message is OpenCV's own.
    case openCV(path: String, message: String)
    /// The buffer does not match the frame size.
    case frameSize(path: String, expected: Int, got: Int)
    /// A network stream could not listen: the port is taken or the system refused a socket.
    case stream(address: String, reason: String)

    public var description: String {
        switch self {
        case .hdf5(let file, let object, let operation):
            "\(file): \(operation) failed for \(object); check the path, free disk space, and that no other program is writing the file"
        case .typeMismatch(let file, let object, let expected):
            "\(file): \(object) is not \(expected)"
        case .openCV(let path, let message):
            "\(path): \(message)"
        case .frameSize(let path, let expected, let got):
            "\(path): a frame needs \(expected) bytes, got \(got)"
        case .stream(let address, let reason):
            "\(address): \(reason) (is another program using the port?)"
        }
    }
}
