// GNU readline behind four calls, so Swift needs no readline headers.
#ifndef CLINEEDIT_H
#define CLINEEDIT_H

// Completion: given the word being completed and the whole line up to the cursor, return a
// malloc'd, NULL-terminated array of malloc'd strings (or NULL for none); readline frees them.
typedef char **(*nst_completer)(const char *word, const char *line_before_word);

void nst_lineedit_init(const char *app_name, nst_completer completer);
// Returns a malloc'd line without its newline, or NULL at end of input (Ctrl-D).
// A Ctrl-C while reading discards the line and returns "" (an empty line).
char *nst_readline(const char *prompt);
// Text to place on the next input line, ready to edit (the lesson `edit` command).
void nst_set_prefill(const char *text);
void nst_add_history(const char *line);
int nst_read_history(const char *path);
int nst_write_history(const char *path, int max_entries);

#endif
