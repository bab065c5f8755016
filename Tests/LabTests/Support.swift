import Foundation
import Kernels
import Testing

@testable import Lab

enum Paths {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let fixtures = repo + "/Tests/LabTests/Fixtures"
    static let weights = repo + "/Weights/vgg19_notop.safetensors"
    /// The release binaries the end-to-end tests run (`./test` builds them before the suite).
    static let lab = repo + "/.build/release/lab"
    static let kernelsBench = repo + "/.build/release/kernels-bench"

    static func temporaryDirectory() -> String {
        let dir = NSTemporaryDirectory() + "nstlab-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// The real VGG19, loaded once for all tests (80 MB). `./test` fetches it first.
enum Shared {
    static let vgg: Result<VGG19, Error> = Result { try VGG19(weightsPath: Paths.weights) }
    static let reference: Result<SafeTensorsFile, Error> = Result {
        try SafeTensorsFile(path: Paths.fixtures + "/reference.safetensors")
    }

    static func model() throws -> VGG19 { try vgg.get() }
    static func fixture() throws -> SafeTensorsFile { try reference.get() }
}

extension SafeTensorsFile {
    func tensor(_ name: String) throws -> Tensor {
        let (shape, values) = try doubles(name)
        return try Tensor(shape: shape, data: values.map(Float.init))
    }
    func scalars(_ name: String) throws -> [Double] { try doubles(name).values }
}

let allBackends: [Backend] = OpenBLAS.isAvailable ? Backend.allCases : [.reference, .simd]

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

func expectRelative(
    _ actual: Double, _ expected: Double, _ tolerance: Double, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let err = abs(actual - expected) / max(abs(expected), .leastNormalMagnitude)
    #expect(
        err <= tolerance, "\(what): \(actual) vs reference \(expected) (relative error \(err) > \(tolerance))",
        sourceLocation: sourceLocation)
}

/// Runs `body` and returns the error's description, or nil if nothing was thrown.
func errorMessage(_ body: () throws -> Any) -> String? {
    do {
        _ = try body()
        return nil
    } catch { return "\(error)" }
}

/// Runs a program from the repository folder with the test weights; returns its status and its
/// output (stdout and stderr together).
func runProgram(
    _ executable: String, _ arguments: [String], input: String? = nil,
    environment: [String: String?] = [:], directory: String = Paths.repo
) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.currentDirectoryURL = URL(fileURLWithPath: directory)
    var env = ProcessInfo.processInfo.environment
    env["NST_WEIGHTS"] = Paths.weights
    for (key, value) in environment { env[key] = value }
    p.environment = env
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    let inPipe = Pipe()
    if input != nil { p.standardInput = inPipe }
    try p.run()
    if let input {
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try inPipe.fileHandleForWriting.close()
    }
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

/// Fails the calling test, saying what to do, when a release binary it runs has not been built:
/// a test of the binary must fail without it, never skip silently.
func requireBuilt(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try #require(
        FileManager.default.isExecutableFile(atPath: path),
        "\(path) is missing: build it first (swift build -c release, as ./test does)",
        sourceLocation: sourceLocation)
}

/// Runs the `lab` binary (see runProgram); fails the calling test if it is not built.
func runLab(
    _ arguments: [String], input: String? = nil, environment: [String: String?] = [:],
    directory: String = Paths.repo, sourceLocation: SourceLocation = #_sourceLocation
) throws -> (status: Int32, output: String) {
    try requireBuilt(Paths.lab, sourceLocation: sourceLocation)
    return try runProgram(Paths.lab, arguments, input: input, environment: environment, directory: directory)
}

/// The Lab tests' tolerances, named (docs: Tests/STYLE "Tolerances are named constants"). Each
/// says what it bounds and, where the test says so, where the figure comes from. The values are
/// those of the literals they replaced. ReferenceTests' activation/loss/gradient tolerances and
/// TransferTests' trajectoryTolerance were named already and stay beside their tests.
enum Tolerance {
    // MARK: float64 style statistics against NumPy/SciPy (Tests/Reference/make_style_statistics_fixtures.py)

