import Foundation

// The loss terms of neural style transfer. Sums accumulate in Double: the terms add up
// millions of squares, and the total is compared to a reference at 1e-4.

// MARK: - Content loss: sum of squared differences

//   forward:  L = Σ (a − b)²
//   backward: dL/da = 2 (a − b)

@inlinable
public func sumSquaredDifference<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> Double {
    precondition(a.count == b.count)
    var sum = 0.0
    for i in 0..<a.count {
        let d = Double(a[i]) - Double(b[i])
        sum += d * d
    }
    return sum
}

/// Overwrites: returns dL/da.
@inlinable
public func sumSquaredDifferenceBackward<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> [T] {
    precondition(a.count == b.count)
    return (0..<a.count).map { 2 * (a[$0] - b[$0]) }
}

/// Keras: content_loss(base, combination) = Σ (combination − base)².
public func contentLoss(_ combination: Tensor, target: Tensor) throws -> Double {
    try requireSameShape(combination, target, "content loss")
    return sumSquaredDifference(combination.data, target.data)
}

public func contentLossBackward(_ combination: Tensor, target: Tensor) throws -> Tensor {
    try requireSameShape(combination, target, "content loss")
    return Tensor(validShape: combination.shape, data: sumSquaredDifferenceBackward(combination.data, target.data))
}

// MARK: - Style loss

//   forward:  L = Σ (G − S)² / D,   G = gram(F), S the style's Gram matrix
//   backward: dL/dG = 2 (G − S) / D, then through the Gram matrix: dF = (dG + dGᵀ) F = 4 (G − S) F / D
//
// D is where the Keras example and the paper differ:
//   Keras example: D = 4 · 3² · (rows · cols)² — constants from the image, the same at every layer
//   Gatys et al.:  D = 4 · N² · M² — the layer's own channels N and positions M = H·W

public enum StyleNormalization: Sendable, Equatable, CustomStringConvertible {
    case keras(imageRows: Int, imageCols: Int)
    case gatys

    public func denominator(channels: Int, positions: Int) -> Double {
        switch self {
        case .keras(let rows, let cols):
            let size = Double(rows * cols)
            return 4 * 9 * size * size
        case .gatys:
            let n = Double(channels), m = Double(positions)
            return 4 * n * n * m * m
        }
    }

    public var description: String {
        switch self {
        case .keras(let r, let c): return "keras (4·3²·(\(r)·\(c))²)"
        case .gatys: return "gatys (4·N²·M² per layer)"
        }
    }
}

@inlinable
public func styleLossReference<T: BinaryFloatingPoint>(_ f: [T], targetGram s: [T], c: Int, m: Int, denominator: Double) -> Double {
    let g = gramForwardReference(f, c: c, m: m)
    return sumSquaredDifference(g, s) / denominator
}

/// Overwrites: returns dL/dF (C, M).
@inlinable
public func styleLossBackwardReference<T: BinaryFloatingPoint>(_ f: [T], targetGram s: [T], c: Int, m: Int, denominator: Double) -> [T] {
    let g = gramForwardReference(f, c: c, m: m)
    let dG = (0..<g.count).map { T(2 * (Double(g[$0]) - Double(s[$0])) / denominator) }
    return gramBackwardReference(dG: dG, f: f, c: c, m: m)
}

func checkStyleShapes(_ x: Tensor, _ targetGram: Tensor) throws -> (c: Int, m: Int) {
    let s = try requireCHW(x, "style loss input")
    guard targetGram.shape == [s.c, s.c] else {
        throw KernelError.shape("style loss: target Gram \(targetGram.shape) does not match \(s.c) channels of \(x.shape)")
    }
    return (s.c, s.h * s.w)
}

/// The loss and, if wanted, dL/dG = 2 (G − S) / D (C × C): the gradient with respect to the
/// features is then gramMatrixBackward(dG, input: x), which a caller may defer until it is needed.
public func styleLossAndGramGradient(
    _ x: Tensor, targetGram: Tensor, _ norm: StyleNormalization, wantGradient: Bool,
    _ compute: Compute
) throws -> (loss: Double, dG: Tensor?) {
    let s = try checkStyleShapes(x, targetGram)
    let g = try gramMatrix(x, compute)
    let d = norm.denominator(channels: s.c, positions: s.m)
    let loss = sumSquaredDifference(g.data, targetGram.data) / d
    guard wantGradient else { return (loss, nil) }
    let scale = Float(2 / d)
    return (loss, Tensor(validShape: g.shape, data: (0..<g.count).map { scale * (g.data[$0] - targetGram.data[$0]) }))
}

// MARK: - Total variation loss (the Keras example's form)

// For each channel, over i < H−1, j < W−1:
//   a = (x[i][j] − x[i+1][j])²,  b = (x[i][j] − x[i][j+1])²,   L = Σ (a + b)^1.25
// backward, with t = 1.25 (a + b)^0.25:
//   dx[i][j] += 2t (2x[i][j] − x[i+1][j] − x[i][j+1]),  dx[i+1][j] −= 2t (x[i][j] − x[i+1][j]),
//   dx[i][j+1] −= 2t (x[i][j] − x[i][j+1])
// The last row and column only enter through their neighbours, as in the example.
// At a + b = 0 the derivative is 0 (the exponent is above 1), so flat regions are no kink.

@inlinable
public func totalVariationReference<T: BinaryFloatingPoint>(_ x: [T], c: Int, h: Int, w: Int) -> Double {
    var sum = 0.0
    for ci in 0..<c {
        for i in 0..<(h - 1) {
            for j in 0..<(w - 1) {
                let p = (ci * h + i) * w + j
                let dy = Double(x[p]) - Double(x[p + w])
                let dx = Double(x[p]) - Double(x[p + 1])
                sum += pow(dy * dy + dx * dx, 1.25)
            }
        }
    }
    return sum
}

/// Overwrites: returns dL/dx (C, H, W).
@inlinable
public func totalVariationBackwardReference<T: BinaryFloatingPoint>(_ x: [T], c: Int, h: Int, w: Int) -> [T] {
    var g = [Double](repeating: 0, count: c * h * w)
    for ci in 0..<c {
        for i in 0..<(h - 1) {
            for j in 0..<(w - 1) {
                let p = (ci * h + i) * w + j
                let dy = Double(x[p]) - Double(x[p + w])
                let dx = Double(x[p]) - Double(x[p + 1])
                let t = 1.25 * pow(dy * dy + dx * dx, 0.25)
                g[p] += 2 * t * (dy + dx)
                g[p + w] -= 2 * t * dy
                g[p + 1] -= 2 * t * dx
            }
        }
    }
    return g.map { T($0) }
}

public func totalVariationLoss(_ x: Tensor) throws -> Double {
    let s = try requireCHW(x, "total variation input")
    return totalVariationReference(x.data, c: s.c, h: s.h, w: s.w)
}

public func totalVariationLossBackward(_ x: Tensor) throws -> Tensor {
    let s = try requireCHW(x, "total variation input")
    return Tensor(validShape: x.shape, data: totalVariationBackwardReference(x.data, c: s.c, h: s.h, w: s.w))
}
