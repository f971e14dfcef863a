import ArgumentParser
import CNcurses
import Foundation
import ReinsConsole
import ReinsControl
import ReinsCore
import ReinsData
import ReinsHardware

extension Cameras {
    struct Crop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Choose a camera's crop: see the frame with the crop and a grid, set it, and write it into the robot file.",
            discussion: """
            Grabs a frame from the camera (the robot file's source, or --camera NAME=SOURCE) at the size the robot file gives it and writes PICTURES/NAME-crop.png, the whole frame with a grid line every 40 pixels and the crop in green, and PICTURES/NAME-policy.png, what a policy sees: the crop resized to --image-size. With --set x,y,width,height the crop is checked against the frame and written into the robot file (and the pictures show it). In a terminal without --set, the frame and the policy's view show in the console: arrows move the crop, + and - grow and shrink it, w/W and h/H change only its width or height (Shift moves 32 pixels instead of 8), Enter writes it into the robot file and q leaves without writing.

            Example:
              reins cameras crop --robot so101 --camera wrist
              reins cameras crop --robot so101 --camera wrist=/dev/video4 --set 80,0,480,480
            """)

        @Option(help: "The robot: a name from `reins robots` or a robot.yaml path.") var robot = "so101"
        @Option(name: .customLong("camera"), help: ArgumentHelp("The camera to crop, by name, or NAME=SOURCE to read it from another source (as on teleop, record, train and eval).", valueName: "NAME[=SOURCE]"))
        var cameras: [String] = []
        @Option(help: "Set the crop to x,y,width,height (pixels of the robot file's frame) and write it into the robot file.", transform: parseCrop)
        var set: PixelRect?
        @Flag(help: "Remove the crop (the policy sees the whole frame) and write that into the robot file.") var clear = false
        @Option(help: "The folder for the two pictures.") var pictures = "."
        @Option(help: "The policy's image size (as train's --image-size).") var imageSize = 64
        @Option(help: "Seconds to wait for the first frame.") var wait = 10.0

        func validate() throws {
            guard set == nil || !clear else { throw ValidationError("--set and --clear ask for two different crops; give one") }
            guard (16...512).contains(imageSize) else { throw ValidationError("--image-size must be from 16 to 512") }
            let named = Set(cameras.map { String($0.split(separator: "=", maxSplits: 1)[0]) })
            guard named.count == 1 else {
                throw ValidationError(cameras.isEmpty ? "name the camera to crop: --camera NAME (or NAME=SOURCE)"
                                                      : "crop one camera at a time; --camera names \(named.sorted().joined(separator: ", "))")
            }
        }

        func run() throws {
            let catalog = try RobotCatalog.locate()
            var definition = try catalog.robot(robot)
            let robotFile = catalog.displayPath(definition.file)
            let name = String(cameras[0].split(separator: "=", maxSplits: 1)[0])
            let overrides = cameras.filter { $0.contains("=") }.compactMap { CameraOverride(argument: $0) }
            try CameraOverride.apply(overrides, to: &definition, robotFile: robotFile)
            guard let spec = definition.cameras.first(where: { $0.name == name }) else {
                throw CommandError("\(robotFile) has no camera \"\(name)\"; its cameras are \(definition.cameras.map(\.name).joined(separator: ", "))")
            }
            var editor = try RobotFileEditor(file: definition.file, displayName: robotFile)
            // Checked against the robot file (the frame's size) before any camera opens.
            if let set {
                do {
                    try editor.setCrop(set, camera: name)
                } catch {
                    throw CommandError("\(error); \(robotFile) is unchanged: give a crop inside the frame, x + width ≤ \(spec.width) and y + height ≤ \(spec.height)")
                }
            }
            let frame = try grab(spec)
            let pictures = CropPictures(folder: URL(fileURLWithPath: pictures), camera: spec, imageSize: imageSize)
            if set != nil || clear {
                let crop = clear ? nil : set
                if clear { try editor.setCrop(nil, camera: name) }
                try pictures.write(frame, crop: crop)
                try editor.save()
                print("\(name): crop \(crop.map(describe) ?? "none (the whole frame)") written into \(robotFile)")
                print("wrote \(pictures.framePath) and \(pictures.policyPath)")
                return
            }
            try pictures.write(frame, crop: spec.crop)
            print("\(name): \(spec.width)x\(spec.height) from \(spec.source), crop \(spec.crop.map(describe) ?? "none")")
            print("wrote \(pictures.framePath) (the frame, a grid line every 40 px, the crop in green) and \(pictures.policyPath) (what the policy sees)")
            guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
                print("set it with --set x,y,width,height, or run this in a terminal to move it with the keys")
                return
            }
            if let chosen = try CropKeys(spec: spec, frame: frame, imageSize: imageSize).run() {
                try editor.setCrop(chosen, camera: name)
                try pictures.write(frame, crop: chosen)
                try editor.save()
                print("\(name): crop \(describe(chosen)) written into \(robotFile); wrote \(pictures.framePath) and \(pictures.policyPath)")
            } else {
                print("left without writing; \(robotFile) keeps \(spec.crop.map(describe) ?? "no crop")")
            }
        }

        /// One frame at the robot file's size, uncropped.
        private func grab(_ spec: CameraSpec) throws -> [UInt8] {
            var whole = spec
            whole.crop = nil
            let camera = try OpenCVCamera(spec: whole, width: spec.width, height: spec.height)
            try camera.start()
            defer { camera.stop() }
            var rgb: [UInt8] = []
            let started = FrameStamp.now()
            while true {
                do {
                    _ = try camera.read(into: &rgb, maxAge: .seconds(3600))
                    return rgb
                } catch {
                    guard case .noFrame = error else { throw error }
                    guard Double(FrameStamp.now() - started) / 1e9 < wait else {
                        throw CommandError("\(spec.name) (\(spec.source)): no frame within \(String(format: "%g", wait)) s; `reins cameras --probe \(spec.source)` says more")
                    }
                    usleep(5000)
                }
            }
        }
    }
}

