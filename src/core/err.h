/* The one error type threaded through every fallible call.
 *
 * A fallible function takes `struct isola_err *err` last, returns a negative value on failure
 * after filling `err` (an errno and one line of text), and leaves `err` alone on success.
 * Callers add context with isola_err_wrap(); only main() prints.
 */
#ifndef ISOLA_ERR_H
#define ISOLA_ERR_H

#include <errno.h>

struct isola_err {
  int errnum;     /* errno of the cause, 0 for bad input */
  char msg[1024]; /* "create container `web`: mount `/proc`: Permission denied" */
};

/* Fills err with the formatted text; returns -1 so callers can `return isola_fail(...)`. */
int isola_fail(struct isola_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, appending ": strerror(errnum)" when errnum is not 0. */
int isola_fail_errno(struct isola_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes err->msg with the formatted context and ": ". Returns -1. */
int isola_err_wrap(struct isola_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
