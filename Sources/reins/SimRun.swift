import ArgumentParser
import Foundation
import ReinsControl
import ReinsCore
import ReinsData
import ReinsLearn
import ReinsSim
import ReinsTraining

extension Sim {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Runs episodes of a task on a robot's twin with a policy and reports how it did.",
            discussion: """
            --policy scripted is the inverse-kinematics expert (with action noise), random draws uniform actions, and anything else is a policy file (.safetensors). A policy `reins train` wrote (one camera, the joints and the tip's position; end-effector actions) runs as `reins eval` runs it: on the twin's emulated bus through the control loop, in real time, deterministically, judged by the twin's check. Otherwise actions move each joint's target by up to 0.1 rad per step at 10 Hz; episodes end on success or after 100 steps.

            Example:
              reins sim run --robot so101 --task reach --policy scripted --episodes 50 --seed 1
              reins sim run --task reach --policy runs/reach/policy.safetensors --episodes 20 --video reach.mp4
            """)

        @Option(help: "The robot whose twin to run.") var robot = "so101"
        @Option(help: "reach or pick.") var task: TaskKind = .reach
        @Option(help: "scripted, random, or a policy file.") var policy = "scripted"
        @Option(help: "Episodes to run.") var episodes = 10
        @Option(help: "Seed for cube placement, noise and sampling.") var seed: UInt64 = 0
        @Option(help: "Camera frames N×N (for a policy that sees, and the video).") var size = 128
        @Flag(help: "Dense reward (minus the tip-to-cube distance) instead of 1 on success.") var dense = false
        @Flag(help: "Supervise the policy with the scripted operator: it takes over when the tip moves away from the cube for 3 steps, for 10 steps.")
        var intervene = false
        @Option(help: "Write the camera's view of every episode to this video (.mp4).") var video: String?
        @Flag(help: "Print one JSON object (progress goes to stderr).") var json = false

        /// A policy `reins train` wrote, run as `reins eval` runs it: the twin's servos on a pty, the
        /// control loop, end-effector steps, the mean action, the twin's check.
        private func runOnTheBus(_ learned: Policy) throws {
            let image = learned.config.observation.images[0]
            let spec = TrainingSpec(camera: image.name, imageSize: image.width, joints: learned.config.observation.proprioWidth - 3)
            let connection = try RobotConnection.parse(["--robot", robot, "--sim"])
            let options = try EpisodeOptions.parse(["--task", task.rawValue, "--image-size", "\(spec.imageSize)", "--seed", "\(seed)", "--no-console"])
            let actor = PolicyActor(spec: spec, policy: learned, deterministic: true, seed: seed)
            let station = try OperatorStation(connection: connection, options: options, operatorKind: intervene ? .scripted : .none,
                                              commandName: "sim run", policy: actor, supervising: true, reward: .task)
            defer { station.close() }
            let writer = try video.map { try VideoWriter(path: $0, codec: "mp4v", fps: 10, width: spec.imageSize, height: spec.imageSize) }
            var successes = 0, stepsToSuccess: [Int] = [], interventions = 0, steps = 0, finished = 0
            for episode in 1...episodes {
                var frames: [[UInt8]] = []
                let (_, end) = try station.runEpisode(index: episode - 1) { observation, step in
                    if step.intervention { interventions += 1 }
                    if let frame = observation.images[spec.camera] { frames.append(frame) }
                    if let frame = step.observation.images[spec.camera], step.done { frames.append(frame) }
                }
                if end == .quit || end == .discarded { break }
                if case .stopped(let reason) = end { throw CommandError("the run stopped: \(reason)") }
                if let message = station.loopFault { throw CommandError(message) }
                for frame in frames { try writer?.write(frame) }
                finished += 1
                steps += station.runner.steps
                if end == .success {
                    successes += 1
                    stepsToSuccess.append(station.runner.steps)
                }
                let line = "episode \(episode)/\(episodes): \(end == .success ? "success in \(station.runner.steps) steps" : "failure"), return \(end == .success ? "1.00" : "0.00")"
                if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
            }
            writer?.close()
            let output = Output(
                robot: robot, task: task.rawValue, policy: policy, episodes: finished, successes: successes,
                successRate: Double(successes) / Double(max(finished, 1)),
                meanStepsToSuccess: stepsToSuccess.isEmpty ? nil : Double(stepsToSuccess.reduce(0, +)) / Double(stepsToSuccess.count),
                meanReturn: Double(successes) / Double(max(finished, 1)),
                interventionRate: intervene ? Double(interventions) / Double(max(steps, 1)) : nil)
            if json {
                JSONLines.print(output)
            } else {
                print("\(successes)/\(finished) successes (\(String(format: "%.0f", output.successRate * 100)) %), "
                      + "mean steps to success \(output.meanStepsToSuccess.map { String(format: "%.1f", $0) } ?? "-")"
                      + (output.interventionRate.map { ", operator in control \(String(format: "%.0f", $0 * 100)) % of steps" } ?? ""))
                if let video { print("wrote \(video)") }
            }
        }

        struct Output: Encodable {
            var robot: String
            var task: String
            var policy: String
            var episodes: Int
            var successes: Int
            var successRate: Double
            var meanStepsToSuccess: Double?
            var meanReturn: Double
            var interventionRate: Double?
        }

        func validate() throws {
            guard episodes > 0 else { throw ValidationError("--episodes must be positive") }
            guard size > 0 else { throw ValidationError("--size must be positive") }
        }

        func run() throws {
            let twin = try RobotTwin(robot: try RobotCatalog.locate().robot(robot))
            let learned: Policy?
            switch policy {
            case "scripted", "random": learned = nil
            default:
                do { learned = try Policy(contentsOf: policy) } catch { throw CommandError(error.description) }
            }
            if let learned, learned.config.actionWidth == TrainingSpec.actionWidth, learned.config.observation.images.count == 1,
               learned.config.observation.proprioWidth == twin.robot.motors.count + 3 {
                guard !dense else { throw CommandError("--dense is for joint-action policies; \(policy) acts with end-effector steps and is judged by the task check") }
                return try runOnTheBus(learned)
            }
            var options = TaskEnvironment.Options(task: task)
            options.dense = dense
            let seesImages = !(learned?.config.observation.images.isEmpty ?? true)
            options.imageSize = seesImages || video != nil ? size : 0
            if let learned {
                let spec = learned.config.observation
                guard spec.proprioWidth == twin.robot.motors.count, learned.config.actionWidth == twin.robot.motors.count,
                      spec.images.count <= 1, spec.images.allSatisfy({ $0.height == size && $0.width == size })
                else {
                    throw CommandError("\(policy): the policy observes \(spec.images.map { "\($0.name) \($0.width)×\($0.height)" }) and \(spec.proprioWidth) joint values and acts on \(learned.config.actionWidth); the \(robot) \(task.rawValue) task gives one camera at --size \(size) and \(twin.robot.motors.count) joints")
                }
            }
            let environment = try TaskEnvironment(twin: twin, options: options, seed: seed)
            let writer = try video.map { try VideoWriter(path: $0, codec: "mp4v", fps: options.policyHz, width: size, height: size) }
            var scripted = ScriptedOperator(seed: seed &+ 1)
            var supervisor = InterveningOperator(expert: ScriptedOperator(seed: seed &+ 3))
            var totalSteps = 0, interventions = 0
            var generator = SplitMix64(seed: seed &+ 2)
            var successes = 0, stepsToSuccess: [Int] = [], returns: [Double] = []
            for episode in 1...episodes {
                var observation = try environment.reset()
                var total = 0.0, succeeded = false
                while true {
                    try writer?.write(observation.image)
                    var action: [Double]
                    if let learned {
                        let input = Observation(images: seesImages ? [observation.image] : [], proprio: observation.jointPositions)
                        action = learned.act(input, deterministic: true, using: &generator).map(Double.init)
                    } else if policy == "scripted" {
                        action = scripted.action(for: environment)
                    } else {
                        action = twin.robot.motors.map { _ in Double.random(in: -1...1, using: &generator) }
                    }
                    if intervene {
                        let decision = supervisor.arbitrate(policyAction: action, environment: environment)
                        action = decision.action
                        if decision.intervened { interventions += 1 }
                    }
                    totalSteps += 1
                    let step = try environment.step(action)
                    total += step.reward
                    observation = step.observation
                    if step.success { succeeded = true }
                    if step.terminal || step.truncated { break }
                }
                try writer?.write(observation.image)
                returns.append(total)
                if succeeded {
                    successes += 1
                    stepsToSuccess.append(environment.steps)
                }
                let line = "episode \(episode)/\(episodes): \(succeeded ? "success in \(environment.steps) steps" : "failure"), return \(String(format: "%.2f", total))"
                if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
            }
            writer?.close()
            let output = Output(
                robot: robot, task: task.rawValue, policy: policy, episodes: episodes, successes: successes,
                successRate: Double(successes) / Double(episodes),
                meanStepsToSuccess: stepsToSuccess.isEmpty ? nil : Double(stepsToSuccess.reduce(0, +)) / Double(stepsToSuccess.count),
                meanReturn: returns.reduce(0, +) / Double(episodes),
                interventionRate: intervene ? Double(interventions) / Double(max(totalSteps, 1)) : nil)
            if json {
                JSONLines.print(output)
            } else {
                print("\(successes)/\(episodes) successes (\(String(format: "%.0f", output.successRate * 100)) %), "
                      + "mean steps to success \(output.meanStepsToSuccess.map { String(format: "%.1f", $0) } ?? "-"), "
                      + "mean return \(String(format: "%.2f", output.meanReturn))"
                      + (output.interventionRate.map { ", operator in control \(String(format: "%.0f", $0 * 100)) % of steps" } ?? ""))
                if let video { print("wrote \(video)") }
            }
        }
    }
}
