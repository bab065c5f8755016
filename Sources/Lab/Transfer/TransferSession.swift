import Foundation
import Kernels

/// One style image, its blend weight, and where in the image it applies (nil: everywhere).
public struct StyleSource: Sendable {
    public var path: String
    public var image: RGBImage
    public var weight: Double
    public var maskPath: String? = nil
    public var mask: RGBImage? = nil
}

/// One optimiser iteration, as recorded.
public struct IterationRecord: Sendable {
    public var iteration: Int
    public var optimizer: String
    /// The loss terms at the image the iteration started from (what the example prints).
    public var breakdown: LossBreakdown
    public var stepSize: Double
    public var gradientNorm: Double
    public var evaluations: Int
    public var seconds: Double
    public var total: Double { breakdown.total }
}

/// The engine the shell and the lessons drive: images, configuration, the combination image,
/// the optimiser and its history. Every method is callable without a terminal.
public final class TransferSession: @unchecked Sendable {
    public let vgg: VGG19
    public var compute: Compute

    public private(set) var contentPath: String?
    public private(set) var content: RGBImage?
    public private(set) var styles: [StyleSource] = []
    /// Where the style applies at all (white), as a picture; nil: everywhere.
    public private(set) var contentMask: (path: String, image: RGBImage)?

    public private(set) var configuration = TransferConfiguration()
    public private(set) var combination: Tensor?
    public private(set) var optimizer: any Optimizer = SGD()
    public private(set) var history: [IterationRecord] = []
    public var snapshots: SnapshotStore

    /// Rewinding cannot go back before this iteration: the session was reopened there (earlier
    /// iterations were not saved) or the image changed size.
    private var reopenedAt: (iteration: Int, reason: String)?

    /// The image average (`--ema`): Σ β^(t−k)(1 − β) x_k, shown divided by 1 − β^t.
    public private(set) var average: Tensor?
    public private(set) var averageSteps = 0

    /// Iterations taken since the combination was initialised.
    public var iteration: Int { history.count }

    private var imagesVersion = 0
    private var cachedTargets: (key: TargetKey, targets: LossTargets)?
    /// How many times the targets were computed: tests check they are not recomputed per step.
    public private(set) var targetComputations = 0
    /// The loss terms at the current combination, when the last evaluation was there.
    private var breakdownAtCurrent: LossBreakdown?

    public init(vgg: VGG19, compute: Compute = Compute(), snapshotBudgetBytes: Int = 256 << 20) {
        self.vgg = vgg
        self.compute = compute
        self.snapshots = SnapshotStore(budgetBytes: snapshotBudgetBytes)
    }

    // MARK: - All or nothing

    /// Everything a command can change, as values (copy-on-write makes capturing it cheap).
    private struct State {
        var compute: Compute, contentPath: String?, content: RGBImage?, styles: [StyleSource]
        var configuration: TransferConfiguration, combination: Tensor?, optimizer: any Optimizer
        var history: [IterationRecord], snapshots: SnapshotStore, imagesVersion: Int
        var cachedTargets: (key: TargetKey, targets: LossTargets)?, breakdownAtCurrent: LossBreakdown?
        var reopenedAt: (iteration: Int, reason: String)?, events: [(iteration: Int, label: String)]
        var contentMask: (path: String, image: RGBImage)?, average: Tensor?, averageSteps: Int
    }

    private var state: State {
        get {
            State(compute: compute, contentPath: contentPath, content: content, styles: styles, configuration: configuration,
                  combination: combination, optimizer: optimizer, history: history, snapshots: snapshots,
                  imagesVersion: imagesVersion, cachedTargets: cachedTargets, breakdownAtCurrent: breakdownAtCurrent,
                  reopenedAt: reopenedAt, events: events, contentMask: contentMask, average: average, averageSteps: averageSteps)
        }
        set {
            compute = newValue.compute; contentPath = newValue.contentPath; content = newValue.content
            styles = newValue.styles; configuration = newValue.configuration; combination = newValue.combination
            optimizer = newValue.optimizer; history = newValue.history; snapshots = newValue.snapshots
            imagesVersion = newValue.imagesVersion; cachedTargets = newValue.cachedTargets
            breakdownAtCurrent = newValue.breakdownAtCurrent; reopenedAt = newValue.reopenedAt; events = newValue.events
            contentMask = newValue.contentMask; average = newValue.average; averageSteps = newValue.averageSteps
        }
    }

