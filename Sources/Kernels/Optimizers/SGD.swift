// Gradient descent with the Keras example's schedule, and optional momentum.
//   lr_k = lr₀ · rate^(k / decaySteps)            (ExponentialDecay, staircase = false)
//   v ← μ v − lr_k ∇f(x);   x ← x + v             (μ = 0: x ← x − lr_k ∇f(x), the example)

import Foundation

public struct SGD: Optimizer {
    public var initialLearningRate: Double
    public var decaySteps: Double
    public var decayRate: Double
    public var momentum: Double
    public internal(set) var iteration = 0
    var velocity: [Float] = []

    /// The example: SGD(ExponentialDecay(initial_learning_rate=100.0, decay_steps=100, decay_rate=0.96)).
    public init(learningRate: Double = 100, decaySteps: Double = 100, decayRate: Double = 0.96, momentum: Double = 0) {
        self.initialLearningRate = learningRate
        self.decaySteps = decaySteps
        self.decayRate = decayRate
        self.momentum = momentum
    }

    public static let kind = "sgd"
    public static let summary = "lr·0.96^(k/100) (the example's ExponentialDecay), optional momentum"
    public init() { self.init(learningRate: 100) }

    public var baseLearningRate: Double {
        get { initialLearningRate }
        set { initialLearningRate = newValue }
    }

    public func keepingState(withSettingsOf o: SGD) -> SGD {
        var s = self
        s.initialLearningRate = o.initialLearningRate
        s.decaySteps = o.decaySteps
        s.decayRate = o.decayRate
        s.momentum = o.momentum
        return s
    }

    public func restarted() -> SGD {
        SGD(learningRate: initialLearningRate, decaySteps: decaySteps, decayRate: decayRate, momentum: momentum)
    }

    /// The velocity is per pixel: resized with the image.
    public mutating func resizeState(_ resize: ([Float], Bool) -> [Float]) {
        if !velocity.isEmpty { velocity = resize(velocity, false) }
    }

    public func learningRate(at k: Int) -> Double {
        initialLearningRate * Foundation.pow(decayRate, Double(k) / decaySteps)
    }

    public mutating func step(_ x: inout [Float], _ evaluate: Objective) throws -> OptimizerStep {
        let (loss, g) = try evaluate(x)
        try checkFinite(loss, g, at: iteration)
        let lr = learningRate(at: iteration)
        if momentum == 0 {
            let s = Float(lr)
            for i in 0..<x.count { x[i] -= s * g[i] }
        } else {
            if velocity.count != x.count { velocity = [Float](repeating: 0, count: x.count) }
            let mu = Float(momentum), s = Float(lr)
            for i in 0..<x.count {
                velocity[i] = mu * velocity[i] - s * g[i]
                x[i] += velocity[i]
            }
        }
        iteration += 1
        return OptimizerStep(lossBefore: loss, gradientNorm: norm2(g), stepSize: lr, evaluations: 1)
    }

    public var settings: [(String, String)] {
        [
            ("lr", "\(initialLearningRate)"), ("decay_steps", "\(decaySteps)"), ("decay_rate", "\(decayRate)"),
            ("momentum", "\(momentum)"), ("lr now", String(format: "%g", learningRate(at: iteration))),
        ]
    }

    public var stateBytes: Int { velocity.count * 4 }
    public var stateVectors: Int { 1 }
}
