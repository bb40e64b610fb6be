/* The vm engine: the table of operations the CLI calls (see core/engine.h), and the client
 * side of the monitor's vm.sock.
 *
 * create: finds the image and QEMU, maps resources, encodes the guest config, forks the
 *         monitor (monitor.c) and waits for its report: "ok QEMU_PID" once the agent has the
 *         container ready, or "error TEXT". The monitor's pid is the container's pid.
 * start:  "start" on vm.sock; the answer comes once the program was executed in the guest.
 * kill:   "kill SIG ALL" on vm.sock; the monitor forwards it into the guest.
 * exec:   "exec LEN TTY" on vm.sock with our stdio (or a host pty's slave, whose master goes
 *         to the console socket) and the process's records; once the monitor answers "ok"
 *         (the program runs in the guest), a helper forked from us keeps the connection: it
 *         relays the signals it receives ("signal N") and its terminal's size ("winsize R C"),
 *         and exits with the status the monitor reports ("exit N"). Its pid is the exec's.
 * destroy: SIGKILL to the monitor and to QEMU (each checked against its start time), and
 *         waits until both are gone. The state dir (console.log, monitor.log, vm.sock) goes
 *         with it.
 * Hooks run on the host (the container's namespaces are inside the guest, where host
 * binaries cannot run): prestart, createRuntime and createContainer once the guest reports
 * the container ready, before `create` returns (a failure undoes the VM); startContainer in
 * `start` before the program is released; poststart after it runs; poststop at destroy. Each
 * gets the state with the monitor's pid.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../../guest/proto.h"
#include "container/container.h"
#include "core/cleanup.h"
#include "vm/vm.h"

static void timestamp(char *buf, size_t n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + len, n - len, ".%09ldZ", ts.tv_nsec);
}

/* Closes every fd but those in keep[] (the monitor must not hold the state dir's lock, nor
 * anything else `create` had open). */
static void close_all_but(const int *keep, size_t n) {
  int sorted[16];
  size_t k = 0;
  for (size_t i = 0; i < n && k < 16; i++)
    if (keep[i] >= 0) sorted[k++] = keep[i];
  for (size_t i = 1; i < k; i++)
    for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
      int t = sorted[j];
      sorted[j] = sorted[j - 1];
      sorted[j - 1] = t;
    }
  unsigned from = 0;
  for (size_t i = 0; i < k; i++) {
    if ((unsigned)sorted[i] > from) close_range(from, (unsigned)sorted[i] - 1, 0);
    from = (unsigned)sorted[i] + 1;
  }
  close_range(from, ~0u, 0);
}

/* An environment flag: set, not empty and not "0". */
static bool env_flag(const char *name) {
  const char *v = getenv(name);
  return v && v[0] && strcmp(v, "0") != 0;
}

static int boot_timeout_ms(bool kvm) {
  const char *v = getenv("ISOLA_VM_BOOT_TIMEOUT");
  if (v && v[0]) {
    char *end;
    double s = strtod(v, &end);
    if (!*end && s > 0 && s < 86400) return (int)(s * 1000);
  }
  return kvm ? 10000 : 60000;
}

static bool kill_and_wait(pid_t pid, uint64_t start, int ms);

