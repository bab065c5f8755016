import Kernels

// The options that configure a transfer, once, as data (TransferOption.swift): for `lab transfer`, the
// shell's `set`, `help set`, `config`, completion and the fuzz dictionary.

/// NST Lab's version, as `lab --version` prints it.
public enum NSTLabVersion { public static let current = "0.3.0" }

public enum TransferOptions {
    /// Named starting points: the loss settings and the optimiser.
    public static let presets: [Preset] = [
        ("keras", TransferConfiguration(), { SGD() }),
        ("any-size", TransferConfiguration.anySize, { Adam(learningRate: 5) }),
    ]

    public typealias Preset = (name: String, configuration: TransferConfiguration, optimizer: @Sendable () -> any Optimizer)

    /// The preset of that name, or the one-line error that lists them (`--preset`, `lab bench --preset`).
    public static func preset(named name: String?) throws -> Preset {
        guard let preset = presets.first(where: { $0.name == name }) else {
            throw UsageError("--preset is \(presets.map(\.name).joined(separator: " or ")); got '\(name ?? "")'")
        }
        return preset
    }

    /// Every option, in the order they are listed (and, within a phase, applied).
    public static let all: [TransferOption] = general + LossTerms.all.map(weightOption) + layersAndImages

    typealias O = TransferOption
    typealias V = OptionValue

