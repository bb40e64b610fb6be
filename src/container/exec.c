/* Running one more process in a container (`isola exec`): it joins every namespace and the
 * cgroup of the container's init, and gets the container's seccomp filter and the process
 * settings it was given.
 *
 * The handshake (the same numbers on both sides):
 *   1. runtime: enter the container's pid and time namespaces for its children (setns of
 *      pid_for_children / time_for_children), fork the child non-dumpable; it is born
 *      inside them.
 *   2. runtime: write the child's pid into the container's cgroups; send GO.
 *   3. child:   join user (if it differs), ipc, uts, net, cgroup and mount namespaces; the mount
 *               namespace join makes the container's root our root. Terminal, rlimits, cwd,
 *               user, capabilities, no_new_privs, seccomp; find the executable.
 *   4. child:   execve. The socket is close-on-exec: EOF with no message means the exec
 *               happened; an ERROR message carries what went wrong.
 */
#include "container/exec.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/container.h"
#include "container/seccomp.h"
#include "core/cleanup.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Namespaces in the order they are joined; user first, mount last (it changes our root). */
static const struct {
  const char *file;
  int flag;
} joins[] = {
    {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS},
};

/* Is /proc/<pid>/ns/<file> another namespace than ours? */
static bool differs(pid_t pid, const char *file) {
  char a[64], b[64];
  struct stat sa, sb;
  snprintf(a, sizeof a, "/proc/%d/ns/%s", pid, file);
  snprintf(b, sizeof b, "/proc/self/ns/%s", file);
  if (stat(a, &sa) < 0 || stat(b, &sb) < 0) return false;
  return sa.st_ino != sb.st_ino || sa.st_dev != sb.st_dev;
}

static int open_ns(pid_t pid, const char *file, struct isola_err *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) isola_fail_errno(err, errno, "open `%s`", path);
  return fd;
}

static _Noreturn void child_fail(int sock, const struct isola_err *err) {
  if (send(sock, err->msg, strlen(err->msg) + 1, MSG_NOSIGNAL) < 0) _exit(127);
  _exit(127);
}

/* Step 3 and 4. `nsfds` were opened by the runtime before the fork. */
static _Noreturn void child_main(const struct exec_request *r, int sock, const int *nsfds,
                                 const struct seccomp_filter *filter, int console) {
  struct isola_err err = {0};
  const struct oci_process *p = r->process;
  char go, exe[4096];
  if (read(sock, &go, 1) != 1) _exit(127);
  bool userns = false;
  for (size_t i = 0; i < sizeof joins / sizeof *joins; i++) {
    if (nsfds[i] < 0) continue;
    if (joins[i].flag == CLONE_NEWUSER) userns = true;
    if (setns(nsfds[i], joins[i].flag) < 0) {
      isola_fail_errno(&err, errno, "join the container's %s namespace", joins[i].file);
      child_fail(sock, &err);
    }
    close(nsfds[i]);
  }
  if (p->terminal) {
    if (console < 0) {
      isola_fail(&err, EINVAL, "process.terminal (-t) needs --console-socket");
      child_fail(sock, &err);
    }
    if (terminal_setup(NULL, console, p, &err) < 0) child_fail(sock, &err);
  }
  if (p->has_oom_score_adj) {
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d", p->oom_score_adj);
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) {
      /* Non-dumpable (step 1), /proc/self is the host root's: an unprivileged runtime opens
       * it as its owner, for the length of one open. */
      prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
      fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
      prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    if (fd < 0 || write(fd, buf, n) != n) {
      isola_fail_errno(&err, errno, "process.oomScoreAdj");
      child_fail(sock, &err);
    }
    close(fd);
  }
  if (rlimits_apply(p, &err) < 0) child_fail(sock, &err);
  if (chdir(p->cwd ? p->cwd : "/") < 0) {
    isola_fail_errno(&err, errno, "cwd: chdir `%s`", p->cwd ? p->cwd : "/");
    child_fail(sock, &err);
  }
  if (filter && !p->no_new_privileges && seccomp_filter_load(filter, &err) < 0)
    child_fail(sock, &err);
  if (p->has_caps && caps_drop_bounding(p, &err) < 0) child_fail(sock, &err);
  if (process_set_user(p, userns, &err) < 0) child_fail(sock, &err);
  if (p->has_caps && caps_apply(p, &err) < 0) child_fail(sock, &err);
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    isola_fail_errno(&err, errno, "no_new_privs");
    child_fail(sock, &err);
  }
  if (p->has_umask) umask(p->umask);
  if (find_executable(p->args[0], p->env, exe, sizeof exe, &err) < 0) child_fail(sock, &err);
  char **envp = process_env_with_home(p->env ? p->env : (char *[]){NULL}, p->nenv, p->uid);
  if (filter && p->no_new_privileges && seccomp_filter_load(filter, &err) < 0)
    child_fail(sock, &err);
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  syscall(SYS_close_range, 3 + r->preserve_fds, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
  /* Survives execve otherwise: a detached exec must outlive the runtime. */
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  execve(exe, p->args, envp);
  isola_fail_errno(&err, errno, "exec `%s`", p->args[0]);
  child_fail(sock, &err);
}

