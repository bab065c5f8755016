import Foundation
import Kernels

// The loss: every term on its own, the gradient of any of them, and the gradient checked against
// finite differences.

extension CommandTable {
    static let loss: [Command] = [
        Command(
            name: "loss", topic: .loss,
            summary: "every loss term at the current image, raw and weighted; loss add NAME = EXPR [--weight W] adds your own",
            usage: "loss | loss add NAME = EXPR [--weight W] | loss remove NAME | loss weight NAME W",
            example: "loss add mine = sum((gram(feat(block2_conv1)) - gram(feat(block2_conv1, style)))^2) / (36 * numel(content[0])^2)",
            completes: .words(["add", "remove", "weight"] + expressionWords), rawArguments: true
        ) { shell, a in
            let s = try shell.session()
            switch a.positional.first {
            case nil: break
            case "add": return try shell.addLossTerm(shell.expressionText(after: "loss").trimmingCharacters(in: .whitespaces).dropFirst(3))
            case "remove":
                guard a.positional.count == 2 else { throw UsageError("loss remove NAME") }
                let name = a.positional[1]
                guard s.configuration.loss.customTerms.contains(where: { $0.name == name }) else {
                    throw UsageError("no term of your own named '\(name)'" + shell.ownTermsList(s))
                }
                try s.configure { $0.loss.customTerms.removeAll { $0.name == name } }
                return shell.say("removed the term \(name)")
            case "weight":
                guard a.positional.count == 3, let w = Double(a.positional[2]), w.isFinite, w >= 0 else {
                    throw UsageError("loss weight NAME W, W a number ≥ 0")
                }
                let name = a.positional[1]
                guard let i = s.configuration.loss.customTerms.firstIndex(where: { $0.name == name }) else {
                    throw UsageError("no term of your own named '\(name)'" + shell.ownTermsList(s) + " (set --KIND-weight weighs the built-in ones)")
                }
                try s.configure { $0.loss.customTerms[i].weight = w }
                return shell.say("\(name) now weighs \(NDArray.number(w))")
            default: throw UsageError("loss takes add, remove or weight, or nothing")
            }
            let b = try s.evaluate(gradientOf: nil).breakdown
            shell.say("term                     raw          weight       weighted")
            for t in b.terms {
                let label = t.layer.map { pad(t.kind.rawValue, 7) + " " + $0 } ?? LossTerms.named(t.kind)?.title ?? "\(t.kind.rawValue) (yours)"
                shell.say(String(format: "%@ %12.5g  %11.4g  %12.5g", pad(label, 24) as NSString, t.raw, t.weight, t.weighted))
                // Named as `expect term` and `grad --term` name them: KIND:LAYER, or KIND for a term on the image.
                shell.measured("raw.\(t.name)", t.raw)
                shell.measured("weighted.\(t.name)", t.weighted)
                shell.measured("share.\(t.name)", t.weighted / b.total)
                // Its part of its own kind: a style layer's part of the style loss.
                shell.measured("part.\(t.name)", t.weighted / b.weighted(t.kind))
            }
            for kind in b.kinds {
                shell.measured("weighted.\(kind.rawValue)", b.weighted(kind))
                shell.measured("share.\(kind.rawValue)", b.weighted(kind) / b.total)
            }
            shell.measured("loss", b.total)
            shell.say(String(format: "total                                              %12.5g", b.total))
        },
        Command(
            name: "grad", topic: .loss, summary: "the gradient of the loss (or one term) with respect to the image",
            usage: "grad [--term " + (["total"] + LossTerms.kinds.map(\.rawValue)).joined(separator: "|") + "|KIND:LAYER|YOURS]",
            example: "grad --term style:block1_conv1",
            options: ["term"], maxPositional: 0
        ) { shell, a in
            let s = try shell.session()
            let term = try TermSelection.parse(a.value("term") ?? "total", configuration: s.configuration.loss)
            if case .kind(let kind, let layer?) = term, !s.configuration.loss.terms.contains(where: { $0.kind == kind && $0.layer == layer }) {
                let names = s.configuration.loss.terms.filter { $0.kind == kind }.compactMap(\.layer).joined(separator: ", ")
                throw UsageError("\(layer) is not one of the loss's \(kind) layers (\(names))")
            }
            let g = try s.evaluate(gradientOf: term).gradient!
            let norm = g.data.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let maxAbs = Double(g.data.map { abs($0) }.max() ?? 0)
            shell.say(String(format: "gradient of %@: ‖g‖₂ = %.5g, max |g| = %.5g", (a.value("term") ?? "total") as NSString, norm, maxAbs))
            shell.measured("grad.norm", norm)
            shell.measured("grad.max", maxAbs)
            try shell.showPicture(
                Pictures.gradientFigure(g, title: "|gradient| of \(a.value("term") ?? "total") per pixel, iteration \(s.iteration)"), name: "grad",
                caption: "|gradient| per pixel")
        },
        Command(
            name: "gradcheck", topic: .loss, summary: "check the gradient against finite differences (float64, slow: use small sizes)",
            usage: "gradcheck [--pixels C,Y,X;C,Y,X…] [--step H] [--term TERM]", example: "gradcheck --pixels 0,10,10;2,5,30",
            options: ["pixels", "step", "term"], maxPositional: 0
        ) { shell, a in
            let s = try shell.session()
            guard let size = s.workingSize else { throw SessionError.needsContent }
            guard size.width * size.height <= 160 * 160 else {
                throw SessionError.invalid("gradcheck runs VGG19 in float64 plain loops; use a small image first (set --size 48)")
            }
            var pixels: [(c: Int, y: Int, x: Int)] = [(0, size.height / 2, size.width / 2), (1, size.height / 3, size.width / 4), (2, 1, 1)]
            if let text = a.value("pixels") {
                pixels = try text.split(separator: ";").map { item in
                    guard let n = Arguments.wholeNumbers(item), n.count == 3 else { throw UsageError("--pixels is C,Y,X;C,Y,X…") }
                    return (n[0], n[1], n[2])
                }
            }
            // Checked before the table's header: a refused gradcheck prints one line.
            if let p = pixels.first(where: { !(0..<3).contains($0.c) || !(0..<size.height).contains($0.y) || !(0..<size.width).contains($0.x) }) {
                throw UsageError("pixel (\(p.c), \(p.y), \(p.x)) is outside the (3, \(size.height), \(size.width)) image")
            }
            let h = try a.double("step") ?? 1e-3
            let term = try TermSelection.parse(a.value("term") ?? "total", configuration: s.configuration.loss)
            shell.say("pixel (c, y, x)     analytic (float32)   numeric (float64, h=\(h))   relative error*")
            let results = try s.gradientCheck(pixels: pixels, step: h, term: term, shouldStop: { shell.interruption.isSet })
            for r in results {
                shell.say(
                    String(format: "(%d, %3d, %3d)     %18.8g   %18.8g           %.2e", r.channel, r.y, r.x, r.analytic, r.numeric, r.relativeError))
            }
            let worst = results.map(\.relativeError).max() ?? 0
            shell.measured("gradcheck.worst", worst)
            shell.say(
                String(
                    format: "* |a − n| / max(|a|, |n|, %g × %.3g, the gradient's largest entry): near-zero entries are judged on its scale",
                    GradientCheckResult.floor, results.first?.scale ?? 0))
            // float32 backward vs float64 differences: ~1e-7 is float32 rounding; much above 1e-3 would be a wrong gradient.
            shell.say(
                String(
                    format: "worst relative error %.1e: %@", worst,
                    worst < 1e-3
                        ? "the gradient is right (float32 against float64)"
                        : "suspicious: a relative error this large means a wrong gradient or a step h too large or small"))
        },
    ]
}

