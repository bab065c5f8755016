#ifndef NST_CCHAFA_H
#define NST_CCHAFA_H
#include <stddef.h>

/* Real pictures in the terminal through libchafa: the kitty graphics protocol, iTerm2 inline
   images, sixels, or chafa's own symbol art. Keeps glib out of Swift. */

enum { NST_PICTURE_KITTY = 1, NST_PICTURE_ITERM = 2, NST_PICTURE_SIXEL = 3, NST_PICTURE_SYMBOLS = 4 };

/* Which pixel protocol the terminal described by `envp` (NULL-terminated "NAME=value" strings)
   speaks, per chafa's terminal database: one of the constants above, SYMBOLS when none. */
int nst_chafa_detect(const char **envp);

/* Renders packed 8-bit RGB (width × height) in `mode` to fit `columns` character cells. Returns a
   malloc'd NUL-terminated string of escape sequences (free it), or NULL on failure. */
char *nst_chafa_render(const unsigned char *rgb, int width, int height, int mode, int columns, const char **envp);

#endif
