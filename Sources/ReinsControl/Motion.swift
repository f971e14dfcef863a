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
    /// between them), holding the last.
    @discardableResult
    public func move(along path: [[Double]], speed: Double = 0.5, tolerance: Double = 0.02, timeout: Duration = .seconds(15)) -> Double {
        guard let pose = path.last else { return 0 }
        let period = 1 / configuration.policyHz
        let deadline = Date().addingTimeInterval(timeout.seconds)
        var start = status.sent
        for waypoint in path {
            let distance = zip(start, waypoint).map { abs($0 - $1) }.max() ?? 0
            let steps = max(1, Int((distance / speed / period).rounded(.up)))
            for step in 1...steps {
                guard !status.phase.isFinished, Date() < deadline else { break }
                let fraction = Double(step) / Double(steps)
                command(zip(start, waypoint).map { $0 + fraction * ($1 - $0) })
                Thread.sleep(forTimeInterval: period)
            }
            start = waypoint
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
