import ReinsCore

/// A connected robot and what goes with it: its kinematic model (each thread makes its own
/// instance), its cameras, and with the twin the scene an episode may judge and reset. Whoever
/// wires it (the command line chooses a real bus or the twin) hands over what must stop with it.
public final class RobotSession {
    public let robot: any Robot
    public let kinematics: KinematicsModel
    /// The twin's scene; nil on a real arm.
    public let scene: (any TwinScene)?
    public let cameras: [any Camera]
    /// The calibration file's name without its extension (episode files record it).
    public let calibrationID: String
    private var stopParts: (() -> Void)?

    /// `stop` stops the cameras and, with the twin, its emulator; `close()` calls it once.
    public init(robot: any Robot, kinematics: KinematicsModel, scene: (any TwinScene)?, cameras: [any Camera] = [],
                calibrationID: String, stop: @escaping () -> Void) {
        self.robot = robot
        self.kinematics = kinematics
        self.scene = scene
        self.cameras = cameras
        self.calibrationID = calibrationID
        stopParts = stop
    }

    deinit {
        close()
    }

    /// Whether the robot is the twin (its servos emulated on this machine).
    public var isTwin: Bool { scene != nil }

    /// Stops the cameras and the emulator; later calls do nothing.
    public func close() {
        stopParts?()
        stopParts = nil
    }

    /// A control loop for the robot at its file's rates, changed by `configure`, with the safety
    /// layer on its own kinematics instance.
    public func loop(_ configure: (inout LoopConfiguration) -> Void = { _ in }) -> ControlLoop {
        var configuration = LoopConfiguration(rates: robot.definition.rates, timeouts: robot.definition.timeouts)
        if isTwin { configuration.tolerateEmulatedBus() }
        configure(&configuration)
        let safety = SafetyLayer(limits: SafetyLimits(robot: robot.definition, joints: robot.limits), kinematics: kinematics)
        return ControlLoop(robot: robot, safety: safety, configuration: configuration)
    }
}

extension LoopConfiguration {
    /// The twin's servos share this machine's CPU, and the kernel's tty worker, with the learner
    /// and the renderer: a machine loaded past its cores was seen to hold their replies for half
    /// a second, so the loop holds through 2 s of failed cycles, not 100 ms (a twin cannot be hurt).
    public mutating func tolerateEmulatedBus() {
        toleratedBusFailures = max(toleratedBusFailures, Int(busHz * 2))
    }
}
