import Foundation
import Kernels
import Testing

@testable import Lab

// The transfer session: its default numerics against the PyTorch reference's trajectories, the
// optimisers, rewind, the non-finite guard, and that targets are computed once.

/// A session on the fixture images at the fixture's size (48 × 64), Keras example defaults.
func fixtureSession(_ backend: Backend = .simd, rows: Int = 48) throws -> TransferSession {
    let session = TransferSession(vgg: try Shared.model(), compute: Compute(backend: backend))
    try session.configure { $0.rows = rows }
    try session.loadContent(Paths.fixtures + "/content.png")
    try session.loadStyle(Paths.fixtures + "/style.png")
    return session
}

let trajectoryTolerance = 1e-3  // relative, per step (the bound)

@Suite("Transfer session", .serialized)
struct TransferTests {
    @Test func defaultsAreTheKerasExample() {
        let c = TransferConfiguration()
        #expect(c.rows == 400 && c.resize == .nearest && c.initialImage == .content)
        #expect(c.loss.contentLayers == ["block5_conv2"])
        #expect(c.loss.styleLayers.map(\.name) == ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"])
        #expect(c.loss.styleLayers.allSatisfy { $0.weight == 0.2 })
        #expect(c.loss.contentWeight == 2.5e-8 && c.loss.styleWeight == 1e-6 && c.loss.totalVariationWeight == 1e-6)
        #expect(c.loss.normalization == .keras && c.loss.pooling == .max && !c.loss.averageContentAndTV)
        let sgd = SGD()
        #expect(sgd.learningRate(at: 0) == 100)
        #expect(abs(sgd.learningRate(at: 50) - 100 * Foundation.pow(0.96, 0.5)) < Tolerance.learningRateDecay)  // continuous, not staircase
    }

    @Test func sgdAtTheExampleSizeFollowsTheReference() throws {
        let expected = try Shared.fixture().scalars("sgd/keras_400")
        let session = try fixtureSession(rows: 400)
        try session.loadContent(Paths.fixtures + "/content_400.png")
        try session.loadStyle(Paths.fixtures + "/style_400.png")
        #expect(session.workingSize! == (300, 400))
        // At lr 100 the trajectory is chaotic: float32 and float64 part ways step by step (measured
        // here: 3e-8, 1e-5, 1e-4, 1.5e-4, 3e-5, 5e-4, 3.5e-3, 1.7e-3, 6e-4, 1.2e-2; two TensorFlow runs
        // on the same input drift apart after step 3 too — docs/MEASURED.md). So the bound widens with
        // the step; the lr-0.5 test below holds all ten steps to 1e-3.
        let bounds = Tolerance.sgdTrajectoryAt400Rows
        for k in 0..<expected.count {
            let record = try session.step()
            expectRelative(record.total, expected[k], bounds[k], "SGD step \(k) at 400 rows")
        }
        #expect(expected.last! < expected.first!)  // the example's constants do lower the loss here
    }

    @Test func sgdAtASmallLearningRateFollowsTheReference() throws {
        let expected = try Shared.fixture().scalars("sgd/lr_0.5")
        let session = try fixtureSession()
        try session.updateOptimizer(as: SGD.self) {
            $0.initialLearningRate = 0.5
            $0.decayRate = 1
        }
        for k in 0..<10 {
            expectRelative(try session.step().total, expected[k], trajectoryTolerance, "SGD lr 0.5 step \(k)")
        }
    }

