import Foundation
import ReinsCore
import Testing

@Suite("editing a robot file in place")
struct RobotFileEditorTests {
    /// An editor on a copy of so101's robot file.
    func copy(_ name: String) throws -> RobotFileEditor {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reins-editor-\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("robot.yaml")
        try shippedText("so101").write(to: file, atomically: true, encoding: .utf8)
        return try RobotFileEditor(file: file, displayName: "robot.yaml")
    }

    @Test("a crop is added, changed and removed on the camera's own line; nothing else moves")
    func crop() throws {
        var editor = try copy("crop")
        defer { try? FileManager.default.removeItem(at: editor.file.deletingLastPathComponent()) }
        let original = editor.text
        try editor.setCrop(PixelRect(x: 0, y: 40, width: 640, height: 400), camera: "front")
        try editor.setCrop(nil, camera: "wrist")
        let changed = zip(original.components(separatedBy: "\n"), editor.text.components(separatedBy: "\n")).filter { $0 != $1 }
        #expect(changed.count == 2)
        try editor.save()
        let robot = try RobotDefinition(contentsOf: editor.file)
        #expect(robot.cameras.map(\.crop) == [PixelRect(x: 0, y: 40, width: 640, height: 400), nil])
    }

    @Test("a crop outside the frame is refused by the robot file's own check, and the text is unchanged")
    func cropOutside() throws {
        var editor = try copy("outside")
        defer { try? FileManager.default.removeItem(at: editor.file.deletingLastPathComponent()) }
        let original = editor.text
        #expect(throws: ConfigError.self) { try editor.setCrop(PixelRect(x: 600, y: 0, width: 100, height: 100), camera: "front") }
        #expect(editor.text == original)
    }

    @Test("a camera written as a block mapping is not guessed at: the error says to set it by hand")
    func blockCamera() throws {
        var editor = try copy("block")
        defer { try? FileManager.default.removeItem(at: editor.file.deletingLastPathComponent()) }
        let block = editor.text.replacingOccurrences(of: "  - {name: front, source: /dev/video0, width: 640, height: 480, fps: 30}",
                                                     with: "  - name: front\n    source: /dev/video0\n    width: 640\n    height: 480\n    fps: 30")
        try block.write(to: editor.file, atomically: true, encoding: .utf8)
        editor = try RobotFileEditor(file: editor.file, displayName: "robot.yaml")
        do {
            try editor.setCrop(PixelRect(x: 0, y: 0, width: 320, height: 240), camera: "front")
            Issue.record("a block-mapping camera was edited")
        } catch {
            #expect(error.description.contains("by hand"))
        }
    }

    @Test("the workspace box's min and max lines are replaced, rounded to the millimetre")
    func workspace() throws {
        var editor = try copy("box")
        defer { try? FileManager.default.removeItem(at: editor.file.deletingLastPathComponent()) }
        try editor.setWorkspace(WorkspaceBox(minM: [0.1, -0.2512, 0.0], maxM: [0.4, 0.25, 0.3004]))
        #expect(editor.text.contains("  min: [0.100, -0.251, 0.000]\n  max: [0.400, 0.250, 0.300]"))
        try editor.save()
        #expect(try RobotDefinition(contentsOf: editor.file).workspace == WorkspaceBox(minM: [0.1, -0.251, 0], maxM: [0.4, 0.25, 0.3]))
    }
}