    static let general: [TransferOption] = [
        O(
            "preset", .value(presets.map(\.name).joined(separator: "|")), .preset,
            help: "keras: the example's constants (lab transfer's default; they diverge below 400 rows); any-size: Gatys "
                + "normalisation, means for content and TV, Adam lr 5 — works from 64 to 512 px (the shell's default)",
            choices: { presets.map(\.name) }
        ) { v, x in
            let preset = try preset(named: v)
            // A preset sets the loss and the optimiser; the size, resize filter, starting image and images stay.
            try x.session.configure { old in
                var c = preset.configuration
                c.rows = old.rows
                c.resize = old.resize
                c.initialImage = old.initialImage
                old = c
            }
            x.session.setOptimizer(preset.optimizer())
        },
        O(
            "backend", .value(Backend.allCases.map(\.rawValue).joined(separator: "|")), .compute,
            help: "reference (plain loops), simd (the default) or blas (OpenBLAS, if installed)",
            choices: V.names(Backend.self), current: { $0.compute.backend.rawValue }
        ) { v, x in
            var compute = x.session.compute
            compute.backend = try V.choice("backend", v, Backend.self)
            try compute.checkAvailable()
            x.session.compute = compute
        },
        O(
            "conv", .value(ConvAlgorithm.allCases.map(\.rawValue).joined(separator: "|")), .compute,
            help: "3×3 convolutions: auto (the fastest per layer; the forward direct under the Keras loss, for its max-pool ties), "
                + "direct (im2col + GEMM) or winograd (F(4×4,3×3)) everywhere",
            choices: V.names(ConvAlgorithm.self), current: { $0.compute.conv.rawValue }
        ) { v, x in
            x.session.compute.conv = try V.choice("conv", v, ConvAlgorithm.self)
        },
        O("threads", .value("N"), .compute, help: "threads the kernels use", current: { "\($0.compute.threads)" }) { v, x in
            x.session.compute.threads = try V.whole("threads", v, in: 1...256)
        },
        O(
            "optimizer", .value(OptimizerRegistry.kinds.joined(separator: "|")), .optimizer,
            help: OptimizerRegistry.all.map { "\($0.kind): \($0.summary)" }.joined(separator: "; "),
            choices: { OptimizerRegistry.kinds }, current: { $0.optimizer.name }
        ) { v, x in
            guard let v, let o = OptimizerRegistry.make(v) else {
                throw UsageError("--optimizer is \(OptimizerRegistry.kinds.joined(separator: ", ")); got '\(v ?? "")'")
            }
            x.session.setOptimizer(o)
        },
        O(
            "lr", .value("X"), .optimizer, help: "the optimiser's learning rate (SGD: the schedule's initial rate)",
            current: { String(format: "%g", $0.optimizer.baseLearningRate) }
        ) { v, x in
            let lr = try V.number("lr", v)
            guard lr > 0 else { throw UsageError("--lr must be positive") }
            try x.session.setLearningRate(lr)
        },
        O(
            "momentum", .value("X"), .optimizer, help: "SGD's momentum, in [0, 1) (the example: 0)",
            current: { ($0.optimizer as? SGD).map { "\($0.momentum)" } }
        ) { v, x in
            let m = try V.number("momentum", v)
            guard m >= 0, m < 1 else { throw UsageError("--momentum must be in [0, 1), got \(m)") }
            try x.session.updateOptimizer(as: SGD.self) { $0.momentum = m }
        },
        O(
            "history", .value("N"), .optimizer, help: "L-BFGS's number of correction pairs (10)",
            current: { ($0.optimizer as? LBFGS).map { "\($0.historySize)" } }
        ) { v, x in
            let n = try V.whole("history", v, in: 1...1000)
            try x.session.updateOptimizer(as: LBFGS.self) { $0.historySize = n }
        },
        O(
            "size", .value("ROWS"), .configuration,
            help: "rows of the working image (lab transfer: 400, as the example; the shell starts at 128); the columns keep the content's aspect",
            current: { "\($0.configuration.rows)" }
        ) { v, x in
            let rows = try V.whole("size", v, in: 16...4096)
            if !x.arguments.has("continue") { x.configuration.rows = rows }
        },
        O(
            "resize", .value(ResizeFilter.allCases.map(\.rawValue).joined(separator: "|")), .configuration,
            help: "how images are resized to the working size (the example: nearest)",
            choices: V.names(ResizeFilter.self), current: { $0.configuration.resize.rawValue }
        ) { v, x in
            x.configuration.resize = try V.choice("resize", v, ResizeFilter.self)
        },
        O(
            "init", .value("content|style|noise[:SEED]"), .configuration, help: "the starting image",
            choices: { ["content", "style", "noise"] }, current: { "\($0.configuration.initialImage)" }
        ) { v, x in
            guard let v, let i = InitialImage(parsing: v) else {
                throw UsageError("--init is content, style or noise[:SEED]; got '\(v ?? "")'")
            }
            x.configuration.initialImage = i
        },
        O(
            "normalization", .value(StyleNormalizationMode.allCases.map(\.rawValue).joined(separator: "|")), .configuration,
            help: "style loss ÷ 4·3²·(rows·cols)² (keras) or ÷ 4·N²·M² per layer (gatys)",
            choices: V.names(StyleNormalizationMode.self), current: { $0.configuration.loss.normalization.rawValue }
        ) { v, x in
            x.configuration.loss.normalization = try V.choice("normalization", v, StyleNormalizationMode.self)
        },
        O(
            "pooling", .value(Pooling.allCases.map(\.rawValue).joined(separator: "|")), .configuration,
            help: "VGG19's pooling layers: max (the network as trained) or average (Gatys's suggestion)",
            choices: V.names(Pooling.self), current: { $0.configuration.loss.pooling.rawValue }
        ) { v, x in
            x.configuration.loss.pooling = try V.choice("pooling", v, Pooling.self)
        },
        O(
            "style-loss", .value(StyleLossKind.allCases.map(\.rawValue).joined(separator: "|")), .configuration,
            help: "what a style term compares: Gram matrices (the example), per-channel means and deviations, "
                + "or the Wasserstein-2 distance of Gaussians fitted to the features",
            choices: V.names(StyleLossKind.self), current: { $0.configuration.loss.styleLoss.rawValue }
        ) { v, x in
            x.configuration.loss.styleLoss = try V.choice("style-loss", v, StyleLossKind.self)
        },
        O(
            "ema", .value("X"), .configuration,
            help: "show and save an average of the image, decay X in (0, 1), e.g. 0.99 (0: off, the example)",
            current: { $0.configuration.ema > 0 ? "\($0.configuration.ema)" : "0" }
        ) { v, x in
            let ema = try V.number("ema", v)
            guard ema == 0 || (ema > 0 && ema < 1) else { throw UsageError("--ema is a decay in (0, 1) (or 0: off), got \(ema)") }
            // The average is kept in float32: a decay that rounds to 1 there would never move from its start.
            guard Float(ema) < 1 else { throw UsageError("--ema \(ema) is 1 in float32 (the average would never move): at most 0.9999") }
            x.configuration.ema = ema
        },
    ]

