import Foundation

/// How one motor's present-position ticks become its joint's angle, from the robot file and the
/// motor's calibration.
///
/// The servo applies the homing offset itself (calibration writes it into the motor), so that with
/// the arm at the middle of a joint's limits the motor reads `2048 + s · middle · 4096 / 2π`, where
/// s is −1 for a motor mounted reversed (`drive_mode: 1`). Radians are then `s · (ticks − 2048) ·
/// 2π / 4096`, in the twin's frame.
public struct JointMapping: Sendable, Equatable {
    public let name: String
    /// +1, or −1 for a reversed motor.
    public let sign: Double
    public let radiansPerTick: Double
    /// The travel recorded at calibration, in present-position ticks.
    public let rangeTicks: ClosedRange<Int32>
    /// The robot file's limits narrowed to the calibrated travel: the only angles ever sent.
    public let limitsRad: ClosedRange<Double>

    public static let centreTicks = 2048.0

    public init(spec: MotorSpec, calibration: MotorCalibration, file: String) throws(ConfigError) {
        name = spec.name
        let sign: Double = calibration.driveMode == 1 ? -1 : 1
        let radiansPerTick = 2 * Double.pi / Double(spec.model.ticksPerRevolution)
        self.sign = sign
        self.radiansPerTick = radiansPerTick
        rangeTicks = Int32(calibration.rangeMin)...Int32(calibration.rangeMax)
        let ends = [calibration.rangeMin, calibration.rangeMax].map { sign * (Double($0) - Self.centreTicks) * radiansPerTick }
        let lower = max(spec.limitsRad.lowerBound, ends.min()!), upper = min(spec.limitsRad.upperBound, ends.max()!)
        guard lower < upper else {
            throw .invalid(file: file, line: 1, column: 1, field: "motors.\(spec.name)",
                           message: "the calibrated travel [\(String(format: "%.3f", ends.min()!)), \(String(format: "%.3f", ends.max()!))] rad does not overlap the robot file's limits [\(spec.limitsRad.lowerBound), \(spec.limitsRad.upperBound)]; run `reins calibrate` again")
        }
        limitsRad = lower...upper
    }

    /// The joint angle for a present-position reading.
    @inlinable public func radians(ticks: Int32) -> Double { sign * (Double(ticks) - Self.centreTicks) * radiansPerTick }

    /// The goal-position value for an angle, clamped to the calibrated travel.
    @inlinable public func ticks(radians: Double) -> Int32 {
        let ticks = Int32((Self.centreTicks + sign * radians / radiansPerTick).rounded())
        return min(max(ticks, rangeTicks.lowerBound), rangeTicks.upperBound)
    }

    /// The homing offset that makes a motor whose shaft reads `rawTicks` (with a zero offset) at
    /// the middle of the joint's limits read the calibrated middle instead. Dynamixel servos add
    /// the offset to the raw reading; Feetech servos subtract it.
    public static func homingOffset(rawTicksAtMiddle rawTicks: Int, limits: ClosedRange<Double>, driveMode: Int,
                                    model: MotorModel) -> Int {
        let sign = driveMode == 1 ? -1.0 : 1.0
        let middle = (limits.lowerBound + limits.upperBound) / 2
        let target = Int((centreTicks + sign * middle * Double(model.ticksPerRevolution) / (2 * Double.pi)).rounded())
        return model.busProtocol == .dynamixel ? target - rawTicks : rawTicks - target
    }
}
