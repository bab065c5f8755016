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

public protocol Optimizer: Sendable {
    var name: String { get }
    /// Iterations taken so far (the schedule's k).
    var iteration: Int { get }
    /// One iteration: updates x in place.
    mutating func step(_ x: inout [Float], _ evaluate: Objective) throws -> OptimizerStep
    /// The settings, for display: name → value.
    var settings: [(String, String)] { get }
    /// Bytes of state held (for snapshot accounting).
    var stateBytes: Int { get }
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
        throw OptimizerError.nonFinite("the loss at iteration \(k + 1) is \(loss)")
    }
    guard g.allSatisfy({ $0.isFinite }) else {
        throw OptimizerError.nonFinite("the gradient at iteration \(k + 1) has non-finite entries")
    }
}
