import Foundation
import Testing

@Suite("reins commands")
struct CommandTests {
    @Test("reins robots lists ec6, omx and so101, as text and as JSON")
    func robots() throws {
        let text = try reins("robots")
        #expect(text.status == 0)
        let names = text.stdout.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(names == ["ec6", "omx", "so101"])
        let json = try jsonLines(try reins("robots", "--json").stdout)
        #expect(json.compactMap { $0["name"] as? String } == ["ec6", "omx", "so101"])
        #expect(json.map { $0["bus_protocol"] as? String } == ["ethercat", "dynamixel", "feetech"])
        #expect(json.last?["calibrations"] as? [String] == ["sim"])
    }

    @Test("reins finds the checkout from its own location, from any folder")
    func fromElsewhere() throws {
        let result = try reins("robots", in: URL(fileURLWithPath: "/tmp"))
        #expect(result.status == 0)
        #expect(result.stdout.contains("so101"))
    }

    @Test("reins robots show prints a validated definition")
    func show() throws {
        let result = try reins("robots", "show", "so101")
        #expect(result.status == 0)
        #expect(result.stdout.contains("shoulder_pan   id 1   sts3215"))
        #expect(result.stdout.contains("sim: valid"))
        let json = try #require(try jsonLines(try reins("robots", "show", "omx", "--json").stdout).first)
        let motors = try #require(json["motors"] as? [[String: Any]])
        #expect(motors.compactMap { $0["id"] as? Int } == [11, 12, 13, 14, 15])
    }

