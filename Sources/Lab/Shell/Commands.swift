import Foundation
import Kernels

/// What a command's positional arguments complete to.
enum Completion: Sendable { case none, files, layers, commands, words([String]) }

/// One shell command: everything about it in one place, so help cannot drift from behaviour.
struct Command: Sendable {
    let name: String
    var aliases: [String] = []
    let topic: String
    let summary: String
    let usage: String
    let example: String
    var options: [String] = []
    var flags: [String] = []
    var completes: Completion = .none
    /// Whether a failure puts the session back as it was (all or nothing). Off for the commands
    /// that commit as they go: `step 5` failing at the fourth keeps the three before it.
    var transactional = true
    /// The words after the name reach the command unparsed (`expect error set --size 0`).
    var rawArguments = false
    let run: @Sendable (Shell, Arguments) throws -> Void
}

enum CommandTable {
    static let topics = ["images", "network", "loss", "optimise", "settings", "lessons", "session"]

    static func find(_ name: String) -> Command? { all.first { $0.name == name || $0.aliases.contains(name) } }

    static func nearest(to name: String) -> [String] {
        let scored = all.map { ($0.name, editDistance($0.name, name)) }.filter { $0.1 <= 2 }
        let best = scored.map(\.1).min()
        return scored.filter { $0.1 == best }.map(\.0)
    }

    static let all: [Command] = images + network + inspect + loss + optimise + settings + notebookCommands + sessionCommands

    // MARK: - images

    static let images: [Command] = [
        Command(name: "content", topic: "images", summary: "load the content image (PNG or JPEG)",
                usage: "content FILE", example: "content images/chelsea.png", completes: .files) { shell, a in
            guard a.positional.count == 1 else { throw UsageError("content needs one FILE") }
            let s = try shell.session()
            try s.loadContent(a.positional[0])
            let size = s.workingSize!
            shell.say("content \(a.positional[0]): \(s.content!.width)×\(s.content!.height), working size \(size.width)×\(size.height)")
        },
        Command(name: "style", topic: "images", summary: "load the style image, replacing others; --add blends another in",
                usage: "style FILE [--add] [--weight W] [--mask M]", example: "style images/hubble_deep_field.jpg",
                options: ["weight", "mask"], flags: ["add"], completes: .files) { shell, a in
            guard a.positional.count == 1 else { throw UsageError("style needs one FILE") }
            let s = try shell.session()
            if a.value("weight") != nil && !a.has("add") {
                throw UsageError("--weight goes with --add (a single style image has no blend weight)")
            }
            if a.has("add") {
                try s.addStyle(a.positional[0], weight: try a.double("weight") ?? 1, mask: a.value("mask"))
            } else {
                try s.loadStyle(a.positional[0])
                if let mask = a.value("mask") { try s.setStyleMask(mask, index: 0) }
            }
            shell.say("style: " + s.styles.map {
                "\($0.path) (\($0.image.width)×\($0.image.height), weight \($0.weight)\($0.maskPath.map { ", where \($0) is white" } ?? ""))"
            }.joined(separator: ", "))
        },
        Command(name: "show", topic: "images", summary: "draw images side by side, captioned: content, style, result or files",
                usage: "show content|style|result|FILE …", example: "show content style result",
                completes: .words(["content", "style", "result"])) { shell, a in
            guard !a.positional.isEmpty else { throw UsageError("show needs what to show") }
            guard a.positional.count <= 6 else { throw UsageError("show draws at most 6 images side by side") }
            let s = try shell.session()
            let images: [(String, RGBImage)] = try a.positional.map { what in
                let caption = what == "result" ? "result, iteration \(s.iteration)" : (what as NSString).lastPathComponent
                return (caption, try picture(what, s))
            }
            let name = String(a.positional.map { ($0 as NSString).lastPathComponent.replacingOccurrences(of: ".", with: "_") }
                .joined(separator: "-").prefix(80))   // a file name, whatever the paths
            if images.count == 1 {
                try shell.showPicture(Pictures.enlarged(images[0].1), name: name, caption: a.positional[0])
            } else {
                try shell.showPicture(Pictures.sideBySide(images), name: name, caption: a.positional.joined(separator: " | "))
            }
        },
        Command(name: "tensor", topic: "images", summary: "an image as VGG19 sees it: BGR, means subtracted",
                usage: "tensor [content|style|result] [--pixel X,Y]", example: "tensor content --pixel 10,20",
                options: ["pixel"], completes: .words(["content", "style", "result"])) { shell, a in
            let s = try shell.session()
            let which = a.positional.first ?? "content"
            let t: Tensor
            switch which {
            case "content": t = try s.contentTensor()
            case "style": t = try s.styleTensors()[0]
            case "result": guard let c = s.combination else { throw SessionError.needsContent }; t = c
            default: throw UsageError("tensor shows content, style or result")
            }
            let (_, h, w) = t.chw
            // Check the argument before printing anything: a failing command prints one line.
            var pixel: (x: Int, y: Int)? = nil
            if let p = a.value("pixel") {
                let xy = p.split(separator: ",").compactMap { Int($0) }
                guard xy.count == 2, (0..<w).contains(xy[0]), (0..<h).contains(xy[1]) else {
                    throw UsageError("--pixel X,Y inside \(w)×\(h)")
                }
                pixel = (xy[0], xy[1])
            }
            shell.say("\(which): shape (3, \(h), \(w)) = (channels, rows, columns); channel order B, G, R (Keras's caffe mode)")
            let plane = h * w
            for (c, name) in ["B", "G", "R"].enumerated() {
                let values = t.data[(c * plane)..<((c + 1) * plane)]
                let mean = values.reduce(0.0) { $0 + Double($1) } / Double(plane)
                shell.say(String(format: "  %@: mean %8.3f  min %8.3f  max %8.3f   (ImageNet mean %.3f subtracted)",
                                 name, mean, Double(values.min()!), Double(values.max()!), Double(imageNetMeanBGR[c])))
                shell.measured("tensor.mean.\(name)", mean); shell.measured("tensor.min.\(name)", Double(values.min()!))
                shell.measured("tensor.max.\(name)", Double(values.max()!))
            }
            if let (x, y) = pixel {
                let bgr = (0..<3).map { t.data[$0 * plane + y * w + x] }
                let rgb = (0..<3).map { min(255, max(0, bgr[2 - $0] + imageNetMeanBGR[2 - $0])) }
                shell.say(String(format: "  pixel (%d, %d): RGB (%.0f, %.0f, %.0f) → BGR − mean (%.3f, %.3f, %.3f)",
                                 x, y, rgb[0], rgb[1], rgb[2], bgr[0], bgr[1], bgr[2]))
            }
        },
        Command(name: "save", topic: "images", summary: "save the result image as PNG (deprocessed: means added, RGB, clipped)",
                usage: "save FILE.png", example: "save out/cat.png", completes: .files) { shell, a in
            guard a.positional.count == 1 else { throw UsageError("save needs a FILE") }
            try shell.session().resultImage().savePNG(a.positional[0])
            shell.say("saved \(a.positional[0])")
        },
    ]

