import Foundation
import Kernels

// Settings: every transfer option (the table in Options/TransferOptions.swift) through `set`, and
// the whole configuration as `config` shows it.

extension CommandTable {
    static let settings: [Command] = [
        Command(
            name: "set", topic: .settings, summary: "change weights, layers, normalisation, pooling, size, backend, threads…",
            usage: "set --OPTION VALUE …  (see help set; --pictures auto|kitty|iterm|sixel|blocks|text|off)",
            example: "set --style-weight 1e-5 --pooling average",
            options: TransferOptions.valueOptions + ["pictures"], flags: TransferOptions.flagOptions
        ) { shell, a in
            guard !a.values.isEmpty || !a.flags.isEmpty else { throw UsageError("set needs at least one --OPTION (help set lists them)") }
            guard a.positional.isEmpty else {
                throw UsageError(
                    "set takes --OPTION VALUE pairs and flags; '\(a.positional[0])' belongs to none (a flag such as --original-colors takes no value)"
                )
            }
            // The shell's own setting; applied only once everything else has been.
            let pictures = try a.choice("pictures", PictureMode.self)
            var rest = a
            rest.values["pictures"] = nil
            guard !rest.values.isEmpty || !rest.flags.isEmpty else {
                shell.pictures = pictures!
                shell.say("ok — pictures: \(pictures!.rawValue)")
                return
            }
            let s = try shell.session()
            let before = s.iteration
            try TransferOptions.apply(rest, to: s)
            if let pictures { shell.pictures = pictures }
            if before > 0 && s.iteration == 0 {
                shell.say(
                    "ok — the image size or starting image changed, so the run restarted at iteration 0 "
                        + "(\(before) iterations dropped; session save keeps a run)"
                )
            } else {
                shell.say("ok")
            }
        },
        Command(
            name: "config", topic: .settings, summary: "show the whole configuration",
            usage: "config", example: "config", maxPositional: 0
        ) { shell, _ in
            let s = try shell.session()
            // Every option's current value, as it would be typed (derived from the option table), then the session's facts.
            shell.say(TransferOptions.describe(s))
            let size = s.workingSize.map { "\($0.width)×\($0.height)" } ?? "(no content yet)"
            let styles = s.styles.map(\.path).joined(separator: ", ")
            shell.say(
                """
                working size    \(size) at iteration \(s.iteration)
                loss form       content and tv as \(s.configuration.loss.averageContentAndTV ? "means (size-independent)" : "sums (the example)")
                optimiser       \(s.optimizer.name): \(s.optimizer.settings.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
                style masks     \(s.styles.isEmpty ? "no style image" : s.styles.map { $0.maskPath ?? "none" }.joined(separator: ", "))
                images          content \(s.contentPath ?? "none"); style \(styles.isEmpty ? "none" : styles)
                memory          \(s.memoryEstimate()?.summary ?? "(no content yet)"); limit \(formatBytes(MemoryPolicy.limit))
                """)
            for t in s.configuration.loss.customTerms {
                shell.say("your term       \(t.name) = \(t.expression)  (weight \(NDArray.number(t.weight)))")
            }
        },
    ]
}
