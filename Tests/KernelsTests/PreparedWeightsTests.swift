import Testing

@testable import Kernels

// A layer's weights packed once for the GEMM and Winograd-transformed once (ConvWeightForms):
// the GEMM on prepacked A against the GEMM that packs as it goes, the convolutions with kept forms
// against those without, and the cache's budget.

@Suite("Prepared weights")
struct PreparedWeightsTests {
    /// m not a multiple of MR and over MC (several row blocks), k over KC (several depth blocks).
    @Test(arguments: [(7, 5, 3), (64, 100, 64), (121, 33, 257), (250, 70, 600), (6, 16, 256)])
    func prepackedAEqualsPackingAsItGoes(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = SeededRandom(seed: 60)
        for transA in [false, true] {
            let a: [Float] = randomArray(m * k, &rng)
            let b: [Float] = randomArray(k * n, &rng)
            let lda = transA ? m : k
            var expected = [Float](repeating: 0, count: m * n)
            sgemm(
                Compute(backend: .simd, threads: 1), transA: transA, transB: false, m: m, n: n, k: k, alpha: 1,
                a: a, lda: lda, b: b, ldb: n, beta: 0, c: &expected, ldc: n)
            var packed = [Float](repeating: .nan, count: packedAFloats(m: m, k: k))
            packed.withUnsafeMutableBufferPointer { packWholeA($0.baseAddress!, transA: transA, a: a, lda: lda, m: m, k: k) }
            for threads in [1, 2, 3] {
                var c = [Float](repeating: .nan, count: m * n)
                sgemmPrepackedA(packedA: packed, m: m, n: n, k: k, b: b, ldb: n, beta: 0, c: &c, ldc: n, threads: threads)
                // The same products summed in the same order: equal, not merely close.
                #expect(c == expected, "\(m)×\(n)×\(k) transA=\(transA), \(threads) threads")
            }
        }
    }

    /// Kept forms (direct and Winograd, forward and backward) give what forms made for the call give.
    @Test func keptFormsGiveTheSameConvolutions() throws {
        var rng = SeededRandom(seed: 61)
        let (c, oc, h, w) = (40, 70, 19, 23)
        let x = randomTensor([c, h, w], &rng)
        let weight = randomTensor([oc, c, 3, 3], &rng, in: -0.1...0.1)
        let bias = randomTensor([oc], &rng)
        let dOut = randomTensor([oc, h, w], &rng)
        let mask = relu(randomTensor([oc, h, w], &rng))
        let cache = ConvWeightCache(budgetBytes: 64 << 20)
        let forms = try ConvWeightForms(weight: weight, cache: cache)
        for conv in [ConvAlgorithm.direct, .winograd] {
            let compute = Compute(backend: .simd, threads: 2, conv: conv)
            let plain = try conv2d(x, weight: weight, bias: bias, relu: true, compute)
            let plainBack = try conv2dBackwardData(dOut, weight: weight, reluOutput: mask, compute)
            for _ in 0..<2 {  // prepared on the first call, kept for the second
                #expect(try conv2d(x, weight: weight, bias: bias, relu: true, forms: forms, compute).data == plain.data, "\(conv)")
                #expect(try conv2dBackwardData(dOut, weight: weight, reluOutput: mask, forms: forms, compute).data == plainBack.data)
            }
            // And the direct forms match the plain-loop reference.
            let reference = try conv2d(x, weight: weight, bias: bias, relu: true, Compute(backend: .reference))
            expectClose(plain.data, reference.data, relativeL2: conv == .direct ? 1e-6 : 1e-5, "\(conv) vs reference")
        }
        #expect(cache.keptCount == 4)  // direct and Winograd, each way
        let expected = ConvWeightForms.Form.allCases.reduce(0) { $0 + 4 * forms.floats($1) }
        #expect(cache.keptBytes == expected)
    }

    @Test func formsOfAnotherWeightAreRefused() throws {
        var rng = SeededRandom(seed: 62)
        let forms = try ConvWeightForms(weight: randomTensor([4, 3, 3, 3], &rng), cache: ConvWeightCache(budgetBytes: 1 << 20))
        let other = randomTensor([4, 3, 3, 3], &rng)
        #expect(throws: KernelError.self) {
            try conv2d(randomTensor([3, 5, 5], &rng), weight: other, bias: try Tensor(zeros: [4]), forms: forms, Compute())
        }
    }

    /// The budget holds: what does not fit is prepared per call and not kept; kept forms of weights
    /// no longer used make room once stale; a layer that goes away takes its forms with it.
    @Test func theCacheKeepsToItsBudget() throws {
        var rng = SeededRandom(seed: 63)
        let x = randomTensor([32, 8, 8], &rng)
        let compute = Compute(backend: .simd, threads: 1, conv: .direct)
        let layers = (0..<6).map { _ in randomTensor([32, 32, 3, 3], &rng, in: -0.1...0.1) }
        let oneForm = 4 * packedAFloats(m: 32, k: 32 * 9)
        let cache = ConvWeightCache(budgetBytes: 3 * oneForm)
        var forms = try layers.map { try ConvWeightForms(weight: $0, cache: cache) }
        let bias = try Tensor(zeros: [32])
        func pass(_ indices: Range<Int>) throws {
            for i in indices { _ = try conv2d(x, weight: layers[i], bias: bias, forms: forms[i], compute) }
        }
        // A cycle of six layers over a budget of three: the first three stay, every pass.
        for _ in 0..<3 { try pass(0..<6) }
        #expect(cache.keptCount == 3)
        #expect(cache.keptBytes <= cache.budgetBytes)
        // Only layers 3..<6 from now on: the kept 0..<3 go stale and make room for them.
        for _ in 0..<10 { try pass(3..<6) }
        #expect(cache.keptCount == 3)
        forms.removeLast(3)  // layers 3..<6 go away, and their kept forms with them
        #expect(cache.keptCount == 0 && cache.keptBytes == 0)
        cache.budgetBytes = 0
        try pass(0..<3)
        #expect(cache.keptCount == 0)  // a zero budget keeps nothing; the convolutions still run
    }
}

