// 2-D convolution, stride 1, "same" zero padding (p = k/2), with bias.
// x is (C, H, W), weight is (OC, C, k, k) (PyTorch's layout), bias is (OC), out is (OC, H, W).
//
//   forward:  out[o][y][x] = bias[o] + Σ_c Σ_i Σ_j weight[o][c][i][j] · x[c][y+i−p][x+j−p]
//   backward: dx[c][y'][x'] = Σ_o Σ_i Σ_j weight[o][c][i][j] · dOut[o][y'−i+p][x'−j+p]
//             (the forward read x[c][y+i−p][x+j−p]; every read becomes a scatter of dOut back)
//
// VGG19 is never trained, so there is no weight or bias gradient.
//
// The fast path lowers the convolution to GEMM with im2col: column (y, x) of
// cols (C·k·k, H·W) holds the k×k patch around (y, x), so out = weight · cols and
// dcols = weightᵀ · dOut, which col2im adds back into dx. To bound memory the
// image is done in bands of output rows (a full im2col at 512² would take 600 MB).

// MARK: - Reference (plain loops, summed in Double; generic so tests can run it in Double)

@inlinable
public func conv2dForwardReference<T: BinaryFloatingPoint>(
    out: inout [T], x: [T], weight: [T], bias: [T], c: Int, h: Int, w: Int, oc: Int, k: Int
) {
    let p = k / 2
    out = [T](repeating: 0, count: oc * h * w)
    for o in 0..<oc {
        for y in 0..<h {
            for xx in 0..<w {
                var sum = Double(bias[o])
                for ci in 0..<c {
                    for i in 0..<k {
                        let sy = y + i - p
                        if sy < 0 || sy >= h { continue }
                        for j in 0..<k {
                            let sx = xx + j - p
                            if sx < 0 || sx >= w { continue }
                            sum += Double(weight[((o * c + ci) * k + i) * k + j]) * Double(x[(ci * h + sy) * w + sx])
                        }
                    }
                }
                out[(o * h + y) * w + xx] = T(sum)
            }
        }
    }
}

/// Overwrites dX with the gradient with respect to the input.
@inlinable
public func conv2dBackwardDataReference<T: BinaryFloatingPoint>(
    dX: inout [T], dOut: [T], weight: [T], c: Int, h: Int, w: Int, oc: Int, k: Int
) {
    let p = k / 2
    var acc = [Double](repeating: 0, count: c * h * w)
    for o in 0..<oc {
        for y in 0..<h {
            for xx in 0..<w {
                let g = Double(dOut[(o * h + y) * w + xx])
                if g == 0 { continue }
                for ci in 0..<c {
                    for i in 0..<k {
                        let sy = y + i - p
                        if sy < 0 || sy >= h { continue }
                        for j in 0..<k {
                            let sx = xx + j - p
                            if sx < 0 || sx >= w { continue }
                            acc[(ci * h + sy) * w + sx] += Double(weight[((o * c + ci) * k + i) * k + j]) * g
                        }
                    }
                }
            }
        }
    }
    dX = acc.map { T($0) }
}

// MARK: - im2col / col2im for a band of output rows y0 ..< y0+rows

/// cols[(ci·k + i)·k + j][yy·W + x] = x[ci][y0+yy+i−p][x+j−p], or 0 outside the image.
/// cols is (C·k·k, rows·W).
func im2col(
    _ cols: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
    c: Int, h: Int, w: Int, k: Int, y0: Int, rows: Int, threads: Int
) {
    let p = k / 2
    let nb = rows * w
    let chunks = splitRange(c, parts: threads, align: 1)
    parallelFor(chunks.count, threads: threads) { t in
        for ci in chunks[t] {
            for i in 0..<k {
                for j in 0..<k {
                    let row = cols + ((ci * k + i) * k + j) * nb
                    // Columns x with 0 ≤ x+j−p < w are copied; the rest are padding.
                    let lo = max(0, p - j), hi = min(w, w + p - j)
                    for yy in 0..<rows {
                        let dst = row + yy * w
                        let sy = y0 + yy + i - p
                        if sy < 0 || sy >= h || lo >= hi {
                            dst.update(repeating: 0, count: w)
                            continue
                        }
                        if lo > 0 { dst.update(repeating: 0, count: lo) }
                        (dst + lo).update(from: x + (ci * h + sy) * w + lo + j - p, count: hi - lo)
                        if hi < w { (dst + hi).update(repeating: 0, count: w - hi) }
                    }
                }
            }
        }
    }
}

