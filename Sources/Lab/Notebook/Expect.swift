import Foundation
import Kernels

// `expect`: the checks lesson cells (and learners) write — a loss, a term, a measured value, an
// iteration, a shape, an output, a decreasing loss, a command that must be refused. A failed
// expectation is an error, so a lesson fails; an expectation never changes the session.

struct ExpectationFailed: Error, CustomStringConvertible {
    let message: String
    var description: String { "expectation failed: \(message)" }
}

extension Shell {
    /// Runs `body`, then puts the session back exactly as it was (the same session object, its
    /// state, the once-per-session warning), whatever `body` did or threw.
    func keepingSession<T>(_ body: () throws -> T) throws -> T {
        let kept = try session()
        let state = kept.state, warned = warnedAboutDivergence
        defer {
            loadedSession = kept
            kept.state = state
            warnedAboutDivergence = warned
        }
        return try body()
    }

    /// `expect WORDS…` (the words after `expect`, as typed).
    func expect(_ words: [String]) throws {
        let p = words
        guard let kind = p.first else { throw UsageError("expect what?") }
        func compare(_ value: Double, _ op: String, _ text: String) throws {
            guard let target = Double(text) else { throw UsageError("'\(text)' is not a number") }
            let ok: Bool
            switch op {
            case "<": ok = value < target
            case "<=": ok = value <= target
            case ">": ok = value > target
            case ">=": ok = value >= target
            case "==": ok = value == target
            case "≈", "~":  // within 1e-3 relative, or the tolerance after ±
                var tol = 1e-3
                if p.count >= 2, p[p.count - 2] == "±" {
                    guard let t = Double(p[p.count - 1]), t.isFinite, t >= 0 else {
                        throw UsageError("± needs a relative tolerance, a number ≥ 0; got '\(p[p.count - 1])'")
                    }
                    tol = t
                }
                ok = abs(value - target) <= tol * max(abs(target), 1e-30)
            default: throw UsageError("comparison is one of < <= > >= == ≈")
            }
            guard ok else { throw ExpectationFailed(message: "\(p.joined(separator: " ")) (the value is \(String(format: "%.8g", value)))") }
            say("ok: \(p.joined(separator: " ")) (\(String(format: "%.6g", value)))")
        }
        let s = { try self.session() }
        // OP X, and for ≈ an optional "± R": nothing else may follow (a malformed check is an error, never a pass).
        func arity(_ n: Int, _ usage: String) throws {
            guard p.count == n || (p.count == n + 2 && p[n] == "±") else { throw UsageError("\(usage) [± RELATIVE], nothing more") }
        }
        switch kind {
        case "output":
            // The text as typed after "output", quotes and all: output often quotes a name.
            var text = p.dropFirst().joined(separator: " ")
            if let r = currentLine.range(of: "output") {
                text = currentLine[r.upperBound...].trimmingCharacters(in: .whitespaces)
            }
            // In a lesson cell: what that cell's commands printed; typed: the previous command's output.
            let scope = cellOutput ?? lastWorkOutput
            guard scope.contains(text) else {
                throw ExpectationFailed(message: "the \(cellOutput == nil ? "last command's" : "cell's") output does not contain '\(text)'")
            }
            say("ok: output contains '\(text)'")
        case "loss":
            try arity(3, "expect loss OP X")
            try compare(try s().evaluate(gradientOf: nil).breakdown.total, p[1], p[2])
        case "term":
            try arity(4, "expect term NAME OP X")
            let b = try s().evaluate(gradientOf: nil).breakdown
            // A kind's raw sum ("style"), or one term ("style:block1_conv1", "content:block5_conv2").
            guard case .kind(let kind, let layer) = try TermSelection.parse(p[1], configuration: s().configuration.loss) else {
                throw UsageError("expect term KIND or KIND:LAYER; expect loss for the total")
            }
            let terms = b.terms.filter { $0.kind == kind && (layer == nil || $0.layer == layer) }
            guard !terms.isEmpty else { throw UsageError("the loss has no term \(p[1])") }
            let value = terms.reduce(0) { $0 + $1.raw }
            try compare(value, p[2], p[3])
        case "value":
            guard p.count == 4 || (p.count == 6 && p[4] == "±") else {
                throw UsageError("expect value NAME OP X [± RELATIVE] (values lists the names)")
            }
            try compare(try measuredValue(p[1]), p[2], p[3])
        case "iteration":
            guard p.count == 3 else { throw UsageError("expect iteration OP N") }
            try compare(Double(try s().iteration), p[1], p[2])
        case "shape":
            guard p.count == 3 else { throw UsageError("expect shape LAYER C,H,W") }
            let session = try s()
            let acts = try session.vgg.forward(
                try session.contentTensor(), upTo: [p[1]],
                keepPreActivations: p[1].hasSuffix(":pre"), session.compute)
            guard let t = acts[p[1]] else { throw LabError.layerNotComputed(p[1]) }
            let got = t.shape.map(String.init).joined(separator: ",")
            guard got == p[2] else { throw ExpectationFailed(message: "\(p[1]) has shape \(got), not \(p[2])") }
            say("ok: \(p[1]) is (\(got))")
        case "error":
            // The command must fail — and an expectation never changes the session, pass or fail:
            // whatever the command did is undone (a `rewind` that wrongly succeeded stays undone).
            let command = p.dropFirst().map { $0.contains(" ") ? "\"\($0)\"" : $0 }.joined(separator: " ")
            guard !command.isEmpty else { throw UsageError("expect error COMMAND…") }
            let (outcome, changed) = try keepingSession { () -> (Outcome, Bool) in
                let before = try session().state
                let outcome = execute(command)
                return (outcome, try session().state != before)
            }
            guard case .failed(let why) = outcome else { throw ExpectationFailed(message: "'\(command)' succeeded (its effect undone)") }
            guard !changed else { throw ExpectationFailed(message: "'\(command)' failed but changed the session (undone)") }
            say("ok: '\(command)' was refused (\(why.dropFirst(7).prefix(60))…), nothing changed")
        case "decreasing":
            // Monotone: every iteration's loss at most the one before (a run that zig-zags up and
            // down is not decreasing, whatever its endpoints); --overall asks only that the last be
            // below the first.
            guard p.count == 1 || (p.count == 2 && p[1] == "--overall") else { throw UsageError("expect decreasing [--overall]") }
            let h = try s().history.map(\.total)
            let shown = { h.map { String(format: "%.4g", $0) }.joined(separator: ", ") }
            guard h.count >= 2, let first = h.first, let last = h.last, last < first else {
                throw ExpectationFailed(message: "the loss did not decrease over the recorded iterations (\(shown()))")
            }
            if p.count == 1, let k = h.indices.dropFirst().first(where: { h[$0] > h[$0 - 1] }) {
                throw ExpectationFailed(
                    message: String(format: "the loss rose at iteration %d (%.6g after %.6g): not monotone; ", k + 1, h[k], h[k - 1])
                        + "expect decreasing --overall compares the ends only")
            }
            say(String(format: "ok: the loss went from %.6g to %.6g%@", first, last, p.count == 1 ? " at every iteration" : " (overall)"))
        case "close":
            try expectClose()
        default:
            throw UsageError("expect output|loss|term|value|iteration|shape|decreasing|close|error")
        }
    }
}

