import Testing
@testable import Kernels

/// A fixed-seed generator so every failure reproduces.
typealias SeededRandom = SplitMix64

func randomArray<T: BinaryFloatingPoint>(_ n: Int, _ rng: inout SeededRandom, in range: ClosedRange<Double> = -1...1) -> [T]
where T.RawSignificand: FixedWidthInteger {
    (0..<n).map { _ in T(Double.random(in: range, using: &rng)) }
}

func randomTensor(_ shape: [Int], _ rng: inout SeededRandom, in range: ClosedRange<Double> = -1...1) -> Tensor {
    try! Tensor(shape: shape, data: randomArray(shape.reduce(1, *), &rng, in: range))
}

/// ‖a − b‖₂ / ‖b‖₂: a transposed or shifted result fails it, unlike mean/min/max.
func relativeL2<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> Double {
    precondition(a.count == b.count)
    var num = 0.0, den = 0.0
    for i in 0..<a.count {
        let d = Double(a[i]) - Double(b[i])
        num += d * d
        den += Double(b[i]) * Double(b[i])
    }
    return den == 0 ? num.squareRoot() : (num / den).squareRoot()
}

/// max |a − b| / max |b|.
func maxRelative<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> Double {
    precondition(a.count == b.count)
    var worst = 0.0, scale = 0.0
    for i in 0..<a.count {
        worst = max(worst, abs(Double(a[i]) - Double(b[i])))
        scale = max(scale, abs(Double(b[i])))
    }
    return scale == 0 ? worst : worst / scale
}

func expectClose<T: BinaryFloatingPoint>(_ actual: [T], _ expected: [T], relativeL2 tolerance: Double,
                                         _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): sizes differ", sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    let err = relativeL2(actual, expected)
    #expect(err <= tolerance, "\(what): relative L2 error \(err) > \(tolerance)", sourceLocation: sourceLocation)
}

/// Checks an analytic gradient against central differences of a scalar function, in Double.
/// `f` is evaluated at x ± h·e_i for every i (inputs here are small).
func expectGradientMatchesFiniteDifferences(
    _ x: [Double], step h: Double, tolerance: Double, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    f: ([Double]) -> Double, gradient: [Double]
) {
    var numeric = [Double](repeating: 0, count: x.count)
    var probe = x
    for i in 0..<x.count {
        probe[i] = x[i] + h
        let up = f(probe)
        probe[i] = x[i] - h
        let down = f(probe)
        probe[i] = x[i]
        numeric[i] = (up - down) / (2 * h)
    }
    let err = maxRelative(gradient, numeric)
    #expect(err <= tolerance, "\(what): gradient differs from finite differences by \(err) (max, relative to largest)",
            sourceLocation: sourceLocation)
    // A gradient of all zeros would pass a relative check against a tiny numeric one.
    #expect(numeric.contains { $0 != 0 }, "\(what): degenerate test, numeric gradient is zero", sourceLocation: sourceLocation)
}

/// Random values in ±[margin, 1], so no entry sits at ReLU's kink.
func awayFromZero(_ n: Int, _ rng: inout SeededRandom, margin: Double = 0.05) -> [Double] {
    (0..<n).map { _ in
        let v = Double.random(in: margin...1, using: &rng)
        return Bool.random(using: &rng) ? v : -v
    }
}

/// A permutation of evenly spaced values: every 2×2 window has a clear maximum (gaps ≥ 1/n).
func distinctValues(_ n: Int, _ rng: inout SeededRandom) -> [Double] {
    var v = (0..<n).map { Double($0) / Double(n) - 0.5 }
    v.shuffle(using: &rng)
    return v
}

let gradientTolerance = 1e-6   // Double-precision FD with h = 1e-5 on smooth pieces
