/* Helpers shared by the commands: error reporting, opening a container, signals. */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/cleanup.h"
#include "core/jsonio.h"

static void log_line(const char *level, const char *msg) {
  FILE *f = stderr;
  _cleanup_fclose_ FILE *logf = NULL;
  if (cli.log_path && (logf = fopen(cli.log_path, "ae"))) f = logf;
  if (cli.log_json) {
    char ts[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    json_t *j = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", ts);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text) fprintf(f, "%s\n", text);
    free(text);
    json_decref(j);
  } else if (f == stderr) {
    fprintf(f, "isola: %s%s\n", strcmp(level, "error") ? "debug: " : "", msg);
  } else {
    fprintf(f, "level=%s msg=\"%s\"\n", level, msg);
  }
}

int cli_error(const struct isola_err *err) {
  log_line("error", err->msg);
  return 1;
}

int cli_errorf(const char *fmt, ...) {
  struct isola_err err;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err.msg, sizeof err.msg, fmt, ap);
  va_end(ap);
  return cli_error(&err);
}

void cli_debug(const char *fmt, ...) {
  if (!cli.debug) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  log_line("debug", buf);
}

int cli_open(const char *id, struct state_dir *d, struct isola_state *st, struct isola_err *err) {
  if (state_dir_open(cli.root, id, true, d, err) < 0) return -1;
  if (state_load(d, st, err) < 0) {
    state_dir_close(d);
    return -1;
  }
  state_refresh(st);
  return 0;
}

const struct isola_engine *cli_engine(const struct isola_state *st, struct isola_err *err) {
  const char *name = st->engine ? st->engine : "container";
  const struct isola_engine *e = engine_find(name);
  if (!e) isola_fail(err, ENOTSUP, "container `%s`: engine `%s` is not built in", st->id, name);
  return e;
}

struct oci_config *cli_saved_config(struct state_dir *d) {
  struct oci_config *cfg = NULL;
  struct isola_err ignored;
  _cleanup_close_ int fd = openat(d->dirfd, "config.json", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_read_fd(fd, &jerr);
  if (j) oci_config_from_json(j, "config.json", &cfg, &ignored);
  return cfg;
}