// What VGG19 keeps of an output the backward needs only a little of: a byte per window for a max
// pool, a bit per value for a ReLU. Both must route the gradient exactly as the full output does.
@Suite("Compact activations")
struct CompactActivationTests {
    @Test func poolRoutingFromBytesEqualsTheBackwardFromTheInput() throws {
        var rng = SeededRandom(seed: 64)
        // Ties on purpose: a quarter of the values are copies of a neighbour (flat regions).
        var values: [Float] = randomArray(6 * 9 * 11, &rng)
        for i in stride(from: 1, to: values.count, by: 4) { values[i] = values[i - 1] }
        for i in stride(from: 0, to: values.count, by: 7) { values[i] = 0 }
        let x = try Tensor(shape: [6, 9, 11], data: values)
        let dOut = randomTensor([6, 4, 5], &rng)
        let reference = try pool2x2Backward(dOut, input: x, .max, Compute(backend: .reference))
        for threads in [1, 2] {
            let (out, argmax) = try maxPool2x2WithArgmax(x, Compute(threads: threads))
            #expect(out.data == (try pool2x2(x, .max, Compute(backend: .reference))).data)
            #expect(argmax.count == 6 * 4 * 5 && argmax.allSatisfy { $0 < 4 })
            // The routing writes every value of dx (no zero-fill first): freed NaNs where dx will go
            // make a value it skipped (the odd last row and column) show.
            _ = leaveNaNsInTheHeap(6 * 9 * 11)
            let routed = try maxPool2x2Backward(dOut, argmax: argmax, inputShape: [6, 9, 11], Compute(threads: threads))
            #expect(routed.data == reference.data, "\(threads) threads")
        }
        #expect(throws: KernelError.self) { try maxPool2x2Backward(dOut, argmax: [0, 1], inputShape: [6, 9, 11]) }
    }

    /// The average pool's backward from the input's shape alone (what VGG19 keeps of a layer below an
    /// average pool: nothing) equals the one given the input, odd last row and column included.
    @Test func averagePoolBackwardFromTheShapeEqualsTheBackwardFromTheInput() throws {
        var rng = SeededRandom(seed: 66)
        let x = randomTensor([5, 9, 11], &rng)
        let dOut = randomTensor([5, 4, 5], &rng)
        // The plain loops of the reference, on the input's shape (they never read the input either).
        let reference = avgPool2x2Backward(dOut: dOut.data, c: 5, h: 9, w: 11)
        #expect(reference.count == x.count)
        for compute in [Compute(backend: .reference), Compute(threads: 1), Compute(threads: 2)] {
            _ = leaveNaNsInTheHeap(5 * 9 * 11)
            let fromShape = try averagePool2x2Backward(dOut, inputShape: x.shape, compute)
            #expect(fromShape.data == reference, "\(compute.backend)")
        }
        #expect(throws: KernelError.self) { try averagePool2x2Backward(dOut, inputShape: [5, 10, 11]) }
        #expect(throws: KernelError.self) { try averagePool2x2Backward(dOut, inputShape: [5, 1, 11]) }
    }

    @Test func aBitMaskGivesTheSameBackwardAsTheOutput() throws {
        var rng = SeededRandom(seed: 65)
        let (c, oc, h, w) = (24, 20, 13, 18)
        let weight = randomTensor([oc, c, 3, 3], &rng, in: -0.1...0.1)
        let dOut = randomTensor([oc, h, w], &rng)
        let output = relu(randomTensor([oc, h, w], &rng))
        let bits = packPositiveBits(output.data)
        #expect(bits.count == (oc * h * w + 7) / 8 + 4)
        #expect(packPositiveBits(output.data, threads: 3) == bits)  // 4680 values: parts end mid-byte-pair
        for backend in [Backend.reference, .simd] {
            for conv in [ConvAlgorithm.direct, .winograd] {
                let compute = Compute(backend: backend, threads: 2, conv: conv)
                let fromOutput = try conv2dBackwardData(dOut, weight: weight, reluOutput: output, compute)
                let fromBits = try conv2dBackwardData(dOut, weight: weight, reluPositive: bits, compute)
                #expect(fromBits.data == fromOutput.data, "\(backend) \(conv)")
            }
        }
        #expect(throws: KernelError.self) { try conv2dBackwardData(dOut, weight: weight, reluPositive: [1, 0], Compute()) }
    }
}

/// Allocates `count` NaNs and frees them, so that the next allocation of that size likely reuses the memory.
@inline(never) func leaveNaNsInTheHeap(_ count: Int) -> Int {
    let dirt = [Float](repeating: .nan, count: count)
    return dirt.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }
}