    /// `--content-weight`, `--style-weight`, … : one per loss term kind.
    static func weightOption(_ term: any LossTerm) -> TransferOption {
        let kind = term.kind, name = term.weightOption
        return O(
            name, .value("X"), .configuration, help: term.weightHelp,
            current: { "\($0.configuration.loss.weight(kind))" }
        ) { v, x in
            x.configuration.loss.setWeight(kind, try V.number(name, v))
        }
    }

    static let layersAndImages: [TransferOption] = [
        O(
            "content-layers", .value("L1,L2"), .configuration, help: "the content layers (the example: block5_conv2)",
            choices: { VGG19.layerNames }, current: { $0.configuration.loss.contentLayers.joined(separator: ",") }
        ) { v, x in
            x.configuration.loss.contentLayers = try parseContentLayers(v ?? "")
        },
        O(
            "style-layers", .value("L1[:W],…"), .configuration,
            help: "the style layers and their shares (the example: block1_conv1 … block5_conv1, 1/5 each)",
            choices: { VGG19.layerNames },
            current: { $0.configuration.loss.styleLayers.map { "\($0.name):\(String(format: "%.3g", $0.weight))" }.joined(separator: ",") }
        ) { v, x in
            x.configuration.loss.styleLayers = try parseStyleLayers(v ?? "")
        },
        O(
            "style-scale", .value("X"), .configuration, help: "style images at X × the working size (1)",
            current: { "\($0.configuration.styleScale)" }
        ) { v, x in
            x.configuration.styleScale = try V.number("style-scale", v)
        },
        O(
            "style-colors", .value(ColorMatching.allCases.map(\.rawValue).joined(separator: "|")), .configuration,
            help: "recolour the style images to the content's colour mean and covariance",
            choices: V.names(ColorMatching.self), current: { $0.configuration.styleColors.rawValue }
        ) { v, x in
            x.configuration.styleColors = try V.choice("style-colors", v, ColorMatching.self)
        },
        O(
            "original-colors", .flag, .configuration,
            help: "keep the content's colours (luminance only); --no-original-colors turns it off",
            current: { $0.configuration.preserveColors ? "on" : "off" }
        ) { _, x in
            x.configuration.preserveColors = true
        },
        O("no-original-colors", .flag, .configuration, help: "the result's own colours (the example)") { _, x in
            x.configuration.preserveColors = false
        },
        O("continue", .flag, .after, help: "with --size: enlarge the current image and the optimiser's state instead of starting again") {
            _, x in
            guard let text = x.arguments.value("size") else { throw UsageError("--continue goes with --size N") }
            let rows = try V.whole("size", text, in: 16...4096)
            if x.session.combination == nil { try x.session.configure { $0.rows = rows } } else { try x.session.upscale(to: rows) }
        },
        O(
            "content-mask", .value("FILE"), .after, help: "where the style applies (white); none: remove", file: true,
            current: { $0.contentMask?.path ?? "none" }
        ) { v, x in
            try x.session.setContentMask(v == "none" ? nil : v)
        },
        O(
            "style-mask", .value("FILE"), .after,
            help: "where the (first) style image applies; with --add-style FILE:WEIGHT:MASK, one per style", file: true,
            current: { $0.styles.first.map { $0.maskPath ?? "none" } }
        ) { v, x in
            try x.session.setStyleMask(v == "none" ? nil : v, index: 0)
        },
        O("add-style", .repeated("FILE:WEIGHT[:MASK]"), .after, help: "blend in another style image", file: true) { v, x in
            let (file, weight, mask) = try parseAddStyle(v ?? "")
            try x.session.addStyle(file, weight: weight, mask: mask)
        },
    ]

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
