import Foundation
import ReinsCore

/// An expert for the tasks, from inverse kinematics: each step it solves damped least squares for
/// the joint change that moves the tip toward its goal (4 cm above the cube, then down around it
/// with the gripper open, the jaws straddling the cube; for `pick`, then closing the gripper and
/// lifting), adds Gaussian noise, and returns it as an action. It demonstrates, and stands in for the operator who intervenes in human-in-the-loop
/// training.
public struct ScriptedOperator: Sendable {
    /// Noise on each action value (standard deviation, in action units).
    public var noise: Double
    /// Damping of the least-squares solve, in metres.
    public var damping = 0.05
    private var generator: SplitMix64
    private enum Phase: Sendable { case approach, grasp(steps: Int), lift }
    private var phase = Phase.approach

    public init(noise: Double = 0.1, seed: UInt64) {
        self.noise = noise
        generator = SplitMix64(seed: seed)
    }

    /// The action for the environment's current state.
    public mutating func action(for environment: TaskEnvironment) -> [Double] {
        let cube = environment.cubePosition
        let tip = environment.tipPosition
        let motors = environment.twin.robot.motors.count
        // The gripper does not move the tip: solve over the arm joints only.
        let armJoints = motors - 1
        let gripper = environment.twin.robot.motors[armJoints].limitsRad
        let open = gripper.lowerBound + 0.7 * (gripper.upperBound - gripper.lowerBound)
        let gripperTarget = environment.targets[armJoints]
        if environment.steps == 0 { phase = .approach }
        switch phase {
        case .approach where environment.options.task == .pick && environment.tipToCube < 0.012 && gripperTarget >= open - 0.05:
            phase = .grasp(steps: 0)
        case .grasp(let steps):
            // Close, then give the servo two more steps to squeeze.
            let closingSteps = Int(((open - gripper.lowerBound) / environment.options.maxJointStep).rounded(.up)) + 2
            phase = steps >= closingSteps ? .lift : .grasp(steps: steps + 1)
        default:
            break
        }
        // Come in from above: aim 4 cm over the cube until the tip is over it, then at its centre;
        // when picking, hold there while the gripper closes, then lift.
        let horizontal = ((cube.x - tip.x) * (cube.x - tip.x) + (cube.y - tip.y) * (cube.y - tip.y)).squareRoot()
        let height: Double
        switch phase {
        case .approach: height = horizontal > 0.015 ? 0.04 : 0
        case .grasp: height = 0
        case .lift: height = 0.08
        }
        let goal = SIMD3(cube.x, cube.y, cube.z + height)
        let jacobian = environment.tipJacobian()
        let change = Self.dampedLeastSquares(jacobian, columns: motors, solving: armJoints, error: goal - tip, damping: damping)
        // The gripper opens to 70 % of its range, and closes fully on the cube to pick it.
        let gripperGoal: Double
        if case .approach = phase { gripperGoal = open } else { gripperGoal = gripper.lowerBound }
        return (0..<motors).map { index in
            let target = index < armJoints ? change[index] : gripperGoal - gripperTarget
            return min(max(target / environment.options.maxJointStep + noise * generator.nextGaussian(), -1), 1)
        }
    }

    /// dq = Jᵀ (J Jᵀ + λ² I)⁻¹ e over the first `solving` columns of a 3 × `columns` Jacobian.
    static func dampedLeastSquares(_ jacobian: [Double], columns: Int, solving: Int, error: SIMD3<Double>, damping: Double) -> [Double] {
        var a = [[Double]](repeating: [Double](repeating: 0, count: 3), count: 3)
        for row in 0..<3 {
            for column in 0..<3 {
                var sum = row == column ? damping * damping : 0
                for k in 0..<solving { sum += jacobian[row * columns + k] * jacobian[column * columns + k] }
                a[row][column] = sum
            }
        }
        let y = solve3(a, [error.x, error.y, error.z])
        return (0..<solving).map { k in (0..<3).reduce(0) { $0 + jacobian[$1 * columns + k] * y[$1] } }
    }

    /// Solves a 3 × 3 symmetric positive definite system by Gaussian elimination.
    static func solve3(_ matrix: [[Double]], _ vector: [Double]) -> [Double] {
        var a = matrix, b = vector
        for pivot in 0..<3 {
            for row in (pivot + 1)..<3 {
                let factor = a[row][pivot] / a[pivot][pivot]
                for column in pivot..<3 { a[row][column] -= factor * a[pivot][column] }
                b[row] -= factor * b[pivot]
            }
        }
        var x = [0.0, 0.0, 0.0]
        for row in stride(from: 2, through: 0, by: -1) {
            var sum = b[row]
            for column in (row + 1)..<3 { sum -= a[row][column] * x[column] }
            x[row] = sum / a[row][row]
        }
        return x
    }
}
