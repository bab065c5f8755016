import Foundation

// Style as statistics of the features instead of their Gram matrix. F is (C, M): C channels at
// M positions, position m weighted by p_m = w_m / Σw (a mask resized to the layer; without one,
// p_m = 1/M).
//
//   mean        μ = Σ_m p_m f_m
//   covariance  Σ = Σ_m p_m (f_m − μ)(f_m − μ)ᵀ + εI                (ε = 1e-4)
//   std         σ_c = √(Σ_m p_m (F_cm − μ_c)² + ε)
//
// Mean–std loss (the statistics AdaIN matches):
//   L = Σ_c (μ_c − μt_c)² + Σ_c (σ_c − σt_c)²
//   dL/dF_cm = p_m [2(μ_c − μt_c) + 2(σ_c − σt_c)(F_cm − μ_c)/σ_c]
//   (μ's own effect on σ drops out: Σ_m p_m (F_cm − μ_c) = 0; the same holds for Σ below)
//
// Wasserstein-2 distance between the Gaussians N(μ, Σ) and N(μt, Σt), per channel, is
//   ‖μ − μt‖²/C + tr(Σ + Σt − 2 (A Σ A)^½)/C,     A = Σt^½.
// A Σ A squares the covariance's condition number (deep layers: eigenvalues from ε = 1e-4 up to
// ~1e5, so ~1e18 for A Σ A), far past float32: rounding makes the smallest eigenvalues negative and
// Newton–Schulz then diverges (measured: NaN from block3 on at 32 rows; Σt^½ alone already fails).
// So both roots are shifted, A = (Σt + 1e-4‖Σt‖_F I)^½ and the root of A Σ A + δI with
// δ = 1e-4‖Σt‖_F², and a constant puts the minimum back at zero:
//   L = ‖μ − μt‖²/C + [tr Σ − tr Σt − 2 tr (AΣA + δI)^½ + 2 tr (AΣtA + δI)^½]/C
//   dL/dμ = 2(μ − μt)/C
//   dL/dΣ = (I − A (AΣA + δI)^-½ A)/C      since d tr(X^½) = ½ tr(X^-½ dX) for symmetric X ≻ 0
//   dL/df_m = p_m [dL/dμ + 2 dL/dΣ (f_m − μ)]                         (dL/dΣ is symmetric)
// Without δ, A (AΣA)^-½ A is the linear map that carries N(0, Σ) onto N(0, Σt), so the gradient
// pulls each feature vector towards where optimal transport would send it; δ damps that pull only
// along directions the features hardly use (at Σ = Σt it leaves a gradient ~1e-3 of a typical one).
//
// Matrix square roots by the coupled Newton–Schulz iteration: matrix products only (fast on our
// GEMM, no eigensolver), and X^½ and X^-½ come out together:
//   Y₀ = X/s, Z₀ = I;   T = (3I − Z Y)/2;   Y ← Y T;   Z ← T Z;      X^½ ≈ √s Y,  X^-½ ≈ Z/√s
// with s = ‖X‖_F, so every eigenvalue of X/s lies in (0, 1], where the iteration converges.
// Eigenvalues far below s converge slowly (each iteration multiplies them by about 1.5); for the
// ill-conditioned covariances of deep layers the few smallest stay under-resolved in float32 —
// they add almost nothing to the trace, and the gradient is damped along them.

public let featureStatisticsEpsilon = 1e-4
/// δ / ‖Σt‖_F² in the W2 loss's shifted square root.
public let wassersteinRelativeShift = 1e-4

/// The mean, covariance (+εI) and standard deviation of F (C, M) under position weights.
public struct GaussianStatistics: Sendable, Equatable {
    public var channels: Int
    public var mean: [Double]
    public var covariance: [Double]  // C × C, row-major, + εI
    public var std: [Double]

    public init(channels: Int, mean: [Double], covariance: [Double], std: [Double]) {
        self.channels = channels
        self.mean = mean
        self.covariance = covariance
        self.std = std
    }

