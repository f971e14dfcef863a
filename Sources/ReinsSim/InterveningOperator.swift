/// The scripted operator as a person supervising a policy: it watches the tip's distance to the
/// cube, takes over when the policy has moved the tip away for `patience` steps in a row, drives
/// with the expert for `takeoverSteps`, then hands back. Human-in-the-loop training can then be
/// tested without a person; each step says whether the operator was in control.
public struct InterveningOperator: Sendable {
    public var expert: ScriptedOperator
    /// Consecutive steps of the tip moving away (by more than `tolerance`) before taking over.
    public var patience: Int
    /// Steps the operator keeps control once it has taken it.
    public var takeoverSteps: Int
    /// Distance growth below this (metres) counts as holding still, not moving away.
    public var tolerance = 0.002
    private var awaySteps = 0
    private var controlLeft = 0
    private var lastDistance: Double?

    public init(expert: ScriptedOperator, patience: Int = 3, takeoverSteps: Int = 10) {
        self.expert = expert
        self.patience = patience
        self.takeoverSteps = takeoverSteps
    }

    /// The action to apply given the policy's, and whether the operator took it over.
    public mutating func arbitrate(policyAction: [Double], environment: TaskEnvironment) -> (action: [Double], intervened: Bool) {
        if environment.steps == 0 {
            awaySteps = 0
            controlLeft = 0
            lastDistance = nil
        }
        let distance = environment.tipToCube
        if let last = lastDistance, distance > last + tolerance { awaySteps += 1 } else { awaySteps = 0 }
        lastDistance = distance
        if controlLeft == 0 && awaySteps >= patience {
            controlLeft = takeoverSteps
            awaySteps = 0
        }
        guard controlLeft > 0 else { return (policyAction, false) }
        controlLeft -= 1
        return (expert.action(for: environment), true)
    }
}
