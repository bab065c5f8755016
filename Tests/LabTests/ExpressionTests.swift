import Foundation
import Kernels
import Testing

@testable import Lab

/// A world of named arrays, each an input the gradient is taken with respect to (exit .features(NAME)).
struct ArraysWorld: ExpressionWorld {
    var arrays: [String: NDArray]
    func value(of name: String, on tape: Tape) throws -> Var? { arrays[name].map { tape.input($0, .features(name)) } }
    func features(_ layer: String, of source: String, on tape: Tape) throws -> Var { throw ExpressionError("no network here") }
    func gradient(of term: String) throws -> NDArray { throw ExpressionError("no loss here") }
    func loss(at image: NDArray, term: String) throws -> Double { throw ExpressionError("no loss here") }
    func imageShape() throws -> [Int] { [3, 5, 6] }
    var names: [String] { Array(arrays.keys) }
}

/// The expression language: the parser and evaluator against NumPy, every op's backward against
/// finite differences, and the learner's own loss terms against the built-in ones.
@Suite("Expressions") struct ExpressionTests {
    struct Fixture: Decodable {
        struct Array: Decodable {
            var shape: [Int]
            var data: [Double]
        }
        struct Case: Decodable {
            var expression: String
            var shape: [Int]
            var data: [Double]
        }
        var inputs: [String: Array]
        var cases: [Case]

        static let file: Fixture = {
            let data = FileManager.default.contents(atPath: Paths.fixtures + "/expressions.json")!
            return try! JSONDecoder().decode(Fixture.self, from: data)
        }()
        var world: ArraysWorld { ArraysWorld(arrays: inputs.mapValues { NDArray(valid: $0.shape, $0.data) }) }
    }

    func evaluate(_ text: String, _ world: ArraysWorld = Fixture.file.world) throws -> NDArray {
        try Evaluation(world).evaluate(try parseExpression(text)).value
    }

    /// Tests/Reference/make_expression_fixtures.py: the same expressions in NumPy, float64.
    @Test func everyExpressionAgreesWithNumPy() throws {
        let f = Fixture.file
        #expect(f.cases.count >= 50)
        for c in f.cases {
            let v: NDArray
            do { v = try evaluate(c.expression) } catch {
                Issue.record("\(c.expression): \(error)")
                continue
            }
            #expect(v.shape == c.shape, "\(c.expression): shape \(v.shape), NumPy \(c.shape)")
            guard v.shape == c.shape else { continue }
            let worst = zip(v.data, c.data).map { abs($0 - $1) / max(abs($1), 1) }.max() ?? 0
            #expect(worst <= 1e-12, "\(c.expression): \(v.data) vs NumPy \(c.data)")
        }
    }

    /// What is printed (and kept in an archive) parses back to the same expression.
    @Test func printedExpressionsParseBackToThemselves() throws {
        for c in Fixture.file.cases {
            let e = try parseExpression(c.expression)
            #expect(try parseExpression(e.text) == e, "\(c.expression) printed as \(e.text)")
        }
        #expect(try parseExpression("-x^2") == .negate(.binary(.power, .name("x"), .number(2))))
        #expect(try parseExpression("a - (b - c)").text == "a - (b - c)")
        #expect(try parseExpression("(a - b) - c").text == "a - b - c")
        #expect(try parseExpression("2^3^2") == .binary(.power, .number(2), .binary(.power, .number(3), .number(2))))
    }

