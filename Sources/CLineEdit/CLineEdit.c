#include "CLineEdit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <errno.h>
#include <sys/select.h>
#include <sys/time.h>
#include "CSignals.h"
#include <readline/readline.h>
#include <readline/history.h>

static nst_completer swift_completer = NULL;

static char **complete(const char *text, int start, int end) {
    (void)end;
    rl_attempted_completion_over = 1;  // no fallback to file names unless the completer returns them
    if (!swift_completer) return NULL;
    char *before = strndup(rl_line_buffer, (size_t)start);
    char **matches = swift_completer(text, before);
    free(before);
    if (matches && matches[0] && !matches[1]) {
        // one match: readline wants matches[0] = the substitution, then the list
        return matches;
    }
    if (matches && matches[0]) {
        // several: readline expects matches[0] to be their common prefix
        size_t count = 0;
        while (matches[count]) count++;
        size_t prefix = strlen(matches[0]);
        for (size_t i = 1; i < count; i++) {
            size_t j = 0;
            while (j < prefix && matches[i][j] == matches[0][j]) j++;
            prefix = j;
        }
        char **out = malloc(sizeof(char *) * (count + 2));
        out[0] = strndup(matches[0], prefix);
        for (size_t i = 0; i < count; i++) out[i + 1] = matches[i];
        out[count + 1] = NULL;
        free(matches);
        return out;
    }
    free(matches);
    return NULL;
}

// readline's callback interface, so a Ctrl-C at the prompt can be handled outside the signal
// handler: the handler only sets a flag, select() returns EINTR, and the line is dropped there
// (the pattern readline's own documentation gives). The shell then shows a fresh prompt.
static char *finished_line;
static int line_done;

static void on_line(char *line) {
    finished_line = line;
    line_done = 1;
    rl_callback_handler_remove();
}


static char *prefill_text = NULL;
void nst_set_prefill(const char *text) {
    free(prefill_text);
    prefill_text = text ? strdup(text) : NULL;
}

void nst_lineedit_init(const char *app_name, nst_completer completer) {
    rl_readline_name = app_name;
    swift_completer = completer;
    rl_attempted_completion_function = complete;
    rl_completer_word_break_characters = " \t=,";
    rl_catch_signals = 0;
}

char *nst_readline(const char *prompt) {
    /* SIGINT is handled once for the whole process (CSignals): nothing is saved or restored here. */
    nst_sigint_install();
    nst_sigint_clear();
    line_done = 0;
    finished_line = NULL;
    rl_callback_handler_install(prompt, on_line);
    if (prefill_text) {
        rl_insert_text(prefill_text);
        rl_redisplay();
        free(prefill_text);
        prefill_text = NULL;
    }
    int fd = fileno(rl_instream ? rl_instream : stdin);
    while (!line_done) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fd, &fds);
        /* A timeout, in case the signal was delivered to another thread and select() was not woken. */
        struct timeval timeout = { 0, 200000 };
        int ready = select(fd + 1, &fds, NULL, NULL, &timeout);
        if (nst_sigint_pending()) {
            /* Ctrl-C at the prompt: drop the typed line and give an empty one. */
            nst_sigint_clear();
            rl_replace_line("", 0);
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_callback_handler_remove();
            fputs("^C\n", rl_outstream ? rl_outstream : stdout);
            fflush(rl_outstream ? rl_outstream : stdout);
            finished_line = strdup("");
            line_done = 1;
            continue;
        }
        if (ready < 0 && errno != EINTR) { finished_line = NULL; break; }   /* input gone: as Ctrl-D */
        if (ready <= 0) continue;
        rl_callback_read_char();
    }
    return finished_line;
}

void nst_add_history(const char *line) { add_history(line); }

int nst_read_history(const char *path) { return read_history(path); }

int nst_write_history(const char *path, int max_entries) {
    int status = write_history(path);
    if (status == 0 && max_entries > 0) history_truncate_file(path, max_entries);
    return status;
}
