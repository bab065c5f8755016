import Foundation

// Ops that move elements without changing them, forward beside backward:
//   reshape  → the gradient reshaped back          transpose → transposed back (the inverse order)
//   X[…]     → the gradient scattered into zeros at the elements the subscripts chose

extension Tape {
    /// reshape(X, d₀, d₁, …): the same elements in a new shape; one size may be −1 (inferred).
    func reshape(_ a: Var, _ dims: [Int]) throws -> Var {
        let n = a.value.count
        var shape = dims
        let unknown = dims.indices.filter { dims[$0] == -1 }
        guard unknown.count <= 1, dims.allSatisfy({ $0 >= -1 }) else {
            throw ExpressionError("reshape: sizes are ≥ 0, and at most one is −1; got \(describe(dims))")
        }
        if let k = unknown.first {
            let known = dims.enumerated().filter { $0.offset != k }.reduce(1) { $0 * $1.element }
            guard known > 0, n % known == 0 else { throw ExpressionError("reshape: \(n) elements do not fill \(describe(dims))") }
            shape[k] = n / known
        }
        guard shape.reduce(1, *) == n else {
            throw ExpressionError("reshape: \(describe(a.shape)) has \(n) elements; \(describe(shape)) would have \(shape.reduce(1, *))")
        }
        let y = try NDArray(shape: shape, data: a.value.data)
        let original = a.shape
        return record(y, [a]) { g in [NDArray(valid: original, g.data)] }
    }

    /// The axes in the order `order` (X.T: all of them reversed, as NumPy's .T).
    func transpose(_ a: Var, _ order: [Int]? = nil) throws -> Var {
        let x = a.value
        let order = order ?? Array((0..<x.rank).reversed())
        guard order.sorted() == Array(0..<x.rank) else {
            throw ExpressionError("transpose: \(describe(order)) is not an order of the \(x.rank) axes of \(describe(x.shape))")
        }
        let y = permute(x, order)
        var inverse = order
        for (i, o) in order.enumerated() { inverse[o] = i }
        // (a free function: a closure on the tape that captured the tape would keep it alive forever)
        return record(y, [a]) { g in [permute(g, inverse)] }
    }
}

/// X with its axes in the order `order`.
private func permute(_ x: NDArray, _ order: [Int]) -> NDArray {
    let shape = order.map { x.shape[$0] }
    if order == Array(0..<x.rank) { return NDArray(valid: shape, x.data) }
    let inStrides = NDArray.strides(x.shape), outStrides = NDArray.strides(shape)
    var out = [Double](repeating: 0, count: x.count)
    for i in 0..<x.count {
        var rest = i, j = 0
        for k in 0..<shape.count {
            let q = rest / outStrides[k]
            rest -= q * outStrides[k]
            j += q * inStrides[order[k]]
        }
        out[i] = x.data[j]
    }
    return NDArray(valid: shape, out)
}

extension Tape {
    /// X[s₀, s₁, …]: an index takes one element of its axis (the axis goes), a range start:stop:step
    /// some of them; negative numbers count from the end; axes not written are taken whole.
    func slice(_ a: Var, _ subscripts: [Subscript]) throws -> Var {
        let x = a.value
        guard subscripts.count <= x.rank else {
            throw ExpressionError("[]: \(subscripts.count) subscripts for \(x.rank) axes \(describe(x.shape))")
        }
        var picks: [[Int]] = []  // per axis, the indices taken
        var shape: [Int] = []
        for k in 0..<x.rank {
            let size = x.shape[k]
            switch k < subscripts.count ? subscripts[k] : .range(nil, nil, nil) {
            case .at(let i):
                let j = i < 0 ? i + size : i
                guard (0..<size).contains(j) else { throw ExpressionError("[]: index \(i) is out of range for axis \(k) of size \(size)") }
                picks.append([j])
            case .range(let start, let stop, let step):
                let s = step ?? 1
                guard s > 0 else { throw ExpressionError("[]: a step is positive; got \(s)") }
                func clamp(_ v: Int?, _ fallback: Int) -> Int {
                    guard let v else { return fallback }
                    return min(max(v < 0 ? v + size : v, 0), size)
                }
                let range = Array(stride(from: clamp(start, 0), to: clamp(stop, size), by: s))
                picks.append(range)
                shape.append(range.count)
            }
        }
        // Every chosen element's index in X, in the result's order.
        let strides = NDArray.strides(x.shape)
        var index = [0]
        for k in 0..<x.rank { index = index.flatMap { base in picks[k].map { base + $0 * strides[k] } } }
        let y = NDArray(valid: shape, index.map { x.data[$0] })
        return record(y, [a]) { g in
            var dx = [Double](repeating: 0, count: x.count)
            for (i, j) in index.enumerated() { dx[j] += g.data[i] }
            return [NDArray(valid: x.shape, dx)]
        }
    }
}
