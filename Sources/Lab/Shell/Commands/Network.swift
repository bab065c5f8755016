import Foundation
import Kernels

// The network: its layers, what a layer's features and Gram matrices look like, what a layer keeps
// (Gatys's Figure 1 reconstructions) and what a feature sees (receptive fields).

extension CommandTable {
    static let network: [Command] = [
        Command(
            name: "layers", topic: .network, summary: "VGG19's layers at the working size: shapes, parameters, FLOPs",
            usage: "layers", example: "layers", maxPositional: 0
        ) { shell, _ in
            let s = try shell.session()
            guard let size = s.workingSize else { throw SessionError.needsContent }
            shell.say("layer           output (C, H, W)        params      GFLOP   receptive field")
            var totalParams = 0, totalFlops = 0.0
            var blockFlops = [Double](repeating: 0, count: 6)
            for l in VGG19Architecture.shapes(height: size.height, width: size.width) {
                let name = l.layer.name, rf = l.receptiveField, flops = l.flops / 1e9
                shell.measured("rf.\(name)", Double(rf))
                totalParams += l.parameters
                totalFlops += flops
                if let b = Int(String(name.dropFirst(5).prefix(1))) { blockFlops[b] += flops }
                shell.say(
                    String(
                        format: "%@ (%4d, %4d, %4d)   %9d   %8.3f   %3d×%d", pad(name, 15) as NSString,
                        l.output.c, l.output.h, l.output.w, l.parameters, flops, rf, rf))
            }
            shell.say(String(format: "total: %d parameters, %.2f GFLOP forward (conv layers)", totalParams, totalFlops))
            let shares = (1...5).map { 100 * blockFlops[$0] / totalFlops }
            for (i, share) in shares.enumerated() { shell.measured("flops.block\(i + 1)", share) }
            shell.say(
                "share of the FLOPs by block: "
                    + shares.enumerated().map { String(format: "block%d %.1f%%", $0.offset + 1, $0.element) }.joined(separator: ", "))
        },
        Command(
            name: "features", topic: .network, summary: "a layer's feature maps: statistics and a grid of channels",
            usage: "features LAYER [--image content|style|result] [--channels 0,5,9] [--pre]",
            example: "features block1_conv1 --channels 0,1,2,3", options: ["image", "channels"], flags: ["pre"], completes: .layers, maxPositional: 1
        ) { shell, a in
            guard a.positional.count == 1 else { throw UsageError("features needs a LAYER") }
            let s = try shell.session()
            let layer = a.positional[0] + (a.has("pre") ? ":pre" : "")
            let x = try s.tensor(named: a.value("image") ?? "content")
            let acts = try s.vgg.forward(x, upTo: [layer], pooling: s.configuration.loss.pooling, keepPreActivations: a.has("pre"), s.compute)
            guard let t = acts[layer] else { throw LabError.unknownLayer(layer) }
            let (c, h, w) = t.chw
            let st = FeatureStatistics(t)
            shell.say(
                String(
                    format: "%@: (%d, %d, %d)  mean %.4g  std %.4g  min %.4g  max %.4g  zeros %.1f%%",
                    layer as NSString, c, h, w, st.mean, st.std, st.min, st.max, 100 * st.zeros))
            shell.measured("features.mean", st.mean)
            shell.measured("features.std", st.std)
            shell.measured("features.max", st.max)
            shell.measured("features.zeros", st.zeros)
            shell.measured("features.channels", Double(c))
            shell.measured("features.positions", Double(h * w))
            // Per channel: each one's mean, and which channel responds most on average.
            for (k, m) in st.channelMeans.enumerated() { shell.measured("features.channel\(k).mean", m) }
            shell.measured("features.topChannel", Double(st.topChannel))
            shell.say(String(format: "the channel with the largest mean: %d (%.4g)", st.topChannel, st.channelMeans[st.topChannel]))
            var channels = Array(0..<min(c, 16))
            if let list = a.value("channels") {
                channels = Arguments.wholeNumbers(list) ?? []
                guard !channels.isEmpty, channels.allSatisfy({ (0..<c).contains($0) }) else {
                    throw UsageError("--channels: numbers in 0…\(c - 1), comma-separated")
                }
            }
            let grid = Pictures.featureGrid(
                t, channels: channels, title: "\(layer) of the \(a.value("image") ?? "content") image, (\(c), \(h), \(w))")
            try shell.showPicture(
                grid, name: layer.replacingOccurrences(of: ":", with: "-"),
                caption: "\(layer) channels \(channels.map(String.init).joined(separator: ","))")
        },
        Command(
            name: "gram", topic: .network, summary: "a layer's Gram matrix: heatmap, most correlated channels, style − result",
            usage: "gram LAYER [--image content|style|result] [--top K] [--diff] [--scale linear|log|correlation]",
            example: "gram block2_conv1 --top 5 --scale log",
            options: ["image", "top", "scale"], flags: ["diff"], completes: .layers, maxPositional: 1
        ) { shell, a in
            let scale = try a.choice("scale", Pictures.GramScale.self) ?? .linear
            guard a.positional.count == 1 else { throw UsageError("gram needs a LAYER") }
            let s = try shell.session()
            let layer = a.positional[0]
            guard VGG19.isKnownLayer(layer), !layer.hasSuffix(":pre") else { throw LabError.unknownLayer(layer) }
            func gramOf(_ which: String) throws -> Tensor {
                let acts = try s.vgg.forward(try s.tensor(named: which), upTo: [layer], pooling: s.configuration.loss.pooling, s.compute)
                return try gramMatrix(acts.outputs[layer]!, s.compute)
            }
            var g = try gramOf(a.value("image") ?? "style")
            var caption = "gram \(layer) of \(a.value("image") ?? "style")"
            var before: Tensor? = nil  // style − initial, drawn beside style − result on one scale
            if a.has("diff") {
                let target = try gramOf("style"), now = try gramOf("result")
                g = try target.adding(now.scaled(by: -1))
                caption = "gram \(layer): style − result"
                let norm = frobeniusNorm
                let gap = norm(g)
                if let first = try? gramOf("initial"), s.iteration > 0 {
                    before = try target.adding(first.scaled(by: -1))
                    let start = norm(before!)
                    shell.say(
                        String(
                            format: "‖G_style − G_result‖ = %.4g; at the initial image %.4g (%+.1f%%)",
                            gap, start, start > 0 ? 100 * (gap - start) / start : 0))
                    shell.measured("gram.initialDistance", start)
                } else {
                    shell.say(String(format: "‖G_style − G_result‖ = %.4g", gap))
                }
                shell.measured("gram.distance", gap)
            }
            let c = g.shape[0]
            let top = try a.int("top", default: 5, in: 0...100)
            let pairs = gramCorrelations(g)
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
                    (
                        "style − initial image",
                        Pictures.heatmap(before, signed: true, scale: scale, sharedMax: shared, title: "gram \(layer): style − initial")
                    ),
                    (
                        "style − result, iteration \(s.iteration)",
                        Pictures.heatmap(g, signed: true, scale: scale, sharedMax: shared, title: "gram \(layer): style − result")
                    ),
                ])
                try shell.showPicture(pair, name: "gram-\(layer)-diff", caption: caption + ", before and after (one scale)")
            } else {
                try shell.showPicture(
                    Pictures.heatmap(g, signed: a.has("diff"), scale: scale, title: caption + " (\(scale) scale)"),
                    name: "gram-\(layer)", caption: caption)
            }
        },
        Command(
            name: "reconstruct", topic: .network,
            summary: "Gatys's Figure 1: from noise, rebuild the image from one layer's content or some layers' style",
            usage: "reconstruct content LAYER | style LAYER,LAYER… [--iterations N] [--lr X] [--seed S]",
            example: "reconstruct content block4_conv2", options: ["iterations", "lr", "seed"], maxPositional: 2, streams: true
        ) { shell, a in
            guard a.positional.count == 2, ["content", "style"].contains(a.positional[0]) else {
                throw UsageError("reconstruct content LAYER or reconstruct style LAYER,LAYER…")
            }
            let s = try shell.session()
            let layers = a.positional[1].split(separator: ",").map(String.init)
            for l in layers where !VGG19.isKnownLayer(l) || l.hasSuffix(":pre") { throw LabError.unknownLayer(l) }
            let target: ReconstructionTarget
            if a.positional[0] == "content" {
                guard layers.count == 1 else { throw UsageError("reconstruct content takes one LAYER") }
                target = .content(layers[0])
            } else {
                target = .style(layers)
            }
            let iterations = try a.int("iterations", default: 100, in: 1...100_000)
            let lr = try a.double("lr") ?? 10
            guard lr > 0 else { throw UsageError("--lr must be positive") }
            let seed = UInt64(try a.int("seed", default: 0, in: 0...Int(Int32.max)))
            let clock = Date()
            let r = try s.reconstruct(target, iterations: iterations, learningRate: lr, seed: seed, shouldStop: { shell.interruption.isSet })
            let kind = a.positional[0]
            let name = "reconstruct-\(kind)-\(layers.joined(separator: "+"))"
            shell.say(
                String(
                    format: "%@ reconstruction from %@, %d Adam steps (lr %g) in %.1f s: loss %.4g → %.4g (%.2g of the start)",
                    kind, a.positional[1], r.iterations, lr, Date().timeIntervalSince(clock), r.startLoss, r.finalLoss,
                    r.finalLoss / max(r.startLoss, 1e-300)))
            shell.measured("reconstruct.ratio", r.finalLoss / max(r.startLoss, 1e-300))
            shell.measured("reconstruct.loss", r.finalLoss)
            if kind == "content", let c = s.content, let size = s.workingSize {
                let photo = c.resized(width: size.width, height: size.height, filter: s.configuration.resize)
                let d = imageDifference(r.image, photo)
                // Seen from a distance: both averaged over 4×4 blocks, which removes a fine speckle
                // but keeps the shapes and colours (is the cat there under the noise?).
                let (w, h) = (max(1, size.width / 4), max(1, size.height / 4))
                let far = imageDifference(r.image.resized(width: w, height: h, filter: .area), photo.resized(width: w, height: h, filter: .area))
                shell.say(
                    String(
                        format: "pixels differ from the content image by %.1f RMS (0–255 scale); averaged over 4×4 blocks, by %.1f",
                        d.rms, far.rms))
                shell.measured("reconstruct.rms", d.rms)
                shell.measured("reconstruct.rms4", far.rms)
            }
            if r.iterations < iterations { shell.say("interrupted after \(r.iterations) steps; the picture is where it got to") }
            // The picture at the working size (for diff FILE), and enlarged to see.
            let path = "\(shell.outputDirectory)/\(name).png"
            try AtomicFile.createFolder(shell.outputDirectory)
            try r.image.savePNG(path)
            shell.say("the reconstruction at the working size: \(path) (diff content \(path) compares it)")
            try shell.showPicture(Pictures.enlarged(r.image), name: name, caption: "\(kind) of \(a.positional[1]), from noise")
        },
        Command(
            name: "rf", topic: .network, summary: "the receptive field: the input region one feature of a layer sees",
            usage: "rf LAYER X,Y", example: "rf block3_conv1 10,12", completes: .layers, maxPositional: 2
        ) { shell, a in
            guard a.positional.count == 2 else { throw UsageError("rf needs LAYER and X,Y (feature coordinates at that layer)") }
            guard let xy = Arguments.wholeNumbers(a.positional[1]), xy.count == 2 else { throw UsageError("X,Y are two whole numbers, e.g. 10,12") }
            let s = try shell.session()
            guard let size = s.workingSize, let content = s.content else { throw SessionError.needsContent }
            let layer = a.positional[0]
            let r = try ReceptiveField.region(layer: layer, x: xy[0], y: xy[1], height: size.height, width: size.width)
            let full = ReceptiveField.size(of: layer) ?? 0
            let (w, h) = (r.x1 - r.x0 + 1, r.y1 - r.y0 + 1)
            shell.say(
                "\(layer) (\(xy[0]), \(xy[1])) sees input x \(r.x0)…\(r.x1), y \(r.y0)…\(r.y1): \(w)×\(h) pixels"
                    + (w < full || h < full ? " (its full field is \(full)×\(full); the image's edge cuts it)" : ""))
            shell.measured("rf.width", Double(w))
            shell.measured("rf.height", Double(h))
            shell.measured("rf.size", Double(full))
            let image = content.resized(width: size.width, height: size.height, filter: s.configuration.resize)
            let scale = max(1.0, 384.0 / Double(max(size.width, size.height)))
            let canvas = Canvas(width: Int(Double(size.width) * scale), height: Int(Double(size.height) * scale))
            canvas.draw(image, x: 0, y: 0, scale: scale)
            canvas.stroke(Double(r.x0) * scale, Double(r.y0) * scale, Double(w) * scale, Double(h) * scale, (255, 40, 40), width: 2)
            try shell.showPicture(canvas.image, name: "rf-\(layer)", caption: "what \(layer) (\(xy[0]), \(xy[1])) sees")
        },
    ]
}
