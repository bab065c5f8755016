import Foundation
import Kernels

// Evaluating an expression: names and functions resolved against a world (the shell's session, or
// a loss term's context at one step), each op recorded on a tape so that a loss term's gradient can
// be taken. The functions are one table: help, completion and the fuzz dictionary read it.

/// What an expression's names mean. The shell's world reads the session; a loss term's world reads
/// the network's outputs at the current image (and makes them the tape's inputs).
protocol ExpressionWorld {
    /// A name's value (an image, a `let`, a measurement), or nil if the world has no such name.
    func value(of name: String, on tape: Tape) throws -> Var?
    /// feat(LAYER, SOURCE): the network's output at LAYER (ReLU applied) for content, style or result.
    func features(_ layer: String, of source: String, on tape: Tape) throws -> Var
    /// grad(TERM): the gradient of the session's loss (or a term of it) with respect to the image.
    func gradient(of term: String) throws -> NDArray
    /// loss(X, TERM): the session's loss (or a term of it) at the image X.
    func loss(at image: NDArray, term: String) throws -> Double
    /// The shape of the images, (3, H, W).
    func imageShape() throws -> [Int]
    /// Every name it knows, for errors and completion.
    var names: [String] { get }
}

/// The images an expression may name, and the sources of feat(LAYER, SOURCE).
enum ExpressionImages {
    static let names = ["content", "style", "result"]
}

/// One function of the language.
struct ExpressionFunction: Sendable {
    let name: String
    let usage: String
    let summary: String
    let arguments: ClosedRange<Int>
    let apply: @Sendable (Evaluation, [Expr]) throws -> Var
}

/// One evaluation: a world and the tape it records on.
final class Evaluation {
    let world: any ExpressionWorld
    let tape = Tape()

    init(_ world: any ExpressionWorld) { self.world = world }

    func evaluate(_ e: Expr) throws -> Var {
        switch e {
        case .number(let v): return tape.constant(NDArray(scalar: v))
        case .constant(let v, _): return tape.constant(v)
        case .string(let s): throw ExpressionError("\"\(s)\": a string is only the name in value(\"NAME\") or grad(\"TERM\")")
        case .name(let n):
            if let v = try world.value(of: n, on: tape) { return v }
            if ExpressionFunctions.named(n) != nil { throw ExpressionError("\(n) is a function: \(ExpressionFunctions.named(n)!.usage)") }
            throw ExpressionError("unknown name '\(n)'" + nearestName(n))
        case .call(let f, let args):
            guard let function = ExpressionFunctions.named(f) else {
                let near = ExpressionFunctions.all.map(\.name).filter { editDistance($0, f) <= 2 }
                throw ExpressionError("unknown function '\(f)'" + (near.isEmpty ? "" : " (did you mean \(near.joined(separator: " or "))?)"))
            }
            guard function.arguments.contains(args.count) else {
                let a = function.arguments
                let count = a.lowerBound == a.upperBound ? "\(a.lowerBound)" : "\(a.lowerBound) to \(a.upperBound)"
                throw ExpressionError("\(f) takes \(count) argument(s): \(function.usage)")
            }
            return try function.apply(self, args)
        case .negate(let a): return tape.negate(try evaluate(a))
        case .binary(let op, let a, let b): return try tape.binary(op, try evaluate(a), try evaluate(b))
        case .transpose(let a): return try tape.transpose(try evaluate(a))
        case .index(let a, let s): return try tape.slice(try evaluate(a), s)
        }
    }

    private func nearestName(_ n: String) -> String {
        let near = world.names.filter { editDistance($0, n) <= 2 }
        return near.isEmpty ? "" : " (did you mean \(near.prefix(3).joined(separator: " or "))?)"
    }

    /// An argument that must be a whole number (an axis, a size, an index).
    func integer(_ e: Expr, _ what: String) throws -> Int {
        let v = try evaluate(e).value
        guard v.count == 1, v.scalar == v.scalar.rounded(), abs(v.scalar) < 1e9 else {
            throw ExpressionError("\(what) is a whole number; got \(v.count == 1 ? NDArray.number(v.scalar) : "shape " + describe(v.shape))")
        }
        return Int(v.scalar)
    }

    /// An argument that is a word: a layer, a source, a term (a name or a string).
    func word(_ e: Expr, _ what: String) throws -> String {
        switch e {
        case .name(let n), .string(let n): return n
        default: throw ExpressionError("\(what) is a name; got \(e.text)")
        }
    }
}

