import Foundation

// Element-wise ops, each forward beside its backward (g is the gradient of the result):
//   a + b   → g, g            a − b → g, −g           a · b → g·b, g·a
//   a / b   → g/b, −g·a/b²    a ^ b → g·b·a^(b−1), g·a^b·ln a
//   −a → −g   √a → g/(2√a)   |a| → g·sign a   eᵃ → g·eᵃ   ln a → g/a   relu a → g·[a > 0]
//   comparisons give 0/1 masks and no gradient.
// Binary ops broadcast as NumPy does; the backward sums a stretched input's gradient back to its shape.

extension Tape {
    func negate(_ a: Var) -> Var { unary(a, { -$0 }, { g, _, _ in -g }) }

    /// A function of one value: `f` forward, `df(g, x, y)` the gradient given g, the input and the output.
    func unary(_ a: Var, _ f: (Double) -> Double, _ df: @escaping (Double, Double, Double) -> Double) -> Var {
        let x = a.value
        let y = NDArray(valid: x.shape, x.data.map(f))
        return record(y, [a]) { g in
            var out = g.data
            for i in out.indices { out[i] = df(g.data[i], x.data[i], y.data[i]) }
            return [NDArray(valid: x.shape, out)]
        }
    }

    func function(_ name: String, _ a: Var) throws -> Var {
        switch name {
        case "sqrt": return unary(a, { $0.squareRoot() }, { g, _, y in g / (2 * y) })
        case "abs": return unary(a, { abs($0) }, { g, x, _ in x > 0 ? g : x < 0 ? -g : 0 })
        case "exp": return unary(a, { Foundation.exp($0) }, { g, _, y in g * y })
        case "log": return unary(a, { Foundation.log($0) }, { g, x, _ in g / x })
        case "relu": return unary(a, { max($0, 0) }, { g, x, _ in x > 0 ? g : 0 })
        default: throw ExpressionError("no element-wise function '\(name)'")
        }
    }

    func binary(_ op: BinaryOperator, _ a: Var, _ b: Var) throws -> Var {
        if op == .matmul { return try matmul(a, b) }
        guard let shape = Broadcast.shape(a.shape, b.shape) else {
            throw ExpressionError("\(op.rawValue): shapes \(describe(a.shape)) and \(describe(b.shape)) do not broadcast")
        }
        let n = try NDArray.count(shape)
        let x = a.value, y = b.value
        // Which element of each input each output element reads (nil: the same index).
        let ia = x.shape == shape ? nil : Broadcast.indices(x.shape, into: shape)
        let ib = y.shape == shape ? nil : Broadcast.indices(y.shape, into: shape)
        @inline(__always) func xa(_ i: Int) -> Double { x.data[ia?[i] ?? i] }
        @inline(__always) func yb(_ i: Int) -> Double { y.data[ib?[i] ?? i] }
        var out = [Double](repeating: 0, count: n)
        func each(_ f: (Double, Double) -> Double) { for i in 0..<n { out[i] = f(xa(i), yb(i)) } }
        /// The gradients from per-element partial derivatives, summed back to each input's shape.
        func back(_ g: NDArray, _ da: ((Int) -> Double)?, _ db: ((Int) -> Double)?) -> [NDArray?] {
            [
                da.map { d in Broadcast.sum(NDArray(valid: shape, (0..<n).map { g.data[$0] * d($0) }), to: x.shape) },
                db.map { d in Broadcast.sum(NDArray(valid: shape, (0..<n).map { g.data[$0] * d($0) }), to: y.shape) },
            ]
        }
        let wantA = needsGradient(a), wantB = needsGradient(b)
        switch op {
        case .add:
            each(+)
            return record(NDArray(valid: shape, out), [a, b]) { g in back(g, wantA ? { _ in 1 } : nil, wantB ? { _ in 1 } : nil) }
        case .subtract:
            each(-)
            return record(NDArray(valid: shape, out), [a, b]) { g in back(g, wantA ? { _ in 1 } : nil, wantB ? { _ in -1 } : nil) }
        case .multiply:
            each(*)
            return record(NDArray(valid: shape, out), [a, b]) { g in back(g, wantA ? { yb($0) } : nil, wantB ? { xa($0) } : nil) }
        case .divide:
            // NumPy would give inf; a learner's loss term must not, so it is an error.
            guard !y.data.contains(0) else { throw ExpressionError("division by zero: the divisor has a 0 (shape \(describe(y.shape)))") }
            each(/)
            return record(NDArray(valid: shape, out), [a, b]) { g in
                back(g, wantA ? { 1 / yb($0) } : nil, wantB ? { -xa($0) / (yb($0) * yb($0)) } : nil)
            }
        case .power:
            each { Foundation.pow($0, $1) }
            let result = out
            return record(NDArray(valid: shape, out), [a, b]) { g in
                back(
                    g, wantA ? { i in yb(i) == 0 ? 0 : yb(i) * Foundation.pow(xa(i), yb(i) - 1) } : nil,
                    wantB ? { i in result[i] * Foundation.log(xa(i)) } : nil)
            }
        case .less: each { $0 < $1 ? 1 : 0 }
        case .lessEqual: each { $0 <= $1 ? 1 : 0 }
        case .greater: each { $0 > $1 ? 1 : 0 }
        case .greaterEqual: each { $0 >= $1 ? 1 : 0 }
        case .equal: each { $0 == $1 ? 1 : 0 }
        case .notEqual: each { $0 != $1 ? 1 : 0 }
        case .matmul: return try matmul(a, b)  // (taken before the broadcast above)
        }
        // A comparison: a mask, with no gradient (it is flat almost everywhere).
        return constant(NDArray(valid: shape, out))
    }
}
