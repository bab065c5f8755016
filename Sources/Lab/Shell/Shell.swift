import Foundation
import Kernels

/// The shell's engine: reads one command line at a time and runs it against a transfer session.
/// It knows nothing of terminals: text goes to `output`, and the binary wires readline, pipes and
/// scripts to `execute(_:)`. Tests drive it through the same entry point.
public final class Shell: @unchecked Sendable {
    public enum Outcome: Equatable { case ok, failed(String), quit }

    public let output: (String) -> Void
    /// 24-bit colour pictures (a terminal without NO_COLOR), or the plain fallback.
    public var color: Bool
    public var columns: Int
    /// The terminal's height in lines: a picture is never taller than it.
    public var lines = 40
    /// How pictures are drawn (`set --pictures`); `auto` is resolved against the terminal at each draw.
    public var pictures: PictureMode = .auto
    /// Where pictures and plots are written as PNG.
    public var outputDirectory: String
    public let interruption: Interruption
    let weightsPath: String
    let compute: Compute
    var loadedSession: TransferSession?
    /// While a cell runs through `run(cell:)`: receives its outputs in order.
    var cellRecorder: ((CellOutput) -> Void)?
    private var pictureCount = 0
    /// Whether the one-time note on the Keras constants' divergence at small sizes was shown.
    var warnedAboutDivergence = false
    /// How many lesson cells are running (a cell runs its commands through `execute`).
    var cellDepth = 0

    /// Lessons: where they are, where progress is kept, which one is open.
    public var lessonsFolder = ProjectFiles.locate("lessons")
    public var progressPath: String? = nil
    var openLesson: Lesson?
    var cellIndex = 0
    /// How many of a lesson's first cells have run in this shell (one lesson at a time: another's
    /// cells, a `new` among them, may have replaced what this one set up). A lesson resumed in a new
    /// shell runs the cells before its place first, so their set-up is there.
    var lessonCellsRun: (path: String, count: Int)? = nil

    /// How many of `lesson`'s first cells have run in this shell.
    func cellsRun(of lesson: Lesson) -> Int { lessonCellsRun?.path == lesson.path ? lessonCellsRun!.count : 0 }
    /// Called by `edit` with a cell's command, for the terminal to put on the input line.
    public var prefill: ((String) -> Void)?

    /// Every command run, with what it printed and the pictures it saved: a notebook's material.
    public struct Entry: Sendable {
        public var command: String
        public var output: String
        public var pictures: [String]
        public var failed = false
        /// The lesson text that introduced this command's cell, when a lesson ran it.
        public var prose: String? = nil
    }
    /// Set by a lesson cell for its first command: the notebooks put it before that command.
    var pendingProse: String? = nil
    public private(set) var transcript: [Entry] = []
    private var capture = ""
    private var capturedPictures: [String] = []
    /// What the last command that did some work printed (not an expectation, not lesson navigation,
    /// whose display of the next cell would quote the very text an exercise checks for).
    var lastWorkOutput = ""
    /// The line being run, as typed (`expect output` matches its text with any quotes in it).
    var currentLine = ""
    /// While `next` runs an exercise's check.
    var checkingExercise = false
    /// While a lesson cell runs: what its commands (not its expectations) have printed so far.
    var cellOutput: String? = nil
    /// Values the last commands measured, by name (`values` lists them; `expect value NAME OP X` checks one).
    public internal(set) var measurements: [String: Double] = [:]
    /// The learner's named values (`let NAME = EXPR`), and `ans`, the last one printed.
    var bindings: [String: Binding] = [:]
    /// The learner's guesses (`guess NAME X`), shown beside the measurement by `reveal NAME`.
    /// With each, how many times its value had been measured then: a guess is scored only against
    /// a measurement made after it (not one already on the screen).
    var guesses: [String: (value: Double, measuredTimes: Int)] = [:]
    /// How many times each value has been measured.
    var measuredTimes: [String: Int] = [:]