static int vm_create(const struct create_opts *o, const struct oci_config *cfg,
                     struct state_dir *d, struct isola_state *st, struct isola_err *err) {
  char rootfs[PATH_MAX], joined[PATH_MAX * 2];
  if (cfg->root_path[0] == '/') snprintf(joined, sizeof joined, "%s", cfg->root_path);
  else snprintf(joined, sizeof joined, "%s/%s", o->bundle, cfg->root_path);
  if (!realpath(joined, rootfs))
    return isola_fail_errno(err, errno, "config.json: root.path: `%s`", joined);
  if (o->preserve_fds)
    return isola_fail(err, ENOTSUP, "--preserve-fds: host fds cannot be passed into a VM");

  struct vm_image img;
  char qemu[PATH_MAX];
  struct vm_resources res;
  if (vm_image_find(&img, err) < 0 || vm_qemu_find(qemu, sizeof qemu, err) < 0 ||
      vm_resources_from_config(cfg, &res, err) < 0)
    return -1;
  struct vm_guest_config guest;
  if (vm_guest_config_build(cfg, o->bundle, &guest, err) < 0) return -1;
  char why[256] = "";
  bool kvm = vm_kvm_usable(why, sizeof why);
  const char *tv = oci_annotation(cfg, "io.isola.vm.template");
  if (tv && strcmp(tv, "on") && strcmp(tv, "off")) {
    vm_guest_config_release(&guest);
    return isola_fail(err, EINVAL, "config.json: annotations.io.isola.vm.template: expected `on` "
                                   "or `off`, got `%s`", tv);
  }
  bool template_off = tv && !strcmp(tv, "off");
  unsigned long tsc = kvm ? 0 : vm_tsc_khz();

  int sv[2], rep[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    vm_guest_config_release(&guest);
    return isola_fail_errno(err, errno, "socketpair");
  }
  if (pipe2(rep, O_CLOEXEC) < 0) {
    close(sv[0]), close(sv[1]);
    vm_guest_config_release(&guest);
    return isola_fail_errno(err, errno, "pipe");
  }
  /* The monitor writes its stdio to fds 0-2: make sure they exist. */
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0) {
      int null = open("/dev/null", O_RDWR);
      if (null >= 0 && null != fd) dup2(null, fd), close(null);
    }

  st->status = ST_CREATING;
  st->created = malloc(48);
  if (st->created) timestamp(st->created, 48);

  struct vm_monitor_args a = {
      .id = o->id,
      .state_path = d->path,
      .launch = {.qemu = qemu, .img = &img, .res = &res, .kvm = kvm, .tsc_khz = tsc,
                 .trace = env_flag("ISOLA_VM_TRACE"),
                 .rootfs = rootfs, .rootfs_readonly = cfg->root_readonly,
                 .shares = guest.shares, .nshares = guest.nshares, .ctl_fd = sv[1],
                 .console_fd = -1, .qmp_fd = -1, .incoming_fd = -1,
                 .no_template = template_off},
      .ctl_fd = sv[0],
      .guest = &guest,
      .terminal = cfg->process.terminal,
      .rows = (unsigned short)cfg->process.console_height,
      .cols = (unsigned short)cfg->process.console_width,
      .console_socket = o->console_socket,
      /* Only a terminal needs it; `run` hands one over in every case. */
      .console_fd = cfg->process.terminal && !o->console_socket ? o->console_fd : -1,
      .report_fd = rep[1],
      .boot_timeout_ms = boot_timeout_ms(kvm),
  };
  pid_t pid = fork();
  if (pid < 0) {
    close(sv[0]), close(sv[1]), close(rep[0]), close(rep[1]);
    vm_guest_config_release(&guest);
    return isola_fail_errno(err, errno, "fork the vm monitor");
  }
  if (pid == 0) {
    /* The monitor. Above all it must not keep the state dir's flock. */
    int keep[] = {0, 1, 2, sv[0], sv[1], rep[1], a.console_fd};
    close_all_but(keep, sizeof keep / sizeof *keep);
    vm_monitor_main(&a);
  }
  close(sv[0]);
  close(sv[1]);
  close(rep[1]);
  vm_guest_config_release(&guest);
  _cleanup_close_ int report = rep[0];
  _cleanup_kill_ pid_t monitor = pid;

  /* Record the pid at once: a create killed from here on leaves a state `delete --force`
   * cleans (the monitor dies, QEMU with it). */
  st->pid = pid;
  bool zombie;
  st->pid_start = proc_start_time(pid, &zombie);
  if (!st->extra) st->extra = json_object();
  json_object_set_new(st->extra, "accel", json_string(kvm ? "kvm" : "tcg"));
  if (!kvm) json_object_set_new(st->extra, "accelReason", json_string(why));
  json_object_set_new(st->extra, "memoryMiB", json_integer(res.memory_mib));
  json_object_set_new(st->extra, "cpus", json_integer(res.cpus));
  json_object_set_new(st->extra, "kernel", json_string(img.release));
  json_object_set_new(st->extra, "image", json_string(img.dir));
  if (state_save(d, st, err) < 0) return -1;

  /* Wait for the monitor's report (its boot timeout bounds this). */
  char line[2048];
  size_t len = 0;
  for (;;) {
    ssize_t n = read(report, line + len, sizeof line - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
    if (memchr(line, '\n', len) || len == sizeof line - 1) break;
  }
  line[len] = 0;
  line[strcspn(line, "\n")] = 0;
  if (strncmp(line, "ok ", 3)) {
    int status = 0;
    waitpid(take_pid(&monitor), &status, 0);
    if (!strncmp(line, "error ", 6)) return isola_fail(err, EIO, "%s", line + 6);
    return isola_fail(err, ECHILD, "the vm monitor died while the VM booted (%s %d)",
                      WIFSIGNALED(status) ? "signal" : "status",
                      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
  char *end;
  pid_t qpid = (pid_t)strtol(line + 3, &end, 10);
  json_object_set_new(st->extra, "qemuPid", json_integer(qpid));
  /* How the VM came up: "template" (restored from one) or "boot"; `state` shows it. */
  const char *how = *end == ' ' ? end + 1 : "boot";
  json_object_set_new(st->extra, "start", json_string(how));
  if (!st->annotations) st->annotations = json_object();
  json_object_set_new(st->annotations, "io.isola.vm.start", json_string(how));
  json_object_set_new(st->extra, "qemuStart", json_integer((json_int_t)proc_start_time(qpid, &zombie)));
  if (state_save(d, st, err) < 0) return -1;
  /* The container exists (in the guest): the creation hooks, on the host. A failure kills the
   * monitor (and QEMU with it) on the way out. */
  if (hooks_run(cfg, OCI_HOOK_PRESTART, st, false, err) < 0 ||
      hooks_run(cfg, OCI_HOOK_CREATE_RUNTIME, st, false, err) < 0 ||
      hooks_run(cfg, OCI_HOOK_CREATE_CONTAINER, st, false, err) < 0) {
    kill(monitor, SIGKILL);
    waitpid(take_pid(&monitor), NULL, 0);
    kill_and_wait(qpid, (uint64_t)json_integer_value(json_object_get(st->extra, "qemuStart")), 5000);
    return -1;
  }
  st->status = ST_CREATED;
  if (state_save(d, st, err) < 0) return -1;
  take_pid(&monitor);
  return 0;
}

int vm_send_fds(int sock, const void *data, size_t len, const int *fds, int nfds) {
  union {
    char buf[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } u;
  if (nfds < 1 || nfds > 3) return errno = EINVAL, -1;
  memset(&u, 0, sizeof u);
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                      .msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int))};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
  memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
  ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
  return n == (ssize_t)len ? 0 : -1;
}

