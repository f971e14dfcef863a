/// What a robot measured at one instant, in calibrated units and motor order.
public struct RobotState: Sendable, Equatable {
    /// Radians (the gripper too; `Robot.gripperOpening` turns it into 0…1).
    public var positions: [Double]
    /// Radians per second.
    public var velocities: [Double]
    /// CLOCK_MONOTONIC nanoseconds when the reading completed.
    public var timestampNs: Int64

    public init(motors: Int) {
        positions = [Double](repeating: 0, count: motors)
        velocities = positions
        timestampNs = 0
    }
}

/// A robot arm as the control loop sees it, whether servos on a bus or its twin behind one.
///
/// Its limits and joint names are known before connecting (from the robot file and calibration),
/// so a policy's observation and action sizes can be checked without the hardware.
public protocol Robot: AnyObject {
    var definition: RobotDefinition { get }
    /// The angles it will ever be sent, per motor: the robot file's limits within the calibrated travel.
    var limits: [ClosedRange<Double>] { get }
    /// Reads every motor's position and velocity. Realtime: allocates nothing.
    func read(into state: inout RobotState) throws(MotorBusError)
    /// Sends joint targets (radians, motor order) as they are: the safety layer has already
    /// filtered them. Realtime: allocates nothing.
    func write(targets: [Double]) throws(MotorBusError)
    func setTorque(_ enabled: Bool) throws(MotorBusError)
    /// Where the bus is (a device path), for messages.
    var location: String { get }
    /// For the realtime loop: each bus transaction waits at most its wire time plus `margin` and
    /// is tried once, so a missed reply fails one cycle and the next cycle is the retry. nil
    /// gives the bus its own patience back.
    func limitTransactions(margin: Duration?)
    /// Temperature (°C; nan where a motor does not report one) and effort (in `effortUnit`)
    /// per motor, for status screens; not for the realtime loop.
    func diagnostics() throws(MotorBusError) -> (temperatures: [Double], efforts: [Double], effortUnit: String)
}

extension Robot {
    /// The index of the gripper motor (named "gripper"), if the robot has one.
    public var gripperIndex: Int? { definition.motors.firstIndex { $0.name == "gripper" } }

    /// The gripper's angle as 0 (its lower limit) … 1 (its upper limit).
    public func gripperOpening(_ positions: [Double]) -> Double? {
        guard let index = gripperIndex else { return nil }
        let limits = self.limits[index]
        return min(max((positions[index] - limits.lowerBound) / (limits.upperBound - limits.lowerBound), 0), 1)
    }

    /// The gripper angle for an opening in 0…1.
    public func gripperAngle(opening: Double) -> Double? {
        guard let index = gripperIndex else { return nil }
        let limits = self.limits[index]
        return limits.lowerBound + min(max(opening, 0), 1) * (limits.upperBound - limits.lowerBound)
    }
}
