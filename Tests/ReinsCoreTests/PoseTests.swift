import Foundation
import ReinsCore
import Testing

@Suite("Rotations and poses")
struct PoseTests {
    @Test("exp and log are inverses, including near π and near zero")
    func roundTrip() {
        var generator = SplitMix64(seed: 3)
        for _ in 0..<2000 {
            let axis = Vector3(generator.nextGaussian(), generator.nextGaussian(), generator.nextGaussian())
            let angle = Double.random(in: 0..<Double.pi, using: &generator)
            let v = axis / length(axis) * angle
            let back = Rotation(rotationVector: v).rotationVector
            #expect(length(back - v) < 1e-7, "\(v) came back as \(back)")
        }
        for angle in [1e-13, 1e-7, Double.pi - 1e-6, Double.pi - 1e-3] {
            let v = Vector3(0.6, -0.8, 0) * angle
            #expect(length(Rotation(rotationVector: v).rotationVector - v) < 1e-6)
        }
    }

    @Test("rotations are orthonormal and compose as matrices")
    func orthonormal() {
        let r = Rotation(rotationVector: Vector3(0.3, -1.2, 0.7))
        let product = r * r.transposed
        #expect(abs(product.trace - 3) < 1e-12)
        #expect(length(r * Vector3(1, 2, 3)) - length(Vector3(1, 2, 3)) < 1e-12)
        #expect(r.angle(to: r) < 1e-7)
    }

    @Test("two twists compose as R·exp(a)·exp(b), which adding the angles (Euler style) gets wrong")
    func twistsCompose() {
        let quarter = Double.pi / 2
        let start = Pose(position: Vector3(0.1, 0, 0.2))
        let moved = start.moved(byLocal: .zero, angular: Vector3(quarter, 0, 0)).moved(byLocal: .zero, angular: Vector3(0, quarter, 0))
        // A quarter turn about x, then about the new y: x → y, y → z, z → x.
        #expect(length(moved.rotation * Vector3(1, 0, 0) - Vector3(0, 1, 0)) < 1e-12)
        #expect(length(moved.rotation * Vector3(0, 1, 0) - Vector3(0, 0, 1)) < 1e-12)
        #expect(length(moved.rotation * Vector3(0, 0, 1) - Vector3(1, 0, 0)) < 1e-12)
        let summed = Rotation(rotationVector: Vector3(quarter, quarter, 0))
        #expect(summed.angle(to: moved.rotation) > 0.5, "adding rotation vectors is not composing rotations")
        // Translation is along the pose's own axes.
        let stepped = moved.moved(byLocal: Vector3(0, 0, 0.01), angular: .zero)
        #expect(length(stepped.position - (moved.position + moved.rotation * Vector3(0, 0, 0.01))) < 1e-15)
        #expect(abs(stepped.vector[3...].map { $0 * $0 }.reduce(0, +).squareRoot() - moved.rotation.angle) < 1e-9)
    }
}