/// The adjoint of im2col: dx[ci][y0+yy+i−p][x+j−p] += dcols[(ci·k + i)·k + j][yy·W + x].
func col2im(
    _ dx: UnsafeMutablePointer<Float>, _ dcols: UnsafePointer<Float>,
    c: Int, h: Int, w: Int, k: Int, y0: Int, rows: Int, threads: Int
) {
    let p = k / 2
    let nb = rows * w
    let chunks = splitRange(c, parts: threads, align: 1)
    parallelFor(chunks.count, threads: threads) { t in
        for ci in chunks[t] {
            for i in 0..<k {
                for j in 0..<k {
                    let row = dcols + ((ci * k + i) * k + j) * nb
                    let lo = max(0, p - j), hi = min(w, w + p - j)
                    if lo >= hi { continue }
                    for yy in 0..<rows {
                        let sy = y0 + yy + i - p
                        if sy < 0 || sy >= h { continue }
                        let src = row + yy * w
                        let dst = dx + (ci * h + sy) * w + j - p
                        for xx in lo..<hi { dst[xx] += src[xx] }
                    }
                }
            }
        }
    }
}

/// Output rows per band so one band's cols stay near 16 MB.
func convBandRows(c: Int, h: Int, w: Int, k: Int) -> Int {
    let budget = 1 << 22
    return max(1, min(h, budget / max(1, c * k * k * w)))
}

// MARK: - Fast path (im2col + GEMM on the chosen backend)

func conv2dForwardGEMM(
    _ compute: Compute, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, packedWeight: UnsafePointer<Float>?, bias: UnsafePointer<Float>, relu: Bool,
    c: Int, h: Int, w: Int, oc: Int, k: Int
) {
    let kk = c * k * k
    let hw = h * w
    let bandRows = convBandRows(c: c, h: h, w: w, k: k)
    ScratchPool.shared.withFloats(kk * bandRows * w) { cols in
        for y0 in stride(from: 0, to: h, by: bandRows) {
            let rows = min(bandRows, h - y0)
            im2col(cols, x, c: c, h: h, w: w, k: k, y0: y0, rows: rows, threads: compute.threads)
            if let packedWeight {
                sgemmPrepackedA(
                    packedA: packedWeight, m: oc, n: rows * w, k: kk, b: cols, ldb: rows * w,
                    beta: 0, c: out + y0 * w, ldc: hw, threads: compute.threads)
            } else {
                sgemm(
                    compute, transA: false, transB: false, m: oc, n: rows * w, k: kk, alpha: 1,
                    a: weight, lda: kk, b: cols, ldb: rows * w, beta: 0, c: out + y0 * w, ldc: hw)
            }
        }
    }
    // Epilogue: bias, and the ReLU when the caller wants the rectified output only.
    let chunks = splitRange(oc, parts: compute.threads, align: 1)
    parallelFor(chunks.count, threads: compute.threads) { t in
        for o in chunks[t] {
            let row = out + o * hw
            let b = bias[o]
            if relu {
                for i in 0..<hw { row[i] = max(row[i] + b, 0) }
            } else {
                for i in 0..<hw { row[i] += b }
            }
        }
    }
}

func conv2dBackwardDataGEMM(
    _ compute: Compute, dX: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, packedWeightT: UnsafePointer<Float>?, c: Int, h: Int, w: Int, oc: Int, k: Int
) {
    let kk = c * k * k
    let hw = h * w
    let bandRows = convBandRows(c: c, h: h, w: w, k: k)
    dX.update(repeating: 0, count: c * hw)
    ScratchPool.shared.withFloats(kk * bandRows * w) { dcols in
        for y0 in stride(from: 0, to: h, by: bandRows) {
            let rows = min(bandRows, h - y0)
            if let packedWeightT {
                sgemmPrepackedA(
                    packedA: packedWeightT, m: kk, n: rows * w, k: oc, b: dOut + y0 * w, ldb: hw,
                    beta: 0, c: dcols, ldc: rows * w, threads: compute.threads)
            } else {
                sgemm(
                    compute, transA: true, transB: false, m: kk, n: rows * w, k: oc, alpha: 1,
                    a: weight, lda: kk, b: dOut + y0 * w, ldb: hw, beta: 0, c: dcols, ldc: rows * w)
            }
            col2im(dX, dcols, c: c, h: h, w: w, k: k, y0: y0, rows: rows, threads: compute.threads)
        }
    }
}