    public init(
        output: @escaping (String) -> Void, color: Bool = false, columns: Int = 80,
        outputDirectory: String = "out", weightsPath: String = VGG19.defaultWeightsPath,
        compute: Compute = Compute(), interruption: Interruption = Interruption(catchingSIGINT: false)
    ) {
        self.output = output
        self.color = color
        self.columns = columns
        self.outputDirectory = outputDirectory
        self.weightsPath = weightsPath
        self.compute = compute
        self.interruption = interruption
    }

    /// The session, loading VGG19 on first use (so `help` works without the weights).
    public func session() throws -> TransferSession {
        if let s = loadedSession { return s }
        let s = try Shell.startingSession(vgg: try VGG19(weightsPath: weightsPath), compute: compute)
        loadedSession = s
        return s
    }

    /// The shell starts where a step stays interactive and nothing diverges: the any-size preset
    /// at 128 rows. (The Keras example's constants explode below 400 rows: `set --preset keras`.)
    static let startingPreset = "any-size", startingRows = 128

    static func startingSession(vgg: VGG19, compute: Compute) throws -> TransferSession {
        let s = TransferSession(vgg: vgg, compute: compute)
        let preset = TransferOptions.presets.first { $0.name == startingPreset }!
        try s.configure {
            $0 = preset.configuration
            $0.rows = startingRows
        }
        s.setOptimizer(preset.optimizer())
        return s
    }

    /// "--preset any-size --size 128: adam lr 5, …" — what `help set` and `config` say the shell starts with.
    static var startingDescription: String {
        let preset = TransferOptions.presets.first { $0.name == startingPreset }!
        let c = preset.configuration.loss, o = preset.optimizer()
        return "the shell starts with --preset \(startingPreset) --size \(startingRows): \(o.name) lr \(o.baseLearningRate), "
            + "\(c.normalization.rawValue) normalisation, content/style/tv weights \(c.contentWeight)/\(c.styleWeight)/\(c.totalVariationWeight)"
            + (c.averageContentAndTV ? " (content and tv as means)" : "") + "; lab transfer with --preset keras --size 400"
    }

    public var hasSession: Bool { loadedSession != nil }

    /// Replaces the session with a fresh one — default settings, no images, no history — keeping
    /// the loaded network. Returns how many iterations the old one had.
    @discardableResult
    func startNewSession() throws -> Int {
        let old = loadedSession
        let s = try Shell.startingSession(vgg: try old.map { $0.vgg } ?? VGG19(weightsPath: weightsPath), compute: compute)
        loadedSession = s
        warnedAboutDivergence = false  // once per session: a new one warns again
        return old?.iteration ?? 0
    }

    /// Records a value a command measured (for `expect value`, `values`, `reveal`).
    /// A value that is not a number (a share of a zero loss, say) is no measurement: nothing is kept.
    func measured(_ name: String, _ value: Double) {
        if value.isNaN { measurements[name] = nil } else { measurements[name] = value }
        measuredTimes[name, default: 0] += 1
    }

    /// How many times NAME (or both parts of A/B) has been measured.
    func timesMeasured(_ name: String) -> Int {
        name.split(separator: "/").map { measuredTimes[String($0)] ?? 0 }.reduce(0, +)
    }

    /// A measured value by name, or A/B, the ratio of two (timings compare only as ratios
    /// measured in one run).
    func measuredValue(_ name: String) throws -> Double {
        let names = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard names.count <= 2 else { throw UsageError("'\(name)': a value is NAME or A/B, the ratio of two") }
        let values = try names.map { part -> Double in
            guard let v = measurements[part] else {
                throw UsageError("no value '\(part)' measured yet; values lists what the last commands measured")
            }
            return v
        }
        return values.count == 2 ? values[0] / values[1] : values[0]
    }

