import Kernels

// Style: how far the combination's feature statistics at a layer are from the style image's.
//   gram:        style_l = Σ (G_l(comb) − G_l(style))² / D_l,  G = F Fᵀ,  D_l per StyleNormalization
//   mean-std:    Σ (Δμ)² + Σ (Δσ)² per channel
//   wasserstein: ‖Δμ‖²/C + tr(Σ + Σ_t − 2(Σ_t^½ Σ Σ_t^½)^½)/C, the squared W2 of Gaussians (printed exact;
//                its gradient from a slightly shifted, float32-stable form)
// Several style images blend into one target (G or (μ, Σ)); with masks each is its own group, in
// its own region. The kernels are in Kernels/Gram.swift and Kernels/StyleStatistics.swift.

struct StyleTerm: LossTerm {
    let kind = TermKind.style
    let weightOption = "style-weight"
    let defaultWeight = 1e-6
    let weightHelp = "the style terms' weight, shared by the style layers (the example: 1e-6)"
    let summary = "how far the Gram matrices (or statistics) at each style layer are from the style's"

    func specs(_ c: LossConfiguration) -> [TermSpec] {
        c.styleLayers.map { TermSpec(kind: kind, layer: $0.name, weight: c.weight(kind) * $0.weight) }
    }

    func makeTargets(_ inputs: TargetInputs, into targets: inout LossTargets) throws {
        let c = inputs.configuration, compute = inputs.compute, styles = inputs.styles
        let layers = c.styleLayers.map(\.name)
        guard !layers.isEmpty else { return }
        let total = styles.reduce(0) { $0 + $1.weight }
        // Each style image's Gram matrices or statistics, blended in (G) or (μ, Σ) when they share a region.
        typealias Part = (gram: Tensor?, statistics: GaussianStatistics?)
        var perStyle: [[String: Part]] = []
        for style in styles {
            let acts = try inputs.vgg.forward(
                style.tensor, upTo: layers, pooling: c.pooling, keepingWhole: Set(layers), forBackward: false, compute)
            var t: [String: Part] = [:]
            for layer in layers {
                let f = acts.outputs[layer]!
                t[layer] = c.styleLoss == .gram ? (try gramMatrix(f, compute), nil) : (nil, try gaussianStatistics(f, weights: nil, compute))
            }
            perStyle.append(t)
        }
        func target(_ parts: [Part], _ weights: [Double]) throws -> StyleTarget {
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
            var byLayer: [String: StyleTarget] = [:]
            for layer in layers { byLayer[layer] = try target(perStyle.map { $0[layer]! }, styles.map(\.weight)) }
            targets.styleGroups = [StyleGroup(weight: 1, mask: inputs.contentMask, targets: byLayer)]
        } else {
            targets.styleGroups = try zip(styles, perStyle).map { style, t in
                var byLayer: [String: StyleTarget] = [:]
                for layer in layers { byLayer[layer] = try target([t[layer]!], [1]) }
                let mask = [style.mask, inputs.contentMask].compactMap { $0 }.reduce(nil as PositionMask?) { $0?.times($1) ?? $1 }
                return StyleGroup(weight: style.weight / total, mask: mask, targets: byLayer)
            }
        }
    }

    func evaluate(_ spec: TermSpec, _ x: TermContext, gradientWeight: Double?) throws -> TermResult {
        let c = x.configuration, compute = x.compute
        let layer = spec.layer!
        let f = x.outputs[layer]!
        let (_, h, w) = f.chw
        let norm = c.normalization(rows: x.image.shape[1], cols: x.image.shape[2])
        var result = TermResult(raw: 0)
        for group in x.targets.styleGroups {
            guard let target = group.targets[layer] else { throw TransferError.targetsOutOfDate(layer) }
            let weights = group.mask?.at(height: h, width: w)
            // A region empty at this layer has no style to compare (for every kind of loss).
            if let weights, !weights.contains(where: { $0 > 0 }) { continue }
            let weight = gradientWeight.map { $0 * group.weight }
            try compute.timed(layer, c.styleLoss == .gram ? "gram + style loss" : "\(c.styleLoss.rawValue) style loss") {
                switch c.styleLoss {
                case .gram:
                    guard let gramTarget = target.gram else { throw TransferError.targetsOutOfDate(layer) }
                    guard let (input, factor) = try maskedGramInput(f, weights) else { return }
                    let (loss, dG) = try styleLossAndGramGradient(input, targetGram: gramTarget, norm, wantGradient: weight != nil, compute)
                    result.raw += group.weight * loss
                    if let dG, let weight {
                        // dL/dF = (dG + dGᵀ) F, with the term's weight folded into the small dG.
                        let weightedDG = dG.scaled(by: Float(weight))
                        result.layerGradients.append {
                            try compute.timed(layer, "style loss backward") {
                                try timesPositions(try gramMatrixBackward(weightedDG, input: input, compute), factor)
                            }
                        }
                    }
                case .meanStd:
                    guard let stats = target.statistics else { throw TransferError.targetsOutOfDate(layer) }
                    let (loss, g) = try meanStdStyleLoss(f, weights: weights, target: stats, wantGradient: weight != nil)
                    result.raw += group.weight * loss
                    if let g, let weight { result.layerGradients.append { g.scaled(by: Float(weight)) } }
                case .wasserstein:
                    guard let w2 = target.wasserstein else { throw TransferError.targetsOutOfDate(layer) }
                    // The value printed is the exact W2 (float64, no shift); the gradient is the shifted
                    // path's, which gradcheck checks against its own float64 definition (the reference below).
                    let (_, g, exact) = try wassersteinStyleLoss(f, weights: weights, target: w2, wantGradient: weight != nil, compute)
                    result.raw += group.weight * exact
                    if let g, let weight { result.layerGradients.append { g.scaled(by: Float(weight)) } }
                }
            }
        }
        return result
    }

    func reference(_ spec: TermSpec, _ x: DoubleTermContext) -> Double {
        let c = x.configuration
        let f = x.outputs[spec.layer!]!
        let m = f.h * f.w
        var total = 0.0
        for (g, group) in x.targets.styleGroups.enumerated() {
            let target = group.targets[spec.layer!]!
            let mask = group.mask?.at(height: f.h, width: f.w).map(Double.init)
            if let mask, !mask.contains(where: { $0 > 0 }) { continue }
            let raw: Double
            switch c.styleLoss {
            case .gram:
                // Masked: gram(F ⊙ √(w·M/Σw)), as the float32 loss.
                var data = f.data
                if let mask {
                    let sum = mask.reduce(0, +)
                    for i in data.indices { data[i] *= (mask[i % m] * Double(m) / sum).squareRoot() }
                }
                let d = c.normalization(rows: x.height, cols: x.width).denominator(channels: f.c, positions: m)
                raw = styleLossReference(data, targetGram: x.styleGrams[g][spec.layer!]!, c: f.c, m: m, denominator: d)
            case .meanStd:
                raw = meanStdLossReference(f.data, c: f.c, m: m, weights: mask, target: target.statistics!, wantGradient: false).loss
            case .wasserstein:
                raw = wassersteinLossReference(f.data, c: f.c, m: m, weights: mask, target: target.statistics!, wantGradient: false).loss
            }
            total += group.weight * raw
        }
        return total
    }
}
