import Foundation
import Testing

@testable import Lab

/// The rest of the third hardening round: refusals that printed results first, junk words taken in
/// silence, piped input read whole, writes that replaced pipes or left half a notebook, errors that
/// named the wrong thing. Each test failed before its fix.
@Suite("Round three, the rest", .serialized) struct RoundThreeRestTests {
    /// `features --channels 999`, `gram --diff --top 1000` and bad `gradcheck` pixels printed their
    /// results (and recorded values) before the error; `rf L 1,x,2` read (1, 2).
    @Test func aRefusalPrintsOneLineAndMeasuresNothing() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("layers").0 == .ok)
        let measured = h.shell.measurements
        for line in [
            "features block1_conv1 --channels 999", "features block1_conv1 --channels 1,x", "gram block1_conv1 --diff --top 1000",
            "gradcheck --pixels 9,9999,9", "gradcheck --pixels 1,2", "rf block3_conv1 1,x,2", "tensor result --pixel 1,x,2",
        ] {
            expectRefused(h, line)
            #expect(h.shell.measurements == measured, "\(line) recorded values")
        }
        // A picture command whose picture cannot be written: its measurement is undone with it.
        h.shell.outputDirectory = "/dev/null/out"
        expectRefused(h, "diff content result", containing: "/dev/null")
        #expect(h.shell.measurements == measured)
        #expect(Arguments.wholeNumbers("1,x,2") == nil && Arguments.wholeNumbers("10,12") == [10, 12] && Arguments.wholeNumbers("") == nil)
    }

    /// `step 1 2` and `reset now` ignored their extra words (while `new x` was refused): every
    /// command with a bounded number of arguments refuses one more, from the table.
    @Test func extraWordsAreRefusedByEveryCommand() throws {
        let h = ShellHarness().loaded()
        var checked = 0
        for command in CommandTable.all where command.name != "quit" {
            guard let most = command.maxPositional else { continue }
            let line = ([command.name] + Array(repeating: "x", count: most + 1)).joined(separator: " ")
            expectRefused(h, line, containing: command.name)
            checked += 1
        }
        #expect(checked >= 30)
        #expect(h.run("step 1").0 == .ok)
    }

    /// With L-BFGS, a refused `set` between steps changed a hidden counter: rewinding and stepping
    /// again gave another loss than without it.
    @Test func aRefusedSetBetweenStepsLeavesTheRunAsItWas() throws {
        func losses(refusing: Bool) throws -> [Double] {
            let h = ShellHarness().loaded()
            #expect(h.run("optimizer lbfgs").0 == .ok)
            #expect(h.run("step 3").0 == .ok)
            if refusing { expectRefused(h, "set --style-weight 1e-5 --add-style /nonexistent.png:1") }
            #expect(h.run("rewind 2").0 == .ok)
            #expect(h.run("step 2").0 == .ok)
            return try h.shell.session().history.map(\.total)
        }
        #expect(try losses(refusing: true) == losses(refusing: false))
    }

    /// Piped input was read whole before anything ran: `yes help | lab` printed nothing, and a
    /// Ctrl-C while reading was ignored. Lines now run as they arrive; a Ctrl-C ends the input.
    @Test func pipedInputIsReadLineByLineAndCtrlCEndsIt() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let interruption = Interruption(catchingSIGINT: false)
        let lines = InputLines(fileDescriptor: fds[0], interruption: interruption)
        let first = "\u{FEFF}help step\r\n"
        _ = first.utf8CString.withUnsafeBufferPointer { write(fds[1], $0.baseAddress, $0.count - 1) }
        // The first line comes while the writer is still there: nothing waits for the end.
        #expect(lines.next() == "help step", "the byte-order mark and the CR are not part of the command")
        let start = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { interruption.interrupt() }
        #expect(lines.next() == nil && lines.interrupted)
        #expect(Date().timeIntervalSince(start) < 2)
        close(fds[1])
        // A line longer than the limit is refused whole, never run cut.
        var long: [Int32] = [0, 0]
        #expect(pipe(&long) == 0)
        let writer = long[1]
        DispatchQueue.global().async {
            let text = "print " + String(repeating: "1", count: InputLines.maxLine + 10) + "\nhelp\n"
            _ = text.utf8CString.withUnsafeBufferPointer { p in
                var off = 0
                while off < p.count - 1 {
                    let n = write(writer, p.baseAddress! + off, p.count - 1 - off)
                    if n <= 0 { break }
                    off += n
                }
            }
            close(writer)
        }
        let longLines = InputLines(fileDescriptor: long[0], interruption: Interruption(catchingSIGINT: false))
        let cut = try #require(longLines.next())
        #expect(cut.utf8.count == InputLines.maxLine + 1 && longLines.next() == "help" && longLines.next() == nil)
        close(long[0])
        let h = ShellHarness()
        let (outcome, refusal) = h.run(cut)
        #expect(outcome != .ok && refusal.contains("MiB is not a command"), "\(refusal.prefix(200))")
        // The lab binary: the first line's output comes before the input ends.
        let (status, out) = try runLab([], input: "\u{FEFF}help reset\n")
        #expect(status == 0 && out.contains("usage:   reset") && !out.contains("unknown command"), "\(out)")
    }

    /// `notebook save` onto a pipe replaced it with a file and said "saved"; `notebook save /`
    /// made /_files; a refused save left an empty FILE_files/.
    @Test func aNotebookNeverReplacesAPipeOrLeavesAFolderBehind() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("show content").0 == .ok)
        let folder = Paths.temporaryDirectory()
        for name in ["pipe.md", "pipe.ipynb"] {
            let path = folder + "/" + name
            #expect(mkfifo(path, 0o644) == 0)
            expectRefused(h, "notebook save \(path)", containing: "not a regular file")
            var info = stat()
            #expect(stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO, "the pipe is still a pipe")
        }
        #expect(!FileManager.default.fileExists(atPath: folder + "/pipe_files"), "no folder left by the refused save")
        let sub = folder + "/sub"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        expectRefused(h, "notebook save \(sub)", containing: "is a folder")
        #expect(!FileManager.default.fileExists(atPath: sub + "_files"))
        // Into folders that do not exist yet: made, as before.
        for name in ["new/a.md", "new/deeper/b.ipynb"] { #expect(h.run("notebook save \(folder)/\(name)").0 == .ok, "\(name)") }
        // A pipe with a reader is written to, whole: the reader is not told "end" by a look first.
        // The reader's end is open before the save (non-blocking, so no thread has to be first: the
        // save cannot find the pipe without a reader). It waits in poll(), which on Linux reports no
        // hang-up until a writer has come and gone: a look that closed before the write ends the
        // reading with nothing whenever the reader wakes in between.
        let fifo = folder + "/reader.png"
        #expect(mkfifo(fifo, 0o644) == 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        try #require(reader >= 0)
        let received = SharedData()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var bytes = Data()
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var waiting = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
            reading: while poll(&waiting, 1, 30_000) > 0 {
                while true {
                    let n = read(reader, &buffer, buffer.count)
                    if n > 0 { bytes.append(contentsOf: buffer[..<n]) } else if n == 0 { break reading } else { break }
                }
            }
            close(reader)
            received.set(bytes)
            done.signal()
        }
        #expect(h.run("save \(fifo)").0 == .ok)
        #expect(done.wait(timeout: .now() + 40) == .success)
        #expect(Array(received.get().prefix(4)) == [0x89, 0x50, 0x4E, 0x47], "the reader got the PNG")
    }

    /// A notebook save that failed part way (a full disk) kept the old text but had overwritten
    /// its pictures: now nothing is replaced until every file is written.
    @Test func aNotebookIsWrittenWholeOrNotAtAll() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("show content").0 == .ok)
        let path = Paths.temporaryDirectory() + "/nb.md"
        #expect(h.run("notebook save \(path)").0 == .ok)
        let assets = path.replacingOccurrences(of: ".md", with: "_files")
        let before = try FileManager.default.contentsOfDirectory(atPath: assets).sorted()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let picture = try Data(contentsOf: URL(fileURLWithPath: assets + "/" + before[0]))
        // The next save's second picture cannot be written (a folder holds its name): the save fails.
        #expect(h.run("step 1").0 == .ok)
        #expect(h.run("show result").0 == .ok)
        let blocked = try #require(h.shell.transcript.last?.pictures.last)
        try FileManager.default.createDirectory(atPath: assets + "/" + (blocked as NSString).lastPathComponent, withIntermediateDirectories: true)
        try Data("changed".utf8).write(to: URL(fileURLWithPath: h.shell.transcript.first { !$0.pictures.isEmpty }!.pictures[0]))
        expectRefused(h, "notebook save \(path)", containing: "is a folder")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text, "the old notebook is whole")
        #expect(try Data(contentsOf: URL(fileURLWithPath: assets + "/" + before[0])) == picture, "and its pictures")
        let left = try FileManager.default.contentsOfDirectory(atPath: assets).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty, "no temporary file left: \(left)")
    }

    /// Failed writes named the hidden temporary file, and a full disk was "write error".
    @Test func aFailedWriteNamesItsFileAndWhy() throws {
        let h = ShellHarness().loaded()
        expectRefused(h, "save /dev/full", containing: "no space left on device")
        let path = Paths.temporaryDirectory() + "/x.png"
        let message = errorMessage { try AtomicFile.write(path) { temporary in throw FileError("\(temporary): boom") } }
        #expect(message == "\(path): boom")
        #expect(
            !(try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)).contains { $0.contains(".tmp-") })
    }
}

