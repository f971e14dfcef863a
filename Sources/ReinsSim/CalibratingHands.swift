import ReinsCore

/// A person's hands on the twin, doing what `reins calibrate` asks of them, so the whole
/// first-hour walkthrough runs against the emulator: once a calibration begins (the homing offsets
/// cleared with every servo's torque off; servos power up with torque off, so that alone is not
/// enough) they bring the arm to the middle of each joint's range and hold it there; once a homing
/// offset has been written after that (the middle pose confirmed), they move the joints slowly to one end of their
/// ranges, to the other, and back to the middle (all together: quicker than a person, joint by
/// joint, and the same to the calibration), and hold it there. The first servo whose torque comes on makes them let go
/// for good. They hold the joints where they put them, whatever gravity and damping would do.
struct CalibratingHands {
    private enum Phase {
        case waiting
        case toMiddle(HandPath)
        case atMiddle(offsetWrites: Int)
        case sweeping(HandPath)
        case holding
        case released
    }

    private let middle: [Double]
    private let limits: [ClosedRange<Double>]
    private var phase = Phase.waiting
    /// Joint speed of the hands, rad/s: slow, as a person sweeping a joint for calibration.
    static let speed = 1.5

    init(robot: RobotDefinition) {
        limits = robot.motors.map(\.limitsRad)
        middle = limits.map { ($0.lowerBound + $0.upperBound) / 2 }
    }

    /// Where the hands hold the joints now (nil: they are off the arm), given the servos' torque,
    /// the homing-offset writes so far, the joints as measured and the time in seconds;
    /// `announce` hears each step done, for the person at the other terminal.
    mutating func pose(torque: [Bool], offsetWrites: Int, measured: [Double], now: Double,
                       announce: (String) -> Void) -> [Double]? {
        if torque.contains(true) {
            if case .waiting = phase { return nil }
            if case .released = phase { return nil }
            phase = .released
            announce("hands: off the arm (torque is on)")
            return nil
        }
        switch phase {
        case .waiting:
            guard offsetWrites > 0 else { return nil }
            phase = .toMiddle(HandPath(from: measured, through: [middle], speed: Self.speed, start: now))
            return measured
        case .toMiddle(let path):
            if path.done(at: now) {
                phase = .atMiddle(offsetWrites: offsetWrites)
                announce("hands: holding the arm at the middle of every joint's range")
            }
            return path.pose(at: now)
        case .atMiddle(let writes):
            if offsetWrites > writes {
                let waypoints = [limits.map(\.lowerBound), limits.map(\.upperBound), middle]
                phase = .sweeping(HandPath(from: middle, through: waypoints, speed: Self.speed, start: now))
                announce("hands: moving every joint end to end")
            }
            return middle
        case .sweeping(let path):
            if path.done(at: now) {
                phase = .holding
                announce("hands: moved every joint end to end and back to the middle")
            }
            return path.pose(at: now)
        case .holding:
            return middle
        case .released:
            return nil
        }
    }
}

/// Straight moves in joint space through waypoints, every joint at most `speed` rad/s.
struct HandPath {
    private let points: [[Double]]
    private let times: [Double]

    init(from start: [Double], through waypoints: [[Double]], speed: Double, start startTime: Double) {
        points = [start] + waypoints
        var times = [startTime]
        for index in 1..<points.count {
            let longest = zip(points[index - 1], points[index]).map { abs($1 - $0) }.max() ?? 0
            times.append(times[index - 1] + longest / speed)
        }
        self.times = times
    }

    func done(at time: Double) -> Bool { time >= times[times.count - 1] }

    func pose(at time: Double) -> [Double] {
        guard let next = times.firstIndex(where: { $0 > time }) else { return points[points.count - 1] }
        guard next > 0 else { return points[0] }
        let fraction = (time - times[next - 1]) / (times[next] - times[next - 1])
        return zip(points[next - 1], points[next]).map { $0 + fraction * ($1 - $0) }
    }
}
