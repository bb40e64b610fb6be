/* isola: global options and the command table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "container/seccomp.h"
#include "core/log.h"

#ifndef ISOLA_VERSION
#define ISOLA_VERSION "0.1.0"
#endif

struct cli cli = {.root = NULL}; /* default_root() after parsing */

/* /run/isola for root; for anyone else $XDG_RUNTIME_DIR/isola (as runc uses .../runc), else
 * /tmp/isola-UID, which must then be the caller's own directory (anyone may create in /tmp). */
static const char *default_root(void) {
  static char buf[4096];
  uid_t uid = geteuid();
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  if (uid == 0) return "/run/isola";
  if (xdg && xdg[0] == '/') {
    snprintf(buf, sizeof buf, "%s/isola", xdg);
    return buf;
  }
  snprintf(buf, sizeof buf, "/tmp/isola-%u", (unsigned)uid);
  struct stat sb;
  if (mkdir(buf, 0700) < 0 && errno != EEXIST) return buf; /* state_dir_* report the error */
  if (lstat(buf, &sb) == 0 && (!S_ISDIR(sb.st_mode) || sb.st_uid != uid)) {
    fprintf(stderr, "isola: `%s` is not a directory owned by uid %u: pass --root\n", buf,
            (unsigned)uid);
    exit(1);
  }
  return buf;
}

static void debug_note(const char *msg) { cli_debug("%s", msg); }

static const struct command commands[] = {
    {"create", cmd_create, "create a container (paused before its program)"},
    {"start", cmd_start, "start the program of a created container"},
    {"run", cmd_run, "create and start a container, and wait for it"},
    {"state", cmd_state, "print the state of a container as OCI state JSON"},
    {"kill", cmd_kill, "send a signal to a container's process"},
    {"exec", cmd_exec, "run another process in a running container"},
    {"delete", cmd_delete, "delete a container and everything it holds"},
    {"update", cmd_update, "change the resource limits of a running container"},
    {"pause", cmd_pause, "freeze every process of a container"},
    {"resume", cmd_resume, "thaw a paused container"},
    {"ps", cmd_ps, "list the processes of a container"},
    {"events", cmd_events, "print OOM events and resource stats of a container"},
    {"list", cmd_list, "list containers"},
    {"spec", cmd_spec, "write a default config.json"},
    {"features", cmd_features, "print the OCI features document"},
    {"wasm", cmd_wasm, "run a WebAssembly module directly: isola wasm run FILE.wasm [ARGS]"},
    {"compare", cmd_compare, "run a bundle under each engine and compare start, time, memory"},
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: isola [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
          "Runs OCI bundles as containers, microVMs or WebAssembly sandboxes.\n\n"
          "global options:\n"
          "  --root DIR            state directory (default /run/isola; unprivileged:\n"
          "                        $XDG_RUNTIME_DIR/isola, else /tmp/isola-UID)\n"
          "  --log FILE            write errors and debug output to FILE instead of stderr\n"
          "  --log-format FORMAT   text or json (default text)\n"
          "  --isolation ENGINE    container, vm or wasm (default: chosen per bundle)\n"
          "  --policy FILE         engine policy (default /etc/isola/policy.json if present)\n"
          "  --systemd-cgroup      accepted for runc compatibility; cgroupfs is used\n"
          "  --debug               print what is done\n"
          "  --version, --help\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n`isola COMMAND --help` describes each.\n");
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"root", required_argument, 0, 'r'},     {"log", required_argument, 0, 'l'},
      {"log-format", required_argument, 0, 'f'}, {"debug", no_argument, 0, 'd'},
      {"version", no_argument, 0, 'v'},        {"help", no_argument, 0, 'h'},
      {"isolation", required_argument, 0, 'i'}, {"systemd-cgroup", no_argument, 0, 's'},
      {"policy", required_argument, 0, 'P'},
      {"rootless", required_argument, 0, 'R'}, {"criu", required_argument, 0, 'c'},
      {0, 0, 0, 0},
  };
  cli.argv0 = argv[0];
  /* jansson seeds its hash function (against inputs crafted to collide) on the first object
   * from /dev/urandom: an open, a read and a close. getrandom(2) gives the same in one call.
   * Left to jansson when it fails (a kernel without getrandom). */
  uint32_t seed;
  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == sizeof seed && seed) json_object_seed(seed);
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
    switch (c) {
    case 'r': cli.root = optarg; break;
    case 'l': cli.log_path = optarg; break;
    case 'f':
      if (strcmp(optarg, "text") && strcmp(optarg, "json"))
        return cli_errorf("--log-format: expected text or json, got `%s`", optarg);
      cli.log_json = !strcmp(optarg, "json");
      break;
    case 'd': cli.debug = true; break;
    case 'i': cli.isolation = optarg; break;
    case 'P': cli.policy = optarg; break;
    case 's': case 'R': case 'c': break; /* accepted for compatibility */
    case 'v':
      printf("isola version %s\nspec: 1.0.2\nengines:", ISOLA_VERSION);
      for (const char *const *n = engine_names(); *n; n++) printf(" %s", *n);
      printf("\n");
      return 0;
    case 'h': usage(stdout); return 0;
    default:
      return cli_errorf("unknown global option `%s` (see isola --help)", argv[optind - 1]);
    }
  }
  if (!cli.root) cli.root = default_root();
  if (cli.debug) isola_log_set_debug(debug_note);
  /* Commands may change directory (create works from the bundle): anchor relative paths. */
  static char root[4096], log[4096];
  char cwd[4000];
  if (cli.root[0] != '/' && getcwd(cwd, sizeof cwd)) {
    snprintf(root, sizeof root, "%s/%s", cwd, cli.root);
    cli.root = root;
  }
  if (cli.log_path && cli.log_path[0] != '/' && getcwd(cwd, sizeof cwd)) {
    snprintf(log, sizeof log, "%s/%s", cwd, cli.log_path);
    cli.log_path = log;
  }
  seccomp_cache_set_root(cli.root); /* compiled filters are cached under ROOT/.seccomp */
  if (optind >= argc) {
    usage(stderr);
    return 1;
  }
  const char *name = argv[optind];
  int sub = optind;
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (!strcmp(commands[i].name, name)) {
      optind = 0; /* reset getopt: the command parses its own options from argv[1] */
      return commands[i].run(argc - sub, argv + sub);
    }
  return cli_errorf("unknown command `%s` (see isola --help)", name);
}