static const char *const for_children[] = {"pid", "time"};
static const int for_children_flags[] = {CLONE_NEWPID, CLONE_NEWTIME};

/* Back to our own pid and time namespaces for children (best effort: joining one's own active
 * namespace is always allowed). */
static void leave_for_children(int own[2]) {
  for (int i = 0; i < 2; i++) {
    if (own[i] < 0) continue;
    setns(own[i], for_children_flags[i]);
    close(own[i]);
    own[i] = -1;
  }
}

int container_exec(const struct exec_request *r, pid_t *out, struct isola_err *err) {
  const struct isola_state *st = r->st;
  pid_t init = st->pid;
  int nsfds[sizeof joins / sizeof *joins];
  for (size_t i = 0; i < sizeof joins / sizeof *joins; i++) nsfds[i] = -1;
  int ret = -1, own_ns[2] = {-1, -1};
  _cleanup_close_ int console = -1, sock = -1;
  _cleanup_kill_ pid_t child = 0;
  _cleanup_seccomp_ struct seccomp_filter *filter = NULL;
  if (r->seccomp && seccomp_filter_compile(r->seccomp, &filter, err) < 0) return -1;
  if (filter) seccomp_filter_set_state(filter, st); /* a listener gets the container's state */
  if (r->console_socket && (console = console_connect(r->console_socket, err)) < 0) return -1;
  if (!r->console_socket && r->console_fd >= 0 &&
      (console = fcntl(r->console_fd, F_DUPFD_CLOEXEC, 3)) < 0)
    return isola_fail_errno(err, errno, "console");

  for (size_t i = 0; i < sizeof joins / sizeof *joins; i++)
    if (differs(init, joins[i].file) && (nsfds[i] = open_ns(init, joins[i].file, err)) < 0)
      goto out;
  /* Step 1: the pid and time namespaces apply to our children -- to the one child only: once
   * it exists we go back to our own (own_ns), so that nothing else we fork (a helper,
   * LeakSanitizer's tracer at exit) is born inside the container. */
  for (int i = 0; i < 2; i++) {
    if (!differs(init, for_children[i])) continue;
    if ((own_ns[i] = open_ns(getpid(), for_children[i], err)) < 0) goto out;
    _cleanup_close_ int fd = open_ns(init, for_children[i], err);
    if (fd < 0) goto out;
    if (setns(fd, for_children_flags[i]) < 0) {
      isola_fail_errno(err, errno, "join the container's %s namespace", for_children[i]);
      goto out;
    }
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    isola_fail_errno(err, errno, "socketpair");
    goto out;
  }
  /* The child is this binary until its execve, inside the container's pid namespace from
   * birth: non-dumpable, its /proc/PID/exe (the host's isola, CVE-2019-5736's technique),
   * mem and ptrace need CAP_SYS_PTRACE in the host's user namespace. Its capabilities alone
   * would not do: after it drops to the container's set, it is as reachable as any process
   * there. fork copies the flag, so there is no window; execve resets it. */
  int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  pid_t pid = fork();
  if (pid != 0 && dumpable > 0) prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
  if (pid != 0) leave_for_children(own_ns);
  if (pid < 0) {
    isola_fail_errno(err, errno, "fork");
    close(sv[0]), close(sv[1]);
    goto out;
  }
  if (pid == 0) {
    close(sv[0]);
    for (int i = 0; i < 2; i++)
      if (own_ns[i] >= 0) close(own_ns[i]);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    child_main(r, sv[1], nsfds, filter, console);
  }
  close(sv[1]);
  sock = sv[0];
  child = pid;

  /* Step 2. */
  json_t *dirs = json_object_get(st->extra, "cgroupDirs");
  size_t i;
  json_t *d;
  json_array_foreach(dirs, i, d) {
    char path[4200], buf[32];
    snprintf(path, sizeof path, "%s/cgroup.procs", json_string_value(d));
    int n = snprintf(buf, sizeof buf, "%d", pid);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, n) != n) {
      isola_fail_errno(err, errno, "join the container's cgroup `%s`", json_string_value(d));
      goto out;
    }
  }
  if (write(sock, "g", 1) != 1) {
    isola_fail_errno(err, errno, "exec process");
    goto out;
  }
  /* Step 4: EOF means execve happened. */
  char msg[sizeof err->msg];
  ssize_t n;
  while ((n = recv(sock, msg, sizeof msg - 1, 0)) < 0 && errno == EINTR) {
  }
  if (n > 0) {
    msg[n] = 0;
    isola_fail(err, EINVAL, "%s", msg);
    goto out;
  }
  *out = take_pid(&child);
  ret = 0;
out:
  leave_for_children(own_ns);
  for (size_t k = 0; k < sizeof joins / sizeof *joins; k++)
    if (nsfds[k] >= 0) close(nsfds[k]);
  return ret;
}
