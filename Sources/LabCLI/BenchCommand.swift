import Foundation
import Kernels
import Lab

/// `lab bench`: the time of one transfer iteration at 128², 256², 512² on each backend. Each
/// measurement runs in a child process, so its peak memory is its own.
enum BenchCommand {
    static let usage = """
        usage: lab bench [--sizes 128,256,512] [--backends simd,blas] [--conv auto|direct|winograd] [--repeats 5]
                         [--preset keras|any-size] [--threads N] [--weight-cache MB] [--json] [--profile]
        One iteration = VGG19 forward to block5_conv2, the preset's loss (keras: the Keras example's, the default;
        any-size: the shell's), backward to the image, the preset's update (keras: SGD at lr 1e-3; any-size: Adam);
        targets computed once beforehand. --json prints one JSON object per line (for scripts).
        --profile prints, for each size and backend, one iteration broken down by layer and phase.
        --weight-cache MB: memory for the layers' packed and transformed weights, kept across iterations
        (default: fitted to the image size, as a session fits it: WeightCachePolicy).
        """

    static func main(_ words: [String]) -> Int32 {
        if words.contains("--help") {
            print(usage)
            return 0
        }
        do {
            let a = try Arguments.parse(
                words, options: ["sizes", "backends", "repeats", "threads", "single", "conv", "preset", "weight-cache"],
                flags: ["json", "profile"])
            let conv = try a.choice("conv", ConvAlgorithm.self) ?? .auto
            let preset = try TransferOptions.preset(named: a.value("preset") ?? "keras").name  // refused before any child runs
            let cacheMB = try a.value("weight-cache").map { try OptionValue.whole("weight-cache", $0, in: 0...65536) }
            if let cacheMB {
                ConvWeightCache.shared.budgetBytes = cacheMB << 20
                ConvWeightCache.shared.budgetIsFixed = true
            }
            let repeats = try a.int("repeats", default: 5, in: 1...1000)
            let threads = try a.int("threads", default: Compute.defaultThreads, in: 1...256)
            if let single = a.value("single") {  // the child: "SIZE:BACKEND"
                let parts = single.split(separator: ":")
                guard parts.count == 2, let size = Int(parts[0]), let backend = Backend(rawValue: String(parts[1])) else {
                    throw UsageError("--single SIZE:BACKEND")
                }
                let compute = Compute(backend: backend, threads: threads, conv: conv)
                try compute.checkAvailable()
                let result = try IterationBenchmark.run(
                    vgg: try VGG19(), size: size, compute: compute, repeats: repeats,
                    preset: preset, profile: a.has("profile"))
                print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
                return 0
            }
            let sizes = try (a.value("sizes") ?? "128,256,512").split(separator: ",").map {
                guard let s = Int($0), (32...2048).contains(s) else { throw UsageError("--sizes: bad size '\($0)'") }
                return s
            }
            let defaultBackends = OpenBLAS.isAvailable ? "simd,blas" : "simd"
            let backends = try (a.value("backends") ?? defaultBackends).split(separator: ",").map {
                guard let b = Backend(rawValue: String($0)) else { throw UsageError("--backends: unknown '\($0)'") }
                return b
            }
            let json = a.has("json")
            if !json {
                print(
                    "one transfer iteration, median of \(repeats); preset \(preset); \(threads) threads; convolutions \(conv); "
                        + "OpenBLAS: \(OpenBLAS.isAvailable ? OpenBLAS.coreName : "not installed")"
                )
                print("size   backend   iteration   forward   GFLOP/it   GFLOP/s   peak memory   estimated")
            }
            var failures: Int32 = 0
            for size in sizes {
                for backend in backends {
                    let child = Process()
                    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0] : "/proc/self/exe")
                    child.arguments =
                        [
                            "bench", "--single", "\(size):\(backend)", "--repeats", "\(repeats)", "--threads", "\(threads)",
                            "--conv", "\(conv)", "--preset", preset,
                        ] + (cacheMB.map { ["--weight-cache", "\($0)"] } ?? []) + (a.has("profile") ? ["--profile"] : [])
                    let pipe = Pipe()
                    child.standardOutput = pipe
                    try child.run()
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    child.waitUntilExit()
                    guard child.terminationStatus == 0,
                        let r = try? JSONDecoder().decode(IterationBenchmark.self, from: data)
                    else {
                        FileHandle.standardError.write(Data("lab bench: \(size)² on \(backend) failed\n".utf8))
                        failures += 1
                        continue
                    }
                    if json {
                        print(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
                    } else {
                        let label = pad("\(size)²", 7)
                        let name = pad(backend.rawValue, 10)
                        print(
                            "\(label)\(name)"
                                + String(
                                    format: "%8.3f s  %6.3f s  %9.1f  %8.1f   ", r.iterationSeconds,
                                    r.forwardSeconds, r.gflopPerIteration, r.gflops) + pad(formatBytes(r.peakResidentBytes), 14)
                                + formatBytes(r.estimatedBytes))
                        if let profile = r.profile { print(profile + "\n") }
                    }
                }
            }
            return failures == 0 ? 0 : 1
        } catch {
            FileHandle.standardError.write(Data("lab bench: \(error)\n".utf8))
            return 1
        }
    }
}
