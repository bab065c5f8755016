import Foundation
import Kernels

/// One benchmark measurement: a transfer iteration (forward, backward, update; targets cached,
/// the Keras example's loss and SGD) on a size × size image.
public struct IterationBenchmark: Codable, Sendable {
    public var size: Int
    public var backend: String
    public var threads: Int
    public var iterationSeconds: Double     // median
    public var forwardSeconds: Double       // median, VGG19 forward to the deepest loss layer
    public var gflopPerIteration: Double    // conv FLOPs of forward + backward-data
    public var peakResidentBytes: Int

    public var gflops: Double { gflopPerIteration / iterationSeconds }

    /// Conv FLOPs (2·C·OC·9·H·W per layer) up to `deepest`, forward and backward-data.
    public static func convGFLOP(size: Int, upTo deepest: String) -> Double {
        var total = 0.0
        for layer in VGG19Architecture.convInputs(height: size, width: size) {
            total += 2 * Double(layer.c * layer.oc * 9 * layer.h * layer.w)
            if layer.name == deepest { break }
        }
        return 2 * total / 1e9
    }

    public static func run(vgg: VGG19, size: Int, compute: Compute, repeats: Int) throws -> IterationBenchmark {
        var rng = SplitMix64(seed: 42)
        func randomImage() -> RGBImage {
            RGBImage(width: size, height: size, pixels: (0..<(size * size * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
        let session = TransferSession(vgg: vgg, compute: compute, snapshotBudgetBytes: 0)
        try session.configure { $0.rows = size }
        try session.setContent(randomImage(), name: "random")
        session.setStyles([StyleSource(path: "random", image: randomImage(), weight: 1)])
        session.setOptimizer(SGD(learningRate: 1e-3))   // small: stays finite on random images
        _ = try session.targets()
        try session.step()                             // warm-up
        func median(_ body: () throws -> Void) rethrows -> Double {
            var times: [Double] = []
            for _ in 0..<repeats {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            return times.sorted()[times.count / 2]
        }
        let iteration = try median { try session.step() }
        let layers = session.configuration.loss.layers
        let combination = session.combination!
        let forward = try median { _ = try vgg.forward(combination, upTo: layers, compute) }
        let deepest = layers.max { VGG19.index(of: $0)! < VGG19.index(of: $1)! }!
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return IterationBenchmark(size: size, backend: compute.backend.rawValue, threads: compute.threads,
                                  iterationSeconds: iteration, forwardSeconds: forward,
                                  gflopPerIteration: convGFLOP(size: size, upTo: deepest),
                                  peakResidentBytes: usage.ru_maxrss * 1024)
    }
}
