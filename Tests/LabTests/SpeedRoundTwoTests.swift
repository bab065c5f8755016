import Foundation
import Kernels
import Testing

@testable import Lab

// Speed, round two: which algorithm a session's layers run and why, that the result does not
// depend on the thread count, that a step reuses the gradient "loss now" computed, the prepared
// weights' budget, and the memory estimate against the measured peak of a real process.

/// An any-size session on the fixture images at `rows` (128 keeps block4 at 16×16: Winograd).
private func anySizeSession(rows: Int = 128, threads: Int = 2) throws -> TransferSession {
    let session = TransferSession(vgg: try Shared.model(), compute: Compute(backend: .simd, threads: threads))
    try session.loadContent(Paths.fixtures + "/content.png")
    try session.loadStyle(Paths.fixtures + "/style.png")
    try TransferOptions.apply(
        try Arguments.parse(["--preset", "any-size", "--size", "\(rows)"], options: ["preset", "size"], flags: []), to: session)
    return session
}

@Suite("Speed, round two", .serialized)
struct SpeedRoundTwoTests {
    /// Under the Keras example's loss the forward stays direct (the reference's max-pool ties);
    /// under any-size it runs Winograd wherever that is faster, and `profile` says why.
    @Test func theForwardFollowsTheReferenceOnlyUnderTheKerasLoss() throws {
        let session = try anySizeSession()
        #expect(!session.compute.forwardAsReference)
        let (entries, _) = try session.profile()
        let forward = entries.filter { $0.phase == "conv+relu" }
        #expect(forward.first { $0.layer == "block1_conv1" }?.algorithm == "direct")  // 3 channels
        #expect(forward.first { $0.layer == "block1_conv1" }?.why == "3 channels")
        #expect(forward.first { $0.layer == "block3_conv1" }?.algorithm == "winograd")
        #expect(forward.first { $0.layer == "block5_conv1" }?.why.hasPrefix("thin") == true)  // 8×… at 128 rows
        try TransferOptions.apply(try Arguments.parse(["--preset", "keras"], options: ["preset"], flags: []), to: session)
        #expect(session.compute.forwardAsReference)
        let keras = try session.profile().entries.filter { $0.phase == "conv+relu" }
        #expect(keras.allSatisfy { $0.algorithm == "direct" })
        #expect(keras.first { $0.layer == "block3_conv1" }?.why == "ties as the reference")
        // The backward makes no decisions: Winograd where it pays, under either loss.
        let backward = try session.profile().entries.filter { $0.phase == "relu+conv backward" }
        #expect(backward.first { $0.layer == "block3_conv1" }?.algorithm == "winograd")
    }

    @Test func autoChoosesByShapeAndByWhetherTiesMatter() {
        var auto = Compute(backend: .simd, conv: .auto)
        auto.forwardAsReference = false
        #expect(auto.convAlgorithm(c: 64, h: 256, w: 256, oc: 64, k: 3, backward: false) == .winograd)
        #expect(auto.convAlgorithm(c: 3, h: 256, w: 256, oc: 64, k: 3, backward: false) == .direct)
        #expect(auto.convAlgorithm(c: 512, h: 16, w: 16, oc: 512, k: 3, backward: false) == .winograd)  // 16 tiles
        #expect(auto.convAlgorithm(c: 512, h: 12, w: 12, oc: 512, k: 3, backward: true) == .direct)  // 9 tiles
        auto.forwardAsReference = true
        #expect(auto.convAlgorithm(c: 64, h: 256, w: 256, oc: 64, k: 3, backward: false) == .direct)
        #expect(auto.convAlgorithm(c: 64, h: 256, w: 256, oc: 64, k: 3, backward: true) == .winograd)
    }

    /// One iteration with 1, 2 and 3 threads: the convolutions give the same bits whichever thread
    /// computes a piece; only the Gram matrices' partial sums (split by positions) are added in
    /// another order, so the images agree to float rounding, not bit for bit.
    @Test func anIterationDoesNotDependOnTheThreadCount() throws {
        var images: [[Float]] = []
        var losses: [Double] = []
        for threads in [1, 2, 3] {
            let session = try anySizeSession(threads: threads)
            let record = try session.step()
            images.append(session.combination!.data)
            losses.append(record.total)
        }
        for i in 1..<3 {
            #expect(relativeL2(images[i], images[0]) < 1e-6, "\(i + 1) threads vs 1")
            #expect(abs(losses[i] - losses[0]) <= 1e-5 * abs(losses[0]))
        }
        #expect(images[0] != (try anySizeSession().combination!.data))  // the step moved the image
    }

