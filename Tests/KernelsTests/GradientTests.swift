import Foundation
import Testing

@testable import Kernels

// Every backward against central finite differences, in Double, on small random inputs
// with awkward shapes. Each scalar test function is L(x) = Σ r ⊙ op(x) with a random r,
// so the backward given dOut = r must equal ∇L.

struct ConvShape: CustomTestStringConvertible, Sendable {
    let c, h, w, oc, k: Int
    var testDescription: String { "\(c)→\(oc) at \(h)×\(w), k=\(k)" }
}

@Suite("Backward passes match finite differences")
struct GradientTests {
    static let convShapes = [
        ConvShape(c: 1, h: 1, w: 1, oc: 1, k: 3),
        ConvShape(c: 3, h: 5, w: 7, oc: 4, k: 3),
        ConvShape(c: 17, h: 3, w: 2, oc: 5, k: 3),
        ConvShape(c: 2, h: 6, w: 5, oc: 3, k: 1),
        ConvShape(c: 2, h: 4, w: 6, oc: 3, k: 5),
    ]

    @Test(arguments: convShapes)
    func conv2dBackwardData(_ s: ConvShape) {
        var rng = SeededRandom(seed: 1)
        let x: [Double] = randomArray(s.c * s.h * s.w, &rng)
        let weight: [Double] = randomArray(s.oc * s.c * s.k * s.k, &rng)
        let bias: [Double] = randomArray(s.oc, &rng)
        let r: [Double] = randomArray(s.oc * s.h * s.w, &rng)
        var dX: [Double] = []
        conv2dBackwardDataReference(dX: &dX, dOut: r, weight: weight, c: s.c, h: s.h, w: s.w, oc: s.oc, k: s.k)
        expectGradientMatchesFiniteDifferences(
            x, step: 1e-5, tolerance: gradientTolerance, "conv2d \(s.testDescription)",
            f: { x in
                var out: [Double] = []
                conv2dForwardReference(out: &out, x: x, weight: weight, bias: bias, c: s.c, h: s.h, w: s.w, oc: s.oc, k: s.k)
                return zip(out, r).reduce(0) { $0 + $1.0 * $1.1 }
            }, gradient: dX)
    }

    @Test func reluBackwardAwayFromTheKink() {
        var rng = SeededRandom(seed: 2)
        let x = awayFromZero(37, &rng)
        let r: [Double] = randomArray(37, &rng)
        expectGradientMatchesFiniteDifferences(
            x, step: 1e-5, tolerance: gradientTolerance, "relu",
            f: { x in
                zip(reluForward(x), r).reduce(0) { $0 + $1.0 * $1.1 }
            }, gradient: reluBackward(dOut: r, x: x))
    }

    @Test func reluGradientAtZeroIsZero() {
        #expect(reluBackward(dOut: [1.0, 1.0, 1.0], x: [-0.0, 0.0, 1e-30]) == [0, 0, 1])
    }

    @Test(arguments: [(1, 2, 2), (3, 5, 7), (17, 4, 3), (2, 7, 2)])
    func maxPoolBackward(_ c: Int, _ h: Int, _ w: Int) {
        var rng = SeededRandom(seed: 3)
        let x = distinctValues(c * h * w, &rng)  // gaps ≫ step: no window changes its argmax
        let r: [Double] = randomArray(c * (h / 2) * (w / 2), &rng)
        expectGradientMatchesFiniteDifferences(
            x, step: 1e-5, tolerance: gradientTolerance, "max pool \(c)×\(h)×\(w)",
            f: { x in
                zip(maxPool2x2Forward(x, c: c, h: h, w: w), r).reduce(0) { $0 + $1.0 * $1.1 }
            }, gradient: maxPool2x2Backward(dOut: r, x: x, c: c, h: h, w: w))
    }

    @Test func maxPoolTieGoesToTheFirstInWindowOrder() {
        // x (1, 2, 2) all equal: the gradient goes to (0, 0) only.
        #expect(maxPool2x2Backward(dOut: [5.0], x: [1, 1, 1, 1], c: 1, h: 2, w: 2) == [5, 0, 0, 0])
        #expect(maxPool2x2Backward(dOut: [5.0], x: [0, 2, 2, 1], c: 1, h: 2, w: 2) == [0, 5, 0, 0])
    }

    @Test(arguments: [(1, 2, 2), (3, 5, 7), (17, 4, 3)])
    func avgPoolBackward(_ c: Int, _ h: Int, _ w: Int) {
        var rng = SeededRandom(seed: 4)
        let x: [Double] = randomArray(c * h * w, &rng)
        let r: [Double] = randomArray(c * (h / 2) * (w / 2), &rng)
        expectGradientMatchesFiniteDifferences(
            x, step: 1e-5, tolerance: gradientTolerance, "avg pool \(c)×\(h)×\(w)",
            f: { x in
                zip(avgPool2x2Forward(x, c: c, h: h, w: w), r).reduce(0) { $0 + $1.0 * $1.1 }
            }, gradient: avgPool2x2Backward(dOut: r, c: c, h: h, w: w))
    }

