import Foundation
import ReinsCore

extension ControlLoop {
    /// Moves the arm slowly to `pose` (radians, motor order): targets along a straight line in
    /// joint space, paced so no joint goes faster than `speed` rad/s, sent at the policy rate; then
    /// holds `pose` until every joint is within `tolerance` or `timeout` passes. Returns the
    /// largest remaining joint error. Blocks the calling thread (not the loop).
    @discardableResult
    public func move(to pose: [Double], speed: Double = 0.5, tolerance: Double = 0.02, timeout: Duration = .seconds(15)) -> Double {
        move(along: [pose], speed: speed, tolerance: tolerance, timeout: timeout)
    }

    /// As `move(to:)`, through each of `path`'s poses in turn (straight lines in joint space
    /// between them), holding the last, paced along the whole path (`pacedTargets`).
    @discardableResult
    public func move(along path: [[Double]], speed: Double = 0.5, tolerance: Double = 0.02, timeout: Duration = .seconds(15)) -> Double {
        guard let pose = path.last else { return 0 }
        let period = 1 / configuration.policyHz
        let deadline = Date().addingTimeInterval(timeout.seconds)
        for target in Self.pacedTargets(from: status.sent, along: path, step: speed * period) {
            guard !status.phase.isFinished, Date() < deadline else { break }
            command(target)
            Thread.sleep(forTimeInterval: period)
        }
        var error = Double.infinity
        while Date() < deadline && !status.phase.isFinished {
            command(pose)
            error = zip(status.state.positions, pose).map { abs($0 - $1) }.max() ?? 0
            if error <= tolerance { break }
            Thread.sleep(forTimeInterval: period)
        }
        return zip(status.state.positions, pose).map { abs($0 - $1) }.max() ?? error
    }

    /// One target per period from `start` along `path`: each advances `step` (the largest joint's
    /// change) however many of the path's poses that passes, so a path of many close poses (an IK
    /// path home) takes as long as its length, not a period per pose. Ends on the path's last pose.
    public static func pacedTargets(from start: [Double], along path: [[Double]], step: Double) -> [[Double]] {
        precondition(step > 0, "a move needs a positive step")
        var targets: [[Double]] = [], target = start, next = 0
        while next < path.count {
            var budget = step
            while next < path.count, budget > 0 {
                let waypoint = path[next]
                let distance = zip(target, waypoint).map { abs($0 - $1) }.max() ?? 0
                if distance <= budget {
                    (target, budget, next) = (waypoint, budget - distance, next + 1)
                } else {
                    target = zip(target, waypoint).map { $0 + budget / distance * ($1 - $0) }
                    budget = 0
                }
            }
            targets.append(target)
        }
        return targets
    }

    /// Waits until every joint moves slower than `speed` rad/s (or `timeout` passes): a move ends
    /// within its tolerance while the arm may still be swinging in.
    public func settle(below speed: Double = 0.02, timeout: Duration = .seconds(2)) {
        let deadline = Date().addingTimeInterval(timeout.seconds)
        var calm = 0
        while Date() < deadline && !status.phase.isFinished {
            let fastest = status.state.velocities.map(abs).max() ?? 0
            calm = fastest < speed ? calm + 1 : 0
            if calm >= 5 { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
}
