import Glibc

/// SIGINT and SIGTERM blocked in every thread started after it, so the command's main thread can
/// wait for one (`reins bus emulate`, `reins ethercat emulate`): made before the emulator's
/// threads, waited on once they serve.
struct StopSignalWait {
    private var signals = sigset_t()

    init() {
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Returns when SIGINT or SIGTERM arrives.
    func wait() {
        var signals = signals
        var received: Int32 = 0
        sigwait(&signals, &received)
    }
}
