#include "CImageIO.h"
#include <png.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include "CSignals.h"

/* A progressive JPEG decodes all its scans before the first row comes out; a crafted file with
   hundreds of scans took a minute. libjpeg-turbo's own fuzzers refuse more than 100; normal files
   have about 10. */
#define NST_JPEG_MAX_SCANS 100

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
    /* libpng's own fwrite says only "Write Error": the reason (a full disk) is in errno. */
    if (strcmp(msg, "Write Error") == 0 && errno != 0) set_err(ctx->err, strerror(errno));
    else set_err(ctx->err, msg);
    longjmp(ctx->jump, 1);
}

static void png_warning_ignored(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

/* Bounds on what a file can make libpng allocate. A chunk-size limit alone is not enough: libpng
   reports an oversized ancillary chunk as a benign error, a warning on read, and allocates anyway
   (a 6 KB file with a 2 GB tEXt length took 2.1 GB). So ancillary chunks other than tRNS are
   skipped unread, which never allocates them. */
static void png_limit(png_structp png) {
    png_set_chunk_malloc_max(png, 8u << 20);
    png_set_chunk_cache_max(png, 128);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
}

/* Ctrl-C while a large image decodes: checked after every row. */
static void png_row_done(png_structp png, png_uint_32 row, int pass) {
    (void)row; (void)pass;
    if (nst_sigint_pending()) png_error(png, "interrupted (Ctrl-C)");
}

int nst_png_info(const char *path, int *width, int *height, char *err) {
    FILE *f = open_or_err(path, "rb", err);
    if (!f) return -1;
    png_ctx ctx = { .err = err };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_error_to_jump, png_warning_ignored);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) { set_err(err, "out of memory"); png_destroy_read_struct(&png, &info, NULL); fclose(f); return -1; }
    if (setjmp(ctx.jump)) { png_destroy_read_struct(&png, &info, NULL); fclose(f); return -1; }
    png_limit(png);
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
    png_bytep *volatile rows = NULL;   /* volatile: read after a longjmp (a leak the fuzzer found) */
    if (!png || !info) { set_err(err, "out of memory"); png_destroy_read_struct(&png, &info, NULL); fclose(f); return -1; }
    if (setjmp(ctx.jump)) { free(rows); png_destroy_read_struct(&png, &info, NULL); fclose(f); return -1; }
    png_limit(png);
    png_set_read_status_fn(png, png_row_done);
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
    // tRNS transparency and alpha channels are dropped, not composited (as PIL's convert("RGB")).
    // A palette with tRNS would otherwise expand to RGBA.
    if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
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
    errno = 0;
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

typedef struct { struct jpeg_error_mgr mgr; jmp_buf jump; char *err; struct jpeg_progress_mgr progress; } jpeg_ctx;

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

/* Called by libjpeg as it works (every iMCU row, every scan): the scan cap and Ctrl-C. */
static void jpeg_progress(j_common_ptr cinfo) {
    jpeg_ctx *ctx = (jpeg_ctx *)cinfo->err;   /* the error manager is the context's first member */
    if (cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->input_scan_number > NST_JPEG_MAX_SCANS) {
        snprintf(ctx->err, NST_ERRLEN, "progressive JPEG with more than %d scans", NST_JPEG_MAX_SCANS);
        longjmp(ctx->jump, 1);
    }
    if (nst_sigint_pending()) { set_err(ctx->err, "interrupted (Ctrl-C)"); longjmp(ctx->jump, 1); }
}

static int jpeg_open(const char *path, struct jpeg_decompress_struct *cinfo, jpeg_ctx *ctx, FILE *f) {
    cinfo->err = jpeg_std_error(&ctx->mgr);
    ctx->mgr.error_exit = jpeg_error_to_jump;
    ctx->mgr.emit_message = jpeg_warning_is_error;
    jpeg_create_decompress(cinfo);
    ctx->progress.progress_monitor = jpeg_progress;
    cinfo->progress = &ctx->progress;
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
    unsigned char *volatile line = NULL;   /* CMYK rows, converted to RGB */
    if (setjmp(ctx.jump)) { free(line); jpeg_destroy_decompress(&cinfo); fclose(f); return -1; }
    jpeg_open(path, &cinfo, &ctx, f);
    if ((int)cinfo.image_width != width || (int)cinfo.image_height != height) {
        set_err(err, "image size changed since its header was read");
        jpeg_destroy_decompress(&cinfo); fclose(f); return -1;
    }
    /* CMYK and YCCK (print workflows) cannot become RGB inside libjpeg: decode to CMYK (libjpeg
       turns YCCK into CMYK) and convert here. */
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != (cmyk ? 4 : 3)) {
        set_err(err, "unsupported JPEG colour space");
        jpeg_destroy_decompress(&cinfo); fclose(f); return -1;
    }
    if (cmyk) {
        line = malloc((size_t)width * 4);
        if (!line) { set_err(err, "out of memory"); jpeg_destroy_decompress(&cinfo); fclose(f); return -1; }
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *dst = rgb + (size_t)cinfo.output_scanline * (size_t)width * 3;
        JSAMPROW row = cmyk ? line : dst;
        jpeg_read_scanlines(&cinfo, &row, 1);
        if (cmyk) {
            /* As Pillow reads JPEG CMYK: stored inverted (Adobe), R = 255·(1−c)(1−k) with the
               stored bytes being 255 − ink; Pillow's integer form of that product. */
            for (int x = 0; x < width; x++) {
                const unsigned char *p = line + (size_t)x * 4;
                int k = p[3];
                for (int ch = 0; ch < 3; ch++) {
                    int c = 255 - p[ch];
                    int t = c * k + 128;
                    int v = k - (((t >> 8) + t) >> 8);
                    dst[(size_t)x * 3 + ch] = (unsigned char)(v < 0 ? 0 : v);
                }
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(line);
    fclose(f);
    return 0;
}
