import ReinsCore
import ReinsNN

/// The gripper's three discrete actions, as HIL-SERL's grasp critic has them. A transition stores
/// its class in the action's last value (−1, 0, 1) and the gripper's state before it: `close` is
/// a choice only while the gripper is open and `open` only while it is closed, so every class
/// either changes the state or is `stay`, and no Q-value is left that no transition can train.
public enum GripperClass: Int, CaseIterable, Sendable {
    case close = 0, stay, open

    /// The value a transition stores for the class.
    public var actionValue: Float { Float(rawValue - 1) }

    /// The class a stored value stands for (the nearest of −1, 0, 1).
    public init(actionValue: Float) {
        self = actionValue < -0.5 ? .close : actionValue > 0.5 ? .open : .stay
    }

    /// The class of a continuous gripper command (−1 closed … 1 open, as demos and operators give
    /// it) for a gripper that is `open` before it: a command on the other side of half-open changes the state.
    public static func of(command: Double, open: Bool) -> GripperClass {
        if open && command < 0 { return .close }
        if !open && command >= 0 { return .open }
        return .stay
    }

    /// Whether the class is a choice for a gripper that is `open` (or closed).
    public func isAllowed(open: Bool) -> Bool {
        switch self {
        case .close: open
        case .stay: true
        case .open: !open
        }
    }

    /// Whether the gripper is open after the class, from `open` before it.
    public func isOpen(after open: Bool) -> Bool {
        switch self {
        case .close: false
        case .stay: open
        case .open: true
        }
    }
}

/// Q(s, g) for the gripper's three classes: an MLP on the critic encoder's observation features
/// (camera latents and proprio, read detached: the continuous critic trains the encoder) and the
/// gripper's state (1 open, −1 closed), which the measured opening shows only once the jaws have moved.
final class GripperCritic {
    let parameters = ParameterSet()
    let network: Sequential
    /// The network's input rows: observation features, then the state.
    let input: FloatBuffer  // (B, F + 1)
    let observationWidth: Int

    init(_ name: String, config: SACConfig, observationWidth: Int, maxBatch: Int, shards: Int, seed: UInt64) {
        self.observationWidth = observationWidth
        input = FloatBuffer(count: maxBatch * (observationWidth + 1))
        network = multilayerPerceptron("\(name).q", input: observationWidth + 1, hidden: config.hiddenWidths,
                                       output: GripperClass.allCases.count, maxBatch: maxBatch, parameters: parameters)
        network.computesInputGradient = false
        parameters.allocate(shards: shards)
        var generator = SplitMix64(seed: seed)
        network.initialize(using: &generator)
    }

    /// Q for `rows`: the first `observationWidth` columns of `features` (row stride `stride`) and
    /// each row's state, `open(row)`. Allocates nothing.
    func forward(features: UnsafePointer<Float>, stride: Int, rows: Range<Int>, forBackward: Bool = true, open: (Int) -> Bool) {
        let width = observationWidth + 1
        copyColumns(out: input.pointer, outStride: width, features, stride: stride, columns: observationWidth, rows: rows)
        for row in rows { input[row * width + observationWidth] = open(row) ? 1 : -1 }
        _ = network.forward(input.pointer, rows: rows, forBackward: forBackward)
    }

    /// Q(s, g) for row `row` after `forward`.
    func q(_ row: Int, _ gripper: GripperClass) -> Float { network.output[row * 3 + gripper.rawValue] }

    /// The allowed class of highest Q for row `row` after `forward`.
    func best(_ row: Int, open: Bool) -> GripperClass {
        var best = GripperClass.stay
        for gripper in GripperClass.allCases where gripper.isAllowed(open: open) && q(row, gripper) > q(row, best) { best = gripper }
        return best
    }

    /// Backpropagates dL/dQ ((B, 3), row-major) for `rows` of the last forward into `gradients`. Allocates nothing.
    func backward(_ qGradient: UnsafePointer<Float>, rows: Range<Int>, gradients: UnsafeMutablePointer<Float>?) {
        network.backward(qGradient, input: input.pointer, rows: rows, gradients: gradients)
    }
}
