import Foundation
import Kernels

// Turning tensors into pictures (feature-map grids, Gram heatmaps, gradients) and pictures into
// terminal text: 24-bit colour half-blocks (▀ with the upper pixel as foreground, the lower as
// background), or, without colour, a grey ramp of characters.

enum Colormap {
    /// A perceptual dark-to-bright ramp (close to matplotlib's "inferno"), t in 0…1.
    static func inferno(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let stops: [(Double, Double, Double)] = [(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99),
                                                 (212, 72, 66), (245, 125, 21), (250, 193, 39), (252, 255, 164)]
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
    /// A grid of feature maps, each scaled to its own min…max, with 1-pixel gaps.
    static func featureGrid(_ t: Tensor, channels: [Int]) -> RGBImage {
        let (_, h, w) = t.chw
        let n = channels.count
        let cols = Int(Double(n).squareRoot().rounded(.up)), rows = (n + cols - 1) / cols
        let width = cols * (w + 1) - 1, height = rows * (h + 1) - 1
        var pixels = [UInt8](repeating: 40, count: width * height * 3)
        for (k, ch) in channels.enumerated() {
            let plane = t.data[(ch * h * w)..<((ch + 1) * h * w)]
            let lo = Double(plane.min() ?? 0), hi = Double(plane.max() ?? 1)
            let x0 = (k % cols) * (w + 1), y0 = (k / cols) * (h + 1)
            for y in 0..<h {
                for x in 0..<w {
                    let v = Double(plane[plane.startIndex + y * w + x])
                    let (r, g, b) = Colormap.inferno(hi > lo ? (v - lo) / (hi - lo) : 0)
                    let p = ((y0 + y) * width + x0 + x) * 3
                    pixels[p] = r; pixels[p + 1] = g; pixels[p + 2] = b
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// A C × C matrix as a heatmap: `signed` maps −max…max through blue–white–red, else 0…max.
    static func heatmap(_ m: Tensor, signed: Bool) -> RGBImage {
        let n = m.shape[0], cols = m.shape[1]
        let scale = Double(m.data.map { abs($0) }.max() ?? 1)
        var pixels = [UInt8](repeating: 0, count: n * cols * 3)
        for i in 0..<(n * cols) {
            let v = Double(m.data[i]) / max(scale, 1e-30)
            let (r, g, b) = signed ? Colormap.diverging(v) : Colormap.inferno(v)
            pixels[i * 3] = r; pixels[i * 3 + 1] = g; pixels[i * 3 + 2] = b
        }
        return RGBImage(width: cols, height: n, pixels: pixels)
    }

    /// An image gradient (3, H, W): its magnitude per pixel, through the bright ramp.
    static func gradientMagnitude(_ g: Tensor) -> RGBImage {
        let (_, h, w) = g.chw, plane = h * w
        var mags = [Double](repeating: 0, count: plane)
        for i in 0..<plane {
            let a = Double(g.data[i]), b = Double(g.data[plane + i]), c = Double(g.data[2 * plane + i])
            mags[i] = (a * a + b * b + c * c).squareRoot()
        }
        // Scale by the 99th percentile, so a few hot pixels do not wash the rest out.
        let sorted = mags.sorted()
        let top = max(sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))], 1e-30)
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        for i in 0..<plane {
            let (r, gg, b) = Colormap.inferno(mags[i] / top)
            pixels[i * 3] = r; pixels[i * 3 + 1] = gg; pixels[i * 3 + 2] = b
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }

    /// A line plot of several series (log scale on y) as a picture, for `history --png`.
    static func plot(_ series: [(name: String, values: [Double])], width: Int = 640, height: Int = 360) -> RGBImage {
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        let palette: [(UInt8, UInt8, UInt8)] = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
                                                (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127)]
        let logs = series.map { $0.values.map { $0 > 0 ? log10($0) : Double.nan } }
        let finite = logs.flatMap { $0 }.filter { $0.isFinite }
        guard let lo = finite.min(), let hi = finite.max() else { return RGBImage(width: width, height: height, pixels: pixels) }
        let span = max(hi - lo, 1e-9), margin = 10
        let n = max(2, series.map(\.values.count).max() ?? 2)
        func point(_ i: Int, _ v: Double) -> (Int, Int) {
            (margin + (width - 2 * margin) * i / (n - 1), height - margin - Int(Double(height - 2 * margin) * (v - lo) / span))
        }
        func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, x < width, y >= 0, y < height else { return }
            let p = (y * width + x) * 3
            pixels[p] = c.0; pixels[p + 1] = c.1; pixels[p + 2] = c.2
        }
        for (k, values) in logs.enumerated() {
            let color = palette[k % palette.count]
            for i in 1..<max(1, values.count) where values[i - 1].isFinite && values[i].isFinite {
                let (x0, y0) = point(i - 1, values[i - 1]), (x1, y1) = point(i, values[i])
                let steps = max(abs(x1 - x0), abs(y1 - y0), 1)
                for s in 0...steps {
                    let x = x0 + (x1 - x0) * s / steps, y = y0 + (y1 - y0) * s / steps
                    set(x, y, color); set(x, y + 1, color)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}

enum TerminalPicture {
    /// The image fitted to `columns` characters: 24-bit half-blocks, or a grey character ramp.
    static func render(_ image: RGBImage, columns: Int, color: Bool) -> String {
        let cols = max(8, min(columns, image.width))
        if color {
            let rows = max(2, Int((Double(image.height) * Double(cols) / Double(image.width)).rounded()) / 2 * 2)
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
        // Characters are about twice as tall as wide.
        let rows = max(1, Int((Double(image.height) * Double(cols) / Double(image.width) / 2).rounded()))
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
        return String(logs.map { v -> Character in
            guard v.isFinite else { return "×" }
            return bars[min(bars.count - 1, Int((v - lo) / max(hi - lo, 1e-12) * Double(bars.count - 1) + 0.5))]
        })
    }
}
