import Foundation
import Kernels

// Compute it yourself: tensor expressions over the images and the network's features, named with
// `let`, printed, drawn, compared with the built-ins, and made into loss terms (`loss add`, in
// Commands/Loss.swift). The language itself is in Expressions/; this file only parses lines and
// formats what comes back.

/// A `let`: the value when it was made, and its definition (a loss term reads the definition, so
/// it follows the image as it changes).
struct Binding {
    var expression: Expr
    var value: NDArray
}

extension CommandTable {
    /// What an expression may start with: the functions, the images, for completion and the fuzz dictionary.
    static var expressionWords: [String] { ExpressionFunctions.all.map(\.name) + ExpressionImages.names }

    static let compute: [Command] = [
        Command(
            name: "let", topic: .compute, summary: "name a value: let NAME = EXPR (a bare EXPR prints one; help let lists the functions)",
            usage: "let NAME = EXPR", example: "let F = reshape(feat(block1_conv1), 64, -1)",
            completes: .words(expressionWords), rawArguments: true
        ) { shell, _ in
            let text = shell.expressionText(after: "let")
            guard let eq = text.firstIndex(of: "="), text[text.index(after: eq)...].first != "=" else {
                if text.trimmingCharacters(in: .whitespaces).isEmpty { return shell.listBindings() }
                throw UsageError("let NAME = EXPR")
            }
            let name = text[..<eq].trimmingCharacters(in: .whitespaces)
            try shell.checkNewName(name)
            // Its value now (the names it reads by their values), and its definition written out for `loss add`.
            let parsed = try parseExpression(String(text[text.index(after: eq)...]))
            let value = try shell.evaluateExpression(parsed)
            shell.bindings[name] = Binding(expression: try shell.expanded(parsed), value: value)
            shell.say(value.summary(name: name))
        },
        Command(
            name: "print", topic: .compute,
            summary: "an expression's value: its shape, some numbers, statistics (a line that is an expression does the same)",
            usage: "print EXPR", example: "print gram(feat(block1_conv1))[0:3, 0:3]",
            completes: .words(expressionWords), rawArguments: true
        ) { shell, _ in
            let text = shell.expressionText(after: "print")
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw UsageError("print what?") }
            let parsed = try parseExpression(text)
            let value = try shell.evaluateExpression(parsed)
            shell.bindings["ans"] = Binding(expression: try shell.expanded(parsed), value: value)
            if value.count == 1 { shell.measured("ans", value.scalar) }
            shell.say(value.summary())
        },
    ]
}

extension Shell {
    /// The text of the current line after the command's name (all of it for a bare expression).
    func expressionText(after command: String) -> String {
        let line = currentLine.trimmingCharacters(in: .whitespaces)
        guard line.hasPrefix(command), line.dropFirst(command.count).first.map({ $0 == " " || $0 == "\t" }) ?? true else { return line }
        return String(line.dropFirst(command.count))
    }

    /// Whether `line` is an expression to print rather than a command: a line whose first word is
    /// no command and that parses (and is not one unknown word: that stays "unknown command"), or
    /// a command's name followed by an operator (`content - style`).
    func isExpressionLine(_ line: String, firstWord: String, isCommand: Bool) -> Bool {
        let rest = line.trimmingCharacters(in: .whitespaces).dropFirst(firstWord.count).trimmingCharacters(in: .whitespaces)
        if isCommand {
            // An operator and a space: `content - style`, not `content /path/to.png`.
            guard ExpressionImages.names.contains(firstWord) else { return false }
            return rest.range(of: #"^([-+*/^@<>]|\*\*|[<>=!]=)\s"#, options: .regularExpression) != nil
        }
        guard let e = try? parseExpression(line) else {
            // A line that starts like an expression gets the expression's error, not "unknown command".
            return firstWord.contains("(") || firstWord.contains("[") || firstWord.first.map { $0.isNumber || $0 == "-" } == true
                || bindings[firstWord] != nil
        }
        if case .name(let n) = e { return bindings[n] != nil || measurements[n] != nil || ExpressionImages.names.contains(n) }
        return true
    }

    /// Whether a line prints a value (`print EXPR`, or a line that is an expression): a notebook
    /// front end shows it as the cell's result.
    public func printsValue(_ line: String) -> Bool {
        let words = (try? tokenize(line)) ?? []
        guard let first = words.first else { return false }
        if first == "print" { return true }
        return isExpressionLine(line, firstWord: first, isCommand: CommandTable.find(first) != nil)
    }

    func checkNewName(_ name: String) throws {
        guard let first = name.unicodeScalars.first, first == "_" || CharacterSet.letters.contains(first),
            name.unicodeScalars.allSatisfy({ $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) })
        else { throw UsageError("'\(name)' is not a name: letters, digits and _, starting with a letter") }
        guard !ExpressionImages.names.contains(name), ExpressionFunctions.named(name) == nil else {
            throw UsageError("'\(name)' already means something (an image or a function); choose another name")
        }
    }

