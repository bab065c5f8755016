#include "CImageIO.h"
#include <png.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

static void set_err(char *err, const char *msg) {
    snprintf(err, NST_ERRLEN, "%s", msg);
}

static FILE *open_or_err(const char *path, const char *mode, char *err) {
    FILE *f = fopen(path, mode);
    if (!f) snprintf(err, NST_ERRLEN, "%s", strerror(errno));
    return f;
}

// ---- PNG ----------------------------------------------------------------------------

typedef struct { jmp_buf jump; char *err; } png_ctx;

static void png_error_to_jump(png_structp png, png_const_charp msg) {
    png_ctx *ctx = (png_ctx *)png_get_error_ptr(png);
    set_err(ctx->err, msg);
    longjmp(ctx->jump, 1);
}

static void png_warning_ignored(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

int nst_png_info(const char *path, int *width, int *height, char *err) {
    FILE *f = open_or_err(path, "rb", err);
    if (!f) return -1;
    png_ctx ctx = { .err = err };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_error_to_jump, png_warning_ignored);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) { set_err(err, "out of memory"); png_destroy_read_struct(&png, &info, NULL); fclose(f); return -1; }
    if (setjmp(ctx.jump)) { png_destroy_read_struct(&png, &info, NULL); fclose(f); return -1; }
    png_init_io(png, f);
    png_read_info(png, info);
    *width = (int)png_get_image_width(png, info);
    *height = (int)png_get_image_height(png, info);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return 0;
}

int nst_png_read(const char *path, unsigned char *rgb, int width, int height, char *err) {
    FILE *f = open_or_err(path, "rb", err);
    if (!f) return -1;
    png_ctx ctx = { .err = err };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_error_to_jump, png_warning_ignored);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = NULL;
    if (!png || !info) { set_err(err, "out of memory"); png_destroy_read_struct(&png, &info, NULL); fclose(f); return -1; }
    if (setjmp(ctx.jump)) { free(rows); png_destroy_read_struct(&png, &info, NULL); fclose(f); return -1; }
    png_init_io(png, f);
    png_read_info(png, info);
    if ((int)png_get_image_width(png, info) != width || (int)png_get_image_height(png, info) != height) {
        png_error(png, "image size changed since its header was read");
    }
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (depth == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    // tRNS transparency and alpha channels are dropped, not composited.
    if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)width * 3) png_error(png, "unexpected row size after conversion to RGB");
    rows = malloc(sizeof(png_bytep) * (size_t)height);
    if (!rows) png_error(png, "out of memory");
    for (int y = 0; y < height; y++) rows[y] = rgb + (size_t)y * (size_t)width * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return 0;
}

int nst_png_write(const char *path, const unsigned char *rgb, int width, int height, char *err) {
    FILE *f = open_or_err(path, "wb", err);
    if (!f) return -1;
    png_ctx ctx = { .err = err };
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, png_error_to_jump, png_warning_ignored);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) { set_err(err, "out of memory"); png_destroy_write_struct(&png, &info); fclose(f); return -1; }
    if (setjmp(ctx.jump)) { png_destroy_write_struct(&png, &info); fclose(f); return -1; }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, rgb + (size_t)y * (size_t)width * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) { snprintf(err, NST_ERRLEN, "%s", strerror(errno)); return -1; }
    return 0;
}

// ---- JPEG ---------------------------------------------------------------------------

typedef struct { struct jpeg_error_mgr mgr; jmp_buf jump; char *err; } jpeg_ctx;

static void jpeg_error_to_jump(j_common_ptr cinfo) {
    jpeg_ctx *ctx = (jpeg_ctx *)cinfo->err;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    set_err(ctx->err, buffer);
    longjmp(ctx->jump, 1);
}

// libjpeg treats a truncated file as a warning and pads it with grey; we refuse it.
static void jpeg_warning_is_error(j_common_ptr cinfo, int level) {
    if (level < 0) jpeg_error_to_jump(cinfo);
}

static int jpeg_open(const char *path, struct jpeg_decompress_struct *cinfo, jpeg_ctx *ctx, FILE *f) {
    cinfo->err = jpeg_std_error(&ctx->mgr);
    ctx->mgr.error_exit = jpeg_error_to_jump;
    ctx->mgr.emit_message = jpeg_warning_is_error;
    jpeg_create_decompress(cinfo);
    jpeg_stdio_src(cinfo, f);
    jpeg_read_header(cinfo, TRUE);
    (void)path;
    return 0;
}

int nst_jpeg_info(const char *path, int *width, int *height, char *err) {
    FILE *f = open_or_err(path, "rb", err);
    if (!f) return -1;
    struct jpeg_decompress_struct cinfo;
    jpeg_ctx ctx = { .err = err };
    if (setjmp(ctx.jump)) { jpeg_destroy_decompress(&cinfo); fclose(f); return -1; }
    jpeg_open(path, &cinfo, &ctx, f);
    *width = (int)cinfo.image_width;
    *height = (int)cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    return 0;
}

int nst_jpeg_read(const char *path, unsigned char *rgb, int width, int height, char *err) {
    FILE *f = open_or_err(path, "rb", err);
    if (!f) return -1;
    struct jpeg_decompress_struct cinfo;
    jpeg_ctx ctx = { .err = err };
    if (setjmp(ctx.jump)) { jpeg_destroy_decompress(&cinfo); fclose(f); return -1; }
    jpeg_open(path, &cinfo, &ctx, f);
    if ((int)cinfo.image_width != width || (int)cinfo.image_height != height) {
        set_err(err, "image size changed since its header was read");
        jpeg_destroy_decompress(&cinfo); fclose(f); return -1;
    }
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3) {
        set_err(err, "unsupported JPEG colour space");
        jpeg_destroy_decompress(&cinfo); fclose(f); return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = rgb + (size_t)cinfo.output_scanline * (size_t)width * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    return 0;
}
