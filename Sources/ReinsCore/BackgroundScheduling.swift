import Glibc

/// Puts a thread below everything the actor runs: the control loop and the bus emulator (SCHED_FIFO),
/// the camera capture, the renderer, the policy and the kernel's tty and USB workers (normal
/// scheduling). The learner runs there, so a busy learner takes only the CPU nothing else wants and
/// never delays a servo read or a frame (on two cores its threads otherwise hold the kworker that
/// carries a pty's or a USB adapter's bytes for milliseconds).
public enum BackgroundScheduling: String, Sendable, CaseIterable {
    /// SCHED_IDLE: any runnable normal thread preempts it at once. Every user may ask for it.
    case idle = "SCHED_IDLE"
    /// Nice 19, where SCHED_IDLE is refused (some container runtimes filter it).
    case nice19 = "nice 19"
    /// Left at the process's normal scheduling (for comparisons, or when both are refused).
    case normal = "normal scheduling"

    /// Linux's SCHED_IDLE (Glibc exports it only with _GNU_SOURCE).
    static let schedIdle: Int32 = 5

    /// Moves the calling thread to the lowest class it is allowed; returns what it got.
    @discardableResult
    public static func lowerCallingThread() -> BackgroundScheduling {
        var parameters = sched_param()
        parameters.sched_priority = 0
        if pthread_setschedparam(pthread_self(), schedIdle, &parameters) == 0 { return .idle }
        // On Linux, who 0 is the calling thread only: nice is kept per thread.
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19) == 0 { return .nice19 }
        return .normal
    }

    /// The calling thread's class as this type names it.
    public static func ofCallingThread() -> BackgroundScheduling {
        var policy: Int32 = 0
        var parameters = sched_param()
        guard pthread_getschedparam(pthread_self(), &policy, &parameters) == 0 else { return .normal }
        if policy == schedIdle { return .idle }
        errno = 0
        let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        return errno == 0 && nice >= 19 ? .nice19 : .normal
    }
}
