import Foundation

// The exact W2 value in float64 (what is printed; the shifted path in StyleStatistics.swift gives the gradient)
//
//   W2² / C = ‖μ − μt‖²/C + [tr Σ + tr Σt − 2 tr (Σt^½ Σ Σt^½)^½]/C
//
// without the shifts of the float32 path (which make the printed value ~2 % low at block2_conv1).
// tr (Σt^½ Σ Σt^½)^½ = Σ √λ_i over the eigenvalues of Lᵀ Σ L, where Σt = L Lᵀ (Cholesky): Lᵀ Σ L is
// similar to Σ Σt, and so to Σt^½ Σ Σt^½. The eigenvalues come from a Householder reduction to
// tridiagonal form and the implicit QL iteration, in plain Double loops: O(C³), no eigenvectors.

/// L with A = L Lᵀ, row-major, for a symmetric positive definite A; nil if A is not.
public func choleskyLower(_ a: [Double], n: Int) -> [Double]? {
    var l = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0...i {
            var s = a[i * n + j]
            for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
            if i == j {
                guard s > 0 else { return nil }
                l[i * n + i] = s.squareRoot()
            } else {
                l[i * n + j] = s / l[j * n + j]
            }
        }
    }
    return l
}

/// The eigenvalues of a symmetric n × n matrix (row-major), ascending.
public func symmetricEigenvalues(_ matrix: [Double], n: Int) -> [Double] {
    guard n > 1 else { return matrix }
    var a = matrix
    var d = [Double](repeating: 0, count: n), e = d
    // Householder: A ← H A H, H = I − 2vvᵀ, zeroes column k below the subdiagonal.
    //   p = A v, K = vᵀp, q = p − K v:  H A H = A − 2 v qᵀ − 2 q vᵀ   (on rows and columns k+1…)
    // (unsafe pointers: the row loops vectorise; this runs at every step of the W2 loss)
    a.withUnsafeMutableBufferPointer { a in
        var v = [Double](repeating: 0, count: n), q = v
        v.withUnsafeMutableBufferPointer { v in
            q.withUnsafeMutableBufferPointer { q in
                for k in 0..<max(0, n - 2) {
                    let lo = k + 1
                    var norm = 0.0
                    for i in lo..<n { norm += a[i * n + k] * a[i * n + k] }
                    norm = norm.squareRoot()
                    if norm == 0 { continue }
                    let alpha = a[lo * n + k] > 0 ? -norm : norm
                    var vNorm = 0.0
                    for i in lo..<n {
                        v[i] = a[i * n + k] - (i == lo ? alpha : 0)
                        vNorm += v[i] * v[i]
                    }
                    vNorm = vNorm.squareRoot()
                    if vNorm == 0 { continue }
                    for i in lo..<n { v[i] /= vNorm }
                    var kk = 0.0
                    for i in lo..<n {
                        let row = a.baseAddress! + i * n
                        var p = 0.0
                        for j in lo..<n { p += row[j] * v[j] }
                        q[i] = p
                        kk += v[i] * p
                    }
                    for i in lo..<n { q[i] -= kk * v[i] }
                    for i in lo..<n {
                        let row = a.baseAddress! + i * n
                        let vi = 2 * v[i], qi = 2 * q[i]
                        for j in lo..<n { row[j] -= vi * q[j] + qi * v[j] }
                    }
                    a[lo * n + k] = alpha
                    a[k * n + lo] = alpha
                    for i in (k + 2)..<n {
                        a[i * n + k] = 0
                        a[k * n + i] = 0
                    }
                }
            }
        }
        for i in 0..<n {
            d[i] = a[i * n + i]
            e[i] = i < n - 1 ? a[(i + 1) * n + i] : 0
        }
    }
    // Implicit QL with Wilkinson-like shifts on the tridiagonal (d, e).
    for l in 0..<n {
        var iterations = 0
        while true {
            var m = l
            while m < n - 1 {
                let dd = abs(d[m]) + abs(d[m + 1])
                if abs(e[m]) <= 1e-15 * dd { break }
                m += 1
            }
            if m == l || iterations == 100 { break }
            iterations += 1
            var g = (d[l + 1] - d[l]) / (2 * e[l])
            var r = (g * g + 1).squareRoot()
            g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r))
            var s = 1.0, c = 1.0, p = 0.0
            var i = m - 1
            var deflated = false
            while i >= l {
                let f = s * e[i], b = c * e[i]
                r = (f * f + g * g).squareRoot()
                e[i + 1] = r
                if r == 0 {
                    d[i + 1] -= p
                    e[m] = 0
                    deflated = true
                    break
                }
                s = f / r
                c = g / r
                g = d[i + 1] - p
                r = (d[i] - g) * s + 2 * c * b
                p = s * r
                d[i + 1] = g + p
                g = c * r - b
                i -= 1
            }
            if deflated { continue }
            d[l] -= p
            e[l] = g
            e[m] = 0
        }
    }
    return d.sorted()
}

/// Lᵀ X L for row-major n × n matrices, L lower triangular: plain loops in Double.
func congruence(_ x: [Double], lower l: [Double], n: Int) -> [Double] {
    var xl = [Double](repeating: 0, count: n * n)
    var out = [Double](repeating: 0, count: n * n)
    x.withUnsafeBufferPointer { x in
        l.withUnsafeBufferPointer { l in
            xl.withUnsafeMutableBufferPointer { xl in
                // XL: row i of X times L, row by row of L (L's zeros past the diagonal skipped).
                for i in 0..<n {
                    let outRow = xl.baseAddress! + i * n
                    for k in 0..<n {
                        let xik = x[i * n + k]
                        if xik == 0 { continue }
                        let lRow = l.baseAddress! + k * n
                        for j in 0...k { outRow[j] += xik * lRow[j] }
                    }
                }
                // Lᵀ(XL): out[i] += L[k][i] · (XL)[k] for i ≤ k.
                out.withUnsafeMutableBufferPointer { out in
                    for k in 0..<n {
                        let xlRow = xl.baseAddress! + k * n
                        for i in 0...k {
                            let lki = l[k * n + i]
                            if lki == 0 { continue }
                            let outRow = out.baseAddress! + i * n
                            for j in 0..<n { outRow[j] += lki * xlRow[j] }
                        }
                    }
                }
            }
        }
    }
    // Symmetric in exact arithmetic: average away the rounding.
    for i in 0..<n {
        for j in 0..<i {
            let m = (out[i * n + j] + out[j * n + i]) / 2
            out[i * n + j] = m
            out[j * n + i] = m
        }
    }
    return out
}

/// The exact squared W2 distance per channel between N(μ, Σ) and the target N(μt, Σt) (Σ with the
/// ε of the statistics, no shift): ‖μ − μt‖²/C + [tr Σ + tr Σt − 2 Σ √λ(Lᵀ Σ L)]/C, in Double.
public func wassersteinExact(mean: [Double], covariance: [Double], target: GaussianStatistics, targetCholesky: [Double]) -> Double {
    let c = target.channels
    let eigen = symmetricEigenvalues(congruence(covariance, lower: targetCholesky, n: c), n: c)
    var value = 0.0
    for i in 0..<c {
        let d = mean[i] - target.mean[i]
        value += d * d + covariance[i * c + i] + target.covariance[i * c + i] - 2 * max(0, eigen[i]).squareRoot()
    }
    // A squared distance is ≥ 0; rounding at the target itself can leave −1e-12.
    return max(0, value / Double(c))
}
