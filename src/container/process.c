/* Creating the container's init process: clone into new namespaces, build the container around
 * it step by step in lockstep with the runtime, and park it before execve until `start`.
 *
 * The handshake (the same numbers appear on both sides):
 *   1. runtime: clone3() the child into its new namespaces (non-dumpable unless rootless).
 *   2. runtime: write the child's uid/gid maps, put it in its cgroup, send GO.
 *   3. child:   become root of its user namespace, join namespaces given by path, unshare the
 *               cgroup namespace; mount everything (rootfs_prepare); send HOOKS.
 *   4. runtime: run the prestart and createRuntime hooks; send GO.
 *   5. child:   run createContainer hooks; pivot_root; hostname, sysctl; masked/read-only
 *               paths; terminal, rlimits, user, capabilities; find the executable; send READY
 *               (or ERROR with the message, at any step, then exit).
 *   6. runtime: record pid and "created"; `create` exits.
 *   7. child:   block reading exec.fifo; `start` writes one byte into it, then waits on
 *               result.fifo.
 *   8. child:   run startContainer hooks, load seccomp; write "0" to result.fifo, or "1" and
 *               the error (start then fails); execve the program. result.fifo closes at exec
 *               (O_CLOEXEC), so `start` also learns of a process that died before it.
 * If the runtime dies before 6, the child gets SIGKILL (PR_SET_PDEATHSIG) or EOF on the socket.
 */
#include "container/process.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>
#include <sys/personality.h>

#include "container/cgroup.h"
#include "container/container.h"
#include "container/rootfs.h"
#include "container/rootless.h"
#include "container/seccomp.h"
#include "core/cleanup.h"
#include "core/gate.h"

enum msg_type { MSG_GO = 1, MSG_HOOKS, MSG_READY, MSG_ERROR };

struct msg {
  uint8_t type;
  char text[sizeof(((struct isola_err *)0)->msg)];
};

