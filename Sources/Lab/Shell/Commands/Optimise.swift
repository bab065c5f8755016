import Foundation
import Kernels

// Optimising: choose the optimiser, step, run, rewind, enlarge, keep and compare runs, and see
// where an iteration's time goes.

extension CommandTable {
    static let optimise: [Command] = [
        Command(
            name: "optimizer", aliases: ["optimiser"], topic: .optimise, summary: "choose the optimiser and its settings, or show them",
            usage: "optimizer [sgd|adam|lbfgs] [--lr X] [--momentum X] [--history N]", example: "optimizer adam --lr 5",
            options: ["lr", "momentum", "history"], completes: .words(["sgd", "adam", "lbfgs"]), maxPositional: 1
        ) { shell, a in
            let s = try shell.session()
            var words = ["--optimizer"] + a.positional.prefix(1)
            if a.positional.isEmpty { words = [] }
            for key in ["lr", "momentum", "history"] { if let v = a.value(key) { words += ["--\(key)", v] } }
            try TransferOptions.apply(try Arguments.parse(words, options: TransferOptions.valueOptions), to: s)
            shell.say("optimizer \(s.optimizer.name): " + s.optimizer.settings.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        },
        Command(
            name: "step", topic: .optimise, summary: "take N optimiser iterations (1 by default), printing each",
            usage: "step [N] [--name NAME]", example: "step 5", options: ["name"], transactional: false, maxPositional: 1
        ) { shell, a in
            let n = a.positional.first.map { Int($0) } ?? 1
            guard let n, n >= 1 else { throw UsageError("step takes a positive count") }
            let name = try runName(a)
            let s = try shell.session()
            warnIfKnownToDiverge(shell, s)
            var records: [IterationRecord] = []
            defer { measureSteps(shell, records) }
            let done = try s.iterate(n, shouldStop: { shell.interruption.isSet }) { r in
                records.append(r)
                printRecord(shell, r)
            }
            if done < n { shell.say("interrupted; state kept at iteration \(s.iteration)") } else { try sayLossNow(shell, s) }
            if let name {
                try s.keepRun(named: name)
                shell.say("kept as run '\(name)' (runs lists them, compare draws them)")
            }
        },
        Command(
            name: "run", topic: .optimise, summary: "iterate until iteration N, reporting every K (Ctrl-C stops cleanly)",
            usage: "run N [--every K] [--save PREFIX] [--name NAME]", example: "run 100 --every 10 --name adam",
            options: ["every", "save", "name"], transactional: false, maxPositional: 1
        ) { shell, a in
            guard let target = a.positional.first.flatMap({ Int($0) }), target > 0 else { throw UsageError("run needs the iteration to reach") }
            let name = try runName(a)
            let s = try shell.session()
            let every = try a.int("every", default: 10, in: 1...1_000_000)
            guard target > s.iteration else {
                shell.say("already at iteration \(s.iteration)")
                return
            }
            warnIfKnownToDiverge(shell, s)
            var run = TransferRun()
            run.iterations = target - s.iteration
            run.every = every
            run.prefix = a.value("save") ?? "\(shell.outputDirectory)/\(name ?? "run")"
            run.saveFinal = a.value("save") != nil || name != nil  // a kept run's last image is on disk too
            let start = s.iteration
            var records: [IterationRecord] = []
            let outcome = run.run(
                s, interruption: shell.interruption, report: { _ in },
                progress: { done, total, r in
                    records.append(r)
                    // Every K-th iteration of the run as a whole (10, 20, … after a step, not 11, 21, …), and the last.
                    if (r.iteration + 1) % every == 0 || done == total { printRecord(shell, r) }
                })
            measureSteps(shell, records)
            if !outcome.interrupted && outcome.error == nil { try sayLossNow(shell, s) }
            if outcome.interrupted { shell.say("interrupted after iteration \(s.iteration) (started at \(start)); state intact") }
            if let e = outcome.error { throw SessionError.invalid(e) }
            if a.value("save") != nil { shell.say("saved \(outcome.saved.count) image(s) as \(run.prefix)_at_iteration_N.png") }
            if let name {
                try s.keepRun(named: name)
                shell.say("kept as run '\(name)' (runs lists them; compare \(name) OTHER draws them together)")
            }
        },
        Command(
            name: "runs", topic: .optimise, summary: "the runs kept by run --name: iterations, settings, final loss",
            usage: "runs", example: "runs", maxPositional: 0
        ) { shell, _ in
            let s = try shell.session()
            guard !s.namedRuns.isEmpty else {
                shell.say("no runs kept yet: run N --name NAME keeps one")
                return
            }
            for r in s.namedRuns {
                shell.say(
                    "\(pad(r.name, 12)) \(r.history.count) iterations, loss \(r.history.last.map { formatLoss($0.total) } ?? "—"), \(r.settings)")
            }
        },
        Command(
            name: "compare", topic: .optimise, summary: "kept runs side by side: their results, and their losses on one plot",
            usage: "compare RUN RUN …", example: "compare adam sgd"
        ) { shell, a in
            let s = try shell.session()
            guard a.positional.count >= 2 else { throw UsageError("compare needs at least two run names") }
            let runs = try a.positional.map { name in
                guard let r = s.namedRuns.first(where: { $0.name == name }) else {
                    throw UsageError("no run named \(name) (runs lists them)")
                }
                return r
            }
            for r in runs {
                shell.say("\(pad(r.name, 12)) \(r.history.count) iterations, loss \(r.history.last.map { formatLoss($0.total) } ?? "—")")
            }
            // What differs between them, as `config` would show it.
            let names = Set(runs.flatMap { $0.options.keys }).sorted()
            let differing = names.filter { n in Set(runs.map { $0.options[n] ?? "—" }).count > 1 }
            if differing.isEmpty {
                shell.say("settings: the same")
            } else {
                shell.say("settings that differ:")
                for n in differing {
                    shell.say("  " + pad("--" + n, 22) + runs.map { "\($0.name): \($0.options[n] ?? "—")" }.joined(separator: "   "))
                }
            }
            // Losses defined differently (weights, layers, normalisation, size) are different numbers.
            let comparable = runs.allSatisfy { $0.loss == runs[0].loss && $0.rows == runs[0].rows }
            if !comparable {
                shell.say(
                    "warning: their losses are not comparable (the loss is weighted, normalised or sized differently): "
                        + "compare the pictures and the shape of each curve, not the numbers")
            }
            shell.measured("compare.comparable", comparable ? 1 : 0)
            let plot = Pictures.plot(
                runs.map { (name: $0.name, values: $0.history.map(\.total)) },
                title: "total loss: " + runs.map(\.name).joined(separator: " vs ") + (comparable ? "" : " (not comparable)"))
            try shell.showPicture(plot, name: "compare-losses", caption: "total loss of each run")
            var row = runs.map { (caption: "\($0.name), iteration \($0.history.count)", image: $0.result) }
            if runs.count == 2 {
                // The difference panel: where the two results differ, and by how much.
                let d = imageDifference(runs[0].result, runs[1].result)
                row.append((String(format: "|difference|, RMS %.1f", d.rms), d.picture))
                shell.measured("compare.rms", d.rms)
                shell.say(String(format: "the results differ by %.2f RMS (0–255), PSNR %.1f dB", d.rms, d.psnr))
            }
            try shell.showPicture(Pictures.sideBySide(row), name: "compare-results", caption: row.map(\.caption).joined(separator: " | "))
        },
        Command(
            name: "profile", topic: .optimise, summary: "where one iteration's time goes: each layer's forward and backward, losses, update",
            usage: "profile [--conv auto|direct|winograd]", example: "profile --conv direct",
            options: ["conv"], completes: .none, maxPositional: 0
        ) { shell, a in
            let s = try shell.session()
            let saved = s.compute
            defer { s.compute = saved }  // --conv applies to this measurement only
            if let conv = try a.choice("conv", ConvAlgorithm.self) { s.compute.conv = conv }
            let (entries, total) = try s.profile()
            shell.say(
                "one iteration at \(s.workingSize.map { "\($0.width)×\($0.height)" } ?? "?"), \(s.compute.backend) backend, "
                    + "\(s.compute.threads) threads, convolutions \(s.compute.conv) (the image is not changed)")
            shell.say(ProfileReport.format(entries, totalSeconds: total))
            shell.measured("profile.seconds", total)
            // Shares of the iteration: convolutions forward, convolutions backward, the loss terms (as the table counts them), each block.
            let shares = ProfileReport.shares(entries, totalSeconds: total)
            shell.measured("profile.share.forward", shares[.convForward] ?? 0)
            shell.measured("profile.share.backward", shares[.convBackward] ?? 0)
            shell.measured("profile.share.loss", shares[.loss] ?? 0)
            let sum = { (match: (Profiler.Entry) -> Bool) in entries.filter(match).map(\.seconds).reduce(0, +) / max(total, 1e-12) }
            for b in 1...5 { shell.measured("profile.share.block\(b)", sum { $0.layer.hasPrefix("block\(b)_") }) }
        },
        Command(
            name: "upscale", topic: .optimise, summary: "go on at a larger size: the image and optimiser state enlarged, not restarted",
            usage: "upscale ROWS", example: "upscale 256", maxPositional: 1
        ) { shell, a in
            guard a.positional.count == 1, let rows = Int(a.positional[0]) else { throw UsageError("upscale needs ROWS, a whole number") }
            let s = try shell.session()
            guard let old = s.workingSize, s.combination != nil else { throw SessionError.needsContent }
            try s.upscale(to: rows)
            let new = s.workingSize!
            shell.say(
                "enlarged \(old.width)×\(old.height) → \(new.width)×\(new.height) at iteration \(s.iteration); \(s.optimizer.name) state carried over"
            )
        },
        Command(
            name: "rewind", topic: .optimise, summary: "go back to iteration N (image and optimiser state)",
            usage: "rewind N", example: "rewind 0", maxPositional: 1
        ) { shell, a in
            guard let n = a.positional.first.flatMap({ Int($0) }) else { throw UsageError("rewind needs an iteration") }
            let s = try shell.session()
            try s.rewind(to: n)
            shell.say("back at iteration \(n)")
        },
        Command(
            name: "history", topic: .optimise, summary: "the iterations so far: a table, a plot, a PNG plot of every term",
            usage: "history [--last N] [--png FILE]", example: "history --png out/losses.png", options: ["last", "png"], maxPositional: 0
        ) { shell, a in
            let s = try shell.session()
            guard !s.history.isEmpty else {
                shell.say("no iterations yet (step, run)")
                return
            }
            let last = try a.int("last", default: 20, in: 1...1_000_000)
            // The PNG first: if it cannot be written, the command prints one error line, not a table and then an error.
            var savedPlot: String? = nil
            if let path = a.value("png") {
                // The total, each kind's weighted sum, and each style layer on its own.
                let kinds = s.history.last!.breakdown.kinds
                var series: [(String, [Double])] = [("total", s.history.map(\.total))]
                for kind in kinds where kind != .style { series.append((kind.rawValue, s.history.map { $0.breakdown.weighted(kind) })) }
                for layer in s.configuration.loss.styleLayers {
                    series.append((layer.name, s.history.map { $0.breakdown.term(.style, layer: layer.name)?.weighted ?? .nan }))
                }
                // Where a setting changed or the run was rewound: a dashed line, so a learner sees why the curve bends.
                let markers = s.events.filter { $0.iteration > 0 }.map { (x: $0.iteration + 1, label: $0.label) }
                let plot = Pictures.plot(series, title: "loss terms, weighted — \(s.history.count) iterations", markers: markers)
                try plot.savePNG(path)
                savedPlot = path
                shell.showSaved(plot, path: path, caption: "loss terms, weighted")
            }
            if s.history.count > last { shell.say("the last \(last) of \(s.history.count) iterations (--last N for more)") }
            // A column per kind of term the loss has (content, style, tv, …), weighted.
            let kinds = s.history.last!.breakdown.kinds
            shell.say(
                "iter  optimizer  total          " + kinds.map { pad($0.rawValue, 11) + "  " }.joined()
                    + "step        evals  seconds")
            for r in s.history.suffix(last) {
                let terms = kinds.map { pad(String(format: "%.5g", r.breakdown.weighted($0)), 11) + "  " }.joined()
                shell.say(
                    String(
                        format: "%4d  %@  %@  %@%-10.4g  %5d  %.2f", r.iteration + 1, pad(r.optimizer, 9) as NSString,
                        pad(abs(r.total) < 1e12 ? formatLoss(r.total) : String(format: "%.4e", r.total), 13) as NSString,
                        terms as NSString, r.stepSize, r.evaluations, r.seconds))
            }
            shell.measured("history.evaluations", Double(s.history.map(\.evaluations).reduce(0, +)))
            shell.say("total (log): " + TerminalPicture.sparkline(s.history.map(\.total), width: min(shell.columns - 14, 60)))
            shell.say(
                "snapshots kept for rewind: \(s.snapshots.iterations.count) "
                    + "(\(formatBytes(s.snapshots.totalBytes)) of \(formatBytes(s.snapshots.budgetBytes)))"
            )
            if let path = savedPlot {
                shell.say("plotted total, content, tv and each style layer (log scale) to \(path)")
            }
        },
        Command(
            name: "reset", topic: .optimise, summary: "start again from the initial image (clears history)",
            usage: "reset", example: "reset", maxPositional: 0
        ) { shell, _ in
            try shell.session().resetCombination()
            shell.say("combination image reset; iteration 0")
        },
    ]

    static func printRecord(_ shell: Shell, _ r: IterationRecord) {
        let terms = r.breakdown.kinds.map { String(format: "%@ %.4g", $0.rawValue, r.breakdown.weighted($0)) }.joined(separator: ", ")
        shell.say(
            String(
                format: "iteration %4d  loss %@  (%@)  step %.4g  ‖g‖ %.4g  %.2f s",
                r.iteration + 1, formatLoss(r.total) as NSString, terms as NSString, r.stepSize, r.gradientNorm, r.seconds))
    }

    /// Each iteration's line shows the loss it started from (as the Keras example prints it); this
    /// line, the loss at the image now — what `loss` and `expect loss` see.
    static func sayLossNow(_ shell: Shell, _ s: TransferSession) throws {
        let now = try s.lossNow().total
        shell.say("loss now \(formatLoss(now)), after iteration \(s.iteration) (each line above: the loss its iteration started from)")
        shell.measured("loss.now", now)
    }

    static func runName(_ a: Arguments) throws -> String? {
        let name = a.value("name")
        if let name, name.isEmpty || name.contains("/") || name.contains(" ") { throw UsageError("--name is one word, without /") }
        return name
    }

    /// What a step or run measured: seconds per iteration, loss evaluations.
    static func measureSteps(_ shell: Shell, _ records: [IterationRecord]) {
        guard !records.isEmpty else { return }
        shell.measured("step.seconds", records.map(\.seconds).reduce(0, +) / Double(records.count))
        shell.measured("step.evaluations", Double(records.map(\.evaluations).reduce(0, +)) / Double(records.count))
        shell.measured("loss", records.last!.total)
    }

    /// The Keras example's SGD (lr 100) with its style normalisation (÷ the image area squared)
    /// explodes below the example's own 400 rows: say so once per session, with the fix.
    static func warnIfKnownToDiverge(_ shell: Shell, _ s: TransferSession) {
        guard !shell.warnedAboutDivergence, let sgd = s.optimizer as? SGD, sgd.initialLearningRate >= 10,
            s.configuration.loss.normalization == .keras, s.configuration.rows < 400
        else { return }
        shell.warnedAboutDivergence = true
        let lr = String(format: "%g", sgd.initialLearningRate)
        // The example's own constants, or the learner's: say which.
        let constants =
            sgd.initialLearningRate == SGD().initialLearningRate
            ? "the Keras example's constants (SGD lr \(lr), style ÷ (rows·cols)²)"
            : "SGD at lr \(lr) with the example's style normalisation (÷ (rows·cols)²)"
        shell.say(
            "note: \(constants) diverge below 400 rows; at \(s.configuration.rows) rows use set --preset any-size, "
                + "set --size 400, or a smaller --lr")
    }
}
