import Foundation
import Kernels
import Testing

@testable import Lab

// Pictures are tested on their pixels: axes, legend and title where they belong, signed data in
// both colours, scales that change the picture, terminal drawings that fit the width.

@Suite("Pictures")
struct PictureTests {
    /// Pixels in a rectangle that are not the white background.
    func inked(_ image: RGBImage, x: Range<Int>, y: Range<Int>) -> Int {
        var count = 0
        for yy in y {
            for xx in x {
                let p = image[xx, yy]
                if p.r < 200 || p.g < 200 || p.b < 200 { count += 1 }
            }
        }
        return count
    }

    @Test func plotsHaveAxesTicksALegendAndATitle() throws {
        let series: [(name: String, values: [Double])] = [
            ("total", (1...40).map { 1e6 / Double($0) }),
            ("content", (1...40).map { 1e3 + Double($0) }),
        ]
        let plot = Pictures.plot(series, title: "a title", markers: [(20, "adam")])
        #expect(plot.width == 900 && plot.height == 520)
        #expect(inked(plot, x: 0..<70, y: 44..<464) > 50, "no y tick labels or axis title")
        #expect(inked(plot, x: 78..<700, y: 470..<520) > 50, "no x tick labels or axis title")
        #expect(inked(plot, x: 715..<900, y: 44..<100) > 50, "no legend")
        #expect(inked(plot, x: 78..<400, y: 5..<35) > 50, "no title")
        // The first series is drawn in its colour somewhere in the plot area.
        var blue = 0
        for y in 44..<464 {
            for x in 78..<700 {
                let p = plot[x, y]
                if p.b > 150 && p.r < 80 { blue += 1 }
            }
        }
        #expect(blue > 100)
        let path = Paths.temporaryDirectory() + "/plot.png"
        try plot.savePNG(path)
        #expect(try RGBImage.load(path).pixels == plot.pixels)
    }

    @Test func featureGridsAreReadableLabelledAndSigned() throws {
        var rng = SplitMix64(seed: 5)
        let t = try Tensor(shape: [4, 12, 9], data: (0..<(4 * 12 * 9)).map { _ in Float(rng.nextUnit() - 0.5) })
        let grid = Pictures.featureGrid(t, channels: [0, 1, 2, 3], title: "pre-activations")
        #expect(grid.width >= 384)
        var blue = 0, red = 0
        for p in stride(from: 0, to: grid.pixels.count, by: 3) {
            let (r, b) = (grid.pixels[p], grid.pixels[p + 2])
            if b > 150 && r < 120 { blue += 1 }
            if r > 150 && b < 120 { red += 1 }
        }
        #expect(blue > 100 && red > 100, "negative values must show (diverging colours)")
        let relu = Pictures.featureGrid(Kernels.relu(t), channels: [0, 1], title: "")
        var blueAfterReLU = 0
        for p in stride(from: 0, to: relu.pixels.count, by: 3) where relu.pixels[p + 2] > 150 && relu.pixels[p] < 120 && relu.pixels[p + 1] > 60 {
            blueAfterReLU += 1
        }
        #expect(blueAfterReLU == 0, "non-negative maps use the one-sided ramp")
    }

    @Test func gramHeatmapsScaleAndShareAScale() throws {
        let g = try Tensor(shape: [3, 3], data: [100, 1, 0, 1, 4, 0.1, 0, 0.1, 1])
        let linear = Pictures.heatmap(g, signed: false, scale: .linear)
        let log = Pictures.heatmap(g, signed: false, scale: .log)
        #expect(linear.width >= 384 && log.width >= 384)
        #expect(linear.pixels != log.pixels)
        // With a shared maximum the same matrix draws darker (its entries are smaller in comparison).
        let shared = Pictures.heatmap(g, signed: false, scale: .linear, sharedMax: 1000)
        let lum = { (i: RGBImage) in i.pixels.reduce(0) { $0 + Int($1) } }
        #expect(lum(shared) < lum(linear))
        // A shared maximum on the log scale uses the same transform: not washed out to one colour.
        let sharedLog = Pictures.heatmap(g.scaled(by: 0.5), signed: true, scale: .log, sharedMax: 100)
        var coloured = 0
        for p in stride(from: 0, to: sharedLog.pixels.count, by: 3) where sharedLog.pixels[p] > 150 && sharedLog.pixels[p + 2] < 120 { coloured += 1 }
        #expect(coloured > 1000)
        let correlation = Pictures.heatmap(g, signed: false, scale: .correlation)
        #expect(correlation.pixels != linear.pixels)
    }

