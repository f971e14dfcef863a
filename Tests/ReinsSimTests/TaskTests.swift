import Foundation
import ReinsCore
import Testing
@testable import ReinsSim

@Suite("Tasks and the scripted operator")
struct TaskTests {
    /// Runs `episodes` seeded episodes with the scripted operator; the successes and steps taken.
    static func scriptedEpisodes(_ robot: String, _ task: TaskKind, episodes: Int, seed: UInt64) throws -> (successes: Int, steps: [Int]) {
        var options = TaskEnvironment.Options(task: task)
        options.imageSize = 0
        let environment = try TaskEnvironment(twin: try RobotTwin(robot: try catalog.robot(robot)), options: options, seed: seed)
        var scripted = ScriptedOperator(seed: seed &+ 1)
        var successes = 0, steps: [Int] = []
        for _ in 0..<episodes {
            _ = try environment.reset()
            while true {
                let step = try environment.step(scripted.action(for: environment))
                if step.success { successes += 1 }
                if step.terminal || step.truncated { break }
            }
            steps.append(environment.steps)
        }
        return (successes, steps)
    }

    @Test("the scripted operator reaches the cube in at least 95 % of seeded so101 episodes")
    func scriptedReach() throws {
        let (successes, steps) = try Self.scriptedEpisodes("so101", .reach, episodes: 20, seed: 1)
        #expect(successes >= 19, "\(successes)/20 successes; steps \(steps)")
    }

    @Test("the scripted operator picks the cube up 5 cm in at least 80 % of seeded so101 episodes")
    func scriptedPick() throws {
        let (successes, steps) = try Self.scriptedEpisodes("so101", .pick, episodes: 10, seed: 3)
        #expect(successes >= 8, "\(successes)/10 successes; steps \(steps)")
    }

    @Test("cubes are placed at seeded random spots on the table; the cube is not in the observation")
    func resets() throws {
        var options = TaskEnvironment.Options(task: .reach)
        options.imageSize = 32
        let twin = try RobotTwin(robot: try catalog.robot("so101"))
        let a = try TaskEnvironment(twin: twin, options: options, seed: 5), b = try TaskEnvironment(twin: twin, options: options, seed: 5)
        var places: [SIMD3<Double>] = []
        for _ in 0..<5 {
            let observation = try a.reset()
            _ = try b.reset()
            #expect(a.cubePosition == b.cubePosition)
            #expect(TaskEnvironment.cubeRegion.x.contains(a.cubePosition.x) && abs(a.cubePosition.z - TaskEnvironment.cubeHalfSize) < 0.003)
            #expect(observation.jointPositions.count == 6 && observation.image.count == 32 * 32 * 3)
            places.append(a.cubePosition)
        }
        #expect(Set(places.map { "\($0.x),\($0.y)" }).count == 5)
    }

    @Test("sparse reward is 1 only on success; dense reward is minus the distance; 100 steps end an episode")
    func rewards() throws {
        var options = TaskEnvironment.Options(task: .reach)
        options.imageSize = 0
        options.dense = true
        let environment = try TaskEnvironment(twin: try RobotTwin(robot: try catalog.robot("so101")), options: options, seed: 2)
        _ = try environment.reset()
        let still = [Double](repeating: 0, count: 6)
        var last: TaskStep?
        for _ in 0..<100 {
            let step = try environment.step(still)
            #expect(abs(step.reward - -environment.tipToCube) < 1e-9)
            last = step
        }
        #expect(last?.truncated == true && last?.success == false)
    }
}

@Suite("The intervening operator")
struct InterveningOperatorTests {
    /// Success rate and intervention fraction of a policy under an optional intervening operator.
    static func run(policy: (TaskEnvironment, inout SplitMix64) -> [Double], intervening: Bool, episodes: Int) throws -> (successes: Int, interventions: Double) {
        var options = TaskEnvironment.Options(task: .reach)
        options.imageSize = 0
        let environment = try TaskEnvironment(twin: try RobotTwin(robot: try catalog.robot("so101")), options: options, seed: 11)
        var supervisor = InterveningOperator(expert: ScriptedOperator(seed: 12), patience: 3, takeoverSteps: 10)
        var generator = SplitMix64(seed: 13)
        var successes = 0, steps = 0, intervened = 0
        for _ in 0..<episodes {
            _ = try environment.reset()
            while true {
                var action = policy(environment, &generator)
                if intervening {
                    let decision = supervisor.arbitrate(policyAction: action, environment: environment)
                    action = decision.action
                    if decision.intervened { intervened += 1 }
                }
                let step = try environment.step(action)
                steps += 1
                if step.success { successes += 1 }
                if step.terminal || step.truncated { break }
            }
        }
        return (successes, Double(intervened) / Double(steps))
    }

    @Test("a policy that wanders gets taken over, hands back, and succeeds far more often with the operator")
    func wanderingPolicy() throws {
        let wander: (TaskEnvironment, inout SplitMix64) -> [Double] = { _, generator in
            (0..<6).map { _ in Double.random(in: -1...1, using: &generator) }
        }
        let alone = try Self.run(policy: wander, intervening: false, episodes: 6)
        let helped = try Self.run(policy: wander, intervening: true, episodes: 6)
        #expect(helped.successes >= 5 && helped.successes > alone.successes, "alone \(alone.successes)/6, helped \(helped.successes)/6")
        #expect(helped.interventions > 0.05 && helped.interventions < 1, "intervention fraction \(helped.interventions)")
    }

    @Test("a policy that heads straight for the cube is never taken over")
    func goodPolicy() throws {
        var expert = ScriptedOperator(noise: 0, seed: 14)
        let result = try Self.run(policy: { environment, _ in expert.action(for: environment) }, intervening: true, episodes: 4)
        #expect(result.successes == 4)
        #expect(result.interventions == 0)
    }
}
