// kernels-bench: GFLOP/s of every VGG19 conv layer (forward, and backward with respect to
// the input) at a 256×256 input: direct convolution (im2col + GEMM) on the pure-Swift SIMD
// backend and on OpenBLAS, and Winograd F(4×4, 3×3) on the SIMD backend — all in direct-conv
// FLOPs (2·OC·C·9·H·W), so the columns compare as speeds — and of a square SGEMM.
// A figure for people, not a test.
//
//   swift run -c release kernels-bench [--size 256] [--repeats 5] [--threads N]

import Foundation
import Kernels

/// Stops with one line on standard error (a bad argument, or a kernel that refused its input).
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("kernels-bench: \(message)\n".utf8))
    exit(1)
}

/// A kernel call that cannot fail for the shapes built here; if it does, one line, not a trap.
func orFail<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch { fail("\(error)") }
}

func argument(_ name: String, default value: Int, in range: ClosedRange<Int>) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name) else { return value }
    guard i + 1 < args.count, let v = Int(args[i + 1]), range.contains(v) else {
        fail("\(name) needs a whole number in \(range.lowerBound)…\(range.upperBound)")
    }
    return v
}

LargeBlocks.configure()
ConvWeightCache.shared.budgetBytes = 4 << 30

// `--gemm M,N,K`: GFLOP/s of one SGEMM shape on one thread (the Winograd GEMMs are 64…512 × tiles × 64…512).
if let i = CommandLine.arguments.firstIndex(of: "--gemm"), i + 1 < CommandLine.arguments.count {
    let d = CommandLine.arguments[i + 1].split(separator: ",").compactMap { Int($0) }
    guard d.count == 3, d.allSatisfy({ $0 > 0 }) else { fail("--gemm M,N,K") }
    let (m, n, k) = (d[0], d[1], d[2])
    var g = SplitMix64(seed: 7)
    let a = (0..<(m * k)).map { _ in Float(g.nextUnit()) }, b = (0..<(k * n)).map { _ in Float(g.nextUnit()) }
    var c = [Float](repeating: 0, count: m * n)
    let reps = max(1, Int(2e9 / Double(2 * m * n * k)))
    let t = medianSeconds(repeats: 7) {
        for _ in 0..<reps {
            sgemm(Compute(threads: 1), transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n, beta: 0, c: &c, ldc: n)
        }
    }
    print(String(format: "sgemm %d×%d×%d, one thread: %.1f GFLOP/s", m, n, k, Double(reps) * 2 * Double(m * n * k) / t / 1e9))
    exit(0)
}
// Below 16 px block5 has no pixels left; above 1024 a column takes minutes.
let size = argument("--size", default: 256, in: 16...1024)
/// `--only simd|blas|wino` times one column (for a profiler).
let only: String? = CommandLine.arguments.firstIndex(of: "--only").flatMap {
    $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil
}
/// `--layer NAME` times one layer (for a profiler).
let onlyLayer: String? = CommandLine.arguments.firstIndex(of: "--layer").flatMap {
    $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil
}
let repeats = argument("--repeats", default: 5, in: 1...1000)
let threads = argument("--threads", default: Compute.defaultThreads, in: 1...256)
if let onlyLayer, !VGG19Architecture.layers.contains(where: { $0.name == onlyLayer }) { fail("no layer named \(onlyLayer)") }

/// Median wall time of `repeats` runs after one warm-up.
func medianSeconds(_ body: () -> Void) -> Double {
    body()
    return medianSeconds(repeats: repeats, body)
}

// A seeded generator: the system one (getrandom per call) took more time than some layers.
nonisolated(unsafe) var rng = SplitMix64(seed: 1)
func randomFloats(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextUnit() * 2 - 1) } }

let backends: [Backend] = OpenBLAS.isAvailable ? [.simd, .blas] : [.simd]
/// The columns of the conv table: a backend and an algorithm each.
let columns: [(name: String, compute: Compute)] =
    backends.map { ("\($0)", Compute(backend: $0, threads: threads, conv: .direct)) }
    + [("wino", Compute(backend: .simd, threads: threads, conv: .winograd))]
print("threads \(threads); OpenBLAS: \(OpenBLAS.isAvailable ? "core \(OpenBLAS.coreName)" : OpenBLAS.coreName)")
print("median of \(repeats) runs; GFLOP/s = 2·OC·C·9·H·W / time (direct-conv FLOPs, Winograd too)")
print("simd, blas: im2col + GEMM; wino: Winograd F(4×4,3×3) on the SIMD micro-kernel; ×direct = wino ÷ simd speed\n")

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
func f1(_ x: Double) -> String { String(format: "%.1f", x) }

