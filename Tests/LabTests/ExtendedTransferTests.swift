import Foundation
import Kernels
import Testing

@testable import Lab

// Beyond the example: the mean–std and Wasserstein-2 style losses against a float64
// NumPy/SciPy/PyTorch computation (Tests/Reference/make_style_statistics_fixtures.py) and
// against finite differences; coarse to fine; image averaging; colour matching; masks.

struct StatisticsCase: Decodable {
    var name: String, C: Int, M: Int, Mt: Int
    var F: [Double], T: [Double], weights: [Double]?
    var ms_loss: Double, w2_loss: Double, ms_grad: [Double], w2_grad: [Double]
    var mean: [Double], cov: [Double], target_cov: [Double]

    static let all: [StatisticsCase] = {
        struct File: Decodable { var cases: [StatisticsCase] }
        let data = FileManager.default.contents(atPath: Paths.fixtures + "/style_statistics.json")!
        return try! JSONDecoder().decode(File.self, from: data).cases
    }()

    var target: GaussianStatistics { gaussianStatisticsReference(T, c: C, m: Mt) }
}

@Suite("Style statistics losses")
struct StyleStatisticsTests {
    @Test(arguments: StatisticsCase.all.map(\.name))
    func doubleReferenceMatchesNumPy(_ name: String) {
        let k = StatisticsCase.all.first { $0.name == name }!
        let stats = gaussianStatisticsReference(k.F, c: k.C, m: k.M, weights: k.weights)
        #expect(maxAbsDifference(stats.mean, k.mean) < Tolerance.statisticsFloat64)
        #expect(maxAbsDifference(stats.covariance, k.cov) < Tolerance.statisticsFloat64)
        let ms = meanStdLossReference(k.F, c: k.C, m: k.M, weights: k.weights, target: k.target, wantGradient: true)
        let w2 = wassersteinLossReference(k.F, c: k.C, m: k.M, weights: k.weights, target: k.target, wantGradient: true)
        if k.name == "identical" {
            #expect(abs(ms.loss) < Tolerance.meanStdLossFloat64 && abs(w2.loss) < Tolerance.wassersteinLossFloat64, "\(ms.loss) \(w2.loss)")
        } else {
            expectRelative(ms.loss, k.ms_loss, Tolerance.meanStdLossFloat64, "\(name) mean-std loss")
            expectRelative(w2.loss, k.w2_loss, Tolerance.wassersteinLossFloat64, "\(name) W2 loss")
        }
        let scale = max(1e-3, k.w2_grad.map(abs).max()!)
        #expect(
            maxAbsDifference(ms.gradient!, k.ms_grad) < Tolerance.meanStdGradientFloat64 * max(1, k.ms_grad.map(abs).max()!),
            "\(name) mean-std gradient")
        #expect(
            maxAbsDifference(w2.gradient!, k.w2_grad) < Tolerance.wassersteinGradientFloat64 * scale,
            "\(name) W2 gradient: \(maxAbsDifference(w2.gradient!, k.w2_grad))")
    }

    /// The float32 fast path (covariance and gradient through the Gram kernels, Newton–Schulz by GEMM).
    @Test(arguments: StatisticsCase.all.map(\.name))
    func fastPathMatchesNumPy(_ name: String) throws {
        let k = StatisticsCase.all.first { $0.name == name }!
        let compute = Compute(backend: .simd)
        let x = try Tensor(shape: [k.C, 1, k.M], data: k.F.map(Float.init))
        let target = WassersteinTarget(k.target, compute)
        let (loss, g, _) = try wassersteinStyleLoss(x, weights: k.weights?.map(Float.init), target: target, wantGradient: true, compute)
        let scale = k.w2_grad.map(abs).max()!
        if k.name == "identical" {
            #expect(abs(loss) < Tolerance.wassersteinLossFloat32 * k.T.map { $0 * $0 }.reduce(0, +) / Double(k.Mt), "\(loss)")
        } else {
            // float32 Newton–Schulz stops at ‖I − ZY‖_F < 3e-3, and the loss is a difference of traces:
            // measured 1e-4 … 4.5e-4 here.
            expectRelative(loss, k.w2_loss, Tolerance.wassersteinLossFloat32, "\(name) W2 loss (float32)")
            #expect(
                maxAbsDifference(g!.data.map(Double.init), k.w2_grad) < Tolerance.wassersteinGradientFloat32 * scale, "\(name) W2 gradient (float32)")
        }
        let (ms, msg) = try meanStdStyleLoss(x, weights: k.weights?.map(Float.init), target: k.target, wantGradient: true)
        #expect(abs(ms - k.ms_loss) <= Tolerance.meanStdFloat32 * max(1, k.ms_loss))
        #expect(maxAbsDifference(msg!.data.map(Double.init), k.ms_grad) < Tolerance.meanStdFloat32 * max(1, k.ms_grad.map(abs).max()!))
    }

    /// Each loss's gradient against central differences of itself, in Double.
    @Test func gradientsMatchFiniteDifferences() {
        var rng = SplitMix64(seed: 7)
        let c = 6, m = 30, mt = 25
        let f = (0..<(c * m)).map { _ in max(0, rng.nextUnit() * 4 - 1) + 0.1 * rng.nextUnit() }
        let t = (0..<(c * mt)).map { _ in max(0, rng.nextUnit() * 5 - 1.5) + 0.1 * rng.nextUnit() }
        let w = (0..<m).map { _ in 0.2 + rng.nextUnit() }
        let target = gaussianStatisticsReference(t, c: c, m: mt)
        for weights in [nil, w] {
            let losses: [(String, ([Double]) -> (Double, [Double]?))] = [
                ("mean-std", { meanStdLossReference($0, c: c, m: m, weights: weights, target: target, wantGradient: true) }),
                ("wasserstein", { wassersteinLossReference($0, c: c, m: m, weights: weights, target: target, wantGradient: true) }),
            ]
            for (name, loss) in losses {
                let g = loss(f).1!
                let h = 1e-6
                for i in stride(from: 0, to: c * m, by: 7) {
                    var up = f, down = f
                    up[i] += h
                    down[i] -= h
                    let numeric = (loss(up).0 - loss(down).0) / (2 * h)
                    #expect(
                        abs(numeric - g[i]) <= Tolerance.finiteDifferencesFloat64 * max(1, abs(numeric)),
                        "\(name) weights \(weights != nil) [\(i)]: \(g[i]) vs \(numeric)")
                }
            }
        }
    }

    @Test func newtonSchulzGivesRootAndInverseRoot() {
        let a: [Double] = [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2]
        let r = newtonSchulzSquareRoot(a, n: 3, tolerance: 1e-14, maxIterations: 100) { matrixProductReference($0, $1, n: 3) }
        let squared = matrixProductReference(r.root, r.root, n: 3)
        let identity = matrixProductReference(r.root, r.inverseRoot, n: 3)
        #expect(maxAbsDifference(squared, a) < Tolerance.newtonSchulzFloat64)
        #expect(maxAbsDifference(identity, [1, 0, 0, 0, 1, 0, 0, 0, 1]) < Tolerance.newtonSchulzFloat64)
    }
}

