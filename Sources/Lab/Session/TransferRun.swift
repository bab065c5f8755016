import CSignals
import Dispatch
import Foundation
import Kernels
import Synchronization

/// Ctrl-C as a flag: the long loops check it between iterations, so an interrupted run
/// stops at an iteration boundary with its state intact. Catching SIGINT is one plain C handler
/// for the whole process (CSignals), so no later change of the signal's disposition can lose it.
public final class Interruption: @unchecked Sendable {
    private final class Flag: Sendable { let value = Atomic<Bool>(false) }
    private let flag = Flag()
    private let catching: Bool

    /// Catches SIGINT (false: a flag set only by `interrupt()`, for tests).
    public init(catchingSIGINT: Bool) {
        catching = catchingSIGINT
        if catchingSIGINT { nst_sigint_install() }
    }

    public var isSet: Bool { flag.value.load(ordering: .relaxed) || (catching && nst_sigint_pending() != 0) }
    public func interrupt() { flag.value.store(true, ordering: .relaxed) }
    public func clear() {
        flag.value.store(false, ordering: .relaxed)
        if catching { nst_sigint_clear() }
    }
}

/// The example's training loop: `iterations` steps, and every `every` of them a line
/// `Iteration i: loss=X` and the image PREFIX_at_iteration_i.png.
public struct TransferRun {
    public var iterations = 4000
    public var every = 100
    public var prefix = "result"
    /// Also save the last image when the run ends between two saves (`lab transfer`, and in the
    /// shell `run 3 --save P`): a run's result is never left unsaved.
    public var saveFinal = false
    /// Decimals of the loss in the report lines: the example prints 2 (`%.2f`); nil keeps 8
    /// significant digits for small losses (the shell's own runs).
    public var lossDecimals: Int? = nil
    /// Coarse to fine: the working sizes (rows) in order and the iterations at each. Empty: one
    /// scale, the session's, for `iterations`. Each scale starts from the last one's result,
    /// enlarged (`TransferSession.upscale`).
    public var scales: [(rows: Int, iterations: Int)] = []

    public init() {}

    /// "128,256,512", or "128..512" for sizes a factor √2 apart from the first to the last (as
    /// crowsonkb/style-transfer-pytorch steps them). Sizes must increase.
    public static func parseScales(_ text: String) throws -> [Int] {
        var sizes: [Int]
        if let range = text.range(of: "..") {
            guard let lo = Int(text[..<range.lowerBound]), let hi = Int(text[range.upperBound...]), lo > 0, hi > lo else {
                throw UsageError("--scales FROM..TO needs two sizes, the second larger; got '\(text)'")
            }
            // Bounded before stepping by √2: a size beyond them never reaches Int's range.
            guard lo >= 16, hi <= 4096 else { throw UsageError("--scales must lie between 16 and 4096 rows") }
            sizes = []
            var k = 0
            while true {
                let size = Int((Double(lo) * Foundation.pow(2.0.squareRoot(), Double(k))).rounded())
                if size >= hi { break }
                sizes.append(size)
                k += 1
            }
            sizes.append(hi)
        } else {
            sizes = try text.split(separator: ",", omittingEmptySubsequences: false).map {
                guard let n = Int($0) else { throw UsageError("--scales is ROWS,ROWS,… or FROM..TO; got '\(text)'") }
                return n
            }
        }
        for (a, b) in zip(sizes, sizes.dropFirst()) where b <= a {
            throw UsageError("--scales must increase: \(a) then \(b)")
        }
        guard let first = sizes.first, first >= 16, sizes.last! <= 4096 else {
            throw UsageError("--scales must lie between 16 and 4096 rows")
        }
        return sizes
    }

    /// "200,100,50" (one count per scale) or one count for every scale.
    public static func parseIterations(_ text: String, scales: Int) throws -> [Int] {
        let counts = try text.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let n = Int($0), n >= 0, n <= 10_000_000 else { throw UsageError("--iterations: '\($0)' is not a count") }
            guard n > 0 || scales <= 1 else { throw UsageError("--iterations: each scale needs at least one iteration") }
            return n
        }
        if counts.count == 1 { return Array(repeating: counts[0], count: max(1, scales)) }
        guard counts.count == scales else {
            throw UsageError("--iterations gives \(counts.count) counts for \(scales) scales: give one, or one per scale")
        }
        return counts
    }

    public struct Outcome {
        public var completed: Int
        public var interrupted: Bool
        public var saved: [String]
        public var error: String?
    }

    /// `report(line)` gets the example's lines; `progress(done, total, record)` every iteration.
    public func run(
        _ session: TransferSession, interruption: Interruption,
        report: (String) -> Void, progress: (Int, Int, IterationRecord) -> Void = { _, _, _ in }
    ) -> Outcome {
        var saved: [String] = []
        var done = 0
        let iterations = scales.isEmpty ? self.iterations : scales.reduce(0) { $0 + $1.iterations }
        if let first = scales.first {
            do { try session.configure { $0.rows = first.rows } } catch {
                return Outcome(completed: 0, interrupted: false, saved: [], error: "\(error)")
            }
        }
        func save(_ i: Int) throws {
            let path = "\(prefix)_at_iteration_\(i).png"
            try session.resultImage().savePNG(path)
            saved.append(path)
        }
        // Stopped between iterations (Ctrl-C): keep what was reached, and its image.
        func interrupted() -> Outcome {
            var note = ""
            if done > 0, done % every != 0 {
                do {
                    try save(session.iteration)
                    note = "; last image saved"
                } catch { note = "; the last image could not be saved (\(error))" }
            }
            report("interrupted after iteration \(session.iteration)\(note)")
            return Outcome(completed: done, interrupted: true, saved: saved, error: nil)
        }
        // Each scale's iterations through the session's one loop; between scales, the image is enlarged.
        let segments = scales.isEmpty ? [(rows: 0, iterations: iterations)] : scales
        do {
            for (k, segment) in segments.enumerated() {
                if k > 0 {
                    if interruption.isSet { return interrupted() }
                    try session.upscale(to: segment.rows)
                    let size = session.workingSize!
                    report("scale \(size.width)×\(size.height) from iteration \(done + 1)")
                }
                let taken = try session.iterate(segment.iterations, shouldStop: { interruption.isSet }) { record in
                    done += 1
                    progress(done, iterations, record)
                    if done % every == 0 {
                        let loss = lossDecimals.map { String(format: "%.\($0)f", record.total) } ?? formatLoss(record.total)
                        report("Iteration \(done): loss=\(loss)")
                        try save(session.iteration)
                    }
                }
                if taken < segment.iterations { return interrupted() }
            }
        } catch {
            if done > 0, done % every != 0 { try? save(session.iteration) }
            return Outcome(completed: done, interrupted: false, saved: saved, error: "\(error)")
        }
        if saveFinal, done > 0, done % every != 0 {
            do { try save(session.iteration) } catch {
                return Outcome(completed: done, interrupted: false, saved: saved, error: "\(error)")
            }
        }
        return Outcome(completed: done, interrupted: false, saved: saved, error: nil)
    }
}

/// The example prints `%.2f`; small losses keep 8 significant digits instead of "0.00".
public func formatLoss(_ x: Double) -> String {
    abs(x) >= 1e5 || !x.isFinite ? String(format: "%.2f", x) : String(format: "%.8g", x)
}
