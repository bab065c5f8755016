// Colour preservation (Gatys et al. 2016, "Preserving color in neural artistic style transfer";
// jcjohnson/neural-style's -original_colors): keep the luminance Y of the stylised result and
// the chrominance (I, Q) of the content, in YIQ.

func transferLuminance(from result: RGBImage, onto content: RGBImage) -> RGBImage {
    precondition(result.width == content.width && result.height == content.height)
    var out = [UInt8](repeating: 0, count: result.pixels.count)
    for p in stride(from: 0, to: out.count, by: 3) {
        let (r1, g1, b1) = (Double(result.pixels[p]), Double(result.pixels[p + 1]), Double(result.pixels[p + 2]))
        let (r2, g2, b2) = (Double(content.pixels[p]), Double(content.pixels[p + 1]), Double(content.pixels[p + 2]))
        let y = 0.299 * r1 + 0.587 * g1 + 0.114 * b1
        let i = 0.596 * r2 - 0.274 * g2 - 0.322 * b2
        let q = 0.211 * r2 - 0.523 * g2 + 0.312 * b2
        let rgb = [y + 0.956 * i + 0.621 * q, y - 0.272 * i - 0.647 * q, y - 1.106 * i + 1.703 * q]
        for c in 0..<3 { out[p + c] = UInt8(min(255, max(0, rgb[c])).rounded()) }
    }
    return RGBImage(width: result.width, height: result.height, pixels: out)
}
