// The layers of VGG19 without its classifier (Keras `include_top=False`), by their Keras names.
// In Keras the ReLU belongs to the conv layer: the output called `block1_conv1` is rectified.
// Lives here, beside the kernels, because the benchmark and the tests size their work by it.

public enum VGG19Layer: Sendable, Equatable {
    case conv(name: String, inChannels: Int, outChannels: Int)
    case pool(name: String)

    public var name: String {
        switch self {
        case .conv(let name, _, _), .pool(let name): return name
        }
    }
}

public enum VGG19Architecture {
    /// Channels per block and convolutions per block.
    static let blocks: [(channels: Int, convs: Int)] = [(64, 2), (128, 2), (256, 4), (512, 4), (512, 4)]

    /// block1_conv1 … block5_pool in network order (16 convs, 5 pools).
    public static let layers: [VGG19Layer] = {
        var layers: [VGG19Layer] = []
        var channels = 3
        for (b, block) in blocks.enumerated() {
            for i in 1...block.convs {
                layers.append(.conv(name: "block\(b + 1)_conv\(i)", inChannels: channels, outChannels: block.channels))
                channels = block.channels
            }
            layers.append(.pool(name: "block\(b + 1)_pool"))
        }
        return layers
    }()

    /// One layer at an image size: its input and output (C, H, W), parameters, forward FLOPs
    /// (2·C·OC·9·H·W for a conv), and its receptive field's side and jump (input pixels between
    /// neighbouring features):  conv: r += 2j;  2×2 pool, stride 2: r += j, j *= 2.
    public struct Shape: Sendable {
        public let layer: VGG19Layer
        public let input: (c: Int, h: Int, w: Int)
        public let output: (c: Int, h: Int, w: Int)
        public let parameters: Int
        public let flops: Double
        public let receptiveField: Int
        public let jump: Int
    }

    /// The one walk of the architecture's shapes, layer by layer, for an image of `height` × `width`:
    /// the shapes, FLOPs, receptive fields and memory estimate all read it.
    public static func shapes(height: Int, width: Int) -> [Shape] {
        var c = 3, h = height, w = width, r = 1, j = 1
        return layers.map { layer in
            let input = (c, h, w)
            switch layer {
            case .conv(_, let ic, let oc):
                r += 2 * j
                c = oc
                return Shape(
                    layer: layer, input: input, output: (oc, h, w), parameters: oc * ic * 9 + oc,
                    flops: 2 * Double(oc * ic * 9 * h * w), receptiveField: r, jump: j)
            case .pool:
                r += j
                j *= 2
                h /= 2
                w /= 2
                return Shape(layer: layer, input: input, output: (c, h, w), parameters: 0, flops: 0, receptiveField: r, jump: j)
            }
        }
    }

    /// The (C, H, W) input of every conv layer for an image of `height` × `width`.
    public static func convInputs(height: Int, width: Int) -> [(name: String, c: Int, h: Int, w: Int, oc: Int)] {
        shapes(height: height, width: width).compactMap { s in
            guard case .conv(let name, let c, let oc) = s.layer else { return nil }
            return (name, c, s.input.h, s.input.w, oc)
        }
    }

    /// Runs the layers in order up to index `last` on a value of any kind — float32 tensors with the
    /// fast kernels (VGG19.forward), float64 arrays with the plain loops (the gradient check) — each
    /// layer's arithmetic given by `conv` (name, C, OC, input) and `pool` (name, input); `visit` sees
    /// every output. Stops early when `visit` returns false.
    public static func forward<X>(
        _ input: X, through last: Int, conv: (String, Int, Int, X) throws -> X,
        pool: (String, X) throws -> X, visit: (VGG19Layer, X) throws -> Bool
    ) rethrows {
        var x = input
        for layer in layers.prefix(last + 1) {
            switch layer {
            case .conv(let name, let c, let oc): x = try conv(name, c, oc, x)
            case .pool(let name): x = try pool(name, x)
            }
            if try !visit(layer, x) { return }
        }
    }
}
