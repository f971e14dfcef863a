import Foundation
import Testing
@testable import ReinsData

@Suite("learning curve plots")
struct LearningCurveTests {
    @Test("a curve renders its series where they belong and writes a PNG that reads back")
    func render() throws {
        let success = LearningCurve.Series(name: "success rate", colour: (20, 120, 220),
                                           points: (0...10).map { (x: Double($0) * 1000, y: Double($0) / 10) })
        let interventions = LearningCurve.Series(name: "intervention rate", colour: (230, 80, 30),
                                                 points: (0...10).map { (x: Double($0) * 1000, y: 1 - Double($0) / 10) })
        let curve = LearningCurve(title: "so101 reach", series: [success, interventions])
        let image = try curve.render()
        #expect(image.width == 900 && image.height == 540)
        // The rising blue line ends near the top right, the falling orange one near the bottom right.
        func hasColour(near x: Int, _ y: Int, _ colour: (UInt8, UInt8, UInt8)) -> Bool {
            for dy in -4...4 {
                for dx in -4...4 {
                    let offset = ((y + dy) * image.width + x + dx) * 3
                    let pixel = (Int(image.pixels[offset]), Int(image.pixels[offset + 1]), Int(image.pixels[offset + 2]))
                    if abs(pixel.0 - Int(colour.0)) < 40 && abs(pixel.1 - Int(colour.1)) < 40 && abs(pixel.2 - Int(colour.2)) < 40 { return true }
                }
            }
            return false
        }
        #expect(hasColour(near: 869, 80, success.colour))
        #expect(hasColour(near: 869, 470, interventions.colour))
        #expect(!hasColour(near: 869, 470, success.colour))
        #expect(LearningCurve.niceStep(1800) == 2000 && LearningCurve.niceStep(230) == 500 && LearningCurve.niceStep(1000) == 1000)

        // A run of 10,011 steps ends its axis at its last step, and the legend (in its own row
        // above the plot) covers no part of a line along the top of the plot.
        let top = LearningCurve.Series(name: "success", colour: (20, 120, 220), points: [(x: 0, y: 1), (x: 10_011, y: 1)])
        let long = try LearningCurve(title: "t", series: [top]).render()
        func colourRow(_ y: Int) -> [Bool] {
            (80...869).map { x in
                let offset = (y * long.width + x) * 3
                return abs(Int(long.pixels[offset]) - 20) < 40 && abs(Int(long.pixels[offset + 1]) - 120) < 40 && abs(Int(long.pixels[offset + 2]) - 220) < 40
            }
        }
        #expect(colourRow(80).allSatisfy { $0 }, "the top line runs the whole axis")
        for y in 84...470 { #expect(!colourRow(y).contains(true), "series colour at row \(y), away from its line") }

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-curve-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try curve.write(to: path)
        #expect(try Image(contentsOf: path) == image)
    }
}