    /// d/dX of Σ W ⊙ f(X, …) by the tape, against central differences in Double, for every op.
    @Test func everyOpsBackwardMatchesFiniteDifferences() throws {
        var world = Fixture.file.world
        var rng = SplitMix64(seed: 11)
        world.arrays["Q"] = NDArray(valid: [4, 4], (0..<16).map { _ in 2 * rng.nextUnit() - 1 })
        let expressions = [
            "A + B", "A - B * 3", "A * B", "A / P", "P ^ B", "P ^ 2.5", "-A",
            "A @ B", "A @ A.T", "B @ A.T", "B @ Q", "gram(F)", "gram(C)",
            "C.T", "transpose(C, 1, 2, 0)", "reshape(C, 4, -1)", "C[0:2, :, 1]", "C[-1, 1:3, ::2]", "A[1, 2]",
            "sum(C, 1)", "mean(C, axis=-1)", "max(A, 0)", "min(A, 1)", "max(C)", "var(C, 2)", "std(F, 1)", "std(A)",
            "sqrt(P)", "abs(A)", "exp(A / 4)", "log(P)", "relu(A)", "norm(A)", "tv(X / 10)", "pixels(X)",
            "A * (A > 0)", "sum((gram(F) - gram(F * 2))^2) / 3",
        ]
        for text in expressions {
            let e = try parseExpression(text)
            let probe = try Evaluation(world).evaluate(e).value
            // A fixed random weighting makes any output a scalar whose gradient reaches every element.
            let w = (0..<probe.count).map { _ in 2 * rng.nextUnit() - 1 }
            let weights = NDArray(valid: probe.shape, w)
            func scalar(_ world: ArraysWorld) throws -> (Var, Evaluation) {
                let ev = Evaluation(world)
                let y = try ev.evaluate(e)
                return (try ev.tape.reduce("sum", try ev.tape.binary(.multiply, y, ev.tape.constant(weights)), axis: nil), ev)
            }
            let (out, ev) = try scalar(world)
            let grads = try ev.tape.gradients(of: out)
            for name in e.names {
                guard let x = world.arrays[name] else { continue }
                let g = grads[.features(name)] ?? NDArray(valid: x.shape, [Double](repeating: 0, count: x.count))
                var worst = 0.0
                for i in 0..<x.count {
                    let h = 1e-6 * max(1, abs(x.data[i]))
                    var up = world, down = world
                    up.arrays[name]!.data[i] += h
                    down.arrays[name]!.data[i] -= h
                    let numeric = (try scalar(up).0.value.scalar - scalar(down).0.value.scalar) / (2 * h)
                    worst = max(worst, abs(numeric - g.data[i]) / max(abs(numeric), 1e-3))
                }
                #expect(worst < 1e-5, "d(\(text))/d\(name): worst relative error \(worst)")
            }
        }
    }

    /// Each bad expression is one line naming what is wrong; none crashes, however deep or long.
    @Test func badExpressionsGiveOneLineErrors() {
        let world = Fixture.file.world
        let cases: [(String, String)] = [
            ("nope + 1", "unknown name 'nope'"),
            ("A @ A", "@: (3, 4) and (3, 4) do not multiply (4 ≠ 3) — did you mean F @ F.T?"),
            ("A + F", "+: shapes (3, 4) and (5, 12) do not broadcast"),
            ("A / (B - B)", "division by zero"),
            ("reshape(A, 5, -1)", "reshape: 12 elements do not fill (5, -1)"),
            ("A[3]", "index 3 is out of range for axis 0 of size 3"),
            ("sum(A, 2)", "axis 2 is out of range for shape (3, 4)"),
            ("sum", "sum is a function: sum(X[, axis])"),
            ("gramm(F)", "unknown function 'gramm' (did you mean gram"),
            ("A +", "the expression ends too soon"),
            ("A $ B", "unexpected '$'"),
            ("zeros(100000, 100000)", "too large"),
            (String(repeating: "(", count: 9_000) + "1" + String(repeating: ")", count: 9_000), "nests too deeply"),
            (String(repeating: "-", count: 10_000) + "1", "nests too deeply"),
            (String(repeating: "A + ", count: 250_000) + "A", "at most 20000 characters"),
            (Array(repeating: "1", count: 6000).joined(separator: "+"), "too long"),
        ]
        for (text, message) in cases {
            do {
                let v = try Evaluation(world).evaluate(try parseExpression(text))
                Issue.record("\(text.prefix(40)) gave \(v.value.summary()) instead of an error")
            } catch let e as ExpressionError {
                #expect(e.description.contains(message), "\(text.prefix(40)): \(e)")
                #expect(!e.description.contains("\n"))
            } catch {
                Issue.record("\(text.prefix(40)): not an ExpressionError: \(error)")
            }
        }
    }

    // MARK: - In the shell, on the real network

    func keras() -> ShellHarness {
        let h = ShellHarness()
        for line in [
            "set --preset keras", "set --size 48", "content \(Paths.fixtures)/content.png", "style \(Paths.fixtures)/style.png",
            "set --init noise:3",
        ] {
            let (o, out) = h.run(line)
            #expect(o == .ok, "\(line): \(out)")
        }
        return h
    }