private func describe(_ crop: PixelRect) -> String { "\(crop.x),\(crop.y),\(crop.width),\(crop.height)" }

/// The two pictures `cameras crop` writes for a camera.
struct CropPictures {
    let folder: URL
    let camera: CameraSpec
    let imageSize: Int

    var framePath: String { folder.appendingPathComponent("\(camera.name)-crop.png").path }
    var policyPath: String { folder.appendingPathComponent("\(camera.name)-policy.png").path }

    func write(_ frame: [UInt8], crop: PixelRect?) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let annotated = CropPicture.annotate(frame, width: camera.width, height: camera.height, crop: crop)
        try Image(width: camera.width, height: camera.height, channels: 3, pixels: annotated).write(to: framePath)
        var view = camera
        view.crop = crop
        var policy: [UInt8] = []
        try view.cropResize(frame, width: camera.width, height: camera.height, into: &policy, outWidth: imageSize, outHeight: imageSize)
        try Image(width: imageSize, height: imageSize, channels: 3, pixels: policy).write(to: policyPath)
    }
}

/// Moving and sizing a crop with the keys over the console's preview of the frame; the crop chosen
/// with Enter, or nil after q.
struct CropKeys {
    let spec: CameraSpec
    let frame: [UInt8]
    let imageSize: Int

    func run() throws -> PixelRect? {
        let screen = try Screen()
        defer { screen.close() }
        var crop = spec.crop ?? PixelRect(x: 0, y: 0, width: spec.width, height: spec.height)
        while true {
            draw(crop, on: screen)
            guard let key = screen.readKey(timeoutMs: 1000) else { continue }
            switch key.code {
            case 10, 13, reins_key_enter(): return crop
            case Int32(UInt8(ascii: "q")), 27: return nil
            default: crop = CropKeys.apply(key.code, to: crop, frameWidth: spec.width, frameHeight: spec.height)
            }
        }
    }

    /// The crop after one key, kept inside the frame and at least 16 pixels on a side.
    static func apply(_ code: Int32, to crop: PixelRect, frameWidth: Int, frameHeight: Int) -> PixelRect {
        var rect = crop
        func ascii(_ character: Character) -> Int32 { Int32(character.asciiValue ?? 0) }
        switch code {
        case reins_key_left(): rect.x -= 8
        case reins_key_right(): rect.x += 8
        case reins_key_up(): rect.y -= 8
        case reins_key_down(): rect.y += 8
        case reins_key_shift_left(): rect.x -= 32
        case reins_key_shift_right(): rect.x += 32
        case reins_key_shift_up(): rect.y -= 32
        case reins_key_shift_down(): rect.y += 32
        case ascii("+"), ascii("="): (rect.x, rect.y, rect.width, rect.height) = (rect.x - 4, rect.y - 4, rect.width + 8, rect.height + 8)
        case ascii("-"): (rect.x, rect.y, rect.width, rect.height) = (rect.x + 4, rect.y + 4, rect.width - 8, rect.height - 8)
        case ascii("w"): rect.width -= 8
        case ascii("W"): rect.width += 8
        case ascii("h"): rect.height -= 8
        case ascii("H"): rect.height += 8
        default: break
        }
        rect.width = max(16, min(frameWidth, rect.width))
        rect.height = max(16, min(frameHeight, rect.height))
        rect.x = max(0, min(frameWidth - rect.width, rect.x))
        rect.y = max(0, min(frameHeight - rect.height, rect.y))
        return rect
    }

    private func draw(_ crop: PixelRect, on screen: Screen) {
        screen.clear()
        let annotated = CropPicture.annotate(frame, width: spec.width, height: spec.height, crop: crop, grid: 80, thickness: max(3, spec.width / 80))
        var view = spec
        view.crop = crop
        var policy: [UInt8] = []
        try? view.cropResize(frame, width: spec.width, height: spec.height, into: &policy, outWidth: imageSize, outHeight: imageSize)
        screen.draw("\(spec.name): crop \(describe(crop)) of \(spec.width)x\(spec.height)   arrows move (Shift: 32 px), +/- size, w/W h/H width/height, Enter writes, q leaves",
                    row: 0, column: 0, style: .bold)
        let half = max(8, screen.columns * 2 / 3)
        screen.drawImage(ConsoleModel.Preview(name: spec.name, width: spec.width, height: spec.height, rgb: annotated),
                         row: 2, column: 0, maxColumns: half - 2, maxRows: screen.rows - 3)
        screen.draw("the policy sees (\(imageSize)x\(imageSize))", row: 1, column: half, style: .bold)
        screen.drawImage(ConsoleModel.Preview(name: "policy", width: imageSize, height: imageSize, rgb: policy),
                         row: 2, column: half, maxColumns: screen.columns - half - 1, maxRows: screen.rows - 3)
        screen.refresh()
    }
}
