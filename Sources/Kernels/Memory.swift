import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Where the activations live. An iteration allocates the same large tensors again and again, at
// sizes that change with the image (coarse to fine goes through five to seven of them).
//
// - In the heap, freed blocks are reused but never returned: blocks of one scale left between blocks
//   of the next fragment it, and the heap's footprint grew to 1.3–1.7× the memory actually in use
//   (measured, a coarse-to-fine run to 1024 rows: 1.67 GB in use at most, 2.1–2.9 GB resident).
// - Mapped on their own, blocks go back to the system when freed, so what is resident is what is in
//   use — but a fresh mapping costs a page fault per 4 KB on first touch (20 % of an iteration at
//   512², measured when everything was mapped).
//
// So blocks of `LargeBlocks.threshold` and more get their own mapping and are asked for 2 MB pages
// before first touch (one fault per 2 MB); smaller ones stay in the heap, reused, never trimmed.

public enum LargeBlocks {
    /// Bytes from which a block is mapped on its own (glibc allows at most 32 MB here).
    public static let threshold = 16 << 20

    /// Sets the C library's allocator up as above. Call once, at start-up, before any large block.
    public static func configure() {
        #if canImport(Glibc)
            // glibc's mallopt, which Swift's Glibc module does not export (it lives in <malloc.h>).
            typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
            let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
            _ = mallopt(mmapThreshold, Int32(threshold))  // fixed: glibc's own threshold drifts with what is freed
            _ = mallopt(trimThreshold, Int32.max)  // the heap keeps what it has, for reuse
        #endif
    }

    /// Asks for 2 MB pages for the whole 2 MB pages inside a block not yet touched (when the system
    /// leaves huge pages to madvise, as Debian does). Small blocks are left alone.
    static func advise(_ start: UnsafeMutableRawPointer, bytes: Int) {
        #if canImport(Glibc)
            guard bytes >= threshold else { return }
            let huge = 2 << 20
            let from = (Int(bitPattern: start) + huge - 1) / huge * huge
            let to = (Int(bitPattern: start) + bytes) / huge * huge
            guard to > from else { return }
            _ = madvise(UnsafeMutableRawPointer(bitPattern: from), to - from, 14)  // MADV_HUGEPAGE
        #endif
    }
}

/// `count` floats, uninitialised, for a kernel that writes every one (large blocks as above).
@inline(__always)
func uninitializedFloats(_ count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, n in
        if let base = buffer.baseAddress { LargeBlocks.advise(base, bytes: count * MemoryLayout<Float>.stride) }
        n = count
    }
}

/// `count` zeros (large blocks as above).
func zeroFloats(_ count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, n in
        if let base = buffer.baseAddress {
            LargeBlocks.advise(base, bytes: count * MemoryLayout<Float>.stride)
            base.initialize(repeating: 0, count: count)
        }
        n = count
    }
}
