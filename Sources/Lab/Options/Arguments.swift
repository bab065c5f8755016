// A small argument parser shared by `lab transfer` and the shell's commands, so an option
// means the same thing everywhere: positionals, `--name value`, `--name=value`, `--flag`.

public struct Arguments: Sendable {
    public var positional: [String] = []
    public var values: [String: [String]] = [:]
    public var flags: Set<String> = []

    public init(positional: [String] = [], values: [String: [String]] = [:], flags: Set<String> = []) {
        self.positional = positional
        self.values = values
        self.flags = flags
    }

    public func value(_ name: String) -> String? { values[name]?.last }
    public func all(_ name: String) -> [String] { values[name] ?? [] }
    public func has(_ name: String) -> Bool { flags.contains(name) || values[name] != nil }

    public func int(_ name: String, default d: Int, in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let text = value(name) else { return d }
        guard let v = Int(text), range.contains(v) else {
            throw UsageError("--\(name) needs a whole number in \(range.lowerBound)…\(range.upperBound), got '\(text)'")
        }
        return v
    }

    public func double(_ name: String) throws -> Double? {
        guard let text = value(name) else { return nil }
        guard let v = OptionValue.decimal(text) else { throw UsageError("--\(name) needs a number, got '\(text)'") }
        return v
    }

    public func choice<T: RawRepresentable>(_ name: String, _ type: T.Type) throws -> T?
    where T.RawValue == String, T: CaseIterable {
        guard let text = value(name) else { return nil }
        guard let v = T(rawValue: text) else {
            throw UsageError("--\(name) is one of \(T.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'")
        }
        return v
    }

    /// Parses `words` given the options that take a value and the flags that do not.
    public static func parse(_ words: [String], options: [String], flags: [String] = []) throws -> Arguments {
        var a = Arguments()
        var i = 0
        while i < words.count {
            let w = words[i]
            if w.hasPrefix("--") && w.count > 2 {
                var name = String(w.dropFirst(2))
                var inline: String? = nil
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                if flags.contains(name) {
                    guard inline == nil else { throw UsageError("--\(name) takes no value") }
                    a.flags.insert(name)
                } else if options.contains(name) {
                    if let inline {
                        a.values[name, default: []].append(inline)
                    } else {
                        guard i + 1 < words.count else { throw UsageError("--\(name) needs a value") }
                        i += 1
                        a.values[name, default: []].append(words[i])
                    }
                } else {
                    let known = options + flags
                    let near = known.min { editDistance($0, name) < editDistance($1, name) }
                    let hint = near.map { editDistance($0, name) <= 3 ? " (did you mean --\($0)?)" : "" } ?? ""
                    throw UsageError("unknown option --\(name)\(hint)")
                }
            } else {
                a.positional.append(w)
            }
            i += 1
        }
        return a
    }

    /// "10,12" as whole numbers, every one of them: nil if any part is not one ("1,x,2" is not 1,2).
    public static func wholeNumbers(_ text: some StringProtocol, separator: Character = ",") -> [Int]? {
        let parts = text.split(separator: separator, omittingEmptySubsequences: false).map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.map { $0! }
    }
}

public struct UsageError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
