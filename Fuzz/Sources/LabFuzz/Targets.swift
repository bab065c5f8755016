import Foundation
import Kernels

@testable import Lab

// One binary, several targets, chosen by NST_FUZZ_TARGET: png, jpeg, safetensors, archive,
// lesson, shell, input, jupyter. libFuzzer calls LLVMFuzzerTestOneInput with each input; anything but a clean
// return or a thrown error (a trap, an overflow, a memory error caught by AddressSanitizer) is
// a finding, and libFuzzer saves the input that caused it.

enum Fuzz {
    static let target = ProcessInfo.processInfo.environment["NST_FUZZ_TARGET"] ?? ""
    /// A scratch folder that is also the working folder: every relative path a fuzzed command
    /// names lands here.
    static let scratch: String = {
        let dir = NSTemporaryDirectory() + "nstlab-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = FileManager.default.changeCurrentDirectoryPath(dir)
        return dir
    }()
    static let inputPath = scratch + "/input"
    /// Special files a fuzzed command may name (`notebook save fifo.md`, `save full.png`): a pipe
    /// nobody reads and the full-disk device. Writing must refuse or fail in one line, never hang or
    /// replace them.
    static let specialFiles: Void = {
        for name in ["fifo.md", "fifo.ipynb", "fifo.png"] { mkfifo(scratch + "/" + name, 0o644) }
        symlink("/dev/full", scratch + "/full.png")
        symlink("/dev/full", scratch + "/full.md")
    }()

    static func writeInput(_ data: Data, to path: String = inputPath) {
        _ = FileManager.default.createFile(atPath: path, contents: data)
    }

    /// A shell at 16 rows with images loaded, for the command-line target.
    nonisolated(unsafe) static var shell: Shell = {
        let shell = Shell(output: { _ in }, outputDirectory: scratch + "/out")
        let fixtures = ProcessInfo.processInfo.environment["NST_FUZZ_FIXTURES"] ?? "Tests/LabTests/Fixtures"
        for line in ["set --size 16", "content \(fixtures)/content.png", "style \(fixtures)/style.png", "set --preset any-size"] {
            precondition(shell.execute(line) == .ok, "fuzz setup: \(line)")
        }
        return shell
    }()

    /// A saved session to open with a fuzzed session.json.
    nonisolated(unsafe) static var archive: (session: TransferSession, folder: String) = {
        let session = try! shell.session()
        let folder = scratch + "/archive"
        try! session.save(to: folder)
        return (session, folder)
    }()

    static func run(_ data: Data) {
        switch target {
        case "png", "jpeg":
            writeInput(data)
            // What is decoded is also drawn, as `show` would: a thin or huge picture must fit its
            // canvas and the terminal (a 1×300 PNG once made 1 GB of kitty escapes).
            if let image = try? RGBImage.load(inputPath), image.width * image.height <= 1 << 22 {
                for mode in [PictureMode.kitty, .sixel, .blocks] {
                    let text = TerminalPicture.render(image, columns: 80, lines: 40, mode: mode)
                    precondition(text.utf8.count < 4 << 20, "a picture of \(text.utf8.count) bytes for the terminal")
                }
                _ = Pictures.sideBySide([("a", image), ("b", image)])
            }
        case "safetensors":
            writeInput(data)
            if let file = try? SafeTensorsFile(path: inputPath) {
                for name in file.entries.keys { _ = try? file.tensor(name, shape: file.entries[name]!.shape) }
            }
        case "archive":
            writeInput(data, to: archive.folder + "/session.json")
            let before = archive.session.state
            if (try? archive.session.open(archive.folder)) == nil {
                precondition(archive.session.state == before, "a refused open changed the session")
            } else {
                _ = try? archive.session.step()
            }
        case "lesson":
            let text = String(decoding: data, as: UTF8.self)
            _ = try? Lesson(path: "fuzz.md", markdown: text)
        case "shell":
            // Relative paths only (the scratch folder), no lesson navigation (it reads real files).
            // A "/" between words is division (`sum(x) / 2`); one that starts a word is a path.
            let line = String(decoding: data.prefix(200), as: UTF8.self)
            guard safeLine(line) else { return }
            _ = specialFiles
            // A learner stops a long run with Ctrl-C (`run 4666666` is a fine command): so does the
            // fuzzer, after 2 s, through the same flag — it must end cleanly with the state intact.
            let ctrlC = DispatchWorkItem { shell.interruption.interrupt() }
            DispatchQueue.global().asyncAfter(deadline: .now() + 2, execute: ctrlC)
            _ = shell.execute(line)
            ctrlC.cancel()
        case "input":
            // Piped input: the bytes through a pipe, read line by line as `lab < file` reads them,
            // with a Ctrl-C part way when the first byte is odd; the first three lines run by the shell
            // (at most 200 bytes each, as the shell target's).
            _ = specialFiles
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { return }
            let body = data.prefix(60_000)  // fits the pipe's buffer: written before it is read
            _ = body.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
            close(fds[1])
            defer { close(fds[0]) }
            let interruption = Interruption(catchingSIGINT: false)
            let lines = InputLines(fileDescriptor: fds[0], interruption: interruption)
            var count = 0
            while let line = lines.next() {
                precondition(!line.contains("\n") && line.utf8.count <= 3 * (InputLines.maxLine + 1), "a line that is not one line")
                if count < 3, line.utf8.count <= 200, safeLine(line) {
                    let ctrlC = DispatchWorkItem { shell.interruption.interrupt() }
                    DispatchQueue.global().asyncAfter(deadline: .now() + 2, execute: ctrlC)
                    _ = shell.execute(line)
                    ctrlC.cancel()
                }
                count += 1
                if count == 2, (data.first ?? 0) % 2 == 1 { interruption.interrupt() }
            }
            precondition(!lines.interrupted || (data.first ?? 0) % 2 == 1, "interrupted without a Ctrl-C")
        case "jupyter":
            // The kernel's message decoder: frames, signatures, JSON.
            JupyterWireFuzzing.exercise(data)
        default:
            fatalError("set NST_FUZZ_TARGET to png, jpeg, safetensors, archive, lesson, shell, input or jupyter")
        }
    }

    /// A command line the fuzzer may run: relative paths only (the scratch folder) — a "/" between
    /// words is division (`sum(x) / 2`), one that starts a word a path — and no lesson navigation.
    static func safeLine(_ line: String) -> Bool {
        let absolute = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).contains { $0.hasPrefix("/") && $0.count > 1 }
        return !absolute && !line.contains("~") && !line.contains("..") && !line.contains("\n")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    Fuzz.run(Data(bytes: bytes, count: count))
    return 0
}
