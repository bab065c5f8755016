import Foundation
import Kernels
import Lab

enum TransferCommand {
    /// What `lab transfer` was asked for besides the transfer options.
    struct Plan {
        var content: String, style: String, prefix: String
        var iterations = "4000"
        var scales: String? = nil
        var every = 100
        var digits = 2
        var showTerms = false
    }

    static func main(_ plan: Plan, _ options: Arguments) -> Int32 {
        do {
            var run = TransferRun()
            run.prefix = plan.prefix
            if let text = plan.scales {
                let sizes = try TransferRun.parseScales(text)
                let counts = try TransferRun.parseIterations(plan.iterations, scales: sizes.count)
                run.scales = Array(zip(sizes, counts)).map { (rows: $0.0, iterations: $0.1) }
            } else {
                guard let n = Int(plan.iterations), (0...10_000_000).contains(n) else {
                    throw UsageError("--iterations needs a whole number in 0…10000000, got '\(plan.iterations)'")
                }
                run.iterations = n
            }
            guard (1...10_000_000).contains(plan.every) else { throw UsageError("--every needs a whole number in 1…10000000") }
            guard (0...12).contains(plan.digits) else { throw UsageError("--digits needs a whole number in 0…12") }
            run.every = plan.every
            run.lossDecimals = plan.digits
            run.saveFinal = true  // the last image too, when --every does not divide the iterations
            let clock = Date()
            let vgg = try VGG19()
            // No snapshots to rewind to: nobody rewinds a run that is not interactive (at 512 rows
            // the shell's 256 MB of them was a quarter of the run's peak memory).
            let session = TransferSession(vgg: vgg, snapshotBudgetBytes: 0)
            // The size first: the images' memory is estimated at the size the run will use.
            if let rows = options.value("size"), !options.has("continue") {
                let n = try OptionValue.whole("size", rows, in: 16...4096)
                try session.configure { $0.rows = n }
            }
            try session.loadContent(plan.content)
            try session.loadStyle(plan.style)
            try TransferOptions.apply(options, to: session)
            let folder = try outputFolder(of: plan.prefix)
            if !folder.isEmpty { try AtomicFile.createFolder(folder) }
            let size = session.workingSize!
            let schedule =
                run.scales.isEmpty
                ? "\(size.width)×\(size.height), \(run.iterations) iterations"
                : "scales " + run.scales.map { "\($0.rows) rows × \($0.iterations)" }.joined(separator: ", ")
            FileHandle.standardError.write(Data("transfer at \(schedule), \(session.optimizer.name), backend \(session.compute.backend)\n".utf8))
            let interruption = Interruption(catchingSIGINT: true)
            let bar = ProgressBar(enabled: isatty(2) == 1)
            let showTerms = plan.showTerms
            let outcome = run.run(
                session, interruption: interruption,
                report: { line in
                    bar.clear()
                    // Unbuffered, so a pipe sees each line when it happens.
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                    if showTerms, let last = session.history.last {
                        FileHandle.standardOutput.write(Data(("  " + describeTerms(last.breakdown) + "\n").utf8))
                    }
                },
                progress: { done, total, record in
                    bar.update(done: done, total: total, loss: record.total, seconds: record.seconds)
                })
            bar.clear()
            let elapsed = Date().timeIntervalSince(clock)
            FileHandle.standardError.write(
                Data(
                    String(
                        format: "%d iteration(s) in %.1f s (%.2f s each)\n", outcome.completed, elapsed,
                        outcome.completed > 0 ? elapsed / Double(outcome.completed) : 0
                    ).utf8))
            if !outcome.saved.isEmpty {
                FileHandle.standardError.write(Data(("saved:\n" + outcome.saved.map { "  " + $0 }.joined(separator: "\n") + "\n").utf8))
            }
            if let error = outcome.error { return failure(error) }
            return outcome.interrupted ? 130 : 0
        } catch {
            return failure("\(error)")
        }
    }

    /// The folder PREFIX_at_iteration_N.png goes to (empty: the current one). A prefix that names a
    /// folder itself (`.`, `out/`, an existing folder) is refused: the files would be called `._at_…`.
    static func outputFolder(of prefix: String) throws -> String {
        var isFolder: ObjCBool = false
        let last = prefix.split(separator: "/").last.map(String.init) ?? ""
        if prefix.isEmpty || prefix.hasSuffix("/") || last == "." || last == ".."
            || (FileManager.default.fileExists(atPath: prefix, isDirectory: &isFolder) && isFolder.boolValue)
        {
            throw UsageError(
                "--out is a prefix for the files PREFIX_at_iteration_N.png, and '\(prefix)' is a folder: "
                    + "try \(prefix.hasSuffix("/") ? prefix : prefix + "/")result"
            )
        }
        guard let slash = prefix.lastIndex(of: "/") else { return "" }
        return slash == prefix.startIndex ? "/" : String(prefix[..<slash])
    }

    static func failure(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("lab transfer: \(message)\n".utf8))
        return 1
    }
}

/// One line, redrawn in place on a terminal: bar, count, loss, time per iteration, ETA.
final class ProgressBar {
    let enabled: Bool
    var times: [Double] = []
    init(enabled: Bool) { self.enabled = enabled }

    func update(done: Int, total: Int, loss: Double, seconds: Double) {
        guard enabled else { return }
        times.append(seconds)
        let recent = times.suffix(20)
        let perIteration = recent.reduce(0, +) / Double(recent.count)
        let eta = Int(perIteration * Double(total - done))
        let width = 24
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(
            format: "\r%@ %d/%d  loss %@  %.2f s/it  ETA %dm%02ds", bar, done, total, formatLoss(loss), perIteration, eta / 60, eta % 60)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
