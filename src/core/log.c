/* The debug sink (see log.h). */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static isola_log_fn debug_sink;

void isola_log_set_debug(isola_log_fn fn) {
  debug_sink = fn;
}

int isola_log_debug_enabled(void) {
  return debug_sink != NULL;
}

void isola_debug(const char *fmt, ...) {
  if (!debug_sink) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  debug_sink(buf);
}
