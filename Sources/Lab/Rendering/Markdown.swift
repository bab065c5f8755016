import Foundation

// A lesson's Markdown as the terminal shows it: headings, **bold**, *italic* and `code` styled (or,
// without colour, their markers dropped), links as "text (url)", code blocks indented, and each
// <details> block folded to one line that says how to open it (`hint`, `solution`) — as GitHub
// folds them. Only what the lessons use; anything else is left as written.

enum MarkdownTerminal {
    static let bold = "\u{1B}[1m", italic = "\u{1B}[3m", code = "\u{1B}[36m", heading = "\u{1B}[1;4m", reset = "\u{1B}[0m"

    /// The prose for the terminal; `styled` adds ANSI styles, else the markers are simply dropped.
    /// Control characters in the prose itself are removed first: only our styles reach the terminal.
    static func render(_ prose: String, styled: Bool) -> String {
        var out: [String] = []
        var fence: Lesson.Fence? = nil
        var folded: String? = nil  // the summary of the <details> block being skipped
        for raw in Lesson.lines(prose) {
            let line = String(String.UnicodeScalarView(raw.unicodeScalars.filter { !Shell.isControl($0) }))
            let t = line.trimmingCharacters(in: .whitespaces)
            if let open = fence {
                if let f = Lesson.Fence(line), open.isClosed(by: f) { fence = nil } else if folded == nil { out.append("    " + line) }
                continue
            }
            if let f = Lesson.Fence(line) {
                fence = f
                continue
            }
            if folded != nil {
                if t.hasPrefix("</details") { folded = nil }
                continue
            }
            if t.hasPrefix("<details") {
                let summary = summaryText(t) ?? "more"
                folded = summary
                let how: String
                switch summary.lowercased() {
                case "hint": how = "type hint to open it"
                case "solution": how = "type solution to run it"
                default: how = "folded"
                }
                out.append((styled ? bold : "") + "▸ \(summary)" + (styled ? reset : "") + " — \(how)")
                if t.contains("</details") { folded = nil }
                continue
            }
            if t.hasPrefix("</details") || t.hasPrefix("<summary") { continue }
            if let level = headingLevel(line) {
                let text = inline(String(line.dropFirst(level + 1)), styled: styled)
                out.append(styled ? heading + text + reset : text)
                if !styled && level <= 2 { out.append(String(repeating: level == 1 ? "=" : "-", count: min(80, text.count))) }
                continue
            }
            out.append(inline(line, styled: styled))
        }
        // No more than one blank line in a row, none at the ends.
        var compact: [String] = []
        for l in out where !(l.isEmpty && (compact.last?.isEmpty ?? true)) { compact.append(l) }
        while compact.last?.isEmpty == true { compact.removeLast() }
        return compact.joined(separator: "\n")
    }

    /// "## Title" → 2; not a heading → nil.
    static func headingLevel(_ line: String) -> Int? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes), line.dropFirst(hashes).first == " " else { return nil }
        return hashes
    }

    static func summaryText(_ line: String) -> String? {
        guard let a = line.range(of: "<summary>"), let b = line.range(of: "</summary>"), a.upperBound <= b.lowerBound else { return nil }
        return String(line[a.upperBound..<b.lowerBound]).trimmingCharacters(in: .whitespaces)
    }

    /// **bold**, *italic* / _italic_, `code`, [text](url) within a line. Text inside `code` is
    /// taken as it is (a `**` there is two asterisks).
    static func inline(_ line: String, styled: Bool) -> String {
        var out = ""
        let chars = Array(line)
        var i = 0
        var inBold = false, inItalic = false
        func close(_ s: String) -> String { styled ? s : "" }
        while i < chars.count {
            let c = chars[i]
            if c == "`", let end = chars[(i + 1)...].firstIndex(of: "`") {
                let text = String(chars[(i + 1)..<end])
                out += styled ? code + text + reset + (inBold ? bold : "") + (inItalic ? italic : "") : text
                i = end + 1
            } else if c == "*", i + 1 < chars.count, chars[i + 1] == "*" {
                inBold.toggle()
                out += close(inBold ? bold : "\u{1B}[22m")
                i += 2
            } else if (c == "*" || c == "_") && isEmphasis(chars, i, closing: inItalic) {
                inItalic.toggle()
                out += close(inItalic ? italic : "\u{1B}[23m")
                i += 1
            } else if c == "[", let mid = chars[i...].firstIndex(of: "]"), mid + 1 < chars.count, chars[mid + 1] == "(",
                let end = chars[(mid + 1)...].firstIndex(of: ")")
            {
                out += String(chars[(i + 1)..<mid]) + " (" + String(chars[(mid + 2)..<end]) + ")"
                i = end + 1
            } else {
                out.append(c)
                i += 1
            }
        }
        if styled && (inBold || inItalic) { out += reset }
        return out
    }

    /// A single * or _ that opens emphasis (before a word, not after one, and closed later in the
    /// line) or closes it (after a word, not before one): so 2 * 3, snake_case and a list's "* "
    /// stay as written.
    static func isEmphasis(_ chars: [Character], _ i: Int, closing: Bool) -> Bool {
        let word = { (c: Character) in c.isLetter || c.isNumber || c == ")" || c == "." }
        let before = i > 0 ? chars[i - 1] : " ", after = i + 1 < chars.count ? chars[i + 1] : " "
        if closing { return word(before) && !(after.isLetter || after.isNumber) }
        guard !word(before), after.isLetter || after.isNumber || after == "`" else { return false }
        return chars[(i + 1)...].contains(chars[i])
    }
}
