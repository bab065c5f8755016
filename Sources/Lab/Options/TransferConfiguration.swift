import Kernels

/// Where the combination image starts.
public enum InitialImage: Equatable, Sendable, CustomStringConvertible {
    case content  // the Keras example
    case noise(seed: UInt64)  // uniform noise on the 0–255 scale, reproducible
    case style

    public var description: String {
        switch self {
        case .content: return "content"
        case .noise(let s): return "noise:\(s)"
        case .style: return "style"
        }
    }

    public init?(parsing text: String) {
        switch text {
        case "content": self = .content
        case "style": self = .style
        case "noise": self = .noise(seed: 0)
        default:
            guard text.hasPrefix("noise:"), let seed = UInt64(text.dropFirst(6)) else { return nil }
            self = .noise(seed: seed)
        }
    }
}

/// Everything a transfer depends on besides the images. The defaults are the Keras example.
public struct TransferConfiguration: Equatable, Sendable, Codable {
    public var loss = LossConfiguration()
    /// Rows of the working image; columns follow the content's aspect (int(width · rows / height)).
    public var rows = 400
    public var resize = ResizeFilter.nearest
    public var initialImage = InitialImage.content
    /// Style images are resized to (cols · scale, rows · scale); 1 is the example.
    public var styleScale = 1.0
    /// Keep the content's colours: the result's luminance on the content's chrominance
    /// (jcjohnson/neural-style's -original_colors).
    public var preserveColors = false
    /// Recolour the style images to the content's colour statistics before the run.
    public var styleColors = ColorMatching.none
    /// Show and save a bias-corrected exponential moving average of the image with this decay
    /// (crowsonkb's image averaging); 0: the raw iterate, as the example.
    public var ema = 0.0

    public init() {}

    public init(from decoder: Decoder) throws {
        // Archives from before colour matching and averaging lack them: off.
        let c = try decoder.container(keyedBy: CodingKeys.self)
        loss = try c.decode(LossConfiguration.self, forKey: .loss)
        rows = try c.decode(Int.self, forKey: .rows)
        resize = try c.decode(ResizeFilter.self, forKey: .resize)
        initialImage = try c.decode(InitialImage.self, forKey: .initialImage)
        styleScale = try c.decode(Double.self, forKey: .styleScale)
        preserveColors = try c.decode(Bool.self, forKey: .preserveColors)
        styleColors = try c.decodeIfPresent(ColorMatching.self, forKey: .styleColors) ?? .none
        ema = try c.decodeIfPresent(Double.self, forKey: .ema) ?? 0
    }

    /// A configuration that behaves at any size from 64 to 512 px: Gatys's per-layer style
    /// normalisation and means for content and total variation, so no term scales with the image
    /// area. Weights chosen by eye on chelsea + hubble_deep_field at 128 rows (100 Adam steps at
    /// lr 5 give a recognisable cat in the style); use it with Adam, which the preset selects.
    public static var anySize: TransferConfiguration {
        var c = TransferConfiguration()
        c.loss.normalization = .gatys
        c.loss.averageContentAndTV = true
        c.loss.contentWeight = 1
        c.loss.styleWeight = 1e-6
        c.loss.totalVariationWeight = 1e-3
        return c
    }
}

/// What the targets depend on: when this changes they are computed again; otherwise never.
struct TargetKey: Equatable {
    /// The kinds of term the loss has (a kind switched on may need targets of its own).
    var termKinds: [TermKind]
    var contentLayers: [String]
    var styleLayers: [String]
    var pooling: Pooling
    var rows: Int
    var resize: ResizeFilter
    var styleScale: Double
    var styleLoss: StyleLossKind
    var styleColors: ColorMatching
    var imagesVersion: Int
    /// The learner's own terms: their constant parts are computed with the targets.
    var customTerms: [CustomTermDefinition] = []
}
