/* isola ps: the processes of a container, as pids (-f json) or as `ps` prints them. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "container/cgroup.h"
#include "core/cleanup.h"

/* Runs `ps ARGS` and prints its header and the lines whose PID column is one of `pids`. */
static int ps_filtered(char **args, int nargs, const pid_t *pids, size_t n, struct isola_err *err) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return isola_fail_errno(err, errno, "ps: pipe");
  _cleanup_free_ char **argv = calloc((size_t)nargs + 3, sizeof *argv);
  if (!argv) return isola_fail(err, ENOMEM, "ps");
  argv[0] = "ps";
  if (nargs == 0) argv[1] = "-ef"; /* runc's default */
  for (int i = 0; i < nargs; i++) argv[i + 1] = args[i];
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) return isola_fail_errno(err, errno, "ps: fork");
  if (child == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execvp("ps", argv);
    fprintf(stderr, "isola: ps: exec `ps`: %s\n", strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  _cleanup_fclose_ FILE *in = fdopen(fds[0], "r");
  if (!in) {
    close(fds[0]);
    waitpid(child, NULL, 0);
    return isola_fail_errno(err, errno, "ps");
  }
  char *line = NULL;
  size_t cap = 0;
  int col = -1, r = 0;
  while (getline(&line, &cap, in) > 0) {
    if (col < 0) { /* the header: find the PID column */
      char copy[4096], *save, *tok;
      snprintf(copy, sizeof copy, "%s", line);
      int i = 0;
      for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), i++)
        if (!strcmp(tok, "PID")) col = i;
      if (col < 0) {
        r = isola_fail(err, EINVAL, "ps: couldn't find the PID field in ps output");
        break;
      }
      fputs(line, stdout);
      continue;
    }
    char copy[4096], *save, *tok;
    snprintf(copy, sizeof copy, "%s", line);
    tok = strtok_r(copy, " \t\n", &save);
    for (int i = 0; tok && i < col; i++) tok = strtok_r(NULL, " \t\n", &save);
    if (!tok) continue;
    pid_t p = (pid_t)atoi(tok);
    for (size_t k = 0; k < n; k++)
      if (pids[k] == p) {
        fputs(line, stdout);
        break;
      }
  }
  free(line);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    r = isola_fail(err, ECHILD, "ps: `ps` exited with %s %d", WIFSIGNALED(status) ? "signal" : "status",
                   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  return r;
}

int cmd_ps(int argc, char **argv) {
  static const struct option opts[] = {
      {"format", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  bool json = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      if (strcmp(optarg, "table") && strcmp(optarg, "json"))
        return cli_errorf("ps: --format: expected table or json, got `%s`", optarg);
      json = !strcmp(optarg, "json");
      break;
    case 'h':
      printf("usage: isola ps [--format table|json] ID [PS OPTIONS]\n\nLists the processes of "
             "a container: with -f json as a JSON array of pids, else\nas `ps PS OPTIONS` "
             "(default -ef) prints them, keeping only the container's lines.\n");
      return 0;
    default: return cli_errorf("ps: unknown option `%s` (see isola ps --help)", argv[optind - 1]);
    }
  }
  if (argc - optind < 1) return cli_errorf("ps: expected a container id (see isola ps --help)");
  const char *id = argv[optind];
  if (json && argc - optind > 1) return cli_errorf("ps: --format json takes no ps options");
  struct isola_err err;
  struct state_dir d;
  struct isola_state st;
  if (cli_open(id, &d, &st, &err) < 0) return cli_error(&err);
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  json_t *dirs = cli_cgroup_dirs(&st, "ps", &err);
  int r = dirs ? 0 : -1;
  if (dirs && (r = cgroup_pids(dirs, &pids, &n, &err)) < 0) isola_err_wrap(&err, "ps");
  /* Let go of the container before running ps. */
  state_release(&st);
  state_dir_close(&d);
  if (r < 0) return cli_error(&err);
  if (json) {
    _cleanup_json_ json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer(pids[i]));
    _cleanup_free_ char *text = json_dumps(a, JSON_COMPACT);
    printf("%s\n", text ? text : "[]");
    return 0;
  }
  if (ps_filtered(argv + optind + 1, argc - optind - 1, pids, n, &err) < 0) return cli_error(&err);
  return 0;
}
