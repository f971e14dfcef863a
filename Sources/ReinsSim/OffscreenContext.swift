import CGLOffscreen
import Foundation

/// Which offscreen GL implementation renders the twin's cameras.
public enum GLBackend: String, Sendable, CaseIterable, Codable {
    /// Mesa's software renderer through OSMesa: needs nothing but libosmesa6.
    case osmesa
    /// EGL without a surface: Mesa's llvmpipe here, or a GPU driver where one is installed.
    case egl

    /// `MUJOCO_GL` as MuJoCo's own tools read it, else OSMesa.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> GLBackend {
        environment["MUJOCO_GL"].flatMap { GLBackend(rawValue: $0.lowercased()) } ?? .osmesa
    }

    /// The shared object loaded: `REINS_OSMESA_LIBRARY` / `REINS_EGL_LIBRARY` override it, e.g. for
    /// a GPU vendor's libEGL.
    public func library(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        switch self {
        case .osmesa: environment["REINS_OSMESA_LIBRARY"] ?? String(cString: reins_gl_default_library(REINS_GL_OSMESA))
        case .egl: environment["REINS_EGL_LIBRARY"] ?? String(cString: reins_gl_default_library(REINS_GL_EGL))
        }
    }

    /// The Debian packages that provide it.
    public var debianPackages: String {
        switch self {
        case .osmesa: "libosmesa6"
        case .egl: "libegl1 libegl-mesa0"
        }
    }

    var cValue: reins_gl_backend { self == .egl ? REINS_GL_EGL : REINS_GL_OSMESA }
}

/// An offscreen GL context, current on the thread that created it.
///
/// Load one backend per process: MuJoCo's GL loader picks EGL over OSMesa whenever libEGL is loaded.
public final class OffscreenContext {
    let handle: OpaquePointer
    public let backend: GLBackend

    /// `library` overrides the shared object the backend loads.
    public init(backend: GLBackend = .fromEnvironment(), library: String? = nil, width: Int = 64, height: Int = 64) throws(SimError) {
        let library = library ?? backend.library()
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = reins_gl_create(backend.cValue, library, Int32(width), Int32(height), &error, error.count) else {
            throw .glUnavailable(backend: backend.rawValue, reason: MuJoCoModel.text(error),
                                 fix: "install it with `sudo apt-get install \(backend.debianPackages)`, or try MUJOCO_GL=\(backend == .osmesa ? "egl" : "osmesa")")
        }
        self.handle = handle
        self.backend = backend
    }

    deinit {
        reins_gl_destroy(handle)
    }

    /// Makes the context current on the calling thread.
    public func makeCurrent() {
        _ = reins_gl_make_current(handle)
    }

    /// GL_RENDERER, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    public var renderer: String { String(cString: reins_gl_renderer(handle)) }
    /// GL_VERSION, e.g. "4.5 (Compatibility Profile) Mesa 22.3.6".
    public var version: String { String(cString: reins_gl_version(handle)) }
}
