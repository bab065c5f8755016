import Foundation

// The expression language's grammar, as a learner who knows NumPy expects it:
//
//   expr    := compare
//   compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
//   sum     := product (("+" | "-") product)*
//   product := unary (("*" | "/" | "@") unary)*
//   unary   := "-" unary | power
//   power   := postfix (("^" | "**") unary)?          right-associative: -x^2 = -(x^2), 2^-1 = 0.5
//   postfix := primary ("[" subscripts "]" | ".T" | "." NAME)*
//   primary := NUMBER | STRING | NAME | NAME "(" args ")" | "(" expr ")"
//
// Names may be dotted (raw.tv, grad.norm: the measurements `values` lists); X.T is X transposed.

/// An expression as parsed. `constant` is a value already computed (the targets fold the parts of a
/// loss term that do not depend on the image, so a step does not recompute the style's Gram matrix).
public indirect enum Expr: Equatable, Sendable {
    case number(Double)
    case string(String)
    case name(String)
    case call(String, [Expr])
    case negate(Expr)
    case binary(BinaryOperator, Expr, Expr)
    case transpose(Expr)
    case index(Expr, [Subscript])
    case constant(NDArray, text: String)
}

public enum BinaryOperator: String, Sendable, CaseIterable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", power = "^", matmul = "@"
    case less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">=", equal = "==", notEqual = "!="

    var precedence: Int {
        switch self {
        case .less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual: return 1
        case .add, .subtract: return 2
        case .multiply, .divide, .matmul: return 3
        case .power: return 5
        }
    }
}

/// One axis of `X[…]`: an index (that axis goes) or a range start:stop:step (NumPy's, ends optional).
public enum Subscript: Equatable, Sendable {
    case at(Int)
    case range(Int?, Int?, Int?)
}

// MARK: - Limits: a line is bounded, so no input can exhaust the stack or the time

enum ExpressionLimits {
    static let characters = 20_000
    static let depth = 64
    static let nodes = 5_000
}

// MARK: - Tokens

enum Token: Equatable {
    /// `call` is a name with "(" right after it: `f(x)` calls, `f (x)` is two things (`expect close a (b)`).
    case number(Double), string(String), name(String), call(String), symbol(String), end
}

func tokenizeExpression(_ text: String) throws -> [Token] {
    guard text.count <= ExpressionLimits.characters else {
        throw ExpressionError("an expression is at most \(ExpressionLimits.characters) characters; this one has \(text.count)")
    }
    let s = Array(text.unicodeScalars)
    var i = 0
    var tokens: [Token] = []
    func isDigit(_ u: Unicode.Scalar) -> Bool { ("0"..."9").contains(u) }
    func isNameStart(_ u: Unicode.Scalar) -> Bool { u == "_" || ("a"..."z").contains(u) || ("A"..."Z").contains(u) }
    while i < s.count {
        let u = s[i]
        if u == " " || u == "\t" {
            i += 1
        } else if isDigit(u) || (u == "." && i + 1 < s.count && isDigit(s[i + 1])) {
            var j = i
            while j < s.count, isDigit(s[j]) || s[j] == "." { j += 1 }
            if j < s.count, s[j] == "e" || s[j] == "E" {
                var k = j + 1
                if k < s.count, s[k] == "+" || s[k] == "-" { k += 1 }
                if k < s.count, isDigit(s[k]) {
                    j = k
                    while j < s.count, isDigit(s[j]) { j += 1 }
                }
            }
            let literal = String(String.UnicodeScalarView(s[i..<j]))
            guard let v = Double(literal), v.isFinite else { throw ExpressionError("'\(literal)' is not a number") }
            tokens.append(.number(v))
            i = j
        } else if isNameStart(u) {
            var j = i
            while j < s.count, isNameStart(s[j]) || isDigit(s[j]) { j += 1 }
            let name = String(String.UnicodeScalarView(s[i..<j]))
            if j < s.count, s[j] == "(" {
                tokens.append(.call(name))
                j += 1
            } else {
                tokens.append(.name(name))
            }
            i = j
        } else if u == "\"" || u == "'" {
            var j = i + 1
            while j < s.count, s[j] != u { j += 1 }
            guard j < s.count else { throw ExpressionError("a string opened with \(u) is not closed") }
            tokens.append(.string(String(String.UnicodeScalarView(s[(i + 1)..<j]))))
            i = j + 1
        } else {
            let two = i + 1 < s.count ? String(String.UnicodeScalarView([u, s[i + 1]])) : ""
            if ["<=", ">=", "==", "!=", "**"].contains(two) {
                tokens.append(.symbol(two == "**" ? "^" : two))
                i += 2
            } else if "+-*/^@()[],:.=<>".unicodeScalars.contains(u) {
                tokens.append(.symbol(String(u)))
                i += 1
            } else {
                throw ExpressionError("unexpected '\(Character(u))' in the expression")
            }
        }
    }
    tokens.append(.end)
    return tokens
}