    /// The weighted mean of several (the blend of several style images): Σ_i w_i s_i / Σ w_i.
    public static func blend(_ parts: [(GaussianStatistics, Double)]) -> GaussianStatistics {
        let total = parts.reduce(0) { $0 + $1.1 }
        var out = parts[0].0
        func mix(_ k: KeyPath<GaussianStatistics, [Double]>) -> [Double] {
            var v = [Double](repeating: 0, count: out[keyPath: k].count)
            for (s, w) in parts { for i in v.indices { v[i] += s[keyPath: k][i] * w / total } }
            return v
        }
        out.mean = mix(\.mean)
        out.covariance = mix(\.covariance)
        out.std = mix(\.std)
        return out
    }
}

/// p_m: the weights normalised to sum 1 (uniform when nil). All-zero weights give all-zero p.
@inlinable
public func positionProbabilities<T: BinaryFloatingPoint>(_ weights: [T]?, m: Int) -> [Double] {
    guard let weights else { return [Double](repeating: 1 / Double(m), count: m) }
    precondition(weights.count == m)
    let total = weights.reduce(0.0) { $0 + Double($1) }
    return total > 0 ? weights.map { Double($0) / total } : [Double](repeating: 0, count: m)
}

@inlinable
public func gaussianStatisticsReference<T: BinaryFloatingPoint>(_ f: [T], c: Int, m: Int, weights: [T]? = nil) -> GaussianStatistics {
    let p = positionProbabilities(weights, m: m)
    var mean = [Double](repeating: 0, count: c)
    for a in 0..<c { for i in 0..<m { mean[a] += p[i] * Double(f[a * m + i]) } }
    var cov = [Double](repeating: 0, count: c * c)
    for a in 0..<c {
        for b in a..<c {
            var s = 0.0
            for i in 0..<m { s += p[i] * (Double(f[a * m + i]) - mean[a]) * (Double(f[b * m + i]) - mean[b]) }
            cov[a * c + b] = s
            cov[b * c + a] = s
        }
        cov[a * c + a] += featureStatisticsEpsilon
    }
    let std = (0..<c).map { cov[$0 * c + $0].squareRoot() }
    return GaussianStatistics(channels: c, mean: mean, covariance: cov, std: std)
}

// MARK: - Mean–std loss (one plain implementation: O(C·M), cheap beside the convolutions)

/// L and, if asked, dL/dF for the mean–std loss against `target`'s means and standard deviations.
@inlinable
public func meanStdLossReference<T: BinaryFloatingPoint>(
    _ f: [T], c: Int, m: Int, weights: [T]?,
    target: GaussianStatistics, wantGradient: Bool
) -> (loss: Double, gradient: [T]?) {
    let p = positionProbabilities(weights, m: m)
    var loss = 0.0
    var gradient: [T]? = wantGradient ? [T](repeating: 0, count: c * m) : nil
    for a in 0..<c {
        var mu = 0.0
        for i in 0..<m { mu += p[i] * Double(f[a * m + i]) }
        var variance = featureStatisticsEpsilon
        for i in 0..<m {
            let d = Double(f[a * m + i]) - mu
            variance += p[i] * d * d
        }
        let sigma = variance.squareRoot()
        let dMu = mu - target.mean[a], dSigma = sigma - target.std[a]
        loss += dMu * dMu + dSigma * dSigma
        if gradient != nil {
            for i in 0..<m {
                gradient![a * m + i] = T(p[i] * (2 * dMu + 2 * dSigma * (Double(f[a * m + i]) - mu) / sigma))
            }
        }
    }
    return (loss, gradient)
}

public func meanStdStyleLoss(
    _ x: Tensor, weights: [Float]?, target: GaussianStatistics,
    wantGradient: Bool
) throws -> (loss: Double, gradient: Tensor?) {
    let s = try requireCHW(x, "mean-std style loss input")
    guard target.channels == s.c else { throw KernelError.shape("mean-std loss: target has \(target.channels) channels, features \(s.c)") }
    let (loss, g) = meanStdLossReference(x.data, c: s.c, m: s.h * s.w, weights: weights, target: target, wantGradient: wantGradient)
    return (loss, g.map { Tensor(validShape: x.shape, data: $0) })
}

// MARK: - Matrix square roots (Newton–Schulz)

/// n × n row-major product, plain loops in Double.
@inlinable
public func matrixProductReference(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
    matmulReference(a, b, m: n, k: n, n: n)
}

