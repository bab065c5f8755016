// Gram matrix of a feature map. x is (C, H, W), seen as F (C, M) with M = H·W; G is (C, C).
//   forward:  G = F · Fᵀ,   G[a][b] = Σ_m F[a][m] · F[b][m]      (not normalised, as in the Keras example)
//   backward: dF = (dG + dGᵀ) · F                                  (each F[a][m] appears in row a and column a)

@inlinable
public func gramForwardReference<T: BinaryFloatingPoint>(_ f: [T], c: Int, m: Int) -> [T] {
    var g = [T](repeating: 0, count: c * c)
    for a in 0..<c {
        for b in 0..<c {
            var sum = 0.0
            for i in 0..<m { sum += Double(f[a * m + i]) * Double(f[b * m + i]) }
            g[a * c + b] = T(sum)
        }
    }
    return g
}

/// Overwrites: returns dF (C, M).
@inlinable
public func gramBackwardReference<T: BinaryFloatingPoint>(dG: [T], f: [T], c: Int, m: Int) -> [T] {
    var dF = [T](repeating: 0, count: c * m)
    for a in 0..<c {
        for i in 0..<m {
            var sum = 0.0
            for b in 0..<c { sum += (Double(dG[a * c + b]) + Double(dG[b * c + a])) * Double(f[b * m + i]) }
            dF[a * m + i] = T(sum)
        }
    }
    return dF
}

/// G = F · Fᵀ for x (C, H, W); returns (C, C).
public func gramMatrix(_ x: Tensor, _ compute: Compute) throws -> Tensor {
    try compute.checkAvailable()
    let s = try requireCHW(x, "gram matrix input")
    let m = s.h * s.w
    if compute.backend == .reference {
        return Tensor(validShape: [s.c, s.c], data: gramForwardReference(x.data, c: s.c, m: m))
    }
    var g = [Float](repeating: 0, count: s.c * s.c)
    // G is small (C × C) and the sum long (M = H·W positions): split the positions, not G, between
    // the threads — split by G, each thread would pack all of F (measured 2× slower) — and add
    // the partial Gram matrices.
    let parts = compute.backend == .simd && m >= 4096 ? splitRange(m, parts: compute.threads, align: 16) : [0..<m]
    let single = Compute(backend: compute.backend, threads: parts.count > 1 ? 1 : compute.threads)
    ScratchPool.shared.withFloats(parts.count * s.c * s.c) { partial in
        x.data.withUnsafeBufferPointer { px in
            let f = px.baseAddress!
            parallelFor(parts.count, threads: compute.threads) { t in
                let r = parts[t]
                sgemm(
                    single, transA: false, transB: true, m: s.c, n: s.c, k: r.count, alpha: 1,
                    a: f + r.lowerBound, lda: m, b: f + r.lowerBound, ldb: m, beta: 0,
                    c: partial + t * s.c * s.c, ldc: s.c)
            }
        }
        g.withUnsafeMutableBufferPointer { pg in
            for t in 0..<parts.count {
                for i in 0..<(s.c * s.c) { pg[i] += partial[t * s.c * s.c + i] }
            }
        }
    }
    return Tensor(validShape: [s.c, s.c], data: g)
}

/// dx for G = gramMatrix(x), given dG (C, C); returns (C, H, W).
public func gramMatrixBackward(_ dG: Tensor, input x: Tensor, _ compute: Compute) throws -> Tensor {
    try compute.checkAvailable()
    let s = try requireCHW(x, "gram matrix input")
    guard dG.shape == [s.c, s.c] else {
        throw KernelError.shape("gram backward: dG \(dG.shape) does not match \(s.c) channels of \(x.shape)")
    }
    let m = s.h * s.w
    if compute.backend == .reference {
        return Tensor(validShape: x.shape, data: gramBackwardReference(dG: dG.data, f: x.data, c: s.c, m: m))
    }
    var symmetric = dG.data
    for a in 0..<s.c { for b in 0..<s.c { symmetric[a * s.c + b] = dG.data[a * s.c + b] + dG.data[b * s.c + a] } }
    var dF = uninitializedFloats(s.c * m)  // beta 0: written, not read
    dF.withUnsafeMutableBufferPointer { pd in
        sgemm(
            compute, transA: false, transB: false, m: s.c, n: m, k: s.c, alpha: 1,
            a: symmetric, lda: s.c, b: x.data, ldb: m, beta: 0, c: pd.baseAddress!, ldc: m)
    }
    return Tensor(validShape: x.shape, data: dF)
}
