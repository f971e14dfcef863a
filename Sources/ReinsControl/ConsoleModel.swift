import Foundation
import ReinsCore

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
    /// The reward classifier's success probability on the live frame, with `--reward classifier`.
    public var rewardProbability: Double?
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

/// A key the operator pressed: what it asks for, or nil for a key that means nothing here (it
/// still answers a question such as "Quit?").
public struct KeyPress: Sendable, Equatable {
    public var command: TeleopCommand?

    public init(_ command: TeleopCommand?) {
        self.command = command
    }
}

/// What the operator sees and presses: the ncurses console (ReinsConsole), or in tests a display
/// that presses keys on cue. The station owns it: it starts it and closes it on every path.
public protocol OperatorDisplay: AnyObject {
    /// Takes over the terminal and starts drawing.
    func start() throws
    /// Gives the terminal back.
    func close()
    /// Changes what is shown.
    func update(_ body: (inout ConsoleModel) -> Void)
    /// Adds a line to the event log.
    func log(_ event: String)
    /// The next key pressed since the last call, if any. Never blocks.
    func nextKeyPress() -> KeyPress?
}