    /// Runs `body`; if it throws, the session is put back exactly as it was, so a refused command
    /// (or a damaged archive) changes nothing, however far it got.
    public func atomically<T>(_ body: () throws -> T) rethrows -> T {
        let saved = state
        do { return try body() } catch {
            state = saved
            throw error
        }
    }

    /// What a command could change, for checking that a refused one changed nothing.
    public struct Fingerprint: Equatable {
        var configuration: TransferConfiguration, contentPath: String?, styles: [String], iteration: Int
        var combination: [Float]?, optimizer: OptimizerState, backend: String, threads: Int, conv: String
    }

    public var fingerprint: Fingerprint {
        Fingerprint(configuration: configuration, contentPath: contentPath,
                    styles: styles.map { "\($0.path):\($0.weight):\($0.maskPath ?? "")" } + [contentMask?.path ?? ""],
                    iteration: iteration, combination: combination?.data, optimizer: OptimizerState.capture(optimizer),
                    backend: compute.backend.rawValue, threads: compute.threads, conv: compute.conv.rawValue)
    }

    // MARK: - Images

    public func loadContent(_ path: String) throws {
        let image = try RGBImage.load(path)
        try setContent(image, name: path)
    }

    /// Replaces the style images with one (weight 1).
    public func loadStyle(_ path: String) throws {
        let image = try RGBImage.load(path)
        try estimateFits(styleCount: 1)
        styles = [StyleSource(path: path, image: image, weight: 1)]
        imagesVersion += 1
        objectiveChanged()
    }

    /// Adds a style image to blend with the others.
    public func addStyle(_ path: String, weight: Double, mask maskPath: String? = nil) throws {
        guard weight > 0, weight.isFinite else { throw SessionError.invalid("a style weight must be positive, got \(weight)") }
        let image = try RGBImage.load(path)
        let mask = try maskPath.map { try RGBImage.load($0) }
        try estimateFits(styleCount: styles.count + 1)
        styles.append(StyleSource(path: path, image: image, weight: weight, maskPath: maskPath, mask: mask))
        imagesVersion += 1
        objectiveChanged()
    }

    public func setContent(_ image: RGBImage, name: String) throws {
        try estimateFits(content: image)
        try atomically {
            content = image
            contentPath = name
            imagesVersion += 1
            try resetCombination()
        }
    }

    /// Sets (or with nil removes) the mask of style image `index`: where in the result that style applies.
    public func setStyleMask(_ path: String?, index: Int) throws {
        guard styles.indices.contains(index) else { throw SessionError.needsStyle }
        styles[index].mask = try path.map { try RGBImage.load($0) }
        styles[index].maskPath = path
        imagesVersion += 1
        objectiveChanged()
    }

    /// Sets (or with nil removes) the content mask: where the style applies at all.
    public func setContentMask(_ path: String?) throws {
        contentMask = try path.map { ($0, try RGBImage.load($0)) }
        imagesVersion += 1
        objectiveChanged()
    }

    func setContentMask(_ image: RGBImage?, path: String?) {
        contentMask = image.map { (path ?? "mask", $0) }
        imagesVersion += 1
        objectiveChanged()
    }

    public func setStyles(_ sources: [StyleSource]) {
        styles = sources
        imagesVersion += 1
        objectiveChanged()
    }

    /// (width, height) of the working image.
    public var workingSize: (width: Int, height: Int)? {
        content.map { kerasTargetSize(width: $0.width, height: $0.height, rows: configuration.rows) }
    }

    /// The content image as VGG19 sees it.
    public func contentTensor() throws -> Tensor {
        guard let content, let size = workingSize else { throw SessionError.needsContent }
        return try preprocess(content.resized(width: size.width, height: size.height, filter: configuration.resize))
    }


