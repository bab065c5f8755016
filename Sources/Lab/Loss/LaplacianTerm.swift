import Kernels

// The Laplacian loss of Li, Xu, Wang and Zhang, "Laplacian-Steered Neural Style Transfer" (ACM MM
// 2017): the image and the content are average-pooled p×p (p = 4, as the paper), then a 3×3
// Laplacian is taken of each channel, and the loss is the squared difference of the two:
//   P(x)[c,i,j] = Σ_{a,b<p} x[c, p·i+a, p·j+b] / p²                       (floor: a last partial block is dropped)
//   D(P)[c,i,j] = 4·P[c,i+1,j+1] − P[c,i,j+1] − P[c,i+2,j+1] − P[c,i+1,j] − P[c,i+1,j+2]   ("valid")
//   laplacian = Σ (D(P(x)) − D(P(content)))²                               (÷ its elements with averageContentAndTV)
// It keeps the content's fine structure (edges) that the deep content layer lets go. Off unless its
// weight is set (`--laplacian-weight`). The same generic code computes it in float32 and float64.

/// D(P(x)) for x (C, H, W): returns the (C, H/p − 2, W/p − 2) values.
func pooledLaplacian<T: BinaryFloatingPoint>(_ x: [T], c: Int, h: Int, w: Int, p: Int) -> (values: [T], h: Int, w: Int) {
    let ph = h / p, pw = w / p
    let oh = max(0, ph - 2), ow = max(0, pw - 2)
    var pooled = [T](repeating: 0, count: c * ph * pw)
    let area = T(p * p)
    for k in 0..<c {
        for i in 0..<ph {
            for j in 0..<pw {
                var s: T = 0
                for a in 0..<p { for b in 0..<p { s += x[(k * h + p * i + a) * w + p * j + b] } }
                pooled[(k * ph + i) * pw + j] = s / area
            }
        }
    }
    var out = [T](repeating: 0, count: c * oh * ow)
    for k in 0..<c {
        let q = { (i: Int, j: Int) in pooled[(k * ph + i) * pw + j] }
        for i in 0..<oh {
            for j in 0..<ow {
                let centre = 4 * q(i + 1, j + 1)
                out[(k * oh + i) * ow + j] = centre - q(i, j + 1) - q(i + 2, j + 1) - q(i + 1, j) - q(i + 1, j + 2)
            }
        }
    }
    return (out, oh, ow)
}

/// The backward of pooledLaplacian: dx (C, H, W) from dOut (C, H/p − 2, W/p − 2), overwriting.
/// forward: out = D(P(x)), both linear; so dx = Pᵀ Dᵀ dOut (each Laplacian tap sends its weight
/// back to its pooled cell, each pooled cell 1/p² to each of its p×p pixels).
func pooledLaplacianBackward<T: BinaryFloatingPoint>(_ dOut: [T], c: Int, h: Int, w: Int, p: Int) -> [T] {
    let ph = h / p, pw = w / p
    let oh = max(0, ph - 2), ow = max(0, pw - 2)
    var dPooled = [T](repeating: 0, count: c * ph * pw)
    for k in 0..<c {
        for i in 0..<oh {
            for j in 0..<ow {
                let g = dOut[(k * oh + i) * ow + j]
                dPooled[(k * ph + i + 1) * pw + j + 1] += 4 * g
                dPooled[(k * ph + i) * pw + j + 1] -= g
                dPooled[(k * ph + i + 2) * pw + j + 1] -= g
                dPooled[(k * ph + i + 1) * pw + j] -= g
                dPooled[(k * ph + i + 1) * pw + j + 2] -= g
            }
        }
    }
    var dx = [T](repeating: 0, count: c * h * w)
    let area = T(p * p)
    for k in 0..<c {
        for i in 0..<ph {
            for j in 0..<pw {
                let g = dPooled[(k * ph + i) * pw + j] / area
                for a in 0..<p { for b in 0..<p { dx[(k * h + p * i + a) * w + p * j + b] = g } }
            }
        }
    }
    return dx
}

struct LaplacianTerm: LossTerm {
    let kind = TermKind(rawValue: "laplacian")
    let weightOption = "laplacian-weight"
    let defaultWeight = 0.0
    let weightHelp = "the Laplacian term's weight (Li et al. 2017; 0: off, as the example)"
    let summary = "Σ (D(P(x)) − D(P(content)))²: the content's edges, 4×4-pooled"
    /// The pooling of the paper's first term.
    static let pool = 4

    func specs(_ c: LossConfiguration) -> [TermSpec] {
        c.weight(kind) > 0 ? [TermSpec(kind: kind, layer: nil, weight: c.weight(kind))] : []
    }

    func makeTargets(_ inputs: TargetInputs, into targets: inout LossTargets) throws {
        guard !specs(inputs.configuration).isEmpty else { return }
        let (_, h, w) = inputs.content.chw
        let d = pooledLaplacian(inputs.content.data, c: 3, h: h, w: w, p: Self.pool)
        guard d.h > 0, d.w > 0 else {
            throw SessionError.invalid("the Laplacian term needs an image of at least \(3 * Self.pool)×\(3 * Self.pool) pixels")
        }
        targets.images[kind.rawValue] = try Tensor(shape: [3, d.h, d.w], data: d.values)
    }

    func evaluate(_ spec: TermSpec, _ x: TermContext, gradientWeight: Double?) throws -> TermResult {
        guard let target = x.targets.images[kind.rawValue] else { throw TransferError.targetsOutOfDate("laplacian") }
        let (_, h, w) = x.image.chw
        let d = x.compute.timed("image", "laplacian loss") { pooledLaplacian(x.image.data, c: 3, h: h, w: w, p: Self.pool) }
        guard d.values.count == target.count else { throw TransferError.targetsOutOfDate("laplacian") }
        let per = x.configuration.contentScale(elements: target.count)
        var raw = 0.0
        for i in d.values.indices {
            let diff = Double(d.values[i]) - Double(target.data[i])
            raw += diff * diff
        }
        var result = TermResult(raw: raw * per)
        if let weight = gradientWeight {
            // d/dD of weight · per · Σ (D − D_c)² is 2 · weight · per · (D − D_c).
            let scale = Float(2 * weight * per)
            let dOut = zip(d.values, target.data).map { scale * ($0 - $1) }
            let compute = x.compute
            result.imageGradient = {
                try compute.timed("image", "laplacian loss backward") {
                    try Tensor(shape: [3, h, w], data: pooledLaplacianBackward(dOut, c: 3, h: h, w: w, p: Self.pool))
                }
            }
        }
        return result
    }

    func reference(_ spec: TermSpec, _ x: DoubleTermContext) -> Double {
        guard let target = x.targets.images[kind.rawValue] else { return .nan }
        let d = pooledLaplacian(x.image, c: 3, h: x.height, w: x.width, p: Self.pool)
        let sum = zip(d.values, target.data).reduce(0.0) { $0 + ($1.0 - Double($1.1)) * ($1.0 - Double($1.1)) }
        return sum * x.configuration.contentScale(elements: target.count)
    }
}
