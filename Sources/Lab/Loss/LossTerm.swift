import Foundation
import Kernels

// A loss term kind is one file: its name, the option that weights it, which terms a configuration
// has of it, the targets it compares with, its float32 value and gradient, and its float64
// reference for the gradient check. Everything else — the loss, `loss`, `grad --term`, `history`,
// `expect term`, `values`, completion, the options and the archive — walks `LossTerms.all`.
// Adding a kind is a file and one line in that list.

/// A kind of term by name ("content", "style", "tv", …), as the archive and the shell write it.
public struct TermKind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let content = TermKind(rawValue: "content")
    public static let style = TermKind(rawValue: "style")
    public static let totalVariation = TermKind(rawValue: "tv")
}

/// One term as configured: what it measures, at which layer, with which weight.
public struct TermSpec: Equatable, Sendable {
    public var kind: TermKind
    public var layer: String?  // nil: the image itself (total variation)
    public var weight: Double
}

/// What a term's evaluation sees: the image, the network's outputs at the layers the loss reads.
struct TermContext {
    let image: Tensor  // (3, H, W), as VGG19 sees it
    let outputs: [String: Tensor]
    let targets: LossTargets
    let configuration: LossConfiguration
    let compute: Compute
}

/// A term's raw value and, when asked, its weighted gradient: at its layer's output (each part
/// computed only when the backward reaches that layer), or at the image.
struct TermResult {
    var raw: Double
    var layerGradients: [() throws -> Tensor] = []
    /// At other layers than its own (a term of the learner's own reads several).
    var gradientsAtLayers: [String: [() throws -> Tensor]] = [:]
    var imageGradient: (() throws -> Tensor)? = nil
}

/// A layer's output in float64: (C, H, W) values.
struct DoubleFeatures {
    var data: [Double]
    var c: Int, h: Int, w: Int
}

/// What a term's float64 reference sees (the gradient check's plain-loop network).
struct DoubleTermContext {
    let image: [Double]
    let height: Int, width: Int
    let outputs: [String: DoubleFeatures]
    let targets: LossTargets
    let configuration: LossConfiguration
    /// The float32 targets in Double, converted once (the check evaluates many times).
    let contentTargets: [String: [Double]]
    let styleGrams: [[String: [Double]]]
}

/// What the targets are made from: the images as VGG19 sees them, and the network.
public struct TargetInputs {
    public var content: Tensor
    public var styles: [StyleInput]
    public var contentMask: PositionMask?
    public var configuration: LossConfiguration
    public var vgg: VGG19
    public var compute: Compute
}

protocol LossTerm: Sendable {
    var kind: TermKind { get }
    /// The option that sets its weight ("content-weight"), its help line, and its weight in the
    /// Keras example (0 for a kind the example does not have: no term until it is weighted).
    var weightOption: String { get }
    var defaultWeight: Double { get }
    var weightHelp: String { get }
    /// One line for the loss's help: what the term measures.
    var summary: String { get }
    /// Its name in tables, for a term on the image ("total variation").
    var title: String { get }
    /// The terms of this kind the configuration has: one per layer, or one on the image.
    func specs(_ c: LossConfiguration) -> [TermSpec]
    /// Computes what it compares with, once per change of images or configuration.
    func makeTargets(_ inputs: TargetInputs, into targets: inout LossTargets) throws
    /// The raw value in float32 and, with a weight, the gradient of weight × raw.
    func evaluate(_ spec: TermSpec, _ x: TermContext, gradientWeight: Double?) throws -> TermResult
    /// The raw value in float64 plain loops (the gradient check).
    func reference(_ spec: TermSpec, _ x: DoubleTermContext) -> Double
}

extension LossTerm {
    var title: String { kind.rawValue }
    func makeTargets(_ inputs: TargetInputs, into targets: inout LossTargets) throws {}
}

/// The loss term kinds, in the order they are evaluated and shown.
enum LossTerms {
    static let all: [any LossTerm] = [ContentTerm(), StyleTerm(), TotalVariationTerm(), LaplacianTerm()]

    static func named(_ kind: TermKind) -> (any LossTerm)? { all.first { $0.kind == kind } }
    /// A built-in kind, or one of the configuration's own terms (`loss add`).
    static func named(_ kind: TermKind, in c: LossConfiguration) -> (any LossTerm)? {
        named(kind) ?? c.customTerms.first { $0.name == kind.rawValue }.map(CustomTerm.init)
    }
    static var kinds: [TermKind] { all.map(\.kind) }
}

/// One term evaluated: raw (before its weight) and weighted.
public struct TermValue: Equatable, Sendable, Codable {
    public var kind: TermKind
    public var layer: String?
    public var raw: Double
    public var weight: Double
    public var weighted: Double

