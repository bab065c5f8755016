import Kernels

// What `features` and `gram` print about a layer, as values: commands only format them.
//
//   mean, std over all C·H·W values; the share of exact zeros (what the ReLU switched off);
//   each channel's mean over its H·W positions, and the channel with the largest;
//   a Gram matrix's correlation-like entries G[a][b] / √(G[a][a] G[b][b]) for a < b.

public struct FeatureStatistics: Sendable {
    public var mean: Double, std: Double, min: Double, max: Double
    /// The share of values that are exactly 0.
    public var zeros: Double
    public var channelMeans: [Double]
    public var topChannel: Int { channelMeans.indices.max { channelMeans[$0] < channelMeans[$1] } ?? 0 }

    /// For a (C, H, W) layer output; sums in Double.
    public init(_ t: Tensor) {
        let (c, h, w) = t.chw
        let n = Double(t.count)
        mean = t.data.reduce(0.0) { $0 + Double($1) } / n
        let m = mean
        std = (t.data.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / n).squareRoot()
        min = Double(t.data.min() ?? 0)
        max = Double(t.data.max() ?? 0)
        zeros = Double(t.data.filter { $0 == 0 }.count) / n
        channelMeans = (0..<c).map { k in t.data[(k * h * w)..<((k + 1) * h * w)].reduce(0.0) { $0 + Double($1) } / Double(h * w) }
    }
}

/// Pairs of channels (a < b) by |G[a][b] / √(G[a][a] G[b][b])|, largest first (pairs with a zero
/// diagonal entry are left out).
public func gramCorrelations(_ g: Tensor) -> [(a: Int, b: Int, r: Double)] {
    let c = g.shape[0]
    var pairs: [(a: Int, b: Int, r: Double)] = []
    for i in 0..<c {
        for j in (i + 1)..<Swift.max(i + 1, c) {
            let d = Double(g.data[i * c + i]) * Double(g.data[j * c + j])
            if d > 0 { pairs.append((i, j, Double(g.data[i * c + j]) / d.squareRoot())) }
        }
    }
    return pairs.sorted { abs($0.r) > abs($1.r) }
}

/// ‖t‖₂ over all entries, summed in Double.
public func frobeniusNorm(_ t: Tensor) -> Double { t.data.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