    @Test func picturesFollowTheTerminalWidth() {
        let image = RGBImage(width: 400, height: 200, pixels: [UInt8](repeating: 128, count: 400 * 200 * 3))
        for columns in [40, 72, 100] {
            let text = TerminalPicture.render(image, columns: columns, color: false)
            #expect(text.split(separator: "\n").allSatisfy { $0.count == columns })
        }
        let h = ShellHarness().loaded()
        h.shell.columns = 30
        let (_, out) = h.run("show content")
        #expect(out.split(separator: "\n").filter { $0.count > 30 && !$0.contains("saved") }.isEmpty, "\(out)")
    }
}

extension PictureTests {
    @Test func sideBySideCaptionsEachPicture() throws {
        let a = RGBImage(width: 40, height: 30, pixels: [UInt8](repeating: 0, count: 40 * 30 * 3))
        let b = RGBImage(width: 20, height: 60, pixels: [UInt8](repeating: 0, count: 20 * 60 * 3))
        let row = Pictures.sideBySide([("first", a), ("second", b)])
        #expect(row.height >= 192 + 24)
        // Both pictures scaled to the same height; a caption under each.
        #expect(inked(row, x: 0..<row.width / 2, y: 210..<row.height) > 10)
        #expect(inked(row, x: row.width / 2..<row.width, y: 210..<row.height) > 10)
        let h = ShellHarness().loaded()
        let (outcome, out) = h.run("show content style result")
        #expect(outcome == .ok && out.contains("content | style | result"), "\(out)")
    }
}

@Suite("Terminal graphics")
struct TerminalGraphicsTests {
    let image = RGBImage(width: 64, height: 48, pixels: (0..<(64 * 48 * 3)).map { UInt8($0 % 251) })

    /// The payload of every escape sequence that starts with `start` and ends with `end`.
    func payloads(_ text: String, start: String, end: String) -> [Substring] {
        var result: [Substring] = [], rest = Substring(text)
        while let s = rest.range(of: start), let e = rest[s.upperBound...].range(of: end) {
            result.append(rest[s.upperBound..<e.lowerBound])
            rest = rest[e.upperBound...]
        }
        return result
    }

    /// A PNG payload decoded back to a picture (through a file, as RGBImage reads them).
    func decodePNG(_ data: Data) throws -> RGBImage {
        #expect(Array(data.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
        let path = Paths.temporaryDirectory() + "/payload.png"
        try data.write(to: URL(fileURLWithPath: path))
        return try RGBImage.load(path)
    }

    /// kitty pictures went as raw RGBA (5.4 MB a picture): now PNG (f=100), in base64 chunks.
    @Test func kittyGraphicsArePNG() throws {
        for columns in [20, 33] {
            let text = TerminalPicture.render(image, columns: columns, mode: .kitty)
            let chunks = payloads(text, start: "\u{1B}_G", end: "\u{1B}\\")
            let header = try #require(chunks.first).split(separator: ";", maxSplits: 1)[0]
            // a=T (transmit and show), f=100 (PNG), c columns.
            let fields = Dictionary(
                uniqueKeysWithValues: header.split(separator: ",").compactMap { kv -> (String, Int)? in
                    let p = kv.split(separator: "=")
                    return p.count == 2 ? (String(p[0]), Int(p[1]) ?? -1) : nil
                })
            #expect(fields["c"] == columns && fields["f"] == 100)
            // The payload comes in chunks, each base64 on its own; all but the last say m=1.
            var png = Data()
            for (i, chunk) in chunks.enumerated() {
                let parts = chunk.split(separator: ";", maxSplits: 1)
                #expect(parts[0].hasSuffix("m=\(i == chunks.count - 1 ? 0 : 1)"))
                let decoded = Data(base64Encoded: String(parts[1]))
                #expect(decoded != nil, "a chunk that is not base64")
                png += decoded ?? Data()
            }
            let picture = try decodePNG(png)
            // The picture fills the columns it was given (to a cell: its height is whole lines too).
            #expect(abs(picture.width - columns * TerminalPicture.cellWidth) <= TerminalPicture.cellWidth, "\(picture.width)")
        }
    }

