import Foundation
import Kernels
import Testing
@testable import Lab

enum Paths {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let fixtures = repo + "/Tests/LabTests/Fixtures"
    static let weights = repo + "/Weights/vgg19_notop.safetensors"

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

func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
    var num = 0.0, den = 0.0
    for i in 0..<min(a.count, b.count) {
        let d = Double(a[i]) - Double(b[i])
        num += d * d
        den += Double(b[i]) * Double(b[i])
    }
    return (num / max(den, .leastNormalMagnitude)).squareRoot()
}

/// max |a − b| / max |b|.
func maxRelative(_ a: [Float], _ b: [Float]) -> Double {
    var worst = 0.0, scale = 0.0
    for i in 0..<min(a.count, b.count) {
        worst = max(worst, abs(Double(a[i]) - Double(b[i])))
        scale = max(scale, abs(Double(b[i])))
    }
    return worst / max(scale, .leastNormalMagnitude)
}

func expectRelative(_ actual: Double, _ expected: Double, _ tolerance: Double, _ what: String,
                    sourceLocation: SourceLocation = #_sourceLocation) {
    let err = abs(actual - expected) / max(abs(expected), .leastNormalMagnitude)
    #expect(err <= tolerance, "\(what): \(actual) vs reference \(expected) (relative error \(err) > \(tolerance))",
            sourceLocation: sourceLocation)
}

/// Runs `body` and returns the error's description, or nil if nothing was thrown.
func errorMessage(_ body: () throws -> Any) -> String? {
    do { _ = try body(); return nil } catch { return "\(error)" }
}

/// Runs a program from the repository folder with the test weights; returns its status and its
/// output (stdout and stderr together).
func runProgram(_ executable: String, _ arguments: [String], input: String? = nil,
                environment: [String: String?] = [:], directory: String = Paths.repo) throws -> (status: Int32, output: String) {
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

/// Runs the `lab` binary (see runProgram).
func runLab(_ arguments: [String], input: String? = nil, environment: [String: String?] = [:],
            directory: String = Paths.repo) throws -> (status: Int32, output: String) {
    try runProgram(Paths.repo + "/.build/release/lab", arguments, input: input, environment: environment, directory: directory)
}