    /// Prints a line. Control characters other than newline and tab (an escape sequence in a file or
    /// archive name) are dropped: text never drives the terminal; only pictures do (drawInTerminal).
    func say(_ text: String) {
        let printable = String(String.UnicodeScalarView(text.unicodeScalars.filter { !Shell.isControl($0) }))
        let line = printable.hasSuffix("\n") ? printable : printable + "\n"
        capture += line
        emit {
            self.output(line)
            self.cellRecorder?(.text(line))
        }
    }

    /// Prints a lesson's Markdown rendered for the terminal (MarkdownTerminal): styled on a colour
    /// terminal; plain for pipes, notebooks and front ends.
    func sayMarkdown(_ prose: String) {
        let plain = MarkdownTerminal.render(prose, styled: false)
        guard !plain.isEmpty else { return }
        let shown = color ? MarkdownTerminal.render(prose, styled: true) : plain
        capture += plain + "\n"
        emit {
            self.output(shown + "\n")
            self.cellRecorder?(.text(plain + "\n"))
        }
    }

    /// Output held back while a command runs (nil: none held; see `execute`).
    private var held: [() -> Void]? = nil

    /// Writes to the terminal and the cell's recorder now, or when the command has succeeded.
    private func emit(_ action: @escaping () -> Void) {
        if held != nil { held!.append(action) } else { action() }
    }

    /// Runs one line. Errors come back as one line, and change nothing.
    @discardableResult
    public func execute(_ line: String) -> Outcome {
        // A line cut by the reader at its limit is refused whole, never run as what was left of it.
        guard line.utf8.count <= InputLines.maxLine else {
            return fail("a line of more than \(InputLines.maxLine / (1 << 20)) MiB is not a command; nothing was run")
        }
        let words: [String]
        do { words = try tokenize(line) } catch { return fail("\(error)") }
        guard let name = words.first else { return .ok }
        if name.hasPrefix("#") { return .ok }
        var found = CommandTable.find(name)
        // A line that is an expression prints its value (`F @ F.T`, `content - style`).
        if isExpressionLine(line, firstWord: name, isCommand: found != nil) { found = CommandTable.find("print") }
        guard let command = found else {
            let near = CommandTable.nearest(to: name)
            return fail("unknown command '\(name)'" + (near.isEmpty ? "" : " (did you mean \(near.joined(separator: " or "))?)") + "; type help")
        }
        if command.name == "quit" { return .quit }
        currentLine = line
        capture = ""
        capturedPictures = []
        var succeeded = false
        defer {
            if !["notebook", "expect"].contains(command.name) {
                transcript.append(
                    Entry(
                        command: line.trimmingCharacters(in: .whitespaces), output: capture,
                        pictures: capturedPictures, failed: !succeeded, prose: pendingProse))
                pendingProse = nil
            }
            if command.name != "expect", !CommandTable.lessonNavigation.contains(command.name) { lastWorkOutput = capture }
            if command.name != "expect", cellOutput != nil { cellOutput! += capture }
        }
        if cellDepth > 0, CommandTable.lessonNavigation.contains(command.name) {
            return fail("\(command.name) cannot run inside a lesson cell")
        }
        // A refused command prints one line and changes nothing: while it runs, what it prints and
        // draws is held back (the outermost command decides), and what it measured is undone.
        let holding = held == nil && command.transactional && !command.streams && !CommandTable.lessonNavigation.contains(command.name)
        if holding { held = [] }
        let measuredBefore = (measurements, measuredTimes)
        let result = Result<Void, Error> {
            let rest = Array(words.dropFirst())
            let args =
                command.rawArguments
                ? Arguments(positional: rest)
                : try Arguments.parse(rest, options: command.options, flags: command.flags)
            if let most = command.maxPositional, args.positional.count > most {
                let extra = args.positional.dropFirst(most).joined(separator: " ")
                throw UsageError(
                    most == 0
                        ? "\(command.name) takes no arguments, got '\(extra)'"
                        : "\(command.name) takes at most \(most) argument(s); '\(extra)' is one too many")
            }
            interruption.clear()
            if command.transactional, let session = loadedSession {
                try session.atomically { try command.run(self, args) }
            } else if command.transactional {
                // A shell's first command makes the session as it goes: refused, it leaves a fresh one.
                do { try command.run(self, args) } catch {
                    if let made = loadedSession { made.state = try Shell.startingSession(vgg: made.vgg, compute: compute).state }
                    throw error
                }
            } else {
                try command.run(self, args)
            }
        }
        let heldBack = holding ? held ?? [] : []
        if holding { held = nil }
        switch result {
        case .success:
            succeeded = true
            heldBack.forEach { $0() }
            return .ok
        case .failure(let error):
            if command.transactional {
                (measurements, measuredTimes) = measuredBefore
                if holding {
                    capture = ""
                    capturedPictures = []
                }
            }
            switch error {
            case let e as UsageError: return fail("\(e.message) — usage: \(command.usage)")
            case let e as CocoaError: return fail(AtomicFile.describe(e))  // not Foundation's multi-line dump
            default: return fail("\(error)")
            }
        }
    }

