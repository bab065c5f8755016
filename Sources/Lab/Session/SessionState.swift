import Kernels

// Everything a command can change in a session, as one value. A transaction is a copy of it
// (`TransferSession.atomically`), and "a refused command changed nothing" is `==` — so a field
// added here is all-or-nothing and compared by construction. What lives outside it on the session
// (the network, caches) is listed in TransferSession and guarded by a test.

/// One style image, its blend weight, and where in the image it applies (nil: everywhere).
public struct StyleSource: Sendable, Equatable {
    public var path: String
    public var image: RGBImage
    public var weight: Double
    public var maskPath: String? = nil
    public var mask: RGBImage? = nil
}

/// A mask picture and the path it came from.
public struct MaskSource: Sendable, Equatable {
    public var path: String
    public var image: RGBImage
}

/// One optimiser iteration, as recorded.
public struct IterationRecord: Sendable, Equatable {
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

/// A run kept under a name (`run N --name adam`), to compare with others later: its history
/// and result as they were. Rewinding and running again under another name branches.
public struct NamedRun: Sendable, Equatable {
    public var name: String
    public var history: [IterationRecord]
    public var result: RGBImage
    public var settings: String
    /// Every option as `config` shows it when the run was kept (for `compare`: what differs).
    public var options: [String: String] = [:]
    /// What its loss was: runs whose loss is defined differently have curves that do not compare.
    public var loss = LossConfiguration()
    public var rows = 0
}

/// What happened between iterations that changes the curve: a new optimiser or setting, a rewind.
public struct SessionEvent: Sendable, Equatable {
    public var iteration: Int
    public var label: String
}

/// Rewinding cannot go back before `iteration`: the session was reopened there (earlier
/// iterations were not saved) or the image changed size.
public struct RewindBoundary: Sendable, Equatable {
    public var iteration: Int
    public var reason: String
}

/// An optimiser as a value that compares by its settings and state (OptimizerState).
public struct OptimizerValue: Sendable, Equatable {
    public var value: any Optimizer
    public init(_ value: any Optimizer) { self.value = value }
    public static func == (a: OptimizerValue, b: OptimizerValue) -> Bool {
        OptimizerState.capture(a.value) == OptimizerState.capture(b.value)
    }
}

/// The loss at the current image, and its gradient if it was computed there (`lossNow` computes
/// it, so the next step starts from it instead of evaluating the same image again).
struct EvaluationAtCurrent: Sendable, Equatable {
    var breakdown: LossBreakdown
    var gradient: Tensor?
    /// What computing them took: counted in the time of the step that uses them.
    var seconds = 0.0
}

public struct SessionState: Sendable, Equatable {
    public var compute: Compute
    public var contentPath: String?
    public var content: RGBImage?
    public var styles: [StyleSource] = []
    /// Where the style applies at all (white), as a picture; nil: everywhere.
    public var contentMask: MaskSource?
    public var configuration = TransferConfiguration()
    public var combination: Tensor?
    var optimizerValue = OptimizerValue(SGD())
    public var history: [IterationRecord] = []
    public var snapshots: SnapshotStore
    var reopenedAt: RewindBoundary?
    /// The image average (`--ema`): Σ β^(t−k)(1 − β) x_k, shown divided by 1 − β^t.
    public var average: Tensor?
    public var averageSteps = 0
    /// Which images the targets were made from (a number never reused by the session, so a
    /// rolled-back transaction cannot meet a cache entry of another set of images).
    var imagesVersion = 0
    /// The loss terms at the current combination — and the gradient there, when it was computed —
    /// when the last evaluation was there. One value, so whatever forgets the one forgets the other.
    var atCurrent: EvaluationAtCurrent?
    /// The loss terms at the current combination (setting it forgets any gradient).
    var breakdownAtCurrent: LossBreakdown? {
        get { atCurrent?.breakdown }
        set { atCurrent = newValue.map { EvaluationAtCurrent(breakdown: $0, gradient: nil) } }
    }
    public var events: [SessionEvent] = []
    public var namedRuns: [NamedRun] = []
    /// Counts changes of the loss, so a rewind knows whether a snapshot's optimiser state was
    /// learnt on the loss as it is now.
    var objectiveGeneration = 0

    public var optimizer: any Optimizer {
        get { optimizerValue.value }
        set { optimizerValue = OptimizerValue(newValue) }
    }

    init(compute: Compute, snapshots: SnapshotStore) {
        self.compute = compute
        self.snapshots = snapshots
    }
}
