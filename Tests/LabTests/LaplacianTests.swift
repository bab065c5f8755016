import Foundation
import Testing

@testable import Kernels
@testable import Lab

/// The Laplacian loss term (Li et al. 2017): its operator on a picture whose answer is known, its
/// backward against finite differences, and the session's gradient against float64 differences.
@Suite("Laplacian loss") struct LaplacianTests {
    /// x = row² pools to 16i² + 8i·ā + mean(a²) per 4×4 block, whose second difference down the
    /// rows is 2·16 = 32 and across the columns 0; the Laplacian [[0,−1,0],[−1,4,−1],[0,−1,0]] is
    /// minus their sum: −32 everywhere. A wrong stride, tap or sign gives another number.
    @Test func theOperatorOfAQuadraticIsMinusItsSecondDifference() {
        let h = 20, w = 16, p = LaplacianTerm.pool
        let x = (0..<(h * w)).map { Double(($0 / w) * ($0 / w)) }
        let d = pooledLaplacian(x, c: 1, h: h, w: w, p: p)
        #expect(d.h == h / p - 2 && d.w == w / p - 2)
        #expect(d.values.allSatisfy { abs($0 + 32) < 1e-9 }, "\(d.values)")
        // Across the columns instead: the same, by symmetry.
        let y = (0..<(h * w)).map { Double(($0 % w) * ($0 % w)) }
        #expect(pooledLaplacian(y, c: 1, h: h, w: w, p: p).values.allSatisfy { abs($0 + 32) < 1e-9 })
    }

    @Test func backwardMatchesFiniteDifferences() {
        var rng = SplitMix64(seed: 7)
        let c = 3, h = 21, w = 18, p = LaplacianTerm.pool
        let x = (0..<(c * h * w)).map { _ in 2 * rng.nextUnit() - 1 }
        let target = (0..<(c * (h / p - 2) * (w / p - 2))).map { _ in 2 * rng.nextUnit() - 1 }
        func loss(_ v: [Double]) -> Double {
            zip(pooledLaplacian(v, c: c, h: h, w: w, p: p).values, target).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        }
        let d = pooledLaplacian(x, c: c, h: h, w: w, p: p).values
        let gradient = pooledLaplacianBackward(zip(d, target).map { 2 * ($0 - $1) }, c: c, h: h, w: w, p: p)
        // Central differences at every pixel (the loss is quadratic: exact up to rounding).
        var probe = x, worst = 0.0, largest = 0.0
        for i in x.indices {
            probe[i] = x[i] + 1e-5
            let up = loss(probe)
            probe[i] = x[i] - 1e-5
            let down = loss(probe)
            probe[i] = x[i]
            worst = max(worst, abs((up - down) / 2e-5 - gradient[i]))
            largest = max(largest, abs(gradient[i]))
        }
        #expect(largest > 0 && worst / largest < Tolerance.finiteDifferencesFloat64, "\(worst) of \(largest)")
        // The last partial block (row 20, columns 16–17) is dropped by the pooling: no gradient there.
        #expect(gradient[(0 * h + 20) * w + 3] == 0 && gradient[(0 * h + 3) * w + 17] == 0)
    }

    @Test func theSessionsGradientMatchesFloat64Differences() throws {
        let s = TransferSession(vgg: try Shared.model())
        try s.loadContent(Paths.fixtures + "/content.png")
        try s.loadStyle(Paths.fixtures + "/style.png")
        try TransferOptions.apply(
            try Arguments.parse(
                [
                    "--preset", "any-size", "--size", "32", "--init", "noise:3",
                    "--laplacian-weight", "1e-3",
                ], options: TransferOptions.valueOptions), to: s)
        let b = try s.evaluate(gradientOf: nil).breakdown
        let term = try #require(b.term(TermKind(rawValue: "laplacian")))
        #expect(term.raw > 0 && term.weight == 1e-3)
        let results = try s.gradientCheck(pixels: [(0, 10, 12), (1, 20, 5), (2, 3, 30), (0, 29, 1)], step: 1e-3)
        for r in results {
            #expect(r.relativeError < Tolerance.sessionGradientCheck, "\(r)")
        }
    }

    @Test func zeroAtTheContentAndOffUnlessWeighted() throws {
        let s = TransferSession(vgg: try Shared.model())
        try s.loadContent(Paths.fixtures + "/content.png")
        try s.loadStyle(Paths.fixtures + "/style.png")
        try s.configure { $0.rows = 48 }
        #expect(try s.evaluate(gradientOf: nil).breakdown.term(TermKind(rawValue: "laplacian")) == nil, "off by default")
        try s.configure { $0.loss.setWeight(TermKind(rawValue: "laplacian"), 1) }
        // The image starts as the content: its pooled Laplacian is the target's exactly.
        #expect(try s.evaluate(gradientOf: nil).breakdown.term(TermKind(rawValue: "laplacian"))?.raw == 0)
        // Too small to pool into a 3×3 neighbourhood: one line, before any step.
        var inputs = TargetInputs(
            content: try Tensor(zeros: [3, 11, 40]), styles: [], contentMask: nil,
            configuration: s.configuration.loss, vgg: try Shared.model(), compute: Compute())
        inputs.configuration.setWeight(TermKind(rawValue: "laplacian"), 1)
        var targets = LossTargets()
        #expect(throws: SessionError.invalid("the Laplacian term needs an image of at least 12×12 pixels")) {
            try LaplacianTerm().makeTargets(inputs, into: &targets)
        }
    }
}
