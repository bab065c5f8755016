// Winograd F(4×4, 3×3): a 3×3, stride 1, pad 1 convolution that computes each 4×4 output tile
// from the 6×6 input tile around it with 36 multiplies per channel pair instead of 9·16 = 144.
//
//   Y_o = Aᵀ [ Σ_c (G g_oc Gᵀ) ⊙ (Bᵀ d_c B) ] A        g_oc (3×3) kernel, d_c (6×6) input tile
//
// The sum over c of the 36 element-wise products is 36 independent matrix products
// (ξ = one of the 6×6 positions):  M[ξ] (OC × tiles) = U[ξ] (OC × C) · V[ξ] (C × tiles),
// with U[ξ] = (G g Gᵀ)[ξ] and V[ξ] = (Bᵀ d B)[ξ]. Those run on the GEMM micro-kernel.
//
// Interpolation points 0, ±1, ±2, ∞ (Lavin & Gray 2015):
//
//   Bᵀ = [ 4  0 −5  0  1  0 ]     G = [  1/4    0     0  ]     Aᵀ = [ 1  1  1  1  1  0 ]
//        [ 0 −4 −4  1  1  0 ]         [ −1/6 −1/6  −1/6 ]          [ 0  1 −1  2 −2  0 ]
//        [ 0  4 −4 −1  1  0 ]         [ −1/6  1/6  −1/6 ]          [ 0  1  1  4  4  0 ]
//        [ 0 −2 −1  2  1  0 ]         [ 1/24  1/12  1/6 ]          [ 0  1 −1  8 −8  1 ]
//        [ 0  2 −1 −2  1  0 ]         [ 1/24 −1/12  1/6 ]
//        [ 0  4  0 −5  0  1 ]         [   0     0     1  ]
//
// Rounding grows with the tile: measured relative L2 error against the direct convolution is
// 1e-6 … 4e-6 on VGG19's layers (direct: 2–3e-7), well inside what the loss needs.
//
// Backward with respect to the input is the same convolution with each kernel rotated by 180°
// and the channel axes swapped (dX = conv(dOut, rot180(Wᵀ))), so one routine serves both: only
// the weight transform differs. The backward also passes the layer's rectified output as a mask,
// fusing the ReLU's backward (dz = dOut where out > 0) into the input transform.

// MARK: - The transforms, one dimension at a time (applied to rows, then to columns)

/// Bᵀ d for a column (or row) of six input values.
@inline(__always)
func winogradInput1D<V: SIMD>(_ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V)
    -> (V, V, V, V, V, V) where V.Scalar == Float
{
    let a = d4 - 4 * d2, b = d3 - 4 * d1  // rows 1 and 2 are a ± b
    let c = d4 - d2, e = 2 * (d3 - d1)  // rows 3 and 4 are c ± e
    return (4 * d0 - 5 * d2 + d4, a + b, a - b, c + e, c - e, 4 * d1 - 5 * d3 + d5)
}

/// Aᵀ m for six transformed values: the four outputs of a tile row (or column).
@inline(__always)
func winogradOutput1D<V: SIMD>(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V)
    -> (V, V, V, V) where V.Scalar == Float
{
    let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
    return (m0 + s12 + s34, d12 + 2 * d34, s12 + 4 * s34, d12 + 8 * d34 + m5)
}

/// G g for three kernel taps: six transformed taps.
@inline(__always)
func winogradKernel1D<V: SIMD>(_ g0: V, _ g1: V, _ g2: V) -> (V, V, V, V, V, V) where V.Scalar == Float {
    let outer = g0 + g2
    let p = g0 * (1 / 24 as Float) + g2 * (1 / 6 as Float), q = g1 * (1 / 12 as Float)
    return (g0 * (1 / 4 as Float), (outer + g1) * (-1 / 6 as Float), (outer - g1) * (-1 / 6 as Float), p + q, p - q, g2)
}

// MARK: - Reference: the formula above, one tile at a time, in plain loops

