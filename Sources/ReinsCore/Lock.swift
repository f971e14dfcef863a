import Glibc

/// A value behind a POSIX mutex with priority inheritance (PTHREAD_PRIO_INHERIT): a normal
/// thread holding it while the realtime loop waits runs at the loop's priority until it lets go,
/// so the loop waits for a copy, never for whatever preempted the holder. It is also the lock
/// ThreadSanitizer sees (it intercepts pthread mutexes, not the futexes `Synchronization.Mutex`
/// uses on Linux), so the sanitizer suites check what it guards.
public final class Lock<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_setprotocol(&attributes, Int32(PTHREAD_PRIO_INHERIT))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, waiting for the lock. Allocates nothing.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }

    /// Runs `body` only if the lock is free now; nil when another thread holds it. Never waits,
    /// so the realtime loop may call it. Allocates nothing.
    public func withLockIfAvailable<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
