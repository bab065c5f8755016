import Foundation
import Testing

@testable import Kernels

// Where the activations live (LargeBlocks): a block of the threshold or more has a mapping of its
// own (freeing it gives the memory back) eligible for 2 MB pages; zeroed blocks are zero.

@Suite("Large blocks")
struct LargeBlocksTests {
    /// The mappings of /proc/self/smaps that overlap [from, to), each with whether it may use huge pages.
    func mappings(overlapping from: Int, _ to: Int) throws -> [(start: Int, end: Int, hugePages: Bool)] {
        // Read to the end (the file reports no size, so a read by size sees nothing).
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        let smaps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        var found: [(start: Int, end: Int, hugePages: Bool)] = []
        var current: (start: Int, end: Int)? = nil
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), fields.count >= 5 {
                let ends = range.split(separator: "-").compactMap { Int($0, radix: 16) }
                current = ends.count == 2 && ends[0] < to && from < ends[1] ? (ends[0], ends[1]) : nil
            } else if let c = current, fields.first == "THPeligible:" {
                found.append((c.start, c.end, fields.last == "1"))
            }
        }
        return found
    }

    /// A large block is asked for 2 MB pages before its first touch where the system leaves them to
    /// madvise (Debian's default; where it gives them always or never, asking changes nothing, so
    /// there is nothing to test). That it is mapped on its own and given back when freed is glibc's
    /// doing once configured: measured, not tested — neighbouring mappings merge, and tests running
    /// beside this one map and unmap their own.
    @Test func aLargeBlockIsAskedForHugePages() throws {
        LargeBlocks.configure()
        let mode = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)) ?? ""
        guard mode.contains("[madvise]") else { return }
        for make in [uninitializedFloats, zeroFloats] {
            let count = 64 << 18  // 64 MB of floats
            let large = make(count)
            try withExtendedLifetime(large) {
                let address = large.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }
                let huge = try mappings(overlapping: address, address + count * 4).filter(\.hugePages)
                let covered = huge.reduce(0) { $0 + min($1.end, address + count * 4) - max($1.start, address) }
                #expect(covered >= count * 4 - (4 << 20), "all but the ends may use 2 MB pages")
            }
        }
    }

    /// Zeros where the heap held NaNs (blocks under the threshold, reused from the heap: a mapped
    /// block's fresh pages would be zero without the fill).
    @Test func zeroFloatsAreZeroEvenWhereTheHeapHadNaNs() {
        LargeBlocks.configure()
        for count in [1000, 1 << 18] {
            _ = leaveNaNsInTheHeap(count)
            let zeros = zeroFloats(count)
            #expect(zeros.count == count && zeros.allSatisfy { $0 == 0 && $0.sign == .plus })
        }
    }
}