var header = pad("layer @\(size)²", 16) + pad("C→OC", 10) + lpad("H×W", 8)
for op in ["fwd", "bwd"] {
    for col in columns { header += lpad("\(op) \(col.name)", 10) }
    header += lpad("×direct", 8)
}
print(header)

var totals: [String: Double] = [:]  // seconds per (op, column), summed over all 16 layers
var totalFlops = 0.0
var seen: [String: [String: Double]] = [:]
for layer in VGG19Architecture.convInputs(height: size, width: size) where onlyLayer == nil || onlyLayer == layer.name {
    let flops = 2.0 * Double(layer.oc * layer.c * 9 * layer.h * layer.w)
    totalFlops += flops
    let key = "\(layer.c)-\(layer.oc)-\(layer.h)"
    // Layers of the same shape (block3_conv2..4, …) are timed once and counted for each.
    if seen[key] == nil {
        let x = orFail { try Tensor(shape: [layer.c, layer.h, layer.w], data: randomFloats(layer.c * layer.h * layer.w)) }
        let weight = orFail { try Tensor(shape: [layer.oc, layer.c, 3, 3], data: randomFloats(layer.oc * layer.c * 9).map { $0 * 0.05 }) }
        let bias = orFail { try Tensor(shape: [layer.oc], data: randomFloats(layer.oc)) }
        let dOut = orFail { try Tensor(shape: [layer.oc, layer.h, layer.w], data: randomFloats(layer.oc * layer.h * layer.w)) }
        let mask = relu(orFail { try Tensor(shape: [layer.oc, layer.h, layer.w], data: randomFloats(layer.oc * layer.h * layer.w)) })
        // Prepared once and kept, as VGG19 keeps them (the cache large enough for every layer).
        let forms = orFail { try ConvWeightForms(weight: weight) }
        var times: [String: Double] = [:]
        for col in columns {
            if let only, only != col.name {
                times["fwd \(col.name)"] = .nan
                times["bwd \(col.name)"] = .nan
                continue
            }
            // As VGG19 runs them: the ReLU fused into the forward, its mask into the backward.
            times["fwd \(col.name)"] = medianSeconds {
                _ = orFail { try conv2d(x, weight: weight, bias: bias, relu: true, forms: forms, col.compute) }
            }
            times["bwd \(col.name)"] = medianSeconds {
                _ = orFail { try conv2dBackwardData(dOut, weight: weight, reluOutput: mask, forms: forms, col.compute) }
            }
        }
        seen[key] = times
    }
    let times = seen[key]!
    var line = pad(layer.name, 16) + pad("\(layer.c)→\(layer.oc)", 10) + lpad("\(layer.h)×\(layer.w)", 8)
    for op in ["fwd", "bwd"] {
        for col in columns {
            let t = times["\(op) \(col.name)"]!
            totals["\(op) \(col.name)", default: 0] += t
            line += lpad(f1(flops / t / 1e9), 10)
        }
        line += lpad(String(format: "%.2f", times["\(op) simd"]! / times["\(op) wino"]!), 8)
    }
    print(line)
}
var line = pad("all 16 convs", 34)
for op in ["fwd", "bwd"] {
    for col in columns { line += lpad(f1(totalFlops / totals["\(op) \(col.name)"]! / 1e9), 10) }
    line += lpad(String(format: "%.2f", totals["\(op) simd"]! / totals["\(op) wino"]!), 8)
}
print(line)
print("\n(×direct = Winograd speed ÷ direct SIMD speed; the all-16 row is total FLOPs ÷ total time)\n")

// With --only or --layer (a profiler's run), the conv table is all that was asked for.
if only != nil || onlyLayer != nil { exit(0) }
print(pad("sgemm n×n×n", 16) + backends.map { lpad("\($0)", 11) }.joined() + (backends.count == 2 ? lpad("ratio", 7) : ""))
for n in [1024, 2048] {
    let a = randomFloats(n * n), b = randomFloats(n * n)
    var c = [Float](repeating: 0, count: n * n)
    var row = pad("\(n)", 16)
    var rates: [Double] = []
    for backend in backends {
        let compute = Compute(backend: backend, threads: threads)
        let t = medianSeconds {
            sgemm(
                compute, transA: false, transB: false, m: n, n: n, k: n, alpha: 1,
                a: a, lda: n, b: b, ldb: n, beta: 0, c: &c, ldc: n)
        }
        rates.append(2 * Double(n * n * n) / t / 1e9)
        row += lpad(f1(rates.last!), 11)
    }
    if rates.count == 2 { row += lpad(String(format: "%.2f", rates[0] / rates[1]), 7) }
    print(row)
}
