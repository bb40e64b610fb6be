/* isola exec: run one more process in a running container. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/cleanup.h"

static void usage(void) {
  printf("usage: isola exec [OPTIONS] ID COMMAND [ARGS...]\n"
         "       isola exec [OPTIONS] -p process.json ID\n\n"
         "Runs a process inside a running container: its namespaces, cgroup and seccomp filter.\n"
         "Without -p the container's own process settings are the base.\n\n"
         "  -p, --process FILE      the whole process as OCI JSON (`-` = stdin)\n"
         "  -t, --tty               allocate a pty (with --console-socket, or relayed here)\n"
         "  --console-socket PATH   send the pty master to this socket\n"
         "  -d, --detach            return once it runs; do not wait\n"
         "  -e, --env K=V           add to the environment (repeatable)\n"
         "  --cwd DIR               working directory inside the container\n"
         "  -u, --user UID[:GID]    run as this user\n"
         "  --additional-gids GID   supplementary group (repeatable)\n"
         "  -c, --cap CAP           add a capability (repeatable)\n"
         "  --no-new-privs          set no_new_privs\n"
         "  --pid-file FILE         write the process's pid to FILE\n"
         "  --preserve-fds N        pass N more fds (3..3+N-1)\n");
}

static volatile pid_t exec_child;
static void forward(int sig) {
  if (exec_child > 0) kill(exec_child, sig);
}

static int add_cap(json_t *caps, const char *set, const char *name) {
  json_t *arr = json_object_get(caps, set);
  if (!arr) json_object_set_new(caps, set, arr = json_array());
  return json_array_append_new(arr, json_string(name));
}

int cmd_exec(int argc, char **argv) {
  static const struct option opts[] = {
      {"process", required_argument, 0, 'p'}, {"tty", no_argument, 0, 't'},
      {"console-socket", required_argument, 0, 's'}, {"detach", no_argument, 0, 'd'},
      {"env", required_argument, 0, 'e'},     {"cwd", required_argument, 0, 'w'},
      {"user", required_argument, 0, 'u'},    {"additional-gids", required_argument, 0, 'g'},
      {"cap", required_argument, 0, 'c'},     {"no-new-privs", no_argument, 0, 'n'},
      {"pid-file", required_argument, 0, 'P'}, {"preserve-fds", required_argument, 0, 'f'},
      {"help", no_argument, 0, 'h'},          {"process-label", required_argument, 0, 'L'},
      {"apparmor", required_argument, 0, 'A'}, {"ignore-paused", no_argument, 0, 'I'},
      {0, 0, 0, 0},
  };
  const char *process_file = NULL, *console_socket = NULL, *cwd = NULL, *user = NULL,
             *pid_file = NULL;
  bool tty = false, detach = false, nnp = false;
  int preserve = 0;
  _cleanup_json_ json_t *envs = json_array(), *gids = json_array(), *caps = json_array();
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+p:tde:u:c:h", opts, NULL)) != -1) {
    switch (c) {
    case 'p': process_file = optarg; break;
    case 't': tty = true; break;
    case 's': console_socket = optarg; break;
    case 'd': detach = true; break;
    case 'e':
      if (!strchr(optarg, '=')) return cli_errorf("exec: --env `%s`: expected KEY=VALUE", optarg);
      json_array_append_new(envs, json_string(optarg));
      break;
    case 'w': cwd = optarg; break;
    case 'u': user = optarg; break;
    case 'g': {
      char *end;
      long g = strtol(optarg, &end, 10);
      if (*end || g < 0) return cli_errorf("exec: --additional-gids `%s`: expected a number", optarg);
      json_array_append_new(gids, json_integer(g));
      break;
    }
    case 'c': json_array_append_new(caps, json_string(optarg)); break;
    case 'n': nnp = true; break;
    case 'P': pid_file = optarg; break;
    case 'f': preserve = atoi(optarg); break;
    case 'L':
    case 'A': return cli_errorf("exec: SELinux and AppArmor are not enabled on this host");
    case 'I': break;
    case 'h': usage(); return 0;
    default: return cli_errorf("exec: unknown option `%s` (see isola exec --help)", argv[optind - 1]);
    }
  }
  if (optind >= argc) return cli_errorf("exec: expected a container id (see isola exec --help)");
  const char *id = argv[optind++];
  if (!process_file && optind >= argc)
    return cli_errorf("exec: expected a command, or -p process.json (see isola exec --help)");

  struct isola_err err;
  struct state_dir d;
  struct isola_state st;
  if (cli_open(id, &d, &st, &err) < 0) return cli_error(&err);
  /* The lock is not needed while the process runs: release it so others can act. */
  int rc = 1;
  struct oci_config *cfg = cli_saved_config(&d);
  const struct isola_engine *e = cli_engine(&st, &err);
  _cleanup_json_ json_t *proc = NULL;
  struct oci_process p = {0};
  if (!e) goto out;
  if (!cfg) {
    isola_fail(&err, ENOENT, "container `%s`: its saved config is missing", id);
    goto out;
  }
  if (st.status != ST_RUNNING && st.status != ST_CREATED) {
    isola_fail(&err, EINVAL, "cannot exec in container `%s`: it is %s", id,
               state_status_name(st.status));
    goto out;
  }
  if (!e->exec) {
    isola_fail(&err, ENOTSUP, "the %s engine cannot exec", e->name);
    goto out;
  }
  const char *where = "process";
  if (process_file) {
    json_error_t jerr;
    proc = !strcmp(process_file, "-") ? json_loadf(stdin, 0, &jerr)
                                      : json_load_file(process_file, 0, &jerr);
    if (!proc) {
      isola_fail(&err, EINVAL, "exec: %s: %s", process_file, jerr.text);
      goto out;
    }
    where = process_file;
  } else {
    json_t *base = json_object_get(cfg->json, "process");
    proc = base ? json_deep_copy(base) : json_object();
    json_t *args = json_array();
    for (int i = optind; i < argc; i++) json_array_append_new(args, json_string(argv[i]));
    json_object_set_new(proc, "args", args);
    json_object_set_new(proc, "terminal", json_boolean(tty));
    json_object_del(proc, "consoleSize");
    json_t *env = json_object_get(proc, "env");
    if (!env) json_object_set_new(proc, "env", env = json_array());
    json_array_extend(env, envs);
    if (cwd) json_object_set_new(proc, "cwd", json_string(cwd));
    if (user) {
      unsigned long uid, gid = 0;
      char *end;
      uid = strtoul(user, &end, 10);
      if (*end == ':') gid = strtoul(end + 1, &end, 10);
      if (*end || end == user) {
        isola_fail(&err, EINVAL, "exec: --user `%s`: expected UID[:GID]", user);
        goto out;
      }
      json_object_set_new(proc, "user", json_pack("{s:I, s:I}", "uid", (json_int_t)uid, "gid",
                                                   (json_int_t)gid));
    }
    if (json_array_size(gids)) {
      json_t *u = json_object_get(proc, "user");
      if (!u) json_object_set_new(proc, "user", u = json_object());
      json_object_set(u, "additionalGids", gids);
    }
    if (json_array_size(caps)) {
      json_t *cs = json_object_get(proc, "capabilities");
      if (!cs) json_object_set_new(proc, "capabilities", cs = json_object());
      size_t i;
      json_t *cap;
      json_array_foreach(caps, i, cap) {
        const char *n = json_string_value(cap);
        char name[64];
        snprintf(name, sizeof name, "%s%s", strncasecmp(n, "CAP_", 4) ? "CAP_" : "", n);
        for (const char *const *set = (const char *const[]){"bounding", "effective", "permitted",
                                                             "inheritable", NULL};
             *set; set++)
          add_cap(cs, *set, name);
      }
    }
    if (nnp) json_object_set_new(proc, "noNewPrivileges", json_true());
  }
  if (oci_process_parse(proc, where, &p, &err) < 0) goto out;
  if (!p.nargs) {
    isola_fail(&err, EINVAL, "%s.args: at least one argument is required", where);
    goto out;
  }
  if (!p.cwd && !(p.cwd = strdup("/"))) goto out;

  int console[2] = {-1, -1};
  if (p.terminal && !console_socket && !detach)
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0) console[0] = -1;
  struct exec_opts o = {.process = &p, .console_socket = console_socket,
                        .console_fd = console[1], .preserve_fds = preserve};
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t pid;
  int r = e->exec(&d, &st, cfg, &o, &pid, &err);
  if (console[1] >= 0) close(console[1]);
  state_dir_close(&d);
  if (r < 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    isola_err_wrap(&err, "exec in container `%s`", id);
    goto out_closed;
  }
  if (pid_file) {
    FILE *f = fopen(pid_file, "we");
    if (!f || fprintf(f, "%d", pid) < 0 || fclose(f) != 0) {
      isola_fail_errno(&err, errno, "--pid-file: write `%s`", pid_file);
      sigprocmask(SIG_SETMASK, &old, NULL);
      goto out_closed;
    }
  }
  if (detach) {
    rc = 0;
    goto out_closed;
  }
  exec_child = pid;
  struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD && s != SIGSEGV && s != SIGBUS &&
        s != SIGFPE && s != SIGILL && s != SIGTTIN && s != SIGTTOU && s != SIGTSTP)
      sigaction(s, &sa, NULL);
  sigprocmask(SIG_SETMASK, &old, NULL);
  int status = 0, master = console[0] >= 0 ? tty_receive(console[0]) : -1;
  if (master >= 0) {
    tty_relay(master, pid, &status);
  } else {
    while (waitpid(pid, &status, 0) < 0)
      if (errno != EINTR) break;
  }
  rc = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  oci_process_release(&p);
  oci_config_free(cfg);
  state_release(&st);
  return rc;
out:
  state_dir_close(&d);
out_closed:
  oci_process_release(&p);
  oci_config_free(cfg);
  state_release(&st);
  return rc == 0 ? 0 : cli_error(&err);
}
