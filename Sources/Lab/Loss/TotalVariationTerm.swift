import Kernels

// Total variation, as Keras defines it (x is the image, (3, H, W)):
//   a = (x[:, :H−1, :W−1] − x[:, 1:, :W−1])²,  b = (x[:, :H−1, :W−1] − x[:, :H−1, 1:])²,  tv = Σ (a + b)^1.25
// (÷ 3·(H−1)·(W−1) with averageContentAndTV). It smooths the image; the kernels are in Kernels/Losses.swift.

struct TotalVariationTerm: LossTerm {
    let kind = TermKind.totalVariation
    let weightOption = "tv-weight"
    let defaultWeight = 1e-6
    let weightHelp = "the total variation term's weight (the example: 1e-6)"
    let summary = "Σ (Δx² + Δy²)^1.25 over the image: smoothness"
    let title = "total variation"

    func specs(_ c: LossConfiguration) -> [TermSpec] {
        [TermSpec(kind: kind, layer: nil, weight: c.weight(kind))]
    }

    func evaluate(_ spec: TermSpec, _ x: TermContext, gradientWeight: Double?) throws -> TermResult {
        let image = x.image
        let per = x.configuration.totalVariationScale(rows: image.shape[1], cols: image.shape[2])
        var result = TermResult(raw: try x.compute.timed("image", "total variation") { try totalVariationLoss(image) * per })
        if let w = gradientWeight {
            let compute = x.compute
            result.imageGradient = {
                try compute.timed("image", "total variation backward") {
                    try totalVariationLossBackward(image).scaled(by: Float(w * per))
                }
            }
        }
        return result
    }

    func reference(_ spec: TermSpec, _ x: DoubleTermContext) -> Double {
        totalVariationReference(x.image, c: 3, h: x.height, w: x.width)
            * x.configuration.totalVariationScale(rows: x.height, cols: x.width)
    }
}
