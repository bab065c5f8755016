import Foundation
import Kernels

// Running a lesson or notebook: headless (`lab run`), and one cell in the shell.

extension Shell {
    /// Runs a lesson or notebook file headless: every ```lab cell in order; an error or an unmet
    /// expectation fails it. Returns the number of failures.
    public func runLesson(_ path: String, keepGoing: Bool = false) throws -> Int {
        let lesson = try Lesson(path: path)
        guard lesson.cells.contains(where: { !$0.commands.isEmpty }) else {
            throw SessionError.invalid("\(path): no ```lab cell to run")
        }
        say("# \(lesson.title)")
        var failures = 0
        cellDepth += 1
        defer { cellDepth -= 1 }
        for (i, cell) in lesson.cells.enumerated() {
            // Exercises run headless as a learner who gives up would: the solution, then the check.
            if cell.kind == .solution { continue }
            let commands = lesson.commandsRunHeadless(i)
            if cell.kind == .check && commands.count > cell.commands.count {
                say("exercise: \(cell.exercise ?? "") — running its solution, then its check")
            }
            pendingProse = cell.prose.isEmpty ? nil : cell.prose
            cellOutput = ""
            defer { cellOutput = nil }
            for command in commands {
                say("lab> \(command)")
                if case .failed = execute(command) {
                    failures += 1
                    say("\(path):\(cell.line): cell \(i + 1) failed")
                    if !keepGoing { return failures }
                }
                if interruption.isSet {
                    say("\(path):\(cell.line): interrupted (Ctrl-C); the rest is skipped")
                    return failures + 1
                }
            }
        }
        return failures
    }

    /// Runs one lesson cell's commands in order, its output gathered for `expect output` (a check
    /// cell run by `next` looks instead at what the learner's last command printed).
    /// Returns the first failure (command and why), or nil.
    func runCell(_ commands: [String], ownOutput: Bool = true) -> (command: String, why: String)? {
        cellDepth += 1
        cellOutput = ownOutput ? "" : nil
        defer {
            cellDepth -= 1
            cellOutput = nil
        }
        for command in commands {
            say("lab> \(command)")
            if case .failed(let why) = execute(command) { return (command, why) }
            if interruption.isSet { return (command, "interrupted (Ctrl-C)") }
        }
        return nil
    }
}
