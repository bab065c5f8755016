import CImageIO
import Foundation

/// An 8-bit RGB picture, row-major, 3 bytes a pixel: what PNG and JPEG files decode to,
/// and what a deprocessed tensor becomes again.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3, "RGBImage: bad size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// (r, g, b) at column x, row y.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

public enum ImageError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case empty(String)
    case unsupported(String, String)
    case corrupt(String, String)
    case tooLarge(String, width: Int, height: Int, bytesNeeded: Int, bytesAllowed: Int)
    case writeFailed(String, String)

    public var description: String {
        switch self {
        case .notFound(let p): return "\(p): no such file"
        case .empty(let p): return "\(p): the file is empty"
        case .unsupported(let p, let why): return "\(p): \(why)"
        case .corrupt(let p, let why): return "\(p): not a readable image (\(why))"
        case .tooLarge(let p, let w, let h, let need, let allowed):
            return
                "\(p): \(w)×\(h) pixels would need \(formatBytes(need)) to load, more than the \(formatBytes(allowed)) allowed "
                + "(half of what a step may use; NST_MEMORY_LIMIT sets that); scale it down first"
        case .writeFailed(let p, let why): return "\(p): could not write (\(why))"
        }
    }
}

extension RGBImage {
    /// The most a decoded image may take (MemoryPolicy: one policy for images and steps).
    public static var maxLoadBytes: Int { MemoryPolicy.imageLoadLimit }
    static let bytesPerPixelToLoad = 3 + 12

    /// Loads a PNG or JPEG file (recognised by its first bytes, not its name).
    public static func load(_ path: String, maxBytes: Int = RGBImage.maxLoadBytes) throws -> RGBImage {
        // A relative path not found from the working folder is looked up in the project (lessons
        // name images/chelsea.png and work from any folder).
        let path = path.hasPrefix("/") || FileManager.default.fileExists(atPath: path) ? path : ProjectFiles.locate(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw ImageError.notFound(path) }
        guard !isDirectory.boolValue else { throw ImageError.unsupported(path, "is a directory, not an image") }
        // A FIFO or a device would block open() until something writes to it: only regular files.
        var fileStatus = stat()
        guard stat(path, &fileStatus) == 0, fileStatus.st_mode & S_IFMT == S_IFREG else {
            throw ImageError.unsupported(path, "is not a regular file (a pipe or a device?), not an image")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImageError.unsupported(path, "cannot be read (permissions?)")
        }
        let magic = (try? handle.read(upToCount: 8)) ?? Data()
        try? handle.close()
        if magic.isEmpty { throw ImageError.empty(path) }

        let isPNG = magic.starts(with: [0x89, 0x50, 0x4E, 0x47])
        let isJPEG = magic.starts(with: [0xFF, 0xD8, 0xFF])
        guard isPNG || isJPEG else {
            throw ImageError.unsupported(path, "not a PNG or JPEG file (NST Lab reads those two)")
        }
        let info = isPNG ? nst_png_info : nst_jpeg_info
        let read = isPNG ? nst_png_read : nst_jpeg_read

        var err = [CChar](repeating: 0, count: Int(NST_ERRLEN))
        var w: Int32 = 0, h: Int32 = 0
        guard info(path, &w, &h, &err) == 0 else { throw ImageError.corrupt(path, cString(err)) }
        guard w > 0, h > 0 else { throw ImageError.corrupt(path, "zero width or height") }
        let (pixelCount, overflow) = Int(w).multipliedReportingOverflow(by: Int(h))
        let needed = overflow ? Int.max : pixelCount.multipliedReportingOverflow(by: bytesPerPixelToLoad).partialValue
        guard !overflow, needed <= maxBytes else {
            throw ImageError.tooLarge(path, width: Int(w), height: Int(h), bytesNeeded: needed, bytesAllowed: maxBytes)
        }
        var pixels = [UInt8](repeating: 0, count: pixelCount * 3)
        let status = pixels.withUnsafeMutableBufferPointer { read(path, $0.baseAddress, w, h, &err) }
        guard status == 0 else { throw ImageError.corrupt(path, cString(err)) }
        return RGBImage(width: Int(w), height: Int(h), pixels: pixels)
    }

    /// Writes an 8-bit RGB PNG, creating the folder if needed; an existing file is replaced only
    /// once the new one is complete (AtomicFile).
    public func savePNG(_ path: String) throws {
        try AtomicFile.write(path) { temporary in
            var err = [CChar](repeating: 0, count: Int(NST_ERRLEN))
            let status = pixels.withUnsafeBufferPointer { nst_png_write(temporary, $0.baseAddress, Int32(width), Int32(height), &err) }
            guard status == 0 else { throw ImageError.writeFailed(path, cString(err).lowercased()) }
        }
    }

