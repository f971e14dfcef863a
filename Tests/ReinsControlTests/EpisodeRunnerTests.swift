import Foundation
import ReinsControl
import ReinsCore
import ReinsSim
import Testing

/// Moves the end effector straight at a goal: the twist in the tool's frame, clipped.
final class GoalSeeker: ActionSource {
    let goal: Vector3
    let scale: ActionScale

    init(goal: Vector3, scale: ActionScale) {
        self.goal = goal
        self.scale = scale
    }

    func action(for observation: EpisodeObservation) -> [Double]? {
        let local = observation.endEffector.rotation.transposed * (goal - observation.endEffector.position) / scale.linearM
        return [local.x, local.y, local.z, 0, 0, 0, 1]
    }
}

/// An operator who takes over on some steps and pushes the tool along its x axis.
final class ScheduledOperator: ActionSource {
    let activeSteps: Set<Int>
    private var step = 0

    init(activeSteps: Set<Int>) {
        self.activeSteps = activeSteps
    }

    func action(for observation: EpisodeObservation) -> [Double]? {
        defer { step += 1 }
        return activeSteps.contains(step) ? [1, 0, 0, 0, 0, 0, -1] : nil
    }
}

@Suite("Episode runner on an emulated bus", .serialized)
struct EpisodeRunnerTests {
    @Test("reset, then end-effector actions reach a goal; the operator's steps win and are flagged")
    func reachesGoalWithIntervention() throws {
        let rig = try TwinRig("so101")
        let loop = rig.loop()
        try loop.start()
        defer {
            loop.stop(reason: "test over")
            loop.wait()
        }
        let home = rig.kinematics.pose(rig.robot.definition.homePoseRad).position
        let goal = home + Vector3(-0.06, 0.08, 0.05)
        let runner = EpisodeRunner(loop: loop, kinematics: rig.kinematics) { observation in
            let distance = length(observation.endEffector.position - goal)
            return (-distance, distance < 0.02)
        }
        runner.maxSteps = 60
        let policy = GoalSeeker(goal: goal, scale: runner.scale)
        let steps = try runner.run(policy: policy, operator: ScheduledOperator(activeSteps: [2, 3, 4]))
        let last = try #require(steps.last)
        #expect(last.success, "ended \(length(last.observation.endEffector.position - goal)) m from the goal after \(steps.count) steps")
        #expect(steps.count < 60)
        #expect(steps.enumerated().filter(\.element.intervention).map(\.offset) == [2, 3, 4])
        // The operator's action was the one applied on their steps, gripper closed.
        #expect(steps[3].action == [1, 0, 0, 0, 0, 0, -1])
        #expect(steps[1].action[6] == 1)
        #expect(loop.status.safety.invalid == 0)
        // After the operator's steps closed it, the policy opened the gripper again.
        #expect((last.observation.gripper ?? 0) > 0.8)
    }
}