@Suite("Beyond the example", .serialized)
struct ExtendedTransferTests {
    /// The style term is zero when the image is the style image, for every style loss (relative
    /// to its value at the content image).
    @Test(arguments: [StyleLossKind.meanStd, .wasserstein, .gram])
    func styleLossIsZeroAtTheStyleImage(_ kind: StyleLossKind) throws {
        let s = try fixtureSession(rows: 32)
        try s.configure {
            $0.loss.styleLoss = kind
            $0.initialImage = .content
        }
        let atContent = try s.evaluate(gradientOf: nil).breakdown.raw(.style)
        try s.configure { $0.initialImage = .style }
        let atStyle = try s.evaluate(gradientOf: nil).breakdown
        #expect(atContent > 0)
        for term in atStyle.terms(.style) {
            #expect(term.raw <= Tolerance.styleLossAtStyleImage * atContent, "\(kind) \(term.label): \(term.raw) vs \(atContent) at the content")
        }
    }

    /// The session's float32 gradient of each new loss (with a mask) against float64 finite differences.
    @Test(arguments: [StyleLossKind.meanStd, .wasserstein])
    func sessionGradientMatchesFiniteDifferences(_ kind: StyleLossKind) throws {
        let s = try fixtureSession(rows: 32)
        let folder = Paths.temporaryDirectory()
        let size = s.workingSize!
        // A mask: white on the left half, grey on the right.
        let mask = RGBImage(
            width: size.width, height: size.height,
            pixels: (0..<(size.width * size.height)).flatMap { i -> [UInt8] in
                let v: UInt8 = i % size.width < size.width / 2 ? 255 : 100
                return [v, v, v]
            })
        try mask.savePNG(folder + "/mask.png")
        try s.configure {
            $0.loss.styleLoss = kind
            $0.loss.styleLayers = [StyleLayer("block1_conv1", weight: 0.5), StyleLayer("block2_conv1", weight: 0.5)]
            $0.loss.contentLayers = ["block2_conv2"]
            $0.loss.styleWeight = kind == .wasserstein ? 1e-2 : 1e-2
            $0.loss.contentWeight = 1e-6
            $0.initialImage = .noise(seed: 3)
        }
        try s.setContentMask(folder + "/mask.png")
        let results = try s.gradientCheck(pixels: [(0, 10, 5), (1, 20, 30), (2, 5, 40)], step: 1e-2)
        for r in results {
            #expect(r.relativeError < Tolerance.sessionGradientCheck, "\(kind) pixel (\(r.channel), \(r.y), \(r.x)): \(r.analytic) vs \(r.numeric)")
        }
    }

