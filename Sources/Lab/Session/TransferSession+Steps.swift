import Foundation
import Kernels

// The combination image and its run: starting again, the image average, coarse to fine, one
// optimiser iteration, reopening, and rewinding. Each changes the session's state (SessionState)
// only once everything it needs has worked.

extension TransferSession {
    // MARK: - The combination image

    /// Starts again from the initial image: clears the history, the optimiser state and the snapshots.
    public func resetCombination() throws {
        guard content != nil else { throw SessionError.needsContent }
        let x: Tensor
        switch configuration.initialImage {
        case .content:
            x = try contentTensor()
        case .style:
            guard let size = workingSize, let s = styles.first else { throw SessionError.needsStyle }
            x = try preprocess(s.image.resized(width: size.width, height: size.height, filter: configuration.resize))
        case .noise(let seed):
            let size = workingSize!
            var rng = SplitMix64(seed: seed)
            let plane = size.width * size.height
            var data = [Float](repeating: 0, count: 3 * plane)
            for c in 0..<3 {
                for i in 0..<plane { data[c * plane + i] = Float(rng.nextUnit() * 255) - imageNetMeanBGR[c] }
            }
            x = try Tensor(shape: [3, size.height, size.width], data: data)
        }
        state.combination = x
        state.history = []
        state.events = []
        state.reopenedAt = nil
        state.optimizer = optimizer.restarted()
        state.breakdownAtCurrent = nil
        restartAverage()
        state.snapshots.removeAll()
        state.snapshots.save(snapshotNow(nil))
    }

    func restartAverage() {
        state.average = nil
        state.averageSteps = 0
    }

    /// Folds the current image into the average (after each iteration, when --ema is on).
    func updateAverage() {
        guard configuration.ema > 0, let combination else { return }
        let beta = Float(configuration.ema)
        var next = combination.data
        if let a = average, a.shape == combination.shape {
            for i in next.indices { next[i] = beta * a.data[i] + (1 - beta) * next[i] }
        } else {
            for i in next.indices { next[i] *= 1 - beta }
            state.averageSteps = 0
        }
        state.average = try? Tensor(shape: combination.shape, data: next)
        state.averageSteps += 1
    }

    /// The image shown and saved: the bias-corrected average with --ema, else the iterate.
    public var displayedImage: Tensor? {
        guard configuration.ema > 0, let average, averageSteps > 0 else { return combination }
        let correction = Float(1 / (1 - Foundation.pow(configuration.ema, Double(averageSteps))))
        return average.scaled(by: correction)
    }

    // MARK: - Coarse to fine

    /// Continues the run at `rows` rows: the image is enlarged (bicubic) instead of starting
    /// again, and so is the optimiser's per-pixel state (Adam: first moment bicubic, second
    /// bilinear and kept ≥ 0; L-BFGS forgets its pairs). The history goes on; the average restarts.
    public func upscale(to rows: Int) throws {
        guard let combination, let old = workingSize else { throw SessionError.needsContent }
        // Going on at a smaller size would throw away detail and every snapshot: start again instead.
        guard rows > configuration.rows else {
            throw SessionError.invalid(
                "going on goes to a larger size than the current \(configuration.rows) rows (set --size N starts again at any size)")
        }
        var next = configuration
        next.rows = rows
        try validate(next)
        try estimateFits(configuration: next)
        try atomically {
            state.configuration = next
            let new = workingSize!
            let resize = { (v: [Float], filter: PlaneFilter) in
                resizePlanes(v, channels: 3, height: old.height, width: old.width, toHeight: new.height, toWidth: new.width, filter: filter)
            }
            state.combination = try Tensor(shape: [3, new.height, new.width], data: resize(combination.data, .bicubic))
            state.optimizer.resizeState { v, nonNegative in
                nonNegative ? resize(v, .bilinear).map { max(0, $0) } : resize(v, .bicubic)
            }
            restartAverage()
            state.breakdownAtCurrent = nil
            state.snapshots.removeAll()
            state.snapshots.save(snapshotNow(nil))
            state.reopenedAt = RewindBoundary(iteration: iteration, reason: "where the image was enlarged to \(new.width)×\(new.height)")
            mark("\(new.height) rows")
        }
    }

