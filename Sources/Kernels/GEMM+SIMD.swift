// Pure-Swift GEMM in the BLIS/GotoBLAS shape:
//
//   for jc in N by NC:            B panel (KC × NC) packed into NR-wide strips
//     for pc in K by KC:
//       for ic in M by MC:        A block (MC × KC) packed into MR-tall strips, alpha folded in
//         for jr, ir:             micro-kernel: an MR × NR tile of C kept in registers
//
// The micro-kernel does C_tile += Σ_p a[p][0..MR) ⊗ b[p][0..NR): one broadcast of
// each A value and one fused multiply-add per row per p. MR = 6 rows × NR = 16 columns
// uses 12 ymm accumulators on AVX2 (6 zmm on AVX-512), leaving room for B and the broadcast.
// Packing makes every inner-loop load contiguous, whatever the transposes are.
// Threads split C into column (or row) ranges; each packs its own panels.

var gemmMR: Int { 6 }
var gemmNR: Int { 16 }
var gemmKC: Int { 256 }
var gemmMC: Int { 120 }  // A block of 120 × 256 floats = 120 KB: stays in L2
var gemmNC: Int { 4096 }  // B panel of 256 × 4096 floats = 4 MB: stays in L3

typealias FloatVector = SIMD16<Float>

func sgemmSIMD(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
) {
    if k == 0 || alpha == 0 {
        scaleMatrix(c, m: m, n: n, ldc: ldc, beta: beta)
        return
    }
    // Split the larger of the two output dimensions across threads; a thread owns
    // its slice of C outright, so no synchronisation is needed.
    let flops = 2 * m * n * k
    let useThreads = flops < 1 << 20 ? 1 : threads
    let splitColumns = n >= m
    let parts =
        splitColumns
        ? splitRange(n, parts: useThreads, align: gemmNR)
        : splitRange(m, parts: useThreads, align: gemmMR)
    parallelFor(parts.count, threads: useThreads) { t in
        let r = parts[t]
        if splitColumns {
            let bSlice = transB ? b + r.lowerBound * ldb : b + r.lowerBound
            gemmSingleThread(
                transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha,
                a: a, lda: lda, b: bSlice, ldb: ldb, beta: beta,
                c: c + r.lowerBound, ldc: ldc)
        } else {
            let aSlice = transA ? a + r.lowerBound : a + r.lowerBound * lda
            gemmSingleThread(
                transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha,
                a: aSlice, lda: lda, b: b, ldb: ldb, beta: beta,
                c: c + r.lowerBound * ldc, ldc: ldc)
        }
    }
}

private func scaleMatrix(_ c: UnsafeMutablePointer<Float>, m: Int, n: Int, ldc: Int, beta: Float) {
    for i in 0..<m {
        let row = c + i * ldc
        if beta == 0 {
            row.update(repeating: 0, count: n)
        } else if beta != 1 {
            for j in 0..<n { row[j] *= beta }
        }
    }
}

// Not inlined into the threads' closure: there, every captured value would be reloaded after each
// store through c (the compiler cannot rule out aliasing), which halved the speed (measured).
@inline(never)
private func gemmSingleThread(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let kcMax = min(gemmKC, k)
    let ncMax = min(gemmNC, roundUp(n, gemmNR))
    let mcMax = min(gemmMC, roundUp(m, gemmMR))
    ScratchPool.shared.withFloats(kcMax * ncMax) { packedB in
        ScratchPool.shared.withFloats(kcMax * mcMax) { packedA in
            gemmBlocks(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, packedA: packedA, prepackedA: nil, packedB: packedB)
        }
    }
}

// MARK: - A packed once (a layer's weights, which never change)

/// Rows of A as packed whole: each block of MC rows padded to a multiple of MR.
func packedRows(_ m: Int) -> Int { m / gemmMC * gemmMC + roundUp(m % gemmMC, gemmMR) }

/// Floats that op(A) (m × k) takes packed whole.
func packedAFloats(m: Int, k: Int) -> Int { packedRows(m) * k }

/// op(A) (m × k) packed whole, as gemmBlocks reads it: the block of rows ic ..< ic+MC and depths
/// pc ..< pc+KC at offset pc · packedRows(m) + ic · kc, laid out as packA lays out one block. A GEMM
/// by `sgemmPrepackedA` then packs only B: for a convolution's weights, once per layer instead of
/// once per band and thread (measured: 24 % of an iteration at 256² went to packing).
func packWholeA(_ dst: UnsafeMutablePointer<Float>, transA: Bool, a: UnsafePointer<Float>, lda: Int, m: Int, k: Int) {
    let mp = packedRows(m)
    for pc in stride(from: 0, to: k, by: gemmKC) {
        let kc = min(gemmKC, k - pc)
        for ic in stride(from: 0, to: m, by: gemmMC) {
            packA(
                dst + pc * mp + ic * kc, transA: transA, a: a, lda: lda,
                row0: ic, col0: pc, mc: min(gemmMC, m - ic), kc: kc, alpha: 1)
        }
    }
}

