import Foundation

/// The `Robots/` and `Calibration/` folders of a Reins checkout, and the robots in them.
public struct RobotCatalog: Sendable {
    /// The folder holding `Robots/` and `Calibration/`.
    public let root: URL

    public var robotsDirectory: URL { root.appendingPathComponent("Robots", isDirectory: true) }
    public var calibrationDirectory: URL { root.appendingPathComponent("Calibration", isDirectory: true) }

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    /// Finds the checkout: `REINS_HOME` when set, else the current folder or the nearest folder
    /// above the running executable that has a `Robots/` folder (so `.build/debug/reins` works from
    /// anywhere).
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment,
                              currentDirectory: String = FileManager.default.currentDirectoryPath,
                              executable: String = CommandLine.arguments.first ?? "") throws(ConfigError) -> RobotCatalog {
        if let home = environment["REINS_HOME"], !home.isEmpty {
            let catalog = RobotCatalog(root: URL(fileURLWithPath: home, isDirectory: true))
            guard catalog.hasRobotsDirectory else {
                throw .unreadable(file: catalog.robotsDirectory.path,
                                  reason: "REINS_HOME is set but has no Robots folder; point it at the Reins checkout")
            }
            return catalog
        }
        var candidates = [URL(fileURLWithPath: currentDirectory, isDirectory: true)]
        var folder = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        while folder.path != "/" {
            candidates.append(folder)
            folder = folder.deletingLastPathComponent()
        }
        guard let found = candidates.map(RobotCatalog.init(root:)).first(where: \.hasRobotsDirectory) else {
            throw .unreadable(file: "Robots/",
                              reason: "no Robots folder here or above the reins executable; run reins from the Reins checkout or set REINS_HOME to it")
        }
        return found
    }

    var hasRobotsDirectory: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: robotsDirectory.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The robots with a `robot.yaml`, sorted by name.
    public func robotNames() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: robotsDirectory.path)) ?? []
        return entries.filter { name in
            FileManager.default.fileExists(atPath: robotsDirectory.appendingPathComponent("\(name)/robot.yaml").path)
        }.sorted()
    }

    /// The robot file for a robot name (`so101`) or a path to a YAML file.
    public func robotFile(for nameOrPath: String) throws(ConfigError) -> URL {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") {
            return URL(fileURLWithPath: nameOrPath)
        }
        let file = robotsDirectory.appendingPathComponent("\(nameOrPath)/robot.yaml")
        guard FileManager.default.fileExists(atPath: file.path) else {
            let known = robotNames().joined(separator: ", ")
            throw .unreadable(file: displayPath(file),
                              reason: "no robot named \"\(nameOrPath)\"; known robots: \(known.isEmpty ? "none" : known)")
        }
        return file
    }

    /// Loads and validates a robot by name or path.
    public func robot(_ nameOrPath: String) throws(ConfigError) -> RobotDefinition {
        let file = try robotFile(for: nameOrPath)
        return try RobotDefinition(contentsOf: file, displayName: displayPath(file))
    }

    /// The calibration files of a robot, sorted by instance name.
    public func calibrationFiles(for robot: String) -> [URL] {
        let folder = calibrationDirectory.appendingPathComponent(robot, isDirectory: true)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return entries.filter { $0.hasSuffix(".yaml") }.sorted().map { folder.appendingPathComponent($0) }
    }

    /// Loads a robot's calibration by instance name; without one, the robot's only calibration file.
    public func calibration(for robot: RobotDefinition, instance: String?) throws(ConfigError) -> Calibration {
        let files = calibrationFiles(for: robot.name)
        let folder = displayPath(calibrationDirectory.appendingPathComponent(robot.name, isDirectory: true))
        let file: URL
        if let instance {
            guard let match = files.first(where: { $0.deletingPathExtension().lastPathComponent == instance }) else {
                throw .unreadable(file: "\(folder)/\(instance).yaml",
                                  reason: "no such calibration; run `reins calibrate --robot \(robot.name)` or pick one of: \(instanceNames(files))")
            }
            file = match
        } else {
            guard files.count == 1 else {
                throw .unreadable(file: folder, reason: files.isEmpty
                    ? "no calibration for \(robot.name); run `reins calibrate --robot \(robot.name)`"
                    : "several calibrations (\(instanceNames(files))); choose one with --id")
            }
            file = files[0]
        }
        return try Calibration(contentsOf: file, for: robot, displayName: displayPath(file))
    }

    private func instanceNames(_ files: [URL]) -> String {
        files.map { $0.deletingPathExtension().lastPathComponent }.joined(separator: ", ")
    }

    /// A path relative to the current folder when the file is under it, for short messages.
    public func displayPath(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let here = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(here) ? String(path.dropFirst(here.count)) : path
    }
}
