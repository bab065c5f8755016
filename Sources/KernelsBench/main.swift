import Foundation
import Kernels
func seconds(_ body: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds; body(); return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
let n = 2048
var a = [Float](repeating: 0, count: n*n), b = a, c = a
for i in 0..<n*n { a[i] = Float(i % 7) - 3; b[i] = Float(i % 5) - 2 }
let ctx = Compute(backend: .simd, threads: 1)
for (m, nn) in [(2048, 1024), (1024, 2048), (2048,2048)] {
  var best = 1e9
  for _ in 0..<3 { best = min(best, seconds { sgemm(ctx, transA: false, transB: false, m: m, n: nn, k: n, alpha: 1, a: a, lda: n, b: b, ldb: n, beta: 0, c: &c, ldc: n) }) }
  print(m, nn, 2.0*Double(m*nn*n)/best/1e9)
}
