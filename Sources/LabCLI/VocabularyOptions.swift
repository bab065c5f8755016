import ArgumentParser
import Lab

/// The transfer options as argument-parser options, made from the one table (TransferOptions.all):
/// argument-parser finds a type's options by reflecting an instance, so this type reflects as one
/// declared option per table entry — `--help` shows them in argument-parser's own layout, and the
/// completion scripts complete each option and its choices. Adding an option to the table adds it here.
struct VocabularyOptions: ParsableArguments, CustomReflectable {
    /// What was given, as the shell's `set` sees it.
    var arguments = Arguments()

    init() {}

    var customMirror: Mirror {
        Mirror(self, children: TransferOptions.all.map { (label: $0.name, value: Self.declaration($0)) }, displayStyle: .struct)
    }

    static func declaration(_ o: TransferOption) -> Any {
        let help = ArgumentHelp(o.help, valueName: o.placeholder)
        let completion: CompletionKind? = o.takesFile ? .file() : o.completions.isEmpty ? nil : .list(o.completions)
        switch o.kind {
        case .flag: return Flag(wrappedValue: false, name: .customLong(o.name), help: help)
        // .unconditional: a value may start with "-" (--content-weight -1 reaches the table's own check).
        case .value: return Option<String?>(name: .customLong(o.name), parsing: .unconditional, help: help, completion: completion)
        case .repeated:
            return Option<[String]>(
                wrappedValue: [], name: .customLong(o.name), parsing: .unconditionalSingleValue, help: help, completion: completion)
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        for o in TransferOptions.all {
            let key = Key(stringValue: o.name)
            switch o.kind {
            case .flag:
                if try c.decode(Flag<Bool>.self, forKey: key).wrappedValue { arguments.flags.insert(o.name) }
            case .value:
                if let v = try c.decode(Option<String?>.self, forKey: key).wrappedValue { arguments.values[o.name] = [v] }
            case .repeated:
                let all = try c.decode(Option<[String]>.self, forKey: key).wrappedValue
                if !all.isEmpty { arguments.values[o.name] = all }
            }
        }
    }
}
