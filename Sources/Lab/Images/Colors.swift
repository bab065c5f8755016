import Kernels

// Colour preservation (Gatys et al. 2016, "Preserving color in neural artistic style transfer";
// jcjohnson/neural-style's -original_colors): keep the luminance Y of the stylised result and
// the chrominance (I, Q) of the content, in YIQ.

func transferLuminance(from result: RGBImage, onto content: RGBImage) -> RGBImage {
    precondition(result.width == content.width && result.height == content.height)
    var out = [UInt8](repeating: 0, count: result.pixels.count)
    for p in stride(from: 0, to: out.count, by: 3) {
        let (r1, g1, b1) = (Double(result.pixels[p]), Double(result.pixels[p + 1]), Double(result.pixels[p + 2]))
        let (r2, g2, b2) = (Double(content.pixels[p]), Double(content.pixels[p + 1]), Double(content.pixels[p + 2]))
        let y = 0.299 * r1 + 0.587 * g1 + 0.114 * b1
        let i = 0.596 * r2 - 0.274 * g2 - 0.322 * b2
        let q = 0.211 * r2 - 0.523 * g2 + 0.312 * b2
        let rgb = [y + 0.956 * i + 0.621 * q, y - 0.272 * i - 0.647 * q, y - 1.106 * i + 1.703 * q]
        for c in 0..<3 { out[p + c] = UInt8(min(255, max(0, rgb[c])).rounded()) }
    }
    return RGBImage(width: result.width, height: result.height, pixels: out)
}

// Colour histogram matching (the same paper, §2.1): before the run, recolour the style image so
// its pixels' mean and covariance are the content's,
//   x' = A (x − μ_S) + μ_C   with   A Σ_S Aᵀ = Σ_C,
// and three choices of A:
//   cholesky  A = L_C L_S⁻¹                        (L the Cholesky factors)
//   pca       A = Q_C Λ_C^½ Λ_S^-½ Q_Sᵀ             (Σ = Q Λ Qᵀ)
//   symmetric A = Σ_C^½ Σ_S^-½                      (the paper's "image analogies" form)

public enum ColorMatching: String, CaseIterable, Sendable, Codable {
    case none, cholesky, pca, symmetric
}

/// The mean (3) and covariance (3 × 3, row-major) of RGB pixels given as r, g, b, r, g, b, …
func colorStatistics(_ rgb: [Double]) -> (mean: [Double], covariance: [Double]) {
    let n = Double(rgb.count / 3)
    var mean = [0.0, 0.0, 0.0]
    for p in stride(from: 0, to: rgb.count, by: 3) { for c in 0..<3 { mean[c] += rgb[p + c] / n } }
    var cov = [Double](repeating: 0, count: 9)
    for p in stride(from: 0, to: rgb.count, by: 3) {
        for a in 0..<3 { for b in 0..<3 { cov[a * 3 + b] += (rgb[p + a] - mean[a]) * (rgb[p + b] - mean[b]) / n } }
    }
    // A flat image has a singular covariance: a little regularisation keeps A finite.
    for a in 0..<3 { cov[a * 3 + a] += 1e-6 }
    return (mean, cov)
}

/// Lower-triangular L with L Lᵀ = m (3 × 3, positive definite).
func cholesky3(_ m: [Double]) -> [Double] {
    var l = [Double](repeating: 0, count: 9)
    for i in 0..<3 {
        for j in 0...i {
            var s = m[i * 3 + j]
            for k in 0..<j { s -= l[i * 3 + k] * l[j * 3 + k] }
            l[i * 3 + j] = i == j ? max(s, 1e-12).squareRoot() : s / l[j * 3 + j]
        }
    }
    return l
}

func inverse3(_ m: [Double]) -> [Double] {
    let (a, b, c, d, e, f, g, h, i) = (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8])
    let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return [
        e * i - f * h, c * h - b * i, b * f - c * e,
        f * g - d * i, a * i - c * g, c * d - a * f,
        d * h - e * g, b * g - a * h, a * e - b * d,
    ].map { $0 / det }
}

func transpose3(_ m: [Double]) -> [Double] { (0..<9).map { m[($0 % 3) * 3 + $0 / 3] } }