    private func fail(_ message: String) -> Outcome {
        // At an exercise's check an unmet expectation is not an error: it is what is left to do.
        let prefix = checkingExercise && message.hasPrefix("expectation failed") ? "not yet: " : "error: "
        let line = String(
            String.UnicodeScalarView((prefix + message.replacingOccurrences(of: "\n", with: " ")).unicodeScalars.filter { !Shell.isControl($0) }))
        capture += line + "\n"
        emit {
            self.output(line + "\n")
            self.cellRecorder?(.error(line))
        }
        return .failed(line)
    }

    /// Saves a picture under the output folder, prints its path, and draws it.
    func showPicture(_ image: RGBImage, name: String, caption: String) throws {
        pictureCount += 1
        let path = "\(outputDirectory)/\(String(format: "%03d", pictureCount))-\(name).png"
        try image.savePNG(path)
        capturedPictures.append(path)
        say("\(caption) — \(image.width)×\(image.height), saved \(path)")
        emit { self.cellRecorder?(.picture(path: path, caption: caption, width: image.width, height: image.height)) }
        drawInTerminal(image)
    }

    /// A picture already written to `path`: recorded for notebooks and front ends, and drawn.
    func showSaved(_ image: RGBImage, path: String, caption: String) {
        capturedPictures.append(path)
        emit { self.cellRecorder?(.picture(path: path, caption: caption, width: image.width, height: image.height)) }
        drawInTerminal(image)
    }

    /// The loss so far as a plot, written under the output folder (a front end shows it after `run`).
    public func lossPlot() throws -> CellOutput? {
        guard let s = loadedSession, s.history.count >= 2 else { return nil }
        let markers = s.events.filter { $0.iteration > 0 }.map { (x: $0.iteration + 1, label: $0.label) }
        let plot = Pictures.plot([("total", s.history.map(\.total))], title: "loss — \(s.history.count) iterations", markers: markers)
        pictureCount += 1
        let path = "\(outputDirectory)/\(String(format: "%03d", pictureCount))-loss.png"
        try plot.savePNG(path)
        return .picture(path: path, caption: "the loss, iteration by iteration", width: plot.width, height: plot.height)
    }

    /// Draws a picture in the terminal as the `pictures` setting says, fitted to its current width.
    func drawInTerminal(_ image: RGBImage) {
        let mode = PictureMode.resolve(pictures, color: color, environment: ProcessInfo.processInfo.environment)
        let text = TerminalPicture.render(image, columns: min(columns, 100), lines: max(8, min(lines - 4, 60)), mode: mode)
        emit { self.output(text) }
    }

