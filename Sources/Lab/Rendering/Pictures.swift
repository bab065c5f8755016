import CChafa
import Foundation
import Kernels

// Turning tensors into pictures (labelled feature-map grids, Gram heatmaps with colour bars,
// gradients, plots with axes — drawn with Cairo) and pictures into the terminal: kitty, iTerm2 or
// sixel graphics through libchafa where the terminal has them, else 24-bit colour half-blocks (▀
// with the upper pixel as foreground, the lower as background), or without colour a grey ramp.

enum Colormap {
    /// A perceptual dark-to-bright ramp (close to matplotlib's "inferno"), t in 0…1.
    static func inferno(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let stops: [(Double, Double, Double)] = [
            (0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99),
            (212, 72, 66), (245, 125, 21), (250, 193, 39), (252, 255, 164),
        ]
        return ramp(stops, t)
    }

    /// Blue (negative) — white (0) — red (positive), t in −1…1: for signed values like gradients.
    static func diverging(_ t: Double) -> (UInt8, UInt8, UInt8) {
        ramp([(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)], (t + 1) / 2)
    }

    static func ramp(_ stops: [(Double, Double, Double)], _ t: Double) -> (UInt8, UInt8, UInt8) {
        let u = max(0, min(1, t.isNaN ? 0 : t)) * Double(stops.count - 1)
        let i = min(stops.count - 2, Int(u)), f = u - Double(i)
        let a = stops[i], b = stops[i + 1]
        return (UInt8(a.0 + (b.0 - a.0) * f), UInt8(a.1 + (b.1 - a.1) * f), UInt8(a.2 + (b.2 - a.2) * f))
    }
}

enum Pictures {
    /// A grid of feature maps, large enough to read (nearest-neighbour upscaling to ≥ 384 px across),
    /// each tile labelled with its channel, one shared colour scale shown as a bar with its range:
    /// 0…max through the bright ramp for rectified maps, −m…m through blue–white–red when some
    /// values are negative (pre-activations), so a sign is never hidden.
    static func featureGrid(_ t: Tensor, channels: [Int], title: String = "") -> RGBImage {
        let (_, h, w) = t.chw
        let n = max(1, channels.count)
        let cols = Int(Double(n).squareRoot().rounded(.up)), rows = (n + cols - 1) / cols
        // Nearest-neighbour upscaling so the grid is at least 384 px across; a tile at most 256 px.
        let scale = Double(max(1, min(Int((372.0 / Double(cols * w)).rounded(.up)), max(1, 256 / max(h, w)))))
        let tileW = Double(w) * scale, tileH = Double(h) * scale
        let gap = 6.0, label = 16.0, top = title.isEmpty ? 8.0 : 30.0, barH = 44.0
        // Wide enough for the tiles and the title (DejaVu Sans Bold 14: under 9 px a character).
        let width = max(384, Int(Double(cols) * (tileW + gap) + gap), 9 * title.count + 16)
        let height = Int(top + Double(rows) * (tileH + label + gap) + barH)
        let values = channels.flatMap { ch in t.data[(ch * h * w)..<((ch + 1) * h * w)] }
        let lo = Double(values.min() ?? 0), hi = Double(values.max() ?? 1)
        let signed = lo < 0
        let m = max(abs(lo), abs(hi), 1e-30)
        func color(_ v: Double) -> (UInt8, UInt8, UInt8) {
            signed ? Colormap.diverging(v / m) : Colormap.inferno(hi > lo ? (v - lo) / (hi - lo) : 0)
        }
        let canvas = Canvas(width: width, height: height)
        if !title.isEmpty { canvas.text(title, gap, 20, size: 14, bold: true) }
        for (k, ch) in channels.enumerated() {
            var pixels = [UInt8](repeating: 0, count: h * w * 3)
            for i in 0..<(h * w) {
                let (r, g, b) = color(Double(t.data[ch * h * w + i]))
                pixels[i * 3] = r
                pixels[i * 3 + 1] = g
                pixels[i * 3 + 2] = b
            }
            let x = gap + Double(k % cols) * (tileW + gap), y = top + Double(k / cols) * (tileH + label + gap)
            canvas.text("ch \(ch)", x, y + 12, size: 11, (90, 90, 90))
            canvas.draw(RGBImage(width: w, height: h, pixels: pixels), x: x, y: y + label, scale: scale)
        }
        colorBar(
            canvas, x: gap, y: Double(height) - barH + 8, width: min(300, Double(width) - 2 * gap),
            lo: signed ? -m : lo, hi: signed ? m : hi, signed: signed)
        return canvas.image
    }

