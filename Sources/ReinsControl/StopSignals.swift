import Dispatch
import Glibc

/// Turns SIGINT, SIGTERM and SIGHUP into a call, so a command can stop its control loop safely
/// (hold, then torque off) and save what it has instead of dying with the motors holding a stale
/// goal. SIGHUP is the terminal closing under a run.
public final class StopSignals: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private static let handled = [SIGINT, SIGTERM, SIGHUP]

    public init(_ handler: @escaping @Sendable (Int32) -> Void) {
        for number in Self.handled {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            sources.append(source)
        }
    }

    /// Restores the default handling.
    public func cancel() {
        for source in sources { source.cancel() }
        sources.removeAll()
        for number in Self.handled { signal(number, SIG_DFL) }
    }
}
