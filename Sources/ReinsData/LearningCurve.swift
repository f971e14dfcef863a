import COpenCV
import Foundation

/// A line plot of rates against training steps (success and intervention rate, say), drawn with
/// OpenCV and saved as PNG: axes, a grid, tick labels, one coloured line per series and a legend.
public struct LearningCurve: Sendable {
    public struct Series: Sendable {
        public var name: String
        /// RGB.
        public var colour: (UInt8, UInt8, UInt8)
        /// (step, value) pairs, in step order.
        public var points: [(x: Double, y: Double)]

        public init(name: String, colour: (UInt8, UInt8, UInt8), points: [(x: Double, y: Double)]) {
            self.name = name
            self.colour = colour
            self.points = points
        }
    }

    public var title: String
    public var xLabel = "environment steps"
    public var yLabel = "rate"
    public var yRange = 0.0...1.0
    public var series: [Series]
    public var width = 900
    public var height = 540

    public init(title: String, series: [Series]) {
        self.title = title
        self.series = series
    }

    /// The plot as an RGB image.
    public func render() throws(DataError) -> Image {
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        // The legend has a row of its own above the plot, so it never covers a line.
        let left = 80, right = width - 30, top = 80, bottom = height - 70
        let maxX = max(series.flatMap { $0.points.map(\.x) }.max() ?? 1, 1)
        // The axis ends at the last step (a run of 10,011 steps ends at 10,011, not 12,000), with
        // at most six round ticks up to it.
        let xStep = Self.niceStep(maxX / 6)
        let xEnd = maxX
        func px(_ x: Double) -> Int { left + Int((x / xEnd) * Double(right - left)) }
        func py(_ y: Double) -> Int {
            let fraction = (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound)
            return bottom - Int(min(max(fraction, 0), 1) * Double(bottom - top))
        }
        try pixels.withUnsafeMutableBufferPointer { buffer throws(DataError) in
            let rgb = buffer.baseAddress!
            func line(_ points: [Int], _ colour: (UInt8, UInt8, UInt8), _ thickness: Int) throws(DataError) {
                let coordinates = points.map { Int32($0) }
                let status = coordinates.withUnsafeBufferPointer {
                    reins_cv_draw_polyline(rgb, Int32(width), Int32(height), $0.baseAddress, Int32(coordinates.count / 2),
                                           Int32(colour.0), Int32(colour.1), Int32(colour.2), Int32(thickness))
                }
                guard status == 0 else { throw .openCV(path: "learning curve", message: OpenCV.lastError) }
            }
            func text(_ string: String, _ x: Int, _ y: Int, scale: Double = 0.5, colour: (UInt8, UInt8, UInt8) = (40, 40, 40)) {
                _ = reins_cv_draw_text(rgb, Int32(width), Int32(height), string, Int32(x), Int32(y), scale,
                                       Int32(colour.0), Int32(colour.1), Int32(colour.2), 1)
            }
            // Grid and tick labels.
            for tick in stride(from: yRange.lowerBound, through: yRange.upperBound + 1e-9, by: (yRange.upperBound - yRange.lowerBound) / 5) {
                try line([left, py(tick), right, py(tick)], (225, 225, 225), 1)
                text(String(format: "%.1f", tick), left - 40, py(tick) + 5)
            }
            for tick in stride(from: 0.0, through: xEnd + 1e-9, by: xStep) {
                try line([px(tick), top, px(tick), bottom], (225, 225, 225), 1)
                let label = tick >= 1000 ? String(format: "%gk", tick / 1000) : String(format: "%g", tick)
                text(label, px(tick) - 10, bottom + 22)
            }
            try line([left, top, left, bottom, right, bottom], (60, 60, 60), 1)
            text(title, left, 28, scale: 0.65)
            text(xLabel, (left + right) / 2 - 60, height - 20)
            text(yLabel, 10, top - 8)
            var legendX = left
            for entry in series {
                let points = entry.points.flatMap { [px($0.x), py($0.y)] }
                if points.count >= 4 { try line(points, entry.colour, 2) }
                try line([legendX, 52, legendX + 30, 52], entry.colour, 3)
                text(entry.name, legendX + 38, 57, colour: entry.colour)
                legendX += 38 + 9 * entry.name.count + 30
            }
        }
        return Image(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// Writes the plot as a PNG (atomically: a reader never sees half a file).
    public func write(to path: String) throws(DataError) {
        let temporary = (path as NSString).deletingLastPathComponent + "/." + (path as NSString).lastPathComponent + ".tmp.png"
        try render().write(to: temporary)
        guard rename(temporary, path) == 0 else {
            throw .openCV(path: path, message: "could not move the plot into place: \(String(cString: strerror(errno)))")
        }
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        let power = pow(10, floor(log10(max(raw, 1e-9))))
        for factor in [1.0, 2, 5, 10] where factor * power >= raw { return factor * power }
        return 10 * power
    }
}
