import Kernels

// Content: how far the combination's features at a layer are from the content image's.
//   content_l = Σ (F_l(comb) − F_l(content))²      (÷ the layer's elements with averageContentAndTV)
// The example uses block5_conv2 alone.

struct ContentTerm: LossTerm {
    let kind = TermKind.content
    let weightOption = "content-weight"
    let defaultWeight = 2.5e-8
    let weightHelp = "the content terms' weight (the example: 2.5e-8)"
    let summary = "Σ (F − F_content)² at each content layer"

    func specs(_ c: LossConfiguration) -> [TermSpec] {
        c.contentLayers.map { TermSpec(kind: kind, layer: $0, weight: c.weight(kind)) }
    }

    func makeTargets(_ inputs: TargetInputs, into targets: inout LossTargets) throws {
        let c = inputs.configuration
        let acts = try inputs.vgg.forward(
            inputs.content, upTo: c.contentLayers, pooling: c.pooling, keepingWhole: Set(c.contentLayers), forBackward: false,
            inputs.compute)
        targets.contentFeatures = Dictionary(uniqueKeysWithValues: c.contentLayers.map { ($0, acts.outputs[$0]!) })
    }

    func evaluate(_ spec: TermSpec, _ x: TermContext, gradientWeight: Double?) throws -> TermResult {
        let layer = spec.layer!
        guard let target = x.targets.contentFeatures[layer] else { throw TransferError.targetsOutOfDate(layer) }
        let f = x.outputs[layer]!
        let per = x.configuration.contentScale(elements: f.count)
        var result = TermResult(raw: try x.compute.timed(layer, "content loss") { try contentLoss(f, target: target) * per })
        if let w = gradientWeight {
            result.layerGradients = [{ try contentLossBackward(f, target: target).scaled(by: Float(w * per)) }]
        }
        return result
    }

    func reference(_ spec: TermSpec, _ x: DoubleTermContext) -> Double {
        let f = x.outputs[spec.layer!]!
        return sumSquaredDifference(f.data, x.contentTargets[spec.layer!]!) * x.configuration.contentScale(elements: f.data.count)
    }
}