/// Forward by Winograd, with the transformed weights U (36 × OC × C): plain for the BLAS backend,
/// packed for the SIMD GEMM (`forms`, kept by a layer across calls).
func conv2dForwardWinograd(
    _ compute: Compute, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
    forms: ConvWeightForms, bias: UnsafePointer<Float>, relu: Bool,
    c: Int, h: Int, w: Int, oc: Int
) {
    withWinogradWeights(compute, forms, backward: false) { u, packed in
        conv3x3Winograd(
            compute, out: out, x: x, inputMask: nil, u: u, uPacked: packed,
            bias: bias, relu: relu, c: c, h: h, w: w, oc: oc)
    }
}

/// Backward-data by Winograd: the forward convolution of dOut (OC channels) into C channels with
/// every kernel rotated 180°. `mask` fuses a ReLU's backward.
func conv2dBackwardDataWinograd(
    _ compute: Compute, dX: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
    mask: MaskPointer?, forms: ConvWeightForms,
    c: Int, h: Int, w: Int, oc: Int
) {
    withWinogradWeights(compute, forms, backward: true) { u, packed in
        conv3x3Winograd(
            compute, out: dX, x: dOut, inputMask: mask, u: u, uPacked: packed,
            bias: nil, relu: false, c: oc, h: h, w: w, oc: c)
    }
}

private func withWinogradWeights(
    _ compute: Compute, _ forms: ConvWeightForms, backward: Bool,
    _ body: (UnsafePointer<Float>, Bool) -> Void
) {
    if compute.backend == .simd {
        forms.withPrepared(backward ? .winogradBackward : .winogradForward, threads: compute.threads) { body($0, true) }
        return
    }
    ScratchPool.shared.withFloats(36 * forms.oc * forms.c) { u in
        forms.weight.data.withUnsafeBufferPointer { w in
            winogradTransformWeights(
                u, weight: w.baseAddress!, oc: forms.oc, c: forms.c, forBackward: backward, threads: compute.threads)
        }
        body(u, false)
    }
}

/// Where a ReLU's output was positive, as its backward reads it: the output itself, or one bit per
/// value (`packPositiveBits`) — what a caller keeps when it does not need the output (VGG19's compact
/// activations). `bits` starts at value `offset` of the packed array.
enum MaskPointer {
    case values(UnsafePointer<Float>)
    case bits(UnsafePointer<UInt8>, offset: Int)

    func advanced(by n: Int) -> MaskPointer {
        switch self {
        case .values(let p): return .values(p + n)
        case .bits(let p, let offset): return .bits(p, offset: offset + n)
        }
    }

    @inline(__always) func positive(_ i: Int) -> Bool {
        switch self {
        case .values(let p): return p[i] > 0
        case .bits(let p, let offset): return (p[(offset + i) >> 3] >> UInt8((offset + i) & 7)) & 1 != 0
        }
    }
}

