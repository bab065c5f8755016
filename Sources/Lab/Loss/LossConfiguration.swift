import Kernels

// What the loss is made of: which layers, which weights, which normalisation and pooling. The
// defaults are the Keras example's:
//
//   loss = content_weight · Σ_content layers content_l
//        + style_weight · Σ_style layers w_l · style_l          (w_l = 1/5 by default: style_weight / 5)
//        + total_variation_weight · tv(combination)
//
// Each kind of term (LossTerms.all) has a weight here, by its name; a kind the example does not
// have may add no term at all while its weight is 0.

public struct StyleLayer: Equatable, Sendable, Codable {
    public var name: String
    public var weight: Double
    public init(_ name: String, weight: Double) {
        self.name = name
        self.weight = weight
    }
}

public enum StyleNormalizationMode: String, CaseIterable, Sendable, Codable {
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

public struct LossConfiguration: Equatable, Sendable, Codable {
    public var contentLayers = ["block5_conv2"]
    public var styleLayers = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
        .map { StyleLayer($0, weight: 1.0 / 5) }
    /// Each kind's weight, by the kind's name: every kind of LossTerms.all, from its default.
    public var weights = LossConfiguration.defaultWeights

    /// The Keras example's weights, and 0 for the kinds it does not have.
    static var defaultWeights: [String: Double] {
        Dictionary(uniqueKeysWithValues: LossTerms.all.map { ($0.kind.rawValue, $0.defaultWeight) })
    }
    public var normalization = StyleNormalizationMode.keras
    /// false (the example): content and total variation are sums, so they grow with the image's
    /// area. true: means over their elements, so with the Gatys style normalisation no term
    /// depends on the image size.
    public var averageContentAndTV = false
    public var pooling = Pooling.max
    public var styleLoss = StyleLossKind.gram
    /// The learner's own terms (`loss add NAME = EXPR`), after the built-in ones.
    public var customTerms: [CustomTermDefinition] = []

    /// The Keras example's constants.
    public init() {}

    public func weight(_ kind: TermKind) -> Double { weights[kind.rawValue] ?? 0 }
    public mutating func setWeight(_ kind: TermKind, _ w: Double) { weights[kind.rawValue] = w }

    public var contentWeight: Double {
        get { weight(.content) }
        set { setWeight(.content, newValue) }
    }
    public var styleWeight: Double {
        get { weight(.style) }
        set { setWeight(.style, newValue) }
    }
    public var totalVariationWeight: Double {
        get { weight(.totalVariation) }
        set { setWeight(.totalVariation, newValue) }
    }

    /// The terms of the loss, in the order they are evaluated and shown.
    public var terms: [TermSpec] {
        LossTerms.all.flatMap { $0.specs(self) } + customTerms.map { TermSpec(kind: TermKind(rawValue: $0.name), layer: nil, weight: $0.weight) }
    }

    /// Every layer the loss reads, each once, in the terms' order.
    public var layers: [String] {
        var seen: [String] = []
        for case let layer? in terms.map(\.layer) where !seen.contains(layer) { seen.append(layer) }
        for layer in customTerms.flatMap(\.layers) where !seen.contains(layer) { seen.append(layer) }
        return seen
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

    private enum CodingKeys: String, CodingKey {
        case contentLayers, styleLayers, weights, normalization, averageContentAndTV, pooling, styleLoss, customTerms
        case contentWeight, styleWeight, totalVariationWeight  // archives before weights by kind
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        contentLayers = try c.decode([String].self, forKey: .contentLayers)
        styleLayers = try c.decode([StyleLayer].self, forKey: .styleLayers)
        // A kind added since the archive was written starts at its default.
        weights = Self.defaultWeights
        if let saved = try c.decodeIfPresent([String: Double].self, forKey: .weights) {
            weights.merge(saved) { $1 }
        } else {
            weights["content"] = try c.decode(Double.self, forKey: .contentWeight)
            weights["style"] = try c.decode(Double.self, forKey: .styleWeight)
            weights["tv"] = try c.decode(Double.self, forKey: .totalVariationWeight)
        }
        normalization = try c.decode(StyleNormalizationMode.self, forKey: .normalization)
        averageContentAndTV = try c.decode(Bool.self, forKey: .averageContentAndTV)
        pooling = try c.decode(Pooling.self, forKey: .pooling)
        // Archives written before the style loss was selectable have no `styleLoss`: Gram.
        styleLoss = try c.decodeIfPresent(StyleLossKind.self, forKey: .styleLoss) ?? .gram
        customTerms = try c.decodeIfPresent([CustomTermDefinition].self, forKey: .customTerms) ?? []
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(contentLayers, forKey: .contentLayers)
        try c.encode(styleLayers, forKey: .styleLayers)
        try c.encode(weights, forKey: .weights)
        try c.encode(normalization, forKey: .normalization)
        try c.encode(averageContentAndTV, forKey: .averageContentAndTV)
        try c.encode(pooling, forKey: .pooling)
        try c.encode(styleLoss, forKey: .styleLoss)
        if !customTerms.isEmpty { try c.encode(customTerms, forKey: .customTerms) }
    }
}