    /// Gaussian statistics (mean, covariance), absolute: float64 sums against NumPy's.
    static let statisticsFloat64 = 1e-12
    /// Mean–std loss, relative (absolute where it is zero, at the "identical" case).
    static let meanStdLossFloat64 = 1e-12
    /// Wasserstein-2 loss, relative (absolute where it is zero): traces of matrix square roots.
    static let wassersteinLossFloat64 = 1e-10
    /// Mean–std gradient, absolute, times max(1, the largest |entry| of the reference).
    static let meanStdGradientFloat64 = 1e-10
    /// Wasserstein-2 gradient, absolute, times max(1e-3, the largest |entry| of the reference).
    static let wassersteinGradientFloat64 = 1e-8
    /// Central differences of the float64 losses (h = 1e-6) against their gradient, absolute,
    /// times max(1, |numeric|).
    static let finiteDifferencesFloat64 = 1e-6
    /// Newton–Schulz in float64, iterated to 1e-14: root·root against A and root·inverse root
    /// against I, absolute.
    static let newtonSchulzFloat64 = 1e-12

    // MARK: the float32 fast path against NumPy

    /// Wasserstein-2 loss in float32, relative; at the "identical" case, absolute over the target's
    /// mean square. Newton–Schulz stops at ‖I − ZY‖_F < 3e-3 and the loss is a difference of
    /// traces: measured 1e-4 … 4.5e-4.
    static let wassersteinLossFloat32 = 1e-3
    /// Wasserstein-2 gradient in float32, absolute over the reference's largest |entry|.
    static let wassersteinGradientFloat32 = 1e-3
    /// Mean–std loss and gradient in float32, absolute, times max(1, the reference's largest).
    static let meanStdFloat32 = 1e-5

    // MARK: the session's losses, masks and images

    /// Each style term at the style image itself, relative to the style loss at the content image.
    static let styleLossAtStyleImage = 1e-4
    /// The session's float32 gradient (new losses, a mask) against float64 central differences
    /// with step 1e-2, relative error per pixel.
    static let sessionGradientCheck = 2e-3
    /// A mask of all ones against no mask: the total loss, relative.
    static let allOnesMaskLoss = 1e-6
    /// A mask of all ones against no mask: the gradient, relative L2.
    static let allOnesMaskGradient = 1e-5
    /// The style gradient's energy below a top-half mask (two rows of margin), relative to its
    /// energy above it.
    static let styleEnergyOutsideTheMask = 1e-6
    /// Colour statistics after matching against the content's, absolute over the largest |entry|
    /// of the content's mean (or covariance).
    static let colorMatching = 1e-3
    /// The shown (EMA) image against the bias-corrected average computed here in Double, and
    /// after a rewind against the kept iterate, absolute (float32 image values).
    static let imageAverage = 1e-3
    /// resizePlanes of a constant plane: every value against the constant, absolute (float32).
    static let resizeConstant: Float = 1e-5
    /// resizePlanes: a ramp enlarged ×2 bilinearly steps by exactly 0.5 inside, absolute (float32).
    static let resizeRampStep: Float = 1e-6

    // MARK: the transfer session

    /// SGD's continuous decay: lr(50) against 100 · 0.96^0.5, absolute.
    static let learningRateDecay = 1e-12
    /// SGD lr 100 at 400 rows, relative per step. The trajectory is chaotic: float32 and float64
    /// part ways step by step (measured 3e-8, 1e-5, 1e-4, 1.5e-4, 3e-5, 5e-4, 3.5e-3, 1.7e-3,
    /// 6e-4, 1.2e-2; docs/MEASURED.md), so the bound widens with the step.
    static let sgdTrajectoryAt400Rows = [1e-6, 1e-4, 1e-3, 1e-3, 1e-3, 1e-3, 3e-2, 3e-2, 3e-2, 3e-2]
    /// The content, style and tv gradients summed against the total gradient, relative L2.
    static let termGradientsSum = 1e-5
    /// A lower bound: one style layer's gradient differs from the total by more than this
    /// (relative L2), so it is a part of the gradient, not all of it.
    static let oneTermIsNotTheTotal = 1e-3
    /// Gram targets of a style blended with itself against the style alone, relative L2.
    static let selfBlendedGrams = 1e-6
    /// YIQ chroma I (0–255 scale) of the result with original colours against the content's,
    /// absolute: rounding to 8 bits.
    static let chromaRounding = 2.0

    // MARK: the reference, images, the shell's measured values

    /// Each layer's share of exact zeros against PyTorch's, absolute.
    static let zeroShare = 1e-3
    /// JPEG pixels against PIL's, in levels of 0–255: libjpeg-turbo in both, but PIL's DCT
    /// setting may differ from the library default by one level (PNG is exact).
    static let jpegLevels = 2
    /// The style layers' shares of the loss summed against the style share, absolute.
    static let shareSum = 1e-9
    /// diff.rms of an image with itself over diff.rms of content and style: the ratio is below
    /// this (a shell `expect value`, so it goes into the command line as text).
    static let selfDiffRatio = 0.01
}
