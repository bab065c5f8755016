import Foundation

// Reductions over all elements or along one axis (the axis goes, as in NumPy), forward beside backward:
//   sum  → g to every element          mean → g / n to every element
//   max, min → g to the first element that is the extreme (NumPy's argmax), 0 elsewhere
//   var = mean((x − mean x)²) (NumPy's default, ddof 0) → g · 2(x − mean x) / n
//   std = √var → g · (x − mean x) / (n · std)

extension Tape {
    /// `name(a)` over everything, or `name(a, axis)`.
    func reduce(_ name: String, _ a: Var, axis: Int?) throws -> Var {
        let x = a.value
        // The array as (outer, n, inner): the reduced axis in the middle.
        var outer = 1, n = x.count, inner = 1
        var shape: [Int] = []
        if let axis {
            guard x.rank > 0 else { throw ExpressionError("\(name): a scalar has no axis \(axis)") }
            guard (-x.rank..<x.rank).contains(axis) else {
                throw ExpressionError("\(name): axis \(axis) is out of range for shape \(describe(x.shape))")
            }
            let k = axis < 0 ? axis + x.rank : axis
            outer = x.shape[..<k].reduce(1, *)
            n = x.shape[k]
            inner = x.shape[(k + 1)...].reduce(1, *)
            shape = Array(x.shape[..<k] + x.shape[(k + 1)...])
        }
        guard n > 0 || name == "sum" else { throw ExpressionError("\(name) of an empty array") }
        @inline(__always) func at(_ o: Int, _ j: Int, _ i: Int) -> Int { (o * n + j) * inner + i }
        var out = [Double](repeating: 0, count: outer * inner)
        var mean = out
        var arg = [Int](repeating: 0, count: outer * inner)  // max/min: which j
        for o in 0..<outer {
            for i in 0..<inner {
                var s = 0.0, best = 0
                for j in 0..<n {
                    let v = x.data[at(o, j, i)]
                    s += v
                    if name == "max" && v > x.data[at(o, best, i)] || name == "min" && v < x.data[at(o, best, i)] { best = j }
                }
                let m = s / Double(max(n, 1))
                mean[o * inner + i] = m
                arg[o * inner + i] = best
                switch name {
                case "sum": out[o * inner + i] = s
                case "mean": out[o * inner + i] = m
                case "max", "min": out[o * inner + i] = x.data[at(o, best, i)]
                case "var", "std":
                    var q = 0.0
                    for j in 0..<n { q += (x.data[at(o, j, i)] - m) * (x.data[at(o, j, i)] - m) }
                    out[o * inner + i] = name == "var" ? q / Double(n) : (q / Double(n)).squareRoot()
                default: throw ExpressionError("no reduction '\(name)'")
                }
            }
        }
        let y = out
        return record(NDArray(valid: shape, out), [a]) { g in
            var dx = [Double](repeating: 0, count: x.count)
            for o in 0..<outer {
                for i in 0..<inner {
                    let r = o * inner + i, gr = g.data[r]
                    switch name {
                    case "sum": for j in 0..<n { dx[at(o, j, i)] = gr }
                    case "mean": for j in 0..<n { dx[at(o, j, i)] = gr / Double(n) }
                    case "max", "min": dx[at(o, arg[r], i)] = gr
                    case "var": for j in 0..<n { dx[at(o, j, i)] = gr * 2 * (x.data[at(o, j, i)] - mean[r]) / Double(n) }
                    default:  // std
                        for j in 0..<n { dx[at(o, j, i)] = y[r] == 0 ? 0 : gr * (x.data[at(o, j, i)] - mean[r]) / (Double(n) * y[r]) }
                    }
                }
            }
            return [NDArray(valid: x.shape, dx)]
        }
    }
}
