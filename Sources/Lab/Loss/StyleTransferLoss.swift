import Foundation
import Kernels

// The loss of neural style transfer, term by term: one forward pass of VGG19 to the deepest layer
// the loss reads, each term of `LossConfiguration.terms` evaluated by its kind (LossTerms.all), and
// one backward pass that adds each term's gradient where its layer is reached.

public struct StyleTransferLoss {
    public let vgg: VGG19
    public var configuration: LossConfiguration
    /// Keep of the layers the loss does not read only what the backward needs (VGG19.CompactOutput);
    /// off, every output is kept whole — the same gradient, bit for bit, at about twice the memory.
    var compactActivations = true

    public init(vgg: VGG19, configuration: LossConfiguration = LossConfiguration()) {
        self.vgg = vgg
        self.configuration = configuration
    }

    /// The loss terms at `combination` (3, H, W), and if asked the gradient of `term` with respect to it.
    public func evaluate(
        _ combination: Tensor, targets: LossTargets, gradientOf term: TermSelection? = .total,
        _ compute: Compute
    ) throws -> (breakdown: LossBreakdown, gradient: Tensor?) {
        let c = configuration
        // Only the loss layers' outputs are kept whole; of the rest, what the backward needs (a bit per
        // value for a ReLU, a byte per window for a max pool) — or nothing, when no gradient is asked for.
        var acts = try vgg.forward(
            combination, upTo: c.layers, pooling: c.pooling, keepingWhole: compactActivations ? Set(c.layers) : nil,
            forBackward: term != nil, compute)
        var breakdown = LossBreakdown()
        // Each term's gradient with respect to its layer's output, computed only when the backward
        // reaches that layer (so the large ones of block1 are not all held at once).
        var layerGradients: [String: [() throws -> Tensor]] = [:]
        var imageGradients: [() throws -> Tensor] = []
        do {
            // The loss layers' outputs, for the terms — in this scope only, so that during the backward
            // each is held by its own gradient's closure alone and released as soon as that has run.
            let outputs = Dictionary(uniqueKeysWithValues: c.layers.map { ($0, acts.outputs[$0]!) })
            let context = TermContext(image: combination, outputs: outputs, targets: targets, configuration: c, compute: compute)
            for spec in c.terms {
                guard let kind = LossTerms.named(spec.kind, in: c) else { throw TransferError.unknownTerm(spec.kind.rawValue) }
                let wanted = term?.includes(spec) ?? false
                let result = try kind.evaluate(spec, context, gradientWeight: wanted ? spec.weight : nil)
                breakdown.terms.append(TermValue(spec, raw: result.raw))
                if let layer = spec.layer { layerGradients[layer, default: []] += result.layerGradients }
                for (layer, parts) in result.gradientsAtLayers { layerGradients[layer, default: []] += parts }
                if let g = result.imageGradient { imageGradients.append(g) }
            }
        }

        guard term != nil else { return (breakdown, nil) }
        let wantedLayers = layerGradients.filter { !$0.value.isEmpty }.map(\.key)
        var gradient = try vgg.backward(
            releasing: &acts, at: wantedLayers,
            gradientAt: { layer in
                let parts = layerGradients.removeValue(forKey: layer) ?? []  // released once used
                var sum: Tensor? = nil
                for part in parts {
                    let g = try part()
                    sum = try sum.map { try $0.adding(g) } ?? g
                }
                return sum
            }, compute)
        for part in imageGradients { gradient = try gradient.adding(try part()) }
        return (breakdown, gradient)
    }
}

public enum TransferError: Error, CustomStringConvertible, Equatable {
    case targetsOutOfDate(String)
    case unknownTerm(String)

    public var description: String {
        switch self {
        case .targetsOutOfDate(let l): return "no target for layer \(l): the targets were computed for another configuration"
        case .unknownTerm(let k): return "no loss term of kind '\(k)'"
        }
    }
}
