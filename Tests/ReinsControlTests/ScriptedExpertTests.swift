import Foundation
import ReinsControl
import ReinsCore
import ReinsSim
import ReinsTraining
import Testing

/// Runs `episodes` on the so101 twin through its bus, judged by the task's check (reward 1 and the
/// episode's end when it passes), with `policy` and the scripted supervisor when `supervised`.
private func run(_ task: TaskKind, episodes: Int, seed: UInt64, maxSteps: Int = 100, supervised: Bool = false,
                 policy: (RobotSession) -> ActionSource) throws -> (successes: Int, steps: [Int], interventionRate: Double) {
    let rig = try TwinRig("so101")
    let session = rig.session()
    let options = StationOptions(commandName: "test", task: task, maxSteps: maxSteps, seed: seed,
                                 operatorKind: supervised ? .scripted : .none, supervising: true)
    let twin = session.twinTask(task, seed: seed)
    let reward = try EpisodeReward(.init(source: .task), twin: twin, cameras: [], standIn: nil)
    let station = try OperatorStation(session: session, twin: twin, reward: reward, options: options, policy: policy(session), display: nil) { _ in }
    defer { station.close() }
    var successes = 0, steps: [Int] = [], interventions = 0, taken = 0
    for index in 0..<episodes {
        let outcome = try station.runEpisode(index: index)
        if outcome.end == .success {
            successes += 1
            steps.append(outcome.steps)
        }
        interventions += outcome.interventions
        taken += outcome.steps
    }
    return (successes, steps, Double(interventions) / Double(max(taken, 1)))
}

private func expert(_ task: TaskKind, seed: UInt64) -> (RobotSession) -> ActionSource {
    { session in scriptedExpert(for: task, scale: ActionScale(), seed: seed) { [scene = session.scene] in scene?.cubePosition } }
}

@Suite("Scripted experts and the supervisor, on the twin's bus", .serialized)
struct ScriptedExpertTests {
    @Test("the scripted reacher reaches the cube in at least 5 of 6 seeded episodes, each in under 40 steps")
    func reach() throws {
        let result = try run(.reach, episodes: 6, seed: 1, policy: expert(.reach, seed: 2))
        #expect(result.successes >= 5, "\(result)")
        #expect(result.steps.allSatisfy { $0 < 40 }, "\(result.steps)")
    }

    @Test("the scripted picker lifts the cube 5 cm in at least 8 of 10 seeded episodes")
    func pick() throws {
        let result = try run(.pick, episodes: 10, seed: 4, policy: expert(.pick, seed: 5))
        #expect(result.successes >= 8, "\(result)")
    }

    @Test("a random policy is taken over, handed back, and reaches far more often with the supervisor")
    func supervisedRandomPolicy() throws {
        let alone = try run(.reach, episodes: 2, seed: 6) { _ in RandomPolicy(seed: 7) }
        let supervised = try run(.reach, episodes: 3, seed: 6, supervised: true) { _ in RandomPolicy(seed: 7) }
        #expect(supervised.successes >= 2 && supervised.successes > alone.successes, "alone \(alone), supervised \(supervised)")
        // Taken over, but handed back too: not every step is the supervisor's.
        #expect(supervised.interventionRate > 0.1 && supervised.interventionRate < 0.95, "\(supervised)")
    }

    @Test("a random policy's pick is taken over and finished: the cube lifted in most episodes, the policy's first steps its own")
    func supervisedRandomPick() throws {
        let supervised = try run(.pick, episodes: 3, seed: 10, supervised: true) { _ in RandomPolicy(seed: 11) }
        #expect(supervised.successes >= 2, "\(supervised)")
        #expect(supervised.interventionRate > 0.3 && supervised.interventionRate < 1, "\(supervised)")
    }

    @Test("a policy that heads straight for the goal is never taken over")
    func goodPolicyIsLeftAlone() throws {
        let result = try run(.reach, episodes: 2, seed: 8, supervised: true, policy: expert(.reach, seed: 9))
        #expect(result.successes == 2)
        #expect(result.interventionRate == 0)
    }
}
