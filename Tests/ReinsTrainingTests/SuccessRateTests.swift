import Testing
@testable import ReinsTraining

@Suite("success rates")
struct SuccessRateTests {
    @Test("the Wilson interval matches worked values and stays within [0, 1]")
    func wilson() {
        let half = SuccessRate(successes: 5, trials: 10)
        #expect(abs(half.lower - 0.2366) < 1e-4 && abs(half.upper - 0.7634) < 1e-4)
        let all = SuccessRate(successes: 50, trials: 50)
        #expect(all.rate == 1 && abs(all.lower - 0.9287) < 1e-4 && abs(all.upper - 1) < 1e-12)
        let none = SuccessRate(successes: 0, trials: 20)
        #expect(none.lower == 0 && abs(none.upper - 0.1611) < 1e-4)
        #expect(SuccessRate(successes: 0, trials: 0).upper == 1)
    }
}
