import Foundation
import Kernels

// How much memory a step needs, estimated before anything is allocated — so that a 20000×1 image
// (a 640000-column working image) or `set --size 4096` is refused with the figures instead of
// the process being killed. Checked against `lab bench --preset any-size` (estimate against measured
// peak: 577 against 571 MiB at 128², 739 against 743 at 256², 553 against 560 at 512², 1.4 against
// 1.2 GiB at 1024²; tested within 25 % in SpeedRoundTwoTests): an estimate, not a measurement.

public struct MemoryEstimate: Sendable {
    public var parts: [(name: String, bytes: Int)]
    public var total: Int { parts.reduce(0) { $0 + $1.bytes } }

    /// The estimate for a working image of width × height under configuration `c`.
    public static func step(
        configuration c: TransferConfiguration, width: Int, height: Int, styleCount: Int,
        optimizerVectors: Int, snapshotBudget: Int, compute: Compute
    ) -> MemoryEstimate {
        let deepest = VGG19.deepestIndex(c.loss.layers) ?? 0
        // The loss layers' outputs are held whole until the backward passes them; of the others only
        // a bit per value (the ReLU's mask) and a byte per pooling window (its routing). On top, the
        // backward holds a layer's gradient and the one it computes: twice the largest conv output.
        let outputs = VGG19Architecture.shapes(height: height, width: width).prefix(deepest + 1)
        let lossLayers = Set(c.loss.layers)
        let size = { (s: VGG19Architecture.Shape) in s.output.c * s.output.h * s.output.w }
        let kept = outputs.filter { lossLayers.contains($0.layer.name) }.reduce(0) { $0 + size($1) }
        let compact = outputs.filter { !lossLayers.contains($0.layer.name) }.reduce(0) { $0 + size($1) / ($1.parameters > 0 ? 8 : 1) }
        let largest = outputs.filter { $0.parameters > 0 }.map(size).max() ?? 0
        let image = 3 * width * height
        let styleImage = Int(Double(image) * c.styleScale * c.styleScale)
        var parts: [(String, Int)] = [
            ("loss layers' outputs", 4 * kept),
            ("the other layers, compact", compact),
            ("gradients", 4 * 2 * largest),
            ("image, gradient and step copies", 4 * 5 * image),
            ("optimiser state", 4 * optimizerVectors * image),
            ("style images", 4 * styleCount * styleImage),
            ("snapshots (at most)", snapshotBudget),
            ("weights and workspace", 200 << 20),
            (
                "prepared weights (kept)",
                min(
                    WeightCachePolicy.budget(width: width, height: height, layersUpTo: deepest),
                    WeightCachePolicy.formsNeeded(width: width, height: height, layersUpTo: deepest, compute: compute))
            ),
        ]
        parts = parts.filter { $0.1 > 0 }
        return MemoryEstimate(parts: parts)
    }

    public var summary: String {
        "about \(formatBytes(total)) per step ("
            + parts.map { "\($0.name) \(formatBytes($0.bytes))" }.joined(separator: ", ") + ")"
    }
}

extension TransferSession {
    /// Floats of optimiser state per image value.
    static func optimizerVectors(_ o: any Optimizer) -> Int { o.stateVectors }

    public func memoryEstimate(
        configuration c: TransferConfiguration? = nil, content: RGBImage? = nil,
        styleCount: Int? = nil, optimizer: (any Optimizer)? = nil
    ) -> MemoryEstimate? {
        let c = c ?? configuration
        guard let content = content ?? self.content else { return nil }
        let size = kerasTargetSize(width: content.width, height: content.height, rows: c.rows)
        return MemoryEstimate.step(
            configuration: c, width: size.width, height: size.height,
            styleCount: styleCount ?? styles.count,
            optimizerVectors: TransferSession.optimizerVectors(optimizer ?? self.optimizer),
            snapshotBudget: snapshots.budgetBytes, compute: compute)
    }

    /// Throws, with the estimate and the limit, when a step at this configuration would not fit.
    func estimateFits(
        configuration c: TransferConfiguration? = nil, content: RGBImage? = nil,
        styleCount: Int? = nil, optimizer: (any Optimizer)? = nil
    ) throws {
        // VGG19 halves the image five times: a working image under 16 pixels either way has layers
        // of no width at all (a 1-pixel-wide photo at 128 rows is 0×128).
        if let image = content ?? self.content {
            let size = kerasTargetSize(width: image.width, height: image.height, rows: (c ?? configuration).rows)
            guard size.width >= 16 && size.height >= 16 else {
                throw SessionError.invalid(
                    "a \(image.width)×\(image.height) content image makes a \(size.width)×\(size.height) working image; "
                        + "VGG19 needs at least 16 pixels each way (a wider image, or a larger --size)")
            }
            // The style images are resized to the working size times --style-scale.
            let scale = (c ?? configuration).styleScale
            let style = (width: Int(Double(size.width) * scale), height: Int(Double(size.height) * scale))
            guard style.width >= 16 && style.height >= 16 else {
                throw SessionError.invalid(
                    "--style-scale \(scale) makes the style images \(style.width)×\(style.height) (the working image is "
                        + "\(size.width)×\(size.height)); VGG19 needs at least 16 pixels each way: a larger --style-scale")
            }
        }
        guard let e = memoryEstimate(configuration: c, content: content, styleCount: styleCount, optimizer: optimizer) else { return }
        let limit = MemoryPolicy.limit
        guard e.total <= limit else {
            let content = content ?? self.content!
            let size = kerasTargetSize(width: content.width, height: content.height, rows: (c ?? configuration).rows)
            throw SessionError.invalid(
                "a \(size.width)×\(size.height) working image needs \(e.summary), "
                    + "more than the \(formatBytes(limit)) allowed: use a smaller --size or image")
        }
    }
}
