import Testing

@testable import Kernels

// The SIMD and BLAS backends against the plain-loop reference, on VGG19-shaped layers.

let backendTolerance = 1e-5  // relative L2, Float32 against a Double-accumulated reference

let fastBackends: [Backend] = OpenBLAS.isAvailable ? [.simd, .blas] : [.simd]

struct GemmCase: CustomTestStringConvertible, Sendable {
    let m, n, k: Int
    let transA, transB: Bool
    let beta: Float
    var testDescription: String { "\(m)×\(n)×\(k) \(transA ? "Aᵀ" : "A")\(transB ? "Bᵀ" : "B") β=\(beta)" }
}

@Suite("Backends agree")
struct BackendTests {
    static let gemmCases: [GemmCase] = [
        GemmCase(m: 1, n: 1, k: 1, transA: false, transB: false, beta: 0),
        GemmCase(m: 7, n: 13, k: 5, transA: false, transB: false, beta: 0),
        GemmCase(m: 6, n: 16, k: 256, transA: false, transB: false, beta: 1),
        GemmCase(m: 130, n: 301, k: 517, transA: false, transB: false, beta: 0.5),
        GemmCase(m: 129, n: 67, k: 300, transA: true, transB: false, beta: 0),
        GemmCase(m: 64, n: 64, k: 1000, transA: false, transB: true, beta: 0),
        GemmCase(m: 33, n: 250, k: 70, transA: true, transB: true, beta: -2),
        GemmCase(m: 250, n: 4200, k: 27, transA: false, transB: false, beta: 0),  // crosses the NC block
    ]

