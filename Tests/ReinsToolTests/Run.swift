import Foundation
import Glibc

/// The built `reins` next to this test bundle.
let reinsExecutable: String = {
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("reins")
    if FileManager.default.isExecutableFile(atPath: beside.path) { return beside.path }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/reins").path
}()

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion from the repository root and captures its output.
///
/// posix_spawn and waitpid rather than Foundation's Process, whose exit monitoring stalled here
/// when several tests spawned at once; output goes to files, not pipes, since a daemon the program
/// starts (tmux's server) inherits the descriptors and a pipe would never reach end-of-file.
func run(_ executable: String, _ arguments: [String], environment extra: [String: String] = [:],
         in directory: URL = repositoryRoot, input: String? = nil) throws -> Result {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let outPath = folder.appendingPathComponent("stdout").path, errPath = folder.appendingPathComponent("stderr").path

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var inPath = "/dev/null"
    if let input {
        inPath = folder.appendingPathComponent("stdin").path
        try input.write(toFile: inPath, atomically: false, encoding: .utf8)
    }
    posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

    let environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }.map { "\($0)=\($1)" }
    // env -C changes folder before exec: Glibc's Swift module lacks posix_spawn_file_actions_addchdir_np.
    let argv = (["/usr/bin/env", "-C", directory.path, executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup($0) } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, envp)
    guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EIO) }
    var exitStatus: Int32 = 0
    while waitpid(pid, &exitStatus, 0) < 0 && errno == EINTR {}
    let exited = exitStatus & 0x7F == 0
    return Result(status: exited ? (exitStatus >> 8) & 0xFF : 128 + (exitStatus & 0x7F),
                  stdout: try String(contentsOfFile: outPath, encoding: .utf8),
                  stderr: try String(contentsOfFile: errPath, encoding: .utf8))
}

func reins(_ arguments: String..., environment: [String: String] = [:], in directory: URL = repositoryRoot) throws -> Result {
    try run(reinsExecutable, arguments, environment: environment, in: directory)
}

/// Decodes `--json` output: one object per line.
func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
    }
}

/// A `reins` left running in the background, its output going to a file.
final class BackgroundReins {
    let pid: pid_t
    let outputPath: String

    /// With `errorsToo`, standard error goes to the same file as standard output; `environment`
    /// is added to this process's.
    init(_ arguments: [String], errorsToo: Bool = false, environment: [String: String] = [:]) throws {
        outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("reins-bg-\(UUID().uuidString)").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if errorsToo {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        let argv = ([reinsExecutable] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { strdup("\($0)=\($1)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, reinsExecutable, &actions, nil, argv, envp)
        guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EIO) }
        self.pid = pid
    }

    /// The output so far.
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Waits up to five seconds for the first line of output.
    func firstLine() -> String? {
        for _ in 0..<500 {
            if let line = output.split(separator: "\n").first, output.contains("\n") { return String(line) }
            usleep(10_000)
        }
        return nil
    }

    /// Waits up to `seconds` until the output contains `text`.
    func wait(for text: String, seconds: Double) -> Bool {
        for _ in 0..<Int(seconds * 20) {
            if output.contains(text) { return true }
            usleep(50_000)
        }
        return output.contains(text)
    }

    /// Waits up to `seconds` for the process to exit by itself; its exit status, or nil if it did not.
    func exitStatus(within seconds: Double) -> Int32? {
        var status: Int32 = 0
        for _ in 0..<Int(seconds * 20) {
            if waitpid(pid, &status, WNOHANG) == pid { return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F) }
            usleep(50_000)
        }
        return nil
    }

    /// Sends `signal` and waits for the exit; returns the exit status.
    func stop(signal: Int32 = SIGINT) -> Int32 {
        kill(pid, signal)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: outputPath)
    }
}