enum ExpressionFunctions {
    /// The language on one screen: names, operators, functions (from the table).
    static var help: String {
        let width = all.map(\.usage.count).max()! + 2
        let lines = [
            "values are arrays of float64 (up to 4 axes; a scalar has none), with NumPy's broadcasting",
            "names:     content, style, result (as VGG19 sees them, (3, H, W)), your lets, ans, measured values (raw.tv)",
            "operators: + - * / ^ (or **)  @ (matrix product)  < <= > >= == != (masks of 0 and 1)  -X",
            "postfix:   X.T (axes reversed)  X[i, a:b, ::s] (NumPy's slicing; negative counts from the end)",
            "a let keeps its value; a loss term (loss add) reads the definitions, so it follows the image",
            "functions:",
        ]
        return (lines + all.map { "  " + pad($0.usage, width) + $0.summary }).joined(separator: "\n")
    }

    static func named(_ name: String) -> ExpressionFunction? { all.first { $0.name == name } }

    private static func elementwise(_ name: String, _ summary: String) -> ExpressionFunction {
        ExpressionFunction(name: name, usage: "\(name)(X)", summary: summary, arguments: 1...1) { ev, a in
            try ev.tape.function(name, try ev.evaluate(a[0]))
        }
    }

    private static func reduction(_ name: String, _ summary: String) -> ExpressionFunction {
        ExpressionFunction(name: name, usage: "\(name)(X[, axis])", summary: summary, arguments: 1...2) { ev, a in
            try ev.tape.reduce(name, try ev.evaluate(a[0]), axis: a.count == 2 ? try ev.integer(a[1], "an axis") : nil)
        }
    }

