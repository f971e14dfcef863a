import Foundation
import ReinsControl
import ReinsCore
import Synchronization

/// Everything the console shows, as plain values: the commands fill it, the console draws it.
public struct ConsoleModel: Sendable {
    public enum Mode: String, Sendable {
        case policy = "POLICY", `operator` = "OPERATOR", paused = "PAUSED", stopped = "STOPPED"
    }

    public struct Joint: Sendable {
        public var name: String
        public var position: Double
        public var target: Double
        public var limits: ClosedRange<Double>

        public init(name: String, position: Double, target: Double, limits: ClosedRange<Double>) {
            self.name = name
            self.position = position
            self.target = target
            self.limits = limits
        }
    }

    public struct Preview: Sendable {
        public var name: String
        public var width: Int
        public var height: Int
        public var rgb: [UInt8]

        public init(name: String, width: Int, height: Int, rgb: [UInt8]) {
            self.name = name
            self.width = width
            self.height = height
            self.rgb = rgb
        }
    }

    public var command = "reins"
    public var robot = ""
    public var task = ""
    public var mode = Mode.operator
    public var episode = 0
    public var step = 0
    public var maxSteps = 0
    public var reward = 0.0
    public var episodeReturn = 0.0
    public var loopHz = 0.0
    public var jitterP99Us = 0.0
    public var joints: [Joint] = []
    /// Metres and rotation vector.
    public var endEffector: [Double] = []
    public var gripper: Double?
    public var speed = 0.5
    public var safetyClamps = 0
    public var previews: [Preview] = []
    /// The learner panel's lines; nil when the command runs no learner.
    public var learner: [String]?
    /// Recent events (interventions, clamps, faults, episode ends), newest last.
    public var events: [String] = []
    /// A question waiting for y or n (shown above the footer).
    public var prompt: String?
    public var showHelp = false

    public init() {}

    /// Adds an event with the time, keeping the last 50.
    public mutating func log(_ event: String) {
        // 24-hour local time whatever the locale (in POSIX's, Foundation's hour format is 12-hour without AM/PM).
        var now = time(nil), parts = tm()
        localtime_r(&now, &parts)
        let time = String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
        events.append("\(time) \(event)")
        if events.count > 50 { events.removeFirst(events.count - 50) }
    }
}

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