    /// iTerm2 pictures went as uncompressed TIFF (5.3 MB): now PNG.
    @Test func iTermInlineImagesArePNG() throws {
        let text = TerminalPicture.render(image, columns: 20, mode: .iterm)
        let body = try #require(payloads(text, start: "\u{1B}]1337;File=", end: "\u{07}").first)
        let parts = body.split(separator: ":", maxSplits: 1)
        #expect(parts[0].contains("inline=1") && parts[0].contains("width=20"))
        let file = try #require(Data(base64Encoded: String(parts[1])))
        #expect(parts[0].contains("size=\(file.count)"))
        #expect(try decodePNG(file).width == 200)
    }

    /// A 1×300 picture in kitty mode wrote 1 GB of escapes: every mode is bounded by the terminal's
    /// height as well as its width.
    @Test func aTallThinPictureStaysWithinTheTerminal() throws {
        let thin = RGBImage(width: 1, height: 300, pixels: [UInt8](repeating: 200, count: 900))
        for mode in [PictureMode.kitty, .iterm, .sixel, .blocks, .text] {
            let text = TerminalPicture.render(thin, columns: 100, lines: 30, mode: mode)
            #expect(text.utf8.count < 200_000, "\(mode): \(text.utf8.count) bytes")
            if mode == .blocks || mode == .text { #expect(text.split(separator: "\n").count <= 30, "\(mode)") }
        }
        let fit = TerminalPicture.cells(thin, columns: 100, lines: 30)
        #expect(fit.lines == 30 && fit.columns >= 1 && fit.columns <= 2)
    }

    @Test func sixelsDeclareTheirSize() throws {
        let text = TerminalPicture.render(image, columns: 20, mode: .sixel)
        #expect(text.hasPrefix("\u{1B}P") && text.contains("\u{1B}\\"))
        let raster = try #require(text.range(of: "q\"1;1;"))
        let size = text[raster.upperBound...].prefix { $0.isNumber || $0 == ";" }.split(separator: ";").compactMap { Int($0) }
        #expect(size.first == 200 && (size.last ?? 0) > 100, "\(size)")
    }

    @Test func autoFollowsTheTerminal() {
        #expect(PictureMode.resolve(.auto, color: true, environment: ["TERM": "xterm-kitty"]) == .kitty)
        #expect(PictureMode.resolve(.auto, color: true, environment: ["TERM_PROGRAM": "iTerm.app"]) == .iterm)
        #expect(PictureMode.resolve(.auto, color: true, environment: ["TERM": "xterm-256color"]) == .blocks)
        #expect(PictureMode.resolve(.auto, color: false, environment: ["TERM": "xterm-kitty"]) == .text)  // a pipe, NO_COLOR
        #expect(PictureMode.resolve(.sixel, color: false, environment: [:]) == .sixel)  // forced
    }

    @Test func theSettingIsAShellCommand() {
        let h = ShellHarness().loaded()
        #expect(h.run("set --pictures off").0 == .ok)
        let (_, out) = h.run("show content")
        #expect(out.split(separator: "\n").count == 1, "off draws nothing: \(out)")
        expectRefused(h, "set --pictures hologram")
        #expect(h.run("set --pictures kitty --size 40").0 == .ok)
        #expect(h.run("show content").1.contains("\u{1B}_G"))
    }
}

extension PictureTests {
    @Test func settingChangesAndRewindsAreMarked() throws {
        let h = ShellHarness().loaded()
        for line in ["set --preset any-size", "step 3", "rewind 1", "optimizer sgd --lr 1", "step 2"] {
            #expect(h.run(line).0 == .ok, "\(line)")
        }
        let s = try h.shell.session()
        let labels = s.events.map { "\($0.iteration): \($0.label)" }
        #expect(labels == ["0: loss settings, adam", "1: rewound to 1, sgd, sgd settings"], "\(labels)")
        let path = Paths.temporaryDirectory() + "/h.png"
        #expect(h.run("history --png \(path)").0 == .ok)
        #expect(FileManager.default.fileExists(atPath: path))
    }
}

extension PictureTests {
    /// Two runs from one start — branching by rewinding — kept by name and drawn together.
    @Test func namedRunsCompareOnOnePlot() throws {
        let h = ShellHarness().loaded()
        for line in [
            "set --preset any-size", "run 4 --every 4 --name adam", "rewind 0", "optimizer sgd --lr 2",
            "run 4 --every 4 --name sgd", "runs",
        ] {
            let (outcome, out) = h.run(line)
            #expect(outcome == .ok, "\(line): \(out)")
        }
        let s = try h.shell.session()
        #expect(s.namedRuns.map(\.name) == ["adam", "sgd"])
        #expect(s.namedRuns[0].history.count == 4 && s.namedRuns[0].history.map(\.total) != s.namedRuns[1].history.map(\.total))
        let (outcome, out) = h.run("compare adam sgd")
        #expect(
            outcome == .ok && out.contains("total loss of each run") && out.contains("adam, iteration 4 | sgd, iteration 4 | |difference|"), "\(out)")
        expectRefused(h, "compare adam nosuchrun", containing: "no run named nosuchrun")
        expectRefused(h, "run 9 --name a/b")
    }
}