    /// The issue's acceptance lines, as written.
    @Test func theGramMatrixByHandIsTheBuiltIn() throws {
        let h = keras()
        #expect(h.run("let F = reshape(feat(block1_conv1), 64, -1)").0 == .ok)
        #expect(h.run("let G = F @ F.T").0 == .ok)
        let (o, out) = h.run("expect close G gram(feat(block1_conv1))")
        #expect(o == .ok, "\(out)")
        // The idea is checked, not the syntax: another layer's Gram matrix is not close.
        #expect(h.run("expect close G gram(feat(block1_conv2))").0 != .ok)
        #expect(h.run("expect close G 1.001 * gram(feat(block1_conv1))").0 != .ok)
        let (bad, message) = h.run("F @ F")
        #expect(bad != .ok && message.contains("did you mean F @ F.T?"), "\(message)")
    }

    @Test func aStyleTermWrittenByHandEqualsTheBuiltInAndSoDoesItsGradient() throws {
        let h = keras()
        let (o, out) = h.run(
            "loss add mine = sum((gram(feat(block2_conv1)) - gram(feat(block2_conv1, style)))^2) / (36 * numel(content[0])^2)")
        #expect(o == .ok, "\(out)")
        let s = try h.shell.session()
        let b = try s.evaluate(gradientOf: nil).breakdown
        let mine = try #require(b.term(TermKind(rawValue: "mine"))), builtIn = try #require(b.term(.style, layer: "block2_conv1"))
        #expect(abs(mine.raw - builtIn.raw) <= 1e-5 * builtIn.raw, "\(mine.raw) vs \(builtIn.raw)")
        let gMine = try #require(s.evaluate(gradientOf: .kind(TermKind(rawValue: "mine"), layer: nil)).gradient)
        let gBuiltIn = try #require(s.evaluate(gradientOf: .style("block2_conv1")).gradient)
        // The built-in's weight is 1e-6 / 5 per layer, the term of one's own 1.
        #expect(relativeL2(gMine.data.map { $0 * 2e-7 }, gBuiltIn.data) <= 1e-5)
        // And the float32 gradient agrees with float64 differences of the same expression.
        let (c, check) = h.run("gradcheck --term mine --pixels 0,10,10;1,20,30;2,40,5")
        #expect(c == .ok, "\(check)")
        #expect(try h.shell.measuredValue("gradcheck.worst") < 1e-3, "\(check)")
    }

    @Test func contentAndTotalVariationWrittenByHandEqualTheBuiltIns() throws {
        let h = keras()
        for line in [
            "loss add c = sum((feat(block5_conv2) - feat(block5_conv2, content))^2) --weight 2.5e-8",
            "loss add t = tv(result) --weight 1e-6",
            "loss add t2 = sum(((result[:, 0:-1, 0:-1] - result[:, 1:, 0:-1])^2 "
                + "+ (result[:, 0:-1, 0:-1] - result[:, 0:-1, 1:])^2)^1.25) --weight 1e-6",
        ] {
            let (o, out) = h.run(line)
            #expect(o == .ok, "\(line): \(out)")
        }
        let s = try h.shell.session()
        let b = try s.evaluate(gradientOf: nil).breakdown
        for (mine, kind, layer) in [("c", TermKind.content, "block5_conv2"), ("t", .totalVariation, nil), ("t2", .totalVariation, nil)] {
            let a = try #require(b.term(TermKind(rawValue: mine))), r = try #require(b.term(kind, layer: layer))
            #expect(abs(a.weighted - r.weighted) <= 1e-5 * r.weighted, "\(mine): \(a.weighted) vs \(r.weighted)")
            let ga = try #require(s.evaluate(gradientOf: .kind(TermKind(rawValue: mine), layer: nil)).gradient)
            let gr = try #require(s.evaluate(gradientOf: .kind(kind, layer: nil)).gradient)
            #expect(relativeL2(ga.data, gr.data) <= 1e-5, "\(mine)")
        }
    }

