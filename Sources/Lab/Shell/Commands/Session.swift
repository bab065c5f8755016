import Foundation
import Kernels

// The session itself: help, a new session, saving and reopening one, leaving the shell.

extension CommandTable {
    static let session: [Command] = [
        Command(
            name: "new", topic: .session, summary: "start a new session: default settings, no images, no history (lessons begin with it)",
            usage: "new", example: "new", transactional: false, maxPositional: 0
        ) { shell, a in
            guard a.positional.isEmpty else { throw UsageError("new takes no arguments") }
            let dropped = try shell.startNewSession()
            // Typed by the learner, not run by a lesson's cell: what the lessons' cells set up is gone.
            if shell.cellDepth == 0 { shell.lessonCellsRun = nil }
            shell.say(
                "a new session, no images: " + Shell.startingDescription
                    + (dropped > 0 ? "; the previous one's \(dropped) iteration(s) are gone (session save keeps a session)" : ""))
        },
        Command(
            name: "help", aliases: ["?"], topic: .session, summary: "list commands by topic, or show one command's usage and example",
            usage: "help [COMMAND]", example: "help step", completes: .commands, maxPositional: 1
        ) { shell, a in
            if let name = a.positional.first {
                guard let c = find(name) else { throw UsageError("no command '\(name)'") }
                shell.say(
                    "\(c.name) — \(c.summary)\nusage:   \(c.usage)\nexample: \(c.example)"
                        + (c.aliases.isEmpty ? "" : "\naliases: \(c.aliases.joined(separator: ", "))"))
                if c.name == "set" {
                    shell.say(TransferOptions.help)
                    shell.say(Shell.startingDescription)
                }
                if c.topic == .compute || c.name == "loss" { shell.say(ExpressionFunctions.help) }
                return
            }
            for topic in Topic.allCases {
                shell.say("\(topic.rawValue):")
                let width = (all.map(\.name.count).max() ?? 10) + 2
                for c in all where c.topic == topic { shell.say("  " + pad(c.name, width) + c.summary) }
            }
            shell.say("help COMMAND shows its usage and an example; Tab completes commands, options, layers and files.")
        },
        Command(
            name: "quit", aliases: ["exit"], topic: .session, summary: "leave the shell (Ctrl-D too)",
            usage: "quit", example: "quit", maxPositional: 0
        ) { _, _ in },
        Command(
            name: "session", topic: .session, summary: "save the whole session (images, settings, optimiser, history) or reopen one",
            usage: "session save|open FOLDER", example: "session save out/cat.nstlab", completes: .files, maxPositional: 2
        ) { shell, a in
            guard a.positional.count == 2, ["save", "open"].contains(a.positional[0]) else { throw UsageError("session save|open FOLDER") }
            let s = try shell.session()
            if a.positional[0] == "save" {
                try s.save(to: a.positional[1])
                shell.say("saved the session at iteration \(s.iteration) to \(a.positional[1])/")
            } else {
                try s.open(a.positional[1])
                if shell.cellDepth == 0 { shell.lessonCellsRun = nil }
                shell.say("reopened \(a.positional[1]): iteration \(s.iteration), \(s.optimizer.name)")
            }
        },
    ]
}