/// out (OC, H, W) = conv3x3(x (C, H, W), weight (OC, C, 3, 3)) + bias, by F(4×4, 3×3), tile by tile.
/// The readable statement of the algorithm; tests check the fast path against it and it against
/// the direct convolution.
public func conv3x3WinogradReference(
    out: inout [Float], x: [Float], weight: [Float], bias: [Float],
    c: Int, h: Int, w: Int, oc: Int
) {
    let bt: [[Float]] = [
        [4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1],
    ]
    let g: [[Float]] = [
        [1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1],
    ]
    let at: [[Float]] = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
    // U[o][c] = G g Gᵀ (6×6)
    var u = [Float](repeating: 0, count: oc * c * 36)
    for o in 0..<oc {
        for ci in 0..<c {
            let k = weight[((o * c + ci) * 9)..<((o * c + ci) * 9 + 9)].map { $0 }
            for r in 0..<6 {
                for s in 0..<6 {
                    var sum: Float = 0
                    for i in 0..<3 { for j in 0..<3 { sum += g[r][i] * k[i * 3 + j] * g[s][j] } }
                    u[(o * c + ci) * 36 + r * 6 + s] = sum
                }
            }
        }
    }
    out = [Float](repeating: 0, count: oc * h * w)
    for ty in stride(from: 0, to: h, by: 4) {
        for tx in stride(from: 0, to: w, by: 4) {
            // V[c] = Bᵀ d B for the 6×6 input tile whose corner is (ty − 1, tx − 1)
            var v = [Float](repeating: 0, count: c * 36)
            for ci in 0..<c {
                func d(_ i: Int, _ j: Int) -> Float {
                    let y = ty - 1 + i, xx = tx - 1 + j
                    return y < 0 || y >= h || xx < 0 || xx >= w ? 0 : x[(ci * h + y) * w + xx]
                }
                for r in 0..<6 {
                    for s in 0..<6 {
                        var sum: Float = 0
                        for i in 0..<6 { for j in 0..<6 { sum += bt[r][i] * d(i, j) * bt[s][j] } }
                        v[ci * 36 + r * 6 + s] = sum
                    }
                }
            }
            for o in 0..<oc {
                var m = [Float](repeating: 0, count: 36)
                for ci in 0..<c { for e in 0..<36 { m[e] += u[(o * c + ci) * 36 + e] * v[ci * 36 + e] } }
                for i in 0..<4 {
                    for j in 0..<4 where ty + i < h && tx + j < w {
                        var sum: Float = 0
                        for r in 0..<6 { for s in 0..<6 { sum += at[i][r] * m[r * 6 + s] * at[j][s] } }
                        out[(o * h + ty + i) * w + tx + j] = sum + bias[o]
                    }
                }
            }
        }
    }
}

// MARK: - Fast path

typealias WinogradVector = SIMD16<Float>
let winogradLanes = 16

/// U[ξ][o][c] = (G g_oc Gᵀ)[ξ] for weight (OC, C, 3, 3); u holds 36 · OC · C floats.
/// `forBackward`: the backward's kernels instead, U[ξ][c][o] = (G rot180(g_oc) Gᵀ)[ξ] — each
/// kernel turned by 180° and the channel axes swapped, so the same forward routine computes dX.
func winogradTransformWeights(
    _ u: UnsafeMutablePointer<Float>, weight: UnsafePointer<Float>,
    oc: Int, c: Int, forBackward: Bool, threads: Int
) {
    let pairs = oc * c
    let chunks = splitRange(pairs, parts: threads, align: winogradLanes)
    parallelFor(chunks.count, threads: threads) { t in
        // taps: 9 rows of 16 floats (tap i·3 + j of 16 (o, c) pairs); gg: G g, 6 × 3 vectors.
        let tapFloats = UnsafeMutablePointer<Float>.allocate(capacity: 9 * winogradLanes)
        let gg = UnsafeMutablePointer<WinogradVector>.allocate(capacity: 18)
        defer {
            tapFloats.deallocate()
            gg.deallocate()
        }
        @inline(__always) func taps(_ tap: Int) -> WinogradVector {
            UnsafeRawPointer(tapFloats + tap * winogradLanes).loadUnaligned(as: WinogradVector.self)
        }
        for p0 in stride(from: chunks[t].lowerBound, to: chunks[t].upperBound, by: winogradLanes) {
            let n = min(winogradLanes, chunks[t].upperBound - p0)
            // Transpose 16 kernels (9 contiguous taps each) into 9 vectors of 16 pairs, through
            // memory: inserting lanes one by one into a vector register was several times slower.
            if n < winogradLanes { tapFloats.update(repeating: 0, count: 9 * winogradLanes) }
            for lane in 0..<n {
                let pair = p0 + lane  // (o, c) forward, (c, o) backward
                if forBackward {
                    let kernel = weight + ((pair % oc) * c + pair / oc) * 9
                    for tap in 0..<9 { tapFloats[tap * winogradLanes + lane] = kernel[8 - tap] }
                } else {
                    let kernel = weight + pair * 9
                    for tap in 0..<9 { tapFloats[tap * winogradLanes + lane] = kernel[tap] }
                }
            }
            // G g: along the kernel's rows, for each of its three columns.
            for j in 0..<3 {
                let r = winogradKernel1D(taps(j), taps(3 + j), taps(6 + j))
                gg[j] = r.0
                gg[3 + j] = r.1
                gg[6 + j] = r.2
                gg[9 + j] = r.3
                gg[12 + j] = r.4
                gg[15 + j] = r.5
            }
            // (G g) Gᵀ: along each of the six rows; U[r·6 + s] gets lane l for pair p0 + l.
            for r in 0..<6 {
                let s = winogradKernel1D(gg[r * 3], gg[r * 3 + 1], gg[r * 3 + 2])
                let dst = u + (r * 6) * pairs + p0
                store(s.0, dst, n)
                store(s.1, dst + pairs, n)
                store(s.2, dst + 2 * pairs, n)
                store(s.3, dst + 3 * pairs, n)
                store(s.4, dst + 4 * pairs, n)
                store(s.5, dst + 5 * pairs, n)
            }
        }
    }
}