    /// A horizontal colour bar with its two ends labelled.
    static func colorBar(_ canvas: Canvas, x: Double, y: Double, width: Double, lo: Double, hi: Double, signed: Bool) {
        let steps = 120
        for i in 0..<steps {
            let t = Double(i) / Double(steps - 1)
            let (r, g, b) = signed ? Colormap.diverging(2 * t - 1) : Colormap.inferno(t)
            canvas.fill(x + width * Double(i) / Double(steps), y, width / Double(steps) + 1, 12, (r, g, b))
        }
        canvas.stroke(x, y, width, 12, (120, 120, 120), width: 0.5)
        canvas.text(formatTick(lo), x, y + 26, size: 11)
        if signed { canvas.text("0", x + width / 2, y + 26, size: 11, align: .center) }
        canvas.text(formatTick(hi), x + width, y + 26, size: 11, align: .right)
    }

    static func formatTick(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        return a >= 1e4 || a < 1e-2 ? String(format: "%.2g", v) : String(format: "%.3g", v)
    }

    /// How `heatmap` maps a Gram matrix's entries to colours.
    enum GramScale: String, CaseIterable, Sendable {
        case linear, log, correlation
    }

    /// A C × C matrix as a heatmap, upscaled to about 384 px, with a colour bar. `signed` maps
    /// −max…max through blue–white–red (differences); `.log` shows sign · log10(1 + |g|/g₀) so small
    /// entries are not crushed by one large channel; `.correlation` shows G[a][b]/√(G[a][a]·G[b][b]).
    /// `sharedMax` fixes the scale, so two pictures compare.
    static func heatmap(
        _ m: Tensor, signed: Bool, scale: GramScale = .linear, sharedMax: Double? = nil,
        title: String = ""
    ) -> RGBImage {
        let n = m.shape[0], cols = m.shape[1]
        var values = m.data.map(Double.init)
        var isSigned = signed
        var label = "value"
        switch scale {
        case .linear: break
        case .log:
            // With a shared maximum, the same transform for every picture drawn against it.
            let reference = sharedMax ?? (values.map(abs).max() ?? 1)
            let g0 = max(reference * 1e-4, 1e-30)
            values = values.map { ($0 < 0 ? -1 : 1) * log10(1 + abs($0) / g0) }
            label = "sign·log10(1 + |G|/\(formatTick(g0)))"
        case .correlation:
            values = (0..<(n * cols)).map { i in
                let (a, b) = (i / cols, i % cols)
                let d = Double(m.data[a * cols + a]) * Double(m.data[b * cols + b])
                return d > 0 ? Double(m.data[i]) / d.squareRoot() : 0
            }
            isSigned = true
            label = "correlation"
        }
        let sharedTop: Double? = sharedMax.map { scale == .log ? log10(1 + 1e4) : $0 }  // |G| = max maps to log10(1 + 1e4)
        let largest = values.map(abs).max() ?? 1
        var top = max(sharedTop ?? 0, largest, 1e-30)
        if scale == .linear && sharedMax == nil {
            // A few huge entries (one channel's own energy) would leave the rest one dark field around
            // a bright dot: the colours saturate at the 99th percentile of |G| instead, and say so.
            let p99 = percentile99(values.map(abs).sorted())
            if p99 > 0 && p99 < largest {
                top = p99
                label = "value, linear: full colour at the 99th percentile \(formatTick(p99)) and above (the largest is \(formatTick(largest)))"
            }
        } else if scale == .linear {
            label = "value, linear, one scale for both"
        }
        let hi = scale == .correlation ? 1 : top
        var pixels = [UInt8](repeating: 0, count: n * cols * 3)
        for i in 0..<(n * cols) {
            let v = values[i] / hi
            let (r, g, b) = isSigned ? Colormap.diverging(v) : Colormap.inferno(v)
            pixels[i * 3] = r
            pixels[i * 3 + 1] = g
            pixels[i * 3 + 2] = b
        }
        let pixel = max(1, (384 + cols - 1) / cols)
        let side = Double(cols * pixel)
        // Channel numbers along the top and the left: a tick every 8, 16, 32 … channels (at most 9).
        let left = 36.0, head = (title.isEmpty ? 8.0 : 30.0) + 16
        let canvas = Canvas(
            width: max(Int(left + side) + 16, 9 * max(title.count, label.count * 6 / 9) + 16), height: Int(head + Double(n * pixel) + 74))
        if !title.isEmpty { canvas.text(title, 8, 20, size: 14, bold: true) }
        canvas.draw(RGBImage(width: cols, height: n, pixels: pixels), x: left, y: head, scale: Double(pixel))
        let step = [1, 2, 4, 8, 16, 32, 64, 128, 256].first { max(n, cols) / $0 <= 8 } ?? 512
        for k in stride(from: 0, to: cols, by: step) {
            let x = left + (Double(k) + 0.5) * Double(pixel)
            canvas.line([(x, head - 4), (x, head)], (90, 90, 90), width: 1)
            canvas.text("\(k)", x, head - 6, size: 10, (90, 90, 90), align: .center)
        }
        for k in stride(from: 0, to: n, by: step) {
            let y = head + (Double(k) + 0.5) * Double(pixel)
            canvas.line([(left - 4, y), (left, y)], (90, 90, 90), width: 1)
            canvas.text("\(k)", left - 6, y + 4, size: 10, (90, 90, 90), align: .right)
        }
        colorBar(
            canvas, x: left, y: head + Double(n * pixel) + 10, width: min(300, side),
            lo: isSigned ? -hi : 0, hi: hi, signed: isSigned)
        canvas.text(label, left, head + Double(n * pixel) + 64, size: 11, (90, 90, 90))
        return canvas.image
    }

