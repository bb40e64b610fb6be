/* Debug notes from the library ("skipped 3 syscall names unknown to libseccomp").
 *
 * The library never prints: it hands each note to a sink that main() installs (the CLI's
 * --debug log, which honours --log and --log-format). Without a sink, notes are dropped, so
 * library calls made by tests or other programs stay silent.
 */
#ifndef ISOLA_LOG_H
#define ISOLA_LOG_H

typedef void (*isola_log_fn)(const char *msg);

/* Installs the sink for debug notes (NULL: drop them). */
void isola_log_set_debug(isola_log_fn fn);
/* True when a sink is installed: callers may skip building expensive notes otherwise. */
int isola_log_debug_enabled(void);
void isola_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