// MARK: - Parser (recursive descent, depth-limited)

public func parseExpression(_ text: String) throws -> Expr {
    var p = ExpressionParser(tokens: try tokenizeExpression(text))
    let e = try p.expression()
    guard p.peek == .end else { throw ExpressionError("unexpected \(p.describePeek()) after a complete expression") }
    guard e.nodeCount <= ExpressionLimits.nodes else { throw ExpressionError("the expression is too long (at most \(ExpressionLimits.nodes) parts)") }
    return e
}

/// Two expressions side by side (`expect close A B`): the first ends where the second begins.
func parseTwoExpressions(_ text: String) throws -> (Expr, Expr) {
    var p = ExpressionParser(tokens: try tokenizeExpression(text))
    let a = try p.expression()
    guard p.peek != .end else { throw ExpressionError("expected two expressions to compare, found one") }
    let b = try p.expression()
    guard p.peek == .end else { throw ExpressionError("unexpected \(p.describePeek()) after the two expressions") }
    return (a, b)
}

struct ExpressionParser {
    let tokens: [Token]
    var position = 0
    var depth = 0

    init(tokens: [Token]) { self.tokens = tokens }

    var peek: Token { tokens[position] }
    mutating func advance() -> Token {
        defer { position += 1 }
        return tokens[position]
    }
    func describePeek() -> String {
        switch peek {
        case .number(let v): return "'\(NDArray.number(v))'"
        case .string(let s): return "\"\(s)\""
        case .name(let n): return "'\(n)'"
        case .call(let n): return "'\(n)('"
        case .symbol(let s): return "'\(s)'"
        case .end: return "the end of the line"
        }
    }
    mutating func accept(_ symbol: String) -> Bool {
        guard peek == .symbol(symbol) else { return false }
        position += 1
        return true
    }
    mutating func expect(_ symbol: String) throws {
        guard accept(symbol) else { throw ExpressionError("expected '\(symbol)' but found \(describePeek())") }
    }

    mutating func nested<T>(_ body: (inout ExpressionParser) throws -> T) throws -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= ExpressionLimits.depth else {
            throw ExpressionError("the expression nests too deeply (at most \(ExpressionLimits.depth) levels)")
        }
        return try body(&self)
    }

    mutating func expression() throws -> Expr {
        try nested { p in
            let left = try p.sum()
            for op in [BinaryOperator.lessEqual, .greaterEqual, .equal, .notEqual, .less, .greater] where p.accept(op.rawValue) {
                return .binary(op, left, try p.sum())
            }
            return left
        }
    }

    mutating func sum() throws -> Expr {
        var e = try product()
        while true {
            if accept("+") { e = .binary(.add, e, try product()) } else if accept("-") { e = .binary(.subtract, e, try product()) } else { return e }
        }
    }

    mutating func product() throws -> Expr {
        var e = try unary()
        while true {
            if accept("*") {
                e = .binary(.multiply, e, try unary())
            } else if accept("/") {
                e = .binary(.divide, e, try unary())
            } else if accept("@") {
                e = .binary(.matmul, e, try unary())
            } else {
                return e
            }
        }
    }

    mutating func unary() throws -> Expr {
        try nested { p in
            if p.accept("-") { return .negate(try p.unary()) }
            if p.accept("+") { return try p.unary() }
            let base = try p.postfix()
            if p.accept("^") { return .binary(.power, base, try p.unary()) }
            return base
        }
    }

    mutating func postfix() throws -> Expr {
        var e = try primary()
        while true {
            if accept("[") {
                e = .index(e, try subscripts())
            } else if accept(".") {
                guard case .name(let field) = advance() else { throw ExpressionError("expected a name after '.'") }
                if field == "T" {
                    e = .transpose(e)
                } else if case .name(let base) = e {
                    e = .name(base + "." + field)  // a measurement: raw.tv, grad.norm
                } else {
                    throw ExpressionError("'.\(field)': only .T follows a value (X.T is X transposed)")
                }
            } else {
                return e
            }
        }
    }

    mutating func subscripts() throws -> [Subscript] {
        var out: [Subscript] = []
        repeat {
            if peek == .symbol("]") { break }
            let start = try optionalInteger()
            if accept(":") {
                let stop = try optionalInteger()
                var step: Int? = nil
                if accept(":") { step = try optionalInteger() }
                out.append(.range(start, stop, step))
            } else {
                guard let start else { throw ExpressionError("expected an index or a range (a:b) but found \(describePeek())") }
                out.append(.at(start))
            }
        } while accept(",")
        try expect("]")
        guard !out.isEmpty else { throw ExpressionError("[] needs an index or a range for each axis") }
        return out
    }

    mutating func optionalInteger() throws -> Int? {
        let negative = accept("-")
        guard case .number(let v) = peek else {
            if negative { throw ExpressionError("expected a whole number after '-'") }
            return nil
        }
        position += 1
        guard v == v.rounded(), abs(v) < 1e15 else { throw ExpressionError("an index is a whole number; got \(NDArray.number(v))") }
        return negative ? -Int(v) : Int(v)
    }

    mutating func primary() throws -> Expr {
        switch advance() {
        case .number(let v): return .number(v)
        case .string(let s): return .string(s)
        case .name(let n): return .name(n)
        case .call(let n):
            var args: [Expr] = []
            if !accept(")") {
                repeat {
                    // axis=K, as NumPy writes it: the same as K in the axis's place.
                    if case .name("axis") = peek, tokens[position + 1] == .symbol("=") { position += 2 }
                    args.append(try expression())
                } while accept(",")
                try expect(")")
            }
            return .call(n, args)
        case .symbol("("):
            let e = try expression()
            try expect(")")
            return e
        case .end: throw ExpressionError("the expression ends too soon")
        case let t:
            position -= 1
            defer { position += 1 }
            throw ExpressionError("unexpected \(describePeek())" + (t == .symbol("=") ? " (let NAME = EXPR names a value)" : ""))
        }
    }
}