/* A connection to the container's monitor (vm.sock in its state dir). */
static int monitor_connect(struct state_dir *d, const struct isola_state *st, struct isola_err *err) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", d->dirfd, VM_SOCKET_NAME);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    if (e == ECONNREFUSED || e == ENOENT)
      return isola_fail(err, ESRCH, "container `%s`: its vm monitor is not running", st->id);
    return isola_fail_errno(err, e, "container `%s`: connect to its vm monitor", st->id);
  }
  return fd;
}

/* Reads the monitor's one-line answer on `fd` ("ok..." or "error TEXT"); bytes after the line
 * are left in rest[0..*nrest) when rest is given. */
static int read_answer(int fd, const struct isola_state *st, int timeout_ms, char *rest,
                       size_t restsz, size_t *nrest, struct isola_err *err) {
  char buf[2048];
  size_t len = 0;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  char *nl = NULL;
  while (len < sizeof buf - 1 && !nl) {
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return isola_fail(err, ETIMEDOUT, "container `%s`: the vm monitor did not answer", st->id);
    ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
    nl = memchr(buf, '\n', len);
  }
  buf[len] = 0;
  if (nl) {
    *nl = 0;
    size_t after = len - (size_t)(nl + 1 - buf);
    if (rest && after <= restsz) {
      memcpy(rest, nl + 1, after);
      *nrest = after;
    }
  }
  if (!strncmp(buf, "ok", 2)) return 0;
  if (!strncmp(buf, "error ", 6)) return isola_fail(err, EIO, "%s", buf + 6);
  return isola_fail(err, EIO, "container `%s`: the vm monitor went away", st->id);
}

/* Sends `req` to the monitor and reads its one-line answer ("ok..." or "error TEXT"). */
static int request(struct state_dir *d, const struct isola_state *st, const char *req,
                   int timeout_ms, struct isola_err *err) {
  _cleanup_close_ int fd = monitor_connect(d, st, err);
  if (fd < 0) return -1;
  if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
    return isola_fail_errno(err, errno, "container `%s`: vm monitor", st->id);
  return read_answer(fd, st, timeout_ms, NULL, 0, NULL, err);
}

