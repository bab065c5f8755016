import Foundation
import Kernels

/// One benchmark measurement: a transfer iteration (forward, backward, update; targets cached,
/// the Keras example's loss and SGD) on a size × size image.
public struct IterationBenchmark: Codable, Sendable {
    public var size: Int
    public var backend: String
    public var threads: Int
    public var iterationSeconds: Double  // median
    public var forwardSeconds: Double  // median, VGG19 forward to the deepest loss layer
    public var gflopPerIteration: Double  // conv FLOPs of forward + backward-data
    public var peakResidentBytes: Int
    public var conv: String = ConvAlgorithm.auto.rawValue
    public var preset: String = "keras"
    /// What the session's memory estimate said a step at this size would take (MemoryEstimate).
    public var estimatedBytes: Int = 0
    /// ProfileReport's table of one more iteration, when asked for.
    public var profile: String?

    public var gflops: Double { gflopPerIteration / iterationSeconds }

    /// Conv FLOPs (2·C·OC·9·H·W per layer) up to `deepest`, forward and backward-data.
    public static func convGFLOP(size: Int, upTo deepest: String) -> Double {
        var total = 0.0
        for layer in VGG19Architecture.convInputs(height: size, width: size) {
            total += 2 * Double(layer.c * layer.oc * 9 * layer.h * layer.w)
            if layer.name == deepest { break }
        }
        return 2 * total / 1e9
    }

    /// `preset`: one of `TransferOptions.presets` — its loss and optimiser (under keras, SGD at lr
    /// 1e-3 instead of the example's 100, which leaves random images finite).
    public static func run(
        vgg: VGG19, size: Int, compute: Compute, repeats: Int, preset: String = "keras", profile: Bool = false
    ) throws -> IterationBenchmark {
        let chosen = try TransferOptions.preset(named: preset)
        var rng = SplitMix64(seed: 42)
        func randomImage() -> RGBImage {
            RGBImage(width: size, height: size, pixels: (0..<(size * size * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
        let session = TransferSession(vgg: vgg, compute: compute, snapshotBudgetBytes: 0)
        try session.configure {
            $0 = chosen.configuration
            $0.rows = size
        }
        try session.setContent(randomImage(), name: "random")
        session.setStyles([StyleSource(path: "random", image: randomImage(), weight: 1)])
        session.setOptimizer(preset == "keras" ? SGD(learningRate: 1e-3) : chosen.optimizer())
        _ = try session.targets()
        try session.step()  // warm-up
        func median(_ body: () throws -> Void) rethrows -> Double { try medianSeconds(repeats: repeats, body) }
        let iteration = try median { try session.step() }
        let layers = session.configuration.loss.layers
        let combination = session.combination!
        // The forward as the loss runs it without a gradient: only the loss layers' outputs kept.
        let forward = try median {
            _ = try vgg.forward(combination, upTo: layers, keepingWhole: Set(layers), forBackward: false, session.compute)
        }
        let deepest = layers.max { VGG19.index(of: $0)! < VGG19.index(of: $1)! }!
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        var result = IterationBenchmark(
            size: size, backend: compute.backend.rawValue, threads: compute.threads,
            iterationSeconds: iteration, forwardSeconds: forward,
            gflopPerIteration: convGFLOP(size: size, upTo: deepest),
            peakResidentBytes: usage.ru_maxrss * 1024)
        result.conv = compute.conv.rawValue
        result.preset = preset
        result.estimatedBytes = session.memoryEstimate()?.total ?? 0
        if profile {
            let (entries, total) = try session.profile()
            result.profile = ProfileReport.format(entries, totalSeconds: total)
        }
        return result
    }
}

/// A profile as a table: one row per timed piece, then the share of each kind of work.
public enum ProfileReport {
    /// The kinds of work a timed piece is, by its phase — one classification for the table's
    /// closing line and for the shares `profile` measures.
    public enum Work: String, CaseIterable, Sendable {
        case convForward = "conv forward", convBackward = "conv backward", pooling, update = "optimiser update"
        case loss = "loss terms"

        public init(_ e: Profiler.Entry) {
            switch e.phase {
            case let p where p.hasPrefix("conv") || p == "relu": self = .convForward
            case let p where p.contains("conv backward"): self = .convBackward
            case let p where p.contains("pool"): self = .pooling
            case let p where p.contains("update"): self = .update
            default: self = .loss
            }
        }
    }

    /// Each kind's share of `totalSeconds`.
    public static func shares(_ entries: [Profiler.Entry], totalSeconds: Double) -> [Work: Double] {
        var seconds: [Work: Double] = [:]
        for e in entries { seconds[Work(e), default: 0] += e.seconds }
        return seconds.mapValues { $0 / max(totalSeconds, 1e-12) }
    }

    public static func format(_ entries: [Profiler.Entry], totalSeconds: Double) -> String {
        // A column: padded to n − 1, then one space, so a long name never runs into the next column.
        func col(_ s: String, _ n: Int) -> String { pad(s, n - 1) + " " }
        func right(_ s: String, _ n: Int) -> String { " " + lpad(s, n - 1) }
        var lines = [
            col("layer", 15) + col("phase", 26) + col("algorithm", 10) + right("ms", 9) + right("GFLOP/s", 10) + right("share", 8)
                + "  why"
        ]
        for e in entries {
            let rate = e.flops > 0 ? String(format: "%.1f", e.flops / e.seconds / 1e9) : ""
            lines.append(
                col(e.layer, 15) + col(e.phase, 26) + col(e.algorithm, 10)
                    + right(String(format: "%.2f", e.seconds * 1e3), 9) + right(rate, 10)
                    + right(String(format: "%.1f%%", 100 * e.seconds / totalSeconds), 8)
                    + (e.why.isEmpty ? "" : "  " + e.why))
        }
        // The kinds of work, largest first.
        var kinds = Dictionary(uniqueKeysWithValues: shares(entries, totalSeconds: totalSeconds).map { ($0.key.rawValue, $0.value) })
        let accounted = entries.reduce(0) { $0 + $1.seconds }
        kinds["other (gradient sums, copies)"] = max(0, totalSeconds - accounted) / max(totalSeconds, 1e-12)
        let shares = kinds.sorted { $0.value > $1.value }.map { String(format: "%@ %.1f%%", $0.key, 100 * $0.value) }
        let convFlops = entries.filter { $0.flops > 0 }.reduce(0) { $0 + $1.flops }
        lines.append(
            String(
                format: "total %.1f ms; %.1f GFLOP of convolutions (direct-conv count) → %.1f GFLOP/s effective",
                totalSeconds * 1e3, convFlops / 1e9, convFlops / totalSeconds / 1e9))
        lines.append("where the time goes: " + shares.joined(separator: " · "))
        return lines.joined(separator: "\n")
    }
}
