import ReinsControl

extension Screen {
    /// Two pixels per cell: the upper half block in the top pixel's colour over the bottom's.
    public func drawImage(_ image: ConsoleModel.Preview, row: Int, column: Int, maxColumns: Int, maxRows: Int) {
        guard image.width > 0, image.height > 0, image.rgb.count >= image.width * image.height * 3 else { return }
        let halfBlocks = canDrawHalfBlocks
        let pixelRows = halfBlocks ? maxRows * 2 : maxRows
        // Cells are about twice as tall as wide: a half block is about square.
        let scale = min(Double(maxColumns) / Double(image.width), Double(pixelRows) / Double(image.height) * (halfBlocks ? 1 : 0.5))
        let width = max(1, Int(Double(image.width) * scale))
        let height = max(1, Int(Double(image.height) * scale * (halfBlocks ? 1 : 2)))
        func colour(_ x: Int, _ y: Int) -> Int {
            let sx = min(image.width - 1, x * image.width / width), sy = min(image.height - 1, y * image.height / height)
            let offset = (sy * image.width + sx) * 3
            return terminalColour(image.rgb[offset], image.rgb[offset + 1], image.rgb[offset + 2])
        }
        if halfBlocks {
            for cellRow in 0..<((height + 1) / 2) {
                for x in 0..<width {
                    let top = colour(x, cellRow * 2), bottom = cellRow * 2 + 1 < height ? colour(x, cellRow * 2 + 1) : -1
                    draw("▀", row: row + cellRow, column: column + x, foreground: top, background: bottom)
                }
            }
        } else {
            for y in 0..<min(height, maxRows) {
                for x in 0..<width { draw(" ", row: row + y, column: column + x, foreground: -1, background: colour(x, y * 2)) }
            }
        }
    }

    /// The nearest colour the terminal has: the 6×6×6 cube or the grey ramp of 256, else the 8 basic.
    private func terminalColour(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        guard has256Colours else {
            return (r > 127 ? 1 : 0) | (g > 127 ? 2 : 0) | (b > 127 ? 4 : 0)
        }
        let (ri, gi, bi) = (Int(r), Int(g), Int(b))
        if abs(ri - gi) < 10 && abs(gi - bi) < 10 {
            let grey = (ri + gi + bi) / 3
            if grey < 8 { return 16 }
            if grey > 238 { return 231 }
            return 232 + (grey - 8) * 24 / 231
        }
        func level(_ value: Int) -> Int { value < 48 ? 0 : value < 115 ? 1 : (value - 35) / 40 }
        return 16 + 36 * level(ri) + 6 * level(gi) + level(bi)
    }
}
