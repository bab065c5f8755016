import Foundation
import Kernels

// Images: load the content and style, see them as VGG19 does, draw, compare and save them.

extension CommandTable {
    static let images: [Command] = [
        Command(
            name: "content", topic: .images, summary: "load the content image (PNG or JPEG)",
            usage: "content FILE", example: "content images/chelsea.png", completes: .files, maxPositional: 1
        ) { shell, a in
            guard a.positional.count == 1 else { throw UsageError("content needs one FILE") }
            let s = try shell.session()
            try s.loadContent(a.positional[0])
            let size = s.workingSize!
            shell.say("content \(a.positional[0]): \(s.content!.width)×\(s.content!.height), working size \(size.width)×\(size.height)")
        },
        Command(
            name: "style", topic: .images, summary: "load the style image, replacing others; --add blends another in",
            usage: "style FILE [--add] [--weight W] [--mask M]", example: "style images/hubble_deep_field.jpg",
            options: ["weight", "mask"], flags: ["add"], completes: .files, maxPositional: 1
        ) { shell, a in
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
            shell.say(
                "style: "
                    + s.styles.map {
                        "\($0.path) (\($0.image.width)×\($0.image.height), weight \($0.weight)\($0.maskPath.map { ", where \($0) is white" } ?? ""))"
                    }.joined(separator: ", "))
        },
        Command(
            name: "show", topic: .images, summary: "draw images side by side, captioned: content, style, result or files; or an expression's value",
            usage: "show content|style|result|FILE … | show EXPR", example: "show content style result",
            completes: .words(TransferSession.imageNames)
        ) { shell, a in
            guard !a.positional.isEmpty else { throw UsageError("show needs what to show") }
            // Not names or files: an expression (show gram(feat(block1_conv1)), show content - style).
            let known = a.positional.allSatisfy { TransferSession.imageNames.contains($0) || FileManager.default.fileExists(atPath: $0) }
            if !known, let e = try? parseExpression(shell.expressionText(after: "show")), e.names != [e.text] {
                return try shell.showValue(shell.expressionText(after: "show"))
            }
            guard a.positional.count <= 6 else { throw UsageError("show draws at most 6 images side by side") }
            let s = try shell.session()
            let images: [(String, RGBImage)] = try a.positional.map { what in
                let caption = what == "result" ? "result, iteration \(s.iteration)" : (what as NSString).lastPathComponent
                return (caption, try s.picture(named: what))
            }
            let name = String(
                a.positional.map { ($0 as NSString).lastPathComponent.replacingOccurrences(of: ".", with: "_") }
                    .joined(separator: "-").prefix(80))  // a file name, whatever the paths
            if images.count == 1 {
                try shell.showPicture(Pictures.enlarged(images[0].1), name: name, caption: a.positional[0])
            } else {
                try shell.showPicture(Pictures.sideBySide(images), name: name, caption: a.positional.joined(separator: " | "))
            }
        },
        Command(
            name: "tensor", topic: .images, summary: "an image as VGG19 sees it: BGR, means subtracted",
            usage: "tensor [content|style|result] [--pixel X,Y]", example: "tensor content --pixel 10,20",
            options: ["pixel"], completes: .words(TransferSession.imageNames), maxPositional: 1
        ) { shell, a in
            let s = try shell.session()
            let which = a.positional.first ?? "content"
            guard TransferSession.imageNames.contains(which) else { throw UsageError("tensor shows content, style or result") }
            let t = try s.tensor(named: which)
            let (_, h, w) = t.chw
            // Check the argument before printing anything: a failing command prints one line.
            var pixel: (x: Int, y: Int)? = nil
            if let p = a.value("pixel") {
                guard let xy = Arguments.wholeNumbers(p), xy.count == 2, (0..<w).contains(xy[0]), (0..<h).contains(xy[1]) else {
                    throw UsageError("--pixel X,Y inside \(w)×\(h)")
                }
                pixel = (xy[0], xy[1])
            }
            shell.say("\(which): shape (3, \(h), \(w)) = (channels, rows, columns); channel order B, G, R (Keras's caffe mode)")
            let plane = h * w
            for (c, name) in ["B", "G", "R"].enumerated() {
                let values = t.data[(c * plane)..<((c + 1) * plane)]
                let mean = values.reduce(0.0) { $0 + Double($1) } / Double(plane)
                shell.say(
                    String(
                        format: "  %@: mean %8.3f  min %8.3f  max %8.3f   (ImageNet mean %.3f subtracted)",
                        name, mean, Double(values.min()!), Double(values.max()!), Double(imageNetMeanBGR[c])))
                shell.measured("tensor.mean.\(name)", mean)
                shell.measured("tensor.min.\(name)", Double(values.min()!))
                shell.measured("tensor.max.\(name)", Double(values.max()!))
            }
            if let (x, y) = pixel {
                let bgr = (0..<3).map { t.data[$0 * plane + y * w + x] }
                let rgb = (0..<3).map { min(255, max(0, bgr[2 - $0] + imageNetMeanBGR[2 - $0])) }
                shell.say(
                    String(
                        format: "  pixel (%d, %d): RGB (%.0f, %.0f, %.0f) → BGR − mean (%.3f, %.3f, %.3f)",
                        x, y, rgb[0], rgb[1], rgb[2], bgr[0], bgr[1], bgr[2]))
            }
        },
        Command(
            name: "save", topic: .images, summary: "save the result image as PNG (deprocessed: means added, RGB, clipped)",
            usage: "save FILE.png", example: "save out/cat.png", completes: .files, maxPositional: 1
        ) { shell, a in
            guard a.positional.count == 1 else { throw UsageError("save needs a FILE") }
            try shell.session().resultImage().savePNG(a.positional[0])
            shell.say("saved \(a.positional[0])")
        },
        Command(
            name: "diff", topic: .images, summary: "the per-pixel difference of two pictures, and its statistics",
            usage: "diff A B   (content, style, result, a run kept with --name, or a PNG/JPEG file)", example: "diff content result",
            completes: .words(TransferSession.imageNames), maxPositional: 2
        ) { shell, a in
            guard a.positional.count == 2 else { throw UsageError("diff needs two pictures") }
            let s = try shell.session()
            let images = try a.positional.map { try s.picture(named: $0) }
            let d = imageDifference(images[0], images[1])
            let resized = images[1].width != images[0].width || images[1].height != images[0].height
            shell.say(
                String(
                    format: "%@ vs %@: RMS %.2f, mean |Δ| %.2f, max |Δ| %.0f (0–255), PSNR %.1f dB%@",
                    a.positional[0], a.positional[1], d.rms, d.meanAbsolute, d.maxAbsolute, d.psnr,
                    resized ? " (the second resized to the first's size)" : ""))
            shell.measured("diff.rms", d.rms)
            shell.measured("diff.mean", d.meanAbsolute)
            shell.measured("diff.max", d.maxAbsolute)
            shell.measured("diff.psnr", d.psnr)
            try shell.showPicture(
                Pictures.sideBySide([(a.positional[0], images[0]), (a.positional[1], images[1]), ("|difference|", d.picture)]),
                name: "diff", caption: "\(a.positional[0]) vs \(a.positional[1])")
        },
    ]
}
