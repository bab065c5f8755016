import Foundation
import Kernels

// Saving and reopening a whole session: a folder holding session.json (configuration, optimiser
// state, history), the content and style images as PNG, and the combination image as float32 —
// so a reopened session continues bit for bit where it stopped.

extension ResizeFilter: Codable {}
extension StyleNormalizationMode: Codable {}



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



struct SavedTerm: Codable { var layer: String; var raw: Double; var weighted: Double }
struct SavedRecord: Codable {
    var iteration: Int, optimizer: String, stepSize: Double, gradientNorm: Double, evaluations: Int, seconds: Double
    var content: [SavedTerm], style: [SavedTerm], tvRaw: Double, tvWeighted: Double

    init(_ r: IterationRecord) {
        iteration = r.iteration; optimizer = r.optimizer; stepSize = r.stepSize; gradientNorm = r.gradientNorm
        evaluations = r.evaluations; seconds = r.seconds
        content = r.breakdown.content.map { SavedTerm(layer: $0.layer, raw: $0.raw, weighted: $0.weighted) }
        style = r.breakdown.style.map { SavedTerm(layer: $0.layer, raw: $0.raw, weighted: $0.weighted) }
        tvRaw = r.breakdown.totalVariation.raw; tvWeighted = r.breakdown.totalVariation.weighted
    }

    var record: IterationRecord {
        var b = LossBreakdown()
        b.content = content.map { ($0.layer, $0.raw, $0.weighted) }
        b.style = style.map { ($0.layer, $0.raw, $0.weighted) }
        b.totalVariation = (tvRaw, tvWeighted)
        return IterationRecord(iteration: iteration, optimizer: optimizer, breakdown: b, stepSize: stepSize,
                               gradientNorm: gradientNorm, evaluations: evaluations, seconds: seconds)
    }
}

struct SavedSession: Codable {
    var formatVersion = 1
    var configuration: TransferConfiguration
    var contentPath: String
    var styles: [SavedStyle]
    var optimizer: OptimizerState
    var history: [SavedRecord]
    var combinationShape: [Int]
    struct SavedStyle: Codable { var path: String; var weight: Double; var file: String }
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
                ["session.json", "content.png", "combination.f32"].contains(name)
                    || (name.hasPrefix("style-") && name.hasSuffix(".png"))
            } && (names.isEmpty || names.contains("session.json"))
        }
        try AtomicFile.replaceFolder(path, replaceable: replaceable) { folder in
            try content.savePNG(folder + "/content.png")
            var styles: [SavedSession.SavedStyle] = []
            for (i, s) in self.styles.enumerated() {
                try s.image.savePNG(folder + "/style-\(i).png")
                styles.append(.init(path: s.path, weight: s.weight, file: "style-\(i).png"))
            }
            try AtomicFile.write(OptimizerState.pack(combination.data), to: folder + "/combination.f32")
            let saved = SavedSession(configuration: configuration, contentPath: contentPath, styles: styles,
                                     optimizer: OptimizerState.capture(optimizer), history: history.map(SavedRecord.init),
                                     combinationShape: combination.shape)
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
            throw SessionError.invalid("\(path)/session.json is damaged (\(error.localizedDescription))")
        }
        let content = try RGBImage.load(path + "/content.png")
        let styles = try saved.styles.map { style in
            guard style.weight.isFinite, style.weight > 0 else {
                throw SessionError.invalid("\(path)/session.json: style weight \(style.weight) is not positive")
            }
            guard !style.file.contains("/") else { throw SessionError.invalid("\(path)/session.json: bad style file name \(style.file)") }
            return StyleSource(path: style.path, image: try RGBImage.load(path + "/" + style.file), weight: style.weight)
        }
        guard let raw = FileManager.default.contents(atPath: path + "/combination.f32") else {
            throw SessionError.invalid("\(path) lacks combination.f32")
        }
        try validate(saved.configuration)
        if case .style = saved.configuration.initialImage, styles.isEmpty {
            throw SessionError.invalid("\(path)/session.json: starts from the style image but has none")
        }
        let size = kerasTargetSize(width: content.width, height: content.height, rows: saved.configuration.rows)
        guard saved.combinationShape == [3, size.height, size.width], raw.count == 12 * size.width * size.height else {
            throw SessionError.invalid("\(path): the saved image (\(saved.combinationShape)) does not match the saved size \(size.width)×\(size.height)")
        }
        let combination = try Tensor(shape: saved.combinationShape, data: OptimizerState.unpack(raw))
        guard combination.data.allSatisfy(\.isFinite) else { throw SessionError.invalid("\(path): the saved image is not finite") }
        let optimizer: any Optimizer
        do { optimizer = try saved.optimizer.restore(vectorLength: combination.count) } catch {
            throw SessionError.invalid("\(path)/session.json: \(error)")
        }
        guard saved.optimizer.iteration <= saved.history.count else {
            throw SessionError.invalid("\(path)/session.json: the optimiser is at iteration \(saved.optimizer.iteration) of a \(saved.history.count)-iteration history")
        }
        try estimateFits(configuration: saved.configuration, content: content, styleCount: styles.count, optimizer: optimizer)
        // Everything read and checked: now replace the state, all of it or (on any error) none.
        try atomically {
            try configure { $0 = saved.configuration }
            try setContent(content, name: saved.contentPath)
            setStyles(styles)
            try restore(combination: combination, optimizer: optimizer, history: saved.history.map(\.record))
        }
    }
}
