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

    /// Rebuilds the optimiser for an image of n values. Everything read is checked first — a
    /// damaged or edited archive gets a one-line error, never an optimiser that traps later.
    public func restore(vectorLength n: Int) throws -> any Optimizer {
        func bad(_ what: String) -> OptimizerError { .invalidState("saved \(kind) optimiser: \(what)") }
        func s(_ k: String, _ valid: (Double) -> Bool, _ range: String) throws -> Double {
            guard let v = scalars[k] else { throw bad("lacks \(k)") }
            guard v.isFinite, valid(v) else { throw bad("\(k) = \(v) is not \(range)") }
            return v
        }
        func vector(_ d: Data?, _ name: String, allowEmpty: Bool = true) throws -> [Float] {
            let d = d ?? Data()
            guard d.count % 4 == 0 else { throw bad("\(name) is not a whole number of float32 values") }
            let v = OptimizerState.unpack(d)
            guard v.count == n || (allowEmpty && v.isEmpty) else { throw bad("\(name) has \(v.count) values, the image \(n)") }
            guard v.allSatisfy(\.isFinite) else { throw bad("\(name) is not finite") }
            return v
        }
        // The iteration drives schedules and bias corrections; the session checks it against the history.
        guard (0...100_000_000).contains(iteration) else { throw bad("iteration \(iteration) is out of range") }
        switch kind {
        case "sgd":
            var o = SGD(learningRate: try s("lr", { $0 > 0 }, "positive"),
                        decaySteps: try s("decay_steps", { $0 > 0 }, "positive"),
                        decayRate: try s("decay_rate", { $0 > 0 && $0 <= 1 }, "in (0, 1]"),
                        momentum: try s("momentum", { $0 >= 0 && $0 < 1 }, "in [0, 1)"))
            o.restore(iteration: iteration, velocity: try vector(vectors["velocity"], "velocity"))
            return o
        case "adam":
            var o = Adam(learningRate: try s("lr", { $0 > 0 }, "positive"), beta1: try s("beta1", { $0 >= 0 && $0 < 1 }, "in [0, 1)"),
                         beta2: try s("beta2", { $0 >= 0 && $0 < 1 }, "in [0, 1)"), epsilon: try s("epsilon", { $0 > 0 }, "positive"))
            let m = try vector(vectors["m"], "m"), v = try vector(vectors["v"], "v")
            guard m.count == v.count else { throw bad("m and v differ in length") }
            o.restore(iteration: iteration, m: m, v: v)
            return o
        case "lbfgs":
            let history = try s("history", { $0 == $0.rounded() && (1...1000).contains($0) }, "a whole number in 1…1000")
            let lineSearch = try s("max_line_search", { $0 == $0.rounded() && (0...1000).contains($0) }, "a whole number in 0…1000")
            var o = LBFGS(learningRate: try s("lr", { $0 > 0 }, "positive"), historySize: Int(history), maxLineSearch: Int(lineSearch))
            let sList = try (vectorLists["s"] ?? []).map { try vector($0, "s", allowEmpty: false) }
            let yList = try (vectorLists["y"] ?? []).map { try vector($0, "y", allowEmpty: false) }
            guard sList.count == yList.count, sList.count <= Int(history) else {
                throw bad("\(sList.count) s and \(yList.count) y vectors for a history of \(Int(history))")
            }
            var current: (Double, [Float])? = nil
            if let loss = scalars["current_loss"] {
                guard loss.isFinite else { throw bad("current_loss is not finite") }
                current = (loss, try vector(vectors["current_gradient"], "current_gradient", allowEmpty: false))
            }
            o.restore(iteration: iteration, s: sList, y: yList, current: current)
            return o
        default:
            throw bad("unknown optimiser '\(kind)'")
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
