import Foundation
import Kernels

// One option of the vocabulary, as data: its name, what it takes, its choices, its help, how it
// changes a session and how its current value reads. The shell's `set`, `help set`, `config`,
// completion, the fuzz dictionary and `lab transfer`'s argument-parser options are all derived from
// the table (TransferOptions.all); adding an option is one entry there.

public struct TransferOption: Sendable {
    public enum Kind: Sendable, Equatable {
        /// `--name VALUE` (the placeholder as help shows it).
        case value(String)
        /// `--name`, no value.
        case flag
        /// `--name VALUE`, given any number of times.
        case repeated(String)
    }

    /// When an option is applied, relative to the others: a preset first (it resets the loss and
    /// the optimiser), then compute settings, the optimiser, the configuration (all its options in
    /// one change, validated once), and last what builds on the configuration (masks, more styles).
    public enum Phase: Int, Sendable, Comparable {
        case preset, compute, optimizer, configuration, after
        public static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
    }

    public let name: String
    public let kind: Kind
    public let help: String
    let phase: Phase
    /// The words it takes, for completion and argument-parser's completion scripts (empty: any).
    let choices: @Sendable () -> [String]
    /// Whether its value names a file (completion offers files).
    public let takesFile: Bool
    /// Applies the option's value (nil for a flag) to the session or the pending configuration.
    let apply: @Sendable (String?, inout OptionContext) throws -> Void
    /// Its current value as it would be typed, for `config` (nil: nothing to show).
    let current: @Sendable (TransferSession) -> String?

    init(
        _ name: String, _ kind: Kind, _ phase: Phase, help: String, choices: @escaping @Sendable () -> [String] = { [] },
        file: Bool = false, current: @escaping @Sendable (TransferSession) -> String? = { _ in nil },
        apply: @escaping @Sendable (String?, inout OptionContext) throws -> Void
    ) {
        self.name = name
        self.kind = kind
        self.phase = phase
        self.help = help
        self.choices = choices
        self.takesFile = file
        self.current = current
        self.apply = apply
    }

    public var takesValue: Bool { kind != .flag }
    public var placeholder: String? {
        switch kind {
        case .value(let p), .repeated(let p): return p
        case .flag: return nil
        }
    }
    public var completions: [String] { choices() }
}

/// What an option's `apply` works on: the session, and the configuration being built (applied
/// to the session in one change at the end of the configuration phase).
struct OptionContext {
    let session: TransferSession
    var configuration: TransferConfiguration
    let arguments: Arguments
}

/// Parsing an option's value, with a one-line error that names it.
public enum OptionValue {
    public static func number(_ name: String, _ text: String?) throws -> Double {
        guard let text, let v = decimal(text) else { throw UsageError("--\(name) needs a number, got '\(text ?? "")'") }
        return v
    }

    /// A finite decimal number as people write them (Swift's Double(_:) also reads 0x10 as 16).
    public static func decimal(_ text: String) -> Double? {
        guard !text.isEmpty, text.allSatisfy({ "0123456789+-.eE".contains($0) }), let v = Double(text), v.isFinite else { return nil }
        return v
    }

    public static func whole(_ name: String, _ text: String?, in range: ClosedRange<Int>) throws -> Int {
        guard let text, let v = Int(text), range.contains(v) else {
            throw UsageError("--\(name) needs a whole number in \(range.lowerBound)…\(range.upperBound), got '\(text ?? "")'")
        }
        return v
    }

    static func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ text: String?, _ type: T.Type) throws -> T
    where T.RawValue == String {
        guard let text, let v = T(rawValue: text) else {
            throw UsageError("--\(name) is one of \(T.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text ?? "")'")
        }
        return v
    }

    static func names<T: RawRepresentable & CaseIterable>(_ type: T.Type) -> @Sendable () -> [String] where T.RawValue == String {
        let names = T.allCases.map(\.rawValue)
        return { names }
    }
}

extension TransferOptions {
    /// Names of the options that take a value, and of the flags (the shell's parser and lab transfer's).
    public static var valueOptions: [String] { all.filter(\.takesValue).map(\.name) }
    public static var flagOptions: [String] { all.filter { !$0.takesValue }.map(\.name) }

    /// The choices of each option that takes one of a few words (completion offers these).
    public static var choices: [String: [String]] {
        Dictionary(uniqueKeysWithValues: all.compactMap { o in o.completions.isEmpty ? nil : (o.name, o.completions) })
    }

    public static func option(_ name: String) -> TransferOption? { all.first { $0.name == name } }

    /// Applies every option present in `a` to the session (those absent are left as they are), phase
    /// by phase; the configuration's options as one change.
    public static func apply(_ a: Arguments, to session: TransferSession) throws {
        // All or nothing, wherever it is called from (lab transfer, a shell's first command, tests).
        try session.atomically { try applyInPhases(a, to: session) }
    }

    static func applyInPhases(_ a: Arguments, to session: TransferSession) throws {
        if a.has("continue") && a.value("size") == nil { throw UsageError("--continue goes with --size N") }
        var context = OptionContext(session: session, configuration: session.configuration, arguments: a)
        let present = all.filter { a.has($0.name) }
        for phase in [TransferOption.Phase.preset, .compute, .optimizer, .configuration, .after] {
            if phase == .configuration { context.configuration = session.configuration }
            for option in present where option.phase == phase {
                switch option.kind {
                case .flag: try option.apply(nil, &context)
                case .value: try option.apply(a.value(option.name), &context)
                case .repeated: for v in a.all(option.name) { try option.apply(v, &context) }
                }
            }
            if phase == .configuration, context.configuration != session.configuration {
                let next = context.configuration
                try session.configure { $0 = next }
            }
        }
    }

    /// `help set` and `lab transfer --help`'s closing lines: every option with its help, wrapped.
    public static var help: String {
        all.map { o in
            wrap("  --\(o.name)" + (o.placeholder.map { " \($0)" } ?? ""), o.help, column: 30, width: 100)
        }.joined(separator: "\n")
    }

    /// `config`: each option's current value, as it would be typed.
    static func describe(_ session: TransferSession) -> String {
        all.compactMap { o in o.current(session).map { pad("--" + o.name, 22) + $0 } }.joined(separator: "\n")
    }

    /// `head` then `text` wrapped to `width`, continuation lines indented to `column`.
    static func wrap(_ head: String, _ text: String, column: Int, width: Int) -> String {
        var lines: [String] = []
        var line = head.count + 1 < column ? pad(head, column) : head + "\n" + String(repeating: " ", count: column)
        var empty = true
        for word in text.split(separator: " ") {
            let lastLine = line.split(separator: "\n", omittingEmptySubsequences: false).last.map(String.init) ?? line
            if !empty && lastLine.count + 1 + word.count > width {
                lines.append(line)
                line = String(repeating: " ", count: column)
                empty = true
            }
            line += (empty ? "" : " ") + word
            empty = false
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }
}
