import Kernels

// The options that configure a transfer, in one place for `lab transfer` and the shell's `set`.

/// NST Lab's version, as `lab --version` prints it.
public enum NSTLabVersion { public static let current = "0.3.0" }

public enum TransferOptions {
    public static let valueOptions = [
        "size", "optimizer", "lr", "backend", "threads", "normalization", "pooling", "init",
        "content-weight", "style-weight", "tv-weight", "style-scale", "resize", "content-layers",
        "style-layers", "preset", "momentum", "history", "add-style", "conv",
        "style-loss", "ema", "style-colors", "content-mask", "style-mask",
    ]
    public static let flagOptions = ["original-colors", "no-original-colors", "continue"]

    /// The choices of each option that takes one of a few words (completion offers these).
    public static var choices: [String: [String]] {
        ["optimizer": OptimizerRegistry.kinds, "style-loss": StyleLossKind.allCases.map(\.rawValue),
         "style-colors": ColorMatching.allCases.map(\.rawValue), "normalization": StyleNormalizationMode.allCases.map(\.rawValue),
         "pooling": Pooling.allCases.map(\.rawValue), "resize": ResizeFilter.allCases.map(\.rawValue),
         "backend": Backend.allCases.map(\.rawValue), "conv": ConvAlgorithm.allCases.map(\.rawValue), "preset": ["keras", "any-size"]]
    }

    /// Named starting points: the loss settings and the optimiser.
    public static let presets: [(name: String, configuration: TransferConfiguration, optimizer: @Sendable () -> any Optimizer)] = [
        ("keras", TransferConfiguration(), { SGD() }),
        ("any-size", TransferConfiguration.anySize, { Adam(learningRate: 5) }),
    ]

    public static var help: String { baseHelp + "\n" + optimizerHelp + extendedHelp }

    static var optimizerHelp: String {
        "  --optimizer " + OptimizerRegistry.kinds.joined(separator: "|") + "\n"
            + OptimizerRegistry.all.map { "      \($0.kind): \($0.summary)" }.joined(separator: "\n")
    }

    static let extendedHelp = """

      --style-loss gram|mean-std|wasserstein   what a style term compares:
                                Gram matrices (the example), per-channel means
                                and deviations, or the Wasserstein-2 distance
                                of Gaussians fitted to the features
      --ema X                   show and save an average of the image, decay X
                                in (0, 1), e.g. 0.99 (0: off, the example)
      --style-colors none|cholesky|pca|symmetric   recolour the style images
                                to the content's colour mean and covariance
      --content-mask FILE       where the style applies (white); none: remove
      --style-mask FILE         where the (first) style image applies; with
                                --add-style FILE:WEIGHT:MASK, one per style
      --continue                with --size: enlarge the current image and the
                                optimiser's state instead of starting again
    """

    static let baseHelp = """
      --preset keras|any-size   keras: the example's constants (lab transfer's
                                default; they diverge below 400 rows);
                                any-size: Gatys normalisation, means for content
                                and TV, Adam lr 5 — works from 64 to 512 px
                                (the shell's default)
      --size ROWS               rows of the working image (lab transfer: 400, as
                                the example; the shell starts at 128); the
                                columns keep the content's aspect
      --lr X  --momentum X  --history N   the optimiser's settings
      --normalization keras|gatys  style loss ÷ 4·3²·(rows·cols)² (keras) or
                                ÷ 4·N²·M² per layer (gatys)
      --pooling max|average     --resize nearest|bilinear|area
      --init content|style|noise[:SEED]   the starting image
      --content-weight X  --style-weight X  --tv-weight X
                                (2.5e-8, 1e-6, 1e-6)
      --content-layers L1,L2    (block5_conv2)
      --style-layers L1[:W],…   (block1_conv1 … block5_conv1, 1/5 each)
      --style-scale X           style images at X × the working size
      --add-style FILE:WEIGHT   blend in another style image
      --original-colors         keep the content's colours (luminance only);
                                --no-original-colors turns it off
      --backend reference|simd|blas   --threads N
      --conv auto|direct|winograd  3×3 convolutions: auto (direct forward,
                                Winograd backward), im2col + GEMM, or
                                Winograd F(4×4,3×3) both ways
    """

