import Foundation
import Kernels

// The converted VGG19 weights: a safetensors file (8-byte little-endian header length,
// a JSON header of name → dtype, shape, byte offsets, then raw little-endian data).
// Read by explicit name, every shape checked; never by position.

public enum WeightsError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case corrupt(String, String)
    case wrongContents(String, String)
    /// Not damaged: cannot be read (a folder, no permission). NST_WEIGHTS must name the file.
    case unreadable(String, String)

    public static let fetchHint = "run: python3 Weights/fetch.py"

    public var description: String {
        switch self {
        case .missing(let p): return "weights not found at \(p); \(WeightsError.fetchHint)"
        case .corrupt(let p, let why): return "weights file \(p) is damaged (\(why)); delete it and \(WeightsError.fetchHint)"
        case .wrongContents(let p, let why): return "weights file \(p) is not VGG19 notop (\(why)); \(WeightsError.fetchHint)"
        case .unreadable(let p, let why): return "cannot read the weights at \(p): \(why)"
        }
    }
}

public struct SafeTensorsFile: Sendable {
    public struct Entry: Equatable, Sendable {
        public let dtype: String
        public let shape: [Int]
        public let range: Range<Int>  // byte range within the data section
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    let data: Data  // memory-mapped
    let dataStart: Int

    public init(path: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw WeightsError.missing(path) }
        guard !isFolder.boolValue else { throw WeightsError.unreadable(path, "it is a folder, not the .safetensors file") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw WeightsError.unreadable(path, AtomicFile.describe(error))
        }
        guard data.count >= 8 else { throw WeightsError.corrupt(path, "only \(data.count) bytes") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength > 1, headerLength <= UInt64(data.count - 8), headerLength < 100_000_000 else {
            throw WeightsError.corrupt(path, "header length \(headerLength) does not fit a \(data.count)-byte file")
        }
        let headerEnd = 8 + Int(headerLength)
        guard let json = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd)) as? [String: Any] else {
            throw WeightsError.corrupt(path, "header is not JSON")
        }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        let dataSize = data.count - headerEnd
        for (name, value) in json {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let e = value as? [String: Any], let dtype = e["dtype"] as? String,
                let shape = e["shape"] as? [Int], let offsets = e["data_offsets"] as? [Int], offsets.count == 2,
                offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize
            else {
                throw WeightsError.corrupt(path, "bad header entry for \(name) (or the file is truncated)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.path = path
        self.entries = entries
        self.metadata = metadata
        self.data = data
        self.dataStart = headerEnd
    }

    /// Any F32 or F64 tensor as Doubles, with its shape (for fixtures and inspection).
    public func doubles(_ name: String) throws -> (shape: [Int], values: [Double]) {
        guard let e = entries[name] else { throw WeightsError.wrongContents(path, "no tensor named \(name)") }
        let width = e.dtype == "F64" ? 8 : e.dtype == "F32" ? 4 : 0
        guard width > 0 else { throw WeightsError.wrongContents(path, "\(name) is \(e.dtype), expected F32 or F64") }
        let count = e.shape.reduce(1, *)
        guard e.range.count == count * width else {
            throw WeightsError.corrupt(path, "\(name) has \(e.range.count) bytes for \(count) values")
        }
        let bytes = data.subdata(in: (dataStart + e.range.lowerBound)..<(dataStart + e.range.upperBound))
        let values: [Double] = bytes.withUnsafeBytes { raw in
            width == 8
                ? (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
                : (0..<count).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self)) }
        }
        return (e.shape, values)
    }

    /// The float32 tensor `name`, which must have `shape`.
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        guard let e = entries[name] else { throw WeightsError.wrongContents(path, "no tensor named \(name)") }
        guard e.dtype == "F32" else { throw WeightsError.wrongContents(path, "\(name) is \(e.dtype), expected F32") }
        guard e.shape == shape else {
            throw WeightsError.wrongContents(path, "\(name) has shape \(e.shape), expected \(shape)")
        }
        let count = shape.reduce(1, *)
        guard e.range.count == count * 4 else {
            throw WeightsError.corrupt(path, "\(name) has \(e.range.count) bytes for \(count) floats")
        }
        var values = [Float](repeating: 0, count: count)
        let start = dataStart + e.range.lowerBound
        values.withUnsafeMutableBytes { dst in
            data.copyBytes(to: dst.bindMemory(to: UInt8.self), from: start..<(start + e.range.count))
        }
        // The file is little-endian, as is every machine Swift runs NST Lab on; say so if not.
        precondition(UInt32(1).littleEndian == 1, "big-endian hosts are not supported")
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw WeightsError.corrupt(path, "\(name) holds a non-finite value at index \(bad)")
        }
        return try Tensor(shape: shape, data: values)
    }
}
