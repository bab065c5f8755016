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

    public static func capture(_ o: any Optimizer) -> OptimizerState { o.state }

    /// Rebuilds the optimiser for an image of n values. Everything read is checked first — a
    /// damaged or edited archive gets a one-line error, never an optimiser that traps later.
    public func restore(vectorLength n: Int) throws -> any Optimizer {
        try OptimizerRegistry.restore(self, vectorLength: n)
    }

    func bad(_ what: String) -> OptimizerError { .invalidState("saved \(kind) optimiser: \(what)") }

    /// A scalar that must be present, finite and `valid` (described by `range` in the error).
    func scalar(_ k: String, _ valid: (Double) -> Bool, _ range: String) throws -> Double {
        guard let v = scalars[k] else { throw bad("lacks \(k)") }
        guard v.isFinite, valid(v) else { throw bad("\(k) = \(v) is not \(range)") }
        return v
    }

    /// A whole number in `range`, stored as a scalar.
    func count(_ k: String, _ range: ClosedRange<Int>) throws -> Int {
        Int(
            try scalar(
                k, { $0 == $0.rounded() && Double(range.lowerBound) <= $0 && $0 <= Double(range.upperBound) },
                "a whole number in \(range.lowerBound)…\(range.upperBound)"))
    }

    /// A vector of n finite values (or empty, when allowed: state not yet created).
    func vector(_ d: Data?, _ name: String, length n: Int, allowEmpty: Bool = true) throws -> [Float] {
        let d = d ?? Data()
        guard d.count % 4 == 0 else { throw bad("\(name) is not a whole number of float32 values") }
        let v = OptimizerState.unpack(d)
        guard v.count == n || (allowEmpty && v.isEmpty) else { throw bad("\(name) has \(v.count) values, the image \(n)") }
        guard v.allSatisfy(\.isFinite) else { throw bad("\(name) is not finite") }
        return v
    }
}

extension SGD {
    public var state: OptimizerState {
        OptimizerState(
            kind: Self.kind, iteration: iteration,
            scalars: ["lr": initialLearningRate, "decay_steps": decaySteps, "decay_rate": decayRate, "momentum": momentum],
            vectors: ["velocity": OptimizerState.pack(velocity)])
    }

    public init(state: OptimizerState, vectorLength n: Int) throws {
        self.init(
            learningRate: try state.scalar("lr", { $0 > 0 }, "positive"),
            decaySteps: try state.scalar("decay_steps", { $0 > 0 }, "positive"),
            decayRate: try state.scalar("decay_rate", { $0 > 0 && $0 <= 1 }, "in (0, 1]"),
            momentum: try state.scalar("momentum", { $0 >= 0 && $0 < 1 }, "in [0, 1)"))
        iteration = state.iteration
        velocity = try state.vector(state.vectors["velocity"], "velocity", length: n)
    }
}

extension Adam {
    public var state: OptimizerState {
        OptimizerState(
            kind: Self.kind, iteration: iteration,
            scalars: ["lr": learningRate, "beta1": beta1, "beta2": beta2, "epsilon": epsilon],
            vectors: ["m": OptimizerState.pack(m), "v": OptimizerState.pack(v)])
    }

    public init(state: OptimizerState, vectorLength n: Int) throws {
        self.init(
            learningRate: try state.scalar("lr", { $0 > 0 }, "positive"),
            beta1: try state.scalar("beta1", { $0 >= 0 && $0 < 1 }, "in [0, 1)"),
            beta2: try state.scalar("beta2", { $0 >= 0 && $0 < 1 }, "in [0, 1)"),
            epsilon: try state.scalar("epsilon", { $0 > 0 }, "positive"))
        let m = try state.vector(state.vectors["m"], "m", length: n), v = try state.vector(state.vectors["v"], "v", length: n)
        guard m.count == v.count else { throw state.bad("m and v differ in length") }
        guard v.allSatisfy({ $0 >= 0 }) else { throw state.bad("v has negative values") }
        iteration = state.iteration
        self.m = m
        self.v = v
    }
}

extension LBFGS {
    public var state: OptimizerState {
        var state = OptimizerState(
            kind: Self.kind, iteration: iteration,
            scalars: ["lr": learningRate, "history": Double(historySize), "max_line_search": Double(maxLineSearch)],
            vectorLists: ["s": s.map(OptimizerState.pack), "y": y.map(OptimizerState.pack)])
        if let c = current {
            state.scalars["current_loss"] = c.loss
            state.vectors["current_gradient"] = OptimizerState.pack(c.gradient)
        }
        return state
    }

    public init(state: OptimizerState, vectorLength n: Int) throws {
        let history = try state.count("history", 1...1000)
        self.init(
            learningRate: try state.scalar("lr", { $0 > 0 }, "positive"), historySize: history,
            maxLineSearch: try state.count("max_line_search", 0...1000))
        let sList = try (state.vectorLists["s"] ?? []).map { try state.vector($0, "s", length: n, allowEmpty: false) }
        let yList = try (state.vectorLists["y"] ?? []).map { try state.vector($0, "y", length: n, allowEmpty: false) }
        guard sList.count == yList.count, sList.count <= history else {
            throw state.bad("\(sList.count) s and \(yList.count) y vectors for a history of \(history)")
        }
        if let loss = state.scalars["current_loss"] {
            guard loss.isFinite else { throw state.bad("current_loss is not finite") }
            current = (loss, try state.vector(state.vectors["current_gradient"], "current_gradient", length: n, allowEmpty: false))
        }
        iteration = state.iteration
        s = sList
        y = yList
    }
}

extension Pooling: Codable {}