/// How many rows of 4×4 tiles one band holds, so V and M (36 × channels × tiles each) stay near 8 MB.
func winogradBandTileRows(channels: Int, tilesPerRow: Int, tileRows: Int) -> Int {
    let budget = (8 << 20) / 4
    return max(1, min(tileRows, budget / max(1, 36 * channels * tilesPerRow)))
}

/// out (OC, H, W) = conv3x3(x (C, H, W)) + bias, with U (36 × OC × C) from winogradTransformWeights
/// (`uPacked`: each plane U[ξ] packed by packWholeA, for the SIMD GEMM; else plain, for BLAS).
/// `inputMask`: when given, x is read as x · (mask > 0) (a ReLU's backward, fused).
/// (The mask as values — the ReLU's output — or as one byte per value, 1 where positive.)
/// `bias` may be nil; `relu` rectifies the output. Overwrites out.
func conv3x3Winograd(
    _ compute: Compute, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
    inputMask: MaskPointer?, u: UnsafePointer<Float>, uPacked: Bool,
    bias: UnsafePointer<Float>?, relu: Bool, c: Int, h: Int, w: Int, oc: Int
) {
    let tilesPerRow = (w + 3) / 4, tileRows = (h + 3) / 4
    let bandRows = winogradBandTileRows(channels: max(c, oc), tilesPerRow: tilesPerRow, tileRows: tileRows)
    let bandTilesMax = bandRows * tilesPerRow
    ScratchPool.shared.withFloats(36 * c * bandTilesMax) { v in
        ScratchPool.shared.withFloats(36 * oc * bandTilesMax) { m in
            winogradBands(
                compute, out: out, x: x, inputMask: inputMask, u: u, uPacked: uPacked, bias: bias,
                relu: relu, c: c, h: h, w: w, oc: oc, v: v, m: m, bandRows: bandRows)
        }
    }
}

private func winogradBands(
    _ compute: Compute, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
    inputMask: MaskPointer?, u: UnsafePointer<Float>, uPacked: Bool,
    bias: UnsafePointer<Float>?, relu: Bool, c: Int, h: Int, w: Int, oc: Int,
    v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, bandRows: Int
) {
    let tilesPerRow = (w + 3) / 4, tileRows = (h + 3) / 4
    let threads = compute.threads
    for ty0 in stride(from: 0, to: tileRows, by: bandRows) {
        let rows = min(bandRows, tileRows - ty0)
        let tiles = rows * tilesPerRow
        // 1. V[ξ][c][t] = (Bᵀ d B)[ξ], parallel over channels.
        let cChunks = splitRange(c, parts: threads, align: 1)
        parallelFor(cChunks.count, threads: threads) { t in
            winogradInputTransform(
                v, x: x, mask: inputMask, channels: cChunks[t], c: c, h: h, w: w,
                tileRow0: ty0, tileRows: rows, tilesPerRow: tilesPerRow, tiles: tiles)
        }
        // 2. M[ξ] = U[ξ] · V[ξ]: 36 independent products, spread over the threads (SIMD: U packed once).
        let uPlane = oc * c
        if uPacked {
            let packedPlane = packedAFloats(m: oc, k: c)
            parallelFor(36, threads: threads) { xi in
                sgemmPrepackedA(
                    packedA: u + xi * packedPlane, m: oc, n: tiles, k: c, b: v + xi * c * tiles, ldb: tiles,
                    beta: 0, c: m + xi * oc * tiles, ldc: tiles, threads: 1)
            }
        } else {
            for xi in 0..<36 {  // OpenBLAS threads each product itself
                sgemm(
                    compute, transA: false, transB: false, m: oc, n: tiles, k: c, alpha: 1,
                    a: u + xi * uPlane, lda: c, b: v + xi * c * tiles, ldb: tiles,
                    beta: 0, c: m + xi * oc * tiles, ldc: tiles)
            }
        }
        // 3. Y = Aᵀ M A (+ bias, ReLU) into the output, parallel over output channels.
        let oChunks = splitRange(oc, parts: threads, align: 1)
        parallelFor(oChunks.count, threads: threads) { t in
            winogradOutputTransform(
                out, m: m, bias: bias, relu: relu, channels: oChunks[t], oc: oc, h: h, w: w,
                tileRow0: ty0, tileRows: rows, tilesPerRow: tilesPerRow, tiles: tiles)
        }
    }
}

