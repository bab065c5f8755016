// Optimisers over a flat vector x (the combination image), one iteration per call, their
// state a plain value so a session can snapshot it and rewind.
//
// `evaluate(x)` returns the loss and its gradient at x. An iteration may call it once (SGD,
// Adam) or several times (L-BFGS's line search); `Step.evaluations` says how many.

public typealias Objective = ([Float]) throws -> (loss: Double, gradient: [Float])

public struct OptimizerStep: Sendable {
    /// The loss at the x the iteration started from (what the Keras example prints).
    public var lossBefore: Double
    /// ‖∇loss‖₂ at that x.
    public var gradientNorm: Double
    /// The learning rate (SGD, Adam) or accepted step length (L-BFGS) used.
    public var stepSize: Double
    /// Calls of the objective this iteration made.
    public var evaluations: Int
}

public enum OptimizerError: Error, CustomStringConvertible, Equatable {
    case nonFinite(String)
    /// Saved state that cannot be used (a damaged or edited archive).
    case invalidState(String)

    public var description: String {
        switch self {
        case .nonFinite(let s), .invalidState(let s): return s
        }
    }
}

/// Everything the session, the options and the archive need to know about an optimiser is here,
/// so adding one is this protocol and a line in `OptimizerRegistry.all` — no type switches elsewhere.
public protocol Optimizer: Sendable {
    /// Its name in the options, the history and the archive ("sgd").
    static var kind: String { get }
    /// One line for `--optimizer`'s help.
    static var summary: String { get }
    /// The default settings.
    init()
    /// It evaluates the loss at trial points and ends an iteration at the last one it evaluated
    /// (L-BFGS), so the loss at the new image is already known.
    static var searchesLine: Bool { get }
    /// Rebuilds a saved optimiser for an image of `vectorLength` values, checking every value.
    init(state: OptimizerState, vectorLength: Int) throws
    /// Settings and state as plain data (`session save`).
    var state: OptimizerState { get }
    var name: String { get }
    /// The learning rate `--lr` sets (SGD: the schedule's initial rate).
    var baseLearningRate: Double { get set }
    /// The same settings with no state: a run that starts again.
    func restarted() -> Self
    /// The loss changed under it (a weight, a layer, the targets): drop what was learnt of the old one.
    mutating func objectiveChanged()
    /// The image changed size (coarse to fine): per-pixel state is carried over by `resize(v, nonNegative)`.
    mutating func resizeState(_ resize: (_ v: [Float], _ nonNegative: Bool) -> [Float])
    /// This optimiser's state (moments, history, iteration) with `other`'s settings (learning rate,
    /// decay, betas…): a rewind goes back in the run, not in what the learner has since set.
    func keepingState(withSettingsOf other: Self) -> Self
    /// Iterations taken so far (the schedule's k).
    var iteration: Int { get }
    /// One iteration: updates x in place.
    mutating func step(_ x: inout [Float], _ evaluate: Objective) throws -> OptimizerStep
    /// The settings, for display: name → value.
    var settings: [(String, String)] { get }
    /// Bytes of state held (for snapshot accounting).
    var stateBytes: Int { get }
    /// Image-sized vectors of state it may hold at most (for the memory estimate).
    var stateVectors: Int { get }
}

extension Optimizer {
    public var name: String { Self.kind }
    public static var searchesLine: Bool { false }
    public mutating func objectiveChanged() {}
}

/// The optimisers, once: the options, help, completion and archives are derived from this list.
public enum OptimizerRegistry {
    public static let all: [any Optimizer.Type] = [SGD.self, Adam.self, LBFGS.self]
    public static var kinds: [String] { all.map { $0.kind } }

    /// A fresh optimiser with its default settings, or nil for an unknown name.
    public static func make(_ kind: String) -> (any Optimizer)? {
        all.first { $0.kind == kind }.map { $0.init() }
    }

    /// Rebuilds a saved optimiser (see `Optimizer.init(state:vectorLength:)`).
    public static func restore(_ state: OptimizerState, vectorLength n: Int) throws -> any Optimizer {
        // The iteration drives schedules and bias corrections; the session checks it against the history.
        guard (0...100_000_000).contains(state.iteration) else {
            throw OptimizerError.invalidState("saved \(state.kind) optimiser: iteration \(state.iteration) is out of range")
        }
        guard let type = all.first(where: { $0.kind == state.kind }) else {
            throw OptimizerError.invalidState("saved \(state.kind) optimiser: unknown optimiser '\(state.kind)'")
        }
        return try type.init(state: state, vectorLength: n)
    }
}

@inline(__always)
func norm2(_ v: [Float]) -> Double {
    var s = 0.0
    for x in v { s += Double(x) * Double(x) }
    return s.squareRoot()
}

@inline(__always)
func dot(_ a: [Float], _ b: [Float]) -> Double {
    var s = 0.0
    for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
    return s
}

func checkFinite(_ loss: Double, _ g: [Float], at k: Int) throws {
    guard loss.isFinite else {
        throw OptimizerError.nonFinite("the loss there is \(loss)")
    }
    guard g.allSatisfy({ $0.isFinite }) else {
        throw OptimizerError.nonFinite("the gradient there has non-finite entries")
    }
}