    @Test(arguments: [(1, 1), (3, 35), (17, 6)])
    func gramBackward(_ c: Int, _ m: Int) {
        var rng = SeededRandom(seed: 5)
        let f: [Double] = randomArray(c * m, &rng)
        let r: [Double] = randomArray(c * c, &rng)  // not symmetric on purpose: exercises dG + dGᵀ
        expectGradientMatchesFiniteDifferences(
            f, step: 1e-5, tolerance: gradientTolerance, "gram \(c)×\(m)",
            f: { f in
                zip(gramForwardReference(f, c: c, m: m), r).reduce(0) { $0 + $1.0 * $1.1 }
            }, gradient: gramBackwardReference(dG: r, f: f, c: c, m: m))
    }

    @Test func contentLossBackward() {
        var rng = SeededRandom(seed: 6)
        let a: [Double] = randomArray(29, &rng), b: [Double] = randomArray(29, &rng)
        expectGradientMatchesFiniteDifferences(
            a, step: 1e-5, tolerance: gradientTolerance, "content loss",
            f: { sumSquaredDifference($0, b) }, gradient: sumSquaredDifferenceBackward(a, b))
    }

    @Test(arguments: [StyleNormalization.keras(imageRows: 7, imageCols: 5), .gatys])
    func styleLossBackward(_ norm: StyleNormalization) {
        var rng = SeededRandom(seed: 7)
        let (c, h, w) = (5, 3, 7)
        let f: [Double] = randomArray(c * h * w, &rng)
        let target = gramForwardReference(randomArray(c * h * w, &rng) as [Double], c: c, m: h * w)
        let d = norm.denominator(channels: c, positions: h * w)
        expectGradientMatchesFiniteDifferences(
            f, step: 1e-5, tolerance: gradientTolerance, "style loss \(norm)",
            f: { styleLossReference($0, targetGram: target, c: c, m: h * w, denominator: d) },
            gradient: styleLossBackwardReference(f, targetGram: target, c: c, m: h * w, denominator: d))
    }

    @Test(arguments: [(3, 5, 7), (1, 2, 2), (2, 1, 6), (3, 9, 4)])
    func totalVariationBackward(_ c: Int, _ h: Int, _ w: Int) {
        var rng = SeededRandom(seed: 8)
        let x: [Double] = randomArray(c * h * w, &rng, in: -100...100)
        let g: [Double] = totalVariationBackwardReference(x, c: c, h: h, w: w)
        if h < 2 || w < 2 {
            // The Keras form sums over i < H−1, j < W−1: a single row or column has no term.
            #expect(totalVariationReference(x, c: c, h: h, w: w) == 0 && g.allSatisfy { $0 == 0 })
            return
        }
        expectGradientMatchesFiniteDifferences(
            x, step: 1e-4, tolerance: gradientTolerance, "total variation \(c)×\(h)×\(w)",
            f: { totalVariationReference($0, c: c, h: h, w: w) }, gradient: g)
    }
}

@Suite("Forward passes against hand-computed values")
struct ForwardFormulaTests {
    @Test func totalVariationOfARamp() {
        // x = [[0, 1], [2, 3]] (one channel): only (0,0) counts: a = (0−2)² = 4, b = (0−1)² = 1.
        let expected = Foundation.pow(5.0, 1.25)
        #expect(abs(totalVariationReference([0.0, 1, 2, 3], c: 1, h: 2, w: 2) - expected) < 1e-12)
    }

    @Test func styleNormalizations() {
        let size: Double = 400 * 600
        let keras: Double = 4 * 9 * size * size
        #expect(StyleNormalization.keras(imageRows: 400, imageCols: 600).denominator(channels: 512, positions: 1) == keras)
        let n: Double = 64, m: Double = 100
        let gatys: Double = 4 * n * n * m * m
        #expect(StyleNormalization.gatys.denominator(channels: 64, positions: 100) == gatys)
    }

    @Test func convolutionOfAKnownPatch() {
        // 1 channel 3×3 image 1…9, a kernel that picks the right-hand neighbour, bias 0.5.
        let x: [Double] = (1...9).map(Double.init)
        let weight: [Double] = [0, 0, 0, 0, 0, 1, 0, 0, 0]
        var out: [Double] = []
        conv2dForwardReference(out: &out, x: x, weight: weight, bias: [0.5], c: 1, h: 3, w: 3, oc: 1, k: 3)
        #expect(out == [2.5, 3.5, 0.5, 5.5, 6.5, 0.5, 8.5, 9.5, 0.5])
    }
}
