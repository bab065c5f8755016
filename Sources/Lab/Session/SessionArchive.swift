import Foundation
import Kernels

// Saving and reopening a whole session: a folder holding session.json (configuration, optimiser
// state, history), the content and style images as PNG, and the combination image as float32 —
// so a reopened session continues bit for bit where it stopped.

extension ResizeFilter: Codable {}

extension InitialImage: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let v = InitialImage(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad initial image \(text)"))
        }
        self = v
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

struct SavedRecord: Codable {
    var iteration: Int, optimizer: String, stepSize: Double, gradientNorm: Double, evaluations: Int, seconds: Double
    var terms: [TermValue]

    init(_ r: IterationRecord) {
        iteration = r.iteration
        optimizer = r.optimizer
        stepSize = r.stepSize
        gradientNorm = r.gradientNorm
        evaluations = r.evaluations
        seconds = r.seconds
        terms = r.breakdown.terms
    }

    private enum CodingKeys: String, CodingKey {
        case iteration, optimizer, stepSize, gradientNorm, evaluations, seconds, terms
        case content, style, tvRaw, tvWeighted  // format 1: fixed fields per kind
    }
    private struct LegacyTerm: Codable {
        var layer: String
        var raw: Double
        var weighted: Double
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        iteration = try c.decode(Int.self, forKey: .iteration)
        optimizer = try c.decode(String.self, forKey: .optimizer)
        stepSize = try c.decode(Double.self, forKey: .stepSize)
        gradientNorm = try c.decode(Double.self, forKey: .gradientNorm)
        evaluations = try c.decode(Int.self, forKey: .evaluations)
        seconds = try c.decode(Double.self, forKey: .seconds)
        if let terms = try c.decodeIfPresent([TermValue].self, forKey: .terms) {
            self.terms = terms
            return
        }
        // A format-1 archive: rebuild the list (weight = weighted / raw).
        func term(_ kind: TermKind, _ t: LegacyTerm?, raw: Double, weighted: Double) -> TermValue {
            TermValue(TermSpec(kind: kind, layer: t?.layer, weight: raw == 0 ? 0 : weighted / raw), raw: raw)
        }
        terms =
            try c.decode([LegacyTerm].self, forKey: .content).map { term(.content, $0, raw: $0.raw, weighted: $0.weighted) }
            + c.decode([LegacyTerm].self, forKey: .style).map { term(.style, $0, raw: $0.raw, weighted: $0.weighted) }
            + [term(.totalVariation, nil, raw: try c.decode(Double.self, forKey: .tvRaw), weighted: try c.decode(Double.self, forKey: .tvWeighted))]
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(iteration, forKey: .iteration)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(stepSize, forKey: .stepSize)
        try c.encode(gradientNorm, forKey: .gradientNorm)
        try c.encode(evaluations, forKey: .evaluations)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(terms, forKey: .terms)
    }

    var record: IterationRecord {
        IterationRecord(
            iteration: iteration, optimizer: optimizer, breakdown: LossBreakdown(terms: terms), stepSize: stepSize,
            gradientNorm: gradientNorm, evaluations: evaluations, seconds: seconds)
    }
}

struct SavedSession: Codable {
    /// 2: terms as a list, masks, the image average.
    var formatVersion = 2
    var configuration: TransferConfiguration
    var contentPath: String
    var styles: [SavedStyle]
    var optimizer: OptimizerState
    var history: [SavedRecord]
    var combinationShape: [Int]
    var contentMask: SavedMask?
    var averageSteps: Int?
    struct SavedStyle: Codable {
        var path: String
        var weight: Double
        var file: String
        var mask: SavedMask?
    }
    struct SavedMask: Codable {
        var path: String
        var file: String
    }
}

