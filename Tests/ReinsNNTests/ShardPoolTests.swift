import Synchronization
import Testing
import ReinsNN

/// Counts the shards that ran.
final class CountingWork: ShardedWork, @unchecked Sendable {
    let ran = Atomic<Int>(0)
    func run(shard: Int, of shards: Int) { ran.add(1, ordering: .relaxed) }
}

@Suite("the shard pool")
struct ShardPoolTests {
    @Test("a pool its owner lets go of ends its workers: its threads do not keep it alive")
    func droppedPoolEndsItsThreads() {
        weak var released: ShardPool?
        let work = CountingWork()
        do {
            let pool = ShardPool(shards: 3)
            released = pool
            pool.run(work)
        }
        #expect(work.ran.load(ordering: .relaxed) == 3)
        #expect(released == nil)
    }
}
