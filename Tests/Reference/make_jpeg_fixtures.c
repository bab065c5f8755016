#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
// mkjpeg KIND OUT W H ; KIND = cmyk | ycck | scans
int main(int argc, char **argv) {
    const char *kind = argv[1]; FILE *f = fopen(argv[2], "wb");
    int w = atoi(argv[3]), h = atoi(argv[4]);
    struct jpeg_compress_struct c; struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e); jpeg_create_compress(&c); jpeg_stdio_dest(&c, f);
    c.image_width = w; c.image_height = h;
    int cmyk = strcmp(kind, "scans") != 0;
    c.input_components = cmyk ? 4 : 3; c.in_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    if (cmyk) jpeg_set_colorspace(&c, strcmp(kind, "ycck") == 0 ? JCS_YCCK : JCS_CMYK);
    static jpeg_scan_info scans[2000]; int n = 0;
    if (!cmyk) {
        scans[n++] = (jpeg_scan_info){3, {0,1,2,0}, 0, 0, 0, 0};
        for (int comp = 0; comp < 3; comp++) for (int k = 1; k < 64; k++) {
            scans[n++] = (jpeg_scan_info){1, {comp}, k, k, 0, 3};
            for (int al = 2; al >= 0; al--) scans[n++] = (jpeg_scan_info){1, {comp}, k, k, al + 1, al};
        }
        c.scan_info = scans; c.num_scans = n;
    }
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc(w * 4); srand(1);
    while (c.next_scanline < c.image_height) {
        for (int x = 0; x < w * c.input_components; x++) row[x] = cmyk ? (unsigned char)((x % 4 == 3) ? 40 : (x * 7 + c.next_scanline) & 255) : rand() & 255;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c); fclose(f); fprintf(stderr, "%s: %d scans\n", argv[2], n ? n : -1);
    return 0;
}