/// C = A · B + beta · C with A (m × k) from packWholeA; B (k × n) row-major. Threads split the columns.
func sgemmPrepackedA(
    packedA: UnsafePointer<Float>, m: Int, n: Int, k: Int,
    b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        scaleMatrix(c, m: m, n: n, ldc: ldc, beta: beta)
        return
    }
    let useThreads = 2 * m * n * k < 1 << 20 ? 1 : threads
    let parts = splitRange(n, parts: useThreads, align: gemmNR)
    parallelFor(parts.count, threads: useThreads) { t in
        let r = parts[t]
        gemmSingleThreadPrepackedA(
            packedA: packedA, m: m, n: r.count, k: k, b: b + r.lowerBound, ldb: ldb,
            beta: beta, c: c + r.lowerBound, ldc: ldc)
    }
}

@inline(never)
private func gemmSingleThreadPrepackedA(
    packedA: UnsafePointer<Float>, m: Int, n: Int, k: Int,
    b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let kcMax = min(gemmKC, k)
    let ncMax = min(gemmNC, roundUp(n, gemmNR))
    ScratchPool.shared.withFloats(kcMax * ncMax) { packedB in
        gemmBlocks(
            transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: packedA, lda: k,
            b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, packedA: nil, prepackedA: packedA, packedB: packedB)
    }
}

/// The BLIS loops over blocks of C, with the packing buffers given. Not inlined, for the reason above.
@inline(never)
private func gemmBlocks(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    packedA: UnsafeMutablePointer<Float>?, prepackedA: UnsafePointer<Float>?, packedB: UnsafeMutablePointer<Float>
) {
    let mp = packedRows(m)

    for jc in stride(from: 0, to: n, by: gemmNC) {
        let nc = min(gemmNC, n - jc)
        for pc in stride(from: 0, to: k, by: gemmKC) {
            let kc = min(gemmKC, k - pc)
            packB(packedB, transB: transB, b: b, ldb: ldb, row0: pc, col0: jc, kc: kc, nc: nc)
            // The first K block applies the caller's beta; later ones accumulate.
            let betaHere: Float = pc == 0 ? beta : 1
            for ic in stride(from: 0, to: m, by: gemmMC) {
                let mc = min(gemmMC, m - ic)
                let blockA: UnsafePointer<Float>
                if let prepackedA {
                    blockA = prepackedA + pc * mp + ic * kc
                } else {
                    packA(packedA!, transA: transA, a: a, lda: lda, row0: ic, col0: pc, mc: mc, kc: kc, alpha: alpha)
                    blockA = UnsafePointer(packedA!)
                }
                for jr in stride(from: 0, to: nc, by: gemmNR) {
                    let nr = min(gemmNR, nc - jr)
                    let pb = UnsafePointer(packedB + jr * kc)
                    for ir in stride(from: 0, to: mc, by: gemmMR) {
                        let mr = min(gemmMR, mc - ir)
                        microKernel(
                            kc: kc, pa: blockA + ir * kc, pb: pb,
                            c: c + (ic + ir) * ldc + jc + jr, ldc: ldc,
                            beta: betaHere, mr: mr, nr: nr)
                    }
                }
            }
        }
    }
}

@inline(__always) private func roundUp(_ x: Int, _ to: Int) -> Int { (x + to - 1) / to * to }

