import Foundation
import Kernels

// The values of the shell's expressions: arrays of up to 4 axes (a scalar has none), row-major,
// with NumPy's broadcasting. They hold Double: the same expression is the float32 loss's term at
// each step (its inputs are the network's float32 features) and the float64 reference the gradient
// check differences, so one evaluator serves both.

public struct NDArray: Equatable, Sendable {
    public let shape: [Int]
    public var data: [Double]

    static let maxRank = 4
    /// The most elements one value may hold (512 MB of Double): a typo must not exhaust memory.
    static let maxElements = 64 << 20

    public init(shape: [Int], data: [Double]) throws {
        guard shape.count <= Self.maxRank else { throw ExpressionError("values have at most 4 axes; got \(describe(shape))") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw ExpressionError("a shape has no negative sizes: \(describe(shape))") }
        let n = try Self.count(shape)
        guard n == data.count else { throw ExpressionError("\(data.count) values cannot have shape \(describe(shape))") }
        self.shape = shape
        self.data = data
    }

    /// Trusted: the caller made `data` for `shape`.
    init(valid shape: [Int], _ data: [Double]) {
        self.shape = shape
        self.data = data
    }

    public init(scalar: Double) { self.init(valid: [], [scalar]) }

    public init(_ t: Tensor) { self.init(valid: t.shape, t.data.map(Double.init)) }

    static func filled(_ shape: [Int], _ v: Double) throws -> NDArray {
        NDArray(valid: shape, [Double](repeating: v, count: try count(shape)))
    }

    /// The number of elements of `shape`, refused past `maxElements`.
    static func count(_ shape: [Int]) throws -> Int {
        var n = 1
        for d in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow, p <= maxElements else {
                throw ExpressionError("a value of shape \(describe(shape)) is too large (at most \(maxElements) elements)")
            }
            n = p
        }
        return n
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }
    public var isScalar: Bool { data.count == 1 }
    public var scalar: Double { data[0] }

    public func tensor() throws -> Tensor { try Tensor(shape: shape, data: data.map(Float.init)) }

    /// Row-major strides.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { s[i] = s[i + 1] * shape[i + 1] }
        return s
    }
}

/// An expression that cannot be parsed or evaluated: one line, naming what is wrong.
public struct ExpressionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ message: String) { description = message }
}

/// "(64, 3072)", "()" for a scalar, "(5,)" for one axis — as NumPy prints a shape.
func describe(_ shape: [Int]) -> String {
    shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
}

// MARK: - Broadcasting (NumPy's rule: align the last axes; a size-1 axis stretches)

enum Broadcast {
    /// The shape of `a op b`, or nil when they do not broadcast.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let x = i < n - a.count ? 1 : a[i - (n - a.count)]
            let y = i < n - b.count ? 1 : b[i - (n - b.count)]
            guard x == y || x == 1 || y == 1 else { return nil }
            out[i] = x == 1 ? y : x
        }
        return out
    }

    /// For each element of `out`, the index of the element of an array of shape `shape` it reads.
    static func indices(_ shape: [Int], into out: [Int]) -> [Int] {
        let total = out.reduce(1, *)
        if shape == out { return Array(0..<total) }
        let padded = [Int](repeating: 1, count: out.count - shape.count) + shape
        let inStrides = NDArray.strides(padded).enumerated().map { padded[$0.offset] == 1 ? 0 : $0.element }
        let outStrides = NDArray.strides(out)
        var result = [Int](repeating: 0, count: total)
        for i in 0..<total {
            var rest = i, j = 0
            for a in 0..<out.count {
                let k = rest / outStrides[a]
                rest -= k * outStrides[a]
                j += k * inStrides[a]
            }
            result[i] = j
        }
        return result
    }

    /// The gradient of a broadcast input: `g` (of the output's shape) summed back to `shape`.
    static func sum(_ g: NDArray, to shape: [Int]) -> NDArray {
        if g.shape == shape { return g }
        var out = [Double](repeating: 0, count: shape.reduce(1, *))
        for (i, j) in indices(shape, into: g.shape).enumerated() { out[j] += g.data[i] }
        return NDArray(valid: shape, out)
    }
}

// MARK: - Printing, as NumPy does: the shape, then the values (the middle elided), then statistics

extension NDArray {
    static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(format: "%.0f", v) }
        return String(format: "%.6g", v)
    }

    /// "float64 (64, 64)  min … max … mean … std …" and the values, at most 6 × 6 shown.
    public func summary(name: String? = nil) -> String {
        let head = name.map { "\($0) = " } ?? ""
        if rank == 0 { return head + Self.number(scalar) }
        var lines = ["\(head)float64 \(describe(shape))"]
        if count > 0 {
            let mean = data.reduce(0, +) / Double(count)
            let std = (data.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count)).squareRoot()
            lines[0] += String(format: "  min %.5g  max %.5g  mean %.5g  std %.5g", data.min()!, data.max()!, mean, std)
        }
        lines += grid()
        return lines.joined(separator: "\n")
    }

    /// The values as rows: a vector on one row, a matrix as rows, a deeper array as its first matrix.
    private func grid() -> [String] {
        guard count > 0 else { return ["[]"] }
        func row(_ start: Int, _ n: Int) -> String {
            let shown = n <= 6 ? Array(0..<n) : [0, 1, 2, -1, n - 2, n - 1]
            return "[" + shown.map { $0 < 0 ? "…" : Self.number(data[start + $0]) }.joined(separator: ", ") + "]"
        }
        let cols = shape.last!
        if rank == 1 { return [row(0, cols)] }
        let rows = shape[rank - 2]
        let shownRows = rows <= 6 ? Array(0..<rows) : [0, 1, 2, -1, rows - 2, rows - 1]
        var out = shownRows.map { $0 < 0 ? " …" : " " + row($0 * cols, cols) }
        if rank > 2 { out.insert("first \(rows)×\(cols) matrix, [0, …, :, :]:", at: 0) }
        return out
    }
}
