import Testing

@testable import Kernels

// Bad arguments give a clear error, never a crash or silent garbage.

@Suite("Bad arguments are refused with a clear error")
struct ErrorTests {
    let cpu = Compute(backend: .simd)

    func message(_ body: () throws -> Any) -> String? {
        do {
            _ = try body()
            return nil
        } catch { return "\(error)" }
    }

    @Test func tensorDataMustMatchShape() {
        #expect(throws: KernelError.shape("tensor of shape [2, 3] needs 6 values, got 5")) {
            try Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5])
        }
    }

    @Test func emptyAndNegativeShapesAreRefused() {
        #expect(message { try Tensor(zeros: [3, 0, 4]) }?.contains("empty") == true)
        #expect(message { try Tensor(zeros: [-1]) }?.contains("empty") == true)
        #expect(message { try Tensor(zeros: []) } != nil)
        #expect(message { try Tensor(zeros: [Int.max, 4]) }?.contains("too large") == true)
    }

    @Test func convChannelMismatch() throws {
        let x = try Tensor(zeros: [3, 4, 4])
        let w = try Tensor(zeros: [8, 4, 3, 3])
        let msg = message { try conv2d(x, weight: w, bias: try Tensor(zeros: [8]), cpu) }
        #expect(msg == "shape mismatch: conv2d input has 3 channels, weight [8, 4, 3, 3] expects 4")
    }

    @Test func convBadBiasAndKernel() throws {
        let x = try Tensor(zeros: [3, 4, 4])
        #expect(
            message { try conv2d(x, weight: try Tensor(zeros: [8, 3, 3, 3]), bias: try Tensor(zeros: [7]), cpu) }?
                .contains("bias must be (8)") == true)
        #expect(
            message { try conv2d(x, weight: try Tensor(zeros: [8, 3, 2, 2]), bias: try Tensor(zeros: [8]), cpu) }?
                .contains("odd") == true)
        #expect(
            message { try conv2d(try Tensor(zeros: [3, 4]), weight: try Tensor(zeros: [8, 3, 3, 3]), bias: try Tensor(zeros: [8]), cpu) }?
                .contains("(C, H, W)") == true)
        #expect(message { try conv2dBackwardData(try Tensor(zeros: [7, 4, 4]), weight: try Tensor(zeros: [8, 3, 3, 3]), cpu) } != nil)
    }

    @Test func poolingNeedsTwoByTwo() throws {
        #expect(message { try pool2x2(try Tensor(zeros: [3, 1, 5]), .max) }?.contains("H, W ≥ 2") == true)
        let x = try Tensor(zeros: [2, 5, 5])
        #expect(message { try pool2x2Backward(try Tensor(zeros: [2, 3, 3]), input: x, .average) }?.contains("does not match") == true)
        #expect(try pool2x2(x, .max).shape == [2, 2, 2])  // floor on odd sizes
    }

    @Test func gramAndLossShapeMismatches() throws {
        let x = try Tensor(zeros: [4, 3, 3])
        #expect(message { try gramMatrixBackward(try Tensor(zeros: [3, 3]), input: x, cpu) } != nil)
        #expect(
            message { try styleLossAndGramGradient(x, targetGram: try Tensor(zeros: [5, 5]), .gatys, wantGradient: true, cpu) }?
                .contains("target Gram") == true)
        #expect(message { try contentLoss(x, target: try Tensor(zeros: [4, 3, 2])) }?.contains("differ") == true)
        #expect(message { try reluBackward(try Tensor(zeros: [4]), input: x) } != nil)
    }

    @Test func blasBackendReportsWhetherItIsAvailable() throws {
        let blas = Compute(backend: .blas)
        if OpenBLAS.isAvailable {
            try blas.checkAvailable()
            #expect(!OpenBLAS.coreName.isEmpty)
        } else {
            #expect(message { try blas.checkAvailable() }?.contains("OpenBLAS not found") == true)
        }
    }
}