    /// The combination image as a picture (with the content's colours if asked).
    public func resultImage() throws -> RGBImage {
        guard let shown = displayedImage else { throw SessionError.needsContent }
        let image = try deprocess(shown)
        guard configuration.preserveColors, let content, let size = workingSize else { return image }
        return transferLuminance(from: image, onto: content.resized(width: size.width, height: size.height, filter: configuration.resize))
    }

    // MARK: - Loss and gradient

    /// Every term at the current image, and the gradient of `term` (nil: none).
    /// The loss at another image of the same shape (the session does not change).
    public func evaluate(at image: Tensor, gradientOf term: TermSelection? = nil) throws -> (breakdown: LossBreakdown, gradient: Tensor?) {
        guard let combination else { throw SessionError.needsContent }
        guard image.shape == combination.shape else {
            throw SessionError.invalid("the loss takes an image of the working shape \(combination.shape); got \(image.shape)")
        }
        return try loss.evaluate(image, targets: try targets(), gradientOf: term, compute)
    }

    /// The loss at the current image (after the last iteration): carried from L-BFGS's line search,
    /// else evaluated — with its gradient, which the next step then starts from instead of evaluating
    /// the same image again (a step and its "loss now" cost one forward and backward pass, not a
    /// forward pass more). An iteration's record holds the loss it *started* from.
    public func lossNow() throws -> LossBreakdown {
        if let b = state.breakdownAtCurrent { return b }
        let clock = DispatchTime.now().uptimeNanoseconds
        let (breakdown, gradient) = try evaluate(gradientOf: .total)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9
        state.atCurrent = EvaluationAtCurrent(breakdown: breakdown, gradient: gradient, seconds: seconds)
        return breakdown
    }

    public func evaluate(gradientOf term: TermSelection? = .total) throws -> (breakdown: LossBreakdown, gradient: Tensor?) {
        guard let combination else { throw SessionError.needsContent }
        let loss = self.loss
        return try loss.evaluate(combination, targets: try targets(), gradientOf: term, compute)
    }

    /// What one iteration costs, piece by piece: the loss and its gradient evaluated at the current
    /// image with a profiler attached, and the optimiser's update applied to a copy (SGD, Adam).
    /// The session is left unchanged. The targets are computed first, outside the measurement.
    public func profile() throws -> (entries: [Profiler.Entry], totalSeconds: Double) {
        guard let combination else { throw SessionError.needsContent }
        let targets = try targets()
        let profiler = Profiler()
        var timed = compute
        timed.profiler = profiler
        let loss = self.loss
        let clock = DispatchTime.now().uptimeNanoseconds
        let (breakdown, gradient) = try loss.evaluate(combination, targets: targets, timed)
        if !type(of: optimizer).searchesLine, let gradient {  // a line search would evaluate the loss again
            var copy = optimizer
            var x = combination.data
            try timed.timed("image", "\(copy.name) update") {
                _ = try copy.step(&x) { _ in (breakdown.total, gradient.data) }
            }
        }
        return (profiler.entries, Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9)
    }

    // MARK: - Stepping

