import Foundation

/// A veth pair whose far end lives in a network namespace of its own, for emulated EtherCAT
/// slaves on raw Ethernet: the master opens `masterSide`, a segment serves
/// `.interface(slaveSide, namespace: namespace)`. Made with `ip` (needs root) and removed by
/// `remove()` or when released.
public final class VirtualEthernetPair {
    public let namespace: String
    public let masterSide: String
    public let slaveSide: String
    private var removed = false

    /// The `ip` command, where Debian's iproute2 puts it.
    static var ipCommand: String? {
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Whether this process can make one: root, and `ip` installed.
    public static var canCreate: Bool { getuid() == 0 && ipCommand != nil }

    /// `tag` keeps pairs made at once apart (names are `<prefix>m<pid><tag>` and at most 15 characters).
    public init(prefix: String, tag: String = "") throws(VirtualEthernetError) {
        let suffix = "\(getpid() % 100_000)\(tag)"
        namespace = "reins-\(prefix)-\(suffix)"
        masterSide = "\(prefix)m\(suffix)"
        slaveSide = "\(prefix)s\(suffix)"
        guard masterSide.count <= 15 else { throw .failed("the interface name \(masterSide) is longer than Linux's 15 characters; shorten the prefix or tag") }
        guard getuid() == 0 else { throw .failed("a veth pair in a network namespace needs root") }
        try Self.ip(["netns", "add", namespace])
        do {
            try Self.ip(["link", "add", masterSide, "type", "veth", "peer", "name", slaveSide])
            try Self.ip(["link", "set", slaveSide, "netns", namespace])
            try Self.ip(["link", "set", masterSide, "up"])
            try Self.ip(["-n", namespace, "link", "set", slaveSide, "up"])
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Deletes the pair (both ends go with either) and the namespace; later calls do nothing.
    public func remove() {
        guard !removed else { return }
        removed = true
        _ = try? Self.ip(["link", "del", masterSide])
        _ = try? Self.ip(["netns", "del", namespace])
    }

    private static func ip(_ arguments: [String]) throws(VirtualEthernetError) {
        guard let command = ipCommand else { throw .failed("the ip command is missing: install iproute2") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            throw .failed("\(command) could not start: \(error)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw .failed("ip \(arguments.joined(separator: " ")) failed: \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}

/// A veth pair or namespace that could not be made.
public enum VirtualEthernetError: Error, Sendable, Equatable, CustomStringConvertible {
    case failed(String)

    public var description: String {
        switch self {
        case .failed(let message): message
        }
    }
}
