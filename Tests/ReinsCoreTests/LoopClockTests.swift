import Glibc
import ReinsCore
import Testing

@Suite("loop clock")
struct LoopClockTests {
    @Test("ticks never come early: n ticks take at least n periods")
    func neverEarly() {
        var clock = LoopClock(rateHz: 500)
        #expect(clock.periodNs == 2_000_000)
        let start = LoopClock.nowNs()
        clock.start()
        for _ in 0..<20 { clock.waitForNextTick() }
        #expect(LoopClock.nowNs() - start >= 20 * clock.periodNs)
        #expect(clock.ticks == 20)
        #expect(clock.lastLatenessNs >= 0)
    }

    @Test("work longer than a period is an overrun, and the schedule restarts instead of bursting")
    func overrun() {
        var clock = LoopClock(rateHz: 1000)
        clock.start()
        usleep(20_000)  // 20 periods of work
        let overrunAt = LoopClock.nowNs()
        let onTime = clock.waitForNextTick()
        #expect(!onTime)
        #expect(clock.overruns == 1)
        // The next tick is a full period after the overrun, not an immediate catch-up of the missed ones.
        let nextOnTime = clock.waitForNextTick()
        #expect(nextOnTime)
        #expect(LoopClock.nowNs() - overrunAt >= clock.periodNs)
        #expect(clock.overruns == 1)
        #expect(clock.ticks == 2)
    }
}
