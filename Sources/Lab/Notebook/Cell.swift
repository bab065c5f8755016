import Foundation

// Running a cell — several commands, one per line — on the shell's session, and getting back what
// it made in order: text, pictures, an error. The terminal prints as it goes; a notebook front end
// (a Jupyter kernel, a writer) renders the same outputs its own way.

/// One output of a cell, in the order its commands made them.
public enum CellOutput: Equatable, Sendable {
    /// What commands printed (never terminal graphics: those go to the terminal only).
    case text(String)
    /// A picture, written as a PNG under the output folder.
    case picture(path: String, caption: String, width: Int, height: Int)
    /// The one-line error of the command the cell stopped at (or went past, without stopOnError).
    case error(String)
}

public struct CellResult: Sendable {
    public var outputs: [CellOutput] = []
    /// Commands run (the one that failed included).
    public var commandsRun = 0
    public var failed = false
    /// Ctrl-C (or an interrupt request) stopped it between two commands or inside a long one.
    public var interrupted = false
}

extension Shell {
    /// The commands of a cell's text: one per line, a trailing `\` continuing it on the next; blank
    /// lines and `#` comments skipped.
    public static func commands(ofCell text: String) -> [String] {
        var commands: [String] = [], pending = ""
        for raw in text.components(separatedBy: "\n") {
            var line = raw.trimmingCharacters(in: .whitespaces)
            let continues = line.hasSuffix("\\")
            if continues { line.removeLast() }
            pending += (pending.isEmpty ? "" : " ") + line.trimmingCharacters(in: .whitespaces)
            if continues { continue }
            let command = pending.trimmingCharacters(in: .whitespaces)
            pending = ""
            if !command.isEmpty && !command.hasPrefix("#") { commands.append(command) }
        }
        let last = pending.trimmingCharacters(in: .whitespaces)
        if !last.isEmpty && !last.hasPrefix("#") { commands.append(last) }
        return commands
    }

    /// Runs a cell's text on the session: its commands in order, stopping at the first error as a
    /// script does (unless `stopOnError` is false), and at Ctrl-C. Consecutive text is one output.
    /// `each` sees every output as it is made (a front end that streams them).
    public func run(cell text: String, stopOnError: Bool = true, each: ((CellOutput) -> Void)? = nil) -> CellResult {
        var result = CellResult()
        let previous = cellRecorder
        cellRecorder = { output in
            each?(output)
            if case .text(let more) = output, case .text(let text)? = result.outputs.last {
                result.outputs[result.outputs.count - 1] = .text(text + more)
            } else {
                result.outputs.append(output)
            }
        }
        defer { cellRecorder = previous }
        for command in Shell.commands(ofCell: text) {
            result.commandsRun += 1
            let outcome = execute(command)
            if interruption.isSet {
                result.interrupted = true
                return result
            }
            if case .failed = outcome {
                result.failed = true
                if stopOnError { return result }
            }
            if outcome == .quit { break }
        }
        return result
    }
}