/// X^½ and X^-½ of a symmetric positive definite n × n matrix by the coupled Newton–Schulz
/// iteration, stopping when ‖I − Z Y‖_F < tolerance or after `maxIterations`.
@inlinable
public func newtonSchulzSquareRoot<T: BinaryFloatingPoint>(
    _ x: [T], n: Int, tolerance: Double, maxIterations: Int,
    multiply: ([T], [T]) -> [T]
) -> (root: [T], inverseRoot: [T], iterations: Int) {
    let scale = x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    guard scale > 0 else { return (x, x, 0) }
    var y = x.map { T(Double($0) / scale) }
    var z = [T](repeating: 0, count: n * n)
    for i in 0..<n { z[i * n + i] = 1 }
    var iterations = 0
    var previous = Double.infinity
    while iterations < maxIterations {
        var t = multiply(z, y)  // Z Y → T = (3I − Z Y)/2
        var residual = 0.0
        for i in 0..<n {
            for j in 0..<n {
                let e = (i == j ? 1 : 0) - Double(t[i * n + j])
                residual += e * e
                t[i * n + j] = T(((i == j ? 3 : 0) - Double(t[i * n + j])) / 2)
            }
        }
        // Converged, or stalled at rounding (in exact arithmetic the residual only falls).
        let r = residual.squareRoot()
        if r < tolerance || (iterations > 4 && r >= previous) { break }
        previous = r
        y = multiply(y, t)
        z = multiply(t, z)
        iterations += 1
    }
    let r = scale.squareRoot()
    return (y.map { T(Double($0) * r) }, z.map { T(Double($0) / r) }, iterations)
}

// MARK: - Wasserstein-2 style loss

/// What the W2 loss needs of the style, computed once: μt, A = Σt^½, δ, and the constant
/// tr (AΣtA + δI)^½ − tr Σt / 2 (computed by the same arithmetic as the loss, so L = 0 at Σ = Σt).
public struct WassersteinTarget: Sendable {
    public var channels: Int
    public var mean: [Double]
    public var root: [Double]
    public var shift: Double
    public var constant: Double
    /// For the exact value: the statistics, and Σt = L Lᵀ.
    public var statistics: GaussianStatistics
    public var cholesky: [Double]

    public init(_ s: GaussianStatistics, _ compute: Compute) {
        let c = s.channels
        channels = c
        statistics = s
        // Σt carries εI, so it is positive definite; should rounding say otherwise, a little more ε
        // (growing, a bounded number of times: statistics that are not numbers never factor, and
        // then the exact value is not a number either).
        var jitter = featureStatisticsEpsilon
        var l = choleskyLower(s.covariance, n: c)
        for _ in 0..<12 where l == nil {
            var jittered = s.covariance
            for i in 0..<c { jittered[i * c + i] += jitter }
            l = choleskyLower(jittered, n: c)
            jitter *= 10
        }
        cholesky = l ?? [Double](repeating: .nan, count: c * c)
        mean = s.mean
        (root, shift) = wassersteinRoot(s.covariance, n: c, compute)
        let product = matrixProduct(c, compute)
        var same = product(product(root, s.covariance), root)
        for i in 0..<c { same[i * c + i] += shift }
        let overlap = symmetricSquareRoot(same, n: c, compute).root
        constant = (0..<c).reduce(0) { $0 + overlap[$1 * c + $1] - s.covariance[$1 * c + $1] / 2 }
    }
}

/// A = (Σt + 1e-4‖Σt‖_F I)^½ and δ = 1e-4‖Σt‖_F².
func wassersteinRoot(_ covariance: [Double], n: Int, _ compute: Compute) -> (root: [Double], shift: Double) {
    let norm = covariance.reduce(0) { $0 + $1 * $1 }.squareRoot()
    var shifted = covariance
    for i in 0..<n { shifted[i * n + i] += wassersteinRelativeShift * norm }
    return (symmetricSquareRoot(shifted, n: n, compute).root, wassersteinRelativeShift * norm * norm)
}