static int vm_start(struct state_dir *d, struct isola_state *st, const struct oci_config *cfg,
                    struct isola_err *err) {
  if (st->started) return isola_fail(err, EINVAL, "container `%s` was started already", st->id);
  if (cfg && hooks_run(cfg, OCI_HOOK_START_CONTAINER, st, false, err) < 0)
    return isola_err_wrap(err, "start container `%s`", st->id);
  if (request(d, st, "start\n", 120000, err) < 0)
    return isola_err_wrap(err, "start container `%s`", st->id);
  st->started = true;
  st->status = ST_RUNNING;
  if (state_save(d, st, err) < 0) return -1;
  struct isola_err warn;
  if (cfg && hooks_run(cfg, OCI_HOOK_POSTSTART, st, true, &warn) < 0)
    fprintf(stderr, "isola: warning: %s\n", warn.msg); /* the spec: log, and carry on */
  return 0;
}

static int vm_kill(struct state_dir *d, struct isola_state *st, int sig, bool all,
                   struct isola_err *err) {
  char req[64];
  snprintf(req, sizeof req, "kill %d %d\n", sig, all ? 1 : 0);
  return request(d, st, req, 10000, err);
}

static void send_winsize(int sock, int tty) {
  struct winsize ws;
  if (tty >= 0 && ioctl(tty, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    dprintf(sock, "winsize %u %u\n", ws.ws_row, ws.ws_col);
}

/* The exec's process on the host: relays signals and resizes to the monitor and exits with
 * the exec's status. `early` holds what the monitor said after "ok". Never returns. */
static void exec_helper(const char *id, int sock, int tty, const char *early, size_t nearly)
    __attribute__((noreturn));
static void exec_helper(const char *id, int sock, int tty, const char *early, size_t nearly) {
  /* A session of its own: `isola exec` forwards the signals it gets, and a terminal's
   * resizes reach us as SIGWINCH when the slave is our controlling terminal. */
  setsid();
  if (tty >= 0) ioctl(tty, TIOCSCTTY, 0);
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  signal(SIGPIPE, SIG_IGN);
  int sigfd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
  send_winsize(sock, tty);
  char buf[4096];
  size_t len = nearly < sizeof buf ? nearly : 0;
  memcpy(buf, early, len);
  for (;;) {
    char *nl;
    while ((nl = memchr(buf, '\n', len))) {
      *nl = 0;
      int status;
      if (sscanf(buf, "exit %d", &status) == 1 && status >= 0 && status <= 255) _exit(status);
      if (!strncmp(buf, "error ", 6)) {
        dprintf(2, "isola: exec in container `%s`: %s\n", id, buf + 6);
        _exit(255);
      }
      size_t used = (size_t)(nl - buf) + 1;
      memmove(buf, nl + 1, len - used);
      len -= used;
    }
    if (len == sizeof buf) len = 0;
    struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) break;
    if (p[1].revents) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) send_winsize(sock, tty);
        else if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGPIPE)
          dprintf(sock, "signal %u\n", si.ssi_signo);
      }
    }
    if (p[0].revents) {
      ssize_t n = read(sock, buf + len, sizeof buf - len);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      len += (size_t)n;
    }
  }
  dprintf(2, "isola: exec in container `%s`: the vm monitor went away before the process "
             "exited\n", id);
  _exit(255);
}

/* The terminal of an exec: a host pty whose master goes to the console socket; its slave (raw:
 * the line discipline runs in the guest) is the exec's stdio on this side. */
