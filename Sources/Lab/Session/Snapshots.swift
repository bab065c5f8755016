import Kernels

/// The state after one iteration: enough to rewind to it exactly.
public struct Snapshot: Sendable, Equatable {
    public let iteration: Int
    public let combination: Tensor
    let optimizerValue: OptimizerValue
    public var optimizer: any Optimizer { optimizerValue.value }
    let breakdownAtCurrent: LossBreakdown?
    /// The image average (--ema) and how many iterations it has seen.
    var average: Tensor? = nil
    var averageSteps = 0
    /// The decay the average was made with, and which version of the loss the optimiser's state
    /// (L-BFGS's pairs, the carried breakdown) belongs to: a rewind across a change drops them.
    var averageDecay = 0.0
    var objectiveGeneration = 0

    init(
        iteration: Int, combination: Tensor, optimizer: any Optimizer, breakdownAtCurrent: LossBreakdown?,
        average: Tensor?, averageSteps: Int
    ) {
        self.iteration = iteration
        self.combination = combination
        self.optimizerValue = OptimizerValue(optimizer)
        self.breakdownAtCurrent = breakdownAtCurrent
        self.average = average
        self.averageSteps = averageSteps
    }

    var bytes: Int { combination.count * 4 + optimizer.stateBytes + (average?.count ?? 0) * 4 }
}

/// Snapshots of every iteration, as long as they fit a memory budget. Past it, the older ones
/// are thinned (the one whose removal leaves the smallest gap goes first), so recent iterations
/// stay exact and older ones are kept at growing intervals. The initial image and the latest
/// iteration are always kept.
public struct SnapshotStore: Sendable, Equatable {
    public let budgetBytes: Int
    private(set) var kept: [Snapshot] = []  // ascending iteration
    public private(set) var totalBytes = 0

    public init(budgetBytes: Int) { self.budgetBytes = budgetBytes }

    public var iterations: [Int] { kept.map(\.iteration) }

    mutating func save(_ s: Snapshot) {
        kept.removeAll { $0.iteration >= s.iteration }
        kept.append(s)
        totalBytes = kept.reduce(0) { $0 + $1.bytes }
        while totalBytes > budgetBytes && kept.count > 2 {
            var best = 1, bestGap = Int.max
            for i in 1..<(kept.count - 1) {
                let gap = kept[i + 1].iteration - kept[i - 1].iteration
                if gap < bestGap {
                    best = i
                    bestGap = gap
                }
            }
            totalBytes -= kept[best].bytes
            kept.remove(at: best)
        }
    }

    func snapshot(at n: Int) -> Snapshot? { kept.first { $0.iteration == n } }

    func nearest(to n: Int) -> [Int] {
        let below = kept.last { $0.iteration < n }?.iteration
        let above = kept.first { $0.iteration > n }?.iteration
        return [below, above].compactMap { $0 }
    }

    mutating func removeAfter(_ n: Int) {
        kept.removeAll { $0.iteration > n }
        totalBytes = kept.reduce(0) { $0 + $1.bytes }
    }

    mutating func removeAll() {
        kept.removeAll()
        totalBytes = 0
    }
}
