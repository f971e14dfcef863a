import Foundation
import ReinsControl
import ReinsCore
import Synchronization

/// The operator console: ncurses on a thread of its own, drawing the model at about 20 Hz and
/// passing keys to the control side through a lock-free queue, so it never blocks the loop. It
/// adapts to the terminal's size (80×24 and up) and gives the terminal back on every exit path:
/// `close()`, deinit, and fatal signals (the screen installs handlers that restore it first).
public final class OperatorConsole: @unchecked Sendable {
    private let model = Lock(ConsoleModel())
    private let keys = KeyQueue(capacity: 256)
    private let running = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(true)
    private let startError = Lock<ConsoleError?>(nil)
    private let started = Atomic<Bool>(false)

    /// Fails at once when there is no terminal to draw on.
    public init() throws(ConsoleError) {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else { throw .notATerminal }
    }

    deinit {
        close()
    }

    /// Takes over the terminal on the console thread and starts drawing.
    public func start() throws(ConsoleError) {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.store(false, ordering: .releasing)
        let thread = Thread { [self] in run() }
        thread.name = "reins console"
        thread.start()
        while !started.load(ordering: .acquiring) && !finished.load(ordering: .acquiring) { usleep(1000) }
        if let error = startError.withLock({ $0 }) { throw error }
    }

    /// Stops drawing and gives the terminal back.
    public func close() {
        running.store(false, ordering: .releasing)
        while !finished.load(ordering: .acquiring) { usleep(1000) }
    }

    /// Changes what is shown.
    public func update(_ body: (inout ConsoleModel) -> Void) {
        model.withLock { body(&$0) }
    }

    public func log(_ event: String) {
        model.withLock { $0.log(event) }
    }

    /// The next key pressed (ncurses key code), if any. Never blocks.
    public func nextKey() -> Int32? { keys.pop() }

    private func run() {
        defer { finished.store(true, ordering: .releasing) }
        let screen: Screen
        do {
            screen = try Screen(raw: true)
        } catch {
            startError.withLock { $0 = error }
            return
        }
        started.store(true, ordering: .releasing)
        let renderer = ConsoleRenderer(screen: screen)
        var nextFrame = Date()
        while running.load(ordering: .acquiring) {
            if Date() >= nextFrame {
                let snapshot = model.withLock { $0 }
                renderer.draw(snapshot)
                nextFrame = Date().addingTimeInterval(0.05)
            }
            let wait = max(1, Int(nextFrame.timeIntervalSinceNow * 1000))
            if let key = screen.readKey(timeoutMs: min(wait, 50)), !key.isResize {
                keys.push(key.code)
            }
        }
        screen.close()
    }
}

/// A single-producer single-consumer ring of key codes: the console thread pushes, the control
/// side pops, neither waits. When full, the newest key is dropped.
final class KeyQueue: @unchecked Sendable {
    private let buffer: UnsafeMutablePointer<Int32>
    private let capacity: Int
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)

    init(capacity: Int) {
        self.capacity = capacity
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
    }

    func push(_ code: Int32) {
        let tail = self.tail.load(ordering: .relaxed)
        guard tail - head.load(ordering: .acquiring) < capacity else { return }
        buffer[tail % capacity] = code
        self.tail.store(tail + 1, ordering: .releasing)
    }

    func pop() -> Int32? {
        let head = self.head.load(ordering: .relaxed)
        guard head < tail.load(ordering: .acquiring) else { return nil }
        let code = buffer[head % capacity]
        self.head.store(head + 1, ordering: .releasing)
        return code
    }
}

extension OperatorConsole: OperatorDisplay {
    public func nextKeyPress() -> KeyPress? {
        nextKey().map { KeyPress(KeyMap.command(for: $0)) }
    }
}
