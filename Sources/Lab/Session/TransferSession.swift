import Foundation
import Kernels

/// The engine the shell and the lessons drive: images, configuration, the combination image,
/// the optimiser and its history. Every method is callable without a terminal.
///
/// All it holds that a command can change is one value, `state` (SessionState); besides it only
/// the network and caches derived from the state (the test `SessionStateTests` keeps it so).
public final class TransferSession: @unchecked Sendable {
    public let vgg: VGG19
    /// Everything a command can change: a transaction copies it, a refused command puts it back.
    public internal(set) var state: SessionState

    /// The targets, computed again only when what they depend on (TargetKey) changes.
    private var cachedTargets: (key: TargetKey, targets: LossTargets)?
    /// How many times the targets were computed: tests check they are not recomputed per step.
    public private(set) var targetComputations = 0
    /// The last images version handed out: never goes back, even when a transaction does.
    private var lastImagesVersion = 0

    public init(vgg: VGG19, compute: Compute = Compute(), snapshotBudgetBytes: Int = 256 << 20) {
        self.vgg = vgg
        self.state = SessionState(compute: compute, snapshots: SnapshotStore(budgetBytes: snapshotBudgetBytes))
    }

    // The state's parts, by name (reads for everyone; writes through the session's methods).
    /// How the session computes. Its forward convolutions follow the reference's (direct) only
    /// under the Keras example's loss, the one with a reference trajectory to keep.
    public var compute: Compute {
        get {
            var c = state.compute
            c.forwardAsReference = configuration.loss.normalization == .keras
            return c
        }
        set { state.compute = newValue }
    }
    public var contentPath: String? { state.contentPath }
    public var content: RGBImage? { state.content }
    public var styles: [StyleSource] { state.styles }
    public var contentMask: MaskSource? { state.contentMask }
    public var configuration: TransferConfiguration { state.configuration }
    public var combination: Tensor? { state.combination }
    public var optimizer: any Optimizer { state.optimizer }
    public var history: [IterationRecord] { state.history }
    public var snapshots: SnapshotStore { state.snapshots }
    public var average: Tensor? { state.average }
    public var averageSteps: Int { state.averageSteps }
    public var events: [SessionEvent] { state.events }
    public var namedRuns: [NamedRun] { state.namedRuns }

    /// Iterations taken since the combination was initialised.
    public var iteration: Int { state.history.count }

    /// The loss as configured now (cheap: the network and the configuration).
    var loss: StyleTransferLoss { StyleTransferLoss(vgg: vgg, configuration: state.configuration.loss) }

    /// Marks the images as changed: the targets are made again from the new ones.
    private func imagesChanged() {
        lastImagesVersion += 1
        state.imagesVersion = lastImagesVersion
    }

    // MARK: - All or nothing

    /// Runs `body`; if it throws, the session is put back exactly as it was, so a refused command
    /// (or a damaged archive) changes nothing, however far it got.
    public func atomically<T>(_ body: () throws -> T) rethrows -> T {
        let saved = state
        do { return try body() } catch {
            state = saved
            throw error
        }
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
        state.styles = [StyleSource(path: path, image: image, weight: 1)]
        imagesChanged()
        objectiveChanged()
    }

    /// Adds a style image to blend with the others.
    public func addStyle(_ path: String, weight: Double, mask maskPath: String? = nil) throws {
        guard weight > 0, weight.isFinite else { throw SessionError.invalid("a style weight must be positive, got \(weight)") }
        let image = try RGBImage.load(path)
        let mask = try maskPath.map { try RGBImage.load($0) }
        try estimateFits(styleCount: styles.count + 1)
        state.styles.append(StyleSource(path: path, image: image, weight: weight, maskPath: maskPath, mask: mask))
        imagesChanged()
        objectiveChanged()
    }

    public func setContent(_ image: RGBImage, name: String) throws {
        try estimateFits(content: image)
        try atomically {
            state.content = image
            state.contentPath = name
            imagesChanged()
            try resetCombination()
        }
    }

    /// Sets (or with nil removes) the mask of style image `index`: where in the result that style applies.
    public func setStyleMask(_ path: String?, index: Int) throws {
        guard styles.indices.contains(index) else { throw SessionError.needsStyle }
        state.styles[index].mask = try path.map { try RGBImage.load($0) }
        state.styles[index].maskPath = path
        imagesChanged()
        objectiveChanged()
    }

    /// Sets (or with nil removes) the content mask: where the style applies at all.
    public func setContentMask(_ path: String?) throws {
        state.contentMask = try path.map { MaskSource(path: $0, image: try RGBImage.load($0)) }
        imagesChanged()
        objectiveChanged()
    }

    func setContentMask(_ image: RGBImage?, path: String?) {
        state.contentMask = image.map { MaskSource(path: path ?? "mask", image: $0) }
        imagesChanged()
        objectiveChanged()
    }