    @Test("reins robots show refuses a bad file with its path, line and field", arguments: [
        ("baud: 1000000", "baud: fast", "bus.baud", "expected an integer"),
        ("  baud: 1000000", "  speed: 1000000", "bus.speed", "unknown field \"speed\""),
        ("name: elbow_flex,    id: 3", "name: elbow_flex,    id: 1", "motors[2].id", "duplicate id 1"),
    ])
    func badFile(original: String, replacement: String, field: String, message: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-bad-\(getpid())-\(field)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("Robots/so101/robot.yaml"), encoding: .utf8)
            .replacingOccurrences(of: original, with: replacement)
        let file = folder.appendingPathComponent("robot.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let lineNumber = text.components(separatedBy: "\n").firstIndex { $0.contains(replacement) }! + 1

        let result = try reins("robots", "show", file.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(file.path):\(lineNumber):"), "\(result.stderr)")
        #expect(result.stderr.contains(": \(field): \(message)"), "\(result.stderr)")
    }

    @Test("reins robots show names a missing robot file")
    func missingFile() throws {
        let result = try reins("robots", "show", "/tmp/reins-no-such-robot/robot.yaml")
        #expect(result.status == 1)
        #expect(result.stderr.contains("/tmp/reins-no-such-robot/robot.yaml: no such file"))
    }

    @Test("a stand-in's mistakes or the scripted operator without the twin, a share outside 0–1, and a live success rate outside (0, 1) are refused, naming the option",
          arguments: [
              (["train", "--robot", "so101", "--port", "/dev/null", "--stand-in-miss", "0.2"], "--stand-in-miss gives the twin's stand-in operator"),
              (["record", "--robot", "so101", "--sim", "--episodes", "1", "--out", "/tmp/reins-never", "--stand-in-false-y", "0.1"], "--stand-in-false-y gives the twin's stand-in operator"),
              (["train", "--robot", "so101", "--sim", "--stand-in-miss", "1.5"], "--stand-in-miss must be a share from 0 to 1"),
              (["reward", "train", "--data", "/tmp/reins-never", "--live-success-rate", "1"], "--live-success-rate must be between 0 and 1"),
              (["train", "--robot", "so101", "--port", "/dev/null", "--reward", "task"], "--reward task: the task's reward needs the twin"),
              (["train", "--robot", "so101", "--port", "/dev/null", "--operator", "scripted"], "--operator scripted needs the twin (--sim)"),
              (["record", "--robot", "so101", "--port", "/dev/null", "--episodes", "1", "--out", "/tmp/reins-never", "--operator", "scripted"], "on a real arm use --operator keyboard"),
              (["eval", "--robot", "so101", "--port", "/dev/null", "--checkpoint", "/tmp/reins-never", "--episodes", "1", "--operator", "scripted"], "--operator scripted needs the twin"),
              (["record", "--robot", "so101", "--port", "/dev/null", "--episodes", "1", "--out", "/tmp/reins-never", "--camera", "top=/dev/video4"],
               "Robots/so101/robot.yaml has no camera \"top\"; its cameras are front, wrist"),
              (["train", "--robot", "so101", "--sim", "--run", "/tmp/reins-never", "--camera", "front=/dev/video4"], "the twin (--sim) renders its own"),
              (["teleop", "--robot", "so101", "--port", "/dev/null", "--camera", "front=0", "--camera", "front=1"], "--camera front= is given twice"),
              (["eval", "--robot", "so101", "--port", "/dev/null", "--checkpoint", "/tmp/reins-never", "--episodes", "1", "--camera", "front"],
               "NAME=SOURCE"),
              (["teleop", "--robot", "so101", "--port", "/dev/null", "--camera", "front=0", "--no-cameras"], "--no-cameras leaves out"),
          ])
    func refusedOptions(arguments: [String], words: String) throws {
        let result = try run(reinsExecutable, arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(words), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/reins-never"))
    }

    @Test("every command has help with an example", arguments: [
        ["--help"], ["doctor", "--help"], ["robots", "--help"], ["robots", "show", "--help"], ["robots", "list", "--help"],
        ["ports", "--help"], ["sim", "--help"], ["sim", "render", "--help"], ["console", "--help"], ["console", "keys", "--help"],
        ["bus", "--help"], ["ethercat", "--help"], ["ethercat", "emulate", "--help"], ["ethercat", "scan", "--help"], ["ethercat", "sdo", "read", "--help"], ["ethercat", "state", "--help"], ["bench", "ethercat", "--help"], ["bus", "emulate", "--help"], ["setup-motors", "--help"], ["cameras", "crop", "--help"], ["robot", "bounds", "--help"], ["bus", "scan", "--help"], ["bus", "read", "--help"], ["bus", "write", "--help"],
        ["bench", "--help"], ["bench", "bus", "--help"], ["bench", "learner", "--help"], ["bench", "inference", "--help"],
        ["bench", "sac-pendulum", "--help"], ["bench", "sim", "--help"], ["sim", "run", "--help"],
        ["bench", "loop", "--help"], ["robot", "--help"], ["robot", "state", "--help"], ["robot", "home", "--help"],
        ["calibrate", "--help"], ["cameras", "--help"], ["teleop", "--help"], ["record", "--help"], ["replay", "--help"],
        ["dataset", "--help"], ["dataset", "info", "--help"], ["train", "--help"], ["eval", "--help"],
    ])
    func help(arguments: [String]) throws {
        let result = try run(reinsExecutable, arguments)
        #expect(result.status == 0)
        #expect(result.stdout.contains("Example"))
    }

    @Test("help says what the code does: the learner benchmark's shared encoder, train's cameras, and every --json the README lists")
    func helpMatchesCode() throws {
        // Help wraps at the terminal's width: compare with the line breaks taken out.
        func help(_ arguments: String...) throws -> String {
            try run(reinsExecutable, arguments).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        }
        #expect(try help("bench", "learner", "--help").contains("one encoder shared by actor and critic"))
        let train = try help("train", "--help")
        #expect(train.contains("or those --cameras names") && !train.contains("The policy sees one camera"))
        // Each command the README's table lists with --json takes it.
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var checked = 0
        for row in readme.split(separator: "\n") where row.hasPrefix("| `reins ") {
            let usage = row.dropFirst("| `reins ".count).prefix { $0 != "`" }
            guard usage.contains("--json") else { continue }
            let words = usage.split(separator: " ").prefix { $0.range(of: #"^[a-z][a-z-]*(\\\|[a-z-]+)*$"#, options: .regularExpression) != nil }
                .map { String($0.split(separator: "\\").first ?? $0) }
            let help = try run(reinsExecutable, words + ["--help"]).stdout
            #expect(help.contains("--json"), "reins \(words.joined(separator: " ")) does not take --json, as the README says")
            checked += 1
        }
        #expect(checked >= 10)
        // The design the README and the sources cite is in the repository.
        #expect(readme.contains("DESIGN.md") && FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent("DESIGN.md").path))
    }

    @Test("reins sim render writes a PNG of the demo scene")
    func render() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("reins-render-\(getpid()).png")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try reins("sim", "render", "--gl", "osmesa", "--width", "64", "--height", "48", "--out", out.path, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try jsonLines(result.stdout).first)
        #expect(json["gl_backend"] as? String == "osmesa")
        #expect((json["mean_intensity"] as? Double ?? 0) > 10)
        let png = try #require(FileManager.default.contents(atPath: out.path))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }

    @Test("reins sim render also runs on EGL")
    func renderEGL() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("reins-render-egl-\(getpid()).png")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try reins("sim", "render", "--gl", "egl", "--width", "64", "--height", "48", "--out", out.path, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try jsonLines(result.stdout).first)
        #expect(json["gl_backend"] as? String == "egl")
        #expect((json["mean_intensity"] as? Double ?? 0) > 10)
    }
}

@Suite("reins doctor")
struct DoctorTests {
    @Test("every check passes on a machine set up with make setup")
    func passes() throws {
        let result = try reins("doctor", "--json")
        let checks = try jsonLines(result.stdout)
        #expect(checks.compactMap { $0["check"] as? String } ==
                ["OpenCV", "OpenBLAS", "ncurses", "HDF5", "MuJoCo", "offscreen GL", "libserialport", "cameras", "robots", "device access"])
        for check in checks where check["ok"] as? Bool != true {
            Issue.record("\(check["check"] ?? "?") failed: \(check["detail"] ?? "") — fix: \(check["fix"] ?? "")")
        }
        #expect(result.status == 0)
    }

    @Test("a generic BLAS kernel someone set is honoured, and doctor warns with the fix; benchmarks say who chose the kernel")
    func genericKernelWarned() throws {
        let result = try reins("doctor", "--json", environment: ["OPENBLAS_CORETYPE": "Prescott"])
        let blas = try #require(try jsonLines(result.stdout).first { $0["check"] as? String == "OpenBLAS" })
        let detail = blas["detail"] as? String ?? ""
        #expect(blas["ok"] as? Bool == true && blas["warning"] as? Bool == true, "\(blas)")
        #expect(detail.contains("kernel Prescott (chosen by environment)") && detail.contains("generic"), "\(detail)")
        #expect((blas["fix"] as? String ?? "").contains("OPENBLAS_CORETYPE"))
        #expect(result.status == 0)

        let chosen = ["OPENBLAS_CORETYPE": "Haswell", "REINS_BLAS_CHOSEN": "Haswell"]
        let bench = try #require(try jsonLines(try reins("bench", "inference", "--config", "state", "--iterations", "20", "--json",
                                                         environment: chosen).stdout).first)
        #expect(bench["blas_core"] as? String == "Haswell" && bench["blas_core_chosen_by"] as? String == "reins", "\(bench)")
        let set = try #require(try jsonLines(try reins("bench", "inference", "--config", "state", "--iterations", "20", "--json",
                                                       environment: ["OPENBLAS_CORETYPE": "Haswell"]).stdout).first)
        #expect(set["blas_core_chosen_by"] as? String == "environment")
    }

    @Test("a probe run answers whether a kernel loads and multiplies right, and nothing else")
    func kernelProbe() throws {
        let agrees = try reins("robots", environment: ["OPENBLAS_CORETYPE": "Haswell", "REINS_BLAS_PROBE": "Haswell"])
        #expect(agrees.status == 0 && agrees.stdout.isEmpty)
        let other = try reins("robots", environment: ["OPENBLAS_CORETYPE": "Haswell", "REINS_BLAS_PROBE": "SkylakeX"])
        #expect(other.status == 1)
    }

    @Test("a missing GL library fails the check and names the package")
    func missingLibrary() throws {
        let result = try reins("doctor", "--gl", "osmesa", environment: ["REINS_OSMESA_LIBRARY": "libOSMesa.so.404"])
        #expect(result.status == 1)
        let failed = result.stdout.split(separator: "\n").drop { !$0.hasPrefix("FAILED  offscreen GL") }
        #expect(failed.first?.contains("libOSMesa.so.404") == true, "\(result.stdout)")
        #expect(failed.dropFirst().first?.contains("fix: sudo apt-get install libosmesa6") == true, "\(result.stdout)")
        #expect(result.stdout.contains("1 of 10 checks failed"))
    }

    @Test("a port given is checked: an emulator's pty may be opened; one that is not there fails, saying what to do")
    func portAccess() throws {
        let emulator = try BackgroundReins(["bus", "emulate", "--robot", "so101", "--no-physics"])
        defer { _ = emulator.stop() }
        let port = try #require(emulator.firstLine())
        let present = try #require(try jsonLines(try reins("doctor", "--json", "--port", port).stdout).first { $0["check"] as? String == "device access" })
        #expect(present["ok"] as? Bool == true && (present["detail"] as? String ?? "").contains("may open \(port)"), "\(present)")
        let result = try reins("doctor", "--port", "/dev/ttyUSB-reins-none")
        #expect(result.status == 1)
        #expect(result.stdout.contains("FAILED  device access  /dev/ttyUSB-reins-none does not exist") && result.stdout.contains("reins ports"),
                "\(result.stdout)")
    }

    @Test("a broken robot file fails the robots check")
    func brokenRobot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("reins-home-\(getpid())")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Robots/arm"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "name: arm\nbus: {protocol: feetech, baud: 9}\n".write(
            to: root.appendingPathComponent("Robots/arm/robot.yaml"), atomically: true, encoding: .utf8)
        let result = try reins("doctor", "--json", environment: ["REINS_HOME": root.path])
        #expect(result.status == 1)
        let robots = try #require(try jsonLines(result.stdout).first { $0["check"] as? String == "robots" })
        #expect(robots["ok"] as? Bool == false)
        #expect((robots["detail"] as? String ?? "").contains("robot.yaml:2:"))
    }

    @Test("reins sim render --robot renders a twin from its cameras; random poses differ by seed")
    func renderRobot() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-twin-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var images: [Data] = []
        for (index, arguments) in [["--pose", "random", "--seed", "1"], ["--pose", "random", "--seed", "2"], ["--camera", "wrist"]].enumerated() {
            let out = folder.appendingPathComponent("\(index).png").path
            let result = try run(reinsExecutable, ["sim", "render", "--robot", "omx", "--size", "64", "--out", out, "--json"] + arguments, in: repositoryRoot)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try jsonLines(result.stdout).first?["scene"] as? String == "omx twin")
            images.append(try Data(contentsOf: URL(fileURLWithPath: out)))
        }
        #expect(images[0] != images[1] && images[0] != images[2])
        let missing = try reins("sim", "render", "--robot", "so101", "--camera", "top", "--out", folder.appendingPathComponent("x.png").path)
        #expect(missing.status != 0 && missing.stderr.contains("no camera \"top\"") && missing.stderr.contains("front, wrist"))
    }
}
