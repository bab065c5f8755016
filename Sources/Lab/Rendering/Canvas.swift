import CCairo
import Foundation

/// A picture being drawn with Cairo: lines, rectangles, text, other pictures; then an RGBImage
/// (so it is saved and shown like every other picture).
final class Canvas {
    typealias Color = (r: UInt8, g: UInt8, b: UInt8)
    let width: Int, height: Int
    private let surface: OpaquePointer
    private let cr: OpaquePointer

    init(width: Int, height: Int, background: Color = (255, 255, 255)) {
        self.width = width
        self.height = height
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
        cr = cairo_create(surface)
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        fill(0, 0, Double(width), Double(height), background)
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    private func use(_ c: Color) { cairo_set_source_rgb(cr, Double(c.r) / 255, Double(c.g) / 255, Double(c.b) / 255) }

    func fill(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ c: Color) {
        use(c)
        cairo_rectangle(cr, x, y, w, h)
        cairo_fill(cr)
    }

    func stroke(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ c: Color, width: Double = 1) {
        use(c)
        cairo_set_line_width(cr, width)
        cairo_rectangle(cr, x, y, w, h)
        cairo_stroke(cr)
    }

    /// A polyline; nil points break it.
    func line(_ points: [(Double, Double)?], _ c: Color, width: Double = 1.5, dashed: Bool = false) {
        use(c)
        cairo_set_line_width(cr, width)
        var dashes: [Double] = [4, 3]
        cairo_set_dash(cr, &dashes, dashed ? 2 : 0, 0)
        var drawing = false
        for p in points {
            guard let (x, y) = p else {
                if drawing { cairo_stroke(cr) }
                drawing = false
                continue
            }
            if drawing {
                cairo_line_to(cr, x, y)
            } else {
                cairo_move_to(cr, x, y)
                drawing = true
            }
        }
        if drawing { cairo_stroke(cr) }
        cairo_set_dash(cr, nil, 0, 0)
    }

    enum Align { case left, center, right }

    /// Text with its baseline at y; `vertical` turns it 90° (an axis label).
    func text(
        _ s: String, _ x: Double, _ y: Double, size: Double = 12, _ c: Color = (30, 30, 30),
        align: Align = .left, bold: Bool = false, vertical: Bool = false
    ) {
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, size)
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, s, &extents)
        let shift = align == .left ? 0 : align == .center ? extents.x_advance / 2 : extents.x_advance
        use(c)
        cairo_save(cr)
        cairo_translate(cr, x, y)
        if vertical { cairo_rotate(cr, -Double.pi / 2) }
        cairo_move_to(cr, -shift, 0)
        cairo_show_text(cr, s)
        cairo_restore(cr)
    }

    func textWidth(_ s: String, size: Double) -> Double {
        cairo_set_font_size(cr, size)
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, s, &extents)
        return extents.x_advance
    }

    /// Draws `image` with its top-left corner at (x, y), scaled by `scale` with nearest-neighbour
    /// sampling (each feature is a visible square, not a blur).
    func draw(_ image: RGBImage, x: Double, y: Double, scale: Double) {
        let stride = cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, Int32(image.width))
        let source = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(image.width), Int32(image.height))!
        defer { cairo_surface_destroy(source) }
        cairo_surface_flush(source)
        let data = cairo_image_surface_get_data(source)!
        for py in 0..<image.height {
            let row = data + Int(stride) * py
            for px in 0..<image.width {
                let p = image[px, py]
                // RGB24 is a native-endian 32-bit 0x00RRGGBB: B, G, R, unused in memory here.
                row[px * 4] = p.b
                row[px * 4 + 1] = p.g
                row[px * 4 + 2] = p.r
                row[px * 4 + 3] = 0
            }
        }
        cairo_surface_mark_dirty(source)
        cairo_save(cr)
        cairo_translate(cr, x, y)
        cairo_scale(cr, scale, scale)
        cairo_set_source_surface(cr, source, 0, 0)
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST)
        cairo_paint(cr)
        cairo_restore(cr)
    }

    var image: RGBImage {
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = cairo_image_surface_get_data(surface)!
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let row = data + stride * y
            for x in 0..<width {
                let o = (y * width + x) * 3
                pixels[o] = row[x * 4 + 2]
                pixels[o + 1] = row[x * 4 + 1]
                pixels[o + 2] = row[x * 4]
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
