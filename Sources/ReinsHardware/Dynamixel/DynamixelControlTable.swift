import ReinsCore

/// The Dynamixel X-series models Reins knows, with their model numbers and current units.
public enum DynamixelModel: String, Sendable, CaseIterable {
    case xl330M288 = "xl330-m288"
    case xm430W350 = "xm430-w350"

    /// What the Model Number register (address 0) reads.
    public var modelNumber: UInt16 { MotorModel(rawValue: rawValue)!.modelNumber }

    /// Milliamperes per unit of the current registers.
    public var currentUnitMilliamps: Double {
        switch self {
        case .xl330M288: 1.0
        case .xm430W350: 2.69
        }
    }

    public init?(modelNumber: UInt16) {
        guard let model = Self.allCases.first(where: { $0.modelNumber == modelNumber }) else { return nil }
        self = model
    }

    public var controlTable: [Register] { DynamixelControlTable.xSeries }
}

/// The X series' control table (XL330-M288 and XM430-W350 share these addresses). Addresses
/// below 64 are EEPROM: writable only while torque is off. Signed registers are two's complement.
public enum DynamixelControlTable {
    public static let modelNumber = Register("model_number", address: 0, size: 2, eeprom: true, writable: false)
    public static let firmwareVersion = Register("firmware_version", address: 6, size: 1, eeprom: true, writable: false)
    public static let id = Register("id", address: 7, size: 1, eeprom: true)
    /// 0 = 9600, 1 = 57600 (factory), 2 = 115200, 3 = 1M, 4 = 2M, 5 = 3M, 6 = 4M.
    public static let baudRate = Register("baud_rate", address: 8, size: 1, eeprom: true)
    /// In units of 2 µs; the factory 250 is 500 µs, which dominates a short cycle: set it to 0.
    public static let returnDelayTime = Register("return_delay_time", address: 9, size: 1, eeprom: true, unit: "us", unitScale: 2)
    public static let driveMode = Register("drive_mode", address: 10, size: 1, eeprom: true)
    /// 0 current, 1 velocity, 3 position, 4 extended position, 5 current-based position, 16 PWM.
    public static let operatingMode = Register("operating_mode", address: 11, size: 1, eeprom: true)
    public static let homingOffset = Register("homing_offset", address: 20, size: 4, signedness: .twosComplement, eeprom: true, unit: "deg", unitScale: 360.0 / 4096)
    public static let currentLimit = Register("current_limit", address: 38, size: 2, eeprom: true)
    public static let velocityLimit = Register("velocity_limit", address: 44, size: 4, eeprom: true, unit: "rpm", unitScale: 0.229)
    public static let maxPositionLimit = Register("max_position_limit", address: 48, size: 4, eeprom: true, unit: "deg", unitScale: 360.0 / 4096)
    public static let minPositionLimit = Register("min_position_limit", address: 52, size: 4, eeprom: true, unit: "deg", unitScale: 360.0 / 4096)
    public static let torqueEnable = Register("torque_enable", address: 64, size: 1)
    /// 0 ping only, 1 ping and read, 2 every instruction (factory).
    public static let statusReturnLevel = Register("status_return_level", address: 68, size: 1)
    public static let hardwareErrorStatus = Register("hardware_error_status", address: 70, size: 1, writable: false)
    public static let goalCurrent = Register("goal_current", address: 102, size: 2, signedness: .twosComplement)
    public static let goalVelocity = Register("goal_velocity", address: 104, size: 4, signedness: .twosComplement, unit: "rpm", unitScale: 0.229)
    public static let goalPosition = Register("goal_position", address: 116, size: 4, signedness: .twosComplement, unit: "deg", unitScale: 360.0 / 4096)
    public static let moving = Register("moving", address: 122, size: 1, writable: false)
    public static let presentCurrent = Register("present_current", address: 126, size: 2, signedness: .twosComplement, writable: false)
    /// 0.229 rpm per unit.
    public static let presentVelocity = Register("present_velocity", address: 128, size: 4, signedness: .twosComplement, writable: false, unit: "rpm", unitScale: 0.229)
    /// 4096 ticks per turn; reads actual position plus the homing offset.
    public static let presentPosition = Register("present_position", address: 132, size: 4, signedness: .twosComplement, writable: false, unit: "deg", unitScale: 360.0 / 4096)
    /// 0.1 V per unit.
    public static let presentInputVoltage = Register("present_input_voltage", address: 144, size: 2, writable: false, unit: "V", unitScale: 0.1)
    /// °C.
    public static let presentTemperature = Register("present_temperature", address: 146, size: 1, writable: false, unit: "degC")

    public static let xSeries: [Register] = [
        modelNumber, firmwareVersion, id, baudRate, returnDelayTime, driveMode, operatingMode, homingOffset,
        currentLimit, velocityLimit, maxPositionLimit, minPositionLimit, torqueEnable, statusReturnLevel,
        hardwareErrorStatus, goalCurrent, goalVelocity, goalPosition, moving, presentCurrent, presentVelocity,
        presentPosition, presentInputVoltage, presentTemperature,
    ]

    /// The value of the Baud Rate register for a baud, or nil when the X series cannot run at it.
    public static func baudRateCode(_ baud: Int) -> UInt8? {
        baudRates.code(for: baud)
    }

    /// What the Baud Rate register holds for each baud an X-series servo can run at.
    public static let baudRates = BaudRateCodes([
        (9_600, 0), (57_600, 1), (115_200, 2), (1_000_000, 3), (2_000_000, 4), (3_000_000, 5), (4_000_000, 6), (4_500_000, 7),
    ])
}
