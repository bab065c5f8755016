import Foundation

// Resizing float planes (the combination image, the optimiser's per-pixel state) when a run
// moves to a larger scale. Both filters sample at pixel centres: source = (dst + ½)·(in/out) − ½,
// clamped at the edges.
//   bilinear: the 2×2 neighbours, weights (1 − t, t)
//   bicubic:  the 4×4 neighbours, Keys's cubic with a = −0.5 (as PIL and PyTorch use):
//             w(t) = (a+2)|t|³ − (a+3)|t|² + 1 for |t| ≤ 1,  a|t|³ − 5a|t|² + 8a|t| − 4a for 1 < |t| < 2

public enum PlaneFilter: Sendable { case bilinear, bicubic }

@inline(__always)
func cubicWeight(_ t: Double) -> Double {
    let a = -0.5, x = abs(t)
    if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
    if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
    return 0
}

/// Each of `channels` planes (H, W) of `data` resized to (outH, outW).
public func resizePlanes(
    _ data: [Float], channels: Int, height h: Int, width w: Int,
    toHeight outH: Int, toWidth outW: Int, filter: PlaneFilter
) -> [Float] {
    precondition(data.count == channels * h * w && outH > 0 && outW > 0)
    // Separable: per output coordinate, the source indices and weights along one axis.
    func taps(_ n: Int, _ outN: Int) -> [[(Int, Double)]] {
        let scale = Double(n) / Double(outN)
        return (0..<outN).map { o in
            let s = (Double(o) + 0.5) * scale - 0.5
            let base = Int(floor(s)), t = s - floor(s)
            let raw: [(Int, Double)] =
                filter == .bilinear
                ? [(base, 1 - t), (base + 1, t)]
                : (-1...2).map { (base + $0, cubicWeight(Double($0) - t)) }
            return raw.map { (min(max($0.0, 0), n - 1), $0.1) }
        }
    }
    let rowTaps = taps(h, outH), colTaps = taps(w, outW)
    var out = [Float](repeating: 0, count: channels * outH * outW)
    var rows = [Double](repeating: 0, count: outH * w)
    for c in 0..<channels {
        let plane = c * h * w
        for (o, tap) in rowTaps.enumerated() {
            for x in 0..<w { rows[o * w + x] = tap.reduce(0) { $0 + $1.1 * Double(data[plane + $1.0 * w + x]) } }
        }
        for y in 0..<outH {
            for (o, tap) in colTaps.enumerated() {
                out[(c * outH + y) * outW + o] = Float(tap.reduce(0) { $0 + $1.1 * rows[y * w + $1.0] })
            }
        }
    }
    return out
}
