import Foundation
import Kernels
import Testing

@testable import Lab

@Suite("PNG and JPEG files")
struct ImageTests {
    static let formats = [
        "rgb8.png", "rgba8.png", "grey8.png", "greyalpha8.png", "palette.png", "grey16.png",
        "grey1.png", "baseline.jpg", "progressive.jpg", "grey.jpg",
    ]

    static let expected: [String: [[[Int]]]] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Paths.fixtures + "/formats/expected.json"))
        return try! JSONDecoder().decode([String: [[[Int]]]].self, from: data)
    }()

    @Test(arguments: formats)
    func decodesLikePIL(_ name: String) throws {
        let image = try RGBImage.load(Paths.fixtures + "/formats/" + name)
        let rows = try #require(ImageTests.expected[name])
        #expect(image.height == rows.count && image.width == rows[0].count)
        var worst = 0
        for y in 0..<image.height {
            for x in 0..<image.width {
                let p = image[x, y], e = rows[y][x]
                worst = max(worst, abs(Int(p.r) - e[0]), abs(Int(p.g) - e[1]), abs(Int(p.b) - e[2]))
            }
        }
        // PNG is lossless: exact. PIL decodes JPEG with libjpeg-turbo too, but its DCT
        // settings may differ from the library default by one level.
        #expect(worst <= (name.hasSuffix(".jpg") ? Tolerance.jpegLevels : 0), "\(name): off by \(worst)")
    }

    @Test func pngRoundTrip() throws {
        let dir = Paths.temporaryDirectory()
        let original = try RGBImage.load(Paths.fixtures + "/content.png")
        try original.savePNG(dir + "/sub/folder/copy.png")
        #expect(try RGBImage.load(dir + "/sub/folder/copy.png") == original)
    }

    @Test func nearestResizeFollowsPIL() throws {
        // 4 columns → 3: PIL samples source columns floor((x + 0.5) · 4/3) = 0, 2, 3.
        let img = RGBImage(width: 4, height: 1, pixels: [0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30])
        #expect(img.resized(width: 3, height: 1, filter: .nearest).pixels == [0, 0, 0, 20, 20, 20, 30, 30, 30])
    }

    @Test func areaAndBilinearAverage() {
        let img = RGBImage(width: 2, height: 2, pixels: [0, 0, 0, 100, 100, 100, 200, 200, 200, 100, 100, 100])
        #expect(img.resized(width: 1, height: 1, filter: .area).pixels == [100, 100, 100])
        #expect(img.resized(width: 1, height: 1, filter: .bilinear).pixels == [100, 100, 100])
        let up = img.resized(width: 4, height: 4, filter: .bilinear)
        #expect(up[0, 0] == (r: 0, g: 0, b: 0) && up[3, 3] == (r: 100, g: 100, b: 100))
    }

    @Test func kerasTargetSizeTruncates() {
        #expect(kerasTargetSize(width: 100, height: 75, rows: 48) == (64, 48))
        #expect(kerasTargetSize(width: 451, height: 300) == (601, 400))  // int(601.33)
    }

    // MARK: - Bad files: one clear line each, never a crash

    func write(_ bytes: [UInt8], _ name: String) -> String {
        let path = Paths.temporaryDirectory() + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func bytes(_ fixture: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Paths.fixtures + "/" + fixture)))
    }

    @Test func missingFile() {
        #expect(errorMessage { try RGBImage.load("/nonexistent/cat.png") } == "/nonexistent/cat.png: no such file")
    }

    @Test func emptyFile() {
        let p = write([], "empty.png")
        #expect(errorMessage { try RGBImage.load(p) } == "\(p): the file is empty")
    }

    @Test func directoryAndTextFile() {
        let dir = Paths.temporaryDirectory()
        #expect(errorMessage { try RGBImage.load(dir) }?.contains("is a directory") == true)
        let p = write(Array("hello, not an image".utf8), "notes.png")
        #expect(errorMessage { try RGBImage.load(p) } == "\(p): not a PNG or JPEG file (NST Lab reads those two)")
    }

    @Test(arguments: ["content.png", "formats/baseline.jpg", "formats/progressive.jpg"])
    func truncatedFile(_ fixture: String) throws {
        let all = try bytes(fixture)
        let p = write(Array(all.prefix(all.count / 2)), "truncated-" + (fixture as NSString).lastPathComponent)
        let msg = try #require(errorMessage { try RGBImage.load(p) })
        #expect(msg.hasPrefix("\(p): not a readable image ("), "\(msg)")
        #expect(!msg.contains("\n"))
    }

    @Test func corruptedPNGData() throws {
        var all = try bytes("content.png")
        for i in stride(from: 200, to: min(all.count, 2000), by: 7) { all[i] ^= 0x5A }  // inside IDAT: CRC fails
        let p = write(all, "corrupt.png")
        #expect(errorMessage { try RGBImage.load(p) }?.contains("not a readable image") == true)
    }

    @Test func corruptedJPEGHeader() throws {
        var all = try bytes("formats/baseline.jpg")
        for i in 20..<120 { all[i] = 0xFF }
        let p = write(all, "corrupt.jpg")
        #expect(errorMessage { try RGBImage.load(p) }?.contains("not a readable image") == true)
    }

    @Test func hugeImageIsRefusedBeforeDecoding() {
        let p = Paths.fixtures + "/formats/huge.png"
        let msg = errorMessage { try RGBImage.load(p) }
        #expect(msg?.contains("200000×200000 pixels would need 558.8 GiB to load") == true, "\(msg ?? "nil")")
        #expect(msg?.contains("scale it down first") == true)
    }

    @Test func sizeLimitIsEnforced() throws {
        // content.png is 100×75: 7500 pixels × 15 bytes.
        #expect(throws: ImageError.self) { try RGBImage.load(Paths.fixtures + "/content.png", maxBytes: 7500 * 15 - 1) }
        _ = try RGBImage.load(Paths.fixtures + "/content.png", maxBytes: 7500 * 15)
    }

    @Test func unwritablePath() throws {
        let img = RGBImage(width: 1, height: 1, pixels: [1, 2, 3])
        #expect(errorMessage { try img.savePNG("/proc/nst-lab-cannot-write.png") }?.contains("could not write") == true)
    }

    @Test func deprocessRefusesNonImageTensors() throws {
        #expect(errorMessage { try deprocess(try Tensor(zeros: [4, 2, 2])) }?.contains("(3, H, W)") == true)
    }
}
