import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which implementation runs the heavy part (GEMM, and the convolutions built on it).
public enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Plain loops that read like the formula: the algorithmic reference.
    case reference
    /// Pure Swift: packed, cache-blocked GEMM with a SIMD micro-kernel, on all threads.
    case simd
    /// OpenBLAS `cblas_sgemm`, loaded at run time.
    case blas

    public var description: String { rawValue }
}

/// How a 3×3 convolution is computed on the fast backends.
public enum ConvAlgorithm: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The fastest valid choice per layer: Winograd where it pays, the forward direct when it must
    /// break max-pool ties as the reference does — see `Compute.convChoice`.
    case auto
    /// im2col + GEMM: 9 multiplies per output per channel pair.
    case direct
    /// Winograd F(4×4, 3×3) both ways: 36 multiplies per 4×4 output tile per channel pair (4× fewer).
    /// Fastest; exact ties in max pooling may then route the gradient differently from the reference.
    case winograd

    public var description: String { rawValue }
}

/// How to compute: the backend, how many threads it may use, and the convolution algorithm.
public struct Compute: Sendable, Equatable {
    public var backend: Backend
    public var threads: Int
    public var conv: ConvAlgorithm
    /// When set, the layers and loss terms record their times here (`profile`, `lab bench --profile`).
    public var profiler: Profiler?
    /// The forward convolutions compute as the reference does (direct), so that exact ties in max
    /// pooling fall where the reference's fall: on for the Keras example, whose trajectory the
    /// fixtures follow; off (Winograd forward where faster) where no reference trajectory exists.
    /// Set by the session from its loss; `auto` reads it.
    public var forwardAsReference = true

    public init(
        backend: Backend = .simd, threads: Int = Compute.defaultThreads, conv: ConvAlgorithm = .auto,
        profiler: Profiler? = nil
    ) {
        self.backend = backend
        self.threads = max(1, threads)
        self.conv = conv
        self.profiler = profiler
    }

    /// Equal settings: the backend, threads and algorithm a user chooses (a profiler is a measurement).
    public static func == (a: Compute, b: Compute) -> Bool {
        a.backend == b.backend && a.threads == b.threads && a.conv == b.conv
    }

    /// The algorithm a k×k convolution of x (C, H, W) into OC channels runs with (for a backward,
    /// C and OC as that convolution sees them: dOut's channels in, dX's out).
    public func convAlgorithm(c: Int, h: Int, w: Int, oc: Int, k: Int, backward: Bool) -> ConvAlgorithm {
        convChoice(c: c, h: h, w: w, oc: oc, k: k, backward: backward).algorithm
    }

    /// The algorithm, and why (what `profile` prints beside each layer).
    public func convChoice(c: Int, h: Int, w: Int, oc: Int, k: Int, backward: Bool) -> (algorithm: ConvAlgorithm, why: String) {
        if backend == .reference { return (.direct, "reference backend") }
        if k != 3 { return (.direct, "not 3×3") }
        switch conv {
        case .direct, .winograd: return (conv, "asked for")
        case .auto:
            // The forward pass decides where every ReLU and max pool sends the gradient, and exact
            // ties in a pooling window are common (flat image regions). Winograd's rounding differs
            // from tile position to tile position and breaks those ties at random: on the 400-row
            // fixture the image gradient moved by 12 % (relative L2) and the example's SGD left the
            // reference's trajectory. So where a reference trajectory is followed the forward stays
            // direct; the backward — which makes no decisions — runs Winograd (2.5e-6 from direct).
            if !backward && forwardAsReference { return (.direct, "ties as the reference") }
            // Measured per layer with kernels-bench at 128² and 256², the weights' forms kept as VGG19
            // keeps them (docs/MEASURED.md): with 3 channels on either side (block1_conv1 and its
            // backward) the transforms cost more than the multiplies they save; with fewer than 16
            // tiles of 4×4 (a map under 16×16: block5 at 128²) the 36 GEMMs are too thin to pay for
            // reading 4× the weights, and direct wins (170 against 86 GFLOP/s at 8×8); from 16×16
            // up Winograd wins (420 against 180 at 16×16, 550 against 195 at 32×32).
            if min(c, oc) < 16 { return (.direct, "\(min(c, oc)) channels") }
            let tiles = ((h + 3) / 4) * ((w + 3) / 4)
            if tiles < 16 { return (.direct, "thin: \(tiles) tiles") }
            return (.winograd, "fastest here")
        }
    }

    public static var defaultThreads: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Throws when the backend cannot run on this machine (BLAS not installed).
    public func checkAvailable() throws {
        if backend == .blas, case .failure(let error) = OpenBLAS.load() { throw error }
    }
}

/// Runs `body(i)` for i in 0..<count, spread over up to `threads` threads.
@inline(__always)
func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    if count <= 1 || threads <= 1 {
        for i in 0..<count { body(i) }
    } else {
        // Callers give each iteration its own slice of the output, so the captured
        // pointers are never written by two iterations; Sendable cannot express that.
        withoutActuallyEscaping(body) { escapable in
            let sendable = unsafeBitCast(escapable, to: (@Sendable (Int) -> Void).self)
            DispatchQueue.concurrentPerform(iterations: count, execute: sendable)
        }
    }
}

/// Splits 0..<n into at most `parts` contiguous ranges whose starts are multiples of `align`.
func splitRange(_ n: Int, parts: Int, align: Int) -> [Range<Int>] {
    let units = (n + align - 1) / align
    let p = max(1, min(parts, units))
    var ranges: [Range<Int>] = []
    var start = 0
    for i in 0..<p {
        let endUnits = units * (i + 1) / p
        let end = min(n, endUnits * align)
        if end > start { ranges.append(start..<end) }
        start = end
    }
    return ranges
}
