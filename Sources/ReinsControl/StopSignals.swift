import Dispatch
import Glibc

/// Turns SIGINT and SIGTERM into a call, so a command can stop its control loop safely (hold, then
/// torque off) instead of dying with the motors holding a stale goal.
public final class StopSignals: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []

    public init(_ handler: @escaping @Sendable (Int32) -> Void) {
        for number in [SIGINT, SIGTERM] {
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
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
