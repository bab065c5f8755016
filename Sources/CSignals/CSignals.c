#include "CSignals.h"
#include <signal.h>
#include <string.h>
#include <pthread.h>

static volatile sig_atomic_t pending = 0;
static volatile sig_atomic_t installed = 0;

static void on_sigint(int sig) {
    (void)sig;
    pending = 1;
}

void nst_sigint_install(void) {
    if (installed) return;
    installed = 1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    /* Restart interrupted reads and writes; select() (readline's wait) returns EINTR regardless. */
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, NULL);
    /* A process may start with SIGINT blocked (inherited from a parent that blocks it, such as a
       test runner's thread): the signal would then stay pending forever. Unblock it here. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int nst_sigint_pending(void) { return pending; }
void nst_sigint_clear(void) { pending = 0; }
void nst_sigint_raise_flag(void) { pending = 1; }