    /// One optimiser iteration. A step whose loss or gradient is not finite is rejected and the
    /// session is left exactly as it was before it.
    @discardableResult
    public func step() throws -> IterationRecord {
        guard var x = combination?.data, let shape = combination?.shape else { throw SessionError.needsContent }
        let start = x
        let targets = try targets()
        let loss = self.loss
        let compute = self.compute
        // The terms at the starting image (when the optimiser evaluates there) and at the last point tried.
        var atStart: LossBreakdown? = nil, last: LossBreakdown? = nil
        let carried = state.atCurrent  // the loss and gradient here, if `lossNow` computed them
        var usedCarried = false
        let objective: Objective = { values in
            if let carried, let gradient = carried.gradient, values == start {
                usedCarried = true
                atStart = carried.breakdown
                last = carried.breakdown
                return (carried.breakdown.total, gradient.data)
            }
            let t = try Tensor(shape: shape, data: values)
            let (b, g) = try loss.evaluate(t, targets: targets, compute)
            if atStart == nil && values == start { atStart = b }
            last = b
            return (b.total, g!.data)
        }
        var o = optimizer
        let clock = DispatchTime.now().uptimeNanoseconds
        let result: OptimizerStep
        do {
            result = try o.step(&x, objective)
        } catch let e as OptimizerError {
            throw SessionError.rejectedStep(iteration: iteration, reason: e.description)
        }
        guard x.allSatisfy({ $0.isFinite }) else {
            throw SessionError.rejectedStep(iteration: iteration, reason: "the update made the image non-finite")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9 + (usedCarried ? carried!.seconds : 0)
        // The breakdown at the starting image: evaluated now, or carried from the last step (L-BFGS).
        // (After a reopen or a change of objective nothing is carried: evaluate it, without a gradient.)
        let breakdown =
            try atStart ?? state.breakdownAtCurrent
            ?? loss.evaluate(try Tensor(shape: shape, data: start), targets: targets, gradientOf: nil, compute).breakdown
        let record = IterationRecord(
            iteration: iteration, optimizer: o.name, breakdown: breakdown,
            stepSize: result.stepSize, gradientNorm: result.gradientNorm,
            evaluations: result.evaluations, seconds: seconds)
        // Commit only now: until here nothing of the session has changed.
        state.optimizer = o
        state.combination = try Tensor(shape: shape, data: x)
        state.history.append(record)
        state.breakdownAtCurrent = type(of: o).searchesLine ? last : nil
        updateAverage()
        state.snapshots.save(snapshotNow(state.breakdownAtCurrent))
        return record
    }

    static func rewound<O: Optimizer>(_ saved: O, keeping current: any Optimizer) -> any Optimizer {
        guard let current = current as? O else { return current.restarted() }
        return saved.keepingState(withSettingsOf: current)
    }

    /// Puts a reopened session's image, optimiser and history in place (snapshots start afresh there).
    func restore(combination: Tensor, optimizer: any Optimizer, history: [IterationRecord], average: Tensor? = nil, averageSteps: Int = 0) throws {
        guard let size = workingSize, combination.shape == [3, size.height, size.width] else {
            throw SessionError.invalid("the saved image does not match the saved size")
        }
        state.combination = combination
        state.optimizer = optimizer
        state.history = history
        state.average = average
        state.averageSteps = average == nil ? 0 : averageSteps
        state.reopenedAt = RewindBoundary(
            iteration: history.count,
            reason: "where this session was reopened: a saved session keeps only its last state")
        state.breakdownAtCurrent = nil
        state.snapshots.removeAll()
        state.snapshots.save(snapshotNow(nil))
    }

    /// Goes back to the state after iteration `n` (0: the initial image), if a snapshot of it is kept.
    public func rewind(to n: Int) throws {
        guard combination != nil else { throw SessionError.needsContent }
        guard n >= 0, n <= iteration else {
            throw SessionError.invalid("can rewind to \(state.reopenedAt?.iteration ?? 0)…\(iteration), not \(n)")
        }
        guard let s = snapshots.snapshot(at: n) else {
            if let reopenedAt = state.reopenedAt, n < reopenedAt.iteration {
                throw SessionError.invalid("iteration \(n) is before iteration \(reopenedAt.iteration), \(reopenedAt.reason)")
            }
            throw SessionError.notKept(n, snapshots.nearest(to: n))
        }
        state.combination = s.combination
        // The run goes back; the settings chosen since stay. Another optimiser chosen since starts
        // afresh from the rewound image.
        state.optimizer = Self.rewound(s.optimizer, keeping: optimizer)
        state.breakdownAtCurrent = s.breakdownAtCurrent
        if s.objectiveGeneration != state.objectiveGeneration {
            // Learnt on another loss: L-BFGS's pairs and the carried loss would mislead.
            state.optimizer.objectiveChanged()
            state.breakdownAtCurrent = nil
        }
        // An average made with another decay cannot go on with this one: it restarts.
        if s.averageDecay == configuration.ema {
            state.average = s.average
            state.averageSteps = s.averageSteps
        } else {
            restartAverage()
        }
        state.history.removeLast(history.count - n)
        state.events.removeAll { $0.iteration > n }
        mark("rewound to \(n)")
        state.snapshots.removeAfter(n)
    }
}

extension TransferSession {
    /// The one loop of iterations — `step`, `run`, `lab transfer` and `reconstruct` all go through
    /// it: up to `count` steps, stopping between two when `shouldStop` says so (Ctrl-C); `each`
    /// sees every record. Returns how many were taken. A rejected step throws, the ones before it kept.
    @discardableResult
    public func iterate(
        _ count: Int, shouldStop: () -> Bool = { false },
        each: (IterationRecord) throws -> Void = { _ in }
    ) throws -> Int {
        var done = 0
        while done < count, !shouldStop() {
            let record = try step()
            done += 1
            try each(record)
        }
        return done
    }
}
