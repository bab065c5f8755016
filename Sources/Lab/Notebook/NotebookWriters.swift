import Foundation
import Kernels

// Notebooks of a session: Markdown with the pictures beside it, or Jupyter (nbformat 4.5).

extension Shell {
    /// The commands a notebook keeps: not the lesson navigation, which replays nothing.
    var notebookEntries: [Entry] {
        let skipped = CommandTable.lessonNavigation.union(["help"])
        return transcript.filter { !skipped.contains($0.command.split(separator: " ").first.map(String.init) ?? "") }
    }

    /// Writes the transcript as a Jupyter notebook (nbformat 4.5): the lesson text as Markdown cells,
    /// each command a code cell with its printed output and its pictures embedded as PNG — what
    /// GitHub, VS Code and Jupyter display as they are. `lab run FILE.ipynb` replays the code cells.
    func saveJupyterNotebook(_ path: String) throws {
        guard !transcript.isEmpty else { throw SessionError.invalid("nothing to save yet: run some commands first") }
        var cells: [[String: Any]] = []
        func lines(_ text: String) -> [String] {
            let parts = text.components(separatedBy: "\n")
            return parts.enumerated().map { $0.offset < parts.count - 1 ? $0.element + "\n" : $0.element }.filter { !$0.isEmpty }
        }
        func markdown(_ text: String) {
            cells.append(["cell_type": "markdown", "id": "cell-\(cells.count)", "metadata": [String: Any](), "source": lines(text)])
        }
        markdown("# NST Lab session\n\nSaved \(Date()). Run it again with `lab run \((path as NSString).lastPathComponent)`.")
        for (n, entry) in notebookEntries.enumerated() {
            if let prose = entry.prose { markdown(prose) }
            var outputs: [[String: Any]] = []
            let text = entry.output.trimmingCharacters(in: .newlines)
            if !text.isEmpty { outputs.append(["output_type": "stream", "name": "stdout", "text": lines(text + "\n")]) }
            for picture in entry.pictures {
                guard let png = FileManager.default.contents(atPath: picture) else { continue }
                outputs.append([
                    "output_type": "display_data", "metadata": [String: Any](),
                    "data": ["image/png": png.base64EncodedString(), "text/plain": [(picture as NSString).lastPathComponent]],
                ])
            }
            // A refused command is kept as what it taught: replaying checks it is still refused.
            let source = (entry.failed ? "expect error " : "") + entry.command
            let metadata: [String: Any] = entry.failed ? ["nstlab": ["refused": true]] : [:]
            let cell: [String: Any] = [
                "cell_type": "code", "id": "cell-\(cells.count)", "execution_count": n + 1,
                "metadata": metadata, "source": [source], "outputs": outputs,
            ]
            cells.append(cell)
        }
        let notebook: [String: Any] = [
            "nbformat": 4, "nbformat_minor": 5, "cells": cells,
            // The kernel that runs it again (lab kernel install): the same as lab convert writes.
            "metadata": NotebookConversion.metadata,
        ]
        let data = try JSONSerialization.data(withJSONObject: notebook, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        let file = try AtomicFile.stage(data, to: path)  // a pipe or a device is refused, not replaced by a file
        try AtomicFile.Staged.commitAll([file])
        say("saved \(notebookEntries.count) command(s) to \(path) (Jupyter notebook, pictures inside)")
    }

    /// Writes the transcript as Markdown: each command a ```lab cell (so `lab run` replays it),
    /// its output in a text block, its pictures copied into FILE_files/ and shown inline.
    func saveNotebook(_ path: String) throws {
        guard !transcript.isEmpty else { throw SessionError.invalid("nothing to save yet: run some commands first") }
        let base = (path as NSString).deletingPathExtension
        let assets = base + "_files"
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw FileError("\(path): is a folder")  // before its pictures' folder is made beside it
        }
        // All or nothing: the pictures and the text are written beside their places first, and
        // renamed into them only when every one is on disk (a full disk leaves the old notebook whole).
        var staged: [AtomicFile.Staged] = []
        let assetsAreNew = !FileManager.default.fileExists(atPath: assets)  // if a picture makes it, a failure removes it
        var md = "# NST Lab session\n\nSaved \(Date()). Run it again with `lab run \((path as NSString).lastPathComponent)`.\n\n"
        do {
            for entry in notebookEntries {
                if let prose = entry.prose { md += Lesson.asRecord(prose) + "\n\n" }
                // A refused command is kept as what it taught: replaying checks it is still refused.
                md += "```lab\n\(entry.failed ? "expect error " : "")\(entry.command)\n```\n"
                let text = entry.output.trimmingCharacters(in: .newlines)
                if !text.isEmpty { md += "```text\n\(text)\n```\n" }
                for picture in entry.pictures {
                    let name = (picture as NSString).lastPathComponent
                    guard let data = FileManager.default.contents(atPath: picture) else { throw FileError("\(picture): cannot read") }
                    staged.append(try AtomicFile.stage(data, to: assets + "/" + name))  // makes the folder
                    md += "![\(name)](\((assets as NSString).lastPathComponent)/\(name))\n"
                }
                md += "\n"
            }
            staged.append(try AtomicFile.stage(Data(md.utf8), to: path))
        } catch {
            staged.forEach { $0.discard() }
            if assetsAreNew { try? FileManager.default.removeItem(atPath: assets) }
            throw error
        }
        try AtomicFile.Staged.commitAll(staged)
        say("saved \(notebookEntries.count) command(s) to \(path)" + (staged.count > 1 ? ", pictures in \(assets)/" : ""))
    }
}
