import Foundation
import Kernels

// The loss of neural style transfer, term by term, as the Keras example defines it:
//
//   loss = content_weight · Σ_content layers content_l
//        + style_weight · Σ_style layers w_l · style_l          (w_l = 1/5 by default: style_weight / 5)
//        + total_variation_weight · tv(combination)
//
// with content_l = Σ (F_l(comb) − F_l(content))², style_l = Σ (G_l(comb) − G_l(style))² / D_l
// (D_l per StyleNormalization) and tv the Keras total variation (exponent 1.25).
//
// The terms are data: `LossConfiguration.terms` lists them (kind, layer, weight) once, and the
// loss, its gradient, the float64 gradient check, the breakdown, the history, the archive and
// the shell all walk that list. A new kind of term is a case of `TermKind` and its evaluation.

public struct StyleLayer: Equatable, Sendable, Codable {
    public var name: String
    public var weight: Double
    public init(_ name: String, weight: Double) { self.name = name; self.weight = weight }
}

public enum StyleNormalizationMode: String, CaseIterable, Sendable {
    /// 4 · 3² · (rows · cols)², the same at every layer — the Keras example.
    case keras
    /// 4 · N_l² · M_l², the layer's own channels and positions — Gatys et al. (2015).
    case gatys
}

/// What a style term compares.
public enum StyleLossKind: String, CaseIterable, Sendable, Codable {
    /// Σ (G − G_style)² / D: the example's (and Gatys et al.'s) Gram matrices.
    case gram
    /// Σ (Δμ)² + Σ (Δσ)² per channel: only first and second moments, no correlations.
    case meanStd = "mean-std"
    /// The Wasserstein-2 distance between Gaussians fitted to the features (means and covariances),
    /// as crowsonkb/style-transfer-pytorch uses.
    case wasserstein
}

/// The kinds of loss term.
public enum TermKind: String, CaseIterable, Sendable, Codable {
    case content
    case style
    case totalVariation = "tv"
}

/// One term as configured: what it measures, at which layer, with which weight.
public struct TermSpec: Equatable, Sendable {
    public var kind: TermKind
    public var layer: String?      // nil: the image itself (total variation)
    public var weight: Double
}

/// One term evaluated: raw (before its weight) and weighted.
public struct TermValue: Equatable, Sendable, Codable {
    public var kind: TermKind
    public var layer: String?
    public var raw: Double
    public var weight: Double
    public var weighted: Double

    public init(_ spec: TermSpec, raw: Double) {
        kind = spec.kind; layer = spec.layer; self.raw = raw; weight = spec.weight; weighted = spec.weight * raw
    }

    /// "content block5_conv2", "style block1_conv1", "tv".
    public var label: String { layer.map { "\(kind.rawValue) \($0)" } ?? kind.rawValue }
}

public struct LossConfiguration: Equatable, Sendable, Codable {
    public var contentLayers = ["block5_conv2"]
    public var styleLayers = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
        .map { StyleLayer($0, weight: 1.0 / 5) }
    public var contentWeight = 2.5e-8
    public var styleWeight = 1e-6
    public var totalVariationWeight = 1e-6
    public var normalization = StyleNormalizationMode.keras
    /// false (the example): content and total variation are sums, so they grow with the image's
    /// area. true: means over their elements, so with the Gatys style normalisation no term
    /// depends on the image size.
    public var averageContentAndTV = false
    public var pooling = Pooling.max
    public var styleLoss = StyleLossKind.gram

    /// The Keras example's constants.
    public init() {}

    public init(from decoder: Decoder) throws {
        // Archives written before the style loss was selectable have no `styleLoss`: Gram.
        let c = try decoder.container(keyedBy: CodingKeys.self)
        contentLayers = try c.decode([String].self, forKey: .contentLayers)
        styleLayers = try c.decode([StyleLayer].self, forKey: .styleLayers)
        contentWeight = try c.decode(Double.self, forKey: .contentWeight)
        styleWeight = try c.decode(Double.self, forKey: .styleWeight)
        totalVariationWeight = try c.decode(Double.self, forKey: .totalVariationWeight)
        normalization = try c.decode(StyleNormalizationMode.self, forKey: .normalization)
        averageContentAndTV = try c.decode(Bool.self, forKey: .averageContentAndTV)
        pooling = try c.decode(Pooling.self, forKey: .pooling)
        styleLoss = try c.decodeIfPresent(StyleLossKind.self, forKey: .styleLoss) ?? .gram
    }

