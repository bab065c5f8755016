import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Every file NST Lab writes (pictures, results, sessions, notebooks) goes through here, so no
// write can lose the file it replaces: the new content goes to a temporary file beside it and is
// renamed over the old one only when complete. On a full disk or a crash the old file is intact.

public struct FileError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum AtomicFile {
    /// Writes `path` by calling body with a temporary path in the same folder, then renaming it
    /// over `path`. On any failure the temporary file is removed and `path` is untouched.
    public static func write(_ path: String, _ body: (String) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        try createFolder(url.deletingLastPathComponent().path)
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            if isFolder.boolValue { throw FileError("\(path): is a folder") }
            // A device or a pipe (/dev/full, a FIFO), or a link to one, is written in place: a rename
            // would replace it. (stat follows links.)
            var info = stat()
            if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
                if (info.st_mode & S_IFMT) == S_IFIFO {
                    // Opening a pipe to write waits for a reader: look first, and refuse if there is none.
                    // The look stays open while body writes, so the reader does not see an end first.
                    let fd = open(path, O_WRONLY | O_NONBLOCK)
                    guard fd >= 0 else { throw FileError("\(path): a pipe with nothing reading from it") }
                    // A reader that leaves part-way is a failed write (EPIPE), not a signal that ends
                    // the shell and its session.
                    let previous = signal(SIGPIPE, SIG_IGN)
                    defer {
                        close(fd)
                        signal(SIGPIPE, previous)
                    }
                    do { try body(path) } catch {
                        if errno == EPIPE { throw FileError("\(path): the pipe's reader left before the end") }
                        throw error
                    }
                    return
                }
                try body(path)
                return
            }
        }
        // Through a symbolic link, the file it points to is the one replaced.
        let staged = try stage(path, body)
        do { try staged.commit() } catch {
            staged.discard()
            throw error
        }
    }

    /// A file written beside its target under a hidden name, not yet in its place.
    public struct Staged {
        let temporary: String, target: String, path: String
        /// Renames it over its target (a rename: it needs no space, and is all or nothing).
        public func commit() throws {
            guard rename(temporary, target) == 0 else { throw FileError("\(path): could not write (\(errnoText()))") }
            try? sync(URL(fileURLWithPath: target).deletingLastPathComponent().path, path: path)
        }
        public func discard() { unlink(temporary) }

        /// Commits several in order; if one fails, the rest are discarded (not left as hidden files).
        public static func commitAll(_ files: [Staged]) throws {
            for (i, file) in files.enumerated() {
                do { try file.commit() } catch {
                    files[i...].forEach { $0.discard() }
                    throw error
                }
            }
        }
    }

    /// Writes the new content of `path` beside it, synced, without replacing anything yet: several
    /// files (a notebook and its pictures) are staged first and committed only when all are written.
    /// An error names `path`, never the hidden temporary file.
    public static func stage(_ path: String, _ body: (String) throws -> Void) throws -> Staged {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw FileError("\(path): is a folder")
        }
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            throw FileError("\(path): not a regular file (a device or a pipe); choose a file")
        }
        try createFolder(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        // Through a symbolic link, the file it points to is the one replaced.
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let temporary = temporaryName(beside: target)
        do {
            try body(temporary)
            // On disk before it replaces anything: a crash after the rename leaves the new file whole.
            try sync(temporary, path: path)
        } catch {
            unlink(temporary)
            let text = "\(error)"
            if text.contains(temporary) { throw FileError(text.replacingOccurrences(of: temporary, with: path)) }
            throw error
        }
        return Staged(temporary: temporary, target: target, path: path)
    }

    public static func stage(_ data: Data, to path: String) throws -> Staged {
        try stage(path) { destination in try writeBytes(data, to: destination, naming: path) }
    }

    public static func write(_ data: Data, to path: String) throws {
        try write(path) { destination in try writeBytes(data, to: destination, naming: path) }
    }

    /// Writes bytes with open(2) and write(2): a new file (a temporary name), or in place a device
    /// or a pipe `write(_:_:)` has checked has a reader (Foundation's createFile would replace either
    /// with a file: it writes one beside and renames it over).
    static func writeBytes(_ data: Data, to destination: String, naming path: String) throws {
        let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError("\(path): could not write (\(errnoText()))") }
        defer { close(fd) }
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw FileError("\(path): could not write (\(n < 0 ? errnoText() : "nothing written"))") }
                offset += n
            }
        }
    }

    /// Replaces the folder `path` with one built by body (given a temporary folder beside it): the
    /// two are swapped in one step (renameat2 RENAME_EXCHANGE), so a crash leaves either the old
    /// folder or the new one, never a mixture. An existing folder is replaced only if `replaceable`
    /// says it may be (a saved session, not someone's photos).
    public static func replaceFolder(_ path: String, replaceable: (String) -> Bool, _ body: (String) throws -> Void) throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        let exists = fm.fileExists(atPath: url.path, isDirectory: &isFolder)
        if exists && !isFolder.boolValue { throw FileError("\(path): is a file, not a folder") }
        if exists && !replaceable(url.path) {
            throw FileError("\(path): holds files that are not part of a saved session; choose another folder")
        }
        try createFolder(url.deletingLastPathComponent().path)
        let temporary = temporaryName(beside: url.path)
        do {
            try createFolder(temporary)
            try body(temporary)
            try sync(temporary, path: path)  // its files were synced as they were written
            if exists {
                if exchange(temporary, url.path) {
                    try? fm.removeItem(atPath: temporary)  // now the old folder
                } else {
                    // No renameat2 here: move the old one aside first (a crash in between leaves it there).
                    let old = temporaryName(beside: url.path)
                    guard rename(url.path, old) == 0 else { throw FileError("\(path): could not replace (\(errnoText()))") }
                    guard rename(temporary, url.path) == 0 else {
                        rename(old, url.path)
                        throw FileError("\(path): could not replace (\(errnoText()))")
                    }
                    try? fm.removeItem(atPath: old)
                }
            } else {
                guard rename(temporary, url.path) == 0 else { throw FileError("\(path): could not write (\(errnoText()))") }
            }
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw error
        }
    }

    /// Creates a folder and its parents, with a one-line error that says what is wrong.
    public static func createFolder(_ path: String) throws {
        if path.isEmpty { return }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            if isFolder.boolValue { return }
            throw FileError("\(path): is a file, not a folder")
        }
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw FileError("\(path): cannot create the folder (\(describe(error)))")
        }
    }

    /// A Foundation or POSIX error in a few words ("permission denied", "no space left on device").
    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code))).lowercased()
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))).lowercased() }
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileWriteNoPermission, .fileReadNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on device"
        case .fileWriteVolumeReadOnly: return "read-only file system"
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or folder"
        case .fileWriteFileExists: return "already exists"
        default: return ns.localizedDescription.replacingOccurrences(of: "\n", with: " ")
        }
    }

    /// fsync(2) of a file or a folder (a folder's entries: the renames in it).
    static func sync(_ item: String, path: String) throws {
        let fd = open(item, O_RDONLY)
        guard fd >= 0 else { throw FileError("\(path): could not write (\(errnoText()))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileError("\(path): could not write (\(errnoText()))") }
    }

    static func errnoText() -> String { String(cString: strerror(errno)).lowercased() }

    static func temporaryName(beside path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
    }

    /// renameat2(…, RENAME_EXCHANGE), looked up at run time (glibc ≥ 2.28 declares it only with _GNU_SOURCE).
    static func exchange(_ a: String, _ b: String) -> Bool {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let atCurrentFolder: Int32 = -100, renameExchange: UInt32 = 2  // AT_FDCWD, RENAME_EXCHANGE
        return renameat2(atCurrentFolder, a, atCurrentFolder, b, renameExchange) == 0
    }
}
