/* isola start / state / kill / delete: commands on one existing container. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/signals.h"
#include "core/cleanup.h"

/* Parses only --help (and `flags`), then one id; returns the index of the id or -1. */
static int parse_simple(int argc, char **argv, const char *help, int min, int max) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    if (c == 'h') {
      printf("%s", help);
      exit(0);
    }
    cli_errorf("%s: unknown option `%s` (see isola %s --help)", argv[0], argv[optind - 1], argv[0]);
    return -1;
  }
  int n = argc - optind;
  if (n < min || n > max) {
    cli_errorf("%s: expected %s (see isola %s --help)", argv[0],
               max > 1 ? "a container id and maybe a signal" : "exactly one container id", argv[0]);
    return -1;
  }
  return optind;
}

int cmd_start(int argc, char **argv) {
  int i = parse_simple(argc, argv, "usage: isola start ID\n\nStarts the program of a created container.\n", 1, 1);
  if (i < 0) return 1;
  struct isola_err err;
  struct state_dir d;
  struct isola_state st;
  if (cli_open(argv[i], &d, &st, &err) < 0) return cli_error(&err);
  int r = 1;
  const struct isola_engine *e = cli_engine(&st, &err);
  struct oci_config *cfg = NULL;
  if (!e) goto out;
  if (st.status != ST_CREATED) {
    isola_fail(err.msg[0] ? &err : &err, EINVAL, "cannot start container `%s`: it is %s, not created",
               st.id, state_status_name(st.status));
    goto out;
  }
  if (!(cfg = cli_saved_config(&d))) {
    isola_fail(&err, ENOENT, "container `%s`: its saved config is missing", st.id);
    goto out;
  }
  r = e->start(&d, &st, cfg, &err) < 0;
out:
  oci_config_free(cfg);
  state_release(&st);
  state_dir_close(&d);
  return r ? cli_error(&err) : 0;
}

int cmd_state(int argc, char **argv) {
  int i = parse_simple(argc, argv, "usage: isola state ID\n\nPrints the OCI state of a container as JSON.\n", 1, 1);
  if (i < 0) return 1;
  struct isola_err err;
  struct state_dir d;
  struct isola_state st;
  if (state_dir_open(cli.root, argv[i], false, &d, &err) < 0) return cli_error(&err);
  if (state_load(&d, &st, &err) < 0) {
    state_dir_close(&d);
    return cli_error(&err);
  }
  state_refresh(&st);
  _cleanup_json_ json_t *j = state_oci_json(&st);
  char *text = json_dumps(j, JSON_INDENT(2));
  printf("%s\n", text);
  free(text);
  state_release(&st);
  state_dir_close(&d);
  return 0;
}

int cmd_kill(int argc, char **argv) {
  static const struct option opts[] = {
      {"all", no_argument, 0, 'a'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  bool all = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+ah", opts, NULL)) != -1) {
    if (c == 'a') all = true;
    else if (c == 'h') {
      printf("usage: isola kill [--all|-a] ID [SIGNAL]\n\nSends SIGNAL (a name like TERM or "
             "SIGTERM, or a number; default TERM)\nto the container's process, or with --all to "
             "every process in its cgroup.\n");
      return 0;
    } else
      return cli_errorf("kill: unknown option `%s` (see isola kill --help)", argv[optind - 1]);
  }
  if (argc - optind < 1 || argc - optind > 2)
    return cli_errorf("kill: expected a container id and maybe a signal (see isola kill --help)");
  const char *id = argv[optind];
  int sig = SIGTERM;
  if (argc - optind == 2 && (sig = signal_parse(argv[optind + 1])) < 0)
    return cli_errorf("kill: unknown signal `%s`", argv[optind + 1]);
  struct isola_err err;
  struct state_dir d;
  struct isola_state st;
  if (cli_open(id, &d, &st, &err) < 0) return cli_error(&err);
  int r = 1;
  const struct isola_engine *e = cli_engine(&st, &err);
  if (!e) goto out;
  if (st.status == ST_STOPPED || st.pid <= 0) {
    isola_fail(&err, ESRCH, "cannot kill container `%s`: it is not running", id);
    goto out;
  }
  r = e->kill(&d, &st, sig, all, &err) < 0;
out:
  state_release(&st);
  state_dir_close(&d);
  return r ? cli_error(&err) : 0;
}

int cli_delete(const char *id, bool force, const struct oci_config *given,
               struct isola_err *err) {
  struct state_dir d;
  struct isola_state st;
  if (cli_open(id, &d, &st, err) < 0) return -1;
  int r = -1;
  const struct isola_engine *e = cli_engine(&st, err);
  struct oci_config *loaded = given ? NULL : cli_saved_config(&d);
  const struct oci_config *cfg = given ? given : loaded;
  if (!e) goto out;
  /* Like runc: a created (never started) container is deleted without --force. */
  if (!force && (st.status == ST_RUNNING || st.status == ST_PAUSED)) {
    isola_fail(err, EBUSY,
               "cannot delete container `%s`: it is %s (stop it first, or use --force)", id,
               state_status_name(st.status));
    goto out;
  }
  if (e->destroy(&d, &st, cfg, err) < 0) goto out;
  oci_config_free(loaded);
  state_release(&st);
  return state_dir_remove(&d, err);
out:
  oci_config_free(loaded);
  state_release(&st);
  state_dir_close(&d);
  return r;
}

int cmd_delete(int argc, char **argv) {
  static const struct option opts[] = {
      {"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  bool force = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
    if (c == 'f') force = true;
    else if (c == 'h') {
      printf("usage: isola delete [--force|-f] ID\n\nDeletes a stopped or created container "
             "and all it holds (processes,\ncgroups, state); --force kills a running one "
             "first.\n");
      return 0;
    } else
      return cli_errorf("delete: unknown option `%s` (see isola delete --help)", argv[optind - 1]);
  }
  if (argc - optind != 1)
    return cli_errorf("delete: expected exactly one container id (see isola delete --help)");
  struct isola_err err;
  if (cli_delete(argv[optind], force, NULL, &err) < 0) {
    /* runc: deleting what does not exist with --force is not an error. */
    if (force && err.errnum == ENOENT && strstr(err.msg, "does not exist")) return 0;
    return cli_error(&err);
  }
  return 0;
}