    // MARK: - network

    static func tensorFor(_ shell: Shell, _ which: String) throws -> Tensor {
        let s = try shell.session()
        switch which {
        case "content": return try s.contentTensor()
        case "style": return try s.styleTensors()[0]
        case "result":
            guard let c = s.combination else { throw SessionError.needsContent }
            return c
        case "initial":   // where the current run started (if its snapshot is kept)
            guard let c = s.snapshots.snapshot(at: 0)?.combination else { throw SessionError.invalid("the initial image is not kept") }
            return c
        default: throw UsageError("--image is content, style or result; got '\(which)'")
        }
    }

    static let network: [Command] = [
        Command(name: "layers", topic: "network", summary: "VGG19's layers at the working size: shapes, parameters, FLOPs",
                usage: "layers", example: "layers") { shell, _ in
            let s = try shell.session()
            guard let size = s.workingSize else { throw SessionError.needsContent }
            var h = size.height, w = size.width
            shell.say("layer           output (C, H, W)        params      GFLOP   receptive field")
            var totalParams = 0, totalFlops = 0.0
            var blockFlops = [Double](repeating: 0, count: 6)
            for layer in VGG19Architecture.layers {
                let rf = ReceptiveField.size(of: layer.name) ?? 0
                shell.measured("rf.\(layer.name)", Double(rf))
                switch layer {
                case .conv(let name, let c, let oc):
                    let params = oc * c * 9 + oc, flops = 2.0 * Double(oc * c * 9 * h * w) / 1e9
                    totalParams += params; totalFlops += flops
                    if let b = Int(String(name.dropFirst(5).prefix(1))) { blockFlops[b] += flops }
                    shell.say(String(format: "%@ (%4d, %4d, %4d)   %9d   %8.3f   %3d×%d", pad(name, 15) as NSString, oc, h, w, params, flops, rf, rf))
                case .pool(let name):
                    h /= 2; w /= 2
                    let c = VGG19Architecture.layers.prefix { $0.name != name }.reversed().compactMap { l -> Int? in
                        if case .conv(_, _, let oc) = l { return oc } else { return nil } }.first ?? 3
                    shell.say(String(format: "%@ (%4d, %4d, %4d)   %9d   %8.3f   %3d×%d", pad(name, 15) as NSString, c, h, w, 0, 0.0, rf, rf))
                }
            }
            shell.say(String(format: "total: %d parameters, %.2f GFLOP forward (conv layers)", totalParams, totalFlops))
            let shares = (1...5).map { 100 * blockFlops[$0] / totalFlops }
            for (i, share) in shares.enumerated() { shell.measured("flops.block\(i + 1)", share) }
            shell.say("share of the FLOPs by block: " + shares.enumerated().map { String(format: "block%d %.1f%%", $0.offset + 1, $0.element) }.joined(separator: ", "))
        },
        Command(name: "features", topic: "network", summary: "a layer's feature maps: statistics and a grid of channels",
                usage: "features LAYER [--image content|style|result] [--channels 0,5,9] [--pre]",
                example: "features block1_conv1 --channels 0,1,2,3", options: ["image", "channels"], flags: ["pre"], completes: .layers) { shell, a in
            guard a.positional.count == 1 else { throw UsageError("features needs a LAYER") }
            let s = try shell.session()
            let layer = a.positional[0] + (a.has("pre") ? ":pre" : "")
            let x = try tensorFor(shell, a.value("image") ?? "content")
            let acts = try s.vgg.forward(x, upTo: [layer], pooling: s.configuration.loss.pooling, keepPreActivations: a.has("pre"), s.compute)
            guard let t = acts[layer] else { throw LabError.unknownLayer(layer) }
            let (c, h, w) = t.chw
            let mean = t.data.reduce(0.0) { $0 + Double($1) } / Double(t.count)
            let variance = t.data.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(t.count)
            let zeros = Double(t.data.filter { $0 == 0 }.count) / Double(t.count)
            shell.say(String(format: "%@: (%d, %d, %d)  mean %.4g  std %.4g  min %.4g  max %.4g  zeros %.1f%%",
                             layer as NSString, c, h, w, mean, variance.squareRoot(), Double(t.data.min()!), Double(t.data.max()!), 100 * zeros))
            shell.measured("features.mean", mean); shell.measured("features.std", variance.squareRoot())
            shell.measured("features.max", Double(t.data.max()!)); shell.measured("features.zeros", zeros)
            shell.measured("features.channels", Double(c)); shell.measured("features.positions", Double(h * w))
            // Per channel: each one's mean, and which channel responds most on average.
            let channelMeans = (0..<c).map { k in t.data[(k * h * w)..<((k + 1) * h * w)].reduce(0.0) { $0 + Double($1) } / Double(h * w) }
            for (k, m) in channelMeans.enumerated() { shell.measured("features.channel\(k).mean", m) }
            let top = channelMeans.indices.max { channelMeans[$0] < channelMeans[$1] }!
            shell.measured("features.topChannel", Double(top))
            shell.say(String(format: "the channel with the largest mean: %d (%.4g)", top, channelMeans[top]))
            var channels = Array(0..<min(c, 16))
            if let list = a.value("channels") {
                channels = list.split(separator: ",").compactMap { Int($0) }
                guard !channels.isEmpty, channels.allSatisfy({ (0..<c).contains($0) }) else {
                    throw UsageError("--channels: numbers in 0…\(c - 1), comma-separated")
                }
            }
            let grid = Pictures.featureGrid(t, channels: channels, title: "\(layer) of the \(a.value("image") ?? "content") image, (\(c), \(h), \(w))")
            try shell.showPicture(grid, name: layer.replacingOccurrences(of: ":", with: "-"),
                                  caption: "\(layer) channels \(channels.map(String.init).joined(separator: ","))")
        },
        Command(name: "gram", topic: "network", summary: "a layer's Gram matrix: heatmap, most correlated channels, style − result",
                usage: "gram LAYER [--image content|style|result] [--top K] [--diff] [--scale linear|log|correlation]",
                example: "gram block2_conv1 --top 5 --scale log",
                options: ["image", "top", "scale"], flags: ["diff"], completes: .layers) { shell, a in
            let scale = try a.choice("scale", Pictures.GramScale.self) ?? .linear
            guard a.positional.count == 1 else { throw UsageError("gram needs a LAYER") }
            let s = try shell.session()
            let layer = a.positional[0]
            guard VGG19.isKnownLayer(layer), !layer.hasSuffix(":pre") else { throw LabError.unknownLayer(layer) }
            func gramOf(_ which: String) throws -> Tensor {
                let acts = try s.vgg.forward(try tensorFor(shell, which), upTo: [layer], pooling: s.configuration.loss.pooling, s.compute)
                return try gramMatrix(acts.outputs[layer]!, s.compute)
            }
            var g = try gramOf(a.value("image") ?? "style")
            var caption = "gram \(layer) of \(a.value("image") ?? "style")"
            var before: Tensor? = nil   // style − initial, drawn beside style − result on one scale
            if a.has("diff") {
                let target = try gramOf("style"), now = try gramOf("result")
                g = try target.adding(now.scaled(by: -1))
                caption = "gram \(layer): style − result"
                let norm = { (t: Tensor) in t.data.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
                let gap = norm(g)
                if let first = try? gramOf("initial"), s.iteration > 0 {
                    before = try target.adding(first.scaled(by: -1))
                    let start = norm(before!)
                    shell.say(String(format: "‖G_style − G_result‖ = %.4g; at the initial image %.4g (%+.1f%%)",
                                     gap, start, start > 0 ? 100 * (gap - start) / start : 0))
                    shell.measured("gram.initialDistance", start)
                } else {
                    shell.say(String(format: "‖G_style − G_result‖ = %.4g", gap))
                }
                shell.measured("gram.distance", gap)
            }
            let c = g.shape[0]
            let top = try a.int("top", default: 5, in: 0...100)
            // Correlation-like: G[a][b] / √(G[a][a] G[b][b]) for a < b.
            var pairs: [(Int, Int, Double)] = []
            for i in 0..<c { for j in (i + 1)..<max(i + 1, c) {
                let d = Double(g.data[i * c + i]) * Double(g.data[j * c + j])
                if d > 0 { pairs.append((i, j, Double(g.data[i * c + j]) / d.squareRoot())) }
            } }
            pairs.sort { abs($0.2) > abs($1.2) }
            shell.say("\(caption): (\(c), \(c)), max |entry| \(String(format: "%.4g", Double(g.data.map { abs($0) }.max()!)))")
            shell.measured("gram.max", Double(g.data.map { abs($0) }.max()!))
            if !a.has("diff"), let strongest = pairs.first { shell.measured("gram.topCorrelation", strongest.2) }
            if !a.has("diff") && top > 0 {
                shell.say("most correlated channel pairs (G[a][b] / √(G[a][a]·G[b][b])):")
                for (i, j, r) in pairs.prefix(top) { shell.say(String(format: "  %3d – %3d   %.4f", i, j, r)) }
            }
            if let before {
                // One colour scale for both, so the drop from before to after is what the eye sees.
                let shared = Double(max(before.data.map(abs).max() ?? 0, g.data.map(abs).max() ?? 0))
                let pair = Pictures.sideBySide([
                    ("style − initial image", Pictures.heatmap(before, signed: true, scale: scale, sharedMax: shared)),
                    ("style − result, iteration \(s.iteration)", Pictures.heatmap(g, signed: true, scale: scale, sharedMax: shared)),
                ])
                try shell.showPicture(pair, name: "gram-\(layer)-diff", caption: caption + ", before and after (one scale)")
            } else {
                try shell.showPicture(Pictures.heatmap(g, signed: a.has("diff"), scale: scale, title: caption + " (\(scale) scale)"),
                                      name: "gram-\(layer)", caption: caption)
            }
        },
    ]

    // MARK: - loss

    static func parseTerm(_ text: String?) throws -> LossTerm {
        switch text ?? "total" {
        case "total": return .total
        case "content": return .content
        case "style": return .style(nil)
        case "tv": return .totalVariation
        case let t where t.hasPrefix("style:"): return .style(String(t.dropFirst(6)))
        default: throw UsageError("--term is total, content, style, style:LAYER or tv")
        }
    }

    static let loss: [Command] = [
        Command(name: "loss", topic: "loss", summary: "every loss term at the current image, raw and weighted",
                usage: "loss", example: "loss") { shell, _ in
            let s = try shell.session()
            let b = try s.evaluate(gradientOf: nil).breakdown
            shell.say("term                     raw          weight       weighted")
            for t in b.terms {
                let label = t.kind == .totalVariation ? "total variation" : pad(t.kind.rawValue, 7) + " " + (t.layer ?? "")
                shell.say(String(format: "%@ %12.5g  %11.4g  %12.5g", pad(label, 24) as NSString, t.raw, t.weight, t.weighted))
                // Named as `expect term` names them: content, tv, style:LAYER (a content term by its layer).
                let name = t.kind == .style ? "style:\(t.layer ?? "")" : t.kind == .content ? "content:\(t.layer ?? "")" : "tv"
                shell.measured("raw.\(name)", t.raw); shell.measured("weighted.\(name)", t.weighted)
                shell.measured("share.\(name)", t.weighted / b.total)
                // Its part of its own kind: a style layer's part of the style loss.
                shell.measured("part.\(name)", t.weighted / b.weighted(t.kind))
            }
            for kind in TermKind.allCases {
                shell.measured("weighted.\(kind.rawValue)", b.weighted(kind)); shell.measured("share.\(kind.rawValue)", b.weighted(kind) / b.total)
            }
            shell.measured("loss", b.total)
            shell.say(String(format: "total                                              %12.5g", b.total))
        },
        Command(name: "grad", topic: "loss", summary: "the gradient of the loss (or one term) with respect to the image",
                usage: "grad [--term total|content|style|style:LAYER|tv]", example: "grad --term style:block1_conv1",
                options: ["term"]) { shell, a in
            let s = try shell.session()
            let term = try parseTerm(a.value("term"))
            if case .style(let layer?) = term, !s.configuration.loss.styleLayers.contains(where: { $0.name == layer }) {
                let names = s.configuration.loss.styleLayers.map(\.name).joined(separator: ", ")
                throw UsageError("\(layer) is not one of the loss's style layers (\(names))")
            }
            let g = try s.evaluate(gradientOf: term).gradient!
            let norm = g.data.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let maxAbs = Double(g.data.map { abs($0) }.max() ?? 0)
            shell.say(String(format: "gradient of %@: ‖g‖₂ = %.5g, max |g| = %.5g", (a.value("term") ?? "total") as NSString, norm, maxAbs))
            shell.measured("grad.norm", norm); shell.measured("grad.max", maxAbs)
            try shell.showPicture(Pictures.gradientMagnitude(g), name: "grad", caption: "|gradient| per pixel")
        },
        Command(name: "gradcheck", topic: "loss", summary: "check the gradient against finite differences (float64, slow: use small sizes)",
                usage: "gradcheck [--pixels C,Y,X;C,Y,X…] [--step H]", example: "gradcheck --pixels 0,10,10;2,5,30",
                options: ["pixels", "step"]) { shell, a in
            let s = try shell.session()
            guard let size = s.workingSize else { throw SessionError.needsContent }
            guard size.width * size.height <= 160 * 160 else {
                throw SessionError.invalid("gradcheck runs VGG19 in float64 plain loops; use a small image first (set --size 48)")
            }
            var pixels: [(c: Int, y: Int, x: Int)] = [(0, size.height / 2, size.width / 2), (1, size.height / 3, size.width / 4), (2, 1, 1)]
            if let text = a.value("pixels") {
                pixels = try text.split(separator: ";").map { item in
                    let n = item.split(separator: ",").compactMap { Int($0) }
                    guard n.count == 3 else { throw UsageError("--pixels is C,Y,X;C,Y,X…") }
                    return (n[0], n[1], n[2])
                }
            }
            let h = try a.double("step") ?? 1e-3
            shell.say("pixel (c, y, x)     analytic (float32)   numeric (float64, h=\(h))   relative error")
            let results = try s.gradientCheck(pixels: pixels, step: h, shouldStop: { shell.interruption.isSet })
            for r in results {
                shell.say(String(format: "(%d, %3d, %3d)     %18.8g   %18.8g           %.2e", r.channel, r.y, r.x, r.analytic, r.numeric, r.relativeError))
            }
            let worst = results.map(\.relativeError).max() ?? 0
            shell.measured("gradcheck.worst", worst)
            // float32 backward vs float64 differences: ~1e-7 is float32 rounding; much above 1e-3 would be a wrong gradient.
            shell.say(String(format: "worst relative error %.1e: %@", worst, worst < 1e-3 ? "the gradient is right (float32 against float64)" : "suspicious: a relative error this large means a wrong gradient or a step h too large or small"))
        },
    ]

    // MARK: - optimise

    static func printRecord(_ shell: Shell, _ r: IterationRecord) {
        shell.say(String(format: "iteration %4d  loss %@  (content %.4g, style %.4g, tv %.4g)  step %.4g  ‖g‖ %.4g  %.2f s",
                         r.iteration + 1, formatLoss(r.total) as NSString, r.breakdown.contentTotal, r.breakdown.styleTotal,
                         r.breakdown.weighted(.totalVariation), r.stepSize, r.gradientNorm, r.seconds))
    }

    static func runName(_ a: Arguments) throws -> String? {
        let name = a.value("name")
        if let name, name.isEmpty || name.contains("/") || name.contains(" ") { throw UsageError("--name is one word, without /") }
        return name
    }

    /// What a step or run measured: seconds per iteration, loss evaluations.
    static func measureSteps(_ shell: Shell, _ records: [IterationRecord]) {
        guard !records.isEmpty else { return }
        shell.measured("step.seconds", records.map(\.seconds).reduce(0, +) / Double(records.count))
        shell.measured("step.evaluations", Double(records.map(\.evaluations).reduce(0, +)) / Double(records.count))
        shell.measured("loss", records.last!.total)
    }

    /// The Keras example's SGD (lr 100) with its style normalisation (÷ the image area squared)
    /// explodes below the example's own 400 rows: say so once per session, with the fix.
    static func warnIfKnownToDiverge(_ shell: Shell, _ s: TransferSession) {
        guard !shell.warnedAboutDivergence, let sgd = s.optimizer as? SGD, sgd.initialLearningRate >= 10,
              s.configuration.loss.normalization == .keras, s.configuration.rows < 400 else { return }
        shell.warnedAboutDivergence = true
        shell.say("note: the Keras example's constants (SGD lr \(String(format: "%g", sgd.initialLearningRate)), style ÷ (rows·cols)²) diverge "
                  + "below 400 rows; at \(s.configuration.rows) rows use set --preset any-size, set --size 400, or a smaller --lr")
    }

    static let optimise: [Command] = [
        Command(name: "optimizer", aliases: ["optimiser"], topic: "optimise", summary: "choose the optimiser and its settings, or show them",
                usage: "optimizer [sgd|adam|lbfgs] [--lr X] [--momentum X] [--history N]", example: "optimizer adam --lr 5",
                options: ["lr", "momentum", "history"], completes: .words(["sgd", "adam", "lbfgs"])) { shell, a in
            let s = try shell.session()
            var words = ["--optimizer"] + a.positional.prefix(1)
            if a.positional.isEmpty { words = [] }
            for key in ["lr", "momentum", "history"] { if let v = a.value(key) { words += ["--\(key)", v] } }
            try TransferOptions.apply(try Arguments.parse(words, options: TransferOptions.valueOptions), to: s)
            shell.say("optimizer \(s.optimizer.name): " + s.optimizer.settings.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        },
        Command(name: "step", topic: "optimise", summary: "take N optimiser iterations (1 by default), printing each",
                usage: "step [N] [--name NAME]", example: "step 5", options: ["name"], transactional: false) { shell, a in
            let n = a.positional.first.map { Int($0) } ?? 1
            guard let n, n >= 1 else { throw UsageError("step takes a positive count") }
            let name = try runName(a)
            let s = try shell.session()
            warnIfKnownToDiverge(shell, s)
            var records: [IterationRecord] = []
            defer { measureSteps(shell, records) }
            for _ in 0..<n {
                if shell.interruption.isSet { shell.say("interrupted; state kept at iteration \(s.iteration)"); break }
                let r = try s.step()
                records.append(r)
                printRecord(shell, r)
            }
            if let name { try s.keepRun(named: name); shell.say("kept as run '\(name)' (runs lists them, compare draws them)") }
        },
        Command(name: "run", topic: "optimise", summary: "iterate until iteration N, reporting every K (Ctrl-C stops cleanly)",
                usage: "run N [--every K] [--save PREFIX] [--name NAME]", example: "run 100 --every 10 --name adam",
                options: ["every", "save", "name"], transactional: false) { shell, a in
            guard let target = a.positional.first.flatMap({ Int($0) }), target > 0 else { throw UsageError("run needs the iteration to reach") }
            let name = try runName(a)
            let s = try shell.session()
            let every = try a.int("every", default: 10, in: 1...1_000_000)
            guard target > s.iteration else { shell.say("already at iteration \(s.iteration)"); return }
            warnIfKnownToDiverge(shell, s)
            var run = TransferRun()
            run.iterations = target - s.iteration
            run.every = every
            run.prefix = a.value("save") ?? "\(shell.outputDirectory)/\(name ?? "run")"
            run.saveFinal = a.value("save") != nil || name != nil   // a kept run's last image is on disk too
            let start = s.iteration
            var records: [IterationRecord] = []
            let outcome = run.run(s, interruption: shell.interruption, report: { _ in }, progress: { done, total, r in
                records.append(r)
                if done % every == 0 || done == total { printRecord(shell, r) }
            })
            measureSteps(shell, records)
            if outcome.interrupted { shell.say("interrupted after iteration \(s.iteration) (started at \(start)); state intact") }
            if let e = outcome.error { throw SessionError.invalid(e) }
            if a.value("save") != nil { shell.say("saved \(outcome.saved.count) image(s) as \(run.prefix)_at_iteration_N.png") }
            if let name {
                try s.keepRun(named: name)
                shell.say("kept as run '\(name)' (runs lists them; compare \(name) OTHER draws them together)")
            }
        },
        Command(name: "runs", topic: "optimise", summary: "the runs kept by run --name: iterations, settings, final loss",
                usage: "runs", example: "runs") { shell, _ in
            let s = try shell.session()
            guard !s.namedRuns.isEmpty else { shell.say("no runs kept yet: run N --name NAME keeps one"); return }
            for r in s.namedRuns {
                shell.say("\(pad(r.name, 12)) \(r.history.count) iterations, loss \(r.history.last.map { formatLoss($0.total) } ?? "—"), \(r.settings)")
            }
        },
        Command(name: "compare", topic: "optimise", summary: "kept runs side by side: their results, and their losses on one plot",
                usage: "compare RUN RUN …", example: "compare adam sgd") { shell, a in
            let s = try shell.session()
            guard a.positional.count >= 2 else { throw UsageError("compare needs at least two run names") }
            let runs = try a.positional.map { name in
                guard let r = s.namedRuns.first(where: { $0.name == name }) else {
                    throw UsageError("no run named \(name) (runs lists them)")
                }
                return r
            }
            for r in runs {
                shell.say("\(pad(r.name, 12)) \(r.history.count) iterations, loss \(r.history.last.map { formatLoss($0.total) } ?? "—")")
            }
            let plot = Pictures.plot(runs.map { (name: $0.name, values: $0.history.map(\.total)) },
                                     title: "total loss: " + runs.map(\.name).joined(separator: " vs "))
            try shell.showPicture(plot, name: "compare-losses", caption: "total loss of each run")
            let row = Pictures.sideBySide(runs.map { ("\($0.name), iteration \($0.history.count)", $0.result) })
            try shell.showPicture(row, name: "compare-results", caption: runs.map(\.name).joined(separator: " | "))
        },
        Command(name: "profile", topic: "optimise", summary: "where one iteration's time goes: each layer's forward and backward, losses, update",
                usage: "profile [--conv auto|direct|winograd]", example: "profile --conv direct",
                options: ["conv"], completes: .none) { shell, a in
            let s = try shell.session()
            let saved = s.compute
            defer { s.compute = saved }   // --conv applies to this measurement only
            if let conv = try a.choice("conv", ConvAlgorithm.self) { s.compute.conv = conv }
            let (entries, total) = try s.profile()
            shell.say("one iteration at \(s.workingSize.map { "\($0.width)×\($0.height)" } ?? "?"), \(s.compute.backend) backend, "
                      + "\(s.compute.threads) threads, convolutions \(s.compute.conv) (the image is not changed)")
            shell.say(ProfileReport.format(entries, totalSeconds: total))
            shell.measured("profile.seconds", total)
            // Shares of the iteration: convolutions forward, convolutions backward, the loss terms, each block.
            let sum = { (match: (Profiler.Entry) -> Bool) in entries.filter(match).map(\.seconds).reduce(0, +) / max(total, 1e-12) }
            shell.measured("profile.share.forward", sum { $0.phase.hasPrefix("conv") })
            shell.measured("profile.share.backward", sum { $0.phase.contains("backward") && $0.phase.contains("conv") })
            shell.measured("profile.share.loss", sum { $0.phase.contains("loss") || $0.phase.contains("variation") })
            for b in 1...5 { shell.measured("profile.share.block\(b)", sum { $0.layer.hasPrefix("block\(b)_") }) }
        },
        Command(name: "upscale", topic: "optimise", summary: "go on at a larger size: the image and optimiser state enlarged, not restarted",
                usage: "upscale ROWS", example: "upscale 256") { shell, a in
            guard a.positional.count == 1, let rows = Int(a.positional[0]) else { throw UsageError("upscale needs ROWS, a whole number") }
            let s = try shell.session()
            guard let old = s.workingSize, s.combination != nil else { throw SessionError.needsContent }
            guard rows > s.configuration.rows else {
                throw UsageError("upscale goes to a larger size than the current \(s.configuration.rows) rows (set --size starts again at any size)")
            }
            try s.upscale(to: rows)
            let new = s.workingSize!
            shell.say("enlarged \(old.width)×\(old.height) → \(new.width)×\(new.height) at iteration \(s.iteration); \(s.optimizer.name) state carried over")
        },
        Command(name: "rewind", topic: "optimise", summary: "go back to iteration N (image and optimiser state)",
                usage: "rewind N", example: "rewind 0") { shell, a in
            guard let n = a.positional.first.flatMap({ Int($0) }) else { throw UsageError("rewind needs an iteration") }
            let s = try shell.session()
            try s.rewind(to: n)
            shell.say("back at iteration \(n)")
        },
        Command(name: "history", topic: "optimise", summary: "the iterations so far: a table, a plot, a PNG plot of every term",
                usage: "history [--last N] [--png FILE]", example: "history --png out/losses.png", options: ["last", "png"]) { shell, a in
            let s = try shell.session()
            guard !s.history.isEmpty else { shell.say("no iterations yet (step, run)"); return }
            let last = try a.int("last", default: 20, in: 1...1_000_000)
            // The PNG first: if it cannot be written, the command prints one error line, not a table and then an error.
            var savedPlot: String? = nil
            if let path = a.value("png") {
                var series: [(String, [Double])] = [("total", s.history.map(\.total)), ("content", s.history.map(\.breakdown.contentTotal)),
                                                    ("tv", s.history.map { $0.breakdown.weighted(.totalVariation) })]
                for layer in s.configuration.loss.styleLayers {
                    series.append((layer.name, s.history.map { $0.breakdown.term(.style, layer: layer.name)?.weighted ?? .nan }))
                }
                // Where a setting changed or the run was rewound: a dashed line, so a learner sees why the curve bends.
                let markers = s.events.filter { $0.iteration > 0 }.map { (x: $0.iteration + 1, label: $0.label) }
                let plot = Pictures.plot(series, title: "loss terms, weighted — \(s.history.count) iterations", markers: markers)
                try plot.savePNG(path)
                savedPlot = path
                shell.drawInTerminal(plot)
            }
            if s.history.count > last { shell.say("the last \(last) of \(s.history.count) iterations (--last N for more)") }
            shell.say("iter  optimizer  total          content      style        tv           step        evals  seconds")
            for r in s.history.suffix(last) {
                shell.say(String(format: "%4d  %@  %@  %-11.5g  %-11.5g  %-11.5g  %-10.4g  %5d  %.2f", r.iteration + 1, pad(r.optimizer, 9) as NSString,
                                 pad(abs(r.total) < 1e12 ? formatLoss(r.total) : String(format: "%.4e", r.total), 13) as NSString,
                                 r.breakdown.contentTotal, r.breakdown.styleTotal,
                                 r.breakdown.weighted(.totalVariation), r.stepSize, r.evaluations, r.seconds))
            }
            shell.measured("history.evaluations", Double(s.history.map(\.evaluations).reduce(0, +)))
            shell.say("total (log): " + TerminalPicture.sparkline(s.history.map(\.total), width: min(shell.columns - 14, 60)))
            shell.say("snapshots kept for rewind: \(s.snapshots.iterations.count) (\(formatBytes(s.snapshots.totalBytes)) of \(formatBytes(s.snapshots.budgetBytes)))")
            if let path = savedPlot {
                shell.say("plotted total, content, tv and each style layer (log scale) to \(path)")
            }
        },
        Command(name: "new", topic: "session", summary: "start a new session: default settings, no images, no history (lessons begin with it)",
                usage: "new", example: "new", transactional: false) { shell, a in
            guard a.positional.isEmpty else { throw UsageError("new takes no arguments") }
            let dropped = try shell.startNewSession()
            shell.say("a new session, no images: " + Shell.startingDescription
                      + (dropped > 0 ? "; the previous one's \(dropped) iteration(s) are gone (session save keeps a session)" : ""))
        },
        Command(name: "reset", topic: "optimise", summary: "start again from the initial image (clears history)",
                usage: "reset", example: "reset") { shell, _ in
            try shell.session().resetCombination()
            shell.say("combination image reset; iteration 0")
        },
    ]

    // MARK: - settings

    static let settings: [Command] = [
        Command(name: "set", topic: "settings", summary: "change weights, layers, normalisation, pooling, size, backend, threads…",
                usage: "set --OPTION VALUE …  (see help set; --pictures auto|kitty|iterm|sixel|blocks|text|off)", example: "set --style-weight 1e-5 --pooling average",
                options: TransferOptions.valueOptions + ["pictures"], flags: TransferOptions.flagOptions) { shell, a in
            guard !a.values.isEmpty || !a.flags.isEmpty else { throw UsageError("set needs at least one --OPTION (help set lists them)") }
            guard a.positional.isEmpty else {
                throw UsageError("set takes --OPTION VALUE pairs and flags; '\(a.positional[0])' belongs to none (a flag such as --original-colors takes no value)")
            }
            // The shell's own setting; applied only once everything else has been.
            let pictures = try a.choice("pictures", PictureMode.self)
            var rest = a
            rest.values["pictures"] = nil
            guard !rest.values.isEmpty || !rest.flags.isEmpty else {
                shell.pictures = pictures!
                shell.say("ok — pictures: \(pictures!.rawValue)")
                return
            }
            let s = try shell.session()
            let before = s.iteration
            try TransferOptions.apply(rest, to: s)
            if let pictures { shell.pictures = pictures }
            if before > 0 && s.iteration == 0 {
                shell.say("ok — the image size or starting image changed, so the run restarted at iteration 0 (\(before) iterations dropped; session save keeps a run)")
            } else {
                shell.say("ok")
            }
        },
        Command(name: "config", topic: "settings", summary: "show the whole configuration",
                usage: "config", example: "config") { shell, _ in
            let s = try shell.session()
            let c = s.configuration
            let size = s.workingSize.map { "\($0.width)×\($0.height)" } ?? "(no content yet)"
            shell.say("""
            size            \(c.rows) rows → \(size), resize \(c.resize.rawValue), init \(c.initialImage)
            content layers  \(c.loss.contentLayers.joined(separator: ", "))   weight \(c.loss.contentWeight)\(c.loss.averageContentAndTV ? " (mean)" : " (sum)")
            style layers    \(c.loss.styleLayers.map { "\($0.name):\(String(format: "%.3g", $0.weight))" }.joined(separator: ", "))   weight \(c.loss.styleWeight)
            normalisation   \(c.loss.normalization.rawValue)   pooling \(c.loss.pooling.rawValue)   tv weight \(c.loss.totalVariationWeight)
            style loss      \(c.loss.styleLoss.rawValue)   image average \(c.ema > 0 ? "ema \(c.ema)" : "off")
            style scale     \(c.styleScale)   original colours \(c.preserveColors ? "yes" : "no")   style colours \(c.styleColors.rawValue)
            masks           content \(s.contentMask?.path ?? "none"); style \(s.styles.map { $0.maskPath ?? "none" }.joined(separator: ", "))
            optimizer       \(s.optimizer.name): \(s.optimizer.settings.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
            compute         \(s.compute.backend) backend, \(s.compute.threads) threads, convolutions \(s.compute.conv)
            images          content \(s.contentPath ?? "none"); style \(s.styles.map(\.path).joined(separator: ", ").isEmpty ? "none" : s.styles.map(\.path).joined(separator: ", "))
            iteration       \(s.iteration)
            memory          \(s.memoryEstimate()?.summary ?? "(no content yet)"); limit \(MemoryEstimate.format(MemoryEstimate.limit))
            """)
        },
    ]

    // MARK: - session

    static let sessionCommands: [Command] = [
        Command(name: "help", aliases: ["?"], topic: "session", summary: "list commands by topic, or show one command's usage and example",
                usage: "help [COMMAND]", example: "help step", completes: .commands) { shell, a in
            if let name = a.positional.first {
                guard let c = find(name) else { throw UsageError("no command '\(name)'") }
                shell.say("\(c.name) — \(c.summary)\nusage:   \(c.usage)\nexample: \(c.example)" + (c.aliases.isEmpty ? "" : "\naliases: \(c.aliases.joined(separator: ", "))"))
                if c.name == "set" { shell.say(TransferOptions.help); shell.say(Shell.startingDescription) }
                return
            }
            for topic in topics {
                shell.say("\(topic):")
                let width = (all.map(\.name.count).max() ?? 10) + 2
                for c in all where c.topic == topic { shell.say("  " + pad(c.name, width) + c.summary) }
            }
            shell.say("help COMMAND shows its usage and an example; Tab completes commands, options, layers and files.")
        },
        Command(name: "quit", aliases: ["exit"], topic: "session", summary: "leave the shell (Ctrl-D too)",
                usage: "quit", example: "quit") { _, _ in },
    ]
}

/// `s` padded with spaces to `n` characters (String(format:)'s %-N@ does not pad on Linux).
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