    @Test func theExampleConstantsDivergeAtSmallSizesAndTheGuardCatchesIt() throws {
        // docs/MEASURED.md: at a lesson-friendly size lr 100 with the Keras normalisation explodes.
        // The float64 reference: 5.1e6, 7.9e12, 6.5e33, 4.3e97, 5.4e289, inf.
        let expected = try Shared.fixture().scalars("sgd/keras_lr")
        let session = try fixtureSession()
        var rejected: SessionError? = nil
        for k in 0..<10 {
            let before = (session.combination!, session.iteration, session.history.count)
            do {
                let r = try session.step()
                if k < 2 { expectRelative(r.total, expected[k], trajectoryTolerance, "keras lr step \(k)") }
            } catch let e as SessionError {
                rejected = e
                // Exactly as before the step.
                #expect(session.combination! == before.0 && session.iteration == before.1 && session.history.count == before.2)
                break
            }
        }
        let error = try #require(rejected, "the divergence was never caught")
        #expect(error.description.hasPrefix("step "))
        #expect(error.description.contains("rejected") && error.description.contains("as it was before it"))
        #expect(!error.description.contains("\n"))
    }

    @Test func adamMatchesTorchOptimAdam() throws {
        let expected = try Shared.fixture().scalars("adam/lr_10")
        let session = try fixtureSession()
        session.setOptimizer(Adam(learningRate: 10))
        for k in 0..<expected.count {
            expectRelative(try session.step().total, expected[k], trajectoryTolerance, "Adam step \(k)")
        }
    }

