import Foundation
import ReinsData
import Testing

func scratchPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("reins-\(getpid())-\(name)").path
}

@Suite("HDF5")
struct HDF5Tests {
    @Test("a group with a float dataset, attributes and a chunked gzip uint8 dataset reads back")
    func roundTrip() throws {
        let path = scratchPath("episode.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let frames: [UInt8] = (0..<(5 * 64 * 64 * 3)).map { (index: Int) -> UInt8 in UInt8((index / 3 + index % 3 * 40) % 256) }
        let actions: [Float] = (0..<(5 * 6)).map { Float($0) * 0.25 - 3 }
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.createGroup("/data/demo_0")
            try file.setAttribute("success", 1, on: "/data/demo_0")
            try file.setAttribute("policy_hz", 10.0, on: "/data/demo_0")
            try file.setAttribute("robot", "so101", on: "/data/demo_0")
            try file.write(actions, shape: [5, 6], to: "/data/demo_0/actions")
            try file.write(frames, shape: [5, 64, 64, 3], chunk: [1, 64, 64, 3], gzipLevel: 4, to: "/data/demo_0/obs/front")
        }
        let file = try HDF5File(path: path, mode: .readOnly)
        #expect(file.exists("/data/demo_0/obs/front"))
        #expect(!file.exists("/data/demo_1"))
        #expect(try file.intAttribute("success", on: "/data/demo_0") == 1)
        #expect(try file.doubleAttribute("policy_hz", on: "/data/demo_0") == 10)
        #expect(try file.stringAttribute("robot", on: "/data/demo_0") == "so101")
        let readActions = try file.readFloats("/data/demo_0/actions")
        #expect(readActions.shape == [5, 6])
        #expect(readActions.values == actions)
        let readFrames = try file.readBytes("/data/demo_0/obs/front")
        #expect(readFrames.shape == [5, 64, 64, 3])
        #expect(readFrames.values == frames)
        let layout = try file.layout(of: "/data/demo_0/obs/front")
        #expect(layout.chunk == [1, 64, 64, 3])
        #expect(layout.gzip)
        #expect(try file.layout(of: "/data/demo_0/actions").chunk == nil)
        // Compressed: a smooth image takes far less than its raw 61 440 bytes.
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size < frames.count / 2)
    }

    @Test("reading a dataset as the wrong type or a missing one names it")
    func errors() throws {
        let path = scratchPath("errors.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try HDF5File(path: path, mode: .create)
        try file.write([1, 2, 3] as [Float], shape: [3], to: "/x")
        #expect(throws: DataError.typeMismatch(file: path, object: "/x", expected: "a dataset of UInt8")) {
            _ = try file.readBytes("/x")
        }
        #expect(throws: DataError.hdf5(file: path, object: "/y", operation: "finding the dataset")) {
            _ = try file.readFloats("/y")
        }
        #expect(throws: DataError.hdf5(file: "/no/such/folder/e.h5", object: "/", operation: "creating the file")) {
            _ = try HDF5File(path: "/no/such/folder/e.h5", mode: .create)
        }
    }

    @Test("this HDF5 has gzip")
    func gzip() {
        #expect(HDF5File.hasGzip)
        #expect(HDF5File.libraryVersion.hasPrefix("1."))
    }
}
