/* isola create / isola run */
#include <fcntl.h>
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
#include "core/jsonio.h"
#include "core/select.h"

static void usage(FILE *f, bool is_run) {
  fprintf(f,
          "usage: isola %s [OPTIONS] ID\n\n%s\n\n"
          "  -b, --bundle DIR        the bundle (default: the current directory)\n"
          "  --pid-file FILE         write the container's pid to FILE\n"
          "  --console-socket PATH   send the pty master of process.terminal to this socket\n"
          "  --no-pivot              move the root with MS_MOVE+chroot instead of pivot_root\n"
          "  --no-new-keyring        keep the caller's session keyring\n"
          "  --preserve-fds N        pass N more fds (3..3+N-1) to the program\n"
          "%s",
          is_run ? "run" : "create",
          is_run ? "Creates and starts a container, waits for it, deletes it, and exits with "
                   "its status\n(128+N after signal N). Signals sent to isola go to the program."
                 : "Creates a container: everything is prepared and the program waits, before "
                   "execve,\nuntil `isola start ID`.",
          is_run ? "  -d, --detach            start it and return at once (no wait, no delete)\n"
                 : "");
}

int cli_parse_create(int argc, char **argv, struct create_opts *o, bool *detach, bool is_run) {
  static const struct option opts[] = {
      {"bundle", required_argument, 0, 'b'},       {"pid-file", required_argument, 0, 'p'},
      {"console-socket", required_argument, 0, 'c'}, {"no-pivot", no_argument, 0, 'P'},
      {"no-new-keyring", no_argument, 0, 'k'},     {"preserve-fds", required_argument, 0, 'f'},
      {"detach", no_argument, 0, 'd'},             {"help", no_argument, 0, 'h'},
      {"keep", no_argument, 0, 'K'},               {"no-subreaper", no_argument, 0, 'S'},
      {0, 0, 0, 0},
  };
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, is_run ? "+b:dh" : "+b:h", opts, NULL)) != -1) {
    switch (c) {
    case 'b': o->bundle = optarg; break;
    case 'p': o->pid_file = optarg; break;
    case 'c': o->console_socket = optarg; break;
    case 'P': o->no_pivot = true; break;
    case 'k': o->no_new_keyring = true; break;
    case 'f': {
      char *end;
      long n = strtol(optarg, &end, 10);
      if (*end || n < 0 || n > 65536) {
        cli_errorf("--preserve-fds: expected a count, got `%s`", optarg);
        return -1;
      }
      o->preserve_fds = (int)n;
      break;
    }
    case 'd':
      if (!is_run) goto bad;
      *detach = true;
      break;
    case 'K': case 'S': break;
    case 'h': usage(stdout, is_run); exit(0);
    default:
    bad:
      cli_errorf("%s: unknown option `%s` (see isola %s --help)", argv[0], argv[optind - 1],
                 argv[0]);
      return -1;
    }
  }
  if (optind != argc - 1) {
    cli_errorf("%s: expected exactly one container id (see isola %s --help)", argv[0], argv[0]);
    return -1;
  }
  o->id = argv[optind];
  return optind;
}

static int write_pid_file(const char *path, pid_t pid, struct isola_err *err) {
  char tmp[PATH_MAX], buf[32];
  snprintf(tmp, sizeof tmp, "%s.tmp%d", path, getpid());
  int n = snprintf(buf, sizeof buf, "%d", pid);
  _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, buf, n) != n || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return isola_fail_errno(err, e, "--pid-file: write `%s`", path);
  }
  return 0;
}

