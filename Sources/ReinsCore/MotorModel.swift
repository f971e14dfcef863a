/// The serial bus protocols Reins drives.
public enum BusProtocol: String, Sendable, CaseIterable, Codable {
    /// ROBOTIS Dynamixel Protocol 2.0 (X series).
    case dynamixel
    /// Feetech STS/SCS (SO-100/101 arms).
    case feetech
    /// EtherCAT with CiA 402 drives: not serial, so it has no baud rate; ids are slave positions from 1.
    case ethercat

    /// Baud rates the servos of this protocol can be set to.
    public var supportedBauds: [Int] {
        switch self {
        case .dynamixel: [9_600, 57_600, 115_200, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 4_500_000]
        case .feetech: [38_400, 57_600, 76_800, 115_200, 128_000, 250_000, 500_000, 1_000_000]
        case .ethercat: []
        }
    }

    /// The highest id a servo can have; the next one up is the broadcast id.
    public var maxMotorID: Int {
        switch self {
        case .dynamixel: 252
        case .feetech: 253
        case .ethercat: 65_535
        }
    }
}

/// A servo model Reins knows the control table of.
public enum MotorModel: String, Sendable, CaseIterable, Codable {
    case sts3215
    case xl330M288 = "xl330-m288"
    case xm430W350 = "xm430-w350"
    /// A CiA 402 servo drive on EtherCAT; its encoder, gear and torque come from the robot file.
    case cia402

    public var busProtocol: BusProtocol {
        switch self {
        case .sts3215: .feetech
        case .xl330M288, .xm430W350: .dynamixel
        case .cia402: .ethercat
        }
    }

    /// What the servo's Model Number register reads (and a ping reports).
    public var modelNumber: UInt16 {
        switch self {
        case .sts3215: 777
        case .xl330M288: 1200
        case .cia402: 0x0192  // device type 0x1000's profile number, 402
        case .xm430W350: 1020
        }
    }

    /// The baud rate a servo leaves the factory at (always at id 1): an STS3215 at 1 Mbps, an
    /// X-series Dynamixel at 57,600; nil for an EtherCAT drive.
    public var factoryBaud: Int? {
        switch self {
        case .sts3215: 1_000_000
        case .xl330M288, .xm430W350: 57_600
        case .cia402: nil
        }
    }

    /// Encoder ticks in one full turn.
    public var ticksPerRevolution: Int { 4096 }

    /// The largest present-position value in single-turn mode.
    public var maxPositionTicks: Int { ticksPerRevolution - 1 }

    /// The range of the homing-offset register.
    public var homingOffsetRange: ClosedRange<Int> {
        switch self {
        case .sts3215: -2047...2047  // 11-bit magnitude with a sign bit
        case .xl330M288, .xm430W350: -1_044_479...1_044_479
        case .cia402: 0...0  // absolute encoders: no homing offset register
        }
    }
}