    /// The PNG file's bytes (for a terminal's graphics or a notebook), through a private temporary file.
    public func pngData() throws -> Data {
        let path = NSTemporaryDirectory() + "/nstlab-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).png"
        defer { unlink(path) }
        var err = [CChar](repeating: 0, count: Int(NST_ERRLEN))
        let status = pixels.withUnsafeBufferPointer { nst_png_write(path, $0.baseAddress, Int32(width), Int32(height), &err) }
        guard status == 0, let data = FileManager.default.contents(atPath: path) else {
            throw ImageError.writeFailed("a picture", cString(err).lowercased())
        }
        return data
    }

    /// The image scaled, its proportions kept, to fit inside width × height (area-averaged).
    public func fitted(width boxW: Int, height boxH: Int) -> RGBImage {
        let scale = min(Double(boxW) / Double(width), Double(boxH) / Double(height))
        let w = max(1, Int((Double(width) * scale).rounded())), h = max(1, Int((Double(height) * scale).rounded()))
        return w == width && h == height ? self : resized(width: w, height: h, filter: .area)
    }
}

// MARK: - Resizing

public enum ResizeFilter: String, CaseIterable, Sendable {
    /// PIL's NEAREST, which Keras's `load_img(target_size=…)` uses by default.
    case nearest
    /// Bilinear on pixel centres (no antialiasing): smoother when enlarging or shrinking a little.
    case bilinear
    /// The mean of the source pixels each output pixel covers: the clean way to shrink a lot.
    case area
}

extension RGBImage {
    public func resized(width outW: Int, height outH: Int, filter: ResizeFilter = .nearest) -> RGBImage {
        precondition(outW > 0 && outH > 0)
        if outW == width && outH == height { return self }
        var out = [UInt8](repeating: 0, count: outW * outH * 3)
        let sx = Double(width) / Double(outW), sy = Double(height) / Double(outH)
        switch filter {
        case .nearest:
            // PIL: source = floor((dst + 0.5) · scale), clamped.
            for y in 0..<outH {
                let srcY = min(height - 1, Int((Double(y) + 0.5) * sy))
                for x in 0..<outW {
                    let srcX = min(width - 1, Int((Double(x) + 0.5) * sx))
                    let s = (srcY * width + srcX) * 3, d = (y * outW + x) * 3
                    out[d] = pixels[s]
                    out[d + 1] = pixels[s + 1]
                    out[d + 2] = pixels[s + 2]
                }
            }
        case .bilinear:
            for y in 0..<outH {
                let fy = max(0, min(Double(height - 1), (Double(y) + 0.5) * sy - 0.5))
                let y0 = Int(fy), y1 = min(height - 1, y0 + 1), ty = fy - Double(y0)
                for x in 0..<outW {
                    let fx = max(0, min(Double(width - 1), (Double(x) + 0.5) * sx - 0.5))
                    let x0 = Int(fx), x1 = min(width - 1, x0 + 1), tx = fx - Double(x0)
                    for ch in 0..<3 {
                        let p00 = Double(pixels[(y0 * width + x0) * 3 + ch]), p01 = Double(pixels[(y0 * width + x1) * 3 + ch])
                        let p10 = Double(pixels[(y1 * width + x0) * 3 + ch]), p11 = Double(pixels[(y1 * width + x1) * 3 + ch])
                        let top = p00 + (p01 - p00) * tx, bottom = p10 + (p11 - p10) * tx
                        out[(y * outW + x) * 3 + ch] = UInt8((top + (bottom - top) * ty).rounded())
                    }
                }
            }
        case .area:
            // Box filter: each output pixel averages the source rectangle it covers, with
            // fractional weights at the edges.
            for y in 0..<outH {
                let top = Double(y) * sy, bottom = Double(y + 1) * sy
                for x in 0..<outW {
                    let left = Double(x) * sx, right = Double(x + 1) * sx
                    var acc = (0.0, 0.0, 0.0), total = 0.0
                    for yy in Int(top)..<min(height, Int(bottom.rounded(.up))) {
                        let wy = min(bottom, Double(yy + 1)) - max(top, Double(yy))
                        for xx in Int(left)..<min(width, Int(right.rounded(.up))) {
                            let wgt = wy * (min(right, Double(xx + 1)) - max(left, Double(xx)))
                            let s = (yy * width + xx) * 3
                            acc.0 += wgt * Double(pixels[s])
                            acc.1 += wgt * Double(pixels[s + 1])
                            acc.2 += wgt * Double(pixels[s + 2])
                            total += wgt
                        }
                    }
                    let d = (y * outW + x) * 3
                    out[d] = UInt8((acc.0 / total).rounded())
                    out[d + 1] = UInt8((acc.1 / total).rounded())
                    out[d + 2] = UInt8((acc.2 / total).rounded())
                }
            }
        }
        return RGBImage(width: outW, height: outH, pixels: out)
    }
}

/// The text of a NUL-terminated C buffer.
func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
