import ArgumentParser
import Foundation
import ReinsControl
import ReinsCore
import ReinsData
import ReinsLearn
import ReinsTraining

extension Sim {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Runs episodes of a task on a robot's twin with a policy and reports how it did.",
            discussion: """
            Every policy runs as `reins eval` runs one: on the twin's emulated bus through the control loop and its safety layer, in real time, acting with end-effector steps at the robot's policy rate, judged by the twin's check (reward 1 on success); an episode ends on success or after --max-steps. --policy scripted is the task's scripted expert (the one that records demonstrations and supervises training), random draws uniform actions, and anything else is a policy file `reins train` wrote (run with its mean action).

            Example:
              reins sim run --robot so101 --task reach --policy scripted --episodes 20 --seed 1
              reins sim run --task reach --policy runs/reach/policy.safetensors --episodes 20 --video reach.mp4
            """)

        @Option(help: "The robot whose twin to run.") var robot = "so101"
        @Option(help: "reach or pick.") var task: TaskKind = .reach
        @Option(help: "scripted, random, or a policy file.") var policy = "scripted"
        @Option(help: "Episodes to run.") var episodes = 10
        @Option(help: "Steps per episode before it ends as a failure.") var maxSteps = 100
        @Option(help: "Seed for cube placement, noise and sampling.") var seed: UInt64 = 0
        @Option(help: "Camera frames N×N for the video (a policy file sees the size it was trained at).") var size = 128
        @Flag(help: "Supervise the policy with the scripted operator: it takes over when the task stops getting nearer, for 10 steps on reach and to the end on pick (a grasp handed back half made comes undone).")
        var intervene = false
        @Option(help: "Write the first camera's view of every episode to this video (.mp4).") var video: String?
        @Flag(help: "Print one JSON object (progress goes to stderr).") var json = false

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
            guard maxSteps > 0 else { throw ValidationError("--max-steps must be positive") }
            guard (16...512).contains(size) else { throw ValidationError("--size must be from 16 to 512") }
        }

        func run() throws {
            let definition = try RobotCatalog.locate().robot(robot)
            let learned = try learnedPolicy(definition)
            let imageSize = learned?.spec.imageSize ?? size
            let session = try RobotAddress(robot: robot).open(cameraSize: learned != nil || video != nil ? imageSize : nil)
            let source: ActionSource
            if let learned {
                source = learned
            } else if policy == "random" {
                source = RandomPolicy(seed: seed &+ 2)
            } else {
                source = scriptedExpert(for: task, scale: ActionScale(), seed: seed &+ 1) { [scene = session.scene] in scene?.cubePosition }
            }
            let options = StationOptions(commandName: "sim run", task: task, maxSteps: maxSteps, seed: seed,
                                         operatorKind: intervene ? .scripted : .none, supervising: true)
            let twin = session.twinTask(task, seed: seed)
            let reward = try EpisodeReward(EpisodeReward.Settings(source: .task), twin: twin, cameras: [], standIn: nil)
            let station = try OperatorStation(session: session, twin: twin, reward: reward, options: options, policy: source, display: nil) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            defer { station.close() }
            let camera = learned?.spec.cameras.first ?? definition.cameras.first?.name
            let writer = try video.map { try VideoWriter(path: $0, codec: "mp4v", fps: definition.rates.policyHz, width: imageSize, height: imageSize) }
            var frames: [[UInt8]] = []
            let result = Evaluation(episodes: episodes).run(station: station, onStep: { recorded in
                guard writer != nil, let camera else { return }
                if let frame = recorded.observation.images[camera] { frames.append(frame) }
                if recorded.step.done, let frame = recorded.step.observation.images[camera] { frames.append(frame) }
            }, onEpisode: { index, outcome, _ in
                for frame in frames { try? writer?.write(frame) }
                frames.removeAll()
                let line = "episode \(index + 1)/\(episodes): \(outcome.end == .success ? "success in \(outcome.steps) steps" : "failure"), return \(outcome.end == .success ? "1.00" : "0.00")"
                if json { printError(line) } else { print(line) }
            })
            writer?.close()
            station.close()
            if let stopped = result.stoppedBy { throw CommandError("the run stopped after \(result.finished) of \(episodes) episodes: \(stopped)") }
            let rate = Double(result.successes) / Double(max(result.finished, 1))
            let output = Output(robot: robot, task: task.rawValue, policy: policy, episodes: result.finished, successes: result.successes,
                                successRate: rate, meanStepsToSuccess: result.meanStepsToSuccess, meanReturn: rate,
                                interventionRate: intervene ? result.interventionRate : nil)
            if json {
                JSONLines.print(output)
            } else {
                print("\(result.successes)/\(result.finished) successes (\(String(format: "%.0f", rate * 100)) %), "
                      + "mean steps to success \(output.meanStepsToSuccess.map { String(format: "%.1f", $0) } ?? "-")"
                      + (output.interventionRate.map { ", operator in control \(String(format: "%.0f", $0 * 100)) % of steps" } ?? ""))
                if let video { print("wrote \(video)") }
            }
        }

        /// The policy file, as the actor that runs it; nil for scripted and random. A file that is
        /// not a policy `reins train` wrote for this robot is refused, saying what it holds.
        private func learnedPolicy(_ definition: RobotDefinition) throws -> PolicyActor? {
            guard policy != "scripted", policy != "random" else { return nil }
            let learned: Policy
            do { learned = try Policy(contentsOf: policy) } catch { throw CommandError(error.description) }
            let observation = learned.config.observation, joints = definition.motors.count
            guard let spec = TrainingSpec(policy: learned.config), spec.joints == joints,
                  spec.cameras.allSatisfy({ name in definition.cameras.contains { $0.name == name } })
            else {
                throw CommandError("\(policy): the policy observes \(observation.images.map { "\($0.name) \($0.width)×\($0.height)" }) and \(observation.proprioWidth) values and acts on \(learned.config.actionWidth); on \(robot) `reins sim run` runs what `reins train` writes: square images from its cameras (\(definition.cameras.map(\.name).joined(separator: ", "))), the \(joints) joints and the tip's position, \(TrainingSpec.actionWidth) end-effector actions")
            }
            return PolicyActor(spec: spec, policy: learned, deterministic: true, seed: seed)
        }
    }
}
