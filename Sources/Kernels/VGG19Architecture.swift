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

    /// The (C, H, W) input of every conv layer for an image of `height` × `width`.
    public static func convInputs(height: Int, width: Int) -> [(name: String, c: Int, h: Int, w: Int, oc: Int)] {
        var h = height, w = width
        var result: [(String, Int, Int, Int, Int)] = []
        for layer in layers {
            switch layer {
            case .conv(let name, let c, let oc): result.append((name, c, h, w, oc))
            case .pool: h /= 2; w /= 2
            }
        }
        return result
    }
}