int cli_create(struct create_opts *o, struct oci_config **keep, struct isola_err *err) {
  char bundle[PATH_MAX], path[PATH_MAX + 16];
  if (!realpath(o->bundle ? o->bundle : ".", bundle))
    return isola_fail_errno(err, errno, "bundle `%s`", o->bundle ? o->bundle : ".");
  o->bundle = bundle;
  if (!o->root) o->root = cli.root;
  /* Relative paths in config.json (root.path, bind sources) are relative to the bundle, as in
   * runc: work from there. Paths given on our command line were relative to the caller's
   * directory: make them absolute first. */
  char pid_file[PATH_MAX], console[PATH_MAX];
  if (o->pid_file && o->pid_file[0] != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return isola_fail_errno(err, errno, "getcwd");
    snprintf(pid_file, sizeof pid_file, "%s/%s", cwd, o->pid_file);
    o->pid_file = pid_file;
  }
  if (o->console_socket && o->console_socket[0] != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return isola_fail_errno(err, errno, "getcwd");
    snprintf(console, sizeof console, "%s/%s", cwd, o->console_socket);
    o->console_socket = console;
  }
  if (chdir(bundle) < 0) return isola_fail_errno(err, errno, "bundle `%s`", bundle);
  if (state_check_id(o->id, err) < 0) return -1;
  snprintf(path, sizeof path, "%s/config.json", bundle);
  struct oci_config *cfg = NULL;
  if (oci_config_load(path, &cfg, err) < 0) return -1;
  int ret = -1;
  struct state_dir d = {.dirfd = -1};
  struct isola_state st = {0};
  _cleanup_close_ int cfd = -1;

  char rootfs[PATH_MAX + 8];
  if (cfg->root_path[0] == '/') snprintf(rootfs, sizeof rootfs, "%s", cfg->root_path);
  else snprintf(rootfs, sizeof rootfs, "%s/%s", bundle, cfg->root_path);
  struct engine_choice choice;
  struct policy policy = {0};
  if (policy_load(cli.policy ? cli.policy : "/etc/isola/policy.json", cli.policy != NULL, &policy,
                  err) < 0)
    goto out;
  struct select_input sel = {.flag = cli.isolation, .argv0 = cli.argv0, .cfg = cfg,
                             .bundle = bundle, .rootfs = rootfs, .policy = &policy, .kvm = -1};
  int chosen = select_engine(&sel, &choice, err);
  policy_release(&policy);
  if (chosen < 0) goto out;
  const struct isola_engine *engine = engine_find(choice.engine);
  if (!engine) {
    isola_fail(err, ENOTSUP, "engine `%s` (chosen by %s) is not built into this isola",
               choice.engine, choice.reason);
    goto out;
  }
  cli_debug("container `%s`: engine %s (%s)", o->id, choice.engine, choice.reason);
  if (state_dir_create(o->root, o->id, &d, err) < 0) goto out;
  st.id = strdup(o->id);
  st.bundle = strdup(bundle);
  st.engine = strdup(choice.engine);
  st.engine_reason = strdup(choice.reason);
  st.annotations = cfg->annotations ? json_deep_copy(cfg->annotations) : json_object();
  cfd = openat(d.dirfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  /* The bytes we parsed, as they are: the same document as the parsed tree, without the cost
   * of encoding it again (a seccomp profile makes config.json several KiB). */
  if (cfd < 0 || (cfg->text ? write_all_fd(cfd, cfg->text, cfg->text_len)
                            : json_write_fd(cfd, cfg->json, JSON_COMPACT)) < 0) {
    isola_fail_errno(err, errno ? errno : EIO, "save config in `%s`", d.path);
    goto remove;
  }
  if (engine->create(o, cfg, &d, &st, err) < 0) goto remove;
  if (o->pid_file && write_pid_file(o->pid_file, st.pid, err) < 0) {
    struct isola_err ignored;
    engine->destroy(&d, &st, NULL, &ignored);
    goto remove;
  }
  ret = 0;
  state_dir_close(&d);
  goto out;
remove:;
  struct isola_err ignored;
  state_dir_remove(&d, &ignored);
out:
  isola_err_wrap(err, "create container `%s`", o->id);
  state_release(&st);
  if (ret == 0 && keep) *keep = cfg;
  else oci_config_free(cfg);
  return ret;
}

int cmd_create(int argc, char **argv) {
  struct create_opts o = {.console_fd = -1};
  bool detach = false;
  if (cli_parse_create(argc, argv, &o, &detach, false) < 0) return 1;
  struct isola_err err;
  if (cli_create(&o, NULL, &err) < 0) return cli_error(&err);
  return 0;
}

/* ---- run ---------------------------------------------------------------------------------- */

static volatile pid_t run_child;

static void forward(int sig) {
  if (run_child > 0) kill(run_child, sig);
}

/* `cfg`: the config `run` parsed at create (the saved copy is the same document). */
static int start_id(const char *id, const struct oci_config *cfg, pid_t *pid,
                    struct isola_err *err) {
  struct state_dir d;
  struct isola_state st;
  if (cli_open(id, &d, &st, err) < 0) return -1;
  const struct isola_engine *e = cli_engine(&st, err);
  int r = e ? e->start(&d, &st, cfg, err) : -1;
  *pid = st.pid;
  state_release(&st);
  state_dir_close(&d);
  return r;
}

int cmd_run(int argc, char **argv) {
  struct create_opts o = {.console_fd = -1};
  bool detach = false;
  if (cli_parse_create(argc, argv, &o, &detach, true) < 0) return 1;
  o.foreground = !detach;
  /* In the foreground without --console-socket, a process.terminal pty comes to us: we relay
   * it to our own stdio, as runc run does. */
  int console[2] = {-1, -1};
  if (o.foreground && !o.console_socket &&
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) == 0)
    o.console_fd = console[1];

  /* Forward every catchable signal to the container's process; block them until it exists. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
  sigfillset(&sa.sa_mask);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD && s != SIGSEGV && s != SIGBUS &&
        s != SIGFPE && s != SIGILL && s != SIGTTIN && s != SIGTTOU && s != SIGTSTP)
      sigaction(s, &sa, NULL);

  struct isola_err err;
  pid_t pid = 0;
  char id[1100];
  snprintf(id, sizeof id, "%s", o.id);
  /* One parse of config.json serves create, start and delete. */
  struct oci_config *cfg = NULL;
  if (cli_create(&o, &cfg, &err) < 0) return cli_error(&err);
  if (start_id(id, cfg, &pid, &err) < 0) {
    struct isola_err ignored;
    cli_delete(id, true, cfg, &ignored);
    oci_config_free(cfg);
    return cli_error(&err);
  }
  if (detach) {
    oci_config_free(cfg);
    return 0;
  }
  run_child = pid;
  sigprocmask(SIG_SETMASK, &old, NULL);

  int status = 0, master = console[0] >= 0 ? tty_receive(console[0]) : -1;
  if (master >= 0) {
    tty_relay(master, pid, &status);
  } else {
    while (waitpid(pid, &status, 0) < 0)
      if (errno != EINTR) break;
  }
  if (cli_delete(id, true, cfg, &err) < 0) cli_error(&err);
  oci_config_free(cfg);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