    /// An image gradient's magnitude as a figure: enlarged to see (whole-pixel squares), with a
    /// title and a colour bar that says what the brightest colour means.
    static func gradientFigure(_ g: Tensor, title: String) -> RGBImage {
        // |g| per pixel over R, G, B, scaled by the 99th percentile so a few hot pixels do not wash the rest out.
        let (_, h, w) = g.chw, plane = h * w
        let mags = (0..<plane).map { i in
            let a = Double(g.data[i]), b = Double(g.data[plane + i]), c = Double(g.data[2 * plane + i])
            return (a * a + b * b + c * c).squareRoot()
        }
        let sorted = mags.sorted()
        let p99 = percentile99(sorted)
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        for i in 0..<plane {
            let (r, gg, b) = Colormap.inferno(mags[i] / max(p99, 1e-30))
            pixels[i * 3] = r
            pixels[i * 3 + 1] = gg
            pixels[i * 3 + 2] = b
        }
        let big = enlarged(RGBImage(width: w, height: h, pixels: pixels), minSide: 384)
        let note = "|∂loss/∂pixel|, R, G, B together; full colour from the 99th percentile (largest \(formatTick(sorted.last ?? 0)))"
        let canvas = Canvas(width: max(big.width + 16, 9 * title.count + 16, 7 * note.count + 16), height: big.height + 30 + 80)
        canvas.text(title, 8, 20, size: 14, bold: true)
        canvas.draw(big, x: 8, y: 30, scale: 1)
        colorBar(canvas, x: 8, y: Double(big.height) + 40, width: min(300, Double(big.width)), lo: 0, hi: p99, signed: false)
        canvas.text(note, 8, Double(big.height) + 92, size: 11, (90, 90, 90))
        return canvas.image
    }

