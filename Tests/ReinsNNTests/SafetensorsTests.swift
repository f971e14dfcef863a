import Foundation
import ReinsCore
import ReinsNN
import Testing

@Suite("safetensors files")
struct SafetensorsTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("reins-st-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).safetensors").path

    @Test("the header is the standard one: u64 length, JSON with dtype, shape and offsets, 8-byte aligned data")
    func layout() throws {
        defer { unlink(path) }
        let weights: [Float] = [1, 2, 3, 4, 5, 6]
        let bytes: [UInt8] = [7, 8, 9]
        try weights.withUnsafeBufferPointer { w in
            try bytes.withUnsafeBufferPointer { b in
                try Safetensors.write([Safetensors.Entry(name: "layer.weight", shape: [2, 3], floats: w.baseAddress!),
                                       Safetensors.Entry(name: "flags", dtype: .u8, shape: [3], data: b.baseAddress!)],
                                      metadata: ["note": "a \"quoted\" value"], to: path)
            }
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + length) % 8 == 0)
        let header = try #require(try JSONSerialization.jsonObject(with: data[8..<(8 + length)]) as? [String: Any])
        let weight = try #require(header["layer.weight"] as? [String: Any])
        #expect(weight["dtype"] as? String == "F32" && weight["shape"] as? [Int] == [2, 3] && weight["data_offsets"] as? [Int] == [0, 24])
        #expect((header["__metadata__"] as? [String: String])?["note"] == "a \"quoted\" value")
        let payload = data[(8 + length)...]
        #expect(payload.count == 27)
        let first = payload.prefix(4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        #expect(Float(bitPattern: UInt32(littleEndian: first)) == 1)

        let file = try SafetensorsFile(path: path)
        #expect(try file.floats("layer.weight") == weights)
        #expect(file.metadata["note"] == "a \"quoted\" value")
    }

    @Test("a parameter set round-trips by name")
    func parameterSet() throws {
        defer { unlink(path) }
        let set = ParameterSet()
        let dense = Dense("policy.dense1", input: 3, output: 2, maxBatch: 1, parameters: set)
        set.allocate()
        var generator = SplitMix64(seed: 1)
        dense.initialize(using: &generator)
        try Safetensors.write(set.entries(prefix: "actor."), to: path)
        let copy = ParameterSet()
        _ = Dense("policy.dense1", input: 3, output: 2, maxBatch: 1, parameters: copy)
        copy.allocate()
        try copy.load(from: SafetensorsFile(path: path), prefix: "actor.")
        #expect((0..<set.count).allSatisfy { set.values[$0] == copy.values[$0] })
        #expect(try SafetensorsFile(path: path).tensors["actor.policy.dense1.weight"]?.shape == [3, 2])
    }

    @Test("a truncated file and a tensor of another shape are clear errors naming the file and tensor")
    func errors() throws {
        defer { unlink(path) }
        let values: [Float] = [1, 2, 3, 4]
        try values.withUnsafeBufferPointer { try Safetensors.write([.init(name: "w", shape: [4], floats: $0.baseAddress!)], to: path) }
        let file = try SafetensorsFile(path: path)
        var destination = [Float](repeating: 0, count: 2)
        do {
            try destination.withUnsafeMutableBytes { try file.read("w", dtype: .f32, shape: [2], into: $0.baseAddress!) }
            Issue.record("a shape mismatch was accepted")
        } catch {
            #expect("\(error)".contains("tensor w") && "\(error)".contains("[4]"))
        }
        truncate(path, 20)
        do {
            _ = try SafetensorsFile(path: path)
            Issue.record("a truncated file was accepted")
        } catch {
            #expect(error.description.contains(path))
        }
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: path + ".missing") }
    }

    @Test("Adam's first step moves each parameter by the learning rate against its gradient's sign")
    func adamFirstStep() {
        let set = ParameterSet()
        _ = set.add("p", shape: [10])
        set.allocate()
        for index in 0..<10 {
            set.values[index] = 1
            set.gradients[index] = Float(index - 5) * 0.1 + 0.05
        }
        let adam = Adam(set, learningRate: 0.01)
        adam.update()
        for index in 0..<10 {
            let expected: Float = 1 - 0.01 * (set.gradients[index] > 0 ? 1 : -1)
            #expect(abs(set.values[index] - expected) < 1e-5)
        }
    }
}