    @Test func aMaskOfAllOnesIsNoMask() throws {
        for kind in StyleLossKind.allCases {
            let s = try fixtureSession(rows: 32)
            try s.configure { $0.loss.styleLoss = kind }
            let (plain, g0) = try s.evaluate()
            let folder = Paths.temporaryDirectory()
            try RGBImage(width: 7, height: 5, pixels: [UInt8](repeating: 255, count: 105)).savePNG(folder + "/white.png")
            try s.setContentMask(folder + "/white.png")
            let (masked, g1) = try s.evaluate()
            #expect(abs(masked.total - plain.total) <= Tolerance.allOnesMaskLoss * plain.total, "\(kind)")
            #expect(relativeL2(g1!.data, g0!.data) < Tolerance.allOnesMaskGradient, "\(kind)")
        }
    }

    @Test func aMaskRestrictsTheStyleToItsRegion() throws {
        let s = try fixtureSession(rows: 32)
        let size = s.workingSize!
        let folder = Paths.temporaryDirectory()
        // Style only on the top half: the style gradient on the bottom rows comes only through
        // receptive fields that reach up, so it is far smaller than on the top.
        try RGBImage(
            width: size.width, height: size.height,
            pixels: (0..<(size.width * size.height)).flatMap { i -> [UInt8] in
                i / size.width < size.height / 2 ? [255, 255, 255] : [0, 0, 0]
            }
        ).savePNG(folder + "/top.png")
        try s.configure { $0.loss.styleLayers = [StyleLayer("block1_conv1", weight: 1)] }
        try s.setContentMask(folder + "/top.png")
        let g = try s.evaluate(gradientOf: .style(nil)).gradient!
        let (_, h, w) = g.chw
        func energy(_ rows: Range<Int>) -> Double {
            var e = 0.0
            for c in 0..<3 { for y in rows { for x in 0..<w { e += Double(g.data[(c * h + y) * w + x] * g.data[(c * h + y) * w + x]) } } }
            return e
        }
        #expect(energy((h / 2 + 2)..<h) < Tolerance.styleEnergyOutsideTheMask * energy(0..<(h / 2 - 2)))
    }