/// Eigenvalues (largest first) and eigenvectors (columns of Q) of a symmetric 3 × 3 matrix, by
/// Jacobi rotations. Each vector points towards brighter (positive dot with (1, 1, 1)), so that
/// the PCA matching pairs the content's and the style's axes in order and keeps light light.
func symmetricEigen3(_ m: [Double]) -> (values: [Double], vectors: [Double]) {
    let (values, q) = jacobiEigen3(m)
    let order = [0, 1, 2].sorted { values[$0] > values[$1] }
    var vectors = [Double](repeating: 0, count: 9)
    for (column, k) in order.enumerated() {
        let v = [q[k], q[3 + k], q[6 + k]]
        let sign: Double = v.reduce(0, +) < 0 ? -1 : 1
        for row in 0..<3 { vectors[row * 3 + column] = sign * v[row] }
    }
    return (order.map { values[$0] }, vectors)
}

func jacobiEigen3(_ m: [Double]) -> (values: [Double], vectors: [Double]) {
    var a = m
    var q: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    for _ in 0..<50 {
        let off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5]
        if off < 1e-30 { break }
        for (p, r) in [(0, 1), (0, 2), (1, 2)] where abs(a[p * 3 + r]) > 0 {
            // The rotation in the (p, r) plane that zeroes a[p][r].
            let theta = (a[r * 3 + r] - a[p * 3 + p]) / (2 * a[p * 3 + r])
            let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
            let c = 1 / (t * t + 1).squareRoot(), s = t * c
            var j: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
            j[p * 3 + p] = c
            j[r * 3 + r] = c
            j[p * 3 + r] = s
            j[r * 3 + p] = -s
            a = matrixProductReference(matrixProductReference(transpose3(j), a, n: 3), j, n: 3)
            q = matrixProductReference(q, j, n: 3)
        }
    }
    return ([a[0], a[4], a[8]], q)
}

/// A with A Σ_S Aᵀ = Σ_C, by `method`.
func colorTransform(style s: [Double], content c: [Double], _ method: ColorMatching) -> [Double] {
    let product = { (a: [Double], b: [Double]) in matrixProductReference(a, b, n: 3) }
    switch method {
    case .none: return [1, 0, 0, 0, 1, 0, 0, 0, 1]
    case .cholesky: return product(cholesky3(c), inverse3(cholesky3(s)))
    case .pca:
        let (lc, qc) = symmetricEigen3(c), (ls, qs) = symmetricEigen3(s)
        var scale = [Double](repeating: 0, count: 9)
        for i in 0..<3 { scale[i * 3 + i] = (max(lc[i], 0) / max(ls[i], 1e-12)).squareRoot() }
        return product(product(qc, scale), transpose3(qs))
    case .symmetric:
        let root = { (m: [Double]) in newtonSchulzSquareRoot(m, n: 3, tolerance: 1e-14, maxIterations: 100, multiply: product) }
        return product(root(c).root, root(s).inverseRoot)
    }
}

/// The style's pixels (0–255, RGB) recoloured to the content's mean and covariance, unclipped.
func matchColorStatistics(_ style: [Double], to content: [Double], _ method: ColorMatching) -> [Double] {
    let (ms, cs) = colorStatistics(style), (mc, cc) = colorStatistics(content)
    let a = colorTransform(style: cs, content: cc, method)
    var out = style
    for p in stride(from: 0, to: style.count, by: 3) {
        for i in 0..<3 {
            var v = mc[i]
            for j in 0..<3 { v += a[i * 3 + j] * (style[p + j] - ms[j]) }
            out[p + i] = v
        }
    }
    return out
}

/// The style image with the content's colour statistics (rounded and clipped to 0–255).
public func matchColors(_ style: RGBImage, to content: RGBImage, _ method: ColorMatching) -> RGBImage {
    guard method != .none else { return style }
    let out = matchColorStatistics(style.pixels.map(Double.init), to: content.pixels.map(Double.init), method)
    return RGBImage(width: style.width, height: style.height, pixels: out.map { UInt8(min(255, max(0, $0)).rounded()) })
}
