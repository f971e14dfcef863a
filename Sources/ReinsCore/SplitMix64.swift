import Foundation

/// SplitMix64: a small, fast, seeded generator. Everything random in Reins takes a seed, so a run
/// or a test repeats exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The whole generator: `SplitMix64(seed: state)` continues the same sequence (checkpoints save it).
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SplitMix64 {
    /// A standard normal draw (Box–Muller), for exploration and operator noise.
    public mutating func nextGaussian() -> Double {
        let u1 = Double(next() >> 11 | 1) * 0x1p-53
        let u2 = Double(next() >> 11) * 0x1p-53
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

extension Duration {
    /// The duration in seconds, as a Double (benchmarks and physics clocks).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