    @Test func lbfgsLowersTheLossDeterministically() throws {
        func run() throws -> [Double] {
            let session = try fixtureSession()
            try session.configure {
                $0 = .anySize
                $0.rows = 48
            }
            session.setOptimizer(LBFGS())
            try session.resetCombination()
            var losses = try (0..<6).map { _ in try session.step().total }
            losses.append(try session.evaluate(gradientOf: nil).breakdown.total)
            return losses
        }
        let first = try run(), second = try run()
        #expect(first == second)  // bit for bit
        #expect(first.last! < 0.5 * first.first!, "L-BFGS: \(first)")
        for (a, b) in zip(first, first.dropFirst()) { #expect(b <= a, "L-BFGS must not increase the loss: \(first)") }
    }

    @Test func rewindThenStepReproducesTheSameNumbers() throws {
        let session = try fixtureSession()
        session.setOptimizer(Adam(learningRate: 5))
        let firstRun = try (0..<5).map { _ in try session.step().total }
        let imageAt5 = session.combination!
        try session.rewind(to: 2)
        #expect(session.iteration == 2 && session.history.count == 2)
        let again = try (0..<3).map { _ in try session.step().total }
        #expect(Array(firstRun[2...]) == again)
        #expect(session.combination! == imageAt5)
        try session.rewind(to: 0)
        #expect(session.combination! == (try session.contentTensor()))
        #expect(errorMessage { try session.rewind(to: 9) } == "can rewind to 0…0, not 9")
    }

    @Test func changingAWeightMidRunGoesOn() throws {
        let session = try fixtureSession()
        session.setOptimizer(LBFGS())
        try session.configure {
            $0 = .anySize
            $0.rows = 48
        }
        try session.step()
        try session.configure { $0.loss.styleWeight *= 10 }
        let r = try session.step()
        // The record reflects the new weight: its style term was evaluated with it.
        let fresh = try session.evaluate(gradientOf: nil).breakdown
        #expect(r.breakdown.styleTotal > 0 && fresh.styleTotal > 0)
        #expect(session.history.count == 2)
    }

    @Test func targetsAreComputedOnceAndAgainOnlyWhenNeeded() throws {
        let session = try fixtureSession()
        session.setOptimizer(Adam())
        for _ in 0..<3 { try session.step() }
        #expect(session.targetComputations == 1)
        try session.configure { $0.loss.contentWeight = 1 }  // a weight: targets unchanged
        try session.step()
        #expect(session.targetComputations == 1)
        try session.configure { $0.loss.styleLayers = [StyleLayer("block2_conv2", weight: 1)] }
        try session.step()
        #expect(session.targetComputations == 2)
        try session.loadStyle(Paths.fixtures + "/content.png")
        try session.step()
        #expect(session.targetComputations == 3)
    }

    @Test func termGradientsAddUpToTheTotal() throws {
        let session = try fixtureSession()
        try session.configure { $0.initialImage = .noise(seed: 3) }
        let total = try #require(try session.evaluate(gradientOf: .total).gradient)
        var sum = try #require(try session.evaluate(gradientOf: .content).gradient)
        sum = try sum.adding(try #require(try session.evaluate(gradientOf: .style(nil)).gradient))
        sum = try sum.adding(try #require(try session.evaluate(gradientOf: .totalVariation).gradient))
        #expect(relativeL2(sum.data, total.data) < Tolerance.termGradientsSum)
        // One style layer alone is a part of the style gradient, not all of it.
        let one = try #require(try session.evaluate(gradientOf: .style("block1_conv1")).gradient)
        #expect(relativeL2(one.data, total.data) > Tolerance.oneTermIsNotTheTotal)
    }

    @Test func blendingAStyleWithItselfChangesNothing() throws {
        let one = try fixtureSession()
        let two = try fixtureSession()
        try two.addStyle(Paths.fixtures + "/style.png", weight: 3)
        let a = try one.targets(), b = try two.targets()
        for layer in a.styleGrams.keys {
            #expect(relativeL2(b.styleGrams[layer]!.data, a.styleGrams[layer]!.data) < Tolerance.selfBlendedGrams)
        }
        #expect(errorMessage { try two.addStyle(Paths.fixtures + "/style.png", weight: -1) }?.contains("positive") == true)
    }

    @Test func originalColorsKeepTheContentChroma() throws {
        let session = try fixtureSession()
        try session.configure {
            $0.preserveColors = true
            $0.initialImage = .style
        }
        let result = try session.resultImage()
        let content = try RGBImage.load(Paths.fixtures + "/content.png").resized(width: 64, height: 48)
        // Chroma I = 0.596 R − 0.274 G − 0.322 B follows the content, up to rounding.
        func chroma(_ img: RGBImage, _ x: Int, _ y: Int) -> Double {
            let p = img[x, y]
            return 0.596 * Double(p.r) - 0.274 * Double(p.g) - 0.322 * Double(p.b)
        }
        var worst = 0.0
        for y in stride(from: 0, to: 48, by: 5) {
            for x in stride(from: 0, to: 64, by: 5) {
                let p = result[x, y]
                if [p.r, p.g, p.b].contains(0) || [p.r, p.g, p.b].contains(255) { continue }  // clipped
                worst = max(worst, abs(chroma(result, x, y) - chroma(content, x, y)))
            }
        }
        #expect(worst < Tolerance.chromaRounding)
    }

    @Test func snapshotsStayWithinTheirBudget() throws {
        let session = TransferSession(vgg: try Shared.model(), compute: Compute(), snapshotBudgetBytes: 6 * 3 * 48 * 64 * 4)
        try session.configure { $0.rows = 48 }
        try session.loadContent(Paths.fixtures + "/content.png")
        try session.loadStyle(Paths.fixtures + "/style.png")
        session.setOptimizer(SGD(learningRate: 0.5))
        for _ in 0..<12 { try session.step() }
        let kept = session.snapshots.iterations
        #expect(kept.count <= 6 && kept.first == 0 && kept.last == 12)
        #expect(session.snapshots.totalBytes <= session.snapshots.budgetBytes)
        let missing = try #require((1..<12).first { !kept.contains($0) })
        let msg = try #require(errorMessage { try session.rewind(to: missing) })
        #expect(msg.hasPrefix("iteration \(missing) is not kept") && msg.contains("nearest kept"))
    }

    @Test func badConfigurationIsRefusedAndChangesNothing() throws {
        let session = try fixtureSession()
        let before = session.configuration
        #expect(errorMessage { try session.configure { $0.rows = 5 } }?.contains("between 16 and 4096") == true)
        #expect(
            errorMessage { try session.configure { $0.loss.styleLayers = [StyleLayer("block9_conv1", weight: 1)] } }?
                .contains("no layer named block9_conv1") == true)
        #expect(errorMessage { try session.configure { $0.loss.styleWeight = .nan } }?.contains("finite") == true)
        #expect(session.configuration == before)
        let empty = TransferSession(vgg: try Shared.model())
        #expect(errorMessage { try empty.step() } == "no content image yet: load one first (content FILE)")
        try empty.loadContent(Paths.fixtures + "/content.png")
        #expect(errorMessage { try empty.step() } == "no style image yet: load one first (style FILE)")
    }

    @Test func anySizePresetIsSizeIndependentAndDescends() throws {
        var totals: [Int: LossBreakdown] = [:]
        for rows in [48, 96] {
            let session = try fixtureSession()
            try session.configure {
                $0 = .anySize
                $0.rows = rows
                $0.initialImage = .noise(seed: 1)
            }
            totals[rows] = try session.evaluate(gradientOf: nil).breakdown
            if rows == 48 {
                session.setOptimizer(Adam(learningRate: 5))
                let losses = try (0..<15).map { _ in try session.step().total }
                #expect(losses.last! < 0.5 * losses.first!, "\(losses)")
            }
        }
        // Doubling the size leaves each weighted term of the same order (the Keras form would grow 4–16×).
        let small = totals[48]!, large = totals[96]!
        for (a, b) in [
            (small.contentTotal, large.contentTotal), (small.styleTotal, large.styleTotal),
            (small.weighted(.totalVariation), large.weighted(.totalVariation)),
        ] {
            #expect(b / a < 3 && a / b < 3, "\(a) vs \(b)")
        }
    }

    @Test func transferRunPrintsAndSavesLikeTheExample() throws {
        let session = try fixtureSession()
        session.setOptimizer(SGD(learningRate: 0.5))
        let dir = Paths.temporaryDirectory()
        var run = TransferRun()
        run.iterations = 6
        run.every = 3
        run.prefix = dir + "/r"
        var lines: [String] = []
        let outcome = run.run(session, interruption: Interruption(catchingSIGINT: false), report: { lines.append($0) })
        #expect(outcome.completed == 6 && !outcome.interrupted && outcome.error == nil)
        #expect(lines.count == 2 && lines[0].hasPrefix("Iteration 3: loss=") && lines[1].hasPrefix("Iteration 6: loss="))
        // The loss printed at iteration 3 is the one evaluated before the third update.
        #expect(lines[0] == "Iteration 3: loss=\(formatLoss(session.history[2].total))")
        #expect(outcome.saved == [dir + "/r_at_iteration_3.png", dir + "/r_at_iteration_6.png"])
        #expect(try RGBImage.load(dir + "/r_at_iteration_6.png") == (try session.resultImage()))
    }

    @Test func transferRunStopsOnInterruptionAndKeepsTheImage() throws {
        let session = try fixtureSession()
        session.setOptimizer(SGD(learningRate: 0.5))
        let dir = Paths.temporaryDirectory()
        var run = TransferRun()
        run.iterations = 50
        run.every = 10
        run.prefix = dir + "/r"
        let interruption = Interruption(catchingSIGINT: false)
        var lines: [String] = []
        let outcome = run.run(
            session, interruption: interruption, report: { lines.append($0) },
            progress: { done, _, _ in if done == 4 { interruption.interrupt() } })
        #expect(outcome.interrupted && outcome.completed == 4 && session.iteration == 4)
        #expect(outcome.saved == [dir + "/r_at_iteration_4.png"])
        #expect(lines.last == "interrupted after iteration 4; last image saved")
    }

    @Test func formatLossKeepsSixSignificantDigits() {
        #expect(formatLoss(5052055.1123) == "5052055.11")
        #expect(formatLoss(0.00123456789) == "0.0012345679")
        #expect(formatLoss(12345.678) == "12345.678")
    }
}