static int send_msg(int sock, enum msg_type type, const char *text) {
  struct msg m = {.type = (uint8_t)type};
  size_t len = 1;
  if (text) {
    snprintf(m.text, sizeof m.text, "%s", text);
    len += strlen(m.text) + 1;
  }
  while (send(sock, &m, len, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) return -1;
  return 0;
}

/* Waits for one message; -1 on EOF or error. */
static int recv_msg(int sock, struct msg *m) {
  ssize_t n;
  memset(m, 0, sizeof *m);
  while ((n = recv(sock, m, sizeof *m - 1, 0)) < 0)
    if (errno != EINTR) return -1;
  return n > 0 ? 0 : -1;
}

/* ---- the child ---------------------------------------------------------------------------- */

struct child_args {
  const struct create_opts *o;
  const struct oci_config *cfg;
  const char *rootfs;
  int sock, console;
  struct gate gate;
  const struct seccomp_filter *seccomp;
  struct isola_state *st; /* the child's copy; its pid arrives with the first GO */
  char **envp;            /* process.env, plus HOME when it has none */
};

int find_executable(const char *prog, char *const env[], char *out, size_t outlen,
                    struct isola_err *err) {
  struct stat sb;
  if (strchr(prog, '/')) {
    snprintf(out, outlen, "%s", prog);
    if (stat(out, &sb) < 0) return isola_fail_errno(err, errno, "exec `%s`", prog);
    if (S_ISDIR(sb.st_mode) || access(out, X_OK) < 0)
      return isola_fail(err, EACCES, "exec `%s`: permission denied", prog);
    return 0;
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char *const *e = env; e && *e; e++)
    if (!strncmp(*e, "PATH=", 5)) path = *e + 5;
  const char *p = path;
  while (*p) {
    size_t n = strcspn(p, ":");
    snprintf(out, outlen, "%.*s%s%s", (int)n, p, n ? "/" : "", prog);
    if (stat(out, &sb) == 0 && S_ISREG(sb.st_mode) && access(out, X_OK) == 0) return 0;
    p += n;
    if (*p == ':') p++;
  }
  return isola_fail(err, ENOENT, "exec `%s`: executable file not found in $PATH", prog);
}

int process_set_user(const struct oci_process *p, bool userns, struct isola_err *err) {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return isola_fail_errno(err, errno, "keepcaps");
  gid_t groups[256];
  size_t n = p->nadditional_gids < 256 ? p->nadditional_gids : 256;
  for (size_t i = 0; i < n; i++) groups[i] = p->additional_gids[i];
  /* In a user namespace with setgroups denied, setgroups fails: that is fine when none are
   * asked for. */
  if (setgroups(n, groups) < 0 && !(userns && errno == EPERM && n == 0))
    return isola_fail_errno(err, errno, "process.user.additionalGids: setgroups");
  if (setresgid(p->gid, p->gid, p->gid) < 0)
    return isola_fail_errno(err, errno, "process.user.gid: setgid %u", p->gid);
  if (setresuid(p->uid, p->uid, p->uid) < 0)
    return isola_fail_errno(err, errno, "process.user.uid: setuid %u", p->uid);
  return 0;
}

/* HOME from the container's /etc/passwd when the config sets none (runc does the same; images
 * rely on it); "/" when the user has no entry. Returns a new environment, or `env` itself. */
char **process_env_with_home(char **env, size_t n, uid_t uid) {
  for (size_t i = 0; i < n; i++)
    if (!strncmp(env[i], "HOME=", 5)) return env;
  char *home = NULL, line[1024];
  FILE *f = fopen("/etc/passwd", "re");
  while (f && !home && fgets(line, sizeof line, f)) {
    char *fields[7], *p = line;
    int k;
    /* name:pw:uid:gid:gecos:dir:shell */
    for (k = 0; k < 7 && p; k++) {
      fields[k] = p;
      p = strchr(p, ':');
      if (p) *p++ = 0;
    }
    if (k >= 6 && (uid_t)strtoul(fields[2], NULL, 10) == uid) home = strdup(fields[5]);
  }
  if (f) fclose(f);
  char **out = calloc(n + 2, sizeof *out);
  if (!out) return env;
  memcpy(out, env, n * sizeof *out);
  if (asprintf(&out[n], "HOME=%s", home && home[0] ? home : "/") < 0) out[n] = "HOME=/";
  free(home);
  return out;
}

/* Steps 3 and 5 (see the top); returns only on failure. */
static int child_setup(struct child_args *a, char *exe, size_t exelen, struct isola_err *err) {
  const struct oci_config *cfg = a->cfg;
  const struct oci_process *p = &cfg->process;
  struct msg m;
  bool userns = cfg->ns[OCI_NS_USER].present;

  /* Step 2 -> 3: wait for maps and cgroup. */
  if (recv_msg(a->sock, &m) < 0 || m.type != MSG_GO) _exit(1);
  a->st->pid = atoi(m.text); /* hooks see the pid as the host sees it */
  /* Before the user namespace's root becomes our uid: a non-dumpable process's /proc/self
   * belongs to the host's root (see step 1), which we still are here. */
  if (p->has_oom_score_adj) {
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d", p->oom_score_adj);
    _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, n) != n)
      return isola_fail_errno(err, errno, "process.oomScoreAdj: write %d", p->oom_score_adj);
  }
  if (userns && !cfg->ns[OCI_NS_USER].path && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
    return isola_fail_errno(err, errno, "become root in the user namespace");
  if (ns_join_child(cfg, err) < 0) return -1;

  struct rootfs_ctx rc = {.cfg = cfg, .rootfs = a->rootfs, .userns = userns,
                          .no_pivot = a->o->no_pivot};
  bool mntns = cfg->ns[OCI_NS_MNT].present;
  if (mntns && rootfs_prepare(&rc, err) < 0) return -1;

  /* Step 3 -> 4: the runtime runs prestart and createRuntime hooks. */
  if (send_msg(a->sock, MSG_HOOKS, NULL) < 0 || recv_msg(a->sock, &m) < 0 || m.type != MSG_GO)
    _exit(1);

  /* Step 5. createContainer hooks run here: in the container's namespaces, before pivot. */
  if (hooks_run(cfg, OCI_HOOK_CREATE_CONTAINER, a->st, false, err) < 0) return -1;
  if (mntns) {
    if (rootfs_pivot(&rc, err) < 0) return -1;
  } else if (chroot(a->rootfs) < 0 || chdir("/") < 0) {
    return isola_fail_errno(err, errno, "chroot `%s`", a->rootfs);
  }
  if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
    return isola_fail_errno(err, errno, "hostname: sethostname `%s`", cfg->hostname);
  if (cfg->domainname && setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
    return isola_fail_errno(err, errno, "domainname: setdomainname `%s`", cfg->domainname);
  /* sysctl before readonlyPaths, which usually hold /proc/sys (runc's order). */
  if (sysctl_apply(cfg, err) < 0) return -1;
  if (mntns && rootfs_finalize(&rc, err) < 0) return -1;
  if (cfg->has_personality &&
      personality(!strcmp(cfg->personality_domain, "LINUX32") ? PER_LINUX32 : PER_LINUX) < 0)
    return isola_fail_errno(err, errno, "linux.personality");
  if (p->terminal) {
    if (a->console < 0)
      return isola_fail(err, EINVAL, "process.terminal is true but no --console-socket was given");
    if (terminal_setup(NULL, a->console, p, err) < 0) return -1;
  }
  if (rlimits_apply(p, err) < 0) return -1;
  if (!a->o->no_new_keyring) {
    /* A fresh session keyring, so the container does not share the caller's keys. EPERM/ENOSYS
     * mean keyrings are unavailable here, which is no reason to fail. */
    if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, a->o->id) < 0 &&
        errno != ENOSYS && errno != EPERM && errno != EACCES && errno != EDQUOT)
      return isola_fail_errno(err, errno, "join a new session keyring");
  }
  if (chdir(p->cwd) < 0) return isola_fail_errno(err, errno, "process.cwd: chdir `%s`", p->cwd);
  /* Without noNewPrivileges, seccomp needs CAP_SYS_ADMIN to load: before dropping it. */
  if (a->seccomp && !p->no_new_privileges && seccomp_filter_load(a->seccomp, err) < 0) return -1;
  if (p->has_caps && caps_drop_bounding(p, err) < 0) return -1;
  if (process_set_user(p, userns, err) < 0) return -1;
  if (p->has_caps && caps_apply(p, err) < 0) return -1;
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return isola_fail_errno(err, errno, "process.noNewPrivileges");
  if (p->has_umask) umask(p->umask);
  if (a->o->workload) return a->o->workload->prepare(a->o->workload->ctx, cfg, err);
  if (find_executable(p->args[0], p->env, exe, exelen, err) < 0) return -1;
  a->envp = process_env_with_home(p->env ? p->env : (char *[]){NULL}, p->nenv, p->uid);
  return 0;
}



