import Foundation

/// A lesson: Markdown prose with runnable cells (```lab fenced blocks of shell commands).
/// The same format is what `notebook save` writes, so a saved session runs again with `lab run`.
public struct Lesson: Sendable {
    public struct Cell: Sendable {
        public var prose: String       // the Markdown before the cell, since the previous cell
        public var commands: [String]  // its lines, blank ones dropped
        public var line: Int           // where the cell starts in the file (1-based)
    }

    public var path: String
    public var title: String
    public var cells: [Cell]

    public init(path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SessionError.invalid("cannot read lesson \(path)")
        }
        self.init(path: path, markdown: text)
    }

    public init(path: String, markdown text: String) {
        self.path = path
        let lines = text.components(separatedBy: "\n")
        title = lines.first { $0.hasPrefix("# ") }.map { String($0.dropFirst(2)) } ?? (path as NSString).lastPathComponent
        var cells: [Cell] = []
        var prose: [String] = []
        var inCell = false, fenceIsLab = false
        var commands: [String] = [], start = 0
        for (i, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("```") {
                if !inCell {
                    inCell = true
                    fenceIsLab = trimmed == "```lab"
                    commands = []; start = i + 1
                    if !fenceIsLab { prose.append(line) }
                } else {
                    inCell = false
                    if fenceIsLab {
                        cells.append(Cell(prose: prose.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines),
                                          commands: commands, line: start))
                        prose = []
                    } else {
                        prose.append(line)
                    }
                }
                continue
            }
            if inCell && fenceIsLab {
                if !trimmed.isEmpty { commands.append(trimmed) }
            } else {
                prose.append(line)
            }
        }
        self.cells = cells
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
              let p = try? JSONDecoder().decode(LessonProgress.self, from: data) else { return LessonProgress() }
        return p
    }

    public func save(_ path: String) {
        if let data = try? JSONEncoder().encode(self) { FileManager.default.createFile(atPath: path, contents: data) }
    }
}
