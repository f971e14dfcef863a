import ReinsCore

/// A recorded episode's joint targets played back through a running control loop and its safety
/// layer, at the loop's policy rate, with how closely the arm followed: after every step each
/// joint is compared with the recorded state after the same step.
public struct EpisodeReplay {
    /// Joint targets per step (radians, motor order), as recorded.
    public let targets: [[Double]]
    /// Measured joint positions per step, as recorded.
    public let positions: [[Double]]
    /// What the recording held when it started (home); the arm goes there first.
    public let start: [Double]

    public init(targets: [[Double]], positions: [[Double]], start: [Double]) {
        precondition(targets.count == positions.count, "one recorded state per step")
        self.targets = targets
        self.positions = positions
        self.start = start
    }

    /// How a replay went.
    public struct Tracking: Sendable, Equatable {
        /// Steps played (the first included: it has no state after it to compare until the second).
        public var steps: Int
        public var rmsRad: [Double]
        public var maxRad: [Double]
        public var completed: Bool
        /// Why it stopped early (the loop's phase), when it did.
        public var stoppedBy: String?
    }

    /// Moves to the start at `speed` rad/s, then plays every step. `beforeStep` runs before each
    /// step is sent (video frames) and may return false to stop (the operator's Esc).
    public func play(on loop: ControlLoop, speed: Double, beforeStep: (Int) throws -> Bool = { _ in true }) rethrows -> Tracking {
        let joints = start.count
        loop.move(to: start, speed: speed, tolerance: 0.02, timeout: .seconds(30))
        loop.settle()
        var squared = [Double](repeating: 0, count: joints), worst = [Double](repeating: 0, count: joints)
        var compared = 0, stoppedBy: String?
        for step in targets.indices {
            let phase = loop.status.phase
            if phase.isFinished || (phase != .running && phase != .holding) {
                stoppedBy = "\(phase)"
                break
            }
            guard try beforeStep(step) else {
                loop.stop(reason: "replay stopped")
                stoppedBy = "stopped by the operator"
                break
            }
            let cycle = loop.status.cycles
            loop.command(targets[step])
            loop.wait(untilCycle: cycle + loop.cyclesPerPolicyStep)
            guard step + 1 < targets.count else { continue }
            let now = loop.status.state.positions
            let then = positions[step + 1]
            for index in 0..<joints {
                let error = abs(now[index] - then[index])
                squared[index] += error * error
                worst[index] = max(worst[index], error)
            }
            compared += 1
        }
        let rms = squared.map { compared > 0 ? ($0 / Double(compared)).squareRoot() : 0 }
        return Tracking(steps: compared + 1, rmsRad: rms, maxRad: worst, completed: compared + 1 == targets.count, stoppedBy: stoppedBy)
    }
}
