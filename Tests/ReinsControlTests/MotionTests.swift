import ReinsControl
import Testing

@Suite("paced moves")
struct MotionTests {
    @Test("a path of many close poses is paced by its length, never faster than the step, and ends on its last pose")
    func pacedByLength() {
        // 40 poses 0.005 rad apart (an IK path home in 1 cm steps): 0.2 rad, four periods at 0.05 rad each.
        let path = (1...40).map { [Double($0) * 0.005, -Double($0) * 0.0025] }
        let targets = ControlLoop.pacedTargets(from: [0, 0], along: path, step: 0.05)
        #expect(targets.count == 4)
        #expect(targets.last == path.last)
        var previous = [0.0, 0.0]
        for target in targets {
            #expect(zip(previous, target).map { abs($0 - $1) }.max()! <= 0.05 + 1e-12)
            previous = target
        }
    }

    @Test("a long straight move is cut into equal steps; a move already there is one target")
    func longAndEmpty() {
        let targets = ControlLoop.pacedTargets(from: [0], along: [[1.0]], step: 0.3)
        #expect(targets.map { ($0[0] * 10).rounded() / 10 } == [0.3, 0.6, 0.9, 1.0])
        #expect(ControlLoop.pacedTargets(from: [0.5], along: [[0.5]], step: 0.1) == [[0.5]])
    }
}
