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
        try checkOperator(`operator`, sim: connection.sim)
        try episodeOptions.checkCameraSources(connection)
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
        guard let spec = TrainingSpec(policy: config) else {
            throw CommandError("\(path) observes \(config.observation.images.map { "\($0.name) \($0.width)×\($0.height)" }) and acts on \(config.actionWidth) values; reins eval runs what reins train writes: square camera images and \(TrainingSpec.actionWidth) end-effector actions")
        }
        var options = episodeOptions
        options.imageSize = spec.imageSize
        let actor = PolicyActor(spec: spec, policy: policy, deterministic: true, seed: options.seed)
        let station = try options.openStation(connection, operatorKind: `operator`, commandName: "eval", policy: actor, supervising: true).station
        defer { station.close() }
        guard station.session.robot.definition.motors.count == spec.joints else {
            throw CommandError("\(path) was trained on a robot with \(spec.joints) joints; \(connection.robot) has \(station.session.robot.definition.motors.count)")
        }
        let result = Evaluation(episodes: episodes).run(station: station, onEpisode: { index, outcome, result in
            let line = "episode \(index): \(outcome.end.description) in \(outcome.steps) steps (\(result.successes)/\(result.finished) so far)"
            if station.display == nil && !json { print(line) } else { station.log(line) }
            fflush(nil)
        })
        station.close()
        let rate = result.successRate
        let output = Output(policy: path, episodes: result.finished, successes: result.successes, successRate: rate.rate, ci95Low: rate.lower,
                            ci95High: rate.upper, meanStepsToSuccess: result.meanStepsToSuccess, interventionRate: result.interventionRate)
        if json {
            JSONLines.print(output)
        } else {
            print(String(format: "success %d/%d = %.0f %% (95 %% Wilson interval %.0f–%.0f %%)", result.successes, result.finished, rate.rate * 100,
                         rate.lower * 100, rate.upper * 100))
            if let mean = output.meanStepsToSuccess { print(String(format: "mean steps to success %.1f", mean)) }
            if `operator` != .none { print(String(format: "intervention rate %.2f", output.interventionRate)) }
        }
        if let stopped = result.stoppedBy { throw CommandError("evaluation stopped after \(result.finished) of \(episodes) episodes: \(stopped)") }
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