extension Shell {
    /// `loss add NAME = EXPR [--weight W]`: a term of the learner's own, kept as text.
    func addLossTerm(_ text: Substring) throws {
        var body = String(text)
        var weight = 1.0
        if let r = body.range(of: "--weight", options: .backwards) {
            let w = body[r.upperBound...].trimmingCharacters(in: .whitespaces)
            guard let v = Double(w), v.isFinite, v >= 0 else { throw UsageError("--weight is a number ≥ 0; got '\(w)'") }
            weight = v
            body = String(body[..<r.lowerBound])
        }
        guard let eq = body.firstIndex(of: "=") else { throw UsageError("loss add NAME = EXPR [--weight W]") }
        let name = body[..<eq].trimmingCharacters(in: .whitespaces)
        try checkNewName(name)
        let s = try session()
        guard !(LossTerms.kinds.map(\.rawValue) + ["total"]).contains(name) else {
            throw UsageError("'\(name)' is a built-in term's name; choose another")
        }
        guard !s.configuration.loss.customTerms.contains(where: { $0.name == name }) else {
            throw UsageError("you already have a term named '\(name)' (loss remove \(name) first, or loss weight \(name) W)")
        }
        // Lets are written out (the term follows the image); a measurement is a number.
        var e = try expanded(parseExpression(String(body[body.index(after: eq)...])))
        e = e.substituting { n in measurements[n].map { Expr.number($0) } }
        for n in e.names where !["content", "style", "result"].contains(n) {
            throw ExpressionError("a loss term reads content, style, result, feat(…) and numbers; '\(n)' is none of these")
        }
        guard CustomTermDefinition.dependsOnImage(e) else {
            throw ExpressionError("this term does not depend on the image (it reads no feat(LAYER) and no result): its gradient would be 0")
        }
        let definition = try CustomTermDefinition(name: name, expression: e.text, weight: weight)
        try s.configure { $0.loss.customTerms.append(definition) }
        // Evaluated once now, so a term that is not one number is refused here, not at the next step.
        let b = try s.evaluate(gradientOf: nil).breakdown
        guard let t = b.term(TermKind(rawValue: name)) else { throw SessionError.invalid("the term \(name) was not evaluated") }
        measured("raw.\(name)", t.raw)
        measured("weighted.\(name)", t.weighted)
        say("added \(name) = \(definition.expression)")
        say(String(format: "raw %.6g × weight %@ = %.6g (of a total %.6g)", t.raw, NDArray.number(weight) as NSString, t.weighted, b.total))
    }

    func ownTermsList(_ s: TransferSession) -> String {
        let names = s.configuration.loss.customTerms.map(\.name)
        return names.isEmpty ? " (you have none: loss add NAME = EXPR)" : " (yours: \(names.joined(separator: ", ")))"
    }
}