static int exec_terminal(const struct exec_opts *o, int *slave, struct isola_err *err) {
  const struct oci_process *p = o->process;
  struct winsize ws = {.ws_row = (unsigned short)p->console_height,
                       .ws_col = (unsigned short)p->console_width};
  int master;
  if (openpty(&master, slave, NULL, NULL, ws.ws_row ? &ws : NULL) < 0)
    return isola_fail_errno(err, errno, "terminal: openpty");
  _cleanup_close_ int mfd = master;
  fcntl(*slave, F_SETFD, FD_CLOEXEC);
  struct termios t;
  if (tcgetattr(*slave, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(*slave, TCSANOW, &t);
  }
  _cleanup_close_ int sock = -1;
  if (o->console_socket) sock = console_connect(o->console_socket, err);
  else if (o->console_fd >= 0) sock = fcntl(o->console_fd, F_DUPFD_CLOEXEC, 3);
  else return isola_fail(err, EINVAL, "process.terminal is true but no --console-socket was given");
  if (sock < 0) return o->console_socket ? -1 : isola_fail_errno(err, errno, "console");
  char byte = 0;
  if (vm_send_fds(sock, &byte, 1, &master, 1) < 0)
    return isola_fail_errno(err, errno, "terminal: send the pty master");
  return 0;
}

static int vm_exec(struct state_dir *d, struct isola_state *st, const struct oci_config *cfg,
                   const struct exec_opts *o, pid_t *pid, struct isola_err *err) {
  if (o->preserve_fds)
    return isola_fail(err, ENOTSUP, "--preserve-fds: host fds cannot be passed into a VM");
  bool tty = o->process->terminal;
  _cleanup_close_ int slave = -1;
  if (tty && exec_terminal(o, &slave, err) < 0) return -1;
  struct vm_guest_config g;
  if (vm_exec_config_build(o->process, &g, err) < 0) return -1;
  _cleanup_close_ int sock = monitor_connect(d, st, err);
  if (sock < 0) {
    vm_guest_config_release(&g);
    return -1;
  }
  /* E1. The request, our stdio (or the pty slave) with it, then the records. */
  char head[64];
  int n = snprintf(head, sizeof head, "exec %zu %d\n", g.len, tty ? 1 : 0);
  int fds[3] = {tty ? slave : 0, tty ? slave : 1, tty ? slave : 2};
  _cleanup_close_ int null = -1;
  for (int i = 0; i < 3; i++) /* a closed stdio fd becomes /dev/null */
    if (fcntl(fds[i], F_GETFD) < 0) {
      if (null < 0) null = open("/dev/null", O_RDWR | O_CLOEXEC);
      fds[i] = null;
    }
  bool sent = vm_send_fds(sock, head, (size_t)n, fds, 3) == 0;
  for (size_t off = 0; sent && off < g.len;) {
    ssize_t w = send(sock, g.payload + off, g.len - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) sent = false;
    else off += (size_t)w;
  }
  int e = errno;
  vm_guest_config_release(&g);
  if (!sent) return isola_fail_errno(err, e, "container `%s`: send the exec to its vm monitor", st->id);
  /* E2. "ok" once it runs, or why it could not. */
  char rest[256];
  size_t nrest = 0;
  if (read_answer(sock, st, 120000, rest, sizeof rest, &nrest, err) < 0) return -1;
  pid_t child = fork();
  if (child < 0) return isola_fail_errno(err, errno, "fork the exec helper");
  if (child == 0) {
    /* Nothing of ours but the connection, the pty slave and stdio: above all not the state
     * dir's lock. */
    int keep[] = {0, 1, 2, sock, slave};
    close_all_but(keep, sizeof keep / sizeof *keep);
    exec_helper(st->id, sock, slave, rest, nrest);
  }
  *pid = child;
  return 0;
}

/* SIGKILL to `pid` if it is still the process that started at `start`; waits until it is
 * gone (reaping it when it is our child, as after `run`). */
static bool kill_and_wait(pid_t pid, uint64_t start, int ms) {
  if (pid <= 0) return true;
  bool zombie;
  uint64_t now = proc_start_time(pid, &zombie);
  if (!now || (start && now != start)) return true; /* gone, or the pid was reused */
  kill(pid, SIGKILL);
  return proc_wait_gone(pid, start, ms);
}

static int vm_destroy(struct state_dir *d, struct isola_state *st, const struct oci_config *cfg,
                      struct isola_err *err) {
  json_t *qp = json_object_get(st->extra, "qemuPid"), *qs = json_object_get(st->extra, "qemuStart");
  pid_t qemu = json_is_integer(qp) ? (pid_t)json_integer_value(qp) : 0;
  uint64_t qstart = json_is_integer(qs) ? (uint64_t)json_integer_value(qs) : 0;
  /* The monitor first: QEMU is its child and would otherwise be reaped by nobody. */
  if (!kill_and_wait(st->pid, st->pid_start, 5000))
    return isola_fail(err, EBUSY, "container `%s`: vm monitor %d did not exit after SIGKILL",
                      st->id, st->pid);
  if (qemu > 0 && qstart && !kill_and_wait(qemu, qstart, 5000))
    return isola_fail(err, EBUSY, "container `%s`: QEMU %d did not exit after SIGKILL", st->id, qemu);
  unlinkat(d->dirfd, VM_SOCKET_NAME, 0);
  st->status = ST_STOPPED;
  struct isola_err warn;
  if (cfg && hooks_run(cfg, OCI_HOOK_POSTSTOP, st, true, &warn) < 0)
    fprintf(stderr, "isola: warning: %s\n", warn.msg);
  return 0;
}

const struct isola_engine engine_vm = {
    .name = "vm",
    .create = vm_create,
    .start = vm_start,
    .kill = vm_kill,
    .exec = vm_exec,
    .destroy = vm_destroy,
};