    public init(_ spec: TermSpec, raw: Double) {
        kind = spec.kind
        layer = spec.layer
        self.raw = raw
        weight = spec.weight
        weighted = spec.weight * raw
    }

    /// "content block5_conv2", "style block1_conv1", "tv".
    public var label: String { layer.map { "\(kind.rawValue) \($0)" } ?? kind.rawValue }
    /// As `expect term`, `values` and `grad --term` name it: "style:block1_conv1", "tv".
    public var name: String { layer.map { "\(kind.rawValue):\($0)" } ?? kind.rawValue }
}

/// Every term on its own, raw and weighted, and the total.
public struct LossBreakdown: Sendable, Equatable {
    public var terms: [TermValue] = []

    public init(terms: [TermValue] = []) { self.terms = terms }

    public func terms(_ kind: TermKind) -> [TermValue] { terms.filter { $0.kind == kind } }
    public func weighted(_ kind: TermKind) -> Double { terms(kind).reduce(0) { $0 + $1.weighted } }
    public func raw(_ kind: TermKind) -> Double { terms(kind).reduce(0) { $0 + $1.raw } }
    public func term(_ kind: TermKind, layer: String? = nil) -> TermValue? {
        terms.first { $0.kind == kind && (layer == nil || $0.layer == layer) }
    }
    /// The kinds present, in the registry's order, then the learner's own terms in theirs.
    public var kinds: [TermKind] { Self.ordered(terms.map(\.kind)) }
    /// The kinds a configuration's loss has, in the same order.
    static func kinds(of c: LossConfiguration) -> [TermKind] { ordered(c.terms.map(\.kind)) }

    private static func ordered(_ present: [TermKind]) -> [TermKind] {
        var out = LossTerms.kinds.filter(present.contains)
        for k in present where !out.contains(k) { out.append(k) }
        return out
    }

    public var contentTotal: Double { weighted(.content) }
    public var styleTotal: Double { weighted(.style) }
    public var total: Double { terms.reduce(0) { $0 + $1.weighted } }
    public var isFinite: Bool { total.isFinite && terms.allSatisfy { $0.raw.isFinite } }
}

/// Which terms a gradient is taken of: all (the total), every term of a kind, or one layer's.
public enum TermSelection: Equatable, Sendable {
    case total
    case kind(TermKind, layer: String?)

    public static let content = TermSelection.kind(.content, layer: nil)
    public static let totalVariation = TermSelection.kind(.totalVariation, layer: nil)
    public static func style(_ layer: String?) -> TermSelection { .kind(.style, layer: layer) }

    func includes(_ spec: TermSpec) -> Bool {
        switch self {
        case .total: return true
        case .kind(let kind, let layer): return spec.kind == kind && (layer == nil || layer == spec.layer)
        }
    }

    /// "total", a kind ("style"), or a kind at one layer ("style:block1_conv1").
    /// `configuration` adds its own terms (`loss add`) to the kinds.
    public static func parse(_ text: String, configuration: LossConfiguration? = nil) throws -> TermSelection {
        if text == "total" { return .total }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let kind = TermKind(rawValue: parts.first ?? "")
        let custom = configuration?.customTerms.map(\.name) ?? []
        guard LossTerms.named(kind) != nil || (custom.contains(kind.rawValue) && parts.count == 1) else {
            let names = ["total"] + LossTerms.kinds.map(\.rawValue) + custom
            throw UsageError("--term is \(names.joined(separator: ", ")) or KIND:LAYER; got '\(text)'")
        }
        return .kind(kind, layer: parts.count == 2 ? parts[1] : nil)
    }

    /// Every name `--term` takes with this loss: total, each kind, each kind at each of its layers.
    static func names(_ c: LossConfiguration) -> [String] {
        ["total"] + LossBreakdown.kinds(of: c).map(\.rawValue) + c.terms.compactMap { s in s.layer.map { "\(s.kind.rawValue):\($0)" } }
    }
}

/// "content 1.2e+03  style 4.5e+04 (b1c1 …)  tv 6.7e+01" — the weighted terms on one line.
public func describeTerms(_ b: LossBreakdown) -> String {
    func e(_ x: Double) -> String { String(format: "%.3e", x) }
    func short(_ layer: String) -> String {
        layer.replacingOccurrences(of: "block", with: "b").replacingOccurrences(of: "_conv", with: "c")
    }
    return b.kinds.map { kind in
        let terms = b.terms(kind)
        let layers = terms.compactMap { t in t.layer.map { "\(short($0)) \(e(t.weighted))" } }
        let detail = kind == .style && !layers.isEmpty ? " (\(layers.joined(separator: ", ")))" : ""
        return "\(kind.rawValue) \(e(b.weighted(kind)))\(detail)"
    }.joined(separator: "  ")
}
