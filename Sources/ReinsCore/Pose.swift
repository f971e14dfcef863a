import Foundation

/// A 3-vector of doubles: positions in metres, rotation vectors in radians.
public typealias Vector3 = SIMD3<Double>

/// The dot product.
@inlinable public func dot(_ a: Vector3, _ b: Vector3) -> Double { (a * b).sum() }

/// The cross product.
@inlinable public func cross(_ a: Vector3, _ b: Vector3) -> Vector3 {
    Vector3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

/// The Euclidean length.
@inlinable public func length(_ v: Vector3) -> Double { dot(v, v).squareRoot() }

/// A rotation as an orthonormal 3 × 3 matrix (rows), built from and reduced to rotation vectors.
///
/// Rotations compose by matrix product, never by adding angles: Euler angles do not add, and an
/// end-effector twist applied as Euler increments drifts off the commanded axis.
public struct Rotation: Sendable, Equatable {
    public var row0: Vector3
    public var row1: Vector3
    public var row2: Vector3

    public init(rows row0: Vector3, _ row1: Vector3, _ row2: Vector3) {
        self.row0 = row0
        self.row1 = row1
        self.row2 = row2
    }

    /// A row-major 3 × 3 matrix, as MuJoCo's `xmat`.
    public init(rowMajor m: UnsafePointer<Double>) {
        self.init(rows: Vector3(m[0], m[1], m[2]), Vector3(m[3], m[4], m[5]), Vector3(m[6], m[7], m[8]))
    }

    public static let identity = Rotation(rows: Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1))

    /// The rotation by |v| radians about v's direction (Rodrigues' formula, the exponential map).
    public init(rotationVector v: Vector3) {
        let angle = length(v)
        guard angle > 1e-12 else {
            // First order: I + [v]×.
            self.init(rows: Vector3(1, -v.z, v.y), Vector3(v.z, 1, -v.x), Vector3(-v.y, v.x, 1))
            return
        }
        let k = v / angle
        let c = cos(angle), s = sin(angle), t = 1 - c
        self.init(rows: Vector3(t * k.x * k.x + c, t * k.x * k.y - s * k.z, t * k.x * k.z + s * k.y),
                  Vector3(t * k.x * k.y + s * k.z, t * k.y * k.y + c, t * k.y * k.z - s * k.x),
                  Vector3(t * k.x * k.z - s * k.y, t * k.y * k.z + s * k.x, t * k.z * k.z + c))
    }

    public var columns: (Vector3, Vector3, Vector3) {
        (Vector3(row0.x, row1.x, row2.x), Vector3(row0.y, row1.y, row2.y), Vector3(row0.z, row1.z, row2.z))
    }

    public var transposed: Rotation {
        let (c0, c1, c2) = columns
        return Rotation(rows: c0, c1, c2)
    }

    public static func * (a: Rotation, b: Rotation) -> Rotation {
        let (c0, c1, c2) = b.columns
        return Rotation(rows: Vector3(dot(a.row0, c0), dot(a.row0, c1), dot(a.row0, c2)),
                        Vector3(dot(a.row1, c0), dot(a.row1, c1), dot(a.row1, c2)),
                        Vector3(dot(a.row2, c0), dot(a.row2, c1), dot(a.row2, c2)))
    }

    public static func * (r: Rotation, v: Vector3) -> Vector3 {
        Vector3(dot(r.row0, v), dot(r.row1, v), dot(r.row2, v))
    }

    public var trace: Double { row0.x + row1.y + row2.z }

    /// The rotation angle in [0, π].
    public var angle: Double { acos(min(max((trace - 1) / 2, -1), 1)) }

    /// The rotation vector (the logarithm): axis times angle, angle in [0, π].
    public var rotationVector: Vector3 {
        let skew = Vector3(row2.y - row1.z, row0.z - row2.x, row1.x - row0.y)
        let angle = self.angle
        if angle < 1e-9 { return skew / 2 }
        if angle < .pi - 1e-4 { return skew * (angle / (2 * sin(angle))) }
        // Near π the skew part vanishes: the axis comes from the symmetric part, (R + I) / 2 = k kᵀ.
        let diagonal = Vector3(row0.x, row1.y, row2.z)
        var axis: Vector3
        if diagonal.x >= diagonal.y && diagonal.x >= diagonal.z {
            let x = ((1 + diagonal.x) / 2).squareRoot()
            axis = Vector3(x, (row0.y + row1.x) / (4 * x), (row0.z + row2.x) / (4 * x))
        } else if diagonal.y >= diagonal.z {
            let y = ((1 + diagonal.y) / 2).squareRoot()
            axis = Vector3((row0.y + row1.x) / (4 * y), y, (row1.z + row2.y) / (4 * y))
        } else {
            let z = ((1 + diagonal.z) / 2).squareRoot()
            axis = Vector3((row0.z + row2.x) / (4 * z), (row1.z + row2.y) / (4 * z), z)
        }
        axis /= length(axis)
        // Pick the sign the (small) skew part agrees with.
        if dot(axis, skew) < 0 { axis = -axis }
        return axis * angle
    }

    /// The angle of the rotation that takes `self` to `other`, in radians.
    public func angle(to other: Rotation) -> Double { (transposed * other).angle }
}

/// A rigid pose: where a frame is and how it is turned, in its parent's frame.
public struct Pose: Sendable, Equatable {
    public var position: Vector3
    public var rotation: Rotation

    public init(position: Vector3, rotation: Rotation = .identity) {
        self.position = position
        self.rotation = rotation
    }

    /// The pose as 6 numbers, position (m) then rotation vector (rad), as episodes store it.
    public var vector: [Double] {
        let r = rotation.rotationVector
        return [position.x, position.y, position.z, r.x, r.y, r.z]
    }

    /// This pose moved by a twist expressed in its own frame: translation `linear` (m) along its
    /// axes and rotation `angular` (rad, a rotation vector) about them. Successive twists compose
    /// as `R · exp(ω₁) · exp(ω₂)`.
    public func moved(byLocal linear: Vector3, angular: Vector3) -> Pose {
        Pose(position: position + rotation * linear, rotation: rotation * Rotation(rotationVector: angular))
    }
}