    @Test(arguments: gemmCases, fastBackends)
    func gemmMatchesReference(_ g: GemmCase, _ backend: Backend) {
        var rng = SeededRandom(seed: 10)
        // Leading dimensions larger than the matrix, to catch stride mistakes.
        let lda = (g.transA ? g.m : g.k) + 3, ldb = (g.transB ? g.k : g.n) + 1, ldc = g.n + 2
        let a: [Float] = randomArray((g.transA ? g.k : g.m) * lda, &rng)
        let b: [Float] = randomArray((g.transB ? g.n : g.k) * ldb, &rng)
        let c0: [Float] = randomArray(g.m * ldc, &rng)
        var expected = c0, actual = c0
        sgemm(
            Compute(backend: .reference), transA: g.transA, transB: g.transB, m: g.m, n: g.n, k: g.k, alpha: 1.5,
            a: a, lda: lda, b: b, ldb: ldb, beta: g.beta, c: &expected, ldc: ldc)
        sgemm(
            Compute(backend: backend), transA: g.transA, transB: g.transB, m: g.m, n: g.n, k: g.k, alpha: 1.5,
            a: a, lda: lda, b: b, ldb: ldb, beta: g.beta, c: &actual, ldc: ldc)
        expectClose(actual, expected, relativeL2: backendTolerance, "\(backend) gemm \(g.testDescription)")
        // The padding columns of C beyond n must be untouched.
        for i in 0..<g.m { for j in g.n..<ldc { #expect(actual[i * ldc + j] == c0[i * ldc + j]) } }
    }

    @Test(arguments: fastBackends)
    func gemmWithBetaZeroIgnoresGarbageInC(_ backend: Backend) {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [1, 0, 0, 1]
        var c: [Float] = [.nan, .infinity, .nan, -.infinity]
        sgemm(
            Compute(backend: backend), transA: false, transB: false, m: 2, n: 2, k: 2, alpha: 1,
            a: a, lda: 2, b: b, ldb: 2, beta: 0, c: &c, ldc: 2)
        #expect(c == [1, 2, 3, 4])
    }

    // VGG19's conv layers (input channels → output channels) at spatial sizes that keep
    // the Double reference fast; the SIMD path is blocked the same way at every size.
    static let vggLayers: [ConvShape] = [
        ConvShape(c: 3, h: 32, w: 40, oc: 64, k: 3),  // block1_conv1
        ConvShape(c: 64, h: 32, w: 40, oc: 64, k: 3),  // block1_conv2
        ConvShape(c: 64, h: 16, w: 20, oc: 128, k: 3),  // block2_conv1
        ConvShape(c: 128, h: 16, w: 20, oc: 128, k: 3),  // block2_conv2
        ConvShape(c: 128, h: 8, w: 10, oc: 256, k: 3),  // block3_conv1
        ConvShape(c: 256, h: 8, w: 10, oc: 256, k: 3),  // block3_conv2..4
        ConvShape(c: 256, h: 4, w: 5, oc: 512, k: 3),  // block4_conv1
        ConvShape(c: 512, h: 4, w: 5, oc: 512, k: 3),  // block4_conv2..4, block5_*
        ConvShape(c: 512, h: 3, w: 3, oc: 512, k: 3),  // block5 at an odd size
    ]

    @Test(arguments: vggLayers, fastBackends)
    func convForwardAndBackwardMatchReference(_ s: ConvShape, _ backend: Backend) throws {
        var rng = SeededRandom(seed: 11)
        let x = randomTensor([s.c, s.h, s.w], &rng, in: 0...1)
        let weight = randomTensor([s.oc, s.c, s.k, s.k], &rng, in: -0.1...0.1)
        let bias = randomTensor([s.oc], &rng)
        let dOut = randomTensor([s.oc, s.h, s.w], &rng)
        let ref = Compute(backend: .reference), fast = Compute(backend: backend)
        expectClose(
            try conv2d(x, weight: weight, bias: bias, fast).data,
            try conv2d(x, weight: weight, bias: bias, ref).data,
            relativeL2: backendTolerance, "\(backend) conv forward \(s.testDescription)")
        expectClose(
            try conv2dBackwardData(dOut, weight: weight, fast).data,
            try conv2dBackwardData(dOut, weight: weight, ref).data,
            relativeL2: backendTolerance, "\(backend) conv backward \(s.testDescription)")
    }

    @Test(arguments: fastBackends)
    func convInBandsMatchesOneBand(_ backend: Backend) throws {
        // 64 channels × 9 × 800 columns exceeds the 16 MB band budget, so this runs in several bands.
        let s = ConvShape(c: 64, h: 20, w: 800, oc: 8, k: 3)
        #expect(convBandRows(c: s.c, h: s.h, w: s.w, k: s.k) < s.h)
        var rng = SeededRandom(seed: 12)
        let x = randomTensor([s.c, s.h, s.w], &rng)
        let weight = randomTensor([s.oc, s.c, 3, 3], &rng)
        let bias = randomTensor([s.oc], &rng)
        let dOut = randomTensor([s.oc, s.h, s.w], &rng)
        let ref = Compute(backend: .reference), fast = Compute(backend: backend)
        expectClose(
            try conv2d(x, weight: weight, bias: bias, fast).data, try conv2d(x, weight: weight, bias: bias, ref).data,
            relativeL2: backendTolerance, "banded conv forward")
        expectClose(
            try conv2dBackwardData(dOut, weight: weight, fast).data, try conv2dBackwardData(dOut, weight: weight, ref).data,
            relativeL2: backendTolerance, "banded conv backward")
    }

    @Test(arguments: [(64, 32, 40), (512, 4, 5), (3, 7, 9)], fastBackends)
    func gramAndItsBackwardMatchReference(_ shape: (Int, Int, Int), _ backend: Backend) throws {
        var rng = SeededRandom(seed: 13)
        let x = randomTensor([shape.0, shape.1, shape.2], &rng, in: 0...2)
        let dG = randomTensor([shape.0, shape.0], &rng)
        let ref = Compute(backend: .reference), fast = Compute(backend: backend)
        expectClose(try gramMatrix(x, fast).data, try gramMatrix(x, ref).data, relativeL2: backendTolerance, "\(backend) gram")
        expectClose(
            try gramMatrixBackward(dG, input: x, fast).data, try gramMatrixBackward(dG, input: x, ref).data,
            relativeL2: backendTolerance, "\(backend) gram backward")
    }

    @Test(arguments: fastBackends)
    func threadCountDoesNotChangeTheResult(_ backend: Backend) throws {
        var rng = SeededRandom(seed: 14)
        let x = randomTensor([64, 24, 30], &rng)
        let weight = randomTensor([64, 64, 3, 3], &rng)
        let bias = randomTensor([64], &rng)
        let one = try conv2d(x, weight: weight, bias: bias, Compute(backend: backend, threads: 1))
        let two = try conv2d(x, weight: weight, bias: bias, Compute(backend: backend, threads: 2))
        expectClose(two.data, one.data, relativeL2: backendTolerance, "\(backend) 1 vs 2 threads")
    }
}

@Test func splitRangeCoversEverythingOnce() {
    for n in [1, 5, 16, 17, 1000] {
        for parts in 1...4 {
            let r = splitRange(n, parts: parts, align: 16)
            #expect(r.first?.lowerBound == 0 && r.last?.upperBound == n)
            #expect(zip(r, r.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(r.dropFirst().allSatisfy { $0.lowerBound % 16 == 0 })
        }
    }
}
