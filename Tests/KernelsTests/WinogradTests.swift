import Testing

@testable import Kernels

// Winograd F(4×4, 3×3) against the direct convolution: the plain-loop tile-by-tile statement
// against the Double reference, then the fast path (forward, backward-data, fused ReLU) against
// the direct fast path on every VGG19 layer shape and on awkward ones.

let winogradTolerance = 1e-5  // relative L2 (measured 1e-6 … 4e-6 on VGG-like data)

struct WinogradShape: CustomTestStringConvertible, Sendable {
    let c, h, w, oc: Int
    var testDescription: String { "\(c)→\(oc) @\(h)×\(w)" }
}

@Suite("Winograd convolution")
struct WinogradTests {
    /// Every distinct VGG19 conv shape after block1_conv1 (spatial sizes as at a 64×48 input, so
    /// block5 is 4×3: a partial tile), and shapes that are not multiples of the tile or the SIMD width.
    static let shapes: [WinogradShape] = [
        WinogradShape(c: 64, h: 64, w: 48, oc: 64),  // block1_conv2
        WinogradShape(c: 64, h: 32, w: 24, oc: 128),  // block2_conv1
        WinogradShape(c: 128, h: 32, w: 24, oc: 128),  // block2_conv2
        WinogradShape(c: 128, h: 16, w: 12, oc: 256),  // block3_conv1
        WinogradShape(c: 256, h: 16, w: 12, oc: 256),  // block3_conv2..4
        WinogradShape(c: 256, h: 8, w: 6, oc: 512),  // block4_conv1
        WinogradShape(c: 512, h: 8, w: 6, oc: 512),  // block4_conv2..4
        WinogradShape(c: 512, h: 4, w: 3, oc: 512),  // block5_conv1..4
        WinogradShape(c: 3, h: 9, w: 11, oc: 5),  // few channels, odd sizes
        WinogradShape(c: 17, h: 1, w: 1, oc: 33),  // a single pixel
        WinogradShape(c: 19, h: 5, w: 7, oc: 21),  // 5×7: one full tile and a clipped one
        WinogradShape(c: 7, h: 70, w: 69, oc: 9),  // more than 16 tiles per row, ragged edge
        WinogradShape(c: 40, h: 130, w: 3, oc: 24),  // tall and thin: several bands
    ]

    @Test func referenceTilesMatchDirectConvolution() {
        var rng = SeededRandom(seed: 41)
        for s in [
            WinogradShape(c: 3, h: 9, w: 11, oc: 4), WinogradShape(c: 5, h: 4, w: 4, oc: 2),
            WinogradShape(c: 2, h: 1, w: 6, oc: 3),
        ] {
            let x: [Float] = randomArray(s.c * s.h * s.w, &rng)
            let weight: [Float] = randomArray(s.oc * s.c * 9, &rng)
            let bias: [Float] = randomArray(s.oc, &rng)
            var direct: [Double] = []
            conv2dForwardReference(
                out: &direct, x: x.map(Double.init), weight: weight.map(Double.init),
                bias: bias.map(Double.init), c: s.c, h: s.h, w: s.w, oc: s.oc, k: 3)
            var tiled: [Float] = []
            conv3x3WinogradReference(out: &tiled, x: x, weight: weight, bias: bias, c: s.c, h: s.h, w: s.w, oc: s.oc)
            expectClose(tiled.map(Double.init), direct, relativeL2: winogradTolerance, "reference tiles \(s.testDescription)")
        }
    }