extension RoundThreeRestTests {
    /// A damaged session.json said only "The data isn't in the correct format.": now where and what.
    @Test func aDamagedArchiveNamesTheKeyAndTheProblem() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("step 1").0 == .ok)
        let folder = Paths.temporaryDirectory() + "/saved"
        #expect(h.run("session save \(folder)").0 == .ok)
        let original = try Data(contentsOf: URL(fileURLWithPath: folder + "/session.json"))
        func tampered(_ change: (inout [String: Any]) -> Void) throws -> String {
            var json = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
            change(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: folder + "/session.json"))
            let (outcome, out) = h.run("session open \(folder)")
            #expect(outcome != .ok)
            return out
        }
        #expect(try tampered { $0["history"] = nil }.contains("at history: missing"))
        #expect(
            try tampered { j in
                var history = j["history"] as! [[String: Any]]
                history[0]["iteration"] = "x"
                j["history"] = history
            }.contains("at history[0].iteration: not a whole number"))
        try Data("{\"a\": NaN}".utf8).write(to: URL(fileURLWithPath: folder + "/session.json"))
        let (_, nan) = h.run("session open \(folder)")
        #expect(nan.contains("not valid JSON") && !nan.contains("correct format"), "\(nan)")
    }

    /// Wrong reasons: `rewind 0` with no content blamed snapshot thinning, a tiny --style-scale
    /// blamed "the image", a deep or NaN notebook was "no cells", a Latin-1 lesson "cannot read".
    @Test func errorsGiveTheRightReason() throws {
        let fresh = ShellHarness()
        expectRefused(fresh, "rewind 0", containing: "no content image yet")
        let h = ShellHarness().loaded()
        expectRefused(h, "set --style-scale 0.01", containing: "--style-scale 0.01 makes the style images")
        let folder = Paths.temporaryDirectory()
        let cases: [(String, [UInt8], String)] = [
            ("latin.md", Array("# caf".utf8) + [0xE9, 10], "not UTF-8 (byte 0xE9 at offset 5"),
            ("utf16.md", [0xFF, 0xFE, 0x23, 0x00], "UTF-16"),
            ("deep.ipynb", Array(String(repeating: "[", count: 200).utf8), "nested deeper than 64"),
            ("nan.ipynb", Array("{\"cells\": NaN}".utf8), "its JSON is invalid"),
            ("list.ipynb", Array("{\"cells\": 3}".utf8), "no list of cells"),
        ]
        for (name, bytes, reason) in cases {
            let path = folder + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let message = errorMessage { try Lesson(path: path) } ?? ""
            #expect(message.contains(reason), "\(name): \(message)")
        }
    }

    /// A 1-pixel-wide content image was accepted and `layers` listed layers of width 0.
    @Test func anImageTooThinForVGG19IsRefused() throws {
        let h = ShellHarness().loaded()
        let path = Paths.temporaryDirectory() + "/thin.png"
        try RGBImage(width: 1, height: 300, pixels: [UInt8](repeating: 90, count: 900)).savePNG(path)
        expectRefused(h, "content \(path)", containing: "at least 16 pixels each way")
    }

    /// A hint with a code block was cut at the block, and a ```lab block in it was run as a cell.
    @Test func aHintKeepsItsCodeBlocks() throws {
        let text = exerciseLesson.replacingOccurrences(
            of: "Look at `help set`: --content-weight.",
            with: "Look at `help set`, for instance:\n\n```lab\nset --content-weight 1\n```\n\nthen change the number.")
        let lesson = try Lesson(path: "x.md", markdown: text)
        #expect(lesson.cells.map(\.kind) == [.run, .check, .solution, .run], "the hint's block is not a cell")
        let hint = try #require(lesson.hints["make the content weight 2"])
        #expect(hint.contains("```lab\nset --content-weight 1\n```") && hint.hasSuffix("then change the number."), "\(hint)")
        // On one line, and never closed.
        let oneLine = exerciseLesson.replacingOccurrences(
            of: "<details><summary>Hint</summary>\n\nLook at `help set`: --content-weight.\n\n</details>",
            with: "<details><summary>Hint</summary> Look at `help set`. </details>")
        let parsed = try Lesson(path: "x.md", markdown: oneLine)
        #expect(parsed.hints["make the content weight 2"] == "Look at `help set`." && parsed.cells.count == 4)
        let unclosed = exerciseLesson.replacingOccurrences(of: "--content-weight.\n\n</details>", with: "--content-weight.\n")
        #expect(errorMessage { try Lesson(path: "x.md", markdown: unclosed) }?.contains("never closed") == true)
    }

    /// The lesson parser accepted two exercises with one title, two check cells, and `quit` in a cell.
    @Test func aMalformedLessonIsRefusedWithItsLine() {
        let exercise = "## Exercise: a\n```lab check\nexpect iteration == 0\n```\n```lab solution\nconfig\n```\n"
        let cases: [(String, String)] = [
            ("# L\n" + exercise + exercise, "x.md:9: a second exercise titled 'a'"),
            ("# L\n" + exercise + "```lab check\nexpect iteration == 0\n```\n", "x.md:9: exercise 'a' has a second ```lab check cell"),
            ("# L\n```lab\nconfig\nquit\n```\n", "x.md:2: 'quit' in a cell"),
        ]
        for (text, message) in cases {
            let got = errorMessage { try Lesson(path: "x.md", markdown: text) } ?? "accepted"
            #expect(got.contains(message), "\(got)")
        }
    }
}

/// Bytes one thread writes and another reads.
final class SharedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.withLock { data = d } }
    func get() -> Data { lock.withLock { data } }
}