    /// The 99th percentile of values sorted ascending: where a colour scale saturates.
    static func percentile99(_ sorted: [Double]) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))] }

    /// Pictures in a row, each scaled to the same height (at least 192 px), a caption under each.
    static func sideBySide(_ images: [(caption: String, image: RGBImage)]) -> RGBImage {
        // Every picture fits a bounded cell (at most 1024 high, 1600 wide): a 1000×1 or 10000×10000
        // picture beside another stays within Cairo's 32767-pixel surfaces (and the terminal's patience).
        let maxHeight = 1024.0, maxWidth = 1600.0
        let rowHeight = min(maxHeight, Double(max(192, images.map(\.image.height).max() ?? 192)))
        let gap = 12.0, captionHeight = 24.0
        let scales = images.map { min(rowHeight / Double($0.image.height), maxWidth / Double($0.image.width)) }
        let widths = zip(images, scales).map { max(Double($0.image.width) * $1, min(maxWidth, 9 * Double($0.caption.count))) }
        let canvas = Canvas(width: Int(widths.reduce(gap) { $0 + $1 + gap }), height: Int(rowHeight + captionHeight + 2 * gap))
        var x = gap
        for (i, item) in images.enumerated() {
            let drawn = Double(item.image.width) * scales[i]
            canvas.draw(item.image, x: x + (widths[i] - drawn) / 2, y: gap, scale: scales[i])
            canvas.text(item.caption, x + widths[i] / 2, gap + rowHeight + 18, size: 13, align: .center)
            x += widths[i] + gap
        }
        return canvas.image
    }

    /// A small picture enlarged by a whole factor (nearest neighbour: pixels stay visible squares)
    /// until its longer side reaches `minSide`; a large one as it is.
    static func enlarged(_ image: RGBImage, minSide: Int = 384) -> RGBImage {
        let factor = max(1, minSide / max(image.width, image.height))
        guard factor > 1 else { return image }
        let canvas = Canvas(width: image.width * factor, height: image.height * factor)
        canvas.draw(image, x: 0, y: 0, scale: Double(factor))
        return canvas.image
    }

    static let palette: [(UInt8, UInt8, UInt8)] = [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
        (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127),
    ]

    /// A line plot with axes: x is the iteration (1…n), y a log scale with a tick per decade (and
    /// 2, 5 between when the range is short), a legend, a title, and dashed vertical markers (a
    /// change of optimiser, a rewind) labelled at the top. Values ≤ 0 or not finite break a line.
    static func plot(
        _ series: [(name: String, values: [Double])], title: String = "loss terms (weighted)",
        xLabel: String = "iteration", yLabel: String = "value (log scale)",
        markers: [(x: Int, label: String)] = [], width: Int = 900, height: Int = 520
    ) -> RGBImage {
        let canvas = Canvas(width: width, height: height)
        let left = 78.0, right = 200.0, top = 44.0, bottom = 56.0
        let pw = Double(width) - left - right, ph = Double(height) - top - bottom
        canvas.text(title, left, 26, size: 16, bold: true)
        let logs = series.map { $0.values.map { $0 > 0 && $0.isFinite ? log10($0) : Double.nan } }
        let finite = logs.flatMap { $0 }.filter { $0.isFinite }
        let n = max(2, series.map(\.values.count).max() ?? 2)
        var lo = (finite.min() ?? 0).rounded(.down), hi = (finite.max() ?? 1).rounded(.up)
        if hi <= lo { hi = lo + 1 }
        if hi - lo > 24 { lo = hi - 24 }  // a diverged run: show the top 24 decades
        func px(_ i: Double) -> Double { left + pw * (i - 1) / Double(n - 1) }
        func py(_ v: Double) -> Double { top + ph * (1 - (v - lo) / (hi - lo)) }
        // Grid and y ticks: every decade, with 2× and 5× between when there are few decades.
        let decades = Int(hi - lo)
        let labelEvery = max(1, decades / 8)
        for d in 0...decades {
            let v = lo + Double(d)
            canvas.line([(left, py(v)), (left + pw, py(v))], (225, 225, 225), width: 1)
            if d % labelEvery == 0 { canvas.text("1e\(Int(v))", left - 8, py(v) + 4, size: 11, align: .right) }
            if decades <= 3 && d < decades {
                for k in [2.0, 5.0] {
                    let u = v + log10(k)
                    canvas.line([(left, py(u)), (left + pw, py(u))], (242, 242, 242), width: 1)
                    canvas.text("\(Int(k))e\(Int(v))", left - 8, py(u) + 4, size: 9, (120, 120, 120), align: .right)
                }
            }
        }
        // x ticks at 1, 2 or 5 × 10^k, about eight of them.
        let raw = Double(n - 1) / 8
        let magnitude = pow(10, (log10(max(raw, 1))).rounded(.down))
        let step = max(1, [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? magnitude * 10)
        var tick = 1.0
        while tick <= Double(n) {
            canvas.line([(px(tick), top + ph), (px(tick), top + ph + 5)], (60, 60, 60), width: 1)
            canvas.text("\(Int(tick))", px(tick), top + ph + 19, size: 11, align: .center)
            tick = tick == 1 && step > 1 ? step : tick + step
        }
        canvas.text(xLabel, left + pw / 2, Double(height) - 14, size: 12, align: .center)
        canvas.text(yLabel, 20, top + ph / 2, size: 12, align: .center, vertical: true)
        for m in markers where m.x >= 1 && m.x <= n {
            canvas.line([(px(Double(m.x)), top), (px(Double(m.x)), top + ph)], (110, 110, 110), width: 1, dashed: true)
            canvas.text(m.label, px(Double(m.x)) + 3, top + 12, size: 10, (90, 90, 90))
        }
        for (k, values) in logs.enumerated() {
            let color = palette[k % palette.count]
            let points: [(Double, Double)?] = values.enumerated().map { i, v in
                v.isFinite && v >= lo ? (px(Double(i + 1)), py(v)) : nil
            }
            canvas.line(points, color, width: k == 0 ? 2.5 : 1.5)
        }
        canvas.stroke(left, top, pw, ph, (60, 60, 60), width: 1)
        // Legend, right of the plot.
        for (k, s) in series.enumerated() {
            let y = top + 8 + Double(k) * 20
            canvas.line([(left + pw + 16, y), (left + pw + 40, y)], palette[k % palette.count], width: k == 0 ? 2.5 : 2)
            canvas.text(s.name, left + pw + 46, y + 4, size: 11)
        }
        return canvas.image
    }
}

