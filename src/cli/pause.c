/* isola pause / resume: freeze and thaw every process of a container (the cgroup freezer). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "container/cgroup.h"

static int pause_or_resume(int argc, char **argv, bool pause) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  const char *name = pause ? "pause" : "resume";
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    if (c != 'h')
      return cli_errorf("%s: unknown option `%s` (see isola %s --help)", name, argv[optind - 1], name);
    if (pause)
      printf("usage: isola pause ID\n\nFreezes every process of a running container (the cgroup "
             "freezer); its status\nbecomes \"paused\" until `isola resume`.\n");
    else
      printf("usage: isola resume ID\n\nThaws the processes of a paused container.\n");
    return 0;
  }
  if (argc - optind != 1)
    return cli_errorf("%s: expected exactly one container id (see isola %s --help)", name, name);
  const char *id = argv[optind];
  struct isola_err err;
  struct state_dir d;
  struct isola_state st;
  if (cli_open(id, &d, &st, &err) < 0) return cli_error(&err);
  int r = -1;
  json_t *dirs = cli_cgroup_dirs(&st, name, &err);
  if (!dirs) goto out;
  if (pause && st.status != ST_RUNNING && st.status != ST_CREATED) {
    isola_fail(&err, EINVAL, "cannot pause container `%s`: it is %s", id, state_status_name(st.status));
    goto out;
  }
  if (!pause && st.status != ST_PAUSED) {
    isola_fail(&err, EINVAL, "cannot resume container `%s`: it is %s, not paused", id,
               state_status_name(st.status));
    goto out;
  }
  if (cgroup_freeze(dirs, pause, &err) < 0) {
    isola_err_wrap(&err, "%s container `%s`", name, id);
    goto out;
  }
  st.status = pause ? ST_PAUSED : st.started ? ST_RUNNING : ST_CREATED;
  if ((r = state_save(&d, &st, &err)) < 0 && pause) {
    struct isola_err ignored; /* not recorded as paused: do not leave it frozen */
    cgroup_freeze(dirs, false, &ignored);
  }
out:
  state_release(&st);
  state_dir_close(&d);
  return r < 0 ? cli_error(&err) : 0;
}

int cmd_pause(int argc, char **argv) { return pause_or_resume(argc, argv, true); }
int cmd_resume(int argc, char **argv) { return pause_or_resume(argc, argv, false); }
