import Foundation

/// An optimiser's settings and state as plain data, so a session can be saved and reopened
/// exactly: vectors are stored as little-endian float32 bytes.
public struct OptimizerState: Codable, Sendable, Equatable {
    public var kind: String
    public var iteration: Int
    public var scalars: [String: Double] = [:]
    public var vectors: [String: Data] = [:]
    public var vectorLists: [String: [Data]] = [:]

    public static func pack(_ v: [Float]) -> Data { v.withUnsafeBufferPointer { Data(buffer: $0) } }
    public static func unpack(_ d: Data) -> [Float] {
        d.withUnsafeBytes { raw in (0..<(d.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }

    public static func capture(_ o: any Optimizer) -> OptimizerState {
        switch o {
        case let s as SGD:
            return OptimizerState(kind: "sgd", iteration: s.iteration,
                                  scalars: ["lr": s.initialLearningRate, "decay_steps": s.decaySteps, "decay_rate": s.decayRate, "momentum": s.momentum],
                                  vectors: ["velocity": pack(s.velocity)])
        case let a as Adam:
            return OptimizerState(kind: "adam", iteration: a.iteration,
                                  scalars: ["lr": a.learningRate, "beta1": a.beta1, "beta2": a.beta2, "epsilon": a.epsilon],
                                  vectors: ["m": pack(a.m), "v": pack(a.v)])
        case let l as LBFGS:
            var state = OptimizerState(kind: "lbfgs", iteration: l.iteration,
                                       scalars: ["lr": l.learningRate, "history": Double(l.historySize), "max_line_search": Double(l.maxLineSearch)],
                                       vectorLists: ["s": l.s.map(pack), "y": l.y.map(pack)])
            if let c = l.current { state.scalars["current_loss"] = c.loss; state.vectors["current_gradient"] = pack(c.gradient) }
            return state
        default:
            return OptimizerState(kind: o.name, iteration: o.iteration)
        }
    }

    public func restore() throws -> any Optimizer {
        func s(_ k: String) throws -> Double {
            guard let v = scalars[k] else { throw OptimizerError.nonFinite("saved \(kind) optimiser lacks \(k)") }
            return v
        }
        switch kind {
        case "sgd":
            var o = SGD(learningRate: try s("lr"), decaySteps: try s("decay_steps"), decayRate: try s("decay_rate"), momentum: try s("momentum"))
            o.restore(iteration: iteration, velocity: OptimizerState.unpack(vectors["velocity"] ?? Data()))
            return o
        case "adam":
            var o = Adam(learningRate: try s("lr"), beta1: try s("beta1"), beta2: try s("beta2"), epsilon: try s("epsilon"))
            o.restore(iteration: iteration, m: OptimizerState.unpack(vectors["m"] ?? Data()), v: OptimizerState.unpack(vectors["v"] ?? Data()))
            return o
        case "lbfgs":
            var o = LBFGS(learningRate: try s("lr"), historySize: Int(try s("history")), maxLineSearch: Int(try s("max_line_search")))
            let current = scalars["current_loss"].map { ($0, OptimizerState.unpack(vectors["current_gradient"] ?? Data())) }
            o.restore(iteration: iteration, s: (vectorLists["s"] ?? []).map(OptimizerState.unpack),
                      y: (vectorLists["y"] ?? []).map(OptimizerState.unpack), current: current)
            return o
        default:
            throw OptimizerError.nonFinite("unknown optimiser '\(kind)' in the saved session")
        }
    }
}

extension SGD {
    mutating func restore(iteration: Int, velocity: [Float]) { self.iteration = iteration; self.velocity = velocity }
}
extension Adam {
    mutating func restore(iteration: Int, m: [Float], v: [Float]) { self.iteration = iteration; self.m = m; self.v = v }
}
extension LBFGS {
    mutating func restore(iteration: Int, s: [[Float]], y: [[Float]], current: (Double, [Float])?) {
        self.iteration = iteration; self.s = s; self.y = y; self.current = current.map { (loss: $0.0, gradient: $0.1) }
    }
}

extension Pooling: Codable {}
