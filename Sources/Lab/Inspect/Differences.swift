import Foundation

// The difference of two pictures, pixel by pixel on the 0–255 scale:
//   rms = √(mean (a − b)²),  mean |a − b|,  max |a − b|,  PSNR = 20 log10(255 / rms)
// and a picture of |a − b| (the channels' mean), scaled so the largest difference is white.

public struct ImageDifference: Sendable {
    public var rms: Double
    public var meanAbsolute: Double
    public var maxAbsolute: Double
    public var psnr: Double { rms > 0 ? 20 * log10(255 / rms) : .infinity }
    public var picture: RGBImage
}

public func imageDifference(_ a: RGBImage, _ b: RGBImage) -> ImageDifference {
    let b = b.width == a.width && b.height == a.height ? b : b.resized(width: a.width, height: a.height, filter: .bilinear)
    var squares = 0.0, absolute = 0.0, largest = 0.0
    var perPixel = [Double](repeating: 0, count: a.width * a.height)
    for i in 0..<(a.width * a.height) {
        var sum = 0.0
        for c in 0..<3 {
            let d = Double(a.pixels[3 * i + c]) - Double(b.pixels[3 * i + c])
            squares += d * d
            absolute += abs(d)
            largest = max(largest, abs(d))
            sum += abs(d)
        }
        perPixel[i] = sum / 3
    }
    let n = Double(3 * a.width * a.height)
    let top = max(perPixel.max() ?? 0, 1e-9)
    let pixels = perPixel.flatMap { v -> [UInt8] in
        let g = UInt8(min(255, (v / top * 255).rounded()))
        return [g, g, g]
    }
    return ImageDifference(
        rms: (squares / n).squareRoot(), meanAbsolute: absolute / n, maxAbsolute: largest,
        picture: RGBImage(width: a.width, height: a.height, pixels: pixels))
}
