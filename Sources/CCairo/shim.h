// Cairo, the 2-D graphics library the plots and labelled pictures are drawn with (Debian libcairo2-dev).
#include <cairo/cairo.h>
