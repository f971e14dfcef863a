import Foundation
@testable import ReinsControl
import ReinsCore
import ReinsData
import Testing
@testable import ReinsLearn
@testable import ReinsTraining

/// A discrete gripper between the policy, the robot and the learner: the class a policy chose
/// becomes a command, and that command, executed, becomes the same class in the buffer; demos and
/// interventions give their continuous commands classes the same way.
@Suite("the discrete gripper's classes and commands")
struct DiscreteGripperTests {
    static let spec = TrainingSpec(cameras: ["front"], imageSize: 4, joints: 2, discreteGripper: true)

    @Test("a policy's class, made a command against the command in force, is stored as that class with the state before it")
    func policyRoundTrip() {
        // Starting nearly closed (opening 0.1), as so101's home pose is.
        var inForce = 0.1 * 2 - 1
        let chosen: [GripperClass] = [.stay, .open, .stay, .close, .stay, .stay, .open]
        var open: [Bool] = []
        for gripper in chosen {
            let command = Self.spec.command([0.2, 0, 0, 0, 0, 0, Double(gripper.actionValue)], commandInForce: inForce)
            #expect(command[0] == 0.2)
            let stored = Self.spec.learnerAction(command, commandBefore: inForce)
            #expect(GripperClass(actionValue: stored.action[6]) == gripper, "\(gripper) was stored as \(stored.action[6])")
            #expect(gripper.isAllowed(open: stored.gripperOpen) || gripper == .stay)
            open.append(stored.gripperOpen)
            inForce = command[6]
        }
        #expect(open == [false, false, true, true, false, false, false])
        // A continuous gripper passes its command through.
        let continuous = TrainingSpec(cameras: ["front"], imageSize: 4, joints: 2)
        #expect(continuous.command([0, 0, 0, 0, 0, 0, 0.3], commandInForce: -1)[6] == 0.3)
        #expect(continuous.learnerAction([0, 0, 0, 0, 0, 0, 0.3], commandBefore: -1).action[6] == 0.3)
    }

    @Test("a recorded episode's commands become classes from the opening measured at its start; the state before each step rides along")
    func episodeTransitions() throws {
        let metadata = Episode.Metadata(robot: "so101", task: "pick", busHz: 200, policyHz: 10, calibrationID: "sim", success: true,
                                        softwareVersion: "test", jointNames: ["a", "b"], startedUnixSeconds: 1_700_000_000)
        var episode = Episode(metadata: metadata, actionWidth: 7, cameras: [.init(name: "front", width: 4, height: 4)], recordsCube: false)
        let commands = [1.0, 1, -1, -0.4, 0.6, 0.2]
        for (step, command) in commands.enumerated() {
            episode.append(jointPositions: [0, 0], endEffector: [0.2, 0, 0.1, 0, 0, 0], gripper: step == 0 ? 0.09 : 0.5, cubePosition: nil,
                           images: [[UInt8](repeating: 7, count: 48)], action: [0.1, 0, 0, 0, 0, 0, command], jointTargets: [0, 0],
                           reward: step == commands.count - 1 ? 1 : 0, done: step == commands.count - 1, intervention: true, timestamp: Double(step) / 10)
        }
        let transitions = try Self.spec.transitions(of: episode, file: "demos/e.h5")
        #expect(transitions.map { GripperClass(actionValue: $0.action[6]) } == [.open, .stay, .close, .stay, .open, .stay])
        #expect(transitions.map(\.gripperOpen) == [false, true, true, false, false, true])
        #expect(transitions.allSatisfy { $0.action[0] == 0.1 && $0.action.count == 7 })
    }

    @Test("a live observation's command in force is the last step's, or before the first the opening measured")
    func commandInForce() {
        var live = EpisodeObservation(joints: [0, 0], endEffector: Pose(position: .init(x: 0.2, y: 0, z: 0.1)), gripper: 0.25,
                                      images: [:], timestampNs: 0)
        #expect(live.gripperCommandInForce == -0.5)
        live.gripperCommand = 1
        #expect(live.gripperCommandInForce == 1)
    }

    @Test("a policy trained with a discrete gripper keeps it in its spec, and its learner's configuration says so")
    func specFromPolicy() throws {
        let config = Self.spec.learnerConfig(imitationWeight: 1)
        #expect(config.discreteGripper && config.continuousActionWidth == 6 && config.resolvedTargetEntropy == -3)
        #expect(TrainingSpec(policy: config) == Self.spec)
        // The gripper's margin term needs the discrete gripper and an imitation weight.
        #expect(config.gripperImitationMargin == 0 && Self.spec.learnerConfig(imitationWeight: 1, gripperMargin: 0.1).gripperImitationMargin == 0.1)
        #expect(Self.spec.learnerConfig(imitationWeight: 0, gripperMargin: 0.1).gripperImitationMargin == 0)
        let continuous = TrainingSpec(cameras: Self.spec.cameras, imageSize: Self.spec.imageSize, joints: Self.spec.joints)
        #expect(continuous.learnerConfig(imitationWeight: 1, gripperMargin: 0.1).gripperImitationMargin == 0)
    }
}
