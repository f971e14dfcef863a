/// What a policy observes: camera images (uint8 RGB, height × width × 3) and a proprio vector.
public struct ObservationSpec: Codable, Sendable, Equatable {
    public struct Image: Codable, Sendable, Equatable {
        public var name: String
        public var height: Int
        public var width: Int
        public var channels: Int

        public init(name: String, height: Int, width: Int, channels: Int = 3) {
            self.name = name
            self.height = height
            self.width = width
            self.channels = channels
        }

        public var byteCount: Int { height * width * channels }
    }

    public var images: [Image]
    public var proprioWidth: Int

    public init(images: [Image], proprioWidth: Int) {
        self.images = images
        self.proprioWidth = proprioWidth
    }
}

/// One observation as the environment or robot hands it over: one uint8 frame per camera of the
/// spec (row-major H × W × C, RGB) and the proprio vector.
public struct Observation: Sendable, Equatable {
    public var images: [[UInt8]]
    public var proprio: [Float]

    public init(images: [[UInt8]] = [], proprio: [Float]) {
        self.images = images
        self.proprio = proprio
    }

    /// A clear message when the observation does not match the spec, or nil.
    public func mismatch(with spec: ObservationSpec) -> String? {
        if images.count != spec.images.count { return "observation has \(images.count) images, the spec \(spec.images.count)" }
        for (image, shape) in zip(images, spec.images) where image.count != shape.byteCount {
            return "image \(shape.name) has \(image.count) bytes, expected \(shape.height)×\(shape.width)×\(shape.channels)"
        }
        if proprio.count != spec.proprioWidth { return "proprio has \(proprio.count) values, expected \(spec.proprioWidth)" }
        return nil
    }
}