    /// "loss now" computes the gradient too, and the next step starts from it: the run is the one
    /// it would have been without asking, bit for bit, and that step evaluates nothing again.
    @Test func aStepStartsFromTheGradientLossNowComputed() throws {
        let asked = try anySizeSession(), plain = try anySizeSession()
        try asked.step()
        try plain.step()
        let now = try asked.lossNow()
        #expect(asked.state.atCurrent?.gradient != nil)
        // A profiler sees every forward pass: none in the step that starts from the carried gradient.
        let profiler = Profiler()
        asked.compute.profiler = profiler
        let second = try asked.step()
        #expect(!profiler.entries.contains { $0.phase == "conv+relu" })
        plain.compute.profiler = profiler
        try plain.step()
        #expect(profiler.entries.contains { $0.phase == "conv+relu" })  // the plain step did evaluate
        #expect(second.breakdown == now)
        #expect(asked.combination!.data == plain.combination!.data)
        #expect(second.seconds > 0)  // the carried evaluation's time is counted in the step
        // Anything that changes the loss forgets the carried gradient.
        _ = try asked.lossNow()
        try asked.configure { $0.loss.styleWeight *= 2 }
        #expect(asked.state.atCurrent == nil)
    }

    /// At 128² and 256² every form a step uses fits the budget; at 512² the activations take the
    /// memory and the budget shrinks to its floor; NST_WEIGHT_CACHE is read by the policy only.
    @Test func thePreparedWeightsBudgetFollowsTheImageSize() {
        let compute = Compute(backend: .simd, conv: .auto)
        let deepest = VGG19.index(of: "block5_conv2")!
        for size in [128, 256] {
            let budget = WeightCachePolicy.budget(width: size, height: size, layersUpTo: deepest)
            let needed = WeightCachePolicy.formsNeeded(width: size, height: size, layersUpTo: deepest, compute: compute)
            #expect(needed <= budget, "\(size)²: \(needed) bytes of forms, budget \(budget)")
        }
        let large = WeightCachePolicy.budget(width: 768, height: 512, layersUpTo: deepest)
        #expect(large == 64 << 20)
        #expect(
            WeightCachePolicy.budget(width: 512, height: 512, layersUpTo: deepest)
                < WeightCachePolicy.budget(width: 256, height: 256, layersUpTo: deepest))
    }

    /// The memory estimate against the peak resident memory of real `lab bench` processes at three
    /// sizes: within 25 % (the estimate includes the prepared weights the budget keeps).
    @Test func theMemoryEstimateIsWithinAQuarterOfTheMeasuredPeak() throws {
        let (status, output) = try runLab([
            "bench", "--sizes", "128,256,384", "--backends", "simd", "--repeats", "1", "--preset", "any-size", "--json",
        ])
        #expect(status == 0, "\(output)")
        let results = output.split(separator: "\n").compactMap { try? JSONDecoder().decode(IterationBenchmark.self, from: Data($0.utf8)) }
        #expect(results.map(\.size) == [128, 256, 384])
        for r in results {
            let error = abs(Double(r.estimatedBytes - r.peakResidentBytes)) / Double(r.peakResidentBytes)
            #expect(error <= 0.25, "\(r.size)²: estimated \(formatBytes(r.estimatedBytes)), measured \(formatBytes(r.peakResidentBytes))")
        }
    }

    /// The loss's forward keeps of the layers it does not read only a byte per value (ReLU) and per
    /// window (max pool): the gradient is the one from whole activations, bit for bit, under both
    /// poolings, both presets and a mask-free and a masked loss.
    @Test func compactActivationsGiveTheSameGradient() throws {
        for preset in ["keras", "any-size"] {
            for pooling in ["max", "average"] {
                let session = try anySizeSession(rows: 64)
                try TransferOptions.apply(
                    try Arguments.parse(["--preset", preset, "--pooling", pooling], options: ["preset", "pooling"], flags: []), to: session)
                var loss = session.loss
                let targets = try session.targets()
                let compact = try loss.evaluate(session.combination!, targets: targets, session.compute)
                loss.compactActivations = false
                let whole = try loss.evaluate(session.combination!, targets: targets, session.compute)
                #expect(compact.gradient!.data == whole.gradient!.data, "\(preset), \(pooling) pooling")
                #expect(compact.breakdown == whole.breakdown)
            }
        }
    }

    @Test func benchRefusesABadPresetOrCache() throws {
        let preset = try runLab(["bench", "--sizes", "64", "--preset", "fast"])
        #expect(preset.status != 0 && preset.output.contains("--preset is keras or any-size; got 'fast'"))
        let cache = try runLab(["bench", "--sizes", "64", "--weight-cache", "lots"])
        #expect(cache.status != 0 && cache.output.contains("--weight-cache"))
    }
}
