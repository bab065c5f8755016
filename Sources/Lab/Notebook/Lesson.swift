import Foundation

/// A lesson: Markdown prose with runnable cells (```lab fenced blocks of shell commands).
/// The same format is what `notebook save` writes, so a saved session runs again with `lab run`.
///
/// Exercises are sections headed `## Exercise: …` or `## Your turn: …`. In one, a ```lab check
/// cell decides whether the task is done (its `expect` lines), a ```lab solution cell solves it,
/// and a `<details><summary>Hint</summary> … </details>` block holds the hint — all of it plain
/// Markdown that GitHub shows with the hint and solution folded away.
public struct Lesson: Sendable {
    public enum CellKind: String, Sendable { case run, check, solution }

    public struct Cell: Sendable {
        public var prose: String  // the Markdown before the cell, since the previous cell
        public var commands: [String]  // its lines, blank ones dropped
        public var line: Int  // where the cell starts in the file (1-based)
        public var kind: CellKind = .run
        /// The exercise this cell belongs to (its heading after "Exercise:"), if any.
        public var exercise: String? = nil
    }

    public var path: String
    public var title: String
    public var cells: [Cell]
    /// Each exercise's hint, by exercise title.
    public var hints: [String: String] = [:]

    /// What a run with no learner does at cell i (`lab run`, and a resumed lesson catching up): a
    /// check runs its exercise's solution first, as a learner who gives up would; a solution cell
    /// itself runs nothing (its check runs it).
    public func commandsRunHeadless(_ i: Int) -> [String] {
        let cell = cells[i]
        switch cell.kind {
        case .run: return cell.commands
        case .solution: return []
        case .check:
            let solution = exercises.first { $0.title == cell.exercise }?.solution
            return (solution.map { cells[$0].commands } ?? []) + cell.commands
        }
    }

    /// The exercises, in order: title, check cell, solution cell.
    public var exercises: [(title: String, check: Int?, solution: Int?)] {
        var order: [String] = []
        for cell in cells { if let e = cell.exercise, !order.contains(e) { order.append(e) } }
        return order.map { title in
            (
                title, cells.firstIndex { $0.exercise == title && $0.kind == .check },
                cells.firstIndex { $0.exercise == title && $0.kind == .solution }
            )
        }
    }

