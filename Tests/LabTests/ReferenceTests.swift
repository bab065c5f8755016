import Foundation
import Kernels
import Testing

@testable import Lab

// VGG19, preprocessing and the Keras example's loss against PyTorch (float64, the same
// converted weights), from Tests/Reference/make_fixtures.py.

let activationTolerance = 1e-4  // relative
let lossTolerance = 1e-4  // relative, each term
let gradientTolerance = 1e-3  // max difference relative to the largest entry

@Suite("Matches the PyTorch reference", .serialized)
struct ReferenceTests {
    /// The fixture's images loaded as Keras's load_img + preprocess_input do.
    func loadInputs() throws -> (content: Tensor, style: Tensor) {
        let contentImage = try RGBImage.load(Paths.fixtures + "/content.png")
        let size = kerasTargetSize(width: contentImage.width, height: contentImage.height, rows: 48)
        #expect(size == (64, 48))
        let styleImage = try RGBImage.load(Paths.fixtures + "/style.png")
        return (
            try preprocess(contentImage.resized(width: size.width, height: size.height, filter: .nearest)),
            try preprocess(styleImage.resized(width: size.width, height: size.height, filter: .nearest))
        )
    }

    @Test func loadResizeAndPreprocessMatchKeras() throws {
        let ref = try Shared.fixture()
        let (content, style) = try loadInputs()
        let expectedContent = try ref.tensor("content_input")
        let expectedStyle = try ref.tensor("style_input")
        #expect(content.shape == [3, 48, 64])
        // Same uint8 pixels and the same float32 subtraction: exactly equal.
        #expect(
            content.data == expectedContent.data,
            "content differs at \(content.data.indices.first { content.data[$0] != expectedContent.data[$0] } ?? -1)")
        #expect(style.data == expectedStyle.data)
    }

    @Test func deprocessInvertsPreprocess() throws {
        let image = try RGBImage.load(Paths.fixtures + "/content.png")
        #expect(try deprocess(try preprocess(image)) == image)
    }

    @Test func deprocessClipsAndTruncatesLikeNumpy() throws {
        // BGR values chosen so that value + mean is: below 0, above 255, 12.999 → 12, NaN → 0.
        let x = try Tensor(shape: [3, 1, 2], data: [-200, 12.999 - 103.939, 300, .nan, 0, 0])
        let img = try deprocess(x)
        #expect(img[0, 0] == (r: 123, g: 255, b: 0))  // R = 0 + 123.68 → 123; G clipped; B clipped at 0
        #expect(img[1, 0] == (r: 123, g: 0, b: 12))
    }

    @Test(arguments: allBackends)
    func everyLayerOutputMatches(_ backend: Backend) throws {
        let ref = try Shared.fixture(), vgg = try Shared.model()
        let x = try ref.tensor("combination_input")
        let acts = try vgg.forward(x, upTo: ["block5_pool"], keepPreActivations: true, Compute(backend: backend))
        let names = (ref.metadata["layer_order"] ?? "").split(separator: ",").map(String.init)
        #expect(names.count == 37)
        for name in names {
            let out = try #require(acts[name], "no output \(name)")
            let expected = try ref.scalars("stats/\(name)")
            let got = stats(out.data)
            let scale = max(abs(expected[0]) + expected[1], abs(expected[3]))  // |mean| + std, or max
            for (i, column) in ["mean", "std", "min", "max"].enumerated() {
                #expect(
                    abs(got[i] - expected[i]) <= activationTolerance * scale,
                    "\(backend) \(name) \(column): \(got[i]) vs \(expected[i])")
            }
            // The order-sensitive checksum: a transposed or channel-swapped output fails here.
            let checksumScale = scale * Double(out.count).squareRoot()
            #expect(
                abs(got[4] - expected[4]) <= activationTolerance * checksumScale,
                "\(backend) \(name) checksum: \(got[4]) vs \(expected[4])")
            #expect(abs(got[5] - expected[5]) <= Tolerance.zeroShare, "\(backend) \(name) share of zeros")
        }
        for name in ["block1_conv1", "block3_conv1", "block5_conv2"] {
            let expected = try ref.tensor("layer/\(name)")
            let out = try #require(acts[name])
            #expect(out.shape == expected.shape)
            #expect(relativeL2(out.data, expected.data) <= activationTolerance, "\(backend) \(name) full array")
        }
    }

    @Test(arguments: allBackends)
    func styleGramsMatch(_ backend: Backend) throws {
        let ref = try Shared.fixture(), vgg = try Shared.model()
        let (content, style) = try loadInputs()
        let compute = Compute(backend: backend)
        let targets = try LossTargets(content: content, style: style, configuration: LossConfiguration(), vgg: vgg, compute)
        for layer in LossConfiguration().styleLayers.map(\.name) {
            let expected = try ref.tensor("gram/\(layer)")
            let got = try #require(targets.styleGrams[layer])
            #expect(got.shape == expected.shape)
            #expect(relativeL2(got.data, expected.data) <= activationTolerance, "\(backend) gram \(layer)")
        }
    }

    @Test(arguments: allBackends)
    func lossTermsAndGradientMatch(_ backend: Backend) throws {
        let ref = try Shared.fixture(), vgg = try Shared.model()
        let (content, style) = try loadInputs()
        let combination = try ref.tensor("combination_input")
        let compute = Compute(backend: backend)
        var config = LossConfiguration()
        let targets = try LossTargets(content: content, style: style, configuration: config, vgg: vgg, compute)
        let loss = StyleTransferLoss(vgg: vgg, configuration: config)
        let (terms, gradient) = try loss.evaluate(combination, targets: targets, compute)

        expectRelative(terms.terms(.content)[0].raw, try ref.scalars("loss/content")[0], lossTolerance, "\(backend) content loss")
        for (i, expected) in try ref.scalars("loss/style_keras").enumerated() {
            expectRelative(terms.terms(.style)[i].raw, expected, lossTolerance, "\(backend) style loss \(terms.terms(.style)[i].label)")
        }
        expectRelative(terms.raw(.totalVariation), try ref.scalars("loss/total_variation")[0], lossTolerance, "\(backend) tv")
        expectRelative(terms.total, try ref.scalars("loss/total")[0], lossTolerance, "\(backend) total")

        let expectedGradient = try ref.tensor("grad/total")
        let g = try #require(gradient)
        #expect(maxRelative(g.data, expectedGradient.data) <= gradientTolerance, "\(backend) gradient (max)")
        #expect(relativeL2(g.data, expectedGradient.data) <= gradientTolerance, "\(backend) gradient (L2)")

        config.normalization = .gatys
        let gatys = try StyleTransferLoss(vgg: vgg, configuration: config).evaluate(combination, targets: targets, gradientOf: nil, compute)
        for (i, expected) in try ref.scalars("loss/style_gatys").enumerated() {
            expectRelative(gatys.breakdown.terms(.style)[i].raw, expected, lossTolerance, "\(backend) Gatys style loss \(i)")
        }
    }

    @Test(arguments: [Backend.simd])
    func averagePoolingLossAndGradientMatch(_ backend: Backend) throws {
        let ref = try Shared.fixture(), vgg = try Shared.model()
        let (content, style) = try loadInputs()
        var config = LossConfiguration()
        config.pooling = .average
        let compute = Compute(backend: backend)
        let targets = try LossTargets(content: content, style: style, configuration: config, vgg: vgg, compute)
        let (terms, gradient) = try StyleTransferLoss(vgg: vgg, configuration: config)
            .evaluate(try ref.tensor("combination_input"), targets: targets, compute)
        expectRelative(terms.total, try ref.scalars("loss/total_avgpool")[0], lossTolerance, "avg-pool total")
        let expected = try ref.tensor("grad/total_avgpool")
        #expect(maxRelative(try #require(gradient).data, expected.data) <= gradientTolerance)
    }

    /// mean, population std, min, max, Σ x_i · sin(0.37 i), share of zeros — as the fixture script.
    func stats(_ v: [Float]) -> [Double] {
        var sum = 0.0, sq = 0.0, lo = Double.infinity, hi = -Double.infinity, ramp = 0.0, zeros = 0.0
        for (i, f) in v.enumerated() {
            let x = Double(f)
            sum += x
            sq += x * x
            lo = min(lo, x)
            hi = max(hi, x)
            ramp += x * sin(Double(i) * 0.37)
            if x == 0 { zeros += 1 }
        }
        let n = Double(v.count), mean = sum / n
        return [mean, max(0, sq / n - mean * mean).squareRoot(), lo, hi, ramp, zeros / n]
    }
}
