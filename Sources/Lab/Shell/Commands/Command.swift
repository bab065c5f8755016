import Foundation
import Kernels

// The shell's commands, one table: each command is declared once (name, topic, summary, usage,
// example, options, completion, handler) in the file of its topic, Commands/<Topic>.swift, and help,
// completion and the fuzz dictionary are derived from the table.

/// What a command's positional arguments complete to.
enum Completion: Sendable { case none, files, layers, commands, words([String]) }

/// The topics `help` lists commands under; each is one file of Commands/.
enum Topic: String, CaseIterable, Sendable {
    case images, network, loss, compute, optimise, settings, lessons, session
}

/// One shell command: everything about it in one place, so help cannot drift from behaviour.
struct Command: Sendable {
    let name: String
    var aliases: [String] = []
    let topic: Topic
    let summary: String
    let usage: String
    let example: String
    var options: [String] = []
    var flags: [String] = []
    var completes: Completion = .none
    /// Whether a failure puts the session back as it was (all or nothing). Off for the commands
    /// that commit as they go: `step 5` failing at the fourth keeps the three before it.
    var transactional = true
    /// The words after the name reach the command unparsed (`expect error set --size 0`).
    var rawArguments = false
    /// At most this many words besides the options (nil: any number); more is refused, never ignored
    /// (`step 1 2`, `reset now`).
    var maxPositional: Int? = nil
    /// Prints as it goes (a long computation's progress): its output is not held back until it succeeds.
    var streams = false
    let run: @Sendable (Shell, Arguments) throws -> Void
}

enum CommandTable {
    static func find(_ name: String) -> Command? { all.first { $0.name == name || $0.aliases.contains(name) } }

    static func nearest(to name: String) -> [String] {
        let scored = all.map { ($0.name, editDistance($0.name, name)) }.filter { $0.1 <= 2 }
        let best = scored.map(\.1).min()
        return scored.filter { $0.1 == best }.map(\.0)
    }

    static let all: [Command] = Topic.allCases.flatMap(commands)

    static func commands(_ topic: Topic) -> [Command] {
        switch topic {
        case .images: return images
        case .network: return network
        case .loss: return loss
        case .compute: return compute
        case .optimise: return optimise
        case .settings: return settings
        case .lessons: return lessons
        case .session: return session
        }
    }

    /// Commands that move through a lesson: refused inside a cell, which would otherwise re-run itself.
    static let lessonNavigation: Set<String> = ["lesson", "next", "back", "where", "edit", "hint", "solution"]
}