static _Noreturn void child_main(struct child_args *a) {
  struct isola_err err = {0};
  char exe[4096];
  const struct oci_process *p = &a->cfg->process;

  if (child_setup(a, exe, sizeof exe, &err) < 0) {
    send_msg(a->sock, MSG_ERROR, err.msg);
    _exit(1);
  }
  /* Step 5 -> 6: from now on the runtime may exit; so must not we. */
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  send_msg(a->sock, MSG_READY, NULL);
  close(a->sock);

  /* Step 7: wait for `start`. */
  if (gate_wait(&a->gate) < 0) _exit(1);

  /* Step 8. */
  a->st->status = ST_CREATED;
  if (hooks_run(a->cfg, OCI_HOOK_START_CONTAINER, a->st, false, &err) < 0 ||
      (a->seccomp && p->no_new_privileges && seccomp_filter_load(a->seccomp, &err) < 0)) {
    gate_answer(&a->gate, &err);
    _exit(1);
  }
  gate_answer(&a->gate, NULL);
  if (a->o->workload) _exit(a->o->workload->run(a->o->workload->ctx, a->cfg));
  /* The program starts with default signal handling and nothing blocked, whatever the runtime
   * (e.g. `run`, which forwards signals) had set. */
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Everything but stdio and the preserved fds closes at exec. */
  syscall(SYS_close_range, 3 + a->o->preserve_fds, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
  execve(exe, p->args, a->envp);
  fprintf(stderr, "isola: exec `%s`: %s\n", p->args[0], strerror(errno));
  _exit(127);
}

/* ---- the runtime side --------------------------------------------------------------------- */

int console_connect(const char *path, struct isola_err *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path)
    return isola_fail(err, ENAMETOOLONG, "--console-socket `%s`: path too long", path);
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return isola_fail_errno(err, errno, "--console-socket: socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return isola_fail_errno(err, e, "--console-socket: connect `%s`", path);
  }
  return fd;
}