    /// A second style image with its own mask: each style term is the sum over the two regions.
    @Test func twoStylesWithMasksAreTwoGroups() throws {
        let s = try fixtureSession(rows: 32)
        let folder = Paths.temporaryDirectory()
        let size = s.workingSize!
        let left = RGBImage(
            width: size.width, height: size.height,
            pixels: (0..<(size.width * size.height)).flatMap { i -> [UInt8] in
                i % size.width < size.width / 2 ? [255, 255, 255] : [0, 0, 0]
            })
        try left.savePNG(folder + "/left.png")
        try s.setStyleMask(folder + "/left.png", index: 0)
        try s.addStyle(Paths.fixtures + "/content.png", weight: 1)
        let targets = try s.targets()
        #expect(targets.styleGroups.count == 2)
        #expect(targets.styleGroups.map(\.weight) == [0.5, 0.5])
        #expect(targets.styleGroups[1].mask == nil)
        #expect(try s.evaluate().breakdown.isFinite)
    }

    @Test func histogramMatchingReproducesTheContentStatistics() throws {
        let content = try RGBImage.load(Paths.fixtures + "/content.png")
        let style = try RGBImage.load(Paths.fixtures + "/style.png")
        let target = colorStatistics(content.pixels.map(Double.init))
        for method in [ColorMatching.cholesky, .pca, .symmetric] {
            let out = matchColorStatistics(style.pixels.map(Double.init), to: content.pixels.map(Double.init), method)
            let got = colorStatistics(out)
            #expect(maxAbsDifference(got.mean, target.mean) < Tolerance.colorMatching * target.mean.map(abs).max()!, "\(method) mean")
            #expect(
                maxAbsDifference(got.covariance, target.covariance) < Tolerance.colorMatching * target.covariance.map(abs).max()!,
                "\(method) covariance")
        }
        // PCA pairs the axes in order of variance and keeps their direction: a pixel brighter than
        // the style's mean stays brighter than the content's (a random pairing turned it to a hue).
        let sc: [Double] = [3000, 2500, 2000, 2500, 2800, 2200, 2000, 2200, 2600], ss: [Double] = [900, 300, 100, 300, 1000, 400, 100, 400, 3500]
        let a3 = colorTransform(style: ss, content: sc, .pca)
        let brighter = (0..<3).map { i in (0..<3).reduce(0.0) { $0 + a3[i * 3 + $1] * 50 } }
        #expect(brighter.allSatisfy { $0 > 0 }, "\(brighter)")
        let e = symmetricEigen3(sc)
        #expect(e.values[0] >= e.values[1] && e.values[1] >= e.values[2])
        // The methods differ (they are different square roots of the same covariance).
        let a = matchColors(style, to: content, .cholesky), b = matchColors(style, to: content, .pca)
        #expect(a.pixels != b.pixels)
    }

    @Test func emaIsTheBiasCorrectedAverageOfTheIterates() throws {
        let s = try fixtureSession(rows: 32)
        s.setOptimizer(Adam(learningRate: 2))
        try s.configure { $0.ema = 0.9 }
        var iterates: [[Float]] = []
        for _ in 0..<3 {
            try s.step()
            iterates.append(s.combination!.data)
        }
        // Σ β^(t−k)(1 − β) x_k / (1 − β^t)
        let beta = 0.9
        let expected = (0..<iterates[0].count).map { i -> Double in
            var a = 0.0
            for x in iterates { a = beta * a + (1 - beta) * Double(x[i]) }
            return a / (1 - Foundation.pow(beta, 3))
        }
        let shown = s.displayedImage!.data
        #expect(maxAbsDifference(shown.map(Double.init), expected) < Tolerance.imageAverage)
        #expect(shown != s.combination!.data)
        // Rewinding restores the average too.
        try s.rewind(to: 1)
        #expect(maxAbsDifference(s.displayedImage!.data.map(Double.init), iterates[0].map(Double.init)) < Tolerance.imageAverage)
    }

    /// A rewind across a change of the loss or of the average's decay does not bring back state
    /// that belongs to the old one.
    @Test func rewindAcrossAChangeDropsStaleState() throws {
        let s = try fixtureSession(rows: 24)
        try s.configure { $0.ema = 0.9 }
        s.setOptimizer(LBFGS())
        for _ in 0..<3 { try s.step() }
        try s.configure {
            $0.ema = 0.5
            $0.loss.styleWeight *= 3
        }
        try s.rewind(to: 2)
        #expect(s.averageSteps == 0 && s.average == nil, "an average of another decay restarts")
        #expect(OptimizerState.capture(s.optimizer).vectorLists["s"]?.isEmpty ?? true, "L-BFGS's pairs of the old loss are dropped")
        #expect(OptimizerState.capture(s.optimizer).scalars["current_loss"] == nil)
        let r = try s.step()
        let fresh = try s.evaluate(gradientOf: nil)  // the new loss, for comparison below
        #expect(r.breakdown.total > 0 && fresh.breakdown.isFinite)
    }

    /// A region that is empty at a layer adds nothing, whatever the style loss.
    @Test func anEmptyRegionAddsNothing() throws {
        let folder = Paths.temporaryDirectory()
        for kind in StyleLossKind.allCases {
            let s = try fixtureSession(rows: 32)
            try s.configure { $0.loss.styleLoss = kind }
            let size = s.workingSize!
            try RGBImage(width: size.width, height: size.height, pixels: [UInt8](repeating: 0, count: 3 * size.width * size.height)).savePNG(
                folder + "/black.png")
            try s.setContentMask(folder + "/black.png")
            #expect(try s.evaluate(gradientOf: nil).breakdown.raw(.style) == 0, "\(kind)")
        }
    }

    /// Coarse to fine keeps the run resumable: save after a change of scale, reopen, and the next
    /// steps are bit for bit those of the session that went on.
    @Test func sessionContinuesBitForBitAcrossAScaleChange() throws {
        let s = try fixtureSession(rows: 24)
        s.setOptimizer(Adam(learningRate: 3))
        try s.configure { $0.ema = 0.5 }
        try s.step()
        try s.step()
        try s.upscale(to: 40)
        #expect(s.workingSize!.height == 40 && s.combination!.shape == [3, 40, s.workingSize!.width])
        #expect(s.iteration == 2)
        try s.step()
        let folder = Paths.temporaryDirectory() + "/session"
        try s.save(to: folder)
        try s.step()
        try s.step()
        let reopened = TransferSession(vgg: try Shared.model())
        try reopened.open(folder)
        try reopened.step()
        try reopened.step()
        #expect(reopened.combination!.data == s.combination!.data)
        #expect(reopened.displayedImage!.data == s.displayedImage!.data)
        #expect(reopened.history.map(\.total) == s.history.map(\.total))
        // A saved average that is missing or of the wrong size: the open is refused, nothing changes.
        let damaged = Paths.temporaryDirectory() + "/damaged"
        try s.save(to: damaged)
        try Data([0, 0, 0, 0]).write(to: URL(fileURLWithPath: damaged + "/average.f32"))
        let before = reopened.state
        #expect(throws: SessionError.self) { try reopened.open(damaged) }
        #expect(reopened.state == before)
        try FileManager.default.removeItem(atPath: damaged + "/average.f32")
        #expect(throws: SessionError.self) { try reopened.open(damaged) }
        // Rewinding past the enlargement is refused with the reason.
        #expect(throws: SessionError.self) { try s.rewind(to: 1) }
    }

    @Test func upscaleResizesAdamsMomentsAndKeepsTheSecondNonNegative() throws {
        let s = try fixtureSession(rows: 24)
        s.setOptimizer(Adam(learningRate: 3))
        try s.step()
        try s.step()
        try s.upscale(to: 48)
        let state = OptimizerState.capture(s.optimizer)
        let m = OptimizerState.unpack(state.vectors["m"]!), v = OptimizerState.unpack(state.vectors["v"]!)
        #expect(state.kind == "adam" && m.count == s.combination!.count && v.count == s.combination!.count)
        #expect(v.allSatisfy { $0 >= 0 })
        #expect(state.iteration == 2)
        try s.step()  // goes on at the new size
        #expect(s.iteration == 3)
    }

    @Test func resizePlanesKeepsConstantsAndInterpolates() {
        let flat = [Float](repeating: 3, count: 2 * 5 * 4)
        for filter in [PlaneFilter.bilinear, .bicubic] {
            let up = resizePlanes(flat, channels: 2, height: 5, width: 4, toHeight: 9, toWidth: 7, filter: filter)
            #expect(up.count == 2 * 9 * 7 && up.allSatisfy { abs($0 - 3) < Tolerance.resizeConstant })
        }
        // A ramp stays a ramp in the interior under bilinear enlargement by 2.
        let ramp = (0..<8).map { Float($0) }
        let twice = resizePlanes(ramp, channels: 1, height: 1, width: 8, toHeight: 1, toWidth: 16, filter: .bilinear)
        #expect(abs(twice[5] - twice[4] - 0.5) < Tolerance.resizeRampStep)
    }

    @Test func scalesParseAndRefuseBadValues() throws {
        #expect(try TransferRun.parseScales("128,256,512") == [128, 256, 512])
        #expect(try TransferRun.parseScales("128..512") == [128, 181, 256, 362, 512])
        #expect(try TransferRun.parseIterations("200,100,50", scales: 3) == [200, 100, 50])
        #expect(try TransferRun.parseIterations("30", scales: 3) == [30, 30, 30])
        for bad in ["256,128", "128,128", "512..128", "a,b", "8,16", ""] {
            #expect(throws: UsageError.self, "\(bad)") { try TransferRun.parseScales(bad) }
        }
        #expect(throws: UsageError.self) { try TransferRun.parseIterations("1,2", scales: 3) }
    }

    @Test func coarseToFineRunGoesThroughEveryScale() throws {
        let s = try fixtureSession(rows: 48)
        s.setOptimizer(Adam(learningRate: 3))
        var run = TransferRun()
        run.scales = [(24, 2), (32, 2), (48, 1)]
        run.every = 100
        var lines: [String] = []
        let outcome = run.run(s, interruption: Interruption(catchingSIGINT: false), report: { lines.append($0) })
        #expect(outcome.error == nil && outcome.completed == 5)
        #expect(s.configuration.rows == 48 && s.iteration == 5)
        #expect(lines.filter { $0.hasPrefix("scale ") }.count == 2, "\(lines)")
        #expect(s.events.map(\.label).joined(separator: " ").contains("32 rows"))
    }

    @Test func badValuesGetOneLineErrors() throws {
        let h = ShellHarness().loaded()
        for line in [
            "set --ema 1", "set --ema -0.5", "set --ema 1.5", "set --style-loss gauss", "set --style-colors sepia",
            "set --content-mask \(Paths.fixtures)/missing.png", "set --content-mask \(Paths.fixtures)/../ExtendedTransferTests.swift",
            "style \(Paths.fixtures)/style.png --mask \(Paths.repo)/Package.swift", "upscale 20", "upscale x", "set --continue",
        ] {
            expectRefused(h, line)
        }
        // A mask of another size than the image is fine: it is resized.
        let folder = Paths.temporaryDirectory()
        try RGBImage(width: 3, height: 9, pixels: [UInt8](repeating: 200, count: 81)).savePNG(folder + "/odd.png")
        #expect(h.run("set --content-mask \(folder)/odd.png").0 == .ok)
        #expect(h.run("set --style-loss wasserstein --ema 0.9 --style-colors pca").0 == .ok)
        #expect(h.run("step").0 == .ok)
        #expect(h.run("upscale 64").0 == .ok)
        #expect(h.run("set --size 80 --continue").0 == .ok)
        #expect(h.run("step").0 == .ok)
        #expect(try h.shell.session().workingSize!.height == 80 && h.shell.session().iteration == 2)
    }
}

