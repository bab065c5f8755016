// A thin shim over libpng and libjpeg(-turbo). Both libraries report errors by
// longjmp; these functions catch that and return -1 with a one-line message in `err`,
// so Swift never sees a longjmp. Pixels are always 8-bit RGB, row-major, 3 bytes each.
#ifndef CIMAGEIO_H
#define CIMAGEIO_H
#include <stddef.h>

enum { NST_ERRLEN = 256 };

// Reads the header only: width, height. 0 on success, -1 on error (message in err).
int nst_png_info(const char *path, int *width, int *height, char *err);
// Decodes into rgb (width*height*3 bytes, sizes from nst_png_info). Grey, grey+alpha,
// palette, RGB and RGBA at 1–16 bits become 8-bit RGB: 16-bit samples keep their high
// byte, alpha is dropped (as PIL's convert("RGB") and so Keras's load_img do).
int nst_png_read(const char *path, unsigned char *rgb, int width, int height, char *err);
// Writes 8-bit RGB.
int nst_png_write(const char *path, const unsigned char *rgb, int width, int height, char *err);

int nst_jpeg_info(const char *path, int *width, int *height, char *err);
// Decodes baseline/progressive JPEG, greyscale or YCbCr, into 8-bit RGB.
int nst_jpeg_read(const char *path, unsigned char *rgb, int width, int height, char *err);

#endif
