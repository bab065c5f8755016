import Kernels

// Receptive fields: which input pixels a feature of a layer depends on. Walking VGG19 forward,
// with r the field's side and j the input pixels between neighbouring features:
//   3×3 convolution, stride 1:  r += 2j
//   2×2 max pool, stride 2:     r += j,  j *= 2
// so block1_conv1 sees 3 pixels, block1_conv2 5, block2_conv1 10, … block5_conv4 252.
// Walking backward from one feature gives its exact region, clipped at the image's edges
// (padding sees nothing there): a convolution widens an interval by one on each side, a pool
// maps output i to inputs 2i and 2i + 1.

public enum ReceptiveField {
    /// Every layer's receptive field side and jump, in network order.
    public static let sizes: [(layer: String, size: Int, jump: Int)] =
        VGG19Architecture.shapes(height: 1, width: 1).map { ($0.layer.name, $0.receptiveField, $0.jump) }

    public static func size(of layer: String) -> Int? { sizes.first { $0.layer == layer }?.size }

    /// The input region (x0…x1, y0…y1, inclusive) the feature at (x, y) of `layer` sees, for an
    /// image of `height` × `width`.
    public static func region(layer: String, x: Int, y: Int, height: Int, width: Int) throws -> (x0: Int, y0: Int, x1: Int, y1: Int) {
        guard let end = VGG19Architecture.layers.firstIndex(where: { $0.name == layer }) else { throw LabError.unknownLayer(layer) }
        let path = VGG19Architecture.layers[...end]
        // The spatial size before each layer, and the layer's own.
        let shapes = VGG19Architecture.shapes(height: height, width: width)
        let sizes = shapes[...end].map { (h: $0.input.h, w: $0.input.w) }
        let (h, w) = (shapes[end].output.h, shapes[end].output.w)
        guard (0..<w).contains(x), (0..<h).contains(y) else {
            throw SessionError.invalid("\(layer) is \(w)×\(h) at this size: (\(x), \(y)) is outside it")
        }
        var (x0, x1, y0, y1) = (x, x, y, y)
        for (l, size) in zip(path, sizes).reversed() {
            switch l {
            case .conv:
                x0 = max(0, x0 - 1)
                y0 = max(0, y0 - 1)
                x1 = min(size.w - 1, x1 + 1)
                y1 = min(size.h - 1, y1 + 1)
            case .pool:
                x0 *= 2
                y0 *= 2
                x1 = 2 * x1 + 1
                y1 = 2 * y1 + 1
            }
        }
        return (x0, y0, x1, y1)
    }
}
