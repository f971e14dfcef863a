import ReinsNN

/// A training batch in the layout the networks read: images as Float in [0, 1], NHWC, one block
/// per camera for the observations and one for the next observations, and the rest as rows.
/// Preallocated for `capacity` rows and refilled in place by every sample.
public final class TransitionBatch: @unchecked Sendable {
    public let spec: ObservationSpec
    public let actionWidth: Int
    public let capacity: Int
    /// Rows filled by the last sample.
    public internal(set) var count = 0
    public let images: [FloatBuffer]  // per camera (B, H, W, C)
    public let nextImages: [FloatBuffer]  // per camera (B, H, W, C)
    public let proprio: FloatBuffer  // (B, P)
    public let nextProprio: FloatBuffer  // (B, P)
    public let actions: FloatBuffer  // (B, A)
    public let rewards: FloatBuffer  // (B)
    /// 1 − terminal: 0 where the episode truly ended (success or failure), so nothing is bootstrapped.
    public let masks: FloatBuffer  // (B)
    public let interventions: FloatBuffer  // (B)
    /// 1 where the gripper was open before the step, 0 where closed: what a discrete gripper's classes are relative to.
    public let gripperOpen: FloatBuffer  // (B)

    public init(spec: ObservationSpec, actionWidth: Int, capacity: Int) {
        self.spec = spec
        self.actionWidth = actionWidth
        self.capacity = capacity
        images = spec.images.map { FloatBuffer(count: capacity * $0.byteCount) }
        nextImages = spec.images.map { FloatBuffer(count: capacity * $0.byteCount) }
        proprio = FloatBuffer(count: capacity * spec.proprioWidth)
        nextProprio = FloatBuffer(count: capacity * spec.proprioWidth)
        actions = FloatBuffer(count: capacity * actionWidth)
        rewards = FloatBuffer(count: capacity)
        masks = FloatBuffer(count: capacity)
        interventions = FloatBuffer(count: capacity)
        gripperOpen = FloatBuffer(count: capacity)
        observation = ObservationBatch(images: images.map { UnsafePointer($0.pointer) }, proprio: proprio.pointer)
        nextObservation = ObservationBatch(images: nextImages.map { UnsafePointer($0.pointer) }, proprio: nextProprio.pointer)
    }

    /// The observations and next observations as network inputs (made once: reading them allocates nothing).
    public let observation: ObservationBatch
    public let nextObservation: ObservationBatch
}

/// Pointers to a batch of observations as the networks read them.
public struct ObservationBatch {
    public var images: [UnsafePointer<Float>]  // per camera (B, H, W, C)
    public var proprio: UnsafePointer<Float>  // (B, P)

    public init(images: [UnsafePointer<Float>], proprio: UnsafePointer<Float>) {
        self.images = images
        self.proprio = proprio
    }
}
