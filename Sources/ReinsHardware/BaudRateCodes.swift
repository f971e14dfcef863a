/// What a servo family's Baud Rate register holds for each baud it can run at.
public struct BaudRateCodes: Sendable {
    private let pairs: [(baud: Int, code: UInt8)]

    public init(_ pairs: [(baud: Int, code: UInt8)]) {
        self.pairs = pairs
    }

    /// The register value for `baud`, or nil when the family cannot run at it.
    public func code(for baud: Int) -> UInt8? {
        pairs.first { $0.baud == baud }?.code
    }

    /// The baud a register value stands for.
    public func baud(code: Int32) -> Int? {
        pairs.first { Int32($0.code) == code }?.baud
    }
}