    @Test func aTermOfOnesOwnStepsIsKeptByTheArchiveAndIsRemoved() throws {
        let h = keras()
        #expect(h.run("set --preset any-size").0 == .ok)
        #expect(h.run("let Fs = feat(block1_conv1, style)").0 == .ok)
        let (o, out) = h.run("loss add meanstd = sum((mean(reshape(feat(block1_conv1), 64, -1), 1) - mean(reshape(Fs, 64, -1), 1))^2) --weight 1e-3")
        #expect(o == .ok, "\(out)")
        // The let was written out: the term is self-contained text.
        let s = try h.shell.session()
        #expect(s.configuration.loss.customTerms.first?.expression.contains("feat(block1_conv1, style)") == true)
        let before = try #require(s.evaluate(gradientOf: nil).breakdown.term(TermKind(rawValue: "meanstd"))).raw
        let (step, steps) = h.run("step 3")
        #expect(step == .ok && steps.contains("meanstd"), "\(steps)")
        let after = try #require(s.history.last?.breakdown.term(TermKind(rawValue: "meanstd"))).raw
        #expect(after < before, "the term falls as the optimiser lowers it: \(before) → \(after)")
        let dir = Paths.temporaryDirectory() + "/s"
        #expect(h.run("session save \(dir)").0 == .ok)
        let other = ShellHarness()
        let (opened, text) = other.run("session open \(dir)")
        #expect(opened == .ok, "\(text)")
        let reopened = try other.shell.session()
        #expect(reopened.configuration.loss.customTerms == s.configuration.loss.customTerms)
        let again = try #require(reopened.evaluate(gradientOf: nil).breakdown.term(TermKind(rawValue: "meanstd"))).raw
        let original = try #require(s.evaluate(gradientOf: nil).breakdown.term(TermKind(rawValue: "meanstd"))).raw
        #expect(abs(again - original) <= 1e-9 * abs(again))
        #expect(other.run("loss remove meanstd").0 == .ok)
        #expect(try other.shell.session().configuration.loss.customTerms.isEmpty)
        #expect(other.run("loss remove meanstd").0 != .ok)
    }

    /// A refused expression, let or term prints one line and changes nothing: the session, the lets.
    @Test func refusedExpressionsChangeNothing() throws {
        let h = keras()
        #expect(h.run("let keep = 2").0 == .ok)
        let s = try h.shell.session()
        let state = s.state
        for line in [
            "loss add x = feat(block1_conv1)",  // not one number
            "loss add y = sum(feat(block1_conv1)) / 0",
            "loss add z = sum(content)",  // does not depend on the image
            "loss add style = sum(feat(block1_conv1))",  // a built-in's name
            "loss add w = sum(feat(block9_conv1))",
            "loss add v = sum(feat(block1_conv1)) --weight -1",
            "let keep = nope + 1",
            "let content = 3",
            "let 2x = 3",
            "F @",
            "nope(3)",
            "show gram(feat(block1_conv1)) @ content",
            "expect close content",
            "expect close content style ± banana",
            String(repeating: "(", count: 10_000),
            "let big = " + String(repeating: "1+", count: 600_000) + "1",
        ] {
            let (o, out) = h.run(line)
            #expect(o != .ok, "\(line.prefix(60)) was accepted: \(out)")
            #expect(out.split(separator: "\n").count == 1 && out.hasPrefix("error:"), "\(line.prefix(60)): \(out.prefix(300))")
        }
        #expect(s.state == state)
        #expect(h.shell.bindings["keep"]?.value == NDArray(scalar: 2))
    }

    /// Bare lines: an expression prints, a typo stays "unknown command".
    @Test func aLineThatIsAnExpressionPrintsItsValue() throws {
        let h = keras()
        let (o, out) = h.run("sum(content) / numel(content)")
        #expect(o == .ok && !out.contains("error"), "\(out)")
        #expect(h.run("content - style").1.contains("float64 (3, 48, "))
        #expect(h.run("stpe 3").1.contains("unknown command 'stpe'"))
        #expect(h.run("foo").1.contains("unknown command 'foo'"))
        let (shown, text) = h.run("show gram(feat(block1_conv1))")
        #expect(shown == .ok && text.contains("heat map"), "\(text)")
        // By hand, a derivative: the loss at x ± e over 2 against grad at that pixel (float32 loss:
        // a large pixel's gradient keeps the difference above its rounding).
        #expect(h.run("let g = grad()").0 == .ok)
        let g = try #require(h.shell.bindings["g"]?.value)
        let i = g.data.indices.max { abs(g.data[$0]) < abs(g.data[$1]) }!
        let (hh, ww) = (g.shape[1], g.shape[2])
        let (c, y, x) = (i / (hh * ww), (i / ww) % hh, i % ww)
        let (d, dt) = h.run("let d = (loss(result + unit(\(c), \(y), \(x))) - loss(result - unit(\(c), \(y), \(x)))) / 2")
        #expect(d == .ok, "\(dt)")
        let numeric = try #require(h.shell.bindings["d"]?.value.scalar)
        #expect(abs(numeric - g.data[i]) < 0.02 * abs(g.data[i]), "\(numeric) vs \(g.data[i])")
    }
}
