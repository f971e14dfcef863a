import ArgumentParser
import Foundation
import ReinsData

struct Dataset: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Look at recorded episodes.",
        discussion: "Example:\n  reins dataset info demos",
        subcommands: [Info.self])

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Episodes, steps, success rate, intervention fraction, frame labels, cameras, duration and size of a folder of episodes.",
            discussion: """
            A file that cannot be read is named with the reason and left out of the totals; an unfinished temporary file (from a crash) is reported too.

            Example:
              reins dataset info demos
              reins dataset info demos --json
            """)

        @Argument(help: "The folder `reins record --out` wrote.") var directory: String
        @Flag(help: "Print one JSON object.") var json = false

        struct Damaged: Encodable {
            var file: String
            var problem: String
        }

        struct Output: Encodable {
            var directory: String
            var episodes: Int
            var steps: Int
            var successes: Int
            var successRate: Double
            var interventionSteps: Int
            var interventionFraction: Double
            /// Frames labelled success and failure, over the episodes that have labels.
            var successLabels: Int
            var failureLabels: Int
            var unlabelledEpisodes: Int
            var cameras: [String]
            var robots: [String]
            var tasks: [String]
            var durationS: Double
            var sizeBytes: Int
            var damaged: [Damaged]
            var unfinished: [String]
        }

        func run() throws {
            let folder = URL(fileURLWithPath: directory)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
                throw CommandError("\(directory) is not a folder; give the folder `reins record --out` wrote")
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            var summaries: [EpisodeSummary] = [], damaged: [Damaged] = []
            var size = 0
            for name in names where name.hasSuffix(".h5") && !name.hasPrefix(".") {
                let url = folder.appendingPathComponent(name)
                size += (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
                do {
                    summaries.append(try EpisodeFile.summary(url))
                } catch {
                    damaged.append(Damaged(file: name, problem: "\(error)"))
                }
            }
            let steps = summaries.reduce(0) { $0 + $1.steps }
            let successes = summaries.filter(\.success).count
            let interventions = summaries.reduce(0) { $0 + $1.interventions }
            let output = Output(
                directory: directory, episodes: summaries.count, steps: steps, successes: successes,
                successRate: summaries.isEmpty ? 0 : Double(successes) / Double(summaries.count), interventionSteps: interventions,
                interventionFraction: steps == 0 ? 0 : Double(interventions) / Double(steps),
                successLabels: summaries.reduce(0) { $0 + ($1.labels?.success ?? 0) },
                failureLabels: summaries.reduce(0) { $0 + ($1.labels?.failure ?? 0) },
                unlabelledEpisodes: summaries.filter { $0.labels == nil }.count,
                cameras: Array(Set(summaries.flatMap(\.cameras))).sorted(), robots: Array(Set(summaries.map(\.robot))).sorted(),
                tasks: Array(Set(summaries.map(\.task))).sorted(), durationS: summaries.reduce(0) { $0 + $1.durationSeconds },
                sizeBytes: size, damaged: damaged, unfinished: names.filter { $0.hasSuffix(".h5.tmp") })
            if json {
                JSONLines.print(output)
                return
            }
            print(column("episode", 22) + column("steps", 7) + column("success", 9) + column("interv.", 9) + column("labels +/-", 12)
                  + column("seconds", 9) + "MB")
            for summary in summaries {
                print(column(summary.file, 22) + column(String(summary.steps), 7) + column(summary.success ? "yes" : "no", 9)
                      + column(String(summary.interventions), 9) + column(summary.labels.map { "\($0.success)/\($0.failure)" } ?? "none", 12)
                      + column(String(format: "%.1f", summary.durationSeconds), 9) + String(format: "%.2f", Double(summary.bytes) / 1e6))
            }
            print(String(format: "%d episodes, %d steps, success rate %.0f %% (%d), intervention fraction %.2f, %.1f s, %.1f MB",
                         output.episodes, steps, output.successRate * 100, successes, output.interventionFraction, output.durationS,
                         Double(size) / 1e6))
            print("labels: \(output.successLabels) success, \(output.failureLabels) failure frames"
                  + (output.unlabelledEpisodes > 0 ? "; \(output.unlabelledEpisodes) episode(s) recorded before labels have none" : ""))
            print("robots: \(output.robots.joined(separator: ", "))   tasks: \(output.tasks.joined(separator: ", "))   cameras: \(output.cameras.joined(separator: ", "))")
            for entry in damaged { print("damaged: \(entry.file): \(entry.problem)") }
            for name in output.unfinished { print("unfinished: \(name) (a run stopped while writing it; the next `reins record` into this folder removes it)") }
        }
    }
}