/// The Wasserstein-2 value `loss` prints: exact in float64 (no shift), against SciPy's square roots
/// (Tests/Reference/make_w2_exact_fixtures.py), on covariances as ill-conditioned as a deep layer's.
@Suite("W2, exact") struct ExactWassersteinTests {
    struct Case: Decodable {
        var name: String
        var C: Int, M: Int, Mt: Int
        var F: [Double], T: [Double]
        var w2: Double, w2_self: Double
    }
    static let cases: [Case] = {
        struct File: Decodable { var cases: [Case] }
        let data = FileManager.default.contents(atPath: Paths.fixtures + "/w2_exact.json")!
        return try! JSONDecoder().decode(File.self, from: data).cases
    }()

    /// Q diag(λ) Qᵀ with Q a Householder reflection: its eigenvalues are λ, whatever Q mixes.
    @Test func eigenvaluesOfAKnownSpectrum() {
        var rng = SplitMix64(seed: 5)
        for n in [2, 3, 17, 64] {
            let lambda = (0..<n).map { i in pow(10, Double(i % 7) - 2) * (1 + rng.nextUnit()) }
            var v = (0..<n).map { _ in 2 * rng.nextUnit() - 1 }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            v = v.map { $0 / norm }
            var a = [Double](repeating: 0, count: n * n)
            for i in 0..<n {
                for j in 0..<n {
                    // (I − 2vvᵀ) diag(λ) (I − 2vvᵀ)
                    var s = 0.0
                    for k in 0..<n {
                        let qik = (i == k ? 1 : 0) - 2 * v[i] * v[k], qjk = (j == k ? 1 : 0) - 2 * v[j] * v[k]
                        s += qik * lambda[k] * qjk
                    }
                    a[i * n + j] = s
                }
            }
            let got = symmetricEigenvalues(a, n: n), want = lambda.sorted()
            let worst = zip(got, want).map { abs($0 - $1) / want.last! }.max()!
            #expect(worst < 1e-12, "n = \(n): \(got) vs \(want)")
        }
    }