/// One bit per value, 1 where it is positive: bit k & 7 of byte k >> 3 for value k, and four bytes of
/// padding, so a reader may load 32 bits at any byte. A ReLU's mask at 1/32 of the output's memory.
public func packPositiveBits(_ values: [Float], threads: Int = 1) -> [UInt8] {
    var bits = [UInt8](repeating: 0, count: (values.count + 7) / 8 + 4)
    let lane = SIMD16<UInt32>(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
    let chunks = splitRange(values.count, parts: threads, align: 16)
    values.withUnsafeBufferPointer { v in
        bits.withUnsafeMutableBufferPointer { b in
            let (src, dst) = (v.baseAddress!, b.baseAddress!)
            parallelFor(chunks.count, threads: threads) { t in
                var k = chunks[t].lowerBound
                while k + 16 <= chunks[t].upperBound {  // 16 values → 2 bytes, k a multiple of 16
                    let x = UnsafeRawPointer(src + k).loadUnaligned(as: SIMD16<Float>.self)
                    let word = SIMD16<UInt32>(repeating: 0).replacing(with: lane, where: x .> 0).wrappedSum()
                    dst[k >> 3] = UInt8(truncatingIfNeeded: word)
                    dst[(k >> 3) + 1] = UInt8(truncatingIfNeeded: word >> 8)
                    k += 16
                }
                while k < chunks[t].upperBound {  // the last part's tail only
                    if src[k] > 0 { dst[k >> 3] |= 1 << UInt8(k & 7) }
                    k += 1
                }
            }
        }
    }
    return bits
}

/// dOut · (mask > 0), the ReLU's backward, for the direct path (the Winograd path fuses it).
func applyReLUMask(
    _ dst: UnsafeMutablePointer<Float>, _ dOut: UnsafePointer<Float>, mask: MaskPointer,
    count: Int, threads: Int
) {
    let chunks = splitRange(count, parts: threads, align: 16)
    parallelFor(chunks.count, threads: threads) { t in
        switch mask {  // once per chunk, not per value
        case .values(let m):
            for i in chunks[t] { dst[i] = m[i] > 0 ? dOut[i] : 0 }
        case .bits(let b, let offset):
            for i in chunks[t] { dst[i] = (b[(offset + i) >> 3] >> UInt8((offset + i) & 7)) & 1 != 0 ? dOut[i] : 0 }
        }
    }
}

// MARK: - Tensor API

/// Runs body with the ReLU mask as a pointer: the output's values, or its bits, or none.
private func withMaskPointer(_ values: Tensor?, _ bits: [UInt8]?, _ body: (MaskPointer?) -> Void) {
    if let values {
        values.data.withUnsafeBufferPointer { body(.values($0.baseAddress!)) }
    } else if let bits {
        bits.withUnsafeBufferPointer { body(.bits($0.baseAddress!, offset: 0)) }
    } else {
        body(nil)
    }
}

/// The SIMD GEMM's packed weights (nil for the other backends, whose GEMM packs its own).
private func withPackedWeights(
    _ compute: Compute, _ forms: ConvWeightForms, _ form: ConvWeightForms.Form, _ body: (UnsafePointer<Float>?) -> Void
) {
    if compute.backend == .simd {
        forms.withPrepared(form, threads: compute.threads) { body($0) }
    } else {
        body(nil)
    }
}

/// The layer's kept forms if they are of this weight, else forms for this call only.
func checkedForms(_ forms: ConvWeightForms?, _ weight: Tensor) throws -> ConvWeightForms {
    guard let forms else { return ConvWeightForms(checked: weight, cache: nil) }
    guard forms.weight == weight else {
        throw KernelError.shape("conv2d: the prepared weight forms are of another weight than the one given (shape \(forms.weight.shape))")
    }
    return forms
}

/// Checks x (C, H, W), weight (OC, C, k, k) with k odd, bias (OC); returns the sizes.
func checkConvShapes(input: [Int], weight: Tensor) throws -> (c: Int, h: Int, w: Int, oc: Int, k: Int) {
    guard input.count == 3 else { throw KernelError.shape("conv2d input must be (C, H, W), got \(input)") }
    guard weight.rank == 4 else {
        throw KernelError.shape("conv2d weight must be (OC, C, k, k), got \(weight.shape)")
    }
    let (oc, wc, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    guard kh == kw, kh % 2 == 1 else {
        throw KernelError.shape("conv2d supports square odd kernels (\"same\" padding), got \(kh)×\(kw)")
    }
    guard wc == input[0] else {
        throw KernelError.shape("conv2d input has \(input[0]) channels, weight \(weight.shape) expects \(wc)")
    }
    return (input[0], input[1], input[2], oc, kh)
}

/// out = conv(x, weight) + bias; x (C, H, W) → (OC, H, W). With `relu`, returns max(out, 0)
/// (fused into the convolution's last pass on the fast backends).
/// `forms`: the weights' prepared forms, kept across calls (VGG19 keeps one per layer); without
/// them they are prepared for this call.
public func conv2d(
    _ x: Tensor, weight: Tensor, bias: Tensor, relu: Bool = false, forms: ConvWeightForms? = nil, _ compute: Compute
) throws -> Tensor {
    try compute.checkAvailable()
    let s = try checkConvShapes(input: x.shape, weight: weight)
    guard bias.shape == [s.oc] else {
        throw KernelError.shape("conv2d bias must be (\(s.oc)), got \(bias.shape)")
    }
    if compute.backend == .reference {
        var out: [Float] = []
        conv2dForwardReference(
            out: &out, x: x.data, weight: weight.data, bias: bias.data,
            c: s.c, h: s.h, w: s.w, oc: s.oc, k: s.k)
        return Tensor(validShape: [s.oc, s.h, s.w], data: relu ? reluForward(out) : out)
    }
    var out = uninitializedFloats(s.oc * s.h * s.w)
    let algorithm = compute.convAlgorithm(c: s.c, h: s.h, w: s.w, oc: s.oc, k: s.k, backward: false)
    let forms = try checkedForms(forms, weight)
    out.withUnsafeMutableBufferPointer { po in
        if algorithm == .winograd {
            conv2dForwardWinograd(
                compute, out: po.baseAddress!, x: x.data, forms: forms, bias: bias.data,
                relu: relu, c: s.c, h: s.h, w: s.w, oc: s.oc)
        } else {
            withPackedWeights(compute, forms, .directForward) { packed in
                conv2dForwardGEMM(
                    compute, out: po.baseAddress!, x: x.data, weight: weight.data, packedWeight: packed,
                    bias: bias.data, relu: relu, c: s.c, h: s.h, w: s.w, oc: s.oc, k: s.k)
            }
        }
    }
    return Tensor(validShape: [s.oc, s.h, s.w], data: out)
}

/// dx for out = conv(x, weight) + bias, given dOut (OC, H, W); returns (C, H, W).
/// With `reluOutput` (the layer's rectified output), dOut is first taken through that ReLU's
/// backward (dz = dOut where reluOutput > 0) — fused into the input pass on the Winograd path.
/// `reluPositive`: the same mask as one bit per value (`packPositiveBits` of the output), instead of the output.
public func conv2dBackwardData(
    _ dOut: Tensor, weight: Tensor, reluOutput: Tensor? = nil, reluPositive: [UInt8]? = nil,
    forms: ConvWeightForms? = nil, _ compute: Compute
) throws -> Tensor {
    if let bits = reluPositive {
        guard reluOutput == nil, bits.count == (dOut.count + 7) / 8 + 4 else {
            throw KernelError.shape("conv2d backward: a ReLU mask of \(bits.count) bytes for dOut \(dOut.shape)")
        }
        if compute.backend == .reference {  // the plain loops read the mask as values
            let mask = bits.withUnsafeBufferPointer { p in
                (0..<dOut.count).map { MaskPointer.bits(p.baseAddress!, offset: 0).positive($0) ? Float(1) : 0 }
            }
            return try conv2dBackwardData(dOut, weight: weight, reluOutput: try Tensor(shape: dOut.shape, data: mask), forms: forms, compute)
        }
    }
    try compute.checkAvailable()
    guard dOut.rank == 3, weight.rank == 4, dOut.shape[0] == weight.shape[0] else {
        throw KernelError.shape("conv2d backward: dOut \(dOut.shape) does not match weight \(weight.shape)")
    }
    if let mask = reluOutput { try requireSameShape(dOut, mask, "conv2d backward ReLU mask") }
    let s = try checkConvShapes(input: [weight.shape[1], dOut.shape[1], dOut.shape[2]], weight: weight)
    if compute.backend == .reference {
        let dz = reluOutput.map { reluBackward(dOut: dOut.data, x: $0.data) } ?? dOut.data
        var dX: [Float] = []
        conv2dBackwardDataReference(
            dX: &dX, dOut: dz, weight: weight.data,
            c: s.c, h: s.h, w: s.w, oc: s.oc, k: s.k)
        return Tensor(validShape: [s.c, s.h, s.w], data: dX)
    }
    var dX = uninitializedFloats(s.c * s.h * s.w)
    let algorithm = compute.convAlgorithm(c: s.oc, h: s.h, w: s.w, oc: s.c, k: s.k, backward: true)
    let forms = try checkedForms(forms, weight)
    dX.withUnsafeMutableBufferPointer { pd in
        withMaskPointer(reluOutput, reluPositive) { mask in
            if algorithm == .winograd {
                conv2dBackwardDataWinograd(
                    compute, dX: pd.baseAddress!, dOut: dOut.data, mask: mask,
                    forms: forms, c: s.c, h: s.h, w: s.w, oc: s.oc)
                return
            }
            withPackedWeights(compute, forms, .directBackward) { packed in
                if let mask {
                    let count = dOut.count
                    ScratchPool.shared.withFloats(count) { dz in
                        applyReLUMask(dz, dOut.data, mask: mask, count: count, threads: compute.threads)
                        conv2dBackwardDataGEMM(
                            compute, dX: pd.baseAddress!, dOut: dz, weight: weight.data, packedWeightT: packed,
                            c: s.c, h: s.h, w: s.w, oc: s.oc, k: s.k)
                    }
                } else {
                    conv2dBackwardDataGEMM(
                        compute, dX: pd.baseAddress!, dOut: dOut.data, weight: weight.data, packedWeightT: packed,
                        c: s.c, h: s.h, w: s.w, oc: s.oc, k: s.k)
                }
            }
        }
    }
    return Tensor(validShape: [s.c, s.h, s.w], data: dX)
}
