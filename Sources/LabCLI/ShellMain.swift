import CLineEdit
import Foundation
import Kernels
import Lab

/// Wires the shell to a terminal (readline), a pipe, or a script file.
enum ShellMain {
    nonisolated(unsafe) static var completingShell: Shell?

    static func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    static var home: String { ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory() }

    /// `lab run FILE.md …`: every ```lab cell, headless; fails on an error or an unmet expectation.
    static func runFiles(_ words: [String]) -> Int32 {
        guard let a = try? Arguments.parse(words, options: ["out"], flags: ["keep-going"]), !a.positional.isEmpty else {
            FileHandle.standardError.write(Data("usage: lab run FILE.md … [--keep-going] [--out DIR]\n".utf8))
            return 2
        }
        var failed = 0
        let interruption = Interruption(catchingSIGINT: true)
        for (i, path) in a.positional.enumerated() {
            // A fresh shell per file: each lesson starts from nothing, as a reader would.
            let shell = Shell(output: write, outputDirectory: a.value("out") ?? "out", interruption: interruption)
            if interruption.isSet {
                write("interrupted (Ctrl-C): \(a.positional.count - i) file(s) not run\n")
                failed += a.positional.count - i
                break
            }
            do {
                if try shell.runLesson(path, keepGoing: a.has("keep-going")) > 0 { failed += 1 }
            } catch {
                FileHandle.standardError.write(Data("lab run: \(error)\n".utf8))
                failed += 1
            }
        }
        write("\(a.positional.count - failed) passed, \(failed) failed\n")
        return failed == 0 ? 0 : 1
    }

    static func main(_ words: [String], openLesson: String? = nil) -> Int32 {
        let a: Arguments
        do { a = try Arguments.parse(words, options: ["script", "out"], flags: ["keep-going"]) } catch {
            FileHandle.standardError.write(Data("lab: \(error)\n".utf8))
            return 2
        }
        let terminal = isatty(1) == 1
        let color = terminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        var size = winsize()
        let columns = ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
        let shell = Shell(
            output: write, color: color, columns: columns, outputDirectory: a.value("out") ?? "out",
            interruption: Interruption(catchingSIGINT: true))
        if size.ws_row > 0 { shell.lines = Int(size.ws_row) }
        shell.progressPath = (home as NSString).appendingPathComponent(".nstlab_progress.json")
        shell.prefill = { nst_set_prefill($0) }
        if let n = openLesson { shell.execute("lesson \(n)") }

        if let path = a.value("script") {
            let text: String
            do { text = try Lesson.readText(path) } catch {
                FileHandle.standardError.write(Data("lab: \(error)\n".utf8))
                return 2
            }
            let failures = shell.runScript(Lesson.lines(text), name: path, keepGoing: a.has("keep-going"))
            return failures == 0 ? 0 : 1
        }
        if isatty(0) != 1 {
            // Piped input: a transcript, each command echoed before its output, run as it arrives.
            let lines = InputLines(fileDescriptor: 0, interruption: shell.interruption)
            let failures = shell.runScript(lines, name: "stdin", keepGoing: true)
            if lines.interrupted {
                write("interrupted (Ctrl-C) while reading input; the rest is not run\n")
                return 1
            }
            return failures == 0 ? 0 : 1
        }
        return interactive(shell)
    }

    static func interactive(_ shell: Shell) -> Int32 {
        completingShell = shell
        nst_lineedit_init("nstlab") { word, before in
            guard let shell = ShellMain.completingShell, let word, let before else { return nil }
            let matches = shell.completions(word: String(cString: word), before: String(cString: before))
            guard !matches.isEmpty else { return nil }
            let list = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: matches.count + 1)
            for (i, m) in matches.enumerated() { list[i] = strdup(m) }
            list[matches.count] = nil
            return list
        }
        let historyPath =
            ProcessInfo.processInfo.environment["NSTLAB_HISTORY"]
            ?? (home as NSString).appendingPathComponent(".nstlab_history")
        _ = nst_read_history(historyPath)
        write("NST Lab — neural style transfer, one step at a time. Type help, or Tab to complete.\n")
        while true {
            guard let raw = nst_readline("lab> ") else {
                write("\n")
                break
            }  // Ctrl-D
            let text = String(cString: raw)
            free(raw)
            // `edit` puts a whole cell on the line, one command per line: Enter runs them in order,
            // stopping at the first that fails.
            var quit = false
            for line in text.split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                nst_add_history(trimmed)
                // The window may have been resized since the last command: pictures fit it as it is now.
                var size = winsize()
                if ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 {
                    shell.columns = Int(size.ws_col)
                    if size.ws_row > 0 { shell.lines = Int(size.ws_row) }
                }
                let outcome = shell.execute(trimmed)
                if outcome == .quit {
                    quit = true
                    break
                }
                if case .failed = outcome { break }  // as in a cell: the rest depends on it
            }
            if quit { break }
        }
        _ = nst_write_history(historyPath, 1000)
        return 0
    }
}