    @Test func theExactValueIsSciPys() throws {
        let compute = Compute()
        for k in Self.cases {
            let target = WassersteinTarget(gaussianStatisticsReference(k.T, c: k.C, m: k.Mt), compute)
            let s = gaussianStatisticsReference(k.F, c: k.C, m: k.M)
            let exact = wassersteinExact(mean: s.mean, covariance: s.covariance, target: target.statistics, targetCholesky: target.cholesky)
            #expect(abs(exact - k.w2) <= 1e-9 * k.w2, "\(k.name): \(exact) vs SciPy \(k.w2)")
            let t = gaussianStatisticsReference(k.T, c: k.C, m: k.Mt)
            let zero = wassersteinExact(mean: t.mean, covariance: t.covariance, target: target.statistics, targetCholesky: target.cholesky)
            #expect(zero >= 0 && zero <= 1e-9 * k.w2, "\(k.name): \(zero) at the target itself")
        }
    }

    /// The float32 path (what a step computes) prints within 2e-3 of the exact value; its shifted
    /// value, which the gradient belongs to, is further off on the ill-conditioned cases.
    @Test func theSessionsValueIsWithinTwoThousandthsOfExact() throws {
        let compute = Compute()
        for k in Self.cases {
            let target = WassersteinTarget(gaussianStatisticsReference(k.T, c: k.C, m: k.Mt), compute)
            let x = try Tensor(shape: [k.C, k.M, 1], data: k.F.map(Float.init))
            let (shifted, _, exact) = try wassersteinStyleLoss(x, weights: nil, target: target, wantGradient: false, compute)
            #expect(abs(exact - k.w2) <= 2e-3 * k.w2, "\(k.name): \(exact) vs SciPy \(k.w2)")
            print("W2 \(k.name): exact (float32 features) off by \(abs(exact - k.w2) / k.w2), shifted by \(abs(shifted - k.w2) / k.w2)")
        }
    }
}
