import Foundation
import Testing
@testable import ReinsLearn
@testable import ReinsTraining

@Suite("Pendulum in real time with the learner on its own thread")
struct PacedPendulumTests {
    /// A learner small enough for a debug build: the test is about the ratio, not the swing-up.
    private func training(steps: Int, rate: Double, minUpdatesPerStep: Double?) -> PacedPendulumTraining {
        var training = PacedPendulumTraining(steps: steps, seed: 3, rate: rate)
        (training.config.hiddenWidths, training.config.batchSize) = ([16, 16], 16)
        training.threads = 1
        training.randomSteps = 200
        training.evaluationEpisodes = 1
        training.minUpdatesPerStep = minUpdatesPerStep
        return training
    }

    @Test("with --min-utd every episode starts only once the learner has made its updates per step")
    func holdsTheRatio() {
        let (_, result) = training(steps: 800, rate: 2_000, minUpdatesPerStep: 2).run()
        #expect(result.episodeStarts.map(\.submittedTransitions) == [0, 200, 400, 600])
        for start in result.episodeStarts {
            let required = TrainingRun.requiredUpdates(ratio: 2, onlineTransitions: start.submittedTransitions, learningStarts: 200)
            #expect(start.updates >= required, "episode after \(start.submittedTransitions) steps started at \(start.updates) of \(required) updates")
        }
        #expect(result.episodeStarts.last!.updates >= 800)
        #expect(result.updates >= result.episodeStarts.last!.updates)
        #expect(result.trainingReturns.count == 4 && result.evaluationReturns.count == 1)
    }

    @Test("without it the actor never waits, and steps no faster than its rate")
    func neverWaits() {
        let (_, result) = training(steps: 400, rate: 1_000, minUpdatesPerStep: nil).run()
        #expect(result.waitedSeconds == 0)
        #expect(result.seconds >= 0.39, "400 steps at 1 kHz took \(result.seconds) s")
        #expect(result.trainingReturns.count == 2)
    }
}
