/// A success rate with its 95 % Wilson score interval, which stays inside [0, 1] and is honest
/// for few episodes and rates near 0 or 1 (where the normal approximation is not).
public struct SuccessRate: Sendable, Equatable, Codable {
    public var successes: Int
    public var trials: Int
    public var rate: Double
    public var lower: Double
    public var upper: Double

    public init(successes: Int, trials: Int, z: Double = 1.959_964) {
        self.successes = successes
        self.trials = trials
        guard trials > 0 else {
            (rate, lower, upper) = (0, 0, 1)
            return
        }
        let n = Double(trials), p = Double(successes) / n
        let centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        let half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()
        rate = p
        lower = max(0, centre - half)
        upper = min(1, centre + half)
    }
}
