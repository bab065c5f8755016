import Foundation
import Kernels

// A loss term of the learner's own: `loss add NAME = EXPR`. Its value is the expression at the
// current image; its gradient comes from the expression's tape (Expressions/Tape.swift), which
// hands the gradient at each feat(LAYER) it read to VGG19's backward, and at `result` to the
// image. The parts that do not depend on the image (the style's Gram matrix, say) are computed
// once with the targets. It is kept as text in the configuration (and so in the archive).

/// A term the learner wrote: its name, its expression as text, its weight.
public struct CustomTermDefinition: Equatable, Sendable, Codable {
    public var name: String
    public var expression: String
    public var weight: Double
    /// The layers whose features of the current image the expression reads (the loss must reach them).
    public let layers: [String]

    public init(name: String, expression: String, weight: Double) throws {
        self.name = name
        self.expression = expression
        self.weight = weight
        layers = try Self.layers(of: parseExpression(expression))
    }

    private enum CodingKeys: String, CodingKey { case name, expression, weight }

    /// Checked as a typed one is: an archive's term must parse and name real layers.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(
                name: c.decode(String.self, forKey: .name), expression: c.decode(String.self, forKey: .expression),
                weight: c.decode(Double.self, forKey: .weight))
        } catch let e as ExpressionError {
            throw DecodingError.dataCorruptedError(forKey: .expression, in: c, debugDescription: "a loss term's expression: \(e)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(expression, forKey: .expression)
        try c.encode(weight, forKey: .weight)
    }

    /// The layers `e` reads the current image's features at, in order, each once.
    static func layers(of e: Expr) throws -> [String] {
        var out: [String] = []
        func walk(_ e: Expr) throws {
            if case .call(let f, let args) = e, f == "feat", let first = args.first {
                guard case .name(let layer) = first else { throw ExpressionError("feat's layer is a name; got \(first.text)") }
                guard VGG19.isKnownLayer(layer), !layer.hasSuffix(":pre") else {
                    throw ExpressionError("no layer '\(layer)' in VGG19 (layers lists them)")
                }
                let source: String? = args.count > 1 ? { if case .name(let s) = args[1] { return s } else { return nil } }() : "result"
                if source == "result", !out.contains(layer) { out.append(layer) }
            }
            for child in e.children { try walk(child) }
        }
        try walk(e)
        return out
    }

    /// Whether `e` depends on the current image (else it is computed once, with the targets).
    static func dependsOnImage(_ e: Expr) -> Bool {
        // (bound and compared, not matched against literals: that leaked the enum's boxes under Swift 6.3)
        switch e {
        case .name(let n): return n == "result"
        case .call(let f, let args) where f == "feat":
            guard args.count >= 2 else { return true }
            if case .name(let source) = args[1] { return source == "result" }
            return false
        default: return e.children.contains(where: dependsOnImage)
        }
    }
}

struct CustomTerm: LossTerm {
    let definition: CustomTermDefinition
    var kind: TermKind { TermKind(rawValue: definition.name) }
    var weightOption: String { "" }
    var defaultWeight: Double { 1 }
    var weightHelp: String { "" }
    var summary: String { definition.expression }

    func specs(_ c: LossConfiguration) -> [TermSpec] { [TermSpec(kind: kind, layer: nil, weight: definition.weight)] }

    /// The expression with every part that does not depend on the image computed once.
    func makeTargets(_ inputs: TargetInputs, into targets: inout LossTargets) throws {
        let world = TargetWorld(inputs: inputs)
        targets.customExpressions[definition.name] = try fold(parseExpression(definition.expression), world)
    }

    private func fold(_ e: Expr, _ world: TargetWorld) throws -> Expr {
        if !CustomTermDefinition.dependsOnImage(e) {
            switch e {
            case .number, .constant: return e
            default: return .constant(try Evaluation(world).evaluate(e).value, text: "(\(e.text))")
            }
        }
        // The children first, then the node: an indirect case built around `try` leaked its box
        // (LeakSanitizer, under the shell's fuzz target).
        switch e {
        case .call(let f, _) where f == "feat": return e
        case .call(let f, let args):
            var folded: [Expr] = []
            for a in args { folded.append(try fold(a, world)) }
            return .call(f, folded)
        case .negate(let a):
            let x = try fold(a, world)
            return .negate(x)
        case .transpose(let a):
            let x = try fold(a, world)
            return .transpose(x)
        case .index(let a, let s):
            let x = try fold(a, world)
            return .index(x, s)
        case .binary(let op, let a, let b):
            let x = try fold(a, world), y = try fold(b, world)
            return .binary(op, x, y)
        default: return e
        }
    }

