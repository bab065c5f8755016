import Foundation

// How much memory NST Lab lets itself use, decided in one place: a step (the memory estimate
// refuses a size or image above it) and a decoded image (refused before decoding) both follow it.

public enum MemoryPolicy {
    /// What a step may use: half of the machine's memory, or less if a cgroup or an address-space
    /// limit says so; NST_MEMORY_LIMIT (bytes, or with a K/M/G suffix) overrides.
    public static var limit: Int {
        if let text = ProcessInfo.processInfo.environment["NST_MEMORY_LIMIT"], let v = parseBytes(text) { return v }
        var limit = Int(ProcessInfo.processInfo.physicalMemory / 2)
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
            let v = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            limit = min(limit, v)
        }
        var r = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &r) == 0, r.rlim_cur < UInt64(Int.max) {  // RLIM_INFINITY is all ones
            limit = min(limit, Int(r.rlim_cur) / 2)
        }
        return limit
    }

    static func parseBytes(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let scale: Int
        switch t.last {
        case "K": scale = 1 << 10
        case "M": scale = 1 << 20
        case "G": scale = 1 << 30
        default: scale = 1
        }
        let digits = scale == 1 ? t : String(t.dropLast())
        guard let v = Double(digits), v > 0, v * Double(scale) < 9e18 else { return nil }
        return Int(v * Double(scale))
    }

    /// The most a decoded image may take: half of what a step may use (decoding needs 3 bytes a
    /// pixel and preprocessing 12 more, so that is what is checked).
    public static var imageLoadLimit: Int { limit / 2 }
}