    /// Each style image as VGG19 sees it, at the style scale.
    public func styleTensors() throws -> [Tensor] {
        guard let size = workingSize else { throw SessionError.needsContent }
        guard !styles.isEmpty else { throw SessionError.needsStyle }
        let w = max(1, Int(Double(size.width) * configuration.styleScale))
        let h = max(1, Int(Double(size.height) * configuration.styleScale))
        let content = configuration.styleColors == .none ? nil
            : self.content!.resized(width: size.width, height: size.height, filter: configuration.resize)
        return try styles.map { style in
            var image = style.image.resized(width: w, height: h, filter: configuration.resize)
            if let content { image = matchColors(image, to: content, configuration.styleColors) }
            return try preprocess(image)
        }
    }

    /// A mask picture at the working size.
    func positionMask(_ image: RGBImage?) -> PositionMask? {
        guard let image, let size = workingSize else { return nil }
        return PositionMask(image: image, width: size.width, height: size.height)
    }

    // MARK: - Configuration

    /// Applies a change; what it invalidates is worked out here, not by the caller.
    public func configure(_ change: (inout TransferConfiguration) throws -> Void) throws {
        var next = configuration
        try change(&next)
        try validate(next)
        try estimateFits(configuration: next)
        try atomically {
            let old = configuration
            configuration = next
            if next.rows != old.rows || next.resize != old.resize || next.initialImage != old.initialImage {
                if content != nil { try resetCombination() }
            } else if next.loss != old.loss || next.styleScale != old.styleScale || next.styleColors != old.styleColors {
                objectiveChanged()
            }
            if next.ema != old.ema { restartAverage(); mark("ema \(next.ema)") }
        }
    }

    func validate(_ c: TransferConfiguration) throws {
        guard (16...4096).contains(c.rows) else { throw SessionError.invalid("size must be between 16 and 4096 rows, got \(c.rows)") }
        guard c.styleScale > 0, c.styleScale <= 4 else { throw SessionError.invalid("style scale must be in (0, 4], got \(c.styleScale)") }
        guard c.ema == 0 || (c.ema > 0 && c.ema < 1) else { throw SessionError.invalid("--ema is a decay in (0, 1) (or 0: off), got \(c.ema)") }
        for name in c.loss.layers where !VGG19.isKnownLayer(name) || name.hasSuffix(":pre") {
            throw LabError.unknownLayer(name)
        }
        for w in [c.loss.contentWeight, c.loss.styleWeight, c.loss.totalVariationWeight] + c.loss.styleLayers.map(\.weight) {
            guard w.isFinite, w >= 0 else { throw SessionError.invalid("weights must be finite and ≥ 0, got \(w)") }
        }
        guard !c.loss.layers.isEmpty else { throw SessionError.invalid("the loss needs at least one content or style layer") }
        for (what, names) in [("content", c.loss.contentLayers), ("style", c.loss.styleLayers.map(\.name))] {
            var seen = Set<String>()
            for name in names where !seen.insert(name).inserted {
                throw SessionError.invalid("\(what) layer \(name) is listed twice")
            }
        }
    }

    public func setOptimizer(_ optimizer: any Optimizer) {
        self.optimizer = optimizer
        mark("\(optimizer.name)")
    }

    /// A run kept under a name (`run N --name adam`), to compare with others later: its history
    /// and result as they were. Rewinding and running again under another name branches.
    public struct NamedRun: Sendable {
        public var name: String
        public var history: [IterationRecord]
        public var result: RGBImage
        public var settings: String
    }

    public private(set) var namedRuns: [NamedRun] = []

    /// Keeps the current run's history and result under `name` (replacing a run of that name).
    public func keepRun(named name: String) throws {
        let o = optimizer.settings.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        let run = NamedRun(name: name, history: history, result: try resultImage(),
                           settings: "\(optimizer.name) (\(o)), \(configuration.loss.normalization.rawValue) normalisation")
        namedRuns.removeAll { $0.name == name }
        namedRuns.append(run)
    }

    /// What happened between iterations that changes the curve: a new optimiser or setting, a
    /// rewind. Plots draw them as markers; a rewind drops those after the iteration it returns to.
    public private(set) var events: [(iteration: Int, label: String)] = []

    func mark(_ label: String) {
        guard combination != nil else { return }
        if let last = events.last, last.iteration == iteration {
            if !last.label.components(separatedBy: ", ").contains(label) {
                events[events.count - 1].label = last.label + ", " + label
            }
        } else {
            events.append((iteration, label))
        }
    }