/// How pictures are drawn in the terminal (`set --pictures`).
public enum PictureMode: String, CaseIterable, Sendable {
    /// The best the terminal can show: kitty, iTerm2 or sixel graphics when it speaks one (libchafa's
    /// terminal database reads it from the environment), else 24-bit half-blocks; a character ramp
    /// when not a terminal or NO_COLOR is set.
    case auto
    case kitty, iterm, sixel
    /// ▀ half-blocks in 24-bit colour: two pixels a character.
    case blocks
    /// A grey ramp of characters (pipes, NO_COLOR).
    case text
    /// No drawing: the PNG's path only.
    case off

    /// What `auto` becomes here: `color` says whether this is a colour terminal.
    static func resolve(_ mode: PictureMode, color: Bool, environment: [String: String]) -> PictureMode {
        guard mode == .auto else { return mode }
        guard color else { return .text }
        let env = environment.map { "\($0.key)=\($0.value)" }
        var pointers = env.map { strdup($0) } + [nil]
        defer { for p in pointers { free(p) } }
        let detected = pointers.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { nst_chafa_detect($0) }
        }
        switch Int(detected) {
        case Int(NST_PICTURE_KITTY): return .kitty
        case Int(NST_PICTURE_ITERM): return .iterm
        case Int(NST_PICTURE_SIXEL): return .sixel
        default: return .blocks
        }
    }
}

enum TerminalPicture {
    /// Pixels of a character cell, as terminals commonly draw them (10×20): graphics are sent at
    /// about the size they are shown.
    static let cellWidth = 10, cellHeight = 20

    /// The cells (columns × lines) a picture takes: as wide as `columns` allow, and never taller than
    /// `lines` (a 1×300 picture is one tall column, not thousands of lines or a gigabyte of escapes).
    static func cells(_ image: RGBImage, columns: Int, lines: Int) -> (columns: Int, lines: Int) {
        let aspect = Double(image.height) / Double(max(1, image.width)) * Double(cellWidth) / Double(cellHeight)
        var c = max(1, columns)
        var l = Int((Double(c) * aspect).rounded())
        if l > lines {
            l = max(1, lines)
            c = max(1, min(columns, Int((Double(l) / aspect).rounded())))
        }
        return (c, max(1, l))
    }

