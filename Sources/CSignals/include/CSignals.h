#ifndef NST_CSIGNALS_H
#define NST_CSIGNALS_H

/* Ctrl-C as a flag, set by one plain C handler installed once per process. The shell's long
   loops, script runners, readline and the image decoders all read the same flag, so no save and
   restore of the SIGINT disposition can lose it (that race made Ctrl-C ignored in some sessions). */

/* Installs the handler (idempotent). */
void nst_sigint_install(void);
/* 1 when Ctrl-C was pressed since the last clear. */
int nst_sigint_pending(void);
void nst_sigint_clear(void);
/* For tests: as if Ctrl-C had been pressed. */
void nst_sigint_raise_flag(void);

#endif