    @Test(arguments: shapes)
    func forwardMatchesDirect(_ s: WinogradShape) throws {
        var rng = SeededRandom(seed: 42)
        let x = randomTensor([s.c, s.h, s.w], &rng)
        let weight = randomTensor([s.oc, s.c, 3, 3], &rng, in: -0.1...0.1)
        let bias = randomTensor([s.oc], &rng)
        for relu in [false, true] {
            let direct = try conv2d(x, weight: weight, bias: bias, relu: relu, Compute(backend: .simd, conv: .direct))
            let winograd = try conv2d(x, weight: weight, bias: bias, relu: relu, Compute(backend: .simd, conv: .winograd))
            expectClose(winograd.data, direct.data, relativeL2: winogradTolerance, "forward relu=\(relu) \(s.testDescription)")
            if relu { #expect(winograd.data.allSatisfy { $0 >= 0 }) }
        }
    }

    @Test(arguments: shapes)
    func backwardDataMatchesDirect(_ s: WinogradShape) throws {
        var rng = SeededRandom(seed: 43)
        let dOut = randomTensor([s.oc, s.h, s.w], &rng)
        let weight = randomTensor([s.oc, s.c, 3, 3], &rng, in: -0.1...0.1)
        // A ReLU output with about half its entries zero: the fused mask must drop those.
        let mask = relu(randomTensor([s.oc, s.h, s.w], &rng))
        for reluOutput in [nil, mask] {
            let direct = try conv2dBackwardData(dOut, weight: weight, reluOutput: reluOutput, Compute(backend: .simd, conv: .direct))
            let winograd = try conv2dBackwardData(dOut, weight: weight, reluOutput: reluOutput, Compute(backend: .simd, conv: .winograd))
            expectClose(
                winograd.data, direct.data, relativeL2: winogradTolerance,
                "backward mask=\(reluOutput != nil) \(s.testDescription)")
        }
    }

    @Test func fusedMaskEqualsSeparateReLUBackward() throws {
        var rng = SeededRandom(seed: 44)
        let dOut = randomTensor([24, 13, 10], &rng)
        let weight = randomTensor([24, 20, 3, 3], &rng, in: -0.1...0.1)
        let mask = relu(randomTensor([24, 13, 10], &rng))
        let separate = try conv2dBackwardData(try reluBackward(dOut, input: mask), weight: weight, Compute(backend: .reference))
        for conv in [ConvAlgorithm.direct, .winograd] {
            let fused = try conv2dBackwardData(dOut, weight: weight, reluOutput: mask, Compute(backend: .simd, conv: conv))
            expectClose(fused.data, separate.data, relativeL2: winogradTolerance, "fused ReLU backward, \(conv)")
        }
    }

    @Test func resultDoesNotDependOnTheThreadCount() throws {
        var rng = SeededRandom(seed: 45)
        let x = randomTensor([48, 37, 29], &rng)
        let weight = randomTensor([40, 48, 3, 3], &rng, in: -0.1...0.1)
        let bias = randomTensor([40], &rng)
        for conv in [ConvAlgorithm.direct, .winograd] {
            let one = try conv2d(x, weight: weight, bias: bias, relu: true, Compute(backend: .simd, threads: 1, conv: conv))
            let two = try conv2d(x, weight: weight, bias: bias, relu: true, Compute(backend: .simd, threads: 2, conv: conv))
            let three = try conv2d(x, weight: weight, bias: bias, relu: true, Compute(backend: .simd, threads: 3, conv: conv))
            // Each output is computed by the same sequence of operations whichever thread runs it.
            #expect(one.data == two.data, "\(conv): 1 vs 2 threads")
            #expect(one.data == three.data, "\(conv): 1 vs 3 threads")
        }
    }

    @Test func autoChoosesByShape() {
        let auto = Compute(backend: .simd, conv: .auto)
        #expect(auto.convAlgorithm(c: 3, h: 256, w: 256, oc: 64, k: 3, backward: true) == .direct)  // block1_conv1
        #expect(auto.convAlgorithm(c: 64, h: 256, w: 256, oc: 64, k: 3, backward: false) == .direct)  // auto: forward direct
        #expect(auto.convAlgorithm(c: 64, h: 256, w: 256, oc: 64, k: 3, backward: true) == .winograd)
        #expect(auto.convAlgorithm(c: 64, h: 256, w: 256, oc: 3, k: 3, backward: true) == .direct)  // block1_conv1's backward
        #expect(auto.convAlgorithm(c: 512, h: 8, w: 8, oc: 512, k: 3, backward: true) == .direct)  // 4 tiles
        #expect(auto.convAlgorithm(c: 512, h: 16, w: 16, oc: 512, k: 3, backward: true) == .winograd)  // 16 tiles
        #expect(Compute(backend: .reference, conv: .winograd).convAlgorithm(c: 64, h: 64, w: 64, oc: 64, k: 3, backward: true) == .direct)
        #expect(Compute(backend: .simd, conv: .winograd).convAlgorithm(c: 64, h: 64, w: 64, oc: 64, k: 5, backward: true) == .direct)
    }
}

@Suite("Threaded kernels")
struct ThreadedKernelTests {
    @Test func poolingFastPathEqualsTheReference() throws {
        var rng = SeededRandom(seed: 46)
        // Quantised values, so exact ties occur and the tie rule is exercised.
        let x = try Tensor(shape: [13, 11, 9], data: (0..<(13 * 11 * 9)).map { _ in Float(Int.random(in: 0...4, using: &rng)) })
        let dOut = randomTensor([13, 5, 4], &rng)
        for kind in Pooling.allCases {
            let reference = Compute(backend: .reference)
            for threads in [1, 2, 3] {
                let fast = Compute(backend: .simd, threads: threads)
                #expect(try pool2x2(x, kind, fast) == pool2x2(x, kind, reference), "\(kind) forward, \(threads) threads")
                #expect(
                    try pool2x2Backward(dOut, input: x, kind, fast) == pool2x2Backward(dOut, input: x, kind, reference),
                    "\(kind) backward, \(threads) threads")
            }
        }
    }

    @Test func gramMatrixDoesNotDependOnTheThreadCount() throws {
        var rng = SeededRandom(seed: 47)
        let x = randomTensor([24, 70, 90], &rng)  // 6300 positions: split between the threads
        let one = try gramMatrix(x, Compute(backend: .simd, threads: 1))
        let reference = try gramMatrix(x, Compute(backend: .reference))
        for threads in [2, 3] {
            let many = try gramMatrix(x, Compute(backend: .simd, threads: threads))
            // The partial sums are added in another order: equal to within float rounding.
            expectClose(many.data, one.data, relativeL2: 1e-6, "gram, \(threads) threads vs 1")
            expectClose(many.data, reference.data, relativeL2: backendTolerance, "gram, \(threads) threads vs reference")
        }
    }
}
