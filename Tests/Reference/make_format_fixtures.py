#!/usr/bin/env python3
"""Writes the hostile and unusual image files of Tests/LabTests/Fixtures/formats (standard library only):

  adam7.png            13×9 RGB, Adam7-interlaced; pixel (x, y) = (20x, 28y, 9(x+y)) mod 256
  rgb16.png            13×9 RGB, 16 bits per sample, high bytes as adam7.png, low bytes different
  palette-trns.png     4×2 palette image with a tRNS (transparency) chunk
  text-chunk-2gb.png   a 4×4 image whose tEXt chunk claims 2 GB (and the file ends there)
  wide-20000x1.png     20000×1 grey: tiny on disk, a 640000-column working image at 32 rows

The JPEG ones (cmyk.jpg, ycck.jpg, many-scans.jpg: 757 progressive scans) come from
make_jpeg_fixtures.c:  cc make_jpeg_fixtures.c -ljpeg -o mkjpeg && ./mkjpeg cmyk cmyk.jpg 24 16 …
"""
import os
import struct
import sys
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "LabTests", "Fixtures", "formats")


def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)


def png(name, w, h, depth, color, raw, interlace=0, extra=b""):
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + header + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


W, H = 13, 9
px = [[((x * 20) & 255, (y * 28) & 255, ((x + y) * 9) & 255) for x in range(W)] for y in range(H)]
raw = b""
for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
    xs, ys = list(range(x0, W, dx)), list(range(y0, H, dy))
    if xs and ys:
        for y in ys:
            raw += b"\0" + b"".join(bytes(px[y][x]) for x in xs)
png("adam7.png", W, H, 8, 2, raw, interlace=1)
raw16 = b"".join(b"\0" + b"".join(struct.pack(">HHH", px[y][x][0] * 257 + 1, px[y][x][1] * 256 + 255, px[y][x][2] << 8)
                                  for x in range(W)) for y in range(H))
png("rgb16.png", W, H, 16, 2, raw16)
palette = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 250])
png("palette-trns.png", 4, 2, 8, 3, b"\0\0\1\2\3\0\3\2\1\0",
    extra=chunk(b"PLTE", palette) + chunk(b"tRNS", bytes([0, 128])))
with open(os.path.join(OUT, "text-chunk-2gb.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + struct.pack(">I", 0x7fff0000) + b"tEXt" + b"Comment\0" + b"x" * 6000)
png("wide-20000x1.png", 20000, 1, 8, 0, b"\0" + bytes(i & 255 for i in range(20000)))