    /// Splits a line into words; "…" and '…' group words with spaces.
    func tokenize(_ line: String) throws -> [String] {
        var words: [String] = [], current = "", quote: Character? = nil, inWord = false
        for ch in line {
            if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
            } else if ch == "\"" || ch == "'" {
                quote = ch
                inWord = true
            } else if ch == " " || ch == "\t" {
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            } else {
                current.append(ch)
                inWord = true
            }
        }
        if quote != nil { throw UsageError("unclosed quote") }
        if inWord { words.append(current) }
        return words
    }

    // MARK: - Scripts

    /// Runs lines as a notebook: each echoed after a prompt, then its output. Stops at the first
    /// failing line (reporting its number) unless `keepGoing`. Returns the number of failures.
    public func runScript<Lines: Sequence<String>>(_ lines: Lines, name: String, keepGoing: Bool = false, echo: Bool = true) -> Int {
        var failures = 0
        for (i, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            if echo { say("lab> \(trimmed)") }
            let outcome = execute(trimmed)
            if interruption.isSet {
                // As Python does: Ctrl-C stops the whole script, not just the command it hit.
                say("\(name):\(i + 1): interrupted (Ctrl-C); the rest is skipped")
                return failures + 1
            }
            switch outcome {
            case .ok: continue
            case .quit: return failures
            case .failed:
                failures += 1
                if !keepGoing {
                    say("\(name):\(i + 1): stopped at this line (use --keep-going to go on)")
                    return failures
                }
            }
        }
        return failures
    }

    // MARK: - Completion

    /// Candidates for the word being typed, given the line before it.
    public func completions(word: String, before: String) -> [String] {
        let words = (try? tokenize(before)) ?? []
        if words.isEmpty {
            return CommandTable.all.flatMap { [$0.name] + $0.aliases }.filter { $0.hasPrefix(word) }.sorted()
        }
        guard let command = CommandTable.find(words[0]) else { return [] }
        if word.hasPrefix("-") {
            return (command.options + command.flags).map { "--" + $0 }.filter { $0.hasPrefix(word) }.sorted()
        }
        if let last = words.last, last.hasPrefix("--"), command.options.contains(String(last.dropFirst(2))) {
            return optionCandidates(String(last.dropFirst(2))).filter { $0.hasPrefix(word) }
        }
        switch command.completes {
        case .none: return []
        case .layers: return (VGG19.layerNames + TransferSession.imageNames).filter { $0.hasPrefix(word) }
        case .commands: return CommandTable.all.map(\.name).filter { $0.hasPrefix(word) }
        case .files: return fileCompletions(word)
        case .words(let list): return list.filter { $0.hasPrefix(word) }
        }
    }

    func fileCompletions(_ word: String) -> [String] {
        let dir = word.contains("/") ? String(word[..<word.lastIndex(of: "/")!]) + "/" : ""
        let prefix = word.contains("/") ? String(word[word.index(after: word.lastIndex(of: "/")!)...]) : word
        let listed = (try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []
        return listed.filter { $0.hasPrefix(prefix) && !$0.hasPrefix(".") }.sorted().map { name in
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: dir + name, isDirectory: &isDir)
            return dir + name + (exists && isDir.boolValue ? "/" : "")
        }
    }
}

extension Shell {
    /// What Tab offers after `--OPTION`: the vocabulary's own choices (TransferOptions.choices), and
    /// for `--term` only the terms the current loss has.
    func optionCandidates(_ option: String) -> [String] {
        if let choices = TransferOptions.choices[option] { return choices }
        switch option {
        case "init": return ["content", "style", "noise"]
        case "image": return TransferSession.imageNames
        case "pictures": return PictureMode.allCases.map(\.rawValue)
        case "scale": return Pictures.GramScale.allCases.map(\.rawValue)
        case "term":
            return TermSelection.names(loadedSession?.configuration.loss ?? LossConfiguration())
        case "content-layers", "style-layers": return VGG19.layerNames
        default: return []
        }
    }
}

extension Shell {
    /// C0 and C1 control characters, DEL, except newline and tab.
    static func isControl(_ u: Unicode.Scalar) -> Bool {
        (u.value < 0x20 && u != "\n" && u != "\t") || (0x7F...0x9F).contains(u.value)
    }
}