int container_spawn(const struct create_opts *o, const struct oci_config *cfg, const char *rootfs,
                    struct state_dir *d, struct isola_state *st, struct isola_err *err) {
  if (!cfg->has_process) return isola_fail(err, EINVAL, "config.json: process: required");
  if (!cfg->ns[OCI_NS_MNT].present)
    return isola_fail(err, EINVAL, "config.json: linux.namespaces: a mount namespace is required");
  if (cfg->process.apparmor_profile && cfg->process.apparmor_profile[0])
    return isola_fail(err, ENOTSUP,
                      "config.json: process.apparmorProfile: AppArmor is not enabled on this host");
  if (cfg->process.selinux_label && cfg->process.selinux_label[0])
    return isola_fail(err, ENOTSUP,
                      "config.json: process.selinuxLabel: SELinux is not enabled on this host");
  uint64_t want = 0, avail = caps_available();
  for (int s = 0; s < OCI_CAP_SETS; s++) want |= cfg->process.caps[s];
  for (int c = 0; c <= oci_cap_last(); c++)
    if ((want & ~avail) & (1ULL << c))
      fprintf(stderr, "isola: warning: %s is not in this runtime's bounding set; dropped\n",
              oci_cap_name(c));

  _cleanup_seccomp_ struct seccomp_filter *filter = NULL;
  if (cfg->seccomp && seccomp_filter_compile(cfg->seccomp, &filter, err) < 0) return -1;
  if (filter) seccomp_filter_set_state(filter, st); /* for a listener: the child's copy */

  _cleanup_close_ int console = -1;
  if (o->console_socket && (console = console_connect(o->console_socket, err)) < 0) return -1;
  if (!o->console_socket && o->console_fd >= 0 && (console = fcntl(o->console_fd, F_DUPFD_CLOEXEC, 3)) < 0)
    return isola_fail_errno(err, errno, "console");

  _cleanup_gate_ struct gate gate = {-1, -1};
  if (gate_create(d, &gate, err) < 0) return -1;

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return isola_fail_errno(err, errno, "socketpair");
  _cleanup_close_ int sock = sv[0];
  _cleanup_close_ int child_sock = sv[1];

  /* pid and time namespaces apply to children: the runtime enters them first. The runtime is
   * a short-lived process of its own, so this changes nothing for anyone else. */
  if (ns_prepare_parent(cfg, err) < 0) return -1;

  st->status = ST_CREATING;
  st->created = malloc(48);
  if (st->created) state_timestamp(st->created, 48);

  /* Step 1. The child is this binary until its execve, inside the container's namespaces:
   * a process of the container (one `exec`'d into it before `start`, or one sharing its pid
   * namespace) could open its /proc/PID/exe — the host's isola, to be written once nothing
   * runs it (CVE-2019-5736's technique) — or its /proc/PID/mem. Non-dumpable, those need
   * CAP_SYS_PTRACE in the host's user namespace. clone3 copies the flag, so there is no
   * window; execve resets it. Rootless, the caller's own tools must reach /proc/PID of the
   * child as its owner (newuidmap, hooks, `exec` before `start`): it stays dumpable there
   * (docs/security.md). */
  int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  bool hide = !rootless_runtime();
  if (hide) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct clone_args ca = {.flags = (uint64_t)ns_clone_flags(cfg), .exit_signal = SIGCHLD};
  pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
  if (pid != 0 && hide && dumpable > 0) prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
  if (pid < 0) return isola_fail_errno(err, errno, "clone the container process");
  if (pid == 0) {
    /* If the runtime is already gone, the first recv sees EOF and we exit. (getppid() cannot
     * tell: in a new pid namespace it is 0.) */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    close(sock);
    /* flock belongs to the open file: our copy of the state dir fd would hold the lock until
     * execve. */
    close(d->dirfd);
    struct child_args a = {.o = o, .cfg = cfg, .rootfs = rootfs, .sock = child_sock,
                           .gate = gate, .console = console, .seccomp = filter, .st = st};
    child_main(&a);
  }
  _cleanup_kill_ pid_t child = pid;
  close(take_fd(&child_sock));
  st->pid = pid;
  bool zombie;
  st->pid_start = proc_start_time(pid, &zombie);

  /* Step 2. Record the pid and the cgroup directories about to be made first: a create killed
   * from here on leaves a state that `delete --force` can clean. */
  if (!st->extra) st->extra = json_object();
  json_t *planned = NULL;
  if (cgroup_dirs(cfg->cgroups_path, o->id, &planned, err) < 0) return -1;
  json_object_set_new(st->extra, "cgroupDirs", planned);
  if (state_save(d, st, err) < 0) return -1;
  if (ns_write_idmaps(pid, cfg, err) < 0) return -1;
  json_t *dirs = NULL;
  if (cgroup_enter(cfg->cgroups_path, o->id, pid, cfg, &dirs, err) < 0 &&
      rootless_cgroup_fallback(cfg, &dirs, err) < 0) /* rootless: maybe no cgroup at all */
    return -1;
  if (!st->extra) st->extra = json_object();
  json_object_set_new(st->extra, "cgroupDirs", dirs);
  if (state_save(d, st, err) < 0) goto undo_cgroup;
  char pidtext[16];
  snprintf(pidtext, sizeof pidtext, "%d", pid);
  if (send_msg(sock, MSG_GO, pidtext) < 0) {
    isola_fail_errno(err, errno, "container process");
    goto undo_cgroup;
  }

  struct msg m;
  for (;;) {
    if (recv_msg(sock, &m) < 0) {
      int status = 0;
      waitpid(take_pid(&child), &status, 0);
      isola_fail(err, ECHILD, "the container process died during setup (%s %d)",
                 WIFSIGNALED(status) ? "signal" : "status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      goto undo_cgroup;
    }
    if (m.type == MSG_ERROR) {
      isola_fail(err, EINVAL, "%s", m.text);
      goto undo_cgroup;
    }
    if (m.type == MSG_READY) break;
    if (m.type == MSG_HOOKS) { /* Step 4. */
      if (hooks_run(cfg, OCI_HOOK_PRESTART, st, false, err) < 0 ||
          hooks_run(cfg, OCI_HOOK_CREATE_RUNTIME, st, false, err) < 0)
        goto undo_cgroup;
      if (send_msg(sock, MSG_GO, NULL) < 0) {
        isola_fail_errno(err, errno, "container process");
        goto undo_cgroup;
      }
    }
  }

  /* Step 6. */
  st->status = ST_CREATED;
  if (state_save(d, st, err) < 0) goto undo_cgroup;
  take_pid(&child);
  return 0;

undo_cgroup:
  if (child > 0) {
    kill(child, SIGKILL);
    waitpid(take_pid(&child), NULL, 0);
  }
  struct isola_err ignored;
  cgroup_remove(json_object_get(st->extra, "cgroupDirs"), &ignored);
  return -1;
}
