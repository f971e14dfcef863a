import Foundation
import ReinsCore
import ReinsNN
import Testing
@testable import ReinsLearn

@Suite("Replay buffers")
struct ReplayBufferTests {
    static let spec = ObservationSpec(images: [.init(name: "front", height: 4, width: 5)], proprioWidth: 2)

    /// An observation whose every byte and value encodes `step`, so a sample says where it came from.
    static func observation(_ step: Int) -> Observation {
        Observation(images: [[UInt8](repeating: UInt8(step % 256), count: 60)], proprio: [Float(step), -Float(step)])
    }

    /// Adds episodes of `length` steps; the transition at step t has action [t] and reward t.
    static func fill(_ buffer: ReplayBuffer, episodes: Int, length: Int, start: Int = 0, intervention: Bool = false) {
        var step = start
        for _ in 0..<episodes {
            for t in 0..<length {
                let last = t == length - 1
                buffer.add(observation: observation(step), action: [Float(step), 0], reward: Float(step), nextObservation: observation(step + 1),
                           terminal: last, episodeEnded: last, intervention: intervention, gripperOpen: step % 3 != 0)
                step += 1
            }
            step += 1000  // a new episode starts from an unrelated observation
        }
    }

    @Test("a 64×64×3 camera with proprio and action costs at most 13 KB per transition")
    func memoryPerTransition() {
        let buffer = ReplayBuffer(spec: SACConfig.standardImage.observation, actionWidth: 6, capacity: 101)
        #expect(buffer.bytesPerSlot == 64 * 64 * 3 + 4 * (6 + 6 + 1) + 4)
        // 100-step episodes take 101 slots: one extra frame for the last next-observation.
        #expect(Double(buffer.bytesPerSlot) * 101 / 100 <= 13_000)
    }

    @Test("every sampled transition pairs an observation with its own next observation, across episodes and ring wrap")
    func nextObservationsMatch() {
        let buffer = ReplayBuffer(spec: Self.spec, actionWidth: 2, capacity: 23)
        Self.fill(buffer, episodes: 7, length: 5)  // 42 slots through a ring of 23
        #expect(buffer.count > 0 && buffer.count < 23)
        let batch = TransitionBatch(spec: Self.spec, actionWidth: 2, capacity: 64)
        var generator = SplitMix64(seed: 1)
        buffer.sample(into: batch, rows: 0..<64, shift: 0, using: &generator)
        var seen = Set<Int>()
        for row in 0..<64 {
            let step = Int(batch.actions[row * 2])
            seen.insert(step)
            #expect(batch.proprio[row * 2] == Float(step))
            #expect(batch.nextProprio[row * 2] == Float(step + 1))
            #expect(batch.rewards[row] == Float(step))
            #expect(batch.images[0][row * 60 + 7] == Float(step % 256) / 255)
            #expect(batch.nextImages[0][row * 60 + 7] == Float((step + 1) % 256) / 255)
        }
        // 7 episodes of 5 steps take 42 slots; the newest 23 keep episode 3 (from step 3015) onwards,
        // less episode 3's first observation, which the ring overwrote.
        #expect(seen.min()! >= 3016)
        #expect(seen.count > 10)
    }

    @Test("terminal transitions get mask 0, others 1")
    func masks() {
        let buffer = ReplayBuffer(spec: Self.spec, actionWidth: 2, capacity: 50)
        Self.fill(buffer, episodes: 2, length: 4)
        let batch = TransitionBatch(spec: Self.spec, actionWidth: 2, capacity: 200)
        var generator = SplitMix64(seed: 2)
        buffer.sample(into: batch, rows: 0..<200, shift: 0, using: &generator)
        for row in 0..<200 {
            let step = Int(batch.actions[row * 2]) % 1004
            #expect(batch.masks[row] == (step == 3 ? 0 : 1))
        }
    }