    /// Whether a heading line opens an exercise section, and its title.
    static func exerciseTitle(_ line: String) -> String? {
        guard line.hasPrefix("## ") else { return nil }
        let heading = line.dropFirst(3)
        for marker in ["Exercise:", "Your turn:"] where heading.lowercased().hasPrefix(marker.lowercased()) {
            return heading.dropFirst(marker.count).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// A lesson's prose as a saved notebook keeps it: its exercise headings become plain headings
    /// ("## Exercise — title"), since the notebook records what was run, not the exercise's cells;
    /// replayed, it is a transcript, not a lesson with exercises missing their checks.
    public static func asRecord(_ prose: String) -> String {
        lines(prose).map { line in
            guard let title = exerciseTitle(line) else { return line }
            return "## Exercise — \(title)"
        }.joined(separator: "\n")
    }

    public init(path: String) throws {
        let text = try Lesson.readText(path)
        if path.lowercased().hasSuffix(".ipynb") {
            try self.init(path: path, jupyter: Data(text.utf8))
        } else {
            try self.init(path: path, markdown: text)
        }
    }

    /// A Jupyter notebook (what `notebook save FILE.ipynb` writes): its code cells are the commands,
    /// its Markdown cells the prose.
    public init(path: String, jupyter data: Data) throws {
        let cellList: [[String: Any]]
        do { cellList = try Lesson.notebookCells(data) } catch { throw SessionError.invalid("\(path): \(error)") }
        func text(_ source: Any?) -> String {
            if let s = source as? String { return s }
            return (source as? [String])?.joined() ?? ""
        }
        self.path = path
        var prose: [String] = []
        var cells: [Cell] = []
        for (i, cell) in cellList.enumerated() {
            let source = text(cell["source"])
            if cell["cell_type"] as? String == "code" {
                let commands = Lesson.lines(source).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                cells.append(Cell(prose: prose.joined(separator: "\n\n"), commands: commands, line: i + 1))
                prose = []
            } else {
                prose.append(source)
            }
        }
        let all = cellList.map { text($0["source"]) }.joined(separator: "\n")
        title = Lesson.lines(all).first { $0.hasPrefix("# ") }.map { String($0.dropFirst(2)) } ?? (path as NSString).lastPathComponent
        self.cells = cells
    }

    /// A lesson's or script's text, which must be UTF-8; the error says what it is instead.
    public static func readText(_ path: String) throws -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw SessionError.invalid("cannot read \(path): no such file")
        }
        guard !isFolder.boolValue else { throw SessionError.invalid("cannot read \(path): it is a folder") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SessionError.invalid("cannot read \(path): \(String(cString: strerror(errno)).lowercased())")
        }
        if let text = String(data: data, encoding: .utf8) { return text }
        let bytes = [UInt8](data.prefix(2))
        if bytes == [0xFF, 0xFE] || bytes == [0xFE, 0xFF] {
            throw SessionError.invalid("cannot read \(path): it is UTF-16; save it as UTF-8")
        }
        // Where the UTF-8 breaks: a Latin-1 é is the byte 0xE9 alone.
        var offset = 0
        var decoder = UTF8()
        var iterator = data.makeIterator()
        var position = 0
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s):
                position += UTF8.width(s)
            case .emptyInput: break loop
            case .error:
                offset = position
                break loop
            }
        }
        let byte = data[data.startIndex + min(offset, data.count - 1)]
        throw SessionError.invalid(
            "cannot read \(path): not UTF-8 (byte 0x\(String(byte, radix: 16, uppercase: true)) at offset \(offset); Latin-1?); save it as UTF-8")
    }

    /// The cells of a Jupyter notebook, or what is wrong with it in a few words.
    public static func notebookCells(_ data: Data) throws -> [[String: Any]] {
        guard Wire.depth(data) <= 64 else { throw SessionError.invalid("not a Jupyter notebook (JSON nested deeper than 64 levels)") }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            let reason = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? "not valid JSON"
            throw SessionError.invalid("not a Jupyter notebook (its JSON is invalid: \(reason.replacingOccurrences(of: "\n", with: " ")))")
        }
        guard let object = root as? [String: Any], let cells = object["cells"] as? [[String: Any]] else {
            throw SessionError.invalid("not a Jupyter notebook (no list of cells)")
        }
        return cells
    }

    /// Lines of a text file, whatever its line endings (\n, \r\n — one Character in Swift — or \r).
    public static func lines(_ text: String) -> [String] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map(String.init)
    }

    /// A code fence as CommonMark reads one: up to three spaces, then three or more backticks or
    /// tildes, then an info string whose first word names the language (```lab, ``` lab, ~~~lab {.x}).
    struct Fence {
        let marker: Character, length: Int, info: String
        init?(_ line: String) {
            let indent = line.prefix { $0 == " " }.count
            guard indent <= 3 else { return nil }
            let rest = line.dropFirst(indent)
            guard let first = rest.first, first == "`" || first == "~" else { return nil }
            let run = rest.prefix { $0 == first }.count
            guard run >= 3 else { return nil }
            let info = rest.dropFirst(run).trimmingCharacters(in: .whitespaces)
            if first == "`" && info.contains("`") { return nil }
            marker = first
            length = run
            self.info = info
        }
        var language: String { String(info.split(whereSeparator: { $0 == " " || $0 == "{" }).first ?? "") }
        /// Whether `other` closes a block this fence opened: same character, at least as long, no info.
        func isClosed(by other: Fence) -> Bool { other.marker == marker && other.length >= length && other.info.isEmpty }
    }

    public init(path: String, markdown text: String) throws {
        self.path = path
        let lines = Lesson.lines(text)
        title = lines.first { $0.hasPrefix("# ") }.map { String($0.dropFirst(2)) } ?? (path as NSString).lastPathComponent
        var cells: [Cell] = []
        var prose: [String] = []
        var open: Fence? = nil, openedAt = 0
        var commands: [String] = []
        var exercise: String? = nil
        var hint: [String]? = nil  // lines of a hint being read
        var hintFence: Fence? = nil  // a code block inside the hint: part of it, never a cell
        var hintStart = 0
        var hints: [String: String] = [:]
        var titles: Set<String> = []
        for (i, line) in lines.enumerated() {
            let fence = Fence(line)
            let t = line.trimmingCharacters(in: .whitespaces)
            if open == nil, hint != nil {
                // Everything up to </details> is the hint's, code blocks included (a ```lab block in
                // a hint is an example to read, not a cell to run); it stays in the prose for notebooks.
                prose.append(line)
                if let inside = hintFence {
                    if let fence, inside.isClosed(by: fence) { hintFence = nil }
                } else if let fence {
                    hintFence = fence
                    openedAt = i
                } else if t.hasPrefix("<details") {
                    throw SessionError.invalid(
                        "\(path):\(i + 1): a <details> opens inside the hint of line \(hintStart + 1), which is never closed (</details>)")
                } else if t.hasPrefix("</details") {
                    if let e = exercise { hints[e] = hint!.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines) }
                    hint = nil
                    continue
                }
                hint!.append(line)
                continue
            }
            if open == nil {
                if line.hasPrefix("## ") || line.hasPrefix("# ") {
                    exercise = Lesson.exerciseTitle(line)
                    // An exercise is found by its title (hint, solution, progress): two with one title would be one.
                    if let e = exercise {
                        guard !titles.contains(e) else { throw SessionError.invalid("\(path):\(i + 1): a second exercise titled '\(e)'") }
                        titles.insert(e)
                    }
                }
                if let r = t.range(of: "<summary>hint</summary>", options: .caseInsensitive) {
                    prose.append(line)
                    // On one line: <details><summary>Hint</summary> text </details>.
                    if let end = t.range(of: "</details", options: .caseInsensitive, range: r.upperBound..<t.endIndex) {
                        if let e = exercise { hints[e] = t[r.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespaces) }
                        continue
                    }
                    hint = []
                    hintStart = i
                    continue
                }
            }
            if let opener = open {
                if let fence, opener.isClosed(by: fence) {
                    open = nil
                    if opener.language == "lab" {
                        let words = opener.info.split(separator: " ").map(String.init)
                        // ```lab, ```lab check, ```lab solution; attributes such as {.cell} are not a kind.
                        let kind = words.count > 1 && !words[1].hasPrefix("{") ? CellKind(rawValue: words[1]) : .run
                        guard let kind else {
                            throw SessionError.invalid(
                                "\(path):\(openedAt + 1): a lab cell is ```lab, ```lab check or ```lab solution, not ```\(opener.info)")
                        }
                        if kind != .run && exercise == nil {
                            throw SessionError.invalid(
                                "\(path):\(openedAt + 1): a ```lab \(kind.rawValue) cell belongs in a section headed ## Exercise: …")
                        }
                        if kind != .run, cells.contains(where: { $0.exercise == exercise && $0.kind == kind }) {
                            throw SessionError.invalid("\(path):\(openedAt + 1): exercise '\(exercise!)' has a second ```lab \(kind.rawValue) cell")
                        }
                        if let q = commands.first(where: { ["quit", "exit"].contains($0.split(separator: " ").first.map(String.init) ?? "") }) {
                            throw SessionError.invalid("\(path):\(openedAt + 1): '\(q)' in a cell would end the reader's shell")
                        }
                        cells.append(
                            Cell(
                                prose: prose.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines),
                                commands: commands, line: openedAt + 1, kind: kind, exercise: exercise))
                        prose = []
                    } else {
                        prose.append(line)
                    }
                } else if opener.language == "lab" {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    if !trimmed.isEmpty { commands.append(trimmed) }
                } else {
                    prose.append(line)
                }
            } else if let fence {
                open = fence
                openedAt = i
                commands = []
                if fence.language != "lab" { prose.append(line) }
            } else {
                prose.append(line)
            }
        }
        if open != nil || hintFence != nil {
            throw SessionError.invalid("\(path):\(openedAt + 1): this code fence is never closed")
        }
        if hint != nil {
            throw SessionError.invalid("\(path):\(hintStart + 1): this hint's <details> is never closed (</details>)")
        }
        self.cells = cells
        self.hints = hints
        for e in exercises where e.check == nil || e.solution == nil {
            throw SessionError.invalid("\(path): exercise '\(e.title)' needs a ```lab check cell and a ```lab solution cell")
        }
    }

    /// The lessons in a folder, in file-name order (NN-name.md).
    public static func catalogue(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(".md") && $0.first?.isNumber == true }.sorted().map { folder + "/" + $0 }
    }
}

/// Where a learner is in each lesson, kept in a small JSON file between sessions.
public struct LessonProgress: Codable, Sendable {
    public var cellByLesson: [String: Int] = [:]
    public var current: String? = nil

    public static func load(_ path: String) -> LessonProgress {
        guard let data = FileManager.default.contents(atPath: path),
            var p = try? JSONDecoder().decode(LessonProgress.self, from: data)
        else { return LessonProgress() }
        p.cellByLesson = p.cellByLesson.filter { $0.value >= 0 }  // an edited file: start those lessons over
        return p
    }

    /// Progress is a convenience: a failure to save it must not stop a lesson, so it is not thrown.
    public func save(_ path: String) {
        if let data = try? JSONEncoder().encode(self) { try? AtomicFile.write(data, to: path) }
    }
}
