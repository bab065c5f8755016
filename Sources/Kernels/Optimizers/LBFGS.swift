// L-BFGS (Nocedal & Wright, Algorithm 7.4/7.5), one iteration per call.
//
//   d = −H·g by the two-loop recursion over the last `historySize` pairs
//       s = x_{k+1} − x_k, y = g_{k+1} − g_k  (H₀ = (sᵀy / yᵀy) I; at the first iteration a
//       step of min(1, 1/‖g‖₁)·lr, as torch.optim.LBFGS takes)
//   then a backtracking line search along d: t = lr, halved until the Armijo condition
//       f(x + t d) ≤ f(x) + c₁ t gᵀd  (c₁ = 1e-4) holds, at most `maxLineSearch` halvings.
//
// Evaluations per iteration: 1 for each trial point of the line search (the loss and gradient
// at the accepted point are kept, so the next iteration starts without evaluating again),
// plus 1 on the very first iteration to get f and g at the start.

import Foundation

public struct LBFGS: Optimizer {
    public var learningRate: Double
    public var historySize: Int
    public var maxLineSearch: Int
    public internal(set) var iteration = 0
    var s: [[Float]] = []
    var y: [[Float]] = []
    var current: (loss: Double, gradient: [Float])? = nil

    public init(learningRate: Double = 1, historySize: Int = 10, maxLineSearch: Int = 20) {
        self.learningRate = learningRate
        self.historySize = max(1, historySize)
        self.maxLineSearch = maxLineSearch
    }

    public static let kind = "lbfgs"
    public static let searchesLine = true
    public static let summary = "L-BFGS with a backtracking line search (several evaluations per iteration)"
    public init() { self.init(learningRate: 1) }

    public var baseLearningRate: Double {
        get { learningRate }
        set { learningRate = newValue }
    }

    public func keepingState(withSettingsOf o: LBFGS) -> LBFGS {
        var s = self
        s.learningRate = o.learningRate
        s.maxLineSearch = o.maxLineSearch
        if o.historySize < s.historySize {
            s.s = Array(s.s.suffix(o.historySize))
            s.y = Array(s.y.suffix(o.historySize))
        }
        s.historySize = o.historySize
        return s
    }

    public func restarted() -> LBFGS { LBFGS(learningRate: learningRate, historySize: historySize, maxLineSearch: maxLineSearch) }

    /// Curvature pairs of another image size mean nothing at this one: start the memory afresh.
    public mutating func resizeState(_ resize: ([Float], Bool) -> [Float]) { objectiveChanged() }

    /// Forget the cached loss (after the objective changed: a weight, a layer, the targets).
    public mutating func objectiveChanged() {
        current = nil
        s.removeAll()
        y.removeAll()
    }

    public mutating func step(_ x: inout [Float], _ evaluate: Objective) throws -> OptimizerStep {
        var evaluations = 0
        if current == nil || current!.gradient.count != x.count {
            current = try evaluate(x)
            evaluations += 1
        }
        let (f0, g0) = current!
        try checkFinite(f0, g0, at: iteration)
        // State from elsewhere (an archive) that does not fit this image: start the memory afresh.
        if s.count != y.count || s.contains(where: { $0.count != x.count }) || y.contains(where: { $0.count != x.count }) {
            s.removeAll()
            y.removeAll()
        }

        // Two-loop recursion: d = −H g.
        var q = g0
        var alphas = [Double](repeating: 0, count: s.count)
        for i in stride(from: s.count - 1, through: 0, by: -1) {
            let rho = 1 / dot(y[i], s[i])
            alphas[i] = rho * dot(s[i], q)
            let a = Float(alphas[i])
            for j in 0..<q.count { q[j] -= a * y[i][j] }
        }
        var gamma = 1.0
        if let sl = s.last, let yl = y.last { gamma = dot(sl, yl) / dot(yl, yl) }
        var d = q.map { Float(gamma) * $0 }
        for i in 0..<s.count {
            let rho = 1 / dot(y[i], s[i])
            let beta = rho * dot(y[i], d)
            let c = Float(alphas[i] - beta)
            for j in 0..<d.count { d[j] += c * s[i][j] }
        }
        for j in 0..<d.count { d[j] = -d[j] }

        var slope = dot(g0, d)
        if !(slope < 0) {
            // Not a descent direction (numerical trouble): fall back to steepest descent.
            d = g0.map { -$0 }
            slope = dot(g0, d)
            s.removeAll()
            y.removeAll()
        }
        let gNorm1 = g0.reduce(0.0) { $0 + Double(abs($1)) }
        var t = s.isEmpty ? min(1, 1 / max(gNorm1, 1e-30)) * learningRate : learningRate

        var accepted: (x: [Float], loss: Double, gradient: [Float])? = nil
        for _ in 0...max(0, maxLineSearch) {
            let trial = (0..<x.count).map { x[$0] + Float(t) * d[$0] }
            let (f, g) = try evaluate(trial)
            evaluations += 1
            if f.isFinite && f <= f0 + 1e-4 * t * slope && g.allSatisfy({ $0.isFinite }) {
                accepted = (trial, f, g)
                break
            }
            t /= 2
        }
        guard let next = accepted else {
            throw OptimizerError.nonFinite("the L-BFGS line search found no decrease after \(maxLineSearch) halvings (loss \(f0))")
        }
        let sNew = (0..<x.count).map { next.x[$0] - x[$0] }
        let yNew = (0..<x.count).map { next.gradient[$0] - g0[$0] }
        if dot(sNew, yNew) > 1e-10 {  // keep H positive definite
            s.append(sNew)
            y.append(yNew)
            if s.count > historySize {
                s.removeFirst()
                y.removeFirst()
            }
        }
        x = next.x
        current = (next.loss, next.gradient)
        iteration += 1
        return OptimizerStep(lossBefore: f0, gradientNorm: norm2(g0), stepSize: t, evaluations: evaluations)
    }

    public var settings: [(String, String)] {
        [
            ("lr", "\(learningRate)"), ("history", "\(historySize)"), ("pairs kept", "\(s.count)"),
            ("max line search", "\(maxLineSearch)"),
        ]
    }

    /// s and y pairs, the kept gradient, and the line search's trial point and direction.
    public var stateVectors: Int { 2 * historySize + 3 }
    public var stateBytes: Int { (s.reduce(0) { $0 + $1.count } * 2 + (current?.gradient.count ?? 0)) * 4 }
}