    /// Applies every option present in `a` to the session (those absent are left as they are).
    public static func apply(_ a: Arguments, to session: TransferSession) throws {
        if let name = a.value("preset") {
            guard let preset = presets.first(where: { $0.name == name }) else {
                throw UsageError("--preset is \(presets.map(\.name).joined(separator: " or ")); got '\(name)'")
            }
            // A preset sets the loss and the optimiser; the size, resize filter, starting image and
            // the images stay as they are.
            try session.configure { old in
                var c = preset.configuration; c.rows = old.rows; c.resize = old.resize; c.initialImage = old.initialImage; old = c
            }
            session.setOptimizer(preset.optimizer())
        }
        if let backend = try a.choice("backend", Backend.self) {
            var compute = session.compute
            compute.backend = backend
            try compute.checkAvailable()
            session.compute = compute
        }
        if let conv = try a.choice("conv", ConvAlgorithm.self) {
            session.compute.conv = conv
        }
        if a.value("threads") != nil {
            session.compute.threads = try a.int("threads", default: 1, in: 1...256)
        }
        if let name = a.value("optimizer") {
            guard let o = OptimizerRegistry.make(name) else {
                throw UsageError("--optimizer is \(OptimizerRegistry.kinds.joined(separator: ", ")); got '\(name)'")
            }
            session.setOptimizer(o)
        }
        if let lr = try a.double("lr") {
            guard lr > 0 else { throw UsageError("--lr must be positive") }
            try session.setLearningRate(lr)
        }
        if let m = try a.double("momentum") {
            guard m >= 0, m < 1 else { throw UsageError("--momentum must be in [0, 1), got \(m)") }
            try session.updateOptimizer(as: SGD.self) { $0.momentum = m }
        }
        if a.value("history") != nil {
            let n = try a.int("history", default: 10, in: 1...1000)
            try session.updateOptimizer(as: LBFGS.self) { $0.historySize = n }
        }
        let normalization = try a.choice("normalization", StyleNormalizationMode.self)
        let pooling = try a.choice("pooling", Pooling.self)
        let resize = try a.choice("resize", ResizeFilter.self)
        var initial: InitialImage? = nil
        if let text = a.value("init") {
            guard let i = InitialImage(parsing: text) else { throw UsageError("--init is content, style or noise[:SEED]; got '\(text)'") }
            initial = i
        }
        let rows = a.value("size") == nil ? nil : try a.int("size", default: 400, in: 16...4096)
        let styleLoss = try a.choice("style-loss", StyleLossKind.self)
        let styleColors = try a.choice("style-colors", ColorMatching.self)
        let ema = try a.double("ema")
        if let ema, !(ema == 0 || (ema > 0 && ema < 1)) { throw UsageError("--ema is a decay in (0, 1) (or 0: off), got \(ema)") }
        if a.has("continue") && rows == nil { throw UsageError("--continue goes with --size N") }
        let cw = try a.double("content-weight"), sw = try a.double("style-weight"), tw = try a.double("tv-weight")
        let scale = try a.double("style-scale")
        let contentLayers = try a.value("content-layers").map(parseContentLayers)
        let styleLayers = try a.value("style-layers").map(parseStyleLayers)
        try session.configure { c in
            if let normalization { c.loss.normalization = normalization }
            if let pooling { c.loss.pooling = pooling }
            if let resize { c.resize = resize }
            if let initial { c.initialImage = initial }
            if let rows, !a.has("continue") { c.rows = rows }
            if let styleLoss { c.loss.styleLoss = styleLoss }
            if let styleColors { c.styleColors = styleColors }
            if let ema { c.ema = ema }
            if let cw { c.loss.contentWeight = cw }
            if let sw { c.loss.styleWeight = sw }
            if let tw { c.loss.totalVariationWeight = tw }
            if let scale { c.styleScale = scale }
            if let contentLayers { c.loss.contentLayers = contentLayers }
            if let styleLayers { c.loss.styleLayers = styleLayers }
            if a.has("original-colors") { c.preserveColors = true }
            if a.has("no-original-colors") { c.preserveColors = false }
        }
        if let rows, a.has("continue") {
            if session.combination == nil { try session.configure { $0.rows = rows } } else { try session.upscale(to: rows) }
        }
        if let mask = a.value("content-mask") { try session.setContentMask(mask == "none" ? nil : mask) }
        if let mask = a.value("style-mask") { try session.setStyleMask(mask == "none" ? nil : mask, index: 0) }
        for spec in a.all("add-style") {
            let (file, weight, mask) = try parseAddStyle(spec)
            try session.addStyle(file, weight: weight, mask: mask)
        }
    }

    /// "FILE:WEIGHT" or "FILE:WEIGHT:MASK" (a file name may itself contain colons).
    static func parseAddStyle(_ spec: String) throws -> (file: String, weight: Double, mask: String?) {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count >= 2, let w = Double(parts[parts.count - 1]) { return (parts.dropLast().joined(separator: ":"), w, nil) }
        if parts.count >= 3, let w = Double(parts[parts.count - 2]), !parts.last!.isEmpty {
            return (parts.dropLast(2).joined(separator: ":"), w, parts.last!)
        }
        throw UsageError("--add-style needs FILE:WEIGHT or FILE:WEIGHT:MASK, got '\(spec)'")
    }

    /// "block1_conv1:0.5,block2_conv1" → layers with weights (1/count when not given).
    static func parseStyleLayers(_ text: String) throws -> [StyleLayer] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        guard !text.isEmpty else { throw UsageError("--style-layers needs at least one layer") }
        var seen = Set<String>()
        return try items.map { item in
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), !parts[0].isEmpty else {
                throw UsageError("--style-layers: '\(item)' is not LAYER or LAYER:WEIGHT")
            }
            let name = String(parts[0])
            guard seen.insert(name).inserted else { throw UsageError("--style-layers lists \(name) twice") }
            var weight = 1.0 / Double(items.count)
            if parts.count == 2 {
                guard let w = Double(parts[1]), w.isFinite, w >= 0 else { throw UsageError("bad layer weight in '\(item)'") }
                weight = w
            }
            return StyleLayer(name, weight: weight)
        }
    }

    /// "block5_conv2,block4_conv2" → layer names, each once.
    static func parseContentLayers(_ text: String) throws -> [String] {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var seen = Set<String>()
        for name in names {
            guard !name.isEmpty else { throw UsageError("--content-layers: an empty layer name in '\(text)'") }
            guard seen.insert(name).inserted else { throw UsageError("--content-layers lists \(name) twice") }
        }
        return names
    }
}
