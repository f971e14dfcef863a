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
        let home = rig.kinematics.makeInstance().pose(rig.robot.definition.homePoseRad).position
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
        // After the operator's steps closed it, the policy opened the gripper again: it commands
        // open on every later step, and the jaws are opening (how far they got depends on how soon
        // the goal was reached on a loaded machine).
        #expect(steps.dropFirst(5).allSatisfy { $0.action[6] == 1 })
        #expect((last.observation.gripper ?? 0) > (steps[4].observation.gripper ?? 1), "gripper \(steps[4].observation.gripper ?? -1) → \(last.observation.gripper ?? -1)")
    }

    @Test("reset brings the arm home from the table's face, where the box would block a straight move home")
    func resetFromTheTable() throws {
        let rig = try TwinRig("so101")
        let loop = rig.loop()
        try loop.start()
        defer {
            loop.stop(reason: "test over")
            loop.wait()
        }
        let runner = EpisodeRunner(loop: loop, kinematics: rig.kinematics) { _ in (0, false) }
        let home = rig.robot.definition.homePoseRad
        var observation = try runner.reset(speed: 1)
        // Down onto the table (the box's floor) near the base, as a policy overshooting the cube
        // does: from there a straight joint move home starts downward and the box stops it.
        let low = GoalSeeker(goal: Vector3(0.15, 0, -0.05), scale: runner.scale)
        let clampsBefore = loop.status.safety
        for _ in 0..<60 where observation.endEffector.position.z >= 0.012 {
            observation = try runner.step(from: observation, policy: low).observation
        }
        // The runner kept its own targets in the box: the safety layer had nothing to cut.
        #expect(loop.status.safety.workspace == clampsBefore.workspace)
        #expect(observation.endEffector.position.z < 0.015, "the tip is \(observation.endEffector.position.z) m above the table")
        let before = loop.status.safety.workspace
        let reset = try runner.reset(speed: 1)
        let error = zip(reset.joints, home).map { abs($0 - $1) }.max() ?? .infinity
        #expect(error < 0.05, "the arm stopped \(error) rad from home at \(reset.joints)")
        #expect(loop.status.safety.workspace - before < 20)
    }

    @Test("observations carry every camera's latest frame, cropped and resized; a stalled stream fails the step as stale")
    func camerasInObservations() throws {
        let rig = try TwinRig("so101", cameraSize: 64)
        let loop = rig.loop()
        try loop.start()
        defer {
            loop.stop(reason: "test over")
            loop.wait()
            rig.cameras.forEach { $0.stop() }
        }
        for camera in rig.cameras { try camera.start() }
        #expect(eventually(within: 20) { rig.cameras.allSatisfy { $0.framesCaptured > 0 } })
        let runner = EpisodeRunner(loop: loop, kinematics: rig.kinematics, cameras: rig.cameras) { _ in (0, false) }
        runner.maxFrameAge = .milliseconds(500)
        let first = try runner.reset(speed: 1)
        #expect(Set(first.images.keys) == ["front", "wrist"])
        for (name, frame) in first.images {
            #expect(frame.count == 64 * 64 * 3, "\(name)")
            #expect(Set(frame).count > 20, "\(name) is flat")
        }
        // The wrist camera looks at the jaws; the front camera at the whole scene: different images.
        let differ = first.images["front"] != first.images["wrist"]
        #expect(differ)
        let policy = GoalSeeker(goal: first.endEffector.position, scale: runner.scale)
        _ = try runner.step(from: first, policy: policy)
        // Each camera's frame in the reset and the step was timed: within the age the runner accepts.
        #expect(runner.frameAges.totalCount == 4)
        #expect(runner.frameAges.maxRecorded <= 500_000_000)

        // The streams stop: within the maximum age the step fails rather than reusing an old frame.
        rig.streams?.stop()
        usleep(700_000)
        #expect(throws: CameraError.self) { _ = try runner.step(from: first, policy: policy) }
    }
}