/// For each channel and tile row of the band: de-interleave the six input rows into the four
/// phases of the tile stride (phase[k][t] = row[4t − 1 + k], so columns 4 and 5 of tile t are
/// phases 0 and 1 of tile t + 1), then transform 16 tiles at a time with contiguous vectors.
@inline(never)
private func winogradInputTransform(
    _ v: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
    mask: MaskPointer?, channels: Range<Int>, c: Int, h: Int, w: Int,
    tileRow0: Int, tileRows: Int, tilesPerRow: Int, tiles: Int
) {
    let lanes = winogradLanes
    let phaseLength = (tilesPerRow + lanes) / lanes * lanes + lanes  // room for the +1 reads, zero-padded
    let phases = UnsafeMutablePointer<Float>.allocate(capacity: 6 * 4 * phaseLength)
    phases.initialize(repeating: 0, count: 6 * 4 * phaseLength)
    // One input row with a zero on its left (x = −1) and zeros past its end: what the phases read.
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: 4 * phaseLength + lanes)
    padded.initialize(repeating: 0, count: 4 * phaseLength + lanes)
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: 36 * lanes * 4, alignment: 64)
        .bindMemory(to: WinogradVector.self, capacity: 36)
    defer {
        phases.deallocate()
        padded.deallocate()
        scratch.deallocate()
    }
    let plane = c * tiles  // floats between V[ξ] and V[ξ + 1]
    for ci in channels {
        let channel = x + ci * h * w
        let channelMask = mask.map { $0.advanced(by: ci * h * w) }
        for tr in 0..<tileRows {
            let ty = tileRow0 + tr
            for i in 0..<6 {
                let y = 4 * ty - 1 + i
                let ph = phases + i * 4 * phaseLength
                if y < 0 || y >= h {
                    ph.update(repeating: 0, count: 4 * phaseLength)
                    continue
                }
                copyRow(padded + 1, channel + y * w, mask: channelMask.map { $0.advanced(by: y * w) }, count: w)
                deinterleave4(ph, padded, phaseLength: phaseLength)
            }
            let base = tr * tilesPerRow
            for t0 in stride(from: 0, to: tilesPerRow, by: lanes) {
                let n = min(lanes, tilesPerRow - t0)
                @inline(__always) func d(_ i: Int, _ k: Int) -> WinogradVector {
                    let ph = phases + i * 4 * phaseLength
                    let p = k < 4 ? ph + k * phaseLength + t0 : ph + (k - 4) * phaseLength + t0 + 1
                    return UnsafeRawPointer(p).loadUnaligned(as: WinogradVector.self)
                }
                // Bᵀ d: along the columns of the tile.
                for k in 0..<6 {
                    let r = winogradInput1D(d(0, k), d(1, k), d(2, k), d(3, k), d(4, k), d(5, k))
                    scratch[k] = r.0
                    scratch[6 + k] = r.1
                    scratch[12 + k] = r.2
                    scratch[18 + k] = r.3
                    scratch[24 + k] = r.4
                    scratch[30 + k] = r.5
                }
                // (Bᵀ d) B: along each row; store V[r·6 + s][ci][base + t0 ..< +n].
                for r in 0..<6 {
                    let s = winogradInput1D(
                        scratch[r * 6], scratch[r * 6 + 1], scratch[r * 6 + 2],
                        scratch[r * 6 + 3], scratch[r * 6 + 4], scratch[r * 6 + 5])
                    let dst = v + (r * 6) * plane + ci * tiles + base + t0
                    store(s.0, dst, n)
                    store(s.1, dst + plane, n)
                    store(s.2, dst + 2 * plane, n)
                    store(s.3, dst + 3 * plane, n)
                    store(s.4, dst + 4 * plane, n)
                    store(s.5, dst + 5 * plane, n)
                }
            }
        }
    }
}