    func evaluate(_ spec: TermSpec, _ x: TermContext, gradientWeight: Double?) throws -> TermResult {
        guard let e = x.targets.customExpressions[definition.name] else { throw TransferError.targetsOutOfDate(definition.name) }
        let world = StepWorld(
            image: NDArray(x.image),
            features: { layer in
                guard let f = x.outputs[layer] else { throw TransferError.targetsOutOfDate(layer) }
                return NDArray(f)
            })
        let evaluation = Evaluation(world)
        let value = try x.compute.timed("image", "loss term \(definition.name)") { try evaluation.evaluate(e) }
        guard value.value.count == 1 else { throw Self.notScalar(definition.name, value.shape) }
        var result = TermResult(raw: value.value.scalar)
        if let w = gradientWeight {
            for (exit, g) in try evaluation.tape.gradients(of: value) {
                let t = try Tensor(shape: g.shape, data: g.data.map { Float($0 * w) })
                switch exit {
                case .features(let layer): result.gradientsAtLayers[layer, default: []].append { t }
                case .image: result.imageGradient = { t }
                }
            }
        }
        return result
    }

    func reference(_ spec: TermSpec, _ x: DoubleTermContext) -> Double {
        guard let e = x.targets.customExpressions[definition.name] else { return .nan }
        let world = StepWorld(
            image: NDArray(valid: [3, x.height, x.width], x.image),
            features: { layer in
                guard let f = x.outputs[layer] else { throw TransferError.targetsOutOfDate(layer) }
                return NDArray(valid: [f.c, f.h, f.w], f.data)
            })
        guard let v = try? Evaluation(world).evaluate(e).value, v.count == 1 else { return .nan }
        return v.scalar
    }

    static func notScalar(_ name: String, _ shape: [Int]) -> ExpressionError {
        ExpressionError("the loss term \(name) must be one number; its expression has shape \(describe(shape)) (sum(…) or mean(…) makes one)")
    }
}

/// A loss term's world at one step: the current image and its features are the tape's inputs.
struct StepWorld: ExpressionWorld {
    let image: NDArray
    let features: (String) throws -> NDArray

    func value(of name: String, on tape: Tape) throws -> Var? {
        name == "result" ? tape.input(image, .image) : nil
    }
    func features(_ layer: String, of source: String, on tape: Tape) throws -> Var {
        guard source == "result" else { throw ExpressionError("feat(\(layer), \(source)) should have been computed with the targets") }
        return tape.input(try features(layer), .features(layer))
    }
    func gradient(of term: String) throws -> NDArray { throw ExpressionError("a loss term cannot read grad(…)") }
    func loss(at image: NDArray, term: String) throws -> Double { throw ExpressionError("a loss term cannot read loss(…)") }
    func imageShape() throws -> [Int] { image.shape }
    var names: [String] { ["result"] }
}

/// What a loss term's constant parts see when the targets are made: the content and (first) style
/// image as VGG19 sees them, and their features.
final class TargetWorld: ExpressionWorld {
    let inputs: TargetInputs
    private var cache: [String: NDArray] = [:]

    init(inputs: TargetInputs) { self.inputs = inputs }

    private func image(_ source: String) throws -> Tensor {
        switch source {
        case "content": return inputs.content
        case "style":
            guard let s = inputs.styles.first else { throw ExpressionError("no style image: the term reads style") }
            return s.tensor
        default: throw ExpressionError("a loss term's constant part cannot read \(source)")
        }
    }
    func value(of name: String, on tape: Tape) throws -> Var? {
        guard name == "content" || name == "style" else { return nil }
        return tape.constant(NDArray(try image(name)))
    }
    func features(_ layer: String, of source: String, on tape: Tape) throws -> Var {
        let key = "\(source):\(layer)"
        if let v = cache[key] { return tape.constant(v) }
        let acts = try inputs.vgg.forward(
            try image(source), upTo: [layer], pooling: inputs.configuration.pooling, keepingWhole: [layer], forBackward: false,
            inputs.compute)
        let v = NDArray(acts.outputs[layer]!)
        cache[key] = v
        return tape.constant(v)
    }
    func gradient(of term: String) throws -> NDArray { throw ExpressionError("a loss term cannot read grad(…)") }
    func loss(at image: NDArray, term: String) throws -> Double { throw ExpressionError("a loss term cannot read loss(…)") }
    func imageShape() throws -> [Int] { inputs.content.shape }
    var names: [String] { ["content", "style", "result"] }
}
