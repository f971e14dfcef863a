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
    /// What the workers share with the pool; they hold this, never the pool, so the pool's
    /// `deinit` runs when its owner lets go and ends them.
    private let crew: Crew
    private var threads: [Thread] = []

    private final class Crew: @unchecked Sendable {
        let shards: Int
        /// Written by the pool between runs, read by the workers during one (the semaphores order it).
        var work: (any ShardedWork)?
        var stopping = false
        let starts: [DispatchSemaphore]
        let finished = DispatchSemaphore(value: 0)

        init(shards: Int) {
            self.shards = shards
            starts = (1..<shards).map { _ in DispatchSemaphore(value: 0) }
        }

        func serve(shard: Int) {
            while true {
                starts[shard - 1].wait()
                if stopping { break }
                work?.run(shard: shard, of: shards)
                finished.signal()
            }
            finished.signal()
        }
    }

    /// `workerStart` runs first on each worker thread (the learner lowers their scheduling there);
    /// the pool returns once every worker has run it.
    public init(shards: Int, workerStart: @escaping @Sendable () -> Void = {}) {
        self.shards = max(shards, 1)
        let crew = Crew(shards: self.shards)
        self.crew = crew
        let ready = DispatchSemaphore(value: 0)
        for shard in 1..<self.shards {
            let thread = Thread {
                workerStart()
                ready.signal()
                crew.serve(shard: shard)
            }
            thread.name = "reins-shard-\(shard)"
            thread.start()
            threads.append(thread)
        }
        for _ in 1..<self.shards { ready.wait() }
    }

    /// Ends the workers: each finishes, signals and exits before this returns.
    deinit {
        crew.stopping = true
        for start in crew.starts { start.signal() }
        for _ in crew.starts { crew.finished.wait() }
    }

    /// Runs every shard of `work` and returns when all are done.
    public func run(_ work: some ShardedWork) {
        guard shards > 1 else { return work.run(shard: 0, of: 1) }
        crew.work = work
        for start in crew.starts { start.signal() }
        work.run(shard: 0, of: shards)
        for _ in crew.starts { crew.finished.wait() }
        crew.work = nil
    }

    /// The part of 0..<count shard `shard` of `shards` takes: contiguous, sizes within one of each other.
    public static func range(_ shard: Int, of shards: Int, count: Int) -> Range<Int> {
        (count * shard / shards)..<(count * (shard + 1) / shards)
    }
}
