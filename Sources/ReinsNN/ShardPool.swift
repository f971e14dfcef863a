import Foundation

/// Work that can be split into shards (e.g. halves of a batch) run at the same time.
public protocol ShardedWork: AnyObject {
    /// Runs shard `shard` of `shards`. Called once per shard, each on its own thread.
    func run(shard: Int, of shards: Int)
}

/// Fork-join over a fixed set of threads: shard 0 runs on the caller, the others on workers that
/// live as long as the pool. Used by the learner to give each core half the batch, with OpenBLAS
/// single-threaded inside each shard. `run` allocates nothing.
public final class ShardPool: @unchecked Sendable {
    public let shards: Int
    private var work: (any ShardedWork)?
    private let starts: [DispatchSemaphore]
    private let finished = DispatchSemaphore(value: 0)
    private var stopping = false
    private var threads: [Thread] = []

    public init(shards: Int) {
        self.shards = max(shards, 1)
        starts = (1..<max(shards, 1)).map { _ in DispatchSemaphore(value: 0) }
        for shard in 1..<self.shards {
            let thread = Thread { [unowned self] in self.serve(shard: shard) }
            thread.name = "reins-shard-\(shard)"
            thread.start()
            threads.append(thread)
        }
    }

    deinit {
        stopping = true
        for start in starts { start.signal() }
        for _ in starts { finished.wait() }
    }

    /// Runs every shard of `work` and returns when all are done.
    public func run(_ work: some ShardedWork) {
        guard shards > 1 else { return work.run(shard: 0, of: 1) }
        self.work = work
        for start in starts { start.signal() }
        work.run(shard: 0, of: shards)
        for _ in starts { finished.wait() }
        self.work = nil
    }

    private func serve(shard: Int) {
        while true {
            starts[shard - 1].wait()
            if stopping { break }
            work?.run(shard: shard, of: shards)
            finished.signal()
        }
        finished.signal()
    }

    /// The part of 0..<count shard `shard` of `shards` takes: contiguous, sizes within one of each other.
    public static func range(_ shard: Int, of shards: Int, count: Int) -> Range<Int> {
        (count * shard / shards)..<(count * (shard + 1) / shards)
    }
}
