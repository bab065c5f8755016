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

// MARK: - Comparing arrays
// This block is the same, word for word, in Tests/KernelsTests/Support.swift and
// Tests/LabTests/Support.swift (two test targets cannot share a file): keep the two identical.

/// Whether `a` and `b` can be compared at all: the same length, and not empty. If not, an issue
/// is recorded at the caller's line and the comparison returns NaN, which fails `<`, `<=`, `>` and
/// `>=` alike — a result of the wrong length, or none at all, can neither pass nor crash the run.
func checkComparable<T>(_ a: [T], _ b: [T], _ what: String, _ sourceLocation: SourceLocation) -> Bool {
    if a.count != b.count {
        Issue.record("\(what): the arrays differ in length (\(a.count) vs \(b.count))", sourceLocation: sourceLocation)
        return false
    }
    if a.isEmpty {
        Issue.record("\(what): both arrays are empty, nothing was compared", sourceLocation: sourceLocation)
        return false
    }
    return true
}

/// ‖a − b‖₂ / ‖b‖₂ (‖a − b‖₂ when b is all zeros): a transposed or shifted result fails it, unlike
/// mean/min/max. NaN, with an issue recorded, when the lengths differ or the arrays are empty.
func relativeL2<T: BinaryFloatingPoint>(_ a: [T], _ b: [T], sourceLocation: SourceLocation = #_sourceLocation) -> Double {
    guard checkComparable(a, b, "relativeL2", sourceLocation) else { return .nan }
    var num = 0.0, den = 0.0
    for i in 0..<a.count {
        let d = Double(a[i]) - Double(b[i])
        num += d * d
        den += Double(b[i]) * Double(b[i])
    }
    return den == 0 ? num.squareRoot() : (num / den).squareRoot()
}

/// max |a − b| / max |b| (max |a − b| when b is all zeros). NaN, with an issue recorded, when the
/// lengths differ or the arrays are empty.
func maxRelative<T: BinaryFloatingPoint>(_ a: [T], _ b: [T], sourceLocation: SourceLocation = #_sourceLocation) -> Double {
    guard checkComparable(a, b, "maxRelative", sourceLocation) else { return .nan }
    var worst = 0.0, scale = 0.0
    for i in 0..<a.count {
        worst = max(worst, abs(Double(a[i]) - Double(b[i])))
        scale = max(scale, abs(Double(b[i])))
    }
    return scale == 0 ? worst : worst / scale
}

/// max |a − b|. NaN, with an issue recorded, when the lengths differ or the arrays are empty.
func maxAbsDifference(_ a: [Double], _ b: [Double], sourceLocation: SourceLocation = #_sourceLocation) -> Double {
    guard checkComparable(a, b, "maxAbsDifference", sourceLocation) else { return .nan }
    var worst = 0.0
    for i in 0..<a.count { worst = max(worst, abs(a[i] - b[i])) }
    return worst
}

func expectClose<T: BinaryFloatingPoint>(
    _ actual: [T], _ expected: [T], relativeL2 tolerance: Double,
    _ what: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(what): sizes differ", sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    let err = relativeL2(actual, expected, sourceLocation: sourceLocation)
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
    let err = maxRelative(gradient, numeric, sourceLocation: sourceLocation)
    #expect(
        err <= tolerance, "\(what): gradient differs from finite differences by \(err) (max, relative to largest)",
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

let gradientTolerance = 1e-6  // Double-precision FD with h = 1e-5 on smooth pieces
