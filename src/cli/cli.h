/* The command line: global options, the command table, and helpers shared by the commands.
 * Each command lives in its own file and only parses arguments and calls the library. */
#ifndef ISOLA_CLI_H
#define ISOLA_CLI_H

#include <stdbool.h>

#include "core/engine.h"
#include "core/err.h"
#include "core/state.h"

struct cli {
  const char *argv0;
  const char *root;
  const char *log_path;
  bool log_json;
  bool debug;
  const char *isolation; /* --isolation */
  const char *policy;    /* --policy, NULL: /etc/isola/policy.json when it exists */
};

extern struct cli cli;

struct command {
  const char *name;
  int (*run)(int argc, char **argv); /* argv[0] is the command name; returns the exit status */
  const char *summary;
};

/* Reports an error as runc does: to --log in its format, else to stderr. Returns 1. */
int cli_error(const struct isola_err *err);
int cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens and locks container `id` and loads its state, refreshed against the live process. */
int cli_open(const char *id, struct state_dir *d, struct isola_state *st, struct isola_err *err);
/* The engine that runs the container recorded in `st`. */
const struct isola_engine *cli_engine(const struct isola_state *st, struct isola_err *err);
/* The config saved in the state dir at create (NULL when there is none). */
struct oci_config *cli_saved_config(struct state_dir *d);
/* Shared by create and run: parses create's flags into `o`; returns the index of the id. */
int cli_parse_create(int argc, char **argv, struct create_opts *o, bool *detach, bool is_run);
/* create: loads the bundle, chooses the engine, creates. On failure nothing is left behind.
 * With `keep`, the parsed config is handed to the caller (`run` uses it for start and delete). */
int cli_create(struct create_opts *o, struct oci_config **keep, struct isola_err *err);
/* delete (also after `run`): destroys and removes the state dir. `cfg`: the container's config
 * if the caller has it parsed, NULL to read the copy saved at create. */
int cli_delete(const char *id, bool force, const struct oci_config *cfg, struct isola_err *err);

/* tty.c: the pty master the container sent over `sock` (-1 if none), and the relay between
 * it and our stdio until `pid` exits (its wait status in *status). */
int tty_receive(int sock);
void tty_relay(int master, pid_t pid, int *status);

int cmd_create(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_spec(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_wasm(int argc, char **argv); /* wasm.c */
int cmd_exec(int argc, char **argv);
int cmd_compare(int argc, char **argv); /* compare.c */
/* Resources and processes of a running container: update.c, pause.c, ps.c, events.c. */
int cmd_update(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_events(int argc, char **argv);
/* The container's cgroup directories (extra.cgroupDirs), or NULL with "CMD: container `x` has
 * no cgroups" in err. */
json_t *cli_cgroup_dirs(const struct isola_state *st, const char *cmd, struct isola_err *err);

#endif
