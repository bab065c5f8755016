import Dispatch
import Foundation

/// Where the time of a computation goes: one entry per timed piece (a layer's forward conv, its
/// backward, a loss term, the optimiser's update), in the order they ran. Carried by `Compute`,
/// so the code that runs a piece records it; nil (the default) costs nothing.
public final class Profiler: @unchecked Sendable {
    public struct Entry: Sendable {
        public let layer: String  // "block3_conv1", "loss", "optimizer", …
        public let phase: String  // "conv+relu", "conv backward", "max pool", "style loss", …
        public let algorithm: String  // "winograd", "direct", or "" where there is no choice
        public var why: String = ""  // why that algorithm ("thin: 16 tiles", "ties as the reference")
        public let seconds: Double
        public let flops: Double  // the work in direct-convolution FLOPs, 0 where not counted
    }

    private let lock = NSLock()
    private var recorded: [Entry] = []

    public init() {}

    public var entries: [Entry] { lock.withLock { recorded } }

    public func reset() { lock.withLock { recorded = [] } }

    public func record(_ entry: Entry) { lock.withLock { recorded.append(entry) } }
}

extension Compute {
    /// Runs body, and records its wall time under (layer, phase) when a profiler is attached.
    @inline(__always)
    public func timed<R>(
        _ layer: String, _ phase: String, algorithm: String = "", why: String = "", flops: Double = 0,
        _ body: () throws -> R
    ) rethrows -> R {
        guard let profiler else { return try body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        profiler.record(.init(layer: layer, phase: phase, algorithm: algorithm, why: why, seconds: seconds, flops: flops))
        return result
    }
}

/// The median wall time of `repeats` runs of `body` (benchmarks: lab bench, kernels-bench).
public func medianSeconds(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<max(1, repeats) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return times.sorted()[times.count / 2]
}
