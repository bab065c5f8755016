#include "CChafa.h"
#include <chafa.h>
#include <stdlib.h>
#include <string.h>

static ChafaTermInfo *term_info(const char **envp) {
    ChafaTermDb *db = chafa_term_db_get_default();
    return chafa_term_db_detect(db, (gchar **)envp);
}

int nst_chafa_detect(const char **envp) {
    ChafaTermInfo *ti = term_info(envp);
    int mode = NST_PICTURE_SYMBOLS;
    if (chafa_term_info_have_seq(ti, CHAFA_TERM_SEQ_BEGIN_KITTY_IMMEDIATE_IMAGE_V1)) mode = NST_PICTURE_KITTY;
    else if (chafa_term_info_have_seq(ti, CHAFA_TERM_SEQ_BEGIN_ITERM2_IMAGE)) mode = NST_PICTURE_ITERM;
    else if (chafa_term_info_have_seq(ti, CHAFA_TERM_SEQ_BEGIN_SIXELS)) mode = NST_PICTURE_SIXEL;
    chafa_term_info_unref(ti);
    return mode;
}

char *nst_chafa_render(const unsigned char *rgb, int width, int height, int mode, int columns, const char **envp) {
    ChafaPixelMode pixel_mode = mode == NST_PICTURE_KITTY ? CHAFA_PIXEL_MODE_KITTY
                              : mode == NST_PICTURE_ITERM ? CHAFA_PIXEL_MODE_ITERM2
                              : mode == NST_PICTURE_SIXEL ? CHAFA_PIXEL_MODE_SIXELS : CHAFA_PIXEL_MODE_SYMBOLS;
    /* Cells of 10 × 20 pixels (the usual font aspect): the picture keeps its proportions. */
    gint cols = columns, rows = -1;
    chafa_calc_canvas_geometry(width, height, &cols, &rows, 0.5f, TRUE, FALSE);
    if (cols < 1) cols = 1;
    if (rows < 1) rows = 1;
    ChafaCanvasConfig *config = chafa_canvas_config_new();
    chafa_canvas_config_set_geometry(config, cols, rows);
    chafa_canvas_config_set_cell_geometry(config, 10, 20);
    chafa_canvas_config_set_pixel_mode(config, pixel_mode);
    chafa_canvas_config_set_canvas_mode(config, CHAFA_CANVAS_MODE_TRUECOLOR);
    ChafaCanvas *canvas = chafa_canvas_new(config);
    chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGB8, rgb, width, height, width * 3);
    /* The escape sequences themselves come from the term info; for a forced mode, from a
       terminal that speaks it (chafa's database knows the sequences by terminal). */
    const char *kitty_env[] = { "TERM=xterm-kitty", NULL };
    const char *iterm_env[] = { "TERM_PROGRAM=iTerm.app", NULL };
    const char *sixel_env[] = { "TERM=mlterm", NULL };
    const char **env = mode == NST_PICTURE_KITTY ? kitty_env : mode == NST_PICTURE_ITERM ? iterm_env
                     : mode == NST_PICTURE_SIXEL ? sixel_env : envp;
    ChafaTermInfo *ti = term_info(env);
    GString *out = chafa_canvas_print(canvas, ti);
    char *result = out ? strdup(out->str) : NULL;
    if (out) g_string_free(out, TRUE);
    chafa_term_info_unref(ti);
    chafa_canvas_unref(canvas);
    chafa_canvas_config_unref(config);
    return result;
}