    @Test("random shift moves the whole image by at most the pad, repeating edges")
    func randomShift() {
        let spec = ObservationSpec(images: [.init(name: "c", height: 12, width: 10, channels: 1)], proprioWidth: 1)
        let buffer = ReplayBuffer(spec: spec, actionWidth: 1, capacity: 4)
        let image = (0..<120).map { UInt8($0) }
        buffer.add(observation: Observation(images: [image], proprio: [0]), action: [0], reward: 0,
                   nextObservation: Observation(images: [image], proprio: [1]), terminal: true, episodeEnded: true, intervention: false)
        let batch = TransitionBatch(spec: spec, actionWidth: 1, capacity: 200)
        var generator = SplitMix64(seed: 3)
        buffer.sample(into: batch, rows: 0..<200, shift: 4, using: &generator)
        var shifts = Set<[Int]>()
        for row in 0..<200 {
            let pixels = (0..<120).map { Int((batch.images[0][row * 120 + $0] * 255).rounded()) }
            func shifted(_ dy: Int, _ dx: Int) -> Bool {
                for y in 0..<12 {
                    for x in 0..<10 {
                        let sourceY = min(max(y + dy, 0), 11), sourceX = min(max(x + dx, 0), 9)
                        if pixels[y * 10 + x] != sourceY * 10 + sourceX { return false }
                    }
                }
                return true
            }
            let candidates: [[Int]] = (-4...4).flatMap { dy in (-4...4).map { dx in [dy, dx] } }
            let match = candidates.first { shifted($0[0], $0[1]) }
            #expect(match != nil, "row \(row) is not a shifted copy")
            if let match { shifts.insert(match) }
        }
        #expect(shifts.count > 40, "shifts should vary per sample")
    }

    @Test("mixed batches take half from the demos, all from online while the demo buffer is empty")
    func mixing() {
        let demos = ReplayBuffer(spec: Self.spec, actionWidth: 2, capacity: 40)
        let online = ReplayBuffer(spec: Self.spec, actionWidth: 2, capacity: 40)
        Self.fill(online, episodes: 3, length: 5)
        let batch = TransitionBatch(spec: Self.spec, actionWidth: 2, capacity: 16)
        var generator = SplitMix64(seed: 4)
        sampleMixed(demos: demos, online: online, demoFraction: 0.5, into: batch, shift: 0, using: &generator)
        #expect((0..<16).allSatisfy { batch.interventions[$0] == 0 })
        Self.fill(demos, episodes: 2, length: 5, intervention: true)
        sampleMixed(demos: demos, online: online, demoFraction: 0.5, into: batch, shift: 0, using: &generator)
        #expect((0..<16).filter { batch.interventions[$0] == 1 }.count == 8)
        sampleMixed(demos: demos, online: online, demoFraction: 0.25, into: batch, shift: 0, using: &generator)
        #expect((0..<16).filter { batch.interventions[$0] == 1 }.count == 4)
    }

    @Test("save and load restore contents and indices: the same seed then samples the same batch")
    func saveAndLoad() throws {
        let buffer = ReplayBuffer(spec: Self.spec, actionWidth: 2, capacity: 30)
        Self.fill(buffer, episodes: 5, length: 7)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-buffer-\(getpid()).safetensors").path
        defer { unlink(path) }
        try buffer.save(to: path)
        let restored = ReplayBuffer(spec: Self.spec, actionWidth: 2, capacity: 30)
        try restored.load(from: path)
        #expect(restored.count == buffer.count && restored.insertIndex == buffer.insertIndex && restored.added == buffer.added)
        let a = TransitionBatch(spec: Self.spec, actionWidth: 2, capacity: 32), b = TransitionBatch(spec: Self.spec, actionWidth: 2, capacity: 32)
        var g1 = SplitMix64(seed: 5), g2 = SplitMix64(seed: 5)
        buffer.sample(into: a, rows: 0..<32, shift: 2, using: &g1)
        restored.sample(into: b, rows: 0..<32, shift: 2, using: &g2)
        #expect(a.images[0].array == b.images[0].array && a.actions.array == b.actions.array && a.nextProprio.array == b.nextProprio.array)
        #expect(a.gripperOpen.array == b.gripperOpen.array)
        // Each row's gripper state is its own transition's (fill makes it open unless the step is a multiple of 3).
        #expect((0..<32).allSatisfy { a.gripperOpen[$0] == (Int(a.actions[$0 * 2]) % 3 != 0 ? 1 : 0) })
        #expect(Set(a.gripperOpen.array) == [0, 1])
        // The episode in progress continues after the load as it would have before.
        Self.fill(restored, episodes: 1, length: 3, start: 90_000)
        #expect(restored.count > 0)

        let other = ReplayBuffer(spec: Self.spec, actionWidth: 2, capacity: 31)
        #expect(throws: SafetensorsError.self) { try other.load(from: path) }
        do { try other.load(from: path) } catch { #expect(error.description.contains("capacity 30")) }
    }
}
