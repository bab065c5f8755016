import Foundation
import Kernels

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

/// How much memory the layers' prepared weights may keep (Kernels' ConvWeightCache): each layer's
/// weights packed for the GEMM and Winograd-transformed, made once instead of every iteration.
/// Making them anew costs most where the image is small (an eighth of an iteration at 256²), and
/// there the activations leave room; at large sizes the activations take the memory and the
/// making is a smaller share. So: what remains of 704 MB after twice the activations, between
/// 64 MB and 512 MB (at 128² and 256² every form fits; at 512² about a fifth of them).
public enum WeightCachePolicy {
    /// NST_WEIGHT_CACHE (bytes, or with a K/M/G suffix) sets it outright — read once, not at every step.
    static let override: Int? = ProcessInfo.processInfo.environment["NST_WEIGHT_CACHE"].flatMap(MemoryPolicy.parseBytes)

    public static func budget(width: Int, height: Int, layersUpTo deepest: Int) -> Int {
        if let override { return override }
        let outputs = VGG19Architecture.shapes(height: height, width: width).prefix(deepest + 1)
        let activations = 4 * outputs.reduce(0) { $0 + $1.output.c * $1.output.h * $1.output.w }
        return min(512 << 20, max(64 << 20, (704 << 20) - 2 * activations))
    }

    /// The bytes every form a step uses would take: each conv layer up to `deepest`, forward and
    /// backward, in the algorithm `compute` runs it with (direct: 9·C·OC floats; Winograd: 36·C·OC).
    public static func formsNeeded(width: Int, height: Int, layersUpTo deepest: Int, compute: Compute) -> Int {
        var bytes = 0
        for layer in VGG19Architecture.convInputs(height: height, width: width) {
            guard let i = VGG19.index(of: layer.name), i <= deepest else { break }
            for backward in [false, true] {
                let (c, oc) = backward ? (layer.oc, layer.c) : (layer.c, layer.oc)
                let algorithm = compute.convAlgorithm(c: c, h: layer.h, w: layer.w, oc: oc, k: 3, backward: backward)
                bytes += 4 * layer.c * layer.oc * (algorithm == .winograd ? 36 : 9)
            }
        }
        return bytes
    }

    /// Fits the shared cache's budget to a working image, unless someone fixed it.
    static func apply(width: Int, height: Int, layersUpTo deepest: Int) {
        let cache = ConvWeightCache.shared
        guard !cache.budgetIsFixed else { return }
        let budget = self.budget(width: width, height: height, layersUpTo: deepest)
        if cache.budgetBytes != budget { cache.budgetBytes = budget }
    }
}