    public func setStyles(_ sources: [StyleSource]) {
        state.styles = sources
        imagesChanged()
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
        let content =
            configuration.styleColors == .none
            ? nil
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
            state.configuration = next
            if next.rows != old.rows || next.resize != old.resize || next.initialImage != old.initialImage {
                if content != nil { try resetCombination() }
            } else if next.loss != old.loss || next.styleScale != old.styleScale || next.styleColors != old.styleColors {
                objectiveChanged()
            }
            if next.ema != old.ema {
                restartAverage()
                mark("ema \(next.ema)")
            }
        }
    }

    func validate(_ c: TransferConfiguration) throws {
        guard (16...4096).contains(c.rows) else { throw SessionError.invalid("size must be between 16 and 4096 rows, got \(c.rows)") }
        guard c.styleScale > 0, c.styleScale <= 4 else { throw SessionError.invalid("style scale must be in (0, 4], got \(c.styleScale)") }
        guard c.ema == 0 || (c.ema > 0 && c.ema < 1) else { throw SessionError.invalid("--ema is a decay in (0, 1) (or 0: off), got \(c.ema)") }
        for name in c.loss.layers where !VGG19.isKnownLayer(name) || name.hasSuffix(":pre") {
            throw LabError.unknownLayer(name)
        }
        for name in c.loss.weights.keys where LossTerms.named(TermKind(rawValue: name)) == nil {
            throw SessionError.invalid("no loss term of kind '\(name)' to weigh")
        }
        var names = Set(LossTerms.kinds.map(\.rawValue) + ["total"])
        for t in c.loss.customTerms where !names.insert(t.name).inserted {
            throw SessionError.invalid("a loss term named '\(t.name)' already exists")
        }
        for w in Array(c.loss.weights.values) + c.loss.styleLayers.map(\.weight) + c.loss.customTerms.map(\.weight) {
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
        state.optimizer = optimizer
        mark("\(optimizer.name)")
    }

    /// Keeps the current run's history and result under `name` (replacing a run of that name).
    public func keepRun(named name: String) throws {
        let o = optimizer.settings.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        var options: [String: String] = [:]
        for option in TransferOptions.all { if let v = option.current(self) { options[option.name] = v } }
        let run = NamedRun(
            name: name, history: history, result: try resultImage(),
            settings: "\(optimizer.name) (\(o)), \(configuration.loss.normalization.rawValue) normalisation",
            options: options, loss: configuration.loss, rows: configuration.rows)
        state.namedRuns.removeAll { $0.name == name }
        state.namedRuns.append(run)
    }

    /// Records an event (a new optimiser or setting, a rewind) for the plots' markers; a rewind
    /// drops those after the iteration it returns to.
    func mark(_ label: String) {
        guard combination != nil else { return }
        if let last = events.last, last.iteration == iteration {
            if !last.label.components(separatedBy: ", ").contains(label) {
                state.events[events.count - 1].label = last.label + ", " + label
            }
        } else {
            state.events.append(SessionEvent(iteration: iteration, label: label))
        }
    }

    /// Sets the optimiser's learning rate (`--lr`; SGD: its schedule's initial rate), keeping its state.
    public func setLearningRate(_ lr: Double) throws {
        guard lr > 0, lr.isFinite else { throw SessionError.invalid("the learning rate must be positive, got \(lr)") }
        state.optimizer.baseLearningRate = lr
        mark("\(optimizer.name) settings")
    }

    /// Changes the settings of the optimiser if it is an `O` (SGD's momentum, L-BFGS's history), keeping its state.
    public func updateOptimizer<O: Optimizer>(as type: O.Type, _ change: (inout O) -> Void) throws {
        guard var o = optimizer as? O else { throw SessionError.invalid("the optimiser is \(optimizer.name)") }
        change(&o)
        try estimateFits(optimizer: o)
        state.optimizer = o
        mark("\(o.name) settings")
    }

    private func objectiveChanged() {
        mark("loss settings")
        state.breakdownAtCurrent = nil
        state.optimizer.objectiveChanged()
        state.objectiveGeneration += 1
    }

    /// The state now, as a snapshot.
    func snapshotNow(_ breakdown: LossBreakdown?) -> Snapshot {
        var s = Snapshot(
            iteration: iteration, combination: combination!, optimizer: optimizer, breakdownAtCurrent: breakdown,
            average: average, averageSteps: averageSteps)
        s.averageDecay = configuration.ema
        s.objectiveGeneration = state.objectiveGeneration
        return s
    }

    // MARK: - Targets (computed once, again only when what they depend on changes)

    public func targets() throws -> LossTargets {
        let c = configuration
        if let size = workingSize {
            let deepest = VGG19.deepestIndex(c.loss.layers) ?? 0
            WeightCachePolicy.apply(width: size.width, height: size.height, layersUpTo: deepest)
        }
        let key = TargetKey(
            termKinds: LossBreakdown.kinds(of: c.loss), contentLayers: c.loss.contentLayers, styleLayers: c.loss.styleLayers.map(\.name),
            pooling: c.loss.pooling, rows: c.rows, resize: c.resize, styleScale: c.styleScale,
            styleLoss: c.loss.styleLoss, styleColors: c.styleColors, imagesVersion: state.imagesVersion, customTerms: c.loss.customTerms)
        if let cached = cachedTargets, cached.key == key { return cached.targets }
        // A loss without style layers (a content reconstruction) needs no style image.
        let inputs =
            c.loss.styleLayers.isEmpty
            ? [] : zip(styles, try styleTensors()).map { StyleInput(tensor: $1, weight: $0.weight, mask: positionMask($0.mask)) }
        let targets = try LossTargets(
            content: try contentTensor(), styles: inputs, contentMask: positionMask(contentMask?.image),
            configuration: c.loss, vgg: vgg, compute)
        cachedTargets = (key, targets)
        targetComputations += 1
        return targets
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
            return
                "step \(k + 1) rejected: \(reason); the session is as it was before it. "
                + "Try a smaller learning rate (optimizer --lr X), or set --preset any-size"
        case .notKept(let n, let near):
            return
                "iteration \(n) is not kept (snapshots are thinned to stay within their memory budget); "
                + "nearest kept: \(near.map(String.init).joined(separator: ", "))"
        }
    }
}