/// Packs op(B)[row0 ..< row0+kc][col0 ..< col0+nc] into strips of NR columns:
/// strip s holds, for each p, the NR values op(B)[row0+p][col0+s·NR ..< +NR], zero-padded.
private func packB(
    _ dst: UnsafeMutablePointer<Float>, transB: Bool, b: UnsafePointer<Float>, ldb: Int,
    row0: Int, col0: Int, kc: Int, nc: Int
) {
    if !transB {
        // Row by row, so each row of B is read once, front to back (kind to the TLB).
        for p in 0..<kc {
            let src = b + (row0 + p) * ldb + col0
            for j0 in stride(from: 0, to: nc, by: gemmNR) {
                let nr = min(gemmNR, nc - j0)
                let out = dst + j0 * kc + p * gemmNR
                if nr == gemmNR {
                    UnsafeMutableRawPointer(out).storeBytes(
                        of: UnsafeRawPointer(src + j0).loadUnaligned(as: FloatVector.self), as: FloatVector.self)
                } else {
                    for j in 0..<nr { out[j] = src[j0 + j] }
                    for j in nr..<gemmNR { out[j] = 0 }
                }
            }
        }
        return
    }
    // op(B)[p][j] = B[j][p]: read each of the nr rows of B contiguously.
    for j0 in stride(from: 0, to: nc, by: gemmNR) {
        let nr = min(gemmNR, nc - j0)
        let strip = dst + j0 * kc
        for j in 0..<gemmNR {
            if j < nr {
                let src = b + (col0 + j0 + j) * ldb + row0
                for p in 0..<kc { strip[p * gemmNR + j] = src[p] }
            } else {
                for p in 0..<kc { strip[p * gemmNR + j] = 0 }
            }
        }
    }
}

/// Packs alpha · op(A)[row0 ..< row0+mc][col0 ..< col0+kc] into strips of MR rows:
/// strip s holds, for each p, the MR values alpha · op(A)[row0+s·MR ..< +MR][col0+p], zero-padded.
private func packA(
    _ dst: UnsafeMutablePointer<Float>, transA: Bool, a: UnsafePointer<Float>, lda: Int,
    row0: Int, col0: Int, mc: Int, kc: Int, alpha: Float
) {
    for i0 in stride(from: 0, to: mc, by: gemmMR) {
        let mr = min(gemmMR, mc - i0)
        let strip = dst + i0 * kc
        if !transA {
            for i in 0..<gemmMR {
                if i < mr {
                    let src = a + (row0 + i0 + i) * lda + col0
                    for p in 0..<kc { strip[p * gemmMR + i] = alpha * src[p] }
                } else {
                    for p in 0..<kc { strip[p * gemmMR + i] = 0 }
                }
            }
        } else {
            // op(A)[i][p] = A[p][i]: each p reads mr contiguous values.
            for p in 0..<kc {
                let src = a + (col0 + p) * lda + row0 + i0
                let out = strip + p * gemmMR
                for i in 0..<mr { out[i] = alpha * src[i] }
                for i in mr..<gemmMR { out[i] = 0 }
            }
        }
    }
}

/// C[0..<mr][0..<nr] = beta · C + Σ_p pa[p][0..<MR] ⊗ pb[p][0..<NR] (only the mr × nr corner is written).
/// A function of its own, never inlined: inlined into the blocking loops, the register allocator
/// spilled accumulators to the stack inside the k loop (seen in the assembly), at half the speed.
@inline(never)
private func microKernel(
    kc: Int, pa: UnsafePointer<Float>, pb: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int
) {
    var c0 = FloatVector(), c1 = FloatVector(), c2 = FloatVector()
    var c3 = FloatVector(), c4 = FloatVector(), c5 = FloatVector()
    var a = pa
    var b = UnsafeRawPointer(pb)
    for _ in 0..<kc {
        let bv = b.load(as: FloatVector.self)
        c0.addProduct(a[0], bv)
        c1.addProduct(a[1], bv)
        c2.addProduct(a[2], bv)
        c3.addProduct(a[3], bv)
        c4.addProduct(a[4], bv)
        c5.addProduct(a[5], bv)
        a += gemmMR
        b += gemmNR * 4
    }
    if mr == gemmMR && nr == gemmNR {
        storeRow(c0, c, beta)
        storeRow(c1, c + ldc, beta)
        storeRow(c2, c + 2 * ldc, beta)
        storeRow(c3, c + 3 * ldc, beta)
        storeRow(c4, c + 4 * ldc, beta)
        storeRow(c5, c + 5 * ldc, beta)
    } else {
        // Edge tile: only the mr × nr corner exists in C.
        let rows = [c0, c1, c2, c3, c4, c5]
        for i in 0..<mr {
            let row = c + i * ldc
            for j in 0..<nr {
                row[j] = beta == 0 ? rows[i][j] : rows[i][j] + beta * row[j]
            }
        }
    }
}

@inline(__always)
private func storeRow(_ v: FloatVector, _ c: UnsafeMutablePointer<Float>, _ beta: Float) {
    let raw = UnsafeMutableRawPointer(c)
    if beta == 0 {
        raw.storeBytes(of: v, as: FloatVector.self)
    } else {
        let old = raw.loadUnaligned(as: FloatVector.self)
        raw.storeBytes(of: v.addingProduct(beta, old), as: FloatVector.self)
    }
}
