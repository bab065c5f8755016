import Foundation

// Jupyter's wire format (messaging protocol 5.3). A message is a multipart ZeroMQ message:
//
//   identities…  "<IDS|MSG>"  signature  header  parent_header  metadata  content  buffers…
//
// signature = hex HMAC-SHA256, under the connection file's key, of the four JSON frames after it.
// A message whose signature does not match is dropped, never executed.

/// A JSON object, as JSONSerialization gives it.
typealias JSONObject = [String: Any]

public struct JupyterMessage: @unchecked Sendable {
    var identities: [Data] = []
    var header: JSONObject
    var parentHeader: JSONObject = [:]
    var metadata: JSONObject = [:]
    var content: JSONObject
    var buffers: [Data] = []

    var type: String { header["msg_type"] as? String ?? "" }
    var id: String { header["msg_id"] as? String ?? "" }
}

enum WireError: Error, Equatable, CustomStringConvertible {
    case noDelimiter, tooFewFrames, badSignature, badJSON(String)
    var description: String {
        switch self {
        case .noDelimiter: return "no <IDS|MSG> delimiter"
        case .tooFewFrames: return "fewer than the five frames after the delimiter"
        case .badSignature: return "the signature does not match the key"
        case .badJSON(let what): return "the \(what) frame is not a JSON object"
        }
    }
}

/// Encodes and decodes messages under one key.
struct Wire: Sendable {
    let key: Data
    static let delimiter = Data("<IDS|MSG>".utf8)
    /// Deeper JSON than this is refused before it is parsed (no message of the protocol nests so).
    static let maxDepth = 64

    func decode(_ frames: [Data]) throws -> JupyterMessage {
        guard let d = frames.firstIndex(of: Self.delimiter) else { throw WireError.noDelimiter }
        guard frames.count >= d + 6 else { throw WireError.tooFewFrames }
        let signature = String(decoding: frames[d + 1], as: UTF8.self)
        let signed = Array(frames[(d + 2)...(d + 5)])
        guard constantTimeEqual(signature, hmacSHA256Hex(key: key, signed)) else { throw WireError.badSignature }
        func object(_ frame: Data, _ what: String) throws -> JSONObject {
            guard Self.depth(frame) <= Self.maxDepth,
                let o = (try? JSONSerialization.jsonObject(with: frame)) as? JSONObject
            else { throw WireError.badJSON(what) }
            return o
        }
        return JupyterMessage(
            identities: Array(frames[..<d]), header: try object(signed[0], "header"), parentHeader: try object(signed[1], "parent header"),
            metadata: try object(signed[2], "metadata"), content: try object(signed[3], "content"), buffers: Array(frames[(d + 6)...]))
    }

    func encode(_ m: JupyterMessage) throws -> [Data] {
        let parts = try [m.header, m.parentHeader, m.metadata, m.content].map { try JSONSerialization.data(withJSONObject: $0) }
        return m.identities + [Self.delimiter, Data(hmacSHA256Hex(key: key, parts).utf8)] + parts + m.buffers
    }

    /// The deepest nesting of brackets in a JSON text (strings skipped).
    static func depth(_ data: Data) -> Int {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for b in data {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    private func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// A new message's header.
func jupyterHeader(_ type: String, session: String) -> JSONObject {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return [
        "msg_id": UUID().uuidString, "session": session, "username": "nstlab", "date": formatter.string(from: Date()),
        "msg_type": type, "version": "5.3",
    ]
}

/// The connection file Jupyter starts a kernel with.
struct ConnectionInfo {
    var transport = "tcp", ip = "127.0.0.1"
    var shellPort = 0, controlPort = 0, stdinPort = 0, iopubPort = 0, hbPort = 0
    var key = Data()
    var signatureScheme = "hmac-sha256"

    init(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw SessionError.invalid("cannot read the connection file \(file)") }
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? JSONObject else {
            throw SessionError.invalid("the connection file \(file) is not a JSON object")
        }
        func port(_ name: String) throws -> Int {
            guard let p = o[name] as? Int, (0...65535).contains(p) else { throw SessionError.invalid("the connection file has no valid \(name)") }
            return p
        }
        transport = o["transport"] as? String ?? "tcp"
        ip = o["ip"] as? String ?? "127.0.0.1"
        shellPort = try port("shell_port")
        controlPort = try port("control_port")
        stdinPort = try port("stdin_port")
        iopubPort = try port("iopub_port")
        hbPort = try port("hb_port")
        key = Data((o["key"] as? String ?? "").utf8)
        signatureScheme = o["signature_scheme"] as? String ?? "hmac-sha256"
        guard signatureScheme == "hmac-sha256" else {
            throw SessionError.invalid("signature scheme \(signatureScheme): only hmac-sha256 is supported")
        }
    }

    func endpoint(_ port: Int) -> String { transport == "ipc" ? "ipc://\(ip)-\(port)" : "\(transport)://\(ip):\(port)" }
}

/// For the fuzz target: `data` as frames (split at "\n--\n"), decoded as they are (a signature
/// almost never matches), then signed correctly and decoded again (so the JSON frames are parsed),
/// and what decodes encoded back. Nothing may crash or hang.
public enum JupyterWireFuzzing {
    public static func exercise(_ data: Data) {
        let wire = Wire(key: Data("fuzz-key".utf8))
        let separator = Data("\n--\n".utf8)
        var frames: [Data] = [], rest = data[...]
        while let r = rest.range(of: separator) {
            frames.append(Data(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        frames.append(Data(rest))
        _ = try? wire.decode(frames)
        guard let d = frames.firstIndex(of: Wire.delimiter), frames.count >= d + 6 else { return }
        frames[d + 1] = Data(hmacSHA256Hex(key: wire.key, Array(frames[(d + 2)...(d + 5)])).utf8)
        if let m = try? wire.decode(frames) { _ = try? wire.encode(m) }
    }
}
