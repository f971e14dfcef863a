import Foundation
import ReinsControl
import ReinsCore
import ReinsSim
import Testing

@Suite("Safety layer")
struct SafetyTests {
    @Test("property: across 100,000 random commands and states, nothing that leaves the safety layer breaks a limit")
    func neverViolates() throws {
        let definition = try catalog.robot("so101")
        let kinematics = try ArmKinematics.model(of: try RobotTwin(robot: definition))
        var limits = SafetyLimits(robot: definition, joints: definition.motors.map(\.limitsRad))
        limits.maxStepRad = [0.05, 0.04, 0.03, 0.05, 0.06, 0.1]
        limits.maxLeadRad = [0.3, 0.3, 0.3, 0.4, 0.4, 0.5]
        let safety = SafetyLayer(limits: limits, kinematics: kinematics)
        var generator = SplitMix64(seed: 11)
        let n = definition.motors.count
        let epsilon = 1e-9
        var outsideStarts = 0
        for trial in 0..<100_000 {
            // Mostly states inside the limits, some outside (after a bad calibration, say); commands
            // anywhere, sometimes not numbers at all.
            let previous = (0..<n).map { index -> Double in
                let joint = limits.joints[index]
                let width = joint.upperBound - joint.lowerBound
                return Double.random(in: (joint.lowerBound - 0.1 * width)...(joint.upperBound + 0.1 * width), using: &generator)
            }
            let measured = previous.map { $0 + Double.random(in: -0.6...0.6, using: &generator) }
            var command: [Double]
            switch trial % 10 {
            case 0: command = previous.map { $0 + Double.random(in: -0.01...0.01, using: &generator) }
            case 1: command = (0..<n).map { _ in Double.random(in: -10...10, using: &generator) }
            case 2: command = previous.enumerated().map { $0.offset == trial % n ? .nan : $0.element }
            default: command = previous.map { $0 + Double.random(in: -1...1, using: &generator) }
            }
            let dt = Double.random(in: 0.001...0.02, using: &generator)
            safety.filter(&command, previous: previous, measured: measured, dt: dt)

            let previousViolation = safety.workspaceViolation(previous)
            if previousViolation > 0 { outsideStarts += 1 }
            #expect(safety.workspaceViolation(command) <= previousViolation + 1e-9, "trial \(trial): the end effector left the box")
            for index in 0..<n {
                let value = command[index], before = previous[index]
                #expect(value.isFinite)
                let step = min(limits.maxStepRad[index], limits.maxVelocityRadPerS[index] * dt)
                #expect(abs(value - before) <= step + epsilon, "trial \(trial) joint \(index): step \(value - before) over \(step)")
                let joint = limits.joints[index]
                let lower = min(joint.lowerBound, before), upper = max(joint.upperBound, before)
                #expect(value >= lower - epsilon && value <= upper + epsilon, "trial \(trial) joint \(index): \(value) moved further outside \(joint)")
                let lead = limits.maxLeadRad[index]
                let leadLower = min(measured[index] - lead, before), leadUpper = max(measured[index] + lead, before)
                #expect(value >= leadLower - epsilon && value <= leadUpper + epsilon, "trial \(trial) joint \(index): leads the arm by too much")
            }
        }
        // The generator exercised every rule.
        let counters = safety.counters
        #expect(counters.commands == 100_000)
        #expect(counters.invalid == 10_000)
        #expect(counters.jointLimit > 1000 && counters.step > 1000 && counters.lead > 1000 && counters.workspace > 100)
        #expect(outsideStarts > 100)
    }

    @Test("a command inside every limit passes unchanged and is not counted")
    func passesSafeCommands() throws {
        let definition = try catalog.robot("so101")
        let kinematics = try ArmKinematics.model(of: try RobotTwin(robot: definition))
        let safety = SafetyLayer(limits: SafetyLimits(robot: definition, joints: definition.motors.map(\.limitsRad)), kinematics: kinematics)
        let home = definition.homePoseRad
        #expect(safety.workspaceViolation(home) == 0)
        var command = home.map { $0 + 0.005 }
        let wanted = command
        safety.filter(&command, previous: home, measured: home, dt: 0.005)
        #expect(command == wanted)
        #expect(safety.counters.clamps == 0)
    }

    @Test("a move that would take the end effector out of the box is shortened to the box's edge")
    func workspaceEdge() throws {
        let definition = try catalog.robot("so101")
        let kinematics = try ArmKinematics.model(of: try RobotTwin(robot: definition))
        var limits = SafetyLimits(robot: definition, joints: definition.motors.map(\.limitsRad))
        limits.maxStepRad = [Double](repeating: 3, count: 6)
        limits.maxVelocityRadPerS = [Double](repeating: 1000, count: 6)
        limits.maxLeadRad = [Double](repeating: 10, count: 6)
        let safety = SafetyLayer(limits: limits, kinematics: kinematics)
        let home = definition.homePoseRad
        // Reaching far down and forward drives the tip through the table (z < 0).
        var command = home
        command[1] = 1.5
        command[2] = 0.0
        #expect(safety.workspaceViolation(command) > 0)
        safety.filter(&command, previous: home, measured: home, dt: 0.005)
        #expect(safety.counters.workspace == 1)
        #expect(safety.workspaceViolation(command) == 0)
        // Shortened, not refused: it moved most of the way it safely could.
        #expect(command[1] > home[1] + 0.1)
    }
}