    /// Every layer the loss reads, content and style.
    public var layers: [String] { contentLayers + styleLayers.map(\.name) }

    /// The terms of the loss, in the order they are evaluated and shown.
    public var terms: [TermSpec] {
        contentLayers.map { TermSpec(kind: .content, layer: $0, weight: contentWeight) }
            + styleLayers.map { TermSpec(kind: .style, layer: $0.name, weight: styleWeight * $0.weight) }
            + [TermSpec(kind: .totalVariation, layer: nil, weight: totalVariationWeight)]
    }

    /// Content: the sum of squares, or its mean over the layer's `elements`.
    func contentScale(elements: Int) -> Double { averageContentAndTV ? 1 / Double(elements) : 1 }
    /// Total variation: the sum, or its mean over the (rows − 1)(cols − 1) differences per channel.
    func totalVariationScale(rows: Int, cols: Int) -> Double {
        averageContentAndTV ? 1 / Double(3 * max(1, rows - 1) * max(1, cols - 1)) : 1
    }

    func normalization(rows: Int, cols: Int) -> StyleNormalization {
        normalization == .keras ? .keras(imageRows: rows, imageCols: cols) : .gatys
    }
}

/// Every term on its own, raw and weighted, and the total.
public struct LossBreakdown: Sendable, Equatable {
    public var terms: [TermValue] = []

    public init(terms: [TermValue] = []) { self.terms = terms }

    public func terms(_ kind: TermKind) -> [TermValue] { terms.filter { $0.kind == kind } }
    public func weighted(_ kind: TermKind) -> Double { terms(kind).reduce(0) { $0 + $1.weighted } }
    public func raw(_ kind: TermKind) -> Double { terms(kind).reduce(0) { $0 + $1.raw } }
    public func term(_ kind: TermKind, layer: String? = nil) -> TermValue? {
        terms.first { $0.kind == kind && (layer == nil || $0.layer == layer) }
    }

    public var contentTotal: Double { weighted(.content) }
    public var styleTotal: Double { weighted(.style) }
    public var total: Double { terms.reduce(0) { $0 + $1.weighted } }
    public var isFinite: Bool { total.isFinite && terms.allSatisfy { $0.raw.isFinite } }
}

/// Which terms a gradient is taken of: all (the total), or one alone.
public enum LossTerm: Equatable, Sendable {
    case total
    case content
    case style(String?)   // one style layer, or all of them
    case totalVariation

    func includes(_ spec: TermSpec) -> Bool {
        switch (self, spec.kind) {
        case (.total, _), (.content, .content), (.totalVariation, .totalVariation), (.style(nil), .style): return true
        case (.style(let layer?), .style): return layer == spec.layer
        default: return false
        }
    }
}

/// A weight per position of the working image, 0…1: where a style applies (white: fully).
public struct PositionMask: Sendable, Equatable {
    public var height: Int
    public var width: Int
    public var values: [Float]

    public init(height: Int, width: Int, values: [Float]) { self.height = height; self.width = width; self.values = values }

