import ArgumentParser
import Foundation
import ReinsLearn
import ReinsNN
import ReinsTraining

struct Reward: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The reward classifier: train it on labelled episodes, judge it on others.",
        discussion: """
        On a real arm nothing knows where the cube is: as in HIL-SERL, a binary classifier on the camera frames says when the task is done. `reins record` labels every frame (the console's l key, or on the twin a scripted stand-in); a few minutes of episodes, some recorded on past success (--past-success N), are enough.

        Examples:
          reins record --robot so101 --task reach --episodes 30 --out labelled --sim --operator scripted --reward keys --past-success 20 --no-console
          reins reward train --data labelled --out reward.safetensors
          reins reward eval --model reward.safetensors --data labelled-test
        """,
        subcommands: [Train.self, Eval.self])

    /// A threshold as a person can tell it from its neighbours: a confident classifier's lie
    /// within a thousandth of 1, where three decimals would print them all as 1.000.
    static func describe(threshold: Float) -> String {
        let gap = 1 - Double(threshold)
        return gap > 0 && gap < 0.001 ? String(format: "1 - %.1e", gap) : String(format: "%.3f", threshold)
    }

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a success classifier on a folder of labelled episodes.",
            discussion: """
            The policy's convolution layers per camera, an MLP and one logit, trained with binary cross-entropy on class-balanced batches of randomly shifted frames (OpenBLAS). Whole episodes are held out (--held-out, 20 %), and on them the threshold is chosen: the lowest that keeps precision at --min-precision (0.95), since a false success ends an episode with a reward it did not earn, but never so high that recall falls under --min-recall (0.5), past which the operator presses y for most successes. Precision is taken at the share of success frames a run sees (--live-success-rate), not the labelled set's: recorded past success, about half its frames show success, where about 4 % of a run's do, so each false success weighs far more live. The rate defaults to the success share of the episodes the policy acted in (as `reins train --record` writes them), else 0.05. Precision (raw and at that rate), recall, accuracy and the threshold are printed and stored in the file, with the thresholds that keep other recalls.

            The held-out figures choose the threshold, so they flatter it a little; `reins reward eval` on episodes recorded apart gives the honest ones.

            --resume goes on training a classifier from its weights, on the folders it was trained on (stored in its file) and every --data added: the frames an operator overruled during `reins train --reward classifier:FILE` (kept in RUN/reward-overrides), or episodes recorded with `reins train --record` on the states the policy visits. Its held-out episodes (stored in its file) stay held out and the episodes it trained on stay in training; only new episodes are split, so no held-out frame was ever trained on.

            Examples:
              reins reward train --data labelled --cameras front,wrist --out reward.safetensors
              reins reward train --resume reward.safetensors --data runs/pick/reward-overrides --out reward-2.safetensors
            """)

        @Option(help: "A folder of labelled episodes (`reins record --out`, `reins train --record`, a run's reward-overrides); repeat for more.") var data: [String] = []
        @Option(help: "A classifier file to go on training: its cameras, settings and weights, and the folders it was trained on, with every --data added.") var resume: String?
        @Option(help: "Cameras to classify, comma-separated (default: the episodes' first camera; with --resume, the classifier's).", transform: splitCameraNames) var cameras: [String]?
        @Option(help: "Where to write the classifier.") var out = "reward.safetensors"
        @Option(help: "Training steps (batches).") var steps = 1_500
        @Option(help: "Frames per batch, half success and half failure (default 64; with --resume, the classifier's).") var batchSize: Int?
        @Option(help: "Share of the episodes held out to choose the threshold and report on.") var heldOut = 0.2
        @Option(help: "The precision the threshold must keep on the held-out episodes, at the live success rate.") var minPrecision = 0.95
        @Option(help: "The recall the threshold keeps on the held-out episodes, before precision: past it, the operator presses y for most successes.") var minRecall = 0.5
        @Option(help: ArgumentHelp("The share of a run's frames that show success, for the precision the threshold keeps (default: the share in the episodes the policy acted in, else 0.05).", valueName: "R"))
        var liveSuccessRate: Double?
        @Option(help: "Frames either side of a change of label left out of training and the held-out figures (a key follows what a person sees 0.2–0.5 s late).") var labelMargin = 3
        @Option(help: "Seed for the networks, the split and the batches.") var seed: UInt64 = 0
        @Flag(help: "Print one JSON object (progress goes to stderr).") var json = false

        func validate() throws {
            guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
            guard !data.isEmpty || resume != nil else { throw ValidationError("give the labelled episodes with --data DIR (or a classifier to go on training with --resume FILE)") }
            if let batchSize {
                guard (2...1024).contains(batchSize), batchSize % 2 == 0 else { throw ValidationError("--batch-size must be even, from 2 to 1024") }
                guard resume == nil else { throw ValidationError("--batch-size cannot change with --resume: the classifier keeps its own") }
            }
            guard heldOut > 0, heldOut < 1 else { throw ValidationError("--held-out must be between 0 and 1") }
            guard minPrecision > 0, minPrecision <= 1 else { throw ValidationError("--min-precision must be above 0 and at most 1") }
            guard minRecall >= 0, minRecall <= 1 else { throw ValidationError("--min-recall must be from 0 to 1 (0 puts precision first at any recall)") }
            guard (0...50).contains(labelMargin) else { throw ValidationError("--label-margin must be from 0 to 50 frames") }
            if let liveSuccessRate {
                guard liveSuccessRate > 0, liveSuccessRate < 1 else { throw ValidationError("--live-success-rate must be between 0 and 1 (a share of frames, such as 0.05); it is \(liveSuccessRate)") }
            }
            if let cameras { try checkCameraNames(cameras) }
        }

        struct Output: Encodable {
            var benchmark = "reward_train"
            var data: [String]
            var model: String
            var cameras: [String]
            var frames: Int
            var positives: Int
            var threshold: Float
            var report: RewardTraining.Report
            var blasCore = BLAS.coreName
            var blasCoreChosenBy = KernelChoice.source
        }

        func run() throws {
            var names = cameras
            var folders = data
            var initial: RewardClassifier?
            var resumedSplit: RewardTraining.Split?
            if let resume {
                let loaded: (classifier: RewardClassifier, metadata: [String: String])
                do {
                    loaded = try RewardClassifier.load(from: resume)
                } catch {
                    throw CommandError("--resume \(resume): \(error)")
                }
                let own = loaded.classifier.config.cameras.map(\.name)
                if let names, names != own {
                    throw CommandError("--cameras \(names.joined(separator: ",")): \(resume) classifies \(own.joined(separator: ",")); leave --cameras out to go on with its own, or train anew without --resume")
                }
                names = own
                folders = try Self.foldersGoingOn(from: resume, trainedOn: loaded.metadata["reins.data"], adding: data)
                initial = loaded.classifier
                resumedSplit = loaded.metadata["reins.split"].flatMap { try? JSONDecoder().decode(RewardTraining.Split.self, from: Data($0.utf8)) }
                if resumedSplit == nil {
                    printError("note: \(resume) does not name its held-out episodes (written before it did): they are drawn anew, so some may have been trained on")
                }
            }
            let episodes: LabelledEpisodes
            do {
                episodes = try RewardDataset.loadEpisodes(folders: folders.map { URL(fileURLWithPath: $0) }, cameras: names)
            } catch {
                throw CommandError(error.description)
            }
            let frames = episodes.frames
            let onlineRate = episodes.onlineSuccessRate
            let liveRate = liveSuccessRate ?? onlineRate ?? 0.05
            var config = initial?.config ?? RewardClassifierConfig(cameras: frames.cameras)
            if let batchSize { config.batchSize = batchSize }
            var training = RewardTraining(config: config)
            training.steps = steps
            training.seed = seed
            training.heldOutFraction = heldOut
            training.minimumPrecision = minPrecision
            training.minimumRecall = minRecall
            training.liveSuccessRate = liveRate
            training.labelChangeMargin = labelMargin
            let report: (String) -> Void = { line in
                if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
            }
            report("\(frames.count) frames (\(frames.positives) success, \(frames.negatives) failure) of \(Set(frames.episodes).count) episodes; cameras \(RewardDataset.describe(frames.cameras))")
            let rateSource = liveSuccessRate != nil ? "as given" : onlineRate != nil
                ? "the share in the \(episodes.online.filter { $0 }.count) episodes the policy acted in" : "the default; the policy acted in none of the episodes"
            report(String(format: "the threshold keeps precision %.2f at a live success rate of %.3f (%@), with recall at least %.2f", minPrecision, liveRate, rateSource, minRecall))
            let (classifier, result): (RewardClassifier, RewardTraining.Report)
            do {
                (classifier, result) = try training.run(frames, folder: folders.joined(separator: " + "), startingFrom: initial, files: episodes.files,
                                                        resumedSplit: resumedSplit, online: episodes.online) { progress in
                    report(String(format: "step %d: loss %.4f, held-out accuracy %.3f at 0.5", progress.step, progress.loss, progress.heldOutAccuracy))
                }
            } catch {
                throw CommandError(error.description)
            }
            let metrics = result.heldOut
            if !result.missingHeldOut.isEmpty, let resume {
                printError("note: \(result.missingHeldOut.count) of the episodes \(resume) held out are not among the data (\(result.missingHeldOut.joined(separator: ", "))); going on with the \(result.keptHeldOut) that are")
            }
            let reportJSON = String(decoding: (try? JSONEncoder().encode(result)) ?? Data(), as: UTF8.self)
            var metadata = ["reins.reward_report": reportJSON, "reins.data": folders.joined(separator: ","), "reins.seed": "\(seed)",
                            "reins.label_margin": "\(labelMargin)", "reins.live_success_rate": "\(liveRate)"]
            if let split = result.split { metadata["reins.split"] = String(decoding: (try? JSONEncoder().encode(split)) ?? Data(), as: UTF8.self) }
            if let resume { metadata["reins.resumed_from"] = resume }
            do {
                try classifier.save(to: out, metadata: metadata)
            } catch {
                throw CommandError("\(out): \(error)")
            }
            if json {
                JSONLines.print(Output(data: folders, model: out, cameras: frames.cameras.map(\.name), frames: frames.count, positives: frames.positives,
                                       threshold: metrics.threshold, report: result))
                return
            }
            print(String(format: "held out %d episodes (%d frames, %d success%@): precision %.3f (%.3f at the live rate %.3f), recall %.3f, accuracy %.3f at threshold %@ (TP %d, FP %d, TN %d, FN %d)",
                         result.heldOutEpisodes.count, result.heldOutFrames, result.heldOutPositives,
                         resume != nil ? "; \(result.keptHeldOut) held out before" : "", metrics.precision, result.precisionAtLiveRate, liveRate,
                         metrics.recall, metrics.accuracy, Reward.describe(threshold: metrics.threshold), metrics.truePositives, metrics.falsePositives, metrics.trueNegatives, metrics.falseNegatives)
                  + (result.nearLabelChanges > 0 ? "; \(result.nearLabelChanges) frames within \(labelMargin) of a change of label left out" : ""))
            if let policy = result.heldOutPolicy {
                print(String(format: "of them, the %d the policy acted in (%d frames, %d success), as a run sees them: precision %.3f, recall %.3f",
                             result.heldOutPolicyEpisodes, policy.truePositives + policy.falsePositives + policy.trueNegatives + policy.falseNegatives,
                             policy.truePositives + policy.falseNegatives, policy.precision, policy.recall))
            }
            let trade = result.operatingPoints.map { point in
                String(format: "recall %.2f at %@ (precision %.3f, %.3f live)", point.recall, Reward.describe(threshold: point.threshold), point.precision,
                       point.precision(atSuccessRate: liveRate))
            }
            print("held out, the trade a threshold makes: " + trade.joined(separator: "; "))
            if !result.precisionReached {
                print(String(format: "warning: no threshold keeps precision %.2f at the live rate with recall %.2f on the held-out episodes; kept the most precise with that recall, so the operator's n takes back more false successes. Record more episodes (failures the policy makes, and more success frames with --past-success) and train again", minPrecision, minRecall))
            }
            print(String(format: "trained %d steps in %.0f s; wrote %@", steps, result.seconds, out))
        }

        /// The folders a resumed classifier trains on: those it was trained on (as its file names
        /// them), then the new ones, each once.
        static func foldersGoingOn(from model: String, trainedOn stored: String?, adding added: [String]) throws -> [String] {
            let own = stored?.split(separator: ",").map(String.init) ?? []
            for folder in own where !FileManager.default.fileExists(atPath: folder) {
                throw CommandError("\(model) was trained on \(folder), which is not here (run from where it was trained, or train anew on the folders you have without --resume)")
            }
            var folders: [String] = []
            var seen: Set<String> = []
            for folder in own + added where seen.insert(URL(fileURLWithPath: folder).standardizedFileURL.path).inserted {
                folders.append(folder)
            }
            return folders
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Judge a reward classifier on a folder of labelled episodes.",
            discussion: """
            Precision, recall, accuracy and the confusion counts at the classifier's threshold, on every frame and on the frames away from a change of label (as training judges its held-out episodes, with its label margin), and the frames it gets wrong in a PNG contact sheet (red: failure called success; blue: success missed). On a folder `reins train --record` wrote, these are the live figures: the frames of the run, labelled by the stand-in or the operator.

            Example:
              reins reward eval --model reward.safetensors --data labelled-test --errors errors.png
            """)

        @Option(help: "The classifier `reins reward train` wrote.") var model: String
        @Option(help: "A folder of labelled episodes; repeat for more.") var data: [String]
        @Option(help: "Where to write the contact sheet of wrong frames (default: next to the model, NAME-errors.png).") var errors: String?
        @Flag(help: "Print one JSON object.") var json = false

        struct Output: Encodable {
            var model: String
            var data: [String]
            var frames: Int
            var positives: Int
            var metrics: ClassifierMetrics
            var precision: Double
            var recall: Double
            var accuracy: Double
            /// On the frames more than `labelMargin` frames from a change of label.
            var labelMargin: Int
            var clearMetrics: ClassifierMetrics
            var clearPrecision: Double
            var clearRecall: Double
            var errorsSheet: String?
        }

        func run() throws {
            let classifier: RewardClassifier
            let margin: Int
            do {
                let loaded = try RewardClassifier.load(from: model)
                classifier = loaded.classifier
                margin = loaded.metadata["reins.label_margin"].flatMap { Int($0) } ?? RewardTraining(config: loaded.classifier.config).labelChangeMargin
            } catch {
                throw CommandError("\(error)")
            }
            let cameras = classifier.config.cameras
            let frames: LabelledFrames
            do {
                frames = try RewardDataset.load(folders: data.map { URL(fileURLWithPath: $0) }, cameras: cameras.map(\.name))
            } catch {
                throw CommandError("\(error.description); the classifier \(model) looks at \(RewardDataset.describe(cameras))")
            }
            guard frames.cameras == cameras else {
                throw CommandError("\(model) classifies \(RewardDataset.describe(cameras)) but \(data.joined(separator: " + ")) has \(RewardDataset.describe(frames.cameras)); record with the classifier's cameras and image size, or train one on these")
            }
            let probabilities = classifier.probabilities(frames, indices: Array(0..<frames.count))
            let metrics = ClassifierMetrics(probabilities: probabilities, labels: frames.labels, threshold: classifier.config.threshold)
            let clear = RewardDataset.clearOfLabelChanges(frames, margin: margin)
            let clearIndices = (0..<frames.count).filter { clear[$0] }
            let clearMetrics = ClassifierMetrics(probabilities: clearIndices.map { probabilities[$0] }, labels: clearIndices.map { frames.labels[$0] },
                                                 threshold: classifier.config.threshold)
            let wrong = (0..<frames.count).filter { (probabilities[$0] >= metrics.threshold) != frames.labels[$0] }
            var sheet: String?
            if let image = RewardDataset.contactSheet(frames, indices: wrong) {
                let path = errors ?? ((model as NSString).deletingPathExtension + "-errors.png")
                do {
                    try image.write(to: path)
                } catch {
                    throw CommandError("\(path): \(error)")
                }
                sheet = path
            }
            if json {
                JSONLines.print(Output(model: model, data: data, frames: frames.count, positives: frames.positives, metrics: metrics,
                                       precision: metrics.precision, recall: metrics.recall, accuracy: metrics.accuracy, labelMargin: margin,
                                       clearMetrics: clearMetrics, clearPrecision: clearMetrics.precision, clearRecall: clearMetrics.recall, errorsSheet: sheet))
                return
            }
            print(String(format: "%d frames (%d success): precision %.3f, recall %.3f, accuracy %.3f at threshold %@",
                         frames.count, frames.positives, metrics.precision, metrics.recall, metrics.accuracy, Reward.describe(threshold: metrics.threshold)))
            print("confusion: \(metrics.truePositives) true success, \(metrics.falsePositives) false success, \(metrics.trueNegatives) true failure, \(metrics.falseNegatives) missed success")
            print(String(format: "away from changes of label (%d frames either side left out, as training judges): %d frames (%d success): precision %.3f, recall %.3f",
                         margin, clearIndices.count, clearMetrics.truePositives + clearMetrics.falseNegatives, clearMetrics.precision, clearMetrics.recall))
            if let sheet { print("the \(wrong.count) wrong frame(s)\(wrong.count > 96 ? " (the first 96)" : ""): \(sheet)") }
        }
    }
}
