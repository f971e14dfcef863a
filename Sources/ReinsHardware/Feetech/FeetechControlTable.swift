import ReinsCore

/// The STS3215's control table. Multi-byte registers are little-endian (STS); several signed
/// registers are sign-magnitude, not two's complement, with the sign in bit 11, 15 or 10.
/// Addresses below 40 are EEPROM.
public enum FeetechControlTable {
    public static let firmwareMajor = Register("firmware_major", address: 0, size: 1, eeprom: true, writable: false)
    public static let firmwareMinor = Register("firmware_minor", address: 1, size: 1, eeprom: true, writable: false)
    public static let modelNumber = Register("model_number", address: 3, size: 2, eeprom: true, writable: false)
    public static let id = Register("id", address: 5, size: 1, eeprom: true)
    /// 0 = 1 Mbps (factory), 1 = 500k, 2 = 250k, 3 = 128k, 4 = 115200, 5 = 76800, 6 = 57600, 7 = 38400.
    public static let baudRate = Register("baud_rate", address: 6, size: 1, eeprom: true)
    /// In units of 2 µs.
    public static let returnDelayTime = Register("return_delay_time", address: 7, size: 1, eeprom: true, unit: "us", unitScale: 2)
    public static let statusReturnLevel = Register("status_return_level", address: 8, size: 1, eeprom: true)
    public static let minPositionLimit = Register("min_position_limit", address: 9, size: 2, eeprom: true, unit: "deg", unitScale: 360.0 / 4096)
    public static let maxPositionLimit = Register("max_position_limit", address: 11, size: 2, eeprom: true, unit: "deg", unitScale: 360.0 / 4096)
    /// present = raw − homing offset (the opposite sign to Dynamixel).
    public static let homingOffset = Register("homing_offset", address: 31, size: 2, signedness: .signMagnitude(signBit: 11), eeprom: true, unit: "deg", unitScale: 360.0 / 4096)
    /// 0 position, 1 velocity, 2 PWM, 3 step.
    public static let operatingMode = Register("operating_mode", address: 33, size: 1, eeprom: true)
    /// Writing 128 makes the current position read as 2048 (how SO-10x arms set their middle).
    public static let torqueEnable = Register("torque_enable", address: 40, size: 1)
    public static let acceleration = Register("acceleration", address: 41, size: 1)
    public static let goalPosition = Register("goal_position", address: 42, size: 2, unit: "deg", unitScale: 360.0 / 4096)
    public static let goalVelocity = Register("goal_velocity", address: 46, size: 2, signedness: .signMagnitude(signBit: 15), unit: "ticks/s")
    public static let torqueLimit = Register("torque_limit", address: 48, size: 2)
    public static let lock = Register("lock", address: 55, size: 1)
    public static let presentPosition = Register("present_position", address: 56, size: 2, signedness: .signMagnitude(signBit: 15), writable: false, unit: "deg", unitScale: 360.0 / 4096)
    public static let presentSpeed = Register("present_speed", address: 58, size: 2, signedness: .signMagnitude(signBit: 15), writable: false, unit: "ticks/s")
    /// 0.1 % per unit.
    public static let presentLoad = Register("present_load", address: 60, size: 2, signedness: .signMagnitude(signBit: 10), writable: false, unit: "%", unitScale: 0.1)
    /// 0.1 V per unit.
    public static let presentVoltage = Register("present_voltage", address: 62, size: 1, writable: false, unit: "V", unitScale: 0.1)
    public static let presentTemperature = Register("present_temperature", address: 63, size: 1, writable: false, unit: "degC")
    public static let moving = Register("moving", address: 66, size: 1, writable: false)
    public static let presentCurrent = Register("present_current", address: 69, size: 2, signedness: .signMagnitude(signBit: 15), writable: false)

    public static let sts3215: [Register] = [
        firmwareMajor, firmwareMinor, modelNumber, id, baudRate, returnDelayTime, statusReturnLevel, minPositionLimit,
        maxPositionLimit, homingOffset, operatingMode, torqueEnable, acceleration, goalPosition, goalVelocity,
        torqueLimit, lock, presentPosition, presentSpeed, presentLoad, presentVoltage, presentTemperature, moving,
        presentCurrent,
    ]

    /// What the STS3215's Model Number register reads.
    public static let sts3215ModelNumber = MotorModel.sts3215.modelNumber

    /// What the Baud Rate register holds for each baud an STS servo can run at.
    public static let baudRates = BaudRateCodes([
        (1_000_000, 0), (500_000, 1), (250_000, 2), (128_000, 3), (115_200, 4), (76_800, 5), (57_600, 6), (38_400, 7),
    ])
}