extension Shell {
    /// `expect close A B [± R]`: two expressions of one shape whose values agree, ‖A − B‖ ≤ R ‖B‖
    /// (R = 1e-4 unless given): a learner's own Gram matrix against `gram`, a loss by hand against
    /// the built-in.
    func expectClose() throws {
        var text = expressionText(after: "expect").trimmingCharacters(in: .whitespaces).dropFirst("close".count)
        var tolerance = 1e-4
        if let r = text.range(of: "±", options: .backwards) {
            let t = text[r.upperBound...].trimmingCharacters(in: .whitespaces)
            guard let v = Double(t), v.isFinite, v >= 0 else { throw UsageError("± needs a relative tolerance, a number ≥ 0; got '\(t)'") }
            tolerance = v
            text = text[..<r.lowerBound]
        }
        let (a, b) = try parseTwoExpressions(String(text))
        let x = try evaluateExpression(a), y = try evaluateExpression(b)
        let what = "\(a.text) and \(b.text)"
        guard x.shape == y.shape else {
            throw ExpectationFailed(message: "\(what) differ in shape: \(describe(x.shape)) and \(describe(y.shape))")
        }
        let diff = zip(x.data, y.data).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        let norm = y.data.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        let relative = diff / max(norm, 1e-300)
        measured("close.relative", relative)
        guard relative <= tolerance, relative.isFinite else {
            throw ExpectationFailed(message: String(format: "%@ are not close: ‖A − B‖/‖B‖ = %.3g > %.3g", what as NSString, relative, tolerance))
        }
        say(String(format: "ok: %@ agree, %@, ‖A − B‖/‖B‖ = %.2g", what as NSString, describe(x.shape) as NSString, relative))
    }
}