/// n × n products: plain loops in Double (the reference backend) or float32 GEMMs.
func matrixProduct(_ n: Int, _ compute: Compute) -> ([Double], [Double]) -> [Double] {
    compute.backend == .reference
        ? { matrixProductReference($0, $1, n: n) }
        : { floatProduct($0.map(Float.init), $1.map(Float.init), n: n, compute).map(Double.init) }
}

/// X^½, X^-½ in Double plain loops (the reference backend) or float32 GEMMs.
func symmetricSquareRoot(_ x: [Double], n: Int, _ compute: Compute) -> (root: [Double], inverseRoot: [Double]) {
    if compute.backend == .reference {
        let r = newtonSchulzSquareRoot(x, n: n, tolerance: 1e-13, maxIterations: 100) { matrixProductReference($0, $1, n: n) }
        return (r.root, r.inverseRoot)
    }
    let r = newtonSchulzSquareRoot(x.map(Float.init), n: n, tolerance: 3e-3, maxIterations: 30) { floatProduct($0, $1, n: n, compute) }
    return (r.root.map(Double.init), r.inverseRoot.map(Double.init))
}

func floatProduct(_ a: [Float], _ b: [Float], n: Int, _ compute: Compute) -> [Float] {
    var out = [Float](repeating: 0, count: n * n)
    out.withUnsafeMutableBufferPointer { po in
        sgemm(
            compute, transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a, lda: n, b: b, ldb: n,
            beta: 0, c: po.baseAddress!, ldc: n)
    }
    return out
}

/// Plain-loop W2 loss and dL/dF in Double: the reference the fast path and the finite differences check.
@inlinable
public func wassersteinLossReference<T: BinaryFloatingPoint>(
    _ f: [T], c: Int, m: Int, weights: [T]?, target: GaussianStatistics,
    wantGradient: Bool
) -> (loss: Double, gradient: [T]?) {
    let stats = gaussianStatisticsReference(f, c: c, m: m, weights: weights)
    let product = { (a: [Double], b: [Double]) in matrixProductReference(a, b, n: c) }
    let root = { (x: [Double]) in newtonSchulzSquareRoot(x, n: c, tolerance: 1e-13, maxIterations: 100, multiply: product) }
    let norm = target.covariance.reduce(0) { $0 + $1 * $1 }.squareRoot()
    let shift = wassersteinRelativeShift * norm * norm
    var shiftedTarget = target.covariance
    for i in 0..<c { shiftedTarget[i * c + i] += wassersteinRelativeShift * norm }
    let a = root(shiftedTarget).root
    func shifted(_ x: [Double]) -> [Double] {
        var x = x
        for i in 0..<c { x[i * c + i] += shift }
        return x
    }
    let b = root(shifted(product(product(a, stats.covariance), a)))
    let same = root(shifted(product(product(a, target.covariance), a))).root
    let C = Double(c)
    var meanTerm = 0.0, trace = 0.0
    for i in 0..<c {
        let d = stats.mean[i] - target.mean[i]
        meanTerm += d * d
        trace += stats.covariance[i * c + i] - target.covariance[i * c + i] - 2 * b.root[i * c + i] + 2 * same[i * c + i]
    }
    let loss = meanTerm / C + trace / C
    guard wantGradient else { return (loss, nil) }
    let transport = product(product(a, b.inverseRoot), a)
    let p = positionProbabilities(weights, m: m)
    var gradient = [T](repeating: 0, count: c * m)
    for k in 0..<c {
        for i in 0..<m {
            var s = 2 * (stats.mean[k] - target.mean[k]) / C
            for j in 0..<c {
                let dSigma = ((k == j ? 1 : 0) - transport[k * c + j]) / C
                s += 2 * dSigma * (Double(f[j * m + i]) - stats.mean[j])
            }
            gradient[k * m + i] = T(p[i] * s)
        }
    }
    return (loss, gradient)
}

