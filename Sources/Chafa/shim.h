// libchafa (Debian libchafa-dev): found through pkg-config, used only by the CChafa shim.
#include <chafa.h>
