import Foundation
import Kernels
import Lab

enum TransferCommand {
    static let usage = """
    usage: lab transfer CONTENT STYLE --out PREFIX [--iterations 4000] [--every 100] [options]

    Runs the Keras example's loop: prints `Iteration N: loss=X` and saves PREFIX_at_iteration_N.png
    every --every iterations. Ctrl-C stops after the current iteration and saves the last image.

    options:
      --terms                     also print every loss term, weighted, at each report
      --digits N                  decimals of the loss in the report lines (2, as the example prints)
      --scales 128,256,512 | 128..512   coarse to fine: run at each size in turn, each
                                  from the last one's result enlarged (FROM..TO: sizes √2
                                  apart); --iterations then gives one count per scale
                                  (200,100,50) or one for all
    \(TransferOptions.help)
    """

    static func main(_ words: [String]) -> Int32 {
        if words.contains("--help") || words.contains("-h") { print(usage); return 0 }
        let a: Arguments
        do {
            a = try Arguments.parse(words, options: TransferOptions.valueOptions + ["out", "iterations", "every", "digits", "scales"],
                                    flags: TransferOptions.flagOptions + ["terms"])
        } catch { return failure("\(error)\n\(usage.split(separator: "\n").first!)") }
        guard a.positional.count == 2 else {
            return failure("transfer needs CONTENT and STYLE images\n\(usage.split(separator: "\n").first!)")
        }
        guard let prefix = a.value("out") else { return failure("transfer needs --out PREFIX") }
        do {
            var run = TransferRun()
            run.prefix = prefix
            if let text = a.value("scales") {
                let sizes = try TransferRun.parseScales(text)
                let counts = try TransferRun.parseIterations(a.value("iterations") ?? "4000", scales: sizes.count)
                run.scales = Array(zip(sizes, counts)).map { (rows: $0.0, iterations: $0.1) }
            } else {
                run.iterations = try a.int("iterations", default: 4000, in: 0...10_000_000)
            }
            run.every = try a.int("every", default: 100, in: 1...10_000_000)
            run.lossDecimals = try a.int("digits", default: 2, in: 0...12)
            let clock = Date()
            let vgg = try VGG19()
            let session = TransferSession(vgg: vgg)
            try session.loadContent(a.positional[0])
            try session.loadStyle(a.positional[1])
            try TransferOptions.apply(a, to: session)
            let folder = (prefix as NSString).deletingLastPathComponent
            if !folder.isEmpty { try AtomicFile.createFolder(folder) }
            let size = session.workingSize!
            let plan = run.scales.isEmpty ? "\(size.width)×\(size.height), \(run.iterations) iterations"
                : "scales " + run.scales.map { "\($0.rows) rows × \($0.iterations)" }.joined(separator: ", ")
            FileHandle.standardError.write(Data("transfer at \(plan), \(session.optimizer.name), backend \(session.compute.backend)\n".utf8))
            let interruption = Interruption(catchingSIGINT: true)
            let bar = ProgressBar(enabled: isatty(2) == 1)
            let showTerms = a.has("terms")
            let outcome = run.run(session, interruption: interruption, report: { line in
                bar.clear()
                // Unbuffered, so a pipe sees each line when it happens.
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
                if showTerms, let last = session.history.last {
                    FileHandle.standardOutput.write(Data(("  " + describeTerms(last.breakdown) + "\n").utf8))
                }
            }, progress: { done, total, record in
                bar.update(done: done, total: total, loss: record.total, seconds: record.seconds)
            })
            bar.clear()
            let elapsed = Date().timeIntervalSince(clock)
            FileHandle.standardError.write(Data(String(format: "%d iteration(s) in %.1f s (%.2f s each)\n", outcome.completed, elapsed,
                                                       outcome.completed > 0 ? elapsed / Double(outcome.completed) : 0).utf8))
            if !outcome.saved.isEmpty {
                FileHandle.standardError.write(Data(("saved:\n" + outcome.saved.map { "  " + $0 }.joined(separator: "\n") + "\n").utf8))
            }
            if let error = outcome.error { return failure(error) }
            return outcome.interrupted ? 130 : 0
        } catch {
            return failure("\(error)")
        }
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
        let line = String(format: "\r%@ %d/%d  loss %@  %.2f s/it  ETA %dm%02ds", bar, done, total, formatLoss(loss), perIteration, eta / 60, eta % 60)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