    static let all: [ExpressionFunction] = [
        ExpressionFunction(
            name: "feat", usage: "feat(LAYER[, content|style|result])",
            summary: "VGG19's output at LAYER (after its ReLU), (C, H, W): of the current image, or of content or style",
            arguments: 1...2
        ) { ev, a in
            let layer = try ev.word(a[0], "the layer")
            let source = a.count == 2 ? try ev.word(a[1], "the image") : "result"
            guard ExpressionImages.names.contains(source) else {
                throw ExpressionError("feat reads content, style or result; got '\(source)'")
            }
            guard VGG19.isKnownLayer(layer), !layer.hasSuffix(":pre") else {
                throw ExpressionError("no layer '\(layer)' in VGG19 (layers lists them)")
            }
            return try ev.world.features(layer, of: source, on: ev.tape)
        },
        ExpressionFunction(
            name: "gram", usage: "gram(F)", summary: "the Gram matrix F Fᵀ of features (C, H, W), as the gram command", arguments: 1...1
        ) {
            ev, a in try ev.tape.gram(try ev.evaluate(a[0]))
        },
        ExpressionFunction(name: "tv", usage: "tv(X)", summary: "Keras's total variation of an image (3, H, W), before its weight", arguments: 1...1)
        {
            ev, a in try ev.tape.totalVariation(try ev.evaluate(a[0]))
        },
        ExpressionFunction(
            name: "pixels", usage: "pixels(X)", summary: "an image as VGG19 sees it back in RGB, 0–255 (the mean added, BGR→RGB; not clipped)",
            arguments: 1...1
        ) { ev, a in
            let x = try ev.evaluate(a[0])
            guard x.value.rank == 3, x.shape[0] == 3 else { throw ExpressionError("pixels takes an image (3, H, W); got \(describe(x.shape))") }
            // BGR → RGB is channel order [2, 1, 0]; then each channel's ImageNet mean added back.
            let rgb = try ev.tape.concatenateChannels([2, 1, 0].map { try ev.tape.slice(x, [.range($0, $0 + 1, nil)]) })
            let mean = NDArray(valid: [3, 1, 1], imageNetMeanBGR.reversed().map(Double.init))
            return try ev.tape.binary(.add, rgb, ev.tape.constant(mean))
        },
        ExpressionFunction(
            name: "grad", usage: "grad([TERM])",
            summary: "the gradient of the loss (or of TERM: style, tv, \"style:block1_conv1\", your own) at the image",
            arguments: 0...1
        ) { ev, a in
            ev.tape.constant(try ev.world.gradient(of: a.isEmpty ? "total" : try ev.word(a[0], "the term")))
        },
        ExpressionFunction(
            name: "loss", usage: "loss(X[, TERM])", summary: "the session's loss (or one term, raw × weight) at the image X (3, H, W)",
            arguments: 1...2
        ) { ev, a in
            let x = try ev.evaluate(a[0]).value
            return ev.tape.constant(NDArray(scalar: try ev.world.loss(at: x, term: a.count == 2 ? try ev.word(a[1], "the term") : "total")))
        },
        ExpressionFunction(
            name: "value", usage: "value(\"NAME\")", summary: "a measured value by name, as values lists it (value(\"raw.style:block1_conv1\"))",
            arguments: 1...1
        ) { ev, a in
            let name = try ev.word(a[0], "the value's name")
            guard let v = try ev.world.value(of: name, on: ev.tape) else {
                throw ExpressionError("no value '\(name)' measured yet; values lists them")
            }
            return v
        },
        ExpressionFunction(
            name: "unit", usage: "unit(C, Y, X)", summary: "an image-shaped array, 1 at channel C, row Y, column X and 0 elsewhere (for differences)",
            arguments: 3...3
        ) { ev, a in
            let shape = try ev.world.imageShape()
            let idx = try a.enumerated().map { try ev.integer($1, ["the channel", "the row", "the column"][$0]) }
            for (k, i) in idx.enumerated() where !(0..<shape[k]).contains(i) {
                throw ExpressionError("unit: \(i) is outside axis \(k) of the image \(describe(shape))")
            }
            var v = try NDArray.filled(shape, 0)
            v.data[(idx[0] * shape[1] + idx[1]) * shape[2] + idx[2]] = 1
            return ev.tape.constant(v)
        },
        ExpressionFunction(name: "zeros", usage: "zeros(D₀, …)", summary: "an array of zeros of the shape given", arguments: 1...4) { ev, a in
            ev.tape.constant(try NDArray.filled(try a.map { try ev.integer($0, "a size") }, 0))
        },
        ExpressionFunction(name: "ones", usage: "ones(D₀, …)", summary: "an array of ones of the shape given", arguments: 1...4) { ev, a in
            ev.tape.constant(try NDArray.filled(try a.map { try ev.integer($0, "a size") }, 1))
        },
        ExpressionFunction(
            name: "reshape", usage: "reshape(X, D₀, D₁, …)", summary: "the same elements in a new shape; one size may be -1 (inferred)",
            arguments: 2...5
        ) { ev, a in
            try ev.tape.reshape(try ev.evaluate(a[0]), try a.dropFirst().map { try ev.integer($0, "a size") })
        },
        ExpressionFunction(
            name: "transpose", usage: "transpose(X[, axes…])", summary: "the axes reversed (X.T), or in the order given", arguments: 1...5
        ) { ev, a in
            try ev.tape.transpose(try ev.evaluate(a[0]), a.count > 1 ? try a.dropFirst().map { try ev.integer($0, "an axis") } : nil)
        },
        reduction("sum", "the sum of the elements, or along an axis"),
        reduction("mean", "the mean of the elements, or along an axis"),
        reduction("max", "the largest element, or along an axis"),
        reduction("min", "the smallest element, or along an axis"),
        reduction("var", "the variance (mean of squared deviations, NumPy's default), or along an axis"),
        reduction("std", "the standard deviation (√var), or along an axis"),
        elementwise("sqrt", "the square root of each element"),
        elementwise("abs", "the absolute value of each element"),
        elementwise("exp", "e to the power of each element"),
        elementwise("log", "the natural logarithm of each element"),
        elementwise("relu", "max(x, 0) for each element"),
        ExpressionFunction(name: "norm", usage: "norm(X)", summary: "√(Σ x²), the Euclidean (Frobenius) norm", arguments: 1...1) { ev, a in
            let x = try ev.evaluate(a[0])
            return try ev.tape.function("sqrt", try ev.tape.reduce("sum", try ev.tape.binary(.multiply, x, x), axis: nil))
        },
        ExpressionFunction(name: "numel", usage: "numel(X)", summary: "the number of elements", arguments: 1...1) { ev, a in
            ev.tape.constant(NDArray(scalar: Double(try ev.evaluate(a[0]).value.count)))
        },
        ExpressionFunction(name: "shape", usage: "shape(X)", summary: "the sizes of the axes, as a vector", arguments: 1...1) { ev, a in
            let s = try ev.evaluate(a[0]).shape
            return ev.tape.constant(NDArray(valid: [s.count], s.map(Double.init)))
        },
    ]
}

extension Tape {
    /// Arrays (c_i, H, W) stacked along the first axis (the backward hands each its part back).
    func concatenateChannels(_ parts: [Var]) throws -> Var {
        let rest = Array(parts[0].shape.dropFirst())
        guard parts.allSatisfy({ Array($0.shape.dropFirst()) == rest }) else { throw ExpressionError("concatenate: shapes differ") }
        let counts = parts.map(\.value.count)
        let y = NDArray(valid: [parts.reduce(0) { $0 + $1.shape[0] }] + rest, parts.flatMap(\.value.data))
        return record(y, parts) { g in
            var start = 0
            return parts.indices.map { i in
                defer { start += counts[i] }
                return NDArray(valid: parts[i].shape, Array(g.data[start..<(start + counts[i])]))
            }
        }
    }
}
