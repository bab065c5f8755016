// GEMM: C = alpha · op(A) · op(B) + beta · C, row-major, op(X) = X or Xᵀ.
// op(A) is (m, k), op(B) is (k, n), C is (m, n). Every convolution and the Gram
// matrix go through here.
//
// Like BLAS: with beta == 0, C is written without being read (it may hold garbage).

public func sgemm(
    _ compute: Compute,
    transA: Bool, transB: Bool,
    m: Int, n: Int, k: Int,
    alpha: Float,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative size")
    precondition(lda >= max(1, transA ? m : k), "sgemm: lda too small")
    precondition(ldb >= max(1, transB ? k : n), "sgemm: ldb too small")
    precondition(ldc >= max(1, n), "sgemm: ldc too small")
    if m == 0 || n == 0 { return }
    switch compute.backend {
    case .reference:
        sgemmReference(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    case .simd:
        sgemmSIMD(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: compute.threads)
    case .blas:
        sgemmBLAS(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: compute.threads)
    }
}
