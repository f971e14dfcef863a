import ArgumentParser
import Foundation
import ReinsControl
import ReinsLearn
import ReinsNN
import ReinsTraining

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained policy: success rate with a 95 % Wilson interval, mean steps to success, intervention rate.",
        discussion: """
        The policy acts deterministically (the mean action). --checkpoint takes a policy file, a checkpoint folder or a run folder (its latest policy). With an operator, the steps they took over are counted as the intervention rate.

        Example:
          reins eval --robot so101 --task reach --checkpoint runs/reach --episodes 50 --sim --no-console
        """)

    @OptionGroup var connection: RobotConnection
    @OptionGroup var episodeOptions: EpisodeOptions
    @Option(help: "A policy file, a checkpoint folder or a run folder.") var checkpoint: String
    @Option(help: "Episodes to run.") var episodes = 50
    @Option(help: "none, keyboard or scripted (supervising, as in training).") var `operator`: OperatorKind = .none
    @Flag(help: "Print one JSON object.") var json = false

    struct Output: Encodable {
        var policy: String
        var episodes: Int
        var successes: Int
        var successRate: Double
        var ci95Low: Double
        var ci95High: Double
        var meanStepsToSuccess: Double?
        var interventionRate: Double
    }

    func validate() throws {
        guard episodes > 0 else { throw ValidationError("--episodes must be positive") }
    }

    func run() throws {
        let path = try Self.policyFile(checkpoint)
        let policy: Policy
        do {
            policy = try Policy(contentsOf: path)
        } catch {
            throw CommandError("\(path) is not a policy file: \(error)")
        }
        let config = policy.config
        guard let image = config.observation.images.first else { throw CommandError("\(path) is a state-only policy; reins eval runs camera policies") }
        let spec = TrainingSpec(camera: image.name, imageSize: image.width, joints: config.observation.proprioWidth - 3)
        var options = episodeOptions
        options.imageSize = spec.imageSize
        let actor = PolicyActor(spec: spec, policy: policy, deterministic: true, seed: options.seed)
        let station = try OperatorStation(connection: connection, options: options, operatorKind: `operator`, commandName: "eval",
                                          policy: actor, supervising: true)
        var closed = false
        defer { if !closed { station.close() } }
        guard station.session.robot.definition.motors.count == spec.joints else {
            throw CommandError("\(path) was trained on a robot with \(spec.joints) joints; \(connection.robot) has \(station.session.robot.definition.motors.count)")
        }
        var successes = 0, stepsToSuccess: [Int] = [], interventions = 0, steps = 0, finished = 0
        // A fault (a bus that stops answering, a camera gone) ends the evaluation, but the episodes
        // already finished are still reported before the error.
        var fault: (any Error)?
        for index in 0..<episodes {
            guard !station.quitRequested else { break }
            var episodeInterventions = 0
            let end: EpisodeEnd
            do {
                (_, end) = try station.runEpisode(index: index) { _, step in
                    if step.intervention { episodeInterventions += 1 }
                }
            } catch {
                fault = error
                break
            }
            if end == .quit { break }
            if case .stopped = end {
                station.waitForQuit()
                break
            }
            if end == .discarded { continue }
            finished += 1
            steps += station.runner.steps
            interventions += episodeInterventions
            if end == .success {
                successes += 1
                stepsToSuccess.append(station.runner.steps)
            }
            let line = "episode \(index): \(end.description) in \(station.runner.steps) steps (\(successes)/\(finished) so far)"
            if station.console == nil && !json { print(line) } else { station.log(line) }
            fflush(nil)
        }
        if fault == nil, let message = station.loopFault { fault = CommandError(message) }
        station.close()
        closed = true
        let rate = SuccessRate(successes: successes, trials: finished)
        let output = Output(policy: path, episodes: finished, successes: successes, successRate: rate.rate, ci95Low: rate.lower,
                            ci95High: rate.upper,
                            meanStepsToSuccess: stepsToSuccess.isEmpty ? nil : Double(stepsToSuccess.reduce(0, +)) / Double(stepsToSuccess.count),
                            interventionRate: steps > 0 ? Double(interventions) / Double(steps) : 0)
        if json {
            JSONLines.print(output)
        } else {
            print(String(format: "success %d/%d = %.0f %% (95 %% Wilson interval %.0f–%.0f %%)", successes, finished, rate.rate * 100,
                         rate.lower * 100, rate.upper * 100))
            if let mean = output.meanStepsToSuccess { print(String(format: "mean steps to success %.1f", mean)) }
            if `operator` != .none { print(String(format: "intervention rate %.2f", output.interventionRate)) }
        }
        if let fault { throw CommandError("evaluation stopped after \(finished) of \(episodes) episodes: \(fault)") }
    }

    /// The policy file a checkpoint argument names: the file itself, a folder's policy.safetensors.
    static func policyFile(_ argument: String) throws -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: argument, isDirectory: &isFolder) else {
            throw CommandError("\(argument) does not exist; give a policy file, a checkpoint folder or a run folder")
        }
        guard isFolder.boolValue else { return argument }
        let inside = URL(fileURLWithPath: argument).appendingPathComponent("policy.safetensors").path
        guard FileManager.default.fileExists(atPath: inside) else {
            throw CommandError("\(argument) has no policy.safetensors; give a checkpoint folder or a run folder `reins train` wrote")
        }
        return inside
    }
}
