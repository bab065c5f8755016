import Kernels

// What the loss terms compare with, and the masks that say where a style applies.

/// A weight per position of the working image, 0…1: where a style applies (white: fully).
public struct PositionMask: Sendable, Equatable {
    public var height: Int
    public var width: Int
    public var values: [Float]

    public init(height: Int, width: Int, values: [Float]) {
        self.height = height
        self.width = width
        self.values = values
    }

    /// A greyscale or colour picture as a mask at the working size (its brightness, area-resized).
    public init(image: RGBImage, width: Int, height: Int) {
        let r = image.resized(width: width, height: height, filter: .area)
        self.init(
            height: height, width: width,
            values: (0..<(width * height)).map { i in
                (Float(r.pixels[3 * i]) + Float(r.pixels[3 * i + 1]) + Float(r.pixels[3 * i + 2])) / (3 * 255)
            })
    }

    /// The product of two masks of one size (a style's own mask inside the content mask).
    public func times(_ other: PositionMask) -> PositionMask {
        PositionMask(height: height, width: width, values: zip(values, other.values).map { $0 * $1 })
    }

    /// At a layer's resolution: 2×2 means, dropping an odd last row or column as VGG19's pooling
    /// does, until the size is the layer's — so each value covers the pixels its feature pools.
    public func at(height h: Int, width w: Int) -> [Float] {
        var v = values, hh = height, ww = width
        while hh > h || ww > w {
            let nh = hh / 2, nw = ww / 2
            var next = [Float](repeating: 0, count: nh * nw)
            for i in 0..<nh {
                for j in 0..<nw {
                    let p = 2 * i * ww + 2 * j
                    next[i * nw + j] = (v[p] + v[p + 1] + v[p + ww] + v[p + ww + 1]) / 4
                }
            }
            v = next
            hh = nh
            ww = nw
        }
        return v
    }
}

/// What one style term compares against at one layer: the style's Gram matrix or statistics.
public struct StyleTarget: Sendable {
    public var gram: Tensor?
    public var statistics: GaussianStatistics?
    public var wasserstein: WassersteinTarget?
}

/// A style (or the blend of several) and where in the image it applies. Without masks all style
/// images blend into one group; with masks each image is its own group, in its own region.
public struct StyleGroup: Sendable {
    /// Its share of each style term.
    public var weight: Double
    public var mask: PositionMask?
    public var targets: [String: StyleTarget]
}

/// A style image as the targets need it.
public struct StyleInput {
    public var tensor: Tensor
    public var weight: Double
    public var mask: PositionMask?
    public init(tensor: Tensor, weight: Double = 1, mask: PositionMask? = nil) {
        self.tensor = tensor
        self.weight = weight
        self.mask = mask
    }
}

/// What the loss compares the combination image with: computed once from the content and
/// style images, not at every step. Each term kind fills in its part (`LossTerm.makeTargets`).
public struct LossTargets: Sendable {
    public var contentFeatures: [String: Tensor] = [:]
    public var styleGroups: [StyleGroup] = []
    /// Targets of terms on the image itself, by the term kind's name.
    public var images: [String: Tensor] = [:]
    /// Each of the learner's own terms, its parts that do not depend on the image computed (by name).
    public var customExpressions: [String: Expr] = [:]

    /// The (first group's) target Gram matrices, for the Gram loss.
    public var styleGrams: [String: Tensor] { styleGroups.first?.targets.compactMapValues(\.gram) ?? [:] }

    /// No targets yet (each kind fills in its own).
    init() {}

    public init(_ inputs: TargetInputs) throws {
        for term in LossTerms.all { try term.makeTargets(inputs, into: &self) }
        for d in inputs.configuration.customTerms { try CustomTerm(definition: d).makeTargets(inputs, into: &self) }
    }

    public init(content: Tensor, style: Tensor, configuration c: LossConfiguration, vgg: VGG19, _ compute: Compute) throws {
        try self.init(content: content, styles: [StyleInput(tensor: style)], contentMask: nil, configuration: c, vgg: vgg, compute)
    }

    public init(
        content: Tensor, styles: [StyleInput], contentMask: PositionMask?, configuration c: LossConfiguration,
        vgg: VGG19, _ compute: Compute
    ) throws {
        try self.init(
            TargetInputs(
                content: content, styles: styles, contentMask: contentMask, configuration: c,
                vgg: vgg, compute: compute))
    }
}

/// The Gram matrix under a mask: G = F diag(w) Fᵀ · M/Σw, as gram(F ⊙ √(w·M/Σw)). With all-ones
/// weights it is the plain Gram matrix; the factor keeps a region's Gram on the scale of a
/// whole image's, so a style's Gram target fits any region. Returns the scaled input and the
/// per-position factor (nil: no mask), or nil when the mask is empty at this layer.
func maskedGramInput(_ f: Tensor, _ weights: [Float]?) throws -> (input: Tensor, factor: [Float]?)? {
    guard let weights else { return (f, nil) }
    let m = weights.count, total = weights.reduce(0.0) { $0 + Double($1) }
    guard total > 0 else { return nil }
    let factor = weights.map { Float((Double($0) * Double(m) / total).squareRoot()) }
    let c = f.count / m
    var data = f.data
    for a in 0..<c { for i in 0..<m { data[a * m + i] *= factor[i] } }
    return (try Tensor(shape: f.shape, data: data), factor)
}

/// Multiplies each position of a (C, H, W) gradient by `factor` (the chain rule through a mask).
func timesPositions(_ g: Tensor, _ factor: [Float]?) throws -> Tensor {
    guard let factor else { return g }
    let m = factor.count
    var data = g.data
    for i in data.indices { data[i] *= factor[i % m] }
    return try Tensor(shape: g.shape, data: data)
}
