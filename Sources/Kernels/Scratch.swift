import Foundation

// Scratch memory for the kernels (Winograd's transformed weights and tiles, im2col columns,
// GEMM packing), reused from call to call. A buffer of more than a few MB freshly allocated is
// freshly mapped by the C library, and touching it costs one page fault per 4 KB: 8 ms for the
// 38 MB of transformed weights of a 512→512 layer, more than its Winograd GEMMs (measured).
// Buffers come back to the pool after each use; threads (and tests running side by side)
// each take their own.

final class ScratchPool: @unchecked Sendable {
    static let shared = ScratchPool()

    /// Idle buffers beyond this many bytes are released (largest first).
    let maxIdleBytes = 160 << 20

    private let lock = NSLock()
    private var idle: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []
    private var idleBytes = 0

    /// Runs body with at least `count` floats of uninitialised, 64-byte-aligned scratch.
    func withFloats<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let bytes = max(64, count * MemoryLayout<Float>.stride)
        let buffer = take(bytes)
        defer { give(buffer) }
        return try body(buffer.pointer.bindMemory(to: Float.self, capacity: buffer.bytes / 4))
    }

    private func take(_ bytes: Int) -> (pointer: UnsafeMutableRawPointer, bytes: Int) {
        lock.lock()
        // The smallest idle buffer that is large enough.
        var best: Int? = nil
        for (i, b) in idle.enumerated() where b.bytes >= bytes && (best == nil || b.bytes < idle[best!].bytes) {
            best = i
        }
        if let best {
            let buffer = idle.remove(at: best)
            idleBytes -= buffer.bytes
            lock.unlock()
            return buffer
        }
        lock.unlock()
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        LargeBlocks.advise(fresh, bytes: bytes)
        return (fresh, bytes)
    }

    private func give(_ buffer: (pointer: UnsafeMutableRawPointer, bytes: Int)) {
        lock.lock()
        idle.append(buffer)
        idleBytes += buffer.bytes
        var released: [UnsafeMutableRawPointer] = []
        while idleBytes > maxIdleBytes, let largest = idle.indices.max(by: { idle[$0].bytes < idle[$1].bytes }) {
            let b = idle.remove(at: largest)
            idleBytes -= b.bytes
            released.append(b.pointer)
        }
        lock.unlock()
        for p in released { p.deallocate() }
    }

    /// Releases every idle buffer (for measurements of memory, and tests).
    func releaseIdle() {
        lock.lock()
        let all = idle
        idle = []
        idleBytes = 0
        lock.unlock()
        for b in all { b.pointer.deallocate() }
    }
}
