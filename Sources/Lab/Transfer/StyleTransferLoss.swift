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

    /// The Keras example's constants.
    public init() {}

    /// Every layer the loss reads, content and style.
    public var layers: [String] { contentLayers + styleLayers.map(\.name) }

    func normalization(rows: Int, cols: Int) -> StyleNormalization {
        normalization == .keras ? .keras(imageRows: rows, imageCols: cols) : .gatys
    }
}

/// What the loss compares the combination image with: computed once from the content and
/// style images, not at every step.
public struct LossTargets: Sendable {
    public var contentFeatures: [String: Tensor]
    public var styleGrams: [String: Tensor]

    public init(content: Tensor, style: Tensor, configuration c: LossConfiguration, vgg: VGG19, _ compute: Compute) throws {
        let contentActs = try vgg.forward(content, upTo: c.contentLayers, pooling: c.pooling, compute)
        contentFeatures = Dictionary(uniqueKeysWithValues: c.contentLayers.map { ($0, contentActs.outputs[$0]!) })
        let styleActs = try vgg.forward(style, upTo: c.styleLayers.map(\.name), pooling: c.pooling, compute)
        styleGrams = [:]
        for layer in c.styleLayers {
            styleGrams[layer.name] = try gramMatrix(styleActs.outputs[layer.name]!, compute)
        }
    }
}

/// Every term on its own, raw (before its weight) and weighted, and the total.
public struct LossBreakdown: Sendable {
    public var content: [(layer: String, raw: Double, weighted: Double)] = []
    public var style: [(layer: String, raw: Double, weighted: Double)] = []
    public var totalVariation: (raw: Double, weighted: Double) = (0, 0)

    public var contentTotal: Double { content.reduce(0) { $0 + $1.weighted } }
    public var styleTotal: Double { style.reduce(0) { $0 + $1.weighted } }
    public var total: Double { contentTotal + styleTotal + totalVariation.weighted }
    public var isFinite: Bool {
        total.isFinite && content.allSatisfy { $0.raw.isFinite } && style.allSatisfy { $0.raw.isFinite }
    }
}

/// Which terms a gradient is taken of: all (the total), or one alone.
public enum LossTerm: Equatable, Sendable {
    case total
    case content
    case style(String?)   // one style layer, or all of them
    case totalVariation
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

        func accumulate(_ layer: String, scale: Double, _ gradient: @escaping () throws -> Tensor) {
            layerGradients[layer, default: []].append { try gradient().scaled(by: Float(scale)) }
        }
        func wanted(_ t: LossTerm) -> Bool {
            guard let term else { return false }
            if term == .total { return true }
            if case .style(nil) = term, case .style = t { return true }
            return term == t
        }

        for layer in c.contentLayers {
            guard let target = targets.contentFeatures[layer] else { throw TransferError.targetsOutOfDate(layer) }
            let f = acts.outputs[layer]!
            let per = c.averageContentAndTV ? 1 / Double(f.count) : 1
            try compute.timed(layer, "content loss") {
                let raw = try contentLoss(f, target: target) * per
                breakdown.content.append((layer, raw, c.contentWeight * raw))
                if wanted(.content) {
                    accumulate(layer, scale: c.contentWeight * per) { try contentLossBackward(f, target: target) }
                }
            }
        }
        let norm = c.normalization(rows: rows, cols: cols)
        for layer in c.styleLayers {
            guard let target = targets.styleGrams[layer.name] else { throw TransferError.targetsOutOfDate(layer.name) }
            let f = acts.outputs[layer.name]!
            try compute.timed(layer.name, "gram + style loss") {
                let (raw, dG) = try styleLossAndGramGradient(f, targetGram: target, norm, wantGradient: wanted(.style(layer.name)), compute)
                let weight = c.styleWeight * layer.weight
                breakdown.style.append((layer.name, raw, weight * raw))
                if let dG {
                    // dL/dF = (dG + dGᵀ) F, with the term's weight folded into the small dG.
                    let weighted = dG.scaled(by: Float(weight))
                    layerGradients[layer.name, default: []].append {
                        try compute.timed(layer.name, "style loss backward") { try gramMatrixBackward(weighted, input: f, compute) }
                    }
                }
            }
        }
        let tvPer = c.averageContentAndTV ? 1 / Double(3 * max(1, rows - 1) * max(1, cols - 1)) : 1
        let tv = try compute.timed("image", "total variation") { try totalVariationLoss(combination) * tvPer }
        breakdown.totalVariation = (tv, c.totalVariationWeight * tv)

        guard term != nil else { return (breakdown, nil) }
        var gradient = try vgg.backward(releasing: &acts, at: Array(layerGradients.keys), gradientAt: { layer in
            let parts = layerGradients.removeValue(forKey: layer) ?? []   // released once used
            var sum: Tensor? = nil
            for part in parts { let g = try part(); sum = try sum.map { try $0.adding(g) } ?? g }
            return sum
        }, compute)
        if wanted(.totalVariation) {
            gradient = try compute.timed("image", "total variation backward") {
                try gradient.adding(try totalVariationLossBackward(combination).scaled(by: Float(c.totalVariationWeight * tvPer)))
            }
        }
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
    let styles = b.style.map { "\($0.layer.replacingOccurrences(of: "block", with: "b").replacingOccurrences(of: "_conv", with: "c")) \(e($0.weighted))" }
    return "content \(e(b.contentTotal))  style \(e(b.styleTotal)) (\(styles.joined(separator: ", ")))  tv \(e(b.totalVariation.weighted))"
}
