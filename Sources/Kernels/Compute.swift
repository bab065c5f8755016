import Dispatch
import Foundation

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

/// How to compute: the backend and how many threads it may use.
public struct Compute: Sendable {
    public var backend: Backend
    public var threads: Int

    public init(backend: Backend = .simd, threads: Int = Compute.defaultThreads) {
        self.backend = backend
        self.threads = max(1, threads)
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
