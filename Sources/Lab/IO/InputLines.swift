import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Lines read from a pipe or a file as they arrive, as sqlite3 and Python read a script on their
/// standard input: each runs before the next is read, so `yes help | lab` prints at once, and a
/// Ctrl-C while waiting for input ends it (the wait wakes every 200 ms to look).
/// A byte-order mark before the first line is dropped, as is a line's trailing CR; a line longer
/// than `maxLine` bytes is cut one byte past it (so the shell refuses it whole) and the rest skipped.
public final class InputLines: Sequence, IteratorProtocol {
    public static let maxLine = 1 << 20
    private let fd: Int32
    private let interruption: Interruption
    private var buffer: [UInt8] = []
    private var atEnd = false
    private var first = true
    private var skippingLongLine = false
    /// Whether the input ended because of a Ctrl-C, not at its end.
    public private(set) var interrupted = false

    public init(fileDescriptor: Int32, interruption: Interruption) {
        fd = fileDescriptor
        self.interruption = interruption
    }

    public func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = Array(buffer[..<Swift.min(newline, InputLines.maxLine + 1)])
                buffer.removeSubrange(...newline)
                if skippingLongLine {
                    skippingLongLine = false
                    continue
                }
                return decode(line)
            }
            if buffer.count > InputLines.maxLine && !skippingLongLine {
                // One byte over the limit: the shell refuses it whole (Shell.execute).
                let line = Array(buffer.prefix(InputLines.maxLine + 1))
                buffer.removeAll()
                skippingLongLine = true
                return decode(line)
            }
            if skippingLongLine { buffer.removeAll() }
            if atEnd {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return decode(buffer)
            }
            if interruption.isSet {
                interrupted = true
                return nil
            }
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&ready, 1, 200) <= 0 { continue }  // nothing yet, or a signal: look at the flag again
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 {
                atEnd = true
                continue
            }
            buffer += chunk[..<n]
        }
    }

    private func decode(_ bytes: [UInt8]) -> String {
        var bytes = bytes[...]
        if first {
            first = false
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        }
        if bytes.last == 13 { bytes = bytes.dropLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
