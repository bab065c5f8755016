// The algorithmic reference for GEMM: one dot product per entry of C,
// C[i][j] = alpha · Σ_p op(A)[i][p] · op(B)[p][j] + beta · C[i][j], summed in Double.

func sgemmReference(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let aip = transA ? a[p * lda + i] : a[i * lda + p]
                let bpj = transB ? b[j * ldb + p] : b[p * ldb + j]
                sum += Double(aip) * Double(bpj)
            }
            let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            c[i * ldc + j] = Float(Double(alpha) * sum + old)
        }
    }
}

/// C = A B in Double for row-major A (m×k) and B (k×n): the plain loops, in the i-k-j order that
/// reads rows (the expression language's `@` and the float64 W2 algebra).
public func matmulReference(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                for i in 0..<m {
                    for p in 0..<k {
                        let s = a[i * k + p]
                        if s == 0 { continue }
                        for j in 0..<n { c[i * n + j] += s * b[p * n + j] }
                    }
                }
            }
        }
    }
    return c
}
