import Foundation
import Glibc
import ReinsCore
import Synchronization

/// The twin's cameras, rendered on a thread of their own at nice 10, below the physics, the
/// kernel's tty worker and the actor: each frame is drawn from the physics' latest state, a frame
/// there is no CPU for is dropped (the next one is drawn from the newer state), and neither the
/// physics nor the servos' replies ever wait for one.
final class TwinRenderer: @unchecked Sendable {
    private let model: MuJoCoModel
    private let cameras: [CameraSpec]
    private let feed: CameraFeed
    /// The physics' latest generalized positions.
    private let latest: Lock<[Double]>
    private let running = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(true)
    private let counts = Lock((rendered: 0, dropped: 0))

    /// Frames drawn and frames dropped for lack of time so far, over every camera.
    var frameCounts: (rendered: Int, dropped: Int) { counts.withLock { $0 } }

    init(model: MuJoCoModel, cameras: [CameraSpec], feed: CameraFeed, positions: [Double]) {
        self.model = model
        self.cameras = cameras
        self.feed = feed
        latest = Lock(positions)
    }

    /// From the physics thread, after each step.
    func publish(_ positions: [Double]) {
        latest.withLock { $0 = positions }
    }

    func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.store(false, ordering: .releasing)
        let thread = Thread { [self] in run() }
        thread.name = "reins twin cameras"
        thread.start()
    }

    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        while !finished.load(ordering: .acquiring) { usleep(1000) }
    }

    private func run() {
        defer { finished.store(true, ordering: .releasing) }
        // On Linux, who 0 is this thread only.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        let renderers: [OffscreenRenderer]
        do {
            let context = try OffscreenContext(backend: feed.backend, width: cameras.map(\.width).max() ?? 1,
                                               height: cameras.map(\.height).max() ?? 1)
            renderers = try cameras.map { try OffscreenRenderer(model: model, width: $0.width, height: $0.height, context: context) }
        } catch {
            FileHandle.standardError.write(Data("no camera frames from the twin: \(error)\n".utf8))
            return
        }
        let world = Simulation(model: model)
        let clock = ContinuousClock(), start = clock.now
        var due = cameras.map { _ in 0.0 }
        var frame: [UInt8] = []
        while running.load(ordering: .acquiring) {
            let now = (clock.now - start).seconds
            let ready = due.indices.filter { due[$0] <= now }
            guard !ready.isEmpty else {
                usleep(UInt32(min(5_000, max(500, ((due.min() ?? now) - now) * 1e6))))
                continue
            }
            world.pose(from: latest.withLock { $0 })
            for index in ready {
                let period = 1 / cameras[index].fps
                // Behind by more than a frame: the missed ones are dropped, not drawn late one after another.
                let missed = Int((now - due[index]) / period)
                due[index] = missed > 0 ? now + period : due[index] + period
                if (try? renderers[index].render(world, camera: cameras[index].name, into: &frame)) != nil {
                    feed.sink(cameras[index].name, cameras[index].width, cameras[index].height, frame)
                }
                counts.withLock { $0.rendered += 1; $0.dropped += missed }
            }
        }
    }
}