    /// `e` with each `let` name replaced by its definition (so a loss term follows the image).
    func expanded(_ e: Expr) throws -> Expr {
        let out = e.substituting { bindings[$0]?.expression }
        guard out.nodeCount <= ExpressionLimits.nodes else {
            throw ExpressionError("with its lets written out the expression is too long (at most \(ExpressionLimits.nodes) parts)")
        }
        return out
    }

    /// An expression's value against the session (images, features, measurements, lets).
    func evaluateExpression(_ e: Expr) throws -> NDArray {
        try Evaluation(ShellWorld(shell: self, session: try session())).evaluate(e).value
    }

    func listBindings() {
        guard !bindings.isEmpty else { return say("no values yet: let NAME = EXPR names one") }
        for (name, b) in bindings.sorted(by: { $0.key < $1.key }) {
            let value = b.value.rank == 0 ? NDArray.number(b.value.scalar) : "float64 " + describe(b.value.shape)
            say("\(pad(name, 10)) \(value)  = \(b.expression.text)")
        }
    }

    /// Draws a value: an image (3, H, W) as VGG19 sees it, other (C, H, W) as a grid of channels, a
    /// matrix as a heat map.
    func showValue(_ text: String) throws {
        let e = try parseExpression(text)
        let v = try evaluateExpression(e)
        let caption = e.text
        let name = "expr"
        switch v.rank {
        case 3 where v.shape[0] == 3:
            try showPicture(
                Pictures.enlarged(try deprocess(try v.tensor())), name: name, caption: "\(caption) as an image (VGG19's view, deprocessed)")
        case 3:
            let t = try v.tensor()
            try showPicture(
                Pictures.featureGrid(t, channels: Array(0..<min(16, v.shape[0])), title: "\(caption): channels 0–\(min(16, v.shape[0]) - 1)"),
                name: name, caption: "\(caption), first channels")
        case 2, 1:
            let m = try v.tensor()
            let matrix = v.rank == 1 ? try Tensor(shape: [1, v.count], data: m.data) : m
            try showPicture(
                Pictures.heatmap(matrix, signed: v.data.contains { $0 < 0 }, title: caption), name: name,
                caption: "\(caption), \(describe(v.shape)) as a heat map (linear scale)")
        default:
            say(v.summary())
        }
    }
}

/// The shell's world: the session's images and features, the measurements and the lets.
final class ShellWorld: ExpressionWorld {
    let shell: Shell
    let session: TransferSession
    private var features: [String: NDArray] = [:]

    init(shell: Shell, session: TransferSession) {
        self.shell = shell
        self.session = session
    }

    func value(of name: String, on tape: Tape) throws -> Var? {
        if let b = shell.bindings[name] { return tape.constant(b.value) }
        if ExpressionImages.names.contains(name) { return tape.constant(NDArray(try session.tensor(named: name))) }
        if let m = shell.measurements[name] { return tape.constant(NDArray(scalar: m)) }
        return nil
    }

    func features(_ layer: String, of source: String, on tape: Tape) throws -> Var {
        let key = "\(source):\(layer)"
        if let f = features[key] { return tape.constant(f) }
        let acts = try session.vgg.forward(
            try session.tensor(named: source), upTo: [layer], pooling: session.configuration.loss.pooling, session.compute)
        let f = NDArray(acts.outputs[layer]!)
        features[key] = f
        return tape.constant(f)
    }

    func gradient(of term: String) throws -> NDArray {
        NDArray(try session.evaluate(gradientOf: try TermSelection.parse(term, configuration: session.configuration.loss)).gradient!)
    }

    func loss(at image: NDArray, term: String) throws -> Double {
        let selection = try TermSelection.parse(term, configuration: session.configuration.loss)
        let b = try session.evaluate(at: try image.tensor(), gradientOf: nil).breakdown
        return b.terms.filter { selection.includes(TermSpec(kind: $0.kind, layer: $0.layer, weight: $0.weight)) }.reduce(0) { $0 + $1.weighted }
    }

    func imageShape() throws -> [Int] { try session.tensor(named: "result").shape }

    var names: [String] { Array(shell.bindings.keys) + ExpressionImages.names + Array(shell.measurements.keys) }
}