    /// The image fitted to `columns` character cells and at most `lines` lines in the given mode
    /// (auto resolved by the caller).
    static func render(_ image: RGBImage, columns: Int, lines: Int = 40, mode: PictureMode) -> String {
        switch mode {
        case .off, .auto: return ""
        case .text: return render(image, columns: columns, lines: lines, color: false)
        case .blocks: return render(image, columns: columns, lines: lines, color: true)
        case .kitty, .iterm:
            // Sent as PNG, at about the size shown: a few tens of kilobytes, not megabytes of raw pixels.
            let fit = cells(image, columns: columns, lines: lines)
            let shown = image.fitted(width: fit.columns * cellWidth, height: fit.lines * cellHeight)
            guard let png = try? shown.pngData() else { return render(image, columns: columns, lines: lines, color: true) }
            let payload = png.base64EncodedString()
            if mode == .iterm {
                return "\u{1B}]1337;File=inline=1;size=\(png.count);width=\(fit.columns);height=\(fit.lines);preserveAspectRatio=1:\(payload)\u{07}\n"
            }
            // kitty: f=100 (PNG), a=T (transmit and show) in c×r cells, the payload in chunks of 4096 (m=1: more follow).
            var out = "", first = true
            var rest = Substring(payload)
            repeat {
                let chunk = rest.prefix(4096)
                rest = rest.dropFirst(chunk.count)
                let more = rest.isEmpty ? 0 : 1
                let keys = first ? "f=100,a=T,c=\(fit.columns),r=\(fit.lines),q=2,m=\(more)" : "m=\(more)"
                out += "\u{1B}_G\(keys);\(chunk)\u{1B}\\"
                first = false
            } while !rest.isEmpty
            return out + "\n"
        case .sixel:
            let fit = cells(image, columns: columns, lines: lines)
            let shown = image.fitted(width: fit.columns * cellWidth, height: fit.lines * cellHeight)
            let out = shown.pixels.withUnsafeBufferPointer {
                nst_chafa_render($0.baseAddress, Int32(shown.width), Int32(shown.height), Int32(NST_PICTURE_SIXEL), Int32(fit.columns), nil)
            }
            guard let out else { return render(image, columns: columns, lines: lines, color: true) }
            defer { free(out) }
            return String(cString: out) + "\n"
        }
    }

    /// The image fitted to `columns` characters and `lines` lines: 24-bit half-blocks, or a grey character ramp.
    static func render(_ image: RGBImage, columns: Int, lines: Int = 40, color: Bool) -> String {
        // A character is about twice as tall as wide; a half-block shows two pixels, one above the other.
        let fit = cells(image, columns: min(columns, max(8, image.width)), lines: lines)
        let cols = fit.columns
        if color {
            let rows = fit.lines * 2
            let img = image.resized(width: cols, height: rows, filter: .area)
            var out = ""
            for y in stride(from: 0, to: rows, by: 2) {
                for x in 0..<cols {
                    let t = img[x, y], b = img[x, y + 1]
                    out += "\u{1B}[38;2;\(t.r);\(t.g);\(t.b)m\u{1B}[48;2;\(b.r);\(b.g);\(b.b)m▀"
                }
                out += "\u{1B}[0m\n"
            }
            return out
        }
        let rows = fit.lines
        let img = image.resized(width: cols, height: rows, filter: .area)
        let ramp = Array(" .:-=+*#%@")
        var out = ""
        for y in 0..<rows {
            for x in 0..<cols {
                let p = img[x, y]
                let lum = (0.299 * Double(p.r) + 0.587 * Double(p.g) + 0.114 * Double(p.b)) / 255
                out.append(ramp[min(ramp.count - 1, Int(lum * Double(ramp.count)))])
            }
            out += "\n"
        }
        return out
    }

    /// A one-line sparkline-style plot of a series on a log scale.
    static func sparkline(_ values: [Double], width: Int) -> String {
        let bars = Array("▁▂▃▄▅▆▇█")
        guard !values.isEmpty else { return "" }
        let step = max(1, values.count / max(1, width))
        let sampled = stride(from: 0, to: values.count, by: step).map { values[$0] }
        let logs = sampled.map { $0 > 0 ? log10($0) : Double.nan }
        let finite = logs.filter { $0.isFinite }
        guard let lo = finite.min(), let hi = finite.max() else { return "" }
        return String(
            logs.map { v -> Character in
                guard v.isFinite else { return "×" }
                return bars[min(bars.count - 1, Int((v - lo) / max(hi - lo, 1e-12) * Double(bars.count - 1) + 0.5))]
            })
    }
}
