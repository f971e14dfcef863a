import Foundation
import ReinsSim
import Testing

/// Runs closures one at a time on a thread of its own, as a cooperative-pool thread runs one test
/// after another, until `finish`.
private final class WorkerThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var work: [() -> Void] = []
    private var finished = false

    init() {
        Thread { [self] in
            while true {
                condition.lock()
                while work.isEmpty && !finished { condition.wait() }
                if work.isEmpty {
                    condition.unlock()
                    return
                }
                let next = work.removeFirst()
                condition.unlock()
                next()
            }
        }.start()
    }

    /// Ends the thread once its work is done.
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on the worker and waits for it.
    func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, any Error>?
        condition.lock()
        work.append {
            result = Result { try body() }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return try result!.get()
    }
}

/// Runs `failed(thread)` `rounds` times on each of `threads` threads at once; how often it was
/// true on each.
private func failures(threads: Int, rounds: Int, _ failed: @Sendable (Int) -> Bool) -> [Int] {
    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: threads)
    defer { counts.deallocate() }
    counts.initialize(repeating: 0)
    // Each thread writes only its own slot.
    nonisolated(unsafe) let slots = counts
    DispatchQueue.concurrentPerform(iterations: threads) { thread in
        for _ in 0..<rounds where failed(thread) { slots[thread] += 1 }
    }
    return Array(counts)
}

@Suite("GL contexts across threads")
struct GLThreadTests {
    @Test("a context destroyed on another thread leaves nothing current on the thread that rendered with it")
    func destroyedElsewhere() throws {
        let model = try MuJoCoModel(xml: DemoScene.xml)
        let worker = WorkerThread()
        defer { worker.finish() }
        for round in 0..<5 {
            nonisolated(unsafe) var renderer: OffscreenRenderer? = try worker.run {
                let renderer = try OffscreenRenderer(model: model, width: 64, height: 48)
                _ = try renderer.render(Simulation(model: model), camera: "front")
                return renderer
            }
            // The test's thread drops the last reference: the context is destroyed here, not on the worker.
            renderer = nil
            withExtendedLifetime(renderer) {}
            let frame = try worker.run {
                let next = try OffscreenRenderer(model: model, width: 64, height: 48)
                return try next.render(Simulation(model: model), camera: "front")
            }
            #expect(Set(frame).count > 20, "round \(round): a blank frame")
        }
    }

    @Test("two threads rendering through one shared context take turns and each reads back its own camera")
    func sharedAcrossThreads() throws {
        let twin = try RobotTwin(robot: try catalog.robot("so101"))
        let context = try OffscreenContext(backend: .osmesa, width: 64, height: 48)
        let cameras = ["front", "wrist"]
        // Each thread touches only its own renderer and simulation; the context is what they share.
        nonisolated(unsafe) let renderers = try cameras.map { _ in
            try OffscreenRenderer(model: twin.model, width: 64, height: 48, context: context)
        }
        nonisolated(unsafe) let simulations = cameras.map { _ in twin.simulation(at: twin.robot.homePoseRad) }
        let expected = try cameras.indices.map { try renderers[$0].render(simulations[$0], camera: cameras[$0]) }
        #expect(expected[0] != expected[1])
        let mismatches = failures(threads: 2, rounds: 30) { index in
            (try? renderers[index].render(simulations[index], camera: cameras[index])) != expected[index]
        }
        #expect(mismatches == [0, 0], "frames that were not their camera's")
    }

    @Test("threads making and freeing renderers on contexts of their own at once all render the scene")
    func makeContextsAtOnce() throws {
        let model = try MuJoCoModel(xml: DemoScene.xml)
        let blanks = failures(threads: 3, rounds: 4) { _ in
            let frame = try? OffscreenRenderer(model: model, width: 64, height: 48).render(Simulation(model: model), camera: "front")
            return Set(frame ?? []).count <= 20
        }
        #expect(blanks == [0, 0, 0], "blank or failed frames per thread")
    }

    @Test("a process that exits while threads render exits cleanly", .timeLimit(.minutes(1)))
    func exitWhileRendering() throws {
        // Without the exit guard this crashed in Mesa or LLVM in 4 of 6 runs; each run is a child
        // test process, since exiting is what is tested.
        for run in 0..<4 {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            child.arguments = ["--testing-library", "swift-testing", "--filter", "GLExitChild"]
            child.environment = ProcessInfo.processInfo.environment.merging([GLExitChild.variable: "1"]) { $1 }
            let output = Pipe()
            child.standardOutput = output
            child.standardError = output
            try child.run()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            child.waitUntilExit()
            #expect(child.terminationReason == .exit && child.terminationStatus == 0,
                    "run \(run): \(printed.split(separator: "\n").filter { $0.contains("crash") || $0.contains("signal") }.prefix(3))")
            #expect(printed.contains(GLExitChild.rendering), "run \(run): the child did not render")
        }
    }
}

/// The child process of `exitWhileRendering`: three threads render the twin without pause while
/// the process exits. Runs only in that child.
@Suite("GLExitChild")
struct GLExitChild {
    static let variable = "REINS_TEST_GL_EXIT_CHILD"
    static let rendering = "rendering on 3 threads, exiting"

    @Test(.enabled(if: ProcessInfo.processInfo.environment[variable] != nil))
    func exitWhileThreadsRender() throws {
        let model = try RobotTwin(robot: try catalog.robot("so101")).model
        let started = DispatchSemaphore(value: 0)
        for _ in 0..<3 {
            Thread {
                guard let renderer = try? OffscreenRenderer(model: model, width: 160, height: 120) else { return }
                let simulation = Simulation(model: model)
                started.signal()
                while true { _ = try? renderer.render(simulation, camera: "front") }
            }.start()
        }
        for _ in 0..<3 { started.wait() }
        usleep(200_000)
        print(Self.rendering)
        exit(0)
    }
}
