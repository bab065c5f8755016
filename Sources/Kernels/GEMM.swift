// GEMM: C = alpha · op(A) · op(B) + beta · C, row-major, op(X) = X or Xᵀ.
// op(A) is (m, k), op(B) is (k, n), C is (m, n). Every convolution and the Gram
// matrix go through here, so the backend is chosen in this one place.
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
        sgemmReference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    case .simd:
        sgemmSIMD(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: compute.threads)
    case .blas:
        sgemmBLAS(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: compute.threads)
    }
}

/// Tensor-level matrix product of two rank-2 tensors: op(A) · op(B).
public func matmul(_ a: Tensor, _ b: Tensor, transA: Bool = false, transB: Bool = false,
                   _ compute: Compute) throws -> Tensor {
    try compute.checkAvailable()
    guard a.rank == 2, b.rank == 2 else {
        throw KernelError.shape("matmul needs two matrices, got shapes \(a.shape) and \(b.shape)")
    }
    let (m, ka) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let (kb, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    guard ka == kb else {
        throw KernelError.shape("matmul: inner sizes differ (\(ka) vs \(kb)) for shapes \(a.shape) and \(b.shape)")
    }
    var out = [Float](repeating: 0, count: m * n)
    a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { pc in
                sgemm(compute, transA: transA, transB: transB, m: m, n: n, k: ka, alpha: 1,
                      a: pa.baseAddress!, lda: a.shape[1], b: pb.baseAddress!, ldb: b.shape[1],
                      beta: 0, c: pc.baseAddress!, ldc: n)
            }
        }
    }
    return Tensor(validShape: [m, n], data: out)
}
