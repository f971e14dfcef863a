import ArgumentParser
import CNcurses
import Foundation
import ReinsCore
import ReinsData
import ReinsHardware
import ReinsNN
import ReinsSim

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every library and device Reins needs, each with a real round trip.",
        discussion: """
        One line per dependency: ok, or FAILED with the reason and the package that fixes it. Exits with status 1 when any check fails. `make setup` installs everything.

        The device check opens nothing: for every USB serial adapter plugged in, each --port given and each camera device the robot files name, it checks this user may read and write it, and when not, says which group owns it and prints the command that fixes it; it warns when an adapter's latency timer is above 1 ms.

        Example:
          reins doctor
          reins doctor --port /dev/ttyACM0
          reins doctor --json
          MUJOCO_GL=egl reins doctor
        """)

    @Flag(help: "One JSON object per check.") var json = false
    @Option(help: "Offscreen GL backend to check: osmesa or egl (default: MUJOCO_GL, else osmesa).") var gl: GLBackend?
    @Option(name: .customLong("port"), help: "A serial port to check this user may open, besides the USB adapters found (repeatable).")
    var ports: [String] = []

    struct Check: Encodable {
        var check: String
        var ok: Bool
        var detail: String
        var fix: String?
        /// A check that passed with something to put right (it does not fail the run).
        var warning = false
    }

    /// Thrown by a check with the reason it failed and the fix to print.
    struct Failure: Error {
        var reason: String
        var fix: String
    }

    /// Thrown by a check that works, but not as well as it should, with the fix.
    struct Warning: Error {
        var detail: String
        var fix: String
    }

    func run() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("reins-doctor-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        let checks: [(String, () throws -> String)] = [
            ("OpenCV", { try checkOpenCV(scratch) }),
            ("OpenBLAS", checkOpenBLAS),
            ("ncurses", checkNcurses),
            ("HDF5", { try checkHDF5(scratch) }),
            ("MuJoCo", checkMuJoCo),
            ("offscreen GL", checkOffscreenGL),
            ("libserialport", checkSerialPorts),
            ("cameras", checkCameras),
            ("robots", checkRobots),
            ("device access", checkDeviceAccess),
        ]
        var failures = 0
        for (name, body) in checks {
            let result: Check
            do {
                result = Check(check: name, ok: true, detail: try body())
            } catch let failure as Failure {
                result = Check(check: name, ok: false, detail: failure.reason, fix: failure.fix)
            } catch let warning as Warning {
                result = Check(check: name, ok: true, detail: warning.detail, fix: warning.fix, warning: true)
            } catch {
                result = Check(check: name, ok: false, detail: "\(error)", fix: "run `make setup`")
            }
            if !result.ok { failures += 1 }
            if json {
                JSONLines.print(result)
            } else if result.warning {
                print("warn    \(column(name, 14)) \(result.detail)\n        fix: \(result.fix ?? "")")
            } else if result.ok {
                print("ok      \(column(name, 14)) \(result.detail)")
            } else {
                print("FAILED  \(column(name, 14)) \(result.detail)\n        fix: \(result.fix ?? "")")
            }
        }
        if failures > 0 {
            if !json { print("\(failures) of \(checks.count) checks failed") }
            throw ExitCode(1)
        }
    }

    private func checkOpenCV(_ scratch: URL) throws -> String {
        let fix = "sudo apt-get install libopencv-dev (or make setup)"
        let backends = OpenCV.videoBackends
        let pattern = (0..<(32 * 24 * 3)).map { UInt8(($0 * 37) % 251) }
        let path = scratch.appendingPathComponent("doctor.png").path
        do {
            try Image(width: 32, height: 24, channels: 3, pixels: pattern).write(to: path)
            let back = try Image(contentsOf: path)
            guard back.pixels == pattern else { throw Failure(reason: "a PNG did not read back identically", fix: fix) }
        } catch let error as DataError {
            throw Failure(reason: error.description, fix: fix)
        }
        guard backends.contains("FFMPEG") else {
            throw Failure(reason: "OpenCV \(OpenCV.version) has no FFmpeg video backend (has: \(backends))",
                          fix: "sudo apt-get install libopencv-videoio406")
        }
        return "\(OpenCV.version), PNG round trip, video backends: \(backends)"
    }

    private func checkOpenBLAS() throws -> String {
        let n = 48
        let a = Tensor(shape: [n, n], values: (0..<(n * n)).map { Float(($0 * 7) % 13) - 6 })
        let b = Tensor(shape: [n, n], values: (0..<(n * n)).map { Float(($0 * 5) % 11) - 5 })
        let product = a.matmul(b)
        for i in 0..<n {
            for j in 0..<n {
                var expected: Float = 0
                for k in 0..<n { expected += a.values[i * n + k] * b.values[k * n + j] }
                guard product.values[i * n + j] == expected else {
                    throw Failure(reason: "sgemm gave a wrong product at (\(i), \(j)) on kernel \(BLAS.coreName)",
                                  fix: "check OPENBLAS_CORETYPE for this CPU, or reinstall libopenblas0-pthread")
                }
            }
        }
        let cpu = CPUFeatures.current(), core = BLAS.coreName
        let detail = "\(BLAS.configuration.split(separator: " ").prefix(2).joined(separator: " ")), kernel \(core) (chosen by \(KernelChoice.source.rawValue)), "
            + "\(BLAS.threadCount) threads, sgemm checked; CPU \(cpu.summary)"
        if BLASKernel.isGeneric(core), cpu.avx2, cpu.fma {
            throw Warning(detail: detail + "; the \(core) kernel is generic (SSE), several times slower than this CPU allows",
                          fix: "unset OPENBLAS_CORETYPE (and REINS_BLAS_NATIVE) so Reins chooses, or set OPENBLAS_CORETYPE=Haswell")
        }
        if BLASKernel.isGeneric(core) {
            throw Warning(detail: detail + "; the \(core) kernel is generic and this CPU has no AVX2 and FMA for a better one",
                          fix: "train on a machine with AVX2 (most x86 CPUs since 2013), or expect slow learning here")
        }
        return detail
    }

    private func checkNcurses() throws -> String {
        let version = String(cString: curses_version())
        let term = ProcessInfo.processInfo.environment["TERM"].flatMap { $0.isEmpty || $0 == "dumb" ? nil : $0 } ?? "xterm-256color"
        guard reins_terminfo_exists(term) == 1 else {
            throw Failure(reason: "\(version) has no terminfo entry for TERM=\(term)",
                          fix: "sudo apt-get install ncurses-base ncurses-term, or set TERM=xterm-256color")
        }
        return "\(version), terminfo for \(term)"
    }

    private func checkHDF5(_ scratch: URL) throws -> String {
        let fix = "sudo apt-get install libhdf5-dev (or make setup)"
        guard HDF5File.hasGzip else {
            throw Failure(reason: "HDF5 \(HDF5File.libraryVersion) was built without gzip", fix: "sudo apt-get install libhdf5-103-1")
        }
        let path = scratch.appendingPathComponent("doctor.h5").path
        let frames = (0..<(2 * 8 * 8 * 3)).map { UInt8($0 % 256) }
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.write(frames, shape: [2, 8, 8, 3], chunk: [1, 8, 8, 3], gzipLevel: 4, to: "/data/frames")
            try file.flush()
            let back = try HDF5File(path: path, mode: .readOnly).readBytes("/data/frames")
            guard back.values == frames else { throw Failure(reason: "a gzip dataset did not read back identically", fix: fix) }
        } catch let error as DataError {
            throw Failure(reason: error.description, fix: fix)
        }
        return "\(HDF5File.libraryVersion), chunked gzip round trip"
    }

    private func checkMuJoCo() throws -> String {
        let model: MuJoCoModel
        do {
            model = try MuJoCoModel(xml: DemoScene.xml, name: "demo scene")
        } catch {
            throw Failure(reason: error.description, fix: "sudo apt-get install libmujoco-dev (or make setup)")
        }
        let simulation = Simulation(model: model)
        let cube = model.bodyID("cube")!
        let start = simulation.bodyPosition(cube).z
        simulation.step(100)
        let end = simulation.bodyPosition(cube).z
        guard end < start else {
            throw Failure(reason: "a free cube did not fall under gravity (z \(start) → \(end))", fix: "reinstall libmujoco2.2.2")
        }
        return "\(MuJoCoModel.version), demo scene loaded and stepped (cube fell \(String(format: "%.1f", (start - end) * 1000)) mm in \(String(format: "%.2f", simulation.time)) s)"
    }

    private func checkOffscreenGL() throws -> String {
        let backend = gl ?? .fromEnvironment()
        do {
            let model = try MuJoCoModel(xml: DemoScene.xml, name: "demo scene")
            let renderer = try OffscreenRenderer(model: model, width: 64, height: 64,
                                                 context: OffscreenContext(backend: backend, width: 64, height: 64))
            let frame = try renderer.render(Simulation(model: model))
            let distinct = Set(frame).count
            guard distinct > 8 else {
                throw Failure(reason: "a rendered frame was blank (\(distinct) distinct byte values)",
                              fix: "try the other backend: MUJOCO_GL=\(backend == .osmesa ? "egl" : "osmesa")")
            }
            return "\(backend.rawValue) (\(backend.library())): \(renderer.context.renderer), \(renderer.context.version); rendered a 64x64 frame"
        } catch let error as SimError {
            if case .glUnavailable(_, let reason, _) = error {
                throw Failure(reason: "\(backend.rawValue): \(reason)", fix: "sudo apt-get install \(backend.debianPackages)")
            }
            throw Failure(reason: error.description, fix: "sudo apt-get install libmujoco-dev \(backend.debianPackages)")
        }
    }

    private func checkSerialPorts() throws -> String {
        do {
            let ports = try SerialPortList.ports()
            let list = ports.isEmpty ? "no ports" : ports.map { port in port.usbID.map { "\(port.path) (\($0))" } ?? port.path }.joined(separator: ", ")
            return "\(SerialPortList.libraryVersion), sees \(list)"
        } catch {
            throw Failure(reason: error.description, fix: "sudo apt-get install libserialport0")
        }
    }

    private func checkCameras() throws -> String {
        let devices = VideoDevices.list()
        guard !devices.isEmpty else { return "no /dev/video* devices (the simulated arm needs none)" }
        if let locked = devices.first(where: { !$0.accessible }), case .denied(let reason, let fix) = DeviceAccess.check(locked.path) {
            throw Failure(reason: reason, fix: fix)
        }
        return devices.map { "\($0.path)\($0.name.isEmpty ? "" : " (\($0.name))")" }.joined(separator: ", ")
    }

    /// The serial adapters and the robot files' camera devices: may this user open them?
    private func checkDeviceAccess() throws -> String {
        let adapters = ((try? SerialPortList.ports()) ?? []).filter { $0.usbID != nil }.map(\.path)
        var checked: [String] = [], absent: [String] = [], denied: [(reason: String, fix: String)] = []
        var slow: [(port: String, latencyMs: Int)] = []
        for port in ports + adapters.filter({ !ports.contains($0) }) {
            switch DeviceAccess.check(port) {
            case .granted:
                checked.append(port)
                if let latency = DeviceAccess.latencyTimerMs(port), latency > 1 { slow.append((port, latency)) }
            case .missing:
                denied.append(("\(port) does not exist", "plug the adapter in; `reins ports` lists the serial ports there are"))
            case .denied(let reason, let fix):
                denied.append((reason, fix))
            }
        }
        if let catalog = try? RobotCatalog.locate() {
            for name in catalog.robotNames() {
                guard let robot = try? catalog.robot(name) else { continue }
                for camera in robot.cameras {
                    let path = Int(camera.source).map { "/dev/video\($0)" } ?? camera.source
                    guard path.hasPrefix("/dev/") else { continue }
                    switch DeviceAccess.check(path) {
                    case .granted: checked.append("\(name) \(camera.name) \(path)")
                    case .missing: absent.append("\(name) \(camera.name) \(path)")
                    case .denied(let reason, let fix): denied.append(("\(name)'s \(camera.name) camera: \(reason)", fix))
                    }
                }
            }
        }
        if !denied.isEmpty {
            var fixes: [String] = []
            for fix in denied.map(\.fix) where !fixes.contains(fix) { fixes.append(fix) }
            throw Failure(reason: denied.map(\.reason).joined(separator: "; "), fix: fixes.joined(separator: "; "))
        }
        var detail = checked.isEmpty ? "nothing to open here" : "may open \(checked.joined(separator: ", "))"
        if !absent.isEmpty {
            detail += "; not plugged in: \(absent.joined(separator: ", ")) (fine for the twin; on a real arm plug them in or give --camera NAME=SOURCE)"
        }
        if let first = slow.first {
            let listed = slow.map { "\($0.port) (\($0.latencyMs) ms)" }.joined(separator: ", ")
            throw Warning(detail: "\(detail); latency timer above 1 ms on \(listed): every bus transaction waits for it",
                          fix: "echo 1 | sudo tee /sys/bus/usb-serial/devices/\((first.port as NSString).lastPathComponent)/latency_timer (Reins asks for low latency when it opens the port; this makes it stick)")
        }
        return detail
    }

    private func checkRobots() throws -> String {
        let catalog: RobotCatalog
        do {
            catalog = try RobotCatalog.locate()
        } catch {
            throw Failure(reason: error.description, fix: "run reins from the Reins checkout or set REINS_HOME")
        }
        var names: [String] = []
        for name in catalog.robotNames() {
            do {
                let robot = try catalog.robot(name)
                for file in catalog.calibrationFiles(for: name) {
                    _ = try Calibration(contentsOf: file, for: robot, displayName: catalog.displayPath(file))
                }
                names.append(name)
            } catch {
                throw Failure(reason: error.description, fix: "fix the field named, then run reins robots show \(name)")
            }
        }
        return "\(names.joined(separator: ", ")) valid, with their calibrations"
    }
}
