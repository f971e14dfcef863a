import Foundation
import ReinsNN

/// OpenBLAS's kernel, chosen before anything multiplies: a probe run (a child with the wider
/// kernel set, checking its products) or this process run again with OPENBLAS_CORETYPE set.
/// OPENBLAS_CORETYPE set by the user is honoured; so is `--native-kernel` (REINS_BLAS_NATIVE).
enum KernelChoice {
    /// Follows `BLASKernel.plan`; returns only when this process keeps the kernel it has (an
    /// exec that fails says so and goes on with it). In a probe run, exits with the verdict.
    static func apply() {
        let environment = ProcessInfo.processInfo.environment
        if let expected = environment[BLASKernel.probeMarker] {
            exit(BLASKernel.agreesWithReference(expected: expected) ? 0 : 1)
        }
        let loaded = BLAS.coreName, cpu = CPUFeatures.current()
        let core: String
        switch BLASKernel.plan(environment: environment, core: loaded, cpu: cpu) {
        case .keep: return
        case .choose(let chosen): core = chosen
        case .probe(let wider, let fallback): core = probe(wider) ? wider : fallback
        }
        printError("note: OpenBLAS loaded its generic \(loaded) kernel on this CPU (\(cpu.summary)); Reins runs \(core)'s instead (set OPENBLAS_CORETYPE to choose another)")
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(BLASKernel.chosenMarker, core, 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        printError("note: could not run again with \(core)'s kernel (\(String(cString: strerror(errno)))); going on with \(loaded)'s")
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(BLASKernel.chosenMarker)
    }

    /// Whether `core`'s kernel runs here and multiplies right: a child run of this binary with it
    /// set, which exits 0 only when its product matches a plain reference (an illegal instruction
    /// or a wrong product is a no).
    private static func probe(_ core: String) -> Bool {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_CORETYPE"] = core
        environment[BLASKernel.probeMarker] = core
        child.environment = environment
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        do {
            try child.run()
        } catch {
            return false
        }
        child.waitUntilExit()
        return child.terminationReason == .exit && child.terminationStatus == 0
    }

    /// The kernel and who chose it, as benchmarks report them.
    static var source: BLASKernelSource { BLASKernel.source(environment: ProcessInfo.processInfo.environment) }
}