    /// Lets the caller change the optimiser's settings in place (learning rate, history size, …).
    public func setLearningRate(_ lr: Double) throws {
        guard lr > 0, lr.isFinite else { throw SessionError.invalid("the learning rate must be positive, got \(lr)") }
        optimizer.baseLearningRate = lr
        mark("\(optimizer.name) settings")
    }

    public func updateOptimizer<O: Optimizer>(as type: O.Type, _ change: (inout O) -> Void) throws {
        guard var o = optimizer as? O else { throw SessionError.invalid("the optimiser is \(optimizer.name)") }
        change(&o)
        try estimateFits(optimizer: o)
        optimizer = o
        mark("\(o.name) settings")
    }

    private func objectiveChanged() {
        mark("loss settings")
        breakdownAtCurrent = nil
        optimizer.objectiveChanged()
        objectiveGeneration += 1
    }

    /// Counts changes of the loss, so a rewind knows whether a snapshot's optimiser state was
    /// learnt on the loss as it is now.
    private var objectiveGeneration = 0

    /// The state now, as a snapshot.
    private func snapshotNow(_ breakdown: LossBreakdown?) -> Snapshot {
        var s = Snapshot(iteration: iteration, combination: combination!, optimizer: optimizer, breakdownAtCurrent: breakdown,
                         average: average, averageSteps: averageSteps)
        s.averageDecay = configuration.ema
        s.objectiveGeneration = objectiveGeneration
        return s
    }

    // MARK: - Targets (computed once, again only when what they depend on changes)

