import Foundation

// `lab convert IN OUT`: a lesson (or a Markdown notebook) as a Jupyter notebook for the nstlab
// kernel, and a Jupyter notebook back as Markdown. Prose becomes Markdown cells, ```lab blocks code
// cells. In an exercise the hint stays folded in Markdown; the solution's commands become a code
// cell whose input is collapsed (JupyterLab shows "…"), placed before the check, so that running
// the whole notebook (Run All, nbclient) passes exactly as `lab run` does; its explanation stays
// folded in Markdown after the check.

public enum NotebookConversion {
    /// The metadata every notebook of ours carries: the kernel to run it with.
    static var metadata: [String: Any] {
        [
            "kernelspec": ["name": KernelSpec.name, "display_name": "NST Lab", "language": "nstlab"],
            "language_info": [
                "name": "nstlab", "version": JupyterKernel.languageVersion, "mimetype": "text/x-nstlab", "file_extension": ".nstlab",
            ],
        ]
    }

    public static func convert(_ input: String, to output: String) throws {
        let inExt = (input as NSString).pathExtension.lowercased(), outExt = (output as NSString).pathExtension.lowercased()
        switch (inExt, outExt) {
        case ("md", "ipynb"):
            let text = try Lesson.readText(input)
            try AtomicFile.write(try notebook(fromMarkdown: text), to: output)
        case ("ipynb", "md"):
            guard let data = FileManager.default.contents(atPath: input) else { throw SessionError.invalid("cannot read \(input)") }
            try AtomicFile.write(Data(try markdown(fromNotebook: data).utf8), to: output)
        default:
            throw SessionError.invalid(
                "lab convert turns .md into .ipynb or .ipynb into .md; got \(inExt.isEmpty ? "no extension" : "." + inExt) → .\(outExt)")
        }
    }

    /// A lesson's Markdown as .ipynb (nbformat 4.5).
    public static func notebook(fromMarkdown text: String) throws -> Data {
        var cells: [[String: Any]] = []
        var prose: [String] = []
        var code: [String]? = nil, kind = ""
        var openDetails = 0
        var reopen = false  // the next Markdown cell continues a <details> a solution cell interrupted
        var pendingCheck: [String: Any]? = nil
        var made = 0
        func nextID() -> String {
            made += 1
            return cellID(made)
        }
        func lines(_ s: [String]) -> [String] { s.enumerated().map { $0.offset < s.count - 1 ? $0.element + "\n" : $0.element } }
        func flushProse(closingDetails: Bool) {
            var body = prose
            while body.first?.trimmingCharacters(in: .whitespaces).isEmpty == true { body.removeFirst() }
            while body.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { body.removeLast() }
            prose = []
            if reopen, !body.isEmpty {
                body.insert(contentsOf: ["<details><summary>Solution, explained</summary>", ""], at: 0)
            }
            if closingDetails && openDetails > 0 { body += ["", "</details>"] }
            reopen = closingDetails && openDetails > 0
            guard !body.joined().trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, body != ["", "</details>"] else { return }
            cells.append(["cell_type": "markdown", "id": nextID(), "metadata": [String: Any](), "source": lines(body)])
        }
        for line in text.components(separatedBy: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if var c = code {
                if t.hasPrefix("```") && t.trimmingCharacters(in: CharacterSet(charactersIn: "`")).isEmpty {
                    var metadata: [String: Any] = [:]
                    if kind == "check" { metadata["tags"] = ["check"] }
                    if kind == "solution" { metadata = ["tags": ["solution"], "jupyter": ["source_hidden": true]] }
                    let cell: [String: Any] = [
                        "cell_type": "code", "id": nextID(), "metadata": metadata, "source": lines(c), "outputs": [Any](),
                        "execution_count": NSNull(),
                    ]
                    if kind == "check" {
                        pendingCheck = cell
                    } else {
                        cells.append(cell)
                        if kind == "solution", let check = pendingCheck {
                            cells.append(check)
                            pendingCheck = nil
                        }
                    }
                    code = nil
                } else {
                    c.append(line)
                    code = c
                }
                continue
            }
            if t.hasPrefix("```lab") {
                let info = t.dropFirst(3).split(separator: " ").map(String.init)
                kind = info.count > 1 ? info[1] : "run"
                flushProse(closingDetails: kind == "solution")
                code = []
                continue
            }
            // A new section: a check still waiting for its solution goes before it.
            if t.hasPrefix("## "), let check = pendingCheck {
                flushProse(closingDetails: false)
                cells.append(check)
                pendingCheck = nil
            }
            openDetails += t.components(separatedBy: "<details").count - 1
            openDetails -= t.components(separatedBy: "</details>").count - 1
            openDetails = max(0, openDetails)
            prose.append(line)
        }
        flushProse(closingDetails: false)
        if let check = pendingCheck { cells.append(check) }
        let doc: [String: Any] = ["nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells]
        return try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
    }

    /// A Jupyter notebook as Markdown: Markdown cells as they are, code cells as ```lab blocks (a
    /// check or solution cell, by its tag, as ```lab check / ```lab solution).
    public static func markdown(fromNotebook data: Data) throws -> String {
        let cells = try Lesson.notebookCells(data)
        func text(_ v: Any?) -> String { (v as? String) ?? (v as? [String])?.joined() ?? "" }
        var out: [String] = []
        for cell in cells {
            let source = text(cell["source"]).trimmingCharacters(in: .newlines)
            switch cell["cell_type"] as? String {
            case "markdown": out.append(source)
            case "code":
                let tags = (cell["metadata"] as? [String: Any])?["tags"] as? [String] ?? []
                let info = tags.contains("check") ? "lab check" : tags.contains("solution") ? "lab solution" : "lab"
                out.append("```\(info)\n\(source)\n```")
            default: continue
            }
        }
        return out.joined(separator: "\n\n") + "\n"
    }

    static func cellID(_ i: Int) -> String { String(format: "cell-%04d", i) }
    // (ids come from a counter, not the cell count: a check cell is made before the solution it follows)
}