/// dst[0..<count] = src · (mask > 0) (or src when there is no mask).
@inline(__always)
private func copyRow(
    _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>,
    mask: MaskPointer?, count: Int
) {
    switch mask {
    case nil:
        dst.update(from: src, count: count)
    case .values(let mask):
        var j = 0
        while j + winogradLanes <= count {
            let value = UnsafeRawPointer(src + j).loadUnaligned(as: WinogradVector.self)
            let m = UnsafeRawPointer(mask + j).loadUnaligned(as: WinogradVector.self)
            UnsafeMutableRawPointer(dst + j).storeBytes(of: value.replacing(with: 0, where: .!(m .> 0)), as: WinogradVector.self)
            j += winogradLanes
        }
        while j < count {
            dst[j] = mask[j] > 0 ? src[j] : 0
            j += 1
        }
    case .bits(let bits, let offset):
        // 16 values' bits from any bit position: 32 bits loaded at its byte (the array is padded), shifted.
        let lane = SIMD16<UInt32>(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
        var j = 0
        while j + winogradLanes <= count {
            let k = offset + j
            let word = UInt32(littleEndian: UnsafeRawPointer(bits + (k >> 3)).loadUnaligned(as: UInt32.self)) >> UInt32(k & 7)
            let value = UnsafeRawPointer(src + j).loadUnaligned(as: WinogradVector.self)
            let off = (SIMD16<UInt32>(repeating: word) & lane) .== 0
            UnsafeMutableRawPointer(dst + j).storeBytes(of: value.replacing(with: 0, where: off), as: WinogradVector.self)
            j += winogradLanes
        }
        while j < count {
            dst[j] = mask!.positive(j) ? src[j] : 0
            j += 1
        }
    }
}

/// phases[k·L + t] = src[4t + k] for k < 4, t < L (L a multiple of 16): a stride-4 de-interleave,
/// 64 values at a time with two rounds of even/odd shuffles (12 permutes on AVX-512, no scalar moves).
@inline(__always)
private func deinterleave4(_ phases: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, phaseLength: Int) {
    for t in stride(from: 0, to: phaseLength, by: winogradLanes) {
        let r = UnsafeRawPointer(src + 4 * t)
        let a0 = r.loadUnaligned(as: WinogradVector.self)
        let a1 = r.loadUnaligned(fromByteOffset: 64, as: WinogradVector.self)
        let a2 = r.loadUnaligned(fromByteOffset: 128, as: WinogradVector.self)
        let a3 = r.loadUnaligned(fromByteOffset: 192, as: WinogradVector.self)
        let low = SIMD32(lowHalf: a0, highHalf: a1), high = SIMD32(lowHalf: a2, highHalf: a3)
        let even = SIMD32(lowHalf: low.evenHalf, highHalf: high.evenHalf)  // src[2i]
        let odd = SIMD32(lowHalf: low.oddHalf, highHalf: high.oddHalf)  // src[2i + 1]
        UnsafeMutableRawPointer(phases + t).storeBytes(of: even.evenHalf, as: WinogradVector.self)
        UnsafeMutableRawPointer(phases + phaseLength + t).storeBytes(of: odd.evenHalf, as: WinogradVector.self)
        UnsafeMutableRawPointer(phases + 2 * phaseLength + t).storeBytes(of: even.oddHalf, as: WinogradVector.self)
        UnsafeMutableRawPointer(phases + 3 * phaseLength + t).storeBytes(of: odd.oddHalf, as: WinogradVector.self)
    }
}

/// One perfect unshuffle of 64 values held as four vectors: evens first, then odds
/// (out[k] = in[2k], out[32 + k] = in[2k + 1]). Twice is deinterleave4's stride-4 split.
@inline(__always)
private func unshuffle64(_ a: (WinogradVector, WinogradVector, WinogradVector, WinogradVector))
    -> (WinogradVector, WinogradVector, WinogradVector, WinogradVector)
{
    let low = SIMD32(lowHalf: a.0, highHalf: a.1), high = SIMD32(lowHalf: a.2, highHalf: a.3)
    return (low.evenHalf, high.evenHalf, low.oddHalf, high.oddHalf)
}

/// The inverse of the stride-4 split: out[4t + k] = q_k[t], 64 values. An unshuffle moves the
/// value at index i (6 bits) to i rotated right by one bit, so six of them are the identity and
/// four undo the two of the split (16 permutes, instead of 64 scalar moves).
@inline(__always)
func interleave4(_ q0: WinogradVector, _ q1: WinogradVector, _ q2: WinogradVector, _ q3: WinogradVector)
    -> (WinogradVector, WinogradVector, WinogradVector, WinogradVector)
{
    unshuffle64(unshuffle64(unshuffle64(unshuffle64((q0, q1, q2, q3)))))
}

@inline(__always)
private func store(_ value: WinogradVector, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    if n == winogradLanes {
        UnsafeMutableRawPointer(dst).storeBytes(of: value, as: WinogradVector.self)
    } else {
        for lane in 0..<n { dst[lane] = value[lane] }
    }
}

/// Y = Aᵀ M A for 16 tiles at a time, plus bias and ReLU, written into the (OC, H, W) output
/// (the last tile row and column are clipped to the image).
@inline(never)
private func winogradOutputTransform(
    _ out: UnsafeMutablePointer<Float>, m: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, relu: Bool, channels: Range<Int>,
    oc: Int, h: Int, w: Int, tileRow0: Int, tileRows: Int,
    tilesPerRow: Int, tiles: Int
) {
    let lanes = winogradLanes
    let plane = oc * tiles
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: 24 * lanes * 4, alignment: 64)
        .bindMemory(to: WinogradVector.self, capacity: 24)
    defer { scratch.deallocate() }
    for o in channels {
        let b = bias.map { $0[o] } ?? 0
        for tr in 0..<tileRows {
            let ty = tileRow0 + tr
            let base = tr * tilesPerRow
            for t0 in stride(from: 0, to: tilesPerRow, by: lanes) {
                let n = min(lanes, tilesPerRow - t0)
                @inline(__always) func mv(_ r: Int, _ s: Int) -> WinogradVector {
                    let p = m + (r * 6 + s) * plane + o * tiles + base + t0
                    if n == lanes { return UnsafeRawPointer(p).loadUnaligned(as: WinogradVector.self) }
                    var v = WinogradVector.zero
                    for lane in 0..<n { v[lane] = p[lane] }
                    return v
                }
                // Aᵀ M: along the columns (6 → 4 rows).
                for s in 0..<6 {
                    let r = winogradOutput1D(mv(0, s), mv(1, s), mv(2, s), mv(3, s), mv(4, s), mv(5, s))
                    scratch[s] = r.0
                    scratch[6 + s] = r.1
                    scratch[12 + s] = r.2
                    scratch[18 + s] = r.3
                }
                // (Aᵀ M) A: along each row (6 → 4 columns), bias, ReLU; then the four columns of
                // the 16 tiles interleaved back into 64 consecutive pixels of the image row.
                for i in 0..<4 {
                    let y = 4 * ty + i
                    if y >= h { break }
                    let q = winogradOutput1D(
                        scratch[i * 6], scratch[i * 6 + 1], scratch[i * 6 + 2],
                        scratch[i * 6 + 3], scratch[i * 6 + 4], scratch[i * 6 + 5])
                    @inline(__always) func finish(_ value: WinogradVector) -> WinogradVector {
                        let y = value + b
                        return relu ? y.replacing(with: 0, where: y .< 0) : y
                    }
                    let row = interleave4(finish(q.0), finish(q.1), finish(q.2), finish(q.3))
                    let x0 = 4 * t0
                    let dst = out + (o * h + y) * w + x0
                    let count = min(4 * n, w - x0)  // the last tiles may hang over the image's edge
                    if count == 4 * lanes {
                        let raw = UnsafeMutableRawPointer(dst)
                        raw.storeBytes(of: row.0, as: WinogradVector.self)
                        raw.storeBytes(of: row.1, toByteOffset: 64, as: WinogradVector.self)
                        raw.storeBytes(of: row.2, toByteOffset: 128, as: WinogradVector.self)
                        raw.storeBytes(of: row.3, toByteOffset: 192, as: WinogradVector.self)
                    } else {
                        withUnsafeBytes(of: row) { dst.update(from: $0.bindMemory(to: Float.self).baseAddress!, count: count) }
                    }
                }
            }
        }
    }
}