    public func targets() throws -> LossTargets {
        let c = configuration
        let key = TargetKey(contentLayers: c.loss.contentLayers, styleLayers: c.loss.styleLayers.map(\.name),
                            pooling: c.loss.pooling, rows: c.rows, resize: c.resize, styleScale: c.styleScale,
                            styleLoss: c.loss.styleLoss, styleColors: c.styleColors, imagesVersion: imagesVersion)
        if let cached = cachedTargets, cached.key == key { return cached.targets }
        // A loss without style layers (a content reconstruction) needs no style image.
        let inputs = c.loss.styleLayers.isEmpty ? [] : zip(styles, try styleTensors()).map { StyleInput(tensor: $1, weight: $0.weight, mask: positionMask($0.mask)) }
        let targets = try LossTargets(content: try contentTensor(), styles: inputs, contentMask: positionMask(contentMask?.image),
                                      configuration: c.loss, vgg: vgg, compute)
        cachedTargets = (key, targets)
        targetComputations += 1
        return targets
    }

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
        combination = x
        history = []
        events = []
        reopenedAt = nil
        optimizer = optimizer.restarted()
        breakdownAtCurrent = nil
        restartAverage()
        snapshots.removeAll()
        snapshots.save(snapshotNow(nil))
    }

    func restartAverage() {
        average = nil
        averageSteps = 0
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
            averageSteps = 0
        }
        average = try? Tensor(shape: combination.shape, data: next)
        averageSteps += 1
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
        var next = configuration
        next.rows = rows
        try validate(next)
        try estimateFits(configuration: next)
        try atomically {
            configuration = next
            let new = workingSize!
            let resize = { (v: [Float], filter: PlaneFilter) in
                resizePlanes(v, channels: 3, height: old.height, width: old.width, toHeight: new.height, toWidth: new.width, filter: filter)
            }
            self.combination = try Tensor(shape: [3, new.height, new.width], data: resize(combination.data, .bicubic))
            optimizer.resizeState { v, nonNegative in
                nonNegative ? resize(v, .bilinear).map { max(0, $0) } : resize(v, .bicubic)
            }
            restartAverage()
            breakdownAtCurrent = nil
            snapshots.removeAll()
            snapshots.save(snapshotNow(nil))
            reopenedAt = (iteration, "where the image was enlarged to \(new.width)×\(new.height)")
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
    public func evaluate(gradientOf term: LossTerm? = .total) throws -> (breakdown: LossBreakdown, gradient: Tensor?) {
        guard let combination else { throw SessionError.needsContent }
        let loss = StyleTransferLoss(vgg: vgg, configuration: configuration.loss)
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
        let loss = StyleTransferLoss(vgg: vgg, configuration: configuration.loss)
        let clock = DispatchTime.now().uptimeNanoseconds
        let (breakdown, gradient) = try loss.evaluate(combination, targets: targets, timed)
        if !type(of: optimizer).searchesLine, let gradient {   // a line search would evaluate the loss again
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
        let loss = StyleTransferLoss(vgg: vgg, configuration: configuration.loss)
        let compute = self.compute
        var evaluated: [LossBreakdown] = []
        let objective: Objective = { values in
            let t = try Tensor(shape: shape, data: values)
            let (b, g) = try loss.evaluate(t, targets: targets, compute)
            evaluated.append(b)
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
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9
        // The breakdown at the starting image: evaluated now, or carried from the last step (L-BFGS).
        // (After a reopen or a change of objective nothing is carried: evaluate it, without a gradient.)
        let breakdown = try evaluated.first { $0.total == result.lossBefore } ?? breakdownAtCurrent
            ?? loss.evaluate(try Tensor(shape: shape, data: start), targets: targets, gradientOf: nil, compute).breakdown
        let record = IterationRecord(iteration: iteration, optimizer: o.name, breakdown: breakdown,
                                     stepSize: result.stepSize, gradientNorm: result.gradientNorm,
                                     evaluations: result.evaluations, seconds: seconds)
        // Commit only now: until here nothing of the session has changed.
        optimizer = o
        combination = try Tensor(shape: shape, data: x)
        history.append(record)
        breakdownAtCurrent = type(of: o).searchesLine ? evaluated.last : nil
        updateAverage()
        snapshots.save(snapshotNow(breakdownAtCurrent))
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
        self.combination = combination
        self.optimizer = optimizer
        self.history = history
        self.average = average
        self.averageSteps = average == nil ? 0 : averageSteps
        reopenedAt = (history.count, "where this session was reopened: a saved session keeps only its last state")
        breakdownAtCurrent = nil
        snapshots.removeAll()
        snapshots.save(snapshotNow(nil))
    }

    /// Goes back to the state after iteration `n` (0: the initial image), if a snapshot of it is kept.
    public func rewind(to n: Int) throws {
        guard n >= 0, n <= iteration else {
            throw SessionError.invalid("can rewind to \(reopenedAt?.iteration ?? 0)…\(iteration), not \(n)")
        }
        guard let s = snapshots.snapshot(at: n) else {
            if let reopenedAt, n < reopenedAt.iteration {
                throw SessionError.invalid("iteration \(n) is before iteration \(reopenedAt.iteration), \(reopenedAt.reason)")
            }
            throw SessionError.notKept(n, snapshots.nearest(to: n))
        }
        combination = s.combination
        // The run goes back; the settings chosen since stay. Another optimiser chosen since starts
        // afresh from the rewound image.
        optimizer = Self.rewound(s.optimizer, keeping: optimizer)
        breakdownAtCurrent = s.breakdownAtCurrent
        if s.objectiveGeneration != objectiveGeneration {
            // Learnt on another loss: L-BFGS's pairs and the carried loss would mislead.
            optimizer.objectiveChanged()
            breakdownAtCurrent = nil
        }
        // An average made with another decay cannot go on with this one: it restarts.
        if s.averageDecay == configuration.ema { average = s.average; averageSteps = s.averageSteps } else { restartAverage() }
        history.removeLast(history.count - n)
        events.removeAll { $0.iteration > n }
        mark("rewound to \(n)")
        snapshots.removeAfter(n)
    }
}

public enum SessionError: Error, CustomStringConvertible, Equatable {
    case needsContent
    case needsStyle
    case invalid(String)
    case rejectedStep(iteration: Int, reason: String)
    case notKept(Int, [Int])

    public var description: String {
        switch self {
        case .needsContent: return "no content image yet: load one first (content FILE)"
        case .needsStyle: return "no style image yet: load one first (style FILE)"
        case .invalid(let s): return s
        case .rejectedStep(let k, let reason):
            return "step \(k + 1) rejected: \(reason); the session is as it was before it. Try a smaller learning rate (optimizer --lr X), or set --preset any-size"
        case .notKept(let n, let near):
            return "iteration \(n) is not kept (snapshots are thinned to stay within their memory budget); nearest kept: \(near.map(String.init).joined(separator: ", "))"
        }
    }
}