// MARK: - Walking and printing

extension Expr {
    var children: [Expr] {
        switch self {
        case .number, .string, .name, .constant: return []
        case .call(_, let args): return args
        case .negate(let e), .transpose(let e), .index(let e, _): return [e]
        case .binary(_, let a, let b): return [a, b]
        }
    }

    var nodeCount: Int { 1 + children.reduce(0) { $0 + $1.nodeCount } }

    /// Every name the expression reads as a value (not the functions it calls, nor the words
    /// that are arguments: feat's layer and image, grad's and value's names).
    var names: Set<String> {
        switch self {
        case .name(let n): return [n]
        case .call(let f, _) where Expr.wordArguments.contains(f): return []
        default: return children.reduce(into: Set<String>()) { $0.formUnion($1.names) }
        }
    }

    /// The functions whose arguments are words, not values.
    static let wordArguments: Set<String> = ["feat", "grad", "value"]

    /// Replaces each name `substitute` knows by its expression (a loss term reads its `let`s' definitions).
    func substituting(_ substitute: (String) -> Expr?) -> Expr {
        switch self {
        case .name(let n): return substitute(n) ?? self
        case .number, .string, .constant: return self
        case .call(let f, let args):
            // feat(LAYER, SOURCE): the layer and the source are words, not values.
            if Expr.wordArguments.contains(f) { return self }
            return .call(f, args.map { $0.substituting(substitute) })
        case .negate(let e): return .negate(e.substituting(substitute))
        case .transpose(let e): return .transpose(e.substituting(substitute))
        case .index(let e, let s): return .index(e.substituting(substitute), s)
        case .binary(let op, let a, let b): return .binary(op, a.substituting(substitute), b.substituting(substitute))
        }
    }

    private var precedence: Int {
        switch self {
        case .binary(let op, _, _): return op.precedence
        case .negate: return 4
        default: return 6
        }
    }

    /// The expression as text that parses back to it (with the parentheses it needs, no more).
    public var text: String {
        func wrap(_ e: Expr, _ needed: Bool) -> String { needed ? "(\(e.text))" : e.text }
        switch self {
        case .number(let v): return NDArray.number(v)
        case .string(let s): return "\"\(s)\""
        case .name(let n): return n
        case .constant(_, let text): return text
        case .call(let f, let args): return f + "(" + args.map(\.text).joined(separator: ", ") + ")"
        case .negate(let e): return "-" + wrap(e, e.precedence < 5)
        case .transpose(let e): return wrap(e, e.precedence < 6) + ".T"
        case .index(let e, let subs):
            let s = subs.map { sub -> String in
                switch sub {
                case .at(let i): return "\(i)"
                case .range(let a, let b, let c):
                    return (a.map(String.init) ?? "") + ":" + (b.map(String.init) ?? "") + (c.map { ":\($0)" } ?? "")
                }
            }
            return wrap(e, e.precedence < 6) + "[" + s.joined(separator: ", ") + "]"
        case .binary(let op, let a, let b):
            let p = op.precedence
            // ^ is right-associative; the others left: a - (b - c) keeps its parentheses.
            let left = op == .power ? a.precedence <= p : a.precedence < p
            let right = op == .power ? b.precedence < 4 : b.precedence <= p
            let space = op == .power ? "" : " "
            return wrap(a, left) + space + op.rawValue + space + wrap(b, right)
        }
    }
}
