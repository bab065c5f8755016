import Dispatch
import Foundation
import Kernels
import Synchronization
import CSignals

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
    /// Also save the last image when the run ends between two saves (`run 3 --save P` in the
    /// shell); `lab transfer` leaves it off, to write exactly the example's files.
    public var saveFinal = false
    /// Decimals of the loss in the report lines: the example prints 2 (`%.2f`); nil keeps 8
    /// significant digits for small losses (the shell's own runs).
    public var lossDecimals: Int? = nil

    public init() {}

    public struct Outcome {
        public var completed: Int
        public var interrupted: Bool
        public var saved: [String]
        public var error: String?
    }

    /// `report(line)` gets the example's lines; `progress(done, total, record)` every iteration.
    public func run(_ session: TransferSession, interruption: Interruption,
                    report: (String) -> Void, progress: (Int, Int, IterationRecord) -> Void = { _, _, _ in }) -> Outcome {
        var saved: [String] = []
        var done = 0
        func save(_ i: Int) throws {
            let path = "\(prefix)_at_iteration_\(i).png"
            try session.resultImage().savePNG(path)
            saved.append(path)
        }
        for i in 1...max(1, iterations) where iterations > 0 {
            if interruption.isSet {
                // Stopped between iterations: keep what was reached.
                var note = ""
                if done > 0, done % every != 0 {
                    do { try save(session.iteration); note = "; last image saved" } catch { note = "; the last image could not be saved (\(error))" }
                }
                report("interrupted after iteration \(session.iteration)\(note)")
                return Outcome(completed: done, interrupted: true, saved: saved, error: nil)
            }
            do {
                let record = try session.step()
                done += 1
                progress(done, iterations, record)
                if i % every == 0 {
                    let loss = lossDecimals.map { String(format: "%.\($0)f", record.total) } ?? formatLoss(record.total)
                    report("Iteration \(i): loss=\(loss)")
                    try save(session.iteration)
                }
            } catch {
                if done > 0, done % every != 0 { try? save(session.iteration) }
                return Outcome(completed: done, interrupted: false, saved: saved, error: "\(error)")
            }
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
