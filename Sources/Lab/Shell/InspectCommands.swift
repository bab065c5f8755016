import Foundation
import Kernels

// Looking closer: what a layer keeps (reconstructions), what a feature sees (receptive fields),
// how two pictures differ, and the values the last commands measured (for guesses and checks).

extension CommandTable {
    static let inspect: [Command] = [
        Command(name: "reconstruct", topic: "network", summary: "Gatys's Figure 1: from noise, rebuild the image from one layer's content or some layers' style",
                usage: "reconstruct content LAYER | style LAYER,LAYER… [--iterations N] [--lr X] [--seed S]",
                example: "reconstruct content block4_conv2", options: ["iterations", "lr", "seed"]) { shell, a in
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
            shell.say(String(format: "%@ reconstruction from %@, %d Adam steps (lr %g) in %.1f s: loss %.4g → %.4g (%.2g of the start)",
                             kind, a.positional[1], r.iterations, lr, Date().timeIntervalSince(clock), r.startLoss, r.finalLoss,
                             r.finalLoss / max(r.startLoss, 1e-300)))
            shell.measured("reconstruct.ratio", r.finalLoss / max(r.startLoss, 1e-300))
            shell.measured("reconstruct.loss", r.finalLoss)
            if kind == "content", let c = s.content, let size = s.workingSize {
                let d = imageDifference(r.image, c.resized(width: size.width, height: size.height, filter: s.configuration.resize))
                shell.say(String(format: "pixels differ from the content image by %.1f RMS (0–255 scale)", d.rms))
                shell.measured("reconstruct.rms", d.rms)
            }
            if r.iterations < iterations { shell.say("interrupted after \(r.iterations) steps; the picture is where it got to") }
            // The picture at the working size (for diff FILE), and enlarged to see.
            let path = "\(shell.outputDirectory)/\(name).png"
            try AtomicFile.createFolder(shell.outputDirectory)
            try r.image.savePNG(path)
            shell.say("the reconstruction at the working size: \(path) (diff content \(path) compares it)")
            try shell.showPicture(Pictures.enlarged(r.image), name: name, caption: "\(kind) of \(a.positional[1]), from noise")
        },
        Command(name: "rf", topic: "network", summary: "the receptive field: the input region one feature of a layer sees",
                usage: "rf LAYER X,Y", example: "rf block3_conv1 10,12", completes: .layers) { shell, a in
            guard a.positional.count == 2 else { throw UsageError("rf needs LAYER and X,Y (feature coordinates at that layer)") }
            let xy = a.positional[1].split(separator: ",").compactMap { Int($0) }
            guard xy.count == 2 else { throw UsageError("X,Y are two whole numbers, e.g. 10,12") }
            let s = try shell.session()
            guard let size = s.workingSize, let content = s.content else { throw SessionError.needsContent }
            let layer = a.positional[0]
            let r = try ReceptiveField.region(layer: layer, x: xy[0], y: xy[1], height: size.height, width: size.width)
            let full = ReceptiveField.size(of: layer) ?? 0
            let (w, h) = (r.x1 - r.x0 + 1, r.y1 - r.y0 + 1)
            shell.say("\(layer) (\(xy[0]), \(xy[1])) sees input x \(r.x0)…\(r.x1), y \(r.y0)…\(r.y1): \(w)×\(h) pixels"
                      + (w < full || h < full ? " (its full field is \(full)×\(full); the image's edge cuts it)" : ""))
            shell.measured("rf.width", Double(w)); shell.measured("rf.height", Double(h)); shell.measured("rf.size", Double(full))
            let image = content.resized(width: size.width, height: size.height, filter: s.configuration.resize)
            let scale = max(1.0, 384.0 / Double(max(size.width, size.height)))
            let canvas = Canvas(width: Int(Double(size.width) * scale), height: Int(Double(size.height) * scale))
            canvas.draw(image, x: 0, y: 0, scale: scale)
            canvas.stroke(Double(r.x0) * scale, Double(r.y0) * scale, Double(w) * scale, Double(h) * scale, (255, 40, 40), width: 2)
            try shell.showPicture(canvas.image, name: "rf-\(layer)", caption: "what \(layer) (\(xy[0]), \(xy[1])) sees")
        },
        Command(name: "diff", topic: "images", summary: "the per-pixel difference of two pictures, and its statistics",
                usage: "diff A B   (content, style, result, a run kept with --name, or a PNG/JPEG file)", example: "diff content result",
                completes: .words(["content", "style", "result"])) { shell, a in
            guard a.positional.count == 2 else { throw UsageError("diff needs two pictures") }
            let s = try shell.session()
            let images = try a.positional.map { try picture($0, s) }
            let d = imageDifference(images[0], images[1])
            let resized = images[1].width != images[0].width || images[1].height != images[0].height
            shell.say(String(format: "%@ vs %@: RMS %.2f, mean |Δ| %.2f, max |Δ| %.0f (0–255), PSNR %.1f dB%@",
                             a.positional[0], a.positional[1], d.rms, d.meanAbsolute, d.maxAbsolute, d.psnr,
                             resized ? " (the second resized to the first's size)" : ""))
            shell.measured("diff.rms", d.rms); shell.measured("diff.mean", d.meanAbsolute)
            shell.measured("diff.max", d.maxAbsolute); shell.measured("diff.psnr", d.psnr)
            try shell.showPicture(Pictures.sideBySide([(a.positional[0], images[0]), (a.positional[1], images[1]), ("|difference|", d.picture)]),
                                  name: "diff", caption: "\(a.positional[0]) vs \(a.positional[1])")
        },
        Command(name: "values", topic: "lessons", summary: "the values the last commands measured, for guess, reveal and expect value",
                usage: "values", example: "values") { shell, _ in
            guard !shell.measurements.isEmpty else { shell.say("nothing measured yet (loss, layers, diff, reconstruct, rf, step … measure)"); return }
            for (name, v) in shell.measurements.sorted(by: { $0.key < $1.key }) {
                shell.say(String(format: "%@ %.6g", pad(name, 28) as NSString, v))
            }
        },
        Command(name: "keep", topic: "lessons", summary: "keep a measured value under a name of your own, to compare with a later one",
                usage: "keep NAME as NEW", example: "keep profile.seconds as direct.seconds") { shell, a in
            guard a.positional.count == 3, a.positional[1] == "as", !a.positional[2].contains("/") else {
                throw UsageError("keep NAME as NEW (NEW without /; expect value A/B compares two values)")
            }
            let v = try shell.measuredValue(a.positional[0])
            shell.measured(a.positional[2], v)
            shell.say(String(format: "kept %@ = %.6g as %@", a.positional[0], v, a.positional[2]))
        },
        Command(name: "guess", topic: "lessons", summary: "write down a prediction before running a cell; reveal shows it beside the measurement",
                usage: "guess NAME X", example: "guess reconstruct.rms 20") { shell, a in
            guard a.positional.count == 2, let v = Double(a.positional[1]) else { throw UsageError("guess NAME X, e.g. guess diff.rms 20") }
            shell.guesses[a.positional[0]] = v
            shell.say("noted: you guess \(a.positional[0]) = \(a.positional[1])")
        },
        Command(name: "reveal", topic: "lessons", summary: "a measured value beside your guess",
                usage: "reveal NAME or A/B", example: "reveal reconstruct.rms") { shell, a in
            guard a.positional.count == 1 else { throw UsageError("reveal NAME") }
            let name = a.positional[0]
            let v = try shell.measuredValue(name)
            if let g = shell.guesses.removeValue(forKey: name) {
                let factor = max(abs(v), abs(g)) / max(min(abs(v), abs(g)), 1e-300)
                shell.say(String(format: "%@: measured %.4g, you guessed %.4g — %@", name, v, g,
                                 factor < 1.25 ? "well predicted" : String(format: "off by a factor of %.2g", factor)))
            } else {
                shell.say(String(format: "%@: measured %.4g (guess NAME X before the cell to test your intuition)", name, v))
            }
        },
    ]

    /// A picture by name: the content or style as the network sees them, the result, or a file.
    static func picture(_ what: String, _ s: TransferSession) throws -> RGBImage {
        switch what {
        case "content":
            guard let c = s.content, let size = s.workingSize else { throw SessionError.needsContent }
            return c.resized(width: size.width, height: size.height, filter: s.configuration.resize)
        case "style": return try deprocess(try s.styleTensors()[0])
        case "result": return try s.resultImage()
        default:
            if let run = s.namedRuns.first(where: { $0.name == what }) { return run.result }
            return try RGBImage.load(what)
        }
    }
}