/// The W2 style loss of x (C, H, W) against `target`, with dL/dx if asked. The M-long sums (the
/// covariance and the gradient) run as GEMMs through the Gram kernels; the C × C algebra as GEMMs
/// in the Newton–Schulz iteration.
public func wassersteinStyleLoss(
    _ x: Tensor, weights: [Float]?, target: WassersteinTarget,
    wantGradient: Bool, _ compute: Compute
) throws -> (loss: Double, gradient: Tensor?, exact: Double) {
    let s = try requireCHW(x, "Wasserstein style loss input")
    let c = s.c, m = s.h * s.w
    guard target.channels == c else { throw KernelError.shape("Wasserstein loss: target has \(target.channels) channels, features \(c)") }
    let p = positionProbabilities(weights, m: m)
    var mean = [Double](repeating: 0, count: c)
    for a in 0..<c { for i in 0..<m { mean[a] += p[i] * Double(x.data[a * m + i]) } }
    // Σ = Fc Fcᵀ with Fc = (f_m − μ)·√p_m: the Gram kernel does the long sum.
    let rootP = p.map { Float($0.squareRoot()) }
    var centred = [Float](repeating: 0, count: c * m)
    for a in 0..<c { for i in 0..<m { centred[a * m + i] = (x.data[a * m + i] - Float(mean[a])) * rootP[i] } }
    let centredTensor = Tensor(validShape: x.shape, data: centred)
    var covariance = try gramMatrix(centredTensor, compute).data.map(Double.init)
    for i in 0..<c { covariance[i * c + i] += featureStatisticsEpsilon }
    let product = matrixProduct(c, compute)
    var overlap = product(product(target.root, covariance), target.root)
    for i in 0..<c { overlap[i * c + i] += target.shift }
    let b = symmetricSquareRoot(overlap, n: c, compute)
    let C = Double(c)
    var meanTerm = 0.0, trace = 2 * target.constant
    for i in 0..<c {
        let d = mean[i] - target.mean[i]
        meanTerm += d * d
        trace += covariance[i * c + i] - 2 * b.root[i * c + i]
    }
    let loss = meanTerm / C + trace / C
    let exact = wassersteinExact(mean: mean, covariance: covariance, target: target.statistics, targetCholesky: target.cholesky)
    guard wantGradient else { return (loss, nil, exact) }
    // dL/dΣ = (I − A B⁻¹ A)/C, B = (AΣA + δI)^½; the Gram backward gives (dΣ + dΣᵀ) Fc = 2 dΣ Fc, i.e. √p_m · 2 dΣ (f_m − μ).
    let transport = product(product(target.root, b.inverseRoot), target.root)
    var dSigma = [Float](repeating: 0, count: c * c)
    for i in 0..<c { for j in 0..<c { dSigma[i * c + j] = Float(((i == j ? 1 : 0) - transport[i * c + j]) / C) } }
    var gradient = try gramMatrixBackward(Tensor(validShape: [c, c], data: dSigma), input: centredTensor, compute).data
    for a in 0..<c {
        let dMu = 2 * (mean[a] - target.mean[a]) / C
        for i in 0..<m { gradient[a * m + i] = gradient[a * m + i] * rootP[i] + Float(p[i] * dMu) }
    }
    return (loss, Tensor(validShape: x.shape, data: gradient), exact)
}

/// The statistics of x (C, H, W) under position weights, the long sums as a GEMM (the reference
/// backend: plain loops).
public func gaussianStatistics(_ x: Tensor, weights: [Float]?, _ compute: Compute) throws -> GaussianStatistics {
    let s = try requireCHW(x, "feature statistics input")
    let c = s.c, m = s.h * s.w
    if compute.backend == .reference { return gaussianStatisticsReference(x.data, c: c, m: m, weights: weights) }
    let p = positionProbabilities(weights, m: m)
    var mean = [Double](repeating: 0, count: c)
    for a in 0..<c { for i in 0..<m { mean[a] += p[i] * Double(x.data[a * m + i]) } }
    var centred = [Float](repeating: 0, count: c * m)
    for a in 0..<c { for i in 0..<m { centred[a * m + i] = (x.data[a * m + i] - Float(mean[a])) * Float(p[i].squareRoot()) } }
    var covariance = try gramMatrix(Tensor(validShape: x.shape, data: centred), compute).data.map(Double.init)
    for i in 0..<c { covariance[i * c + i] += featureStatisticsEpsilon }
    return GaussianStatistics(channels: c, mean: mean, covariance: covariance, std: (0..<c).map { covariance[$0 * c + $0].squareRoot() })
}
