/// How a layer's weights start. Biases start at zero, LayerNorm scales at one.
public enum Initializer: Sendable {
    /// Glorot/Xavier uniform, U(±√(6 / (fanIn + fanOut))): SERL's default for dense layers.
    case xavierUniform
    /// He/Kaiming uniform, U(±√(6 / fanIn)): for convolutions followed by ReLU.
    case heUniform

    public func fill(_ values: UnsafeMutablePointer<Float>, count: Int, fanIn: Int, fanOut: Int,
                     using generator: inout some RandomNumberGenerator) {
        let limit: Float
        switch self {
        case .xavierUniform: limit = (6 / Float(fanIn + fanOut)).squareRoot()
        case .heUniform: limit = (6 / Float(fanIn)).squareRoot()
        }
        for index in 0..<count {
            values[index] = Float.random(in: -limit...limit, using: &generator)
        }
    }
}