@Suite("Profile and memory estimate")
struct ProfileTests {
    @Test func profileShowsEveryLayerAndLeavesTheSessionAsItWas() throws {
        let h = ShellHarness().loaded()
        let before = try h.shell.session().state
        let (outcome, out) = h.run("profile --conv winograd")
        #expect(outcome == .ok, "\(out)")
        for piece in ["block1_conv1", "relu+conv backward", "gram + style loss", "adam update", "where the time goes", "convolutions winograd"] {
            #expect(out.contains(piece), "\(piece) missing: \(out)")
        }
        #expect(try h.shell.session().state == before)
        #expect(try h.shell.session().compute.conv == .auto, "--conv applies to the measurement only")
        expectRefused(h, "profile --conv fast")
        #expect(h.run("set --conv direct").0 == .ok)
        #expect(h.run("config").1.contains("--conv                direct"))
    }

    @Test func benchProfilesOneIteration() throws {
        let (status, out) = try runLab(["bench", "--sizes", "32", "--backends", "simd", "--repeats", "1", "--profile", "--conv", "direct"])
        #expect(status == 0 && out.contains("convolutions direct") && out.contains("where the time goes"), "\(out)")
    }

    @Test func theMemoryLimitCanBeSet() throws {
        #expect(MemoryPolicy.parseBytes("2G") == 2 << 30 && MemoryPolicy.parseBytes("512m") == 512 << 20)
        #expect(MemoryPolicy.parseBytes("lots") == nil && MemoryPolicy.parseBytes("-1") == nil)
        let (status, out) = try runLab(
            ["--out", Paths.temporaryDirectory()],
            input: "set --size 64\ncontent \(Paths.fixtures)/content.png\n",
            environment: ["NST_MEMORY_LIMIT": "1M"])
        #expect(status == 1 && out.contains("more than the 1.0 MiB allowed"), "\(out)")
    }
}