    /// A greyscale or colour picture as a mask at the working size (its brightness, area-resized).
    public init(image: RGBImage, width: Int, height: Int) {
        let r = image.resized(width: width, height: height, filter: .area)
        self.init(height: height, width: width, values: (0..<(width * height)).map { i in
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
            v = next; hh = nh; ww = nw
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
    public init(tensor: Tensor, weight: Double = 1, mask: PositionMask? = nil) { self.tensor = tensor; self.weight = weight; self.mask = mask }
}

/// What the loss compares the combination image with: computed once from the content and
/// style images, not at every step.
public struct LossTargets: Sendable {
    public var contentFeatures: [String: Tensor]
    public var styleGroups: [StyleGroup]

    /// The (first group's) target Gram matrices, for the Gram loss.
    public var styleGrams: [String: Tensor] { styleGroups.first?.targets.compactMapValues(\.gram) ?? [:] }

    public init(content: Tensor, style: Tensor, configuration c: LossConfiguration, vgg: VGG19, _ compute: Compute) throws {
        try self.init(content: content, styles: [StyleInput(tensor: style)], contentMask: nil, configuration: c, vgg: vgg, compute)
    }

    public init(content: Tensor, styles: [StyleInput], contentMask: PositionMask?, configuration c: LossConfiguration,
                vgg: VGG19, _ compute: Compute) throws {
        let contentActs = try vgg.forward(content, upTo: c.contentLayers, pooling: c.pooling, compute)
        contentFeatures = Dictionary(uniqueKeysWithValues: c.contentLayers.map { ($0, contentActs.outputs[$0]!) })
        let layers = c.styleLayers.map(\.name)
        let total = styles.reduce(0) { $0 + $1.weight }
        // Each style image's Gram matrices or statistics, blended in (G) or (μ, Σ) when they share a region.
        var perStyle: [[String: (gram: Tensor?, statistics: GaussianStatistics?)]] = []
        for style in styles {
            let acts = try vgg.forward(style.tensor, upTo: layers, pooling: c.pooling, compute)
            var t: [String: (gram: Tensor?, statistics: GaussianStatistics?)] = [:]
            for layer in layers {
                let f = acts.outputs[layer]!
                t[layer] = c.styleLoss == .gram ? (try gramMatrix(f, compute), nil) : (nil, try gaussianStatistics(f, weights: nil, compute))
            }
            perStyle.append(t)
        }
        func target(_ parts: [(gram: Tensor?, statistics: GaussianStatistics?)], _ weights: [Double]) throws -> StyleTarget {
            let sum = weights.reduce(0, +)
            switch c.styleLoss {
            case .gram:
                var g = parts[0].gram!.scaled(by: Float(weights[0] / sum))
                for (p, w) in zip(parts, weights).dropFirst() { g = try g.adding(p.gram!.scaled(by: Float(w / sum))) }
                return StyleTarget(gram: g)
            case .meanStd, .wasserstein:
                let s = GaussianStatistics.blend(zip(parts, weights).map { ($0.statistics!, $1) })
                return StyleTarget(statistics: s, wasserstein: c.styleLoss == .wasserstein ? WassersteinTarget(s, compute) : nil)
            }
        }
        if styles.allSatisfy({ $0.mask == nil }) {
            var targets: [String: StyleTarget] = [:]
            for layer in layers { targets[layer] = try target(perStyle.map { $0[layer]! }, styles.map(\.weight)) }
            styleGroups = [StyleGroup(weight: 1, mask: contentMask, targets: targets)]
        } else {
            styleGroups = try zip(styles, perStyle).map { style, t in
                var targets: [String: StyleTarget] = [:]
                for layer in layers { targets[layer] = try target([t[layer]!], [1]) }
                let mask = [style.mask, contentMask].compactMap { $0 }.reduce(nil as PositionMask?) { $0?.times($1) ?? $1 }
                return StyleGroup(weight: style.weight / total, mask: mask, targets: targets)
            }
        }
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

public struct StyleTransferLoss {
    public let vgg: VGG19
    public var configuration: LossConfiguration

    public init(vgg: VGG19, configuration: LossConfiguration = LossConfiguration()) {
        self.vgg = vgg
        self.configuration = configuration
    }

    /// The loss terms at `combination` (3, H, W), and if asked the gradient of `term` with respect to it.
    public func evaluate(_ combination: Tensor, targets: LossTargets, gradientOf term: LossTerm? = .total,
                         _ compute: Compute) throws -> (breakdown: LossBreakdown, gradient: Tensor?) {
        let c = configuration
        let rows = combination.shape[1], cols = combination.shape[2]
        var acts = try vgg.forward(combination, upTo: c.layers, pooling: c.pooling, compute)
        var breakdown = LossBreakdown()
        // Each term's gradient with respect to its layer's output, computed only when the backward
        // reaches that layer (so the large ones of block1 are not all held at once).
        var layerGradients: [String: [() throws -> Tensor]] = [:]
        var imageGradient: (() throws -> Tensor)? = nil
        let norm = c.normalization(rows: rows, cols: cols)

        for spec in c.terms {
            let wanted = term?.includes(spec) ?? false
            switch spec.kind {
            case .content:
                let layer = spec.layer!
                guard let target = targets.contentFeatures[layer] else { throw TransferError.targetsOutOfDate(layer) }
                let f = acts.outputs[layer]!
                let per = c.contentScale(elements: f.count)
                try compute.timed(layer, "content loss") {
                    breakdown.terms.append(TermValue(spec, raw: try contentLoss(f, target: target) * per))
                }
                if wanted {
                    layerGradients[layer, default: []].append { try contentLossBackward(f, target: target).scaled(by: Float(spec.weight * per)) }
                }
            case .style:
                let layer = spec.layer!
                let f = acts.outputs[layer]!
                let (_, h, w) = f.chw
                var raw = 0.0
                for group in targets.styleGroups {
                    guard let target = group.targets[layer] else { throw TransferError.targetsOutOfDate(layer) }
                    let weights = group.mask?.at(height: h, width: w)
                    // A region empty at this layer has no style to compare (for every kind of loss).
                    if let weights, !weights.contains(where: { $0 > 0 }) { continue }
                    let weight = spec.weight * group.weight
                    try compute.timed(layer, c.styleLoss == .gram ? "gram + style loss" : "\(c.styleLoss.rawValue) style loss") {
                        switch c.styleLoss {
                        case .gram:
                            guard let gramTarget = target.gram else { throw TransferError.targetsOutOfDate(layer) }
                            guard let (input, factor) = try maskedGramInput(f, weights) else { return }
                            let (loss, dG) = try styleLossAndGramGradient(input, targetGram: gramTarget, norm, wantGradient: wanted, compute)
                            raw += group.weight * loss
                            if let dG {
                                // dL/dF = (dG + dGᵀ) F, with the term's weight folded into the small dG.
                                let weightedDG = dG.scaled(by: Float(weight))
                                layerGradients[layer, default: []].append {
                                    try compute.timed(layer, "style loss backward") {
                                        try timesPositions(try gramMatrixBackward(weightedDG, input: input, compute), factor)
                                    }
                                }
                            }
                        case .meanStd:
                            guard let stats = target.statistics else { throw TransferError.targetsOutOfDate(layer) }
                            let (loss, g) = try meanStdStyleLoss(f, weights: weights, target: stats, wantGradient: wanted)
                            raw += group.weight * loss
                            if let g { layerGradients[layer, default: []].append { g.scaled(by: Float(weight)) } }
                        case .wasserstein:
                            guard let w2 = target.wasserstein else { throw TransferError.targetsOutOfDate(layer) }
                            let (loss, g) = try wassersteinStyleLoss(f, weights: weights, target: w2, wantGradient: wanted, compute)
                            raw += group.weight * loss
                            if let g { layerGradients[layer, default: []].append { g.scaled(by: Float(weight)) } }
                        }
                    }
                }
                breakdown.terms.append(TermValue(spec, raw: raw))
            case .totalVariation:
                let per = c.totalVariationScale(rows: rows, cols: cols)
                let tv = try compute.timed("image", "total variation") { try totalVariationLoss(combination) * per }
                breakdown.terms.append(TermValue(spec, raw: tv))
                if wanted {
                    imageGradient = {
                        try compute.timed("image", "total variation backward") {
                            try totalVariationLossBackward(combination).scaled(by: Float(spec.weight * per))
                        }
                    }
                }
            }
        }

        guard term != nil else { return (breakdown, nil) }
        var gradient = try vgg.backward(releasing: &acts, at: Array(layerGradients.keys), gradientAt: { layer in
            let parts = layerGradients.removeValue(forKey: layer) ?? []   // released once used
            var sum: Tensor? = nil
            for part in parts { let g = try part(); sum = try sum.map { try $0.adding(g) } ?? g }
            return sum
        }, compute)
        if let imageGradient { gradient = try gradient.adding(try imageGradient()) }
        return (breakdown, gradient)
    }
}

public enum TransferError: Error, CustomStringConvertible, Equatable {
    case targetsOutOfDate(String)

    public var description: String {
        switch self {
        case .targetsOutOfDate(let l): return "no target for layer \(l): the targets were computed for another configuration"
        }
    }
}

/// "content 1.2e+03  style 4.5e+04 (b1c1 …)  tv 6.7e+01" — the weighted terms on one line.
public func describeTerms(_ b: LossBreakdown) -> String {
    func e(_ x: Double) -> String { String(format: "%.3e", x) }
    let styles = b.terms(.style).map { "\(($0.layer ?? "").replacingOccurrences(of: "block", with: "b").replacingOccurrences(of: "_conv", with: "c")) \(e($0.weighted))" }
    return "content \(e(b.contentTotal))  style \(e(b.styleTotal)) (\(styles.joined(separator: ", ")))  tv \(e(b.weighted(.totalVariation)))"
}
