import CMuJoCo

/// Renders a simulation's cameras into RGB images with MuJoCo's renderer on an offscreen context.
///
/// Shadows and the skybox are off: at policy resolutions they cost more than half the frame time
/// and add nothing a policy needs. Any thread may use it, one at a time; renderers sharing a
/// context take turns.
public final class OffscreenRenderer {
    public let context: OffscreenContext
    public let width: Int
    public let height: Int
    private let model: MuJoCoModel
    private let scene = UnsafeMutablePointer<mjvScene>.allocate(capacity: 1)
    private let renderContext = UnsafeMutablePointer<mjrContext>.allocate(capacity: 1)
    private let camera = UnsafeMutablePointer<mjvCamera>.allocate(capacity: 1)
    private let options = UnsafeMutablePointer<mjvOption>.allocate(capacity: 1)
    /// MuJoCo's bottom-up rows, flipped into the caller's buffer.
    private var bottomUp: [UInt8]

    public init(model: MuJoCoModel, width: Int, height: Int, context: OffscreenContext? = nil) throws(SimError) {
        let maxSize = model.offscreenSize
        guard width <= maxSize.width, height <= maxSize.height else {
            throw .frameTooLarge(width: width, height: height, maxWidth: maxSize.width, maxHeight: maxSize.height)
        }
        if let context {
            self.context = context
        } else {
            self.context = try OffscreenContext(width: width, height: height)
        }
        self.model = model
        self.width = width
        self.height = height
        bottomUp = [UInt8](repeating: 0, count: width * height * 3)
        mjv_defaultScene(scene)
        mjv_makeScene(model.pointer, scene, 2000)
        withUnsafeMutableBytes(of: &scene.pointee.flags) { flags in
            flags[Int(mjRND_SHADOW.rawValue)] = 0
            flags[Int(mjRND_SKYBOX.rawValue)] = 0
        }
        mjv_defaultOption(options)
        mjv_defaultFreeCamera(model.pointer, camera)
        mjr_defaultContext(renderContext)
        self.context.withCurrent {
            mjr_makeContext(model.pointer, renderContext, Int32(mjFONTSCALE_100.rawValue))
            mjr_setBuffer(Int32(mjFB_OFFSCREEN.rawValue), renderContext)
        }
    }

    deinit {
        context.withCurrent { mjr_freeContext(renderContext) }
        mjv_freeScene(scene)
        scene.deallocate()
        renderContext.deallocate()
        camera.deallocate()
        options.deallocate()
    }

    /// Renders from the named model camera, or the free camera framing the whole model when nil,
    /// into `rgb` (height × width × 3 bytes, top row first).
    public func render(_ simulation: Simulation, camera name: String? = nil, into rgb: inout [UInt8]) throws(SimError) {
        if let name {
            let id = mj_name2id(model.pointer, Int32(mjOBJ_CAMERA.rawValue), name)
            guard id >= 0 else { throw .unknownCamera(name: name, available: model.cameraNames) }
            camera.pointee.type = Int32(mjCAMERA_FIXED.rawValue)
            camera.pointee.fixedcamid = id
        } else {
            mjv_defaultFreeCamera(model.pointer, camera)
        }
        if rgb.count != width * height * 3 { rgb = [UInt8](repeating: 0, count: width * height * 3) }
        let viewport = mjrRect(left: 0, bottom: 0, width: Int32(width), height: Int32(height))
        mjv_updateScene(model.pointer, simulation.data, options, nil, camera, Int32(mjCAT_ALL.rawValue), scene)
        context.withCurrent {
            // Bind this renderer's framebuffer every time: renderers sharing a GL context would otherwise
            // draw into whichever framebuffer was bound last and read back another camera's frame.
            mjr_setBuffer(Int32(mjFB_OFFSCREEN.rawValue), renderContext)
            mjr_render(viewport, scene, renderContext)
            bottomUp.withUnsafeMutableBufferPointer { mjr_readPixels($0.baseAddress, nil, viewport, renderContext) }
        }
        let rowBytes = width * 3
        rgb.withUnsafeMutableBufferPointer { out in
            bottomUp.withUnsafeBufferPointer { source in
                for row in 0..<height {
                    let from = source.baseAddress! + (height - 1 - row) * rowBytes
                    (out.baseAddress! + row * rowBytes).update(from: from, count: rowBytes)
                }
            }
        }
    }

    /// A new image from the named camera (or the free camera).
    public func render(_ simulation: Simulation, camera name: String? = nil) throws(SimError) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        try render(simulation, camera: name, into: &rgb)
        return rgb
    }
}
