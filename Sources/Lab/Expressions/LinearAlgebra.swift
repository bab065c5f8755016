import Foundation
import Kernels

// Products, forward beside backward:
//   A @ B (m×k · k×n)  → dA = g Bᵀ, dB = Aᵀ g        (a vector is a row on the left, a column on the right)
//   gram(F) = F Fᵀ, F (C, H·W) or (C, H, W) as (C, H·W) → dF = (g + gᵀ) F
//   tv(x) = Σ (Δx² + Δy²)^1.25 over (3, H, W), Keras's total variation → its own backward (Kernels/Losses.swift)

func transposed(_ a: [Double], rows: Int, cols: Int) -> [Double] {
    var t = [Double](repeating: 0, count: a.count)
    for i in 0..<rows { for j in 0..<cols { t[j * rows + i] = a[i * cols + j] } }
    return t
}

extension Tape {
    func matmul(_ a: Var, _ b: Var) throws -> Var {
        let x = a.value, y = b.value
        guard (1...2).contains(x.rank), (1...2).contains(y.rank) else {
            throw ExpressionError("@ multiplies vectors and matrices; got \(describe(x.shape)) and \(describe(y.shape))")
        }
        // A vector is a 1×k row on the left, a k×1 column on the right; that axis goes from the result.
        let (m, k) = x.rank == 2 ? (x.shape[0], x.shape[1]) : (1, x.shape[0])
        let (k2, n) = y.rank == 2 ? (y.shape[0], y.shape[1]) : (y.shape[0], 1)
        guard k == k2 else {
            var hint = ""
            if x.rank == 2, y.rank == 2, x.shape[1] == y.shape[1] { hint = " — did you mean A @ B.T?" }
            if x.rank == 2, y.rank == 2, x.shape[0] == y.shape[0] { hint = " — did you mean A.T @ B?" }
            if x.shape == y.shape, x.rank == 2 { hint = " — did you mean F @ F.T?" }
            throw ExpressionError("@: \(describe(x.shape)) and \(describe(y.shape)) do not multiply (\(k) ≠ \(k2))\(hint)")
        }
        _ = try NDArray.count([m, n])
        let shape: [Int] = (x.rank == 2 ? [m] : []) + (y.rank == 2 ? [n] : [])
        let c = matmulReference(x.data, y.data, m: m, k: k, n: n)
        let wantA = needsGradient(a), wantB = needsGradient(b)
        return record(NDArray(valid: shape, c), [a, b]) { g in
            [
                wantA ? NDArray(valid: x.shape, matmulReference(g.data, transposed(y.data, rows: k, cols: n), m: m, k: n, n: k)) : nil,
                wantB ? NDArray(valid: y.shape, matmulReference(transposed(x.data, rows: m, cols: k), g.data, m: k, k: m, n: n)) : nil,
            ]
        }
    }

    /// The Gram matrix of features (C, H, W) or (C, M): G[a][b] = Σ_i F[a][i] F[b][i] — `gram` of the shell.
    func gram(_ a: Var) throws -> Var {
        let x = a.value
        guard x.rank == 2 || x.rank == 3 else {
            throw ExpressionError("gram takes features (C, H, W) or (C, M); got \(describe(x.shape))")
        }
        let c = x.shape[0], m = x.count / max(c, 1)
        let f = x.data
        let ft = transposed(f, rows: c, cols: m)
        let g = matmulReference(f, ft, m: c, k: m, n: c)
        return record(NDArray(valid: [c, c], g), [a]) { dG in
            var sym = dG.data
            for i in 0..<c { for j in 0..<c { sym[i * c + j] = dG.data[i * c + j] + dG.data[j * c + i] } }
            return [NDArray(valid: x.shape, matmulReference(sym, f, m: c, k: c, n: m))]
        }
    }

    /// Keras's total variation of an image (3, H, W) — `tv` of the shell, before any weight.
    func totalVariation(_ a: Var) throws -> Var {
        let x = a.value
        guard x.rank == 3, x.shape[1] >= 2, x.shape[2] >= 2 else {
            throw ExpressionError("tv takes an image (C, H, W) at least 2×2; got \(describe(x.shape))")
        }
        let (c, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let value = totalVariationReference(x.data, c: c, h: h, w: w)
        return record(NDArray(scalar: value), [a]) { g in
            [NDArray(valid: x.shape, totalVariationBackwardReference(x.data, c: c, h: h, w: w).map { $0 * g.scalar })]
        }
    }
}
