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

/// An offscreen GL context, current only inside `withCurrent` and never left current on a thread.
///
/// Swift's thread pool runs one task after another on the same threads, and the parallel test
/// runner crashed in Mesa when a context was left current on a thread: it is a dangling pointer
/// there once another thread frees it, touched on that thread's next MakeCurrent. MuJoCo's GL
/// loader (glad) also keeps process-wide state that every `mjr_makeContext` rebuilds. So GL work
/// takes turns across the whole process, binding its context for each use and releasing it after;
/// that costs no measurable frame time (`reins bench sim`).
///
/// Load one backend per process: MuJoCo's GL loader picks EGL over OSMesa whenever libEGL is loaded.
public final class OffscreenContext {
    let handle: OpaquePointer
    public let backend: GLBackend
    /// One thread at a time does GL work, whichever context it uses.
    private static let lock = NSLock()
    /// At exit the lock is taken and kept: OSMesa frees its shared state in an exit handler, and a
    /// thread still rendering then (an emulator nobody stopped) would crash the exiting process.
    /// Registered after the first GL work, so it runs before the exit handlers Mesa and LLVM
    /// registered while setting up.
    private static let lockedAtExit: Void = { atexit { OffscreenContext.lock.lock() } }()

    /// `library` overrides the shared object the backend loads.
    public init(backend: GLBackend = .fromEnvironment(), library: String? = nil, width: Int = 64, height: Int = 64) throws(SimError) {
        let library = library ?? backend.library()
        var error = [CChar](repeating: 0, count: 512)
        Self.lock.lock()
        let created = reins_gl_create(backend.cValue, library, Int32(width), Int32(height), &error, error.count)
        Self.lock.unlock()
        guard let handle = created else {
            throw .glUnavailable(backend: backend.rawValue, reason: MuJoCoModel.text(error),
                                 fix: "install it with `sudo apt-get install \(backend.debianPackages)`, or try MUJOCO_GL=\(backend == .osmesa ? "egl" : "osmesa")")
        }
        self.handle = handle
        self.backend = backend
    }

    deinit {
        Self.lock.lock()
        reins_gl_destroy(handle)
        Self.lock.unlock()
    }

    /// Runs `body` with the context current on the calling thread, then releases it. Other threads'
    /// GL work waits meanwhile; do not nest calls.
    public func withCurrent<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        Self.lock.lock()
        _ = reins_gl_make_current(handle)
        defer {
            _ = reins_gl_release(handle)
            Self.lock.unlock()
            Self.lockedAtExit
        }
        return try body()
    }

    /// GL_RENDERER, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    public var renderer: String { withCurrent { String(cString: reins_gl_renderer(handle)) } }
    /// GL_VERSION, e.g. "4.5 (Compatibility Profile) Mesa 22.3.6".
    public var version: String { withCurrent { String(cString: reins_gl_version(handle)) } }
}
