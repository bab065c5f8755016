import Foundation
import Kernels

// Gatys et al. (2015), Figure 1: what does a layer keep of an image? Start from noise and
// optimise only the content loss at one layer (the image's content as that layer sees it), or
// only the style loss at some layers (its style, with the layout thrown away). The session the
// learner works in is not touched: the reconstruction runs in a session of its own.

public struct Reconstruction: Sendable {
    public var image: RGBImage
    public var startLoss: Double
    public var finalLoss: Double
    public var iterations: Int
}

public enum ReconstructionTarget: Sendable {
    case content(String)
    case style([String])
}

extension TransferSession {
    /// Reconstructs what `target` keeps, from uniform noise (seed), with Adam.
    public func reconstruct(
        _ target: ReconstructionTarget, iterations: Int, learningRate: Double = 10, seed: UInt64 = 0,
        shouldStop: () -> Bool = { false }
    ) throws -> Reconstruction {
        guard let content, let contentPath else { throw SessionError.needsContent }
        let r = TransferSession(vgg: vgg, compute: compute, snapshotBudgetBytes: 0)
        try r.configure {
            $0.rows = configuration.rows
            $0.resize = configuration.resize
            $0.styleScale = configuration.styleScale
            $0.initialImage = .noise(seed: seed)
            // Gatys's normalisation and means: each term's size does not depend on the image size.
            $0.loss = LossConfiguration()
            $0.loss.normalization = .gatys
            $0.loss.averageContentAndTV = true
            $0.loss.pooling = configuration.loss.pooling
            $0.loss.totalVariationWeight = 0
            switch target {
            case .content(let layer):
                $0.loss.contentLayers = [layer]
                $0.loss.styleLayers = []
                $0.loss.contentWeight = 1
            case .style(let layers):
                guard !layers.isEmpty else { throw SessionError.invalid("reconstruct style needs at least one layer") }
                $0.loss.contentLayers = []
                $0.loss.styleWeight = 1
                $0.loss.styleLayers = layers.map { StyleLayer($0, weight: 1 / Double(layers.count)) }
            }
        }
        try r.setContent(content, name: contentPath)
        if case .style = target {
            guard !styles.isEmpty else { throw SessionError.needsStyle }
            r.setStyles(styles.map { StyleSource(path: $0.path, image: $0.image, weight: $0.weight) })
        }
        r.setOptimizer(Adam(learningRate: learningRate))
        let start = try r.evaluate(gradientOf: nil).breakdown.total
        let done = try r.iterate(iterations, shouldStop: shouldStop)
        let final = try r.evaluate(gradientOf: nil).breakdown.total
        return Reconstruction(image: try r.resultImage(), startLoss: start, finalLoss: final, iterations: done)
    }
}
