// Adam (Kingma & Ba, 2015), bias-corrected, as torch.optim.Adam:
//   m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²
//   m̂ = m / (1 − β₁ᵗ),       v̂ = v / (1 − β₂ᵗ)
//   x ← x − lr · m̂ / (√v̂ + ε)

import Foundation

public struct Adam: Optimizer {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public internal(set) var iteration = 0
    var m: [Float] = []
    var v: [Float] = []

    /// lr 10 on the 0–255 pixel scale, as jcjohnson/neural-style's Adam default.
    public init(learningRate: Double = 10, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public static let kind = "adam"
    public static let summary = "Adam (Kingma & Ba), bias-corrected moments"
    public init() { self.init(learningRate: 10) }

    public var baseLearningRate: Double {
        get { learningRate }
        set { learningRate = newValue }
    }

    public func keepingState(withSettingsOf o: Adam) -> Adam {
        var s = self
        s.learningRate = o.learningRate
        s.beta1 = o.beta1
        s.beta2 = o.beta2
        s.epsilon = o.epsilon
        return s
    }

    public func restarted() -> Adam { Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon) }

    /// The moments are per pixel: the first resized like the image, the second (a mean square)
    /// kept non-negative, as crowsonkb/style-transfer-pytorch carries them between scales.
    public mutating func resizeState(_ resize: ([Float], Bool) -> [Float]) {
        guard !m.isEmpty else { return }
        m = resize(m, false)
        v = resize(v, true)
    }

    public mutating func step(_ x: inout [Float], _ evaluate: Objective) throws -> OptimizerStep {
        let (loss, g) = try evaluate(x)
        try checkFinite(loss, g, at: iteration)
        if m.count != x.count || v.count != x.count {
            m = [Float](repeating: 0, count: x.count)
            v = [Float](repeating: 0, count: x.count)
        }
        let t = Double(iteration + 1)
        let b1 = Float(beta1), b2 = Float(beta2)
        let mHatScale = Float(1 / (1 - Foundation.pow(beta1, t)))
        let vHatScale = Float(1 / (1 - Foundation.pow(beta2, t)))
        let lr = Float(learningRate), eps = Float(epsilon)
        for i in 0..<x.count {
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            let mHat = m[i] * mHatScale
            let vHat = v[i] * vHatScale
            x[i] -= lr * mHat / (vHat.squareRoot() + eps)
        }
        iteration += 1
        return OptimizerStep(lossBefore: loss, gradientNorm: norm2(g), stepSize: learningRate, evaluations: 1)
    }

    public var settings: [(String, String)] {
        [("lr", "\(learningRate)"), ("beta1", "\(beta1)"), ("beta2", "\(beta2)"), ("epsilon", "\(epsilon)")]
    }

    public var stateBytes: Int { (m.count + v.count) * 4 }
    public var stateVectors: Int { 2 }
}