extension TransferSession {
    /// Writes the session into the folder `path` (created; an existing session there is replaced).
    public func save(to path: String) throws {
        guard let content, let contentPath, let combination else { throw SessionError.needsContent }
        // Built in a temporary folder and swapped in whole: a full disk or a kill leaves the
        // previous session as it was, never half old and half new.
        // The swap replaces the whole folder: only an empty one, or one holding nothing but a saved
        // session's own files, may be replaced (not one where results were saved beside a session).
        let replaceable = { (folder: String) -> Bool in
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return false }
            return names.allSatisfy { name in
                ["session.json", "content.png", "combination.f32", "average.f32", "content-mask.png"].contains(name)
                    || (name.hasPrefix("style-") && name.hasSuffix(".png"))
            } && (names.isEmpty || names.contains("session.json"))
        }
        try AtomicFile.replaceFolder(path, replaceable: replaceable) { folder in
            try content.savePNG(folder + "/content.png")
            var styles: [SavedSession.SavedStyle] = []
            for (i, s) in self.styles.enumerated() {
                try s.image.savePNG(folder + "/style-\(i).png")
                var mask: SavedSession.SavedMask? = nil
                if let m = s.mask {
                    try m.savePNG(folder + "/style-\(i)-mask.png")
                    mask = .init(path: s.maskPath ?? "", file: "style-\(i)-mask.png")
                }
                styles.append(.init(path: s.path, weight: s.weight, file: "style-\(i).png", mask: mask))
            }
            var contentMask: SavedSession.SavedMask? = nil
            if let m = self.contentMask {
                try m.image.savePNG(folder + "/content-mask.png")
                contentMask = .init(path: m.path, file: "content-mask.png")
            }
            try AtomicFile.write(OptimizerState.pack(combination.data), to: folder + "/combination.f32")
            if let average = self.average {
                try AtomicFile.write(OptimizerState.pack(average.data), to: folder + "/average.f32")
            }
            let saved = SavedSession(
                configuration: configuration, contentPath: contentPath, styles: styles,
                optimizer: OptimizerState.capture(optimizer), history: history.map(SavedRecord.init),
                combinationShape: combination.shape, contentMask: contentMask,
                averageSteps: self.average == nil ? nil : self.averageSteps)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(saved), to: folder + "/session.json")
        }
    }

    /// Replaces this session's state with the one saved in `path`. On any error nothing changes.
    public func open(_ path: String) throws {
        guard let data = FileManager.default.contents(atPath: path + "/session.json") else {
            throw SessionError.invalid("\(path) is not a saved session (no session.json)")
        }
        let saved: SavedSession
        do { saved = try JSONDecoder().decode(SavedSession.self, from: data) } catch {
            throw SessionError.invalid("\(path)/session.json is damaged: \(SessionArchiveError.explain(error))")
        }
        // A file of the session folder, never a path that leads out of it.
        func file(_ name: String) throws -> String {
            guard !name.contains("/"), !name.isEmpty else { throw SessionError.invalid("\(path)/session.json: bad file name \(name)") }
            return path + "/" + name
        }
        let content = try RGBImage.load(path + "/content.png")
        let styles = try saved.styles.map { style in
            guard style.weight.isFinite, style.weight > 0 else {
                throw SessionError.invalid("\(path)/session.json: style weight \(style.weight) is not positive")
            }
            return StyleSource(
                path: style.path, image: try RGBImage.load(try file(style.file)), weight: style.weight,
                maskPath: style.mask.map { $0.path.isEmpty ? "(mask)" : $0.path }, mask: try style.mask.map { try RGBImage.load(try file($0.file)) })
        }
        let contentMask = try saved.contentMask.map { try RGBImage.load(try file($0.file)) }
        guard let raw = FileManager.default.contents(atPath: path + "/combination.f32") else {
            throw SessionError.invalid("\(path) lacks combination.f32")
        }
        try validate(saved.configuration)
        if case .style = saved.configuration.initialImage, styles.isEmpty {
            throw SessionError.invalid("\(path)/session.json: starts from the style image but has none")
        }
        let size = kerasTargetSize(width: content.width, height: content.height, rows: saved.configuration.rows)
        guard saved.combinationShape == [3, size.height, size.width], raw.count == 12 * size.width * size.height else {
            throw SessionError.invalid(
                "\(path): the saved image (\(saved.combinationShape)) does not match the saved size \(size.width)×\(size.height)")
        }
        let combination = try Tensor(shape: saved.combinationShape, data: OptimizerState.unpack(raw))
        guard combination.data.allSatisfy(\.isFinite) else { throw SessionError.invalid("\(path): the saved image is not finite") }
        var average: Tensor? = nil
        if let steps = saved.averageSteps {
            guard steps > 0, let raw = FileManager.default.contents(atPath: path + "/average.f32"), raw.count == 4 * combination.count else {
                throw SessionError.invalid("\(path): the image average (average.f32) is missing or does not match the image")
            }
            average = try Tensor(shape: combination.shape, data: OptimizerState.unpack(raw))
            guard average!.data.allSatisfy(\.isFinite) else { throw SessionError.invalid("\(path): the image average is not finite") }
        }
        let optimizer: any Optimizer
        do { optimizer = try saved.optimizer.restore(vectorLength: combination.count) } catch {
            throw SessionError.invalid("\(path)/session.json: \(error)")
        }
        // Every integer the archive holds, against what the session can mean by it (Int.max in one
        // of them trapped later, in `history` or `step`).
        for (k, record) in saved.history.enumerated() {
            guard record.iteration == k else {
                throw SessionError.invalid("\(path)/session.json: history record \(k) says it is iteration \(record.iteration)")
            }
            guard (0...1_000_000).contains(record.evaluations) else {
                throw SessionError.invalid("\(path)/session.json: history record \(k) has \(record.evaluations) evaluations")
            }
        }
        if let steps = saved.averageSteps, steps > saved.history.count {
            throw SessionError.invalid("\(path)/session.json: an image average of \(steps) steps in a \(saved.history.count)-iteration history")
        }
        guard saved.optimizer.iteration <= saved.history.count else {
            throw SessionError.invalid(
                "\(path)/session.json: the optimiser is at iteration \(saved.optimizer.iteration) of a \(saved.history.count)-iteration history")
        }
        try estimateFits(configuration: saved.configuration, content: content, styleCount: styles.count, optimizer: optimizer)
        // Everything read and checked: now replace the state, all of it or (on any error) none.
        try atomically {
            try configure { $0 = saved.configuration }
            try setContent(content, name: saved.contentPath)
            setStyles(styles)
            setContentMask(contentMask, path: saved.contentMask?.path)
            try restore(
                combination: combination, optimizer: optimizer, history: saved.history.map(\.record),
                average: average, averageSteps: saved.averageSteps ?? 0)
        }
    }
}

/// A decoding error as a reader can act on it: where in the archive (the key path) and what is wrong
/// there, not Foundation's "The data isn't in the correct format."
enum SessionArchiveError {
    static func explain(_ error: Error) -> String {
        func at(_ path: [CodingKey]) -> String {
            guard !path.isEmpty else { return "at the top" }
            return "at " + path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let c)?:
            return "\(at(c.codingPath + [key])): missing"
        case .valueNotFound(let type, let c)?:
            return "\(at(c.codingPath)): null where \(describe(type)) belongs"
        case .typeMismatch(let type, let c)?:
            return "\(at(c.codingPath)): not \(describe(type))"
        case .dataCorrupted(let c)?:
            if c.codingPath.isEmpty {
                // Foundation's parser says where (and NaN or a bare word is not JSON at all).
                let reason = (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
                return "not valid JSON"
                    + (reason.map { " (\($0.replacingOccurrences(of: "\n", with: " ")))" } ?? " (a NaN, a bare word, or text cut short?)")
            }
            return "\(at(c.codingPath)): \(c.debugDescription)"
        case nil, .some:
            return "\(error)"
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int32.Type, is UInt.Type: return "a whole number"
        case is Double.Type, is Float.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a \(name)"
        }
    }
}
