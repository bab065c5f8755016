import Foundation
import Kernels

// Checking the gradient against finite differences. The network's float32 loss (~1e6) has a
// resolution of ~0.25, far too coarse for a difference quotient, so the check evaluates the loss
// again in float64 with the plain-loop reference kernels (the same generic code the kernel tests
// check), at x ± h·e_i for each chosen pixel. That is slow — seconds per evaluation at 48×64 —
// so it is meant for small images and a few pixels.

public struct GradientCheckResult: Sendable {
    public var channel: Int, y: Int, x: Int
    public var analytic: Double  // from the session's backward pass (float32)
    public var numeric: Double  // central difference in float64
    /// The gradient's scale over the whole image (its largest |entry|): a pixel where the gradient is
    /// nearly zero is judged against it, not against itself (−1.775e-5 vs −1.777e-5 is right).
    public var scale: Double = 0
    /// |a − n| / max(|a|, |n|, 1e-3 · scale): relative where the gradient matters, absolute below.
    public var relativeError: Double {
        abs(analytic - numeric) / max(abs(numeric), abs(analytic), GradientCheckResult.floor * scale, 1e-30)
    }
    public static let floor = 1e-3
}

/// The total loss at x (3, H, W), in Double, through the generic reference kernels — the same
/// list of terms (`LossConfiguration.terms`) the float32 loss walks, each by its kind's reference.
struct DoubleReferenceLoss {
    let weights: [String: (w: [Double], b: [Double], c: Int, oc: Int)]
    let configuration: LossConfiguration
    let targets: LossTargets
    let contentTargets: [String: [Double]]
    let styleGrams: [[String: [Double]]]
    /// The terms it adds up (all: the total).
    var selection = TermSelection.total

    init(vgg: VGG19, configuration: LossConfiguration, targets: LossTargets) {
        var w: [String: (w: [Double], b: [Double], c: Int, oc: Int)] = [:]
        for case .conv(let name, let c, let oc) in VGG19Architecture.layers {
            let cw = vgg.weights[name]!
            w[name] = (cw.weight.data.map(Double.init), cw.bias.data.map(Double.init), c, oc)
        }
        weights = w
        self.configuration = configuration
        self.targets = targets
        // Converted once: the check evaluates the loss many times.
        contentTargets = targets.contentFeatures.mapValues { $0.data.map(Double.init) }
        styleGrams = targets.styleGroups.map { $0.targets.compactMapValues { $0.gram?.data.map(Double.init) } }
    }

    func loss(_ x: [Double], h: Int, w: Int) -> Double {
        let c = configuration
        let wanted = Set(c.layers)
        var outputs: [String: DoubleFeatures] = [:]
        var ch = 3, hh = h, ww = w
        let deepest = VGG19.deepestIndex(c.layers) ?? -1
        VGG19Architecture.forward(
            x, through: deepest,
            conv: { name, _, oc, cur in
                let p = weights[name]!
                var out: [Double] = []
                conv2dForwardReference(out: &out, x: cur, weight: p.w, bias: p.b, c: ch, h: hh, w: ww, oc: oc, k: 3)
                ch = oc
                return reluForward(out)
            },
            pool: { _, cur in
                defer {
                    hh /= 2
                    ww /= 2
                }
                return c.pooling == .max ? maxPool2x2Forward(cur, c: ch, h: hh, w: ww) : avgPool2x2Forward(cur, c: ch, h: hh, w: ww)
            },
            visit: { layer, cur in
                if wanted.contains(layer.name) { outputs[layer.name] = DoubleFeatures(data: cur, c: ch, h: hh, w: ww) }
                return outputs.count < wanted.count
            })
        let context = DoubleTermContext(
            image: x, height: h, width: w, outputs: outputs, targets: targets, configuration: c,
            contentTargets: contentTargets, styleGrams: styleGrams)
        return c.terms.filter(selection.includes).reduce(0.0) { total, spec in
            total + spec.weight * (LossTerms.named(spec.kind, in: c)?.reference(spec, context) ?? .nan)
        }
    }
}

extension TransferSession {
    /// Compares the gradient of the total loss (or of `term`) at `pixels` (channel, y, x) with central differences
    /// of step `h` (on the 0–255 scale), computed in float64.
    /// `shouldStop` is asked between the (seconds-long) evaluations: Ctrl-C.
    public func gradientCheck(
        pixels: [(c: Int, y: Int, x: Int)], step h: Double = 1e-3, term: TermSelection = .total,
        shouldStop: () -> Bool = { false }
    ) throws -> [GradientCheckResult] {
        guard let combination else { throw SessionError.needsContent }
        let (_, height, width) = combination.chw
        for p in pixels where !(0..<3).contains(p.c) || !(0..<height).contains(p.y) || !(0..<width).contains(p.x) {
            throw SessionError.invalid("pixel (\(p.c), \(p.y), \(p.x)) is outside the (3, \(height), \(width)) image")
        }
        guard h > 0, h.isFinite else { throw SessionError.invalid("the step must be positive") }
        let gradient = try evaluate(gradientOf: term).gradient!
        let scale = gradient.data.reduce(0) { max($0, abs(Double($1))) }
        var reference = DoubleReferenceLoss(vgg: vgg, configuration: configuration.loss, targets: try targets())
        reference.selection = term
        var x = combination.data.map(Double.init)
        return try pixels.map { p in
            let i = (p.c * height + p.y) * width + p.x
            let original = x[i]
            x[i] = original + h
            if shouldStop() { throw SessionError.invalid("gradcheck interrupted (Ctrl-C)") }
            let up = reference.loss(x, h: height, w: width)
            x[i] = original - h
            if shouldStop() { throw SessionError.invalid("gradcheck interrupted (Ctrl-C)") }
            let down = reference.loss(x, h: height, w: width)
            x[i] = original
            return GradientCheckResult(
                channel: p.c, y: p.y, x: p.x, analytic: Double(gradient.data[i]), numeric: (up - down) / (2 * h), scale: scale)
        }
    }
}
