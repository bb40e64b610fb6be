/* isola's guest agent: PID 1 of the VM (a static binary at /init of the initramfs).
 *
 * It loads the kernel modules the control port needs, opens the port, and then follows the
 * conversation of guest/proto.h with the host's monitor (the step numbers are the same):
 *   1. sends HELLO; while the host answers, loads the 9p modules and brings the loopback up;
 *   2. receives CONFIG: the container to build;
 *   3. forks the container's init into new pid and mount namespaces (see prepare()),
 *      which mounts the bundle's rootfs from the 9p share `rootfs`, applies the mounts of
 *      config.json (host binds arrive as more 9p shares or as copied files), creates /dev,
 *      moves into the new root, applies masked and read-only paths, hostname, sysctls,
 *      rlimits, user and cwd, finds the executable, reports ready and blocks; the agent sends
 *      READY (or ERROR);
 *   4. on RUN releases it; 5. reports STARTED once it executed the program;
 *   6. relays stdin / stdout / stderr (or a pty) and signals;
 *   7. after the program exited and both outputs reached EOF sends EXIT;
 *   8. waits for the host's ACK and powers the VM off.
 * On any failure it sends ERROR with the reason and powers off. Its own messages go to the
 * console (the host keeps it in the state dir as console.log).
 *
 * The host is trusted here (it built this VM); the frames are still checked, as the same
 * decoder serves both sides.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/random.h>
#include <linux/reboot.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/fdio.h"
#include "proto.h"

/* 9p mounts (the rootfs and the shares). msize: the largest the virtio transport takes (125
 * pages of 4 KiB), so a read brings up to ~500 KiB. cache=mmap: reads, writes and attributes
 * still go to the host every time (what either side writes, the other sees at once), but
 * files get a page cache for mmap and readahead: a program is paged in ~500 KiB per request
 * instead of one page per fault (cache=none turns readahead off). docs/vm.md, "What applies
 * where". */
#define NINEP_OPTS "trans=virtio,version=9p2000.L,access=client,msize=512000,cache=mmap"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int ctl = -1; /* the control port */

/* ---- small helpers -------------------------------------------------------------------- */

/* An error text for the host, cut to what a frame carries; its length. */
static uint32_t vformat(char buf[VM_TEXT_MAX], const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static uint32_t vformat(char buf[VM_TEXT_MAX], const char *fmt, va_list ap) {
  int n = vsnprintf(buf, VM_TEXT_MAX, fmt, ap);
  if (n < 0) return 0;
  return (size_t)n >= VM_TEXT_MAX ? VM_TEXT_MAX - 1 : (uint32_t)n;
}

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  dprintf(2, "isola-agent: %s\n", buf);
}

/* With `isola_trace`, one line per step, stamped with the guest's monotonic clock (the clock
 * of the kernel's own console lines): how docs/vm.md's breakdown is measured. The lines
 * collect in memory shared with the container's init (writing each to the serial console as
 * it happens would cost ~1 ms a line under TCG) and go to the console before EXIT. */
static char *trace_buf; /* MAP_SHARED, TRACE_BUF_SIZE bytes; NULL without isola_trace */
static size_t *trace_len;
#define TRACE_BUF_SIZE (64u << 10)

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...) {
  if (!trace_buf) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char line[256];
  int n = snprintf(line, sizeof line, "[%5ld.%06ld] isola-agent: ", (long)ts.tv_sec,
                   ts.tv_nsec / 1000);
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  size_t at = __atomic_fetch_add(trace_len, (size_t)n, __ATOMIC_RELAXED);
  if (at + (size_t)n <= TRACE_BUF_SIZE - sizeof *trace_len) memcpy(trace_buf + at, line, (size_t)n);
}

static void trace_start(void) {
  void *m = mmap(NULL, TRACE_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return;
  trace_len = m;
  trace_buf = (char *)m + sizeof *trace_len;
}

/* The collected lines to the console (stderr). */
static void trace_flush(void) {
  if (!trace_buf) return;
  size_t len = *trace_len;
  if (len > TRACE_BUF_SIZE - sizeof *trace_len) len = TRACE_BUF_SIZE - sizeof *trace_len;
  write_all_fd(2, trace_buf, len);
  *trace_len = 0;
}

/* Then the kernel's own log from the agent's start on (with `initcall_debug` on the kernel
 * command line it has the time each module's init took). */
static void trace_kernel_log(void) {
  if (!trace_buf) return;
  static char log[1 << 18];
  int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof log);
  bool after = false;
  for (char *line = log, *nl; n > 0 && line < log + n; line = nl + 1) {
    if (!(nl = memchr(line, '\n', (size_t)(log + n - line)))) break;
    if (strstr(line, "Run /init")) after = true;
    if (after) dprintf(2, "kernel: %.*s\n", (int)(nl - line), line);
  }
}

static void power_off(void) __attribute__((noreturn));
static void power_off(void) {
  sync();
  reboot(LINUX_REBOOT_CMD_POWER_OFF);
  for (;;) pause();
}

static void send_frame(uint8_t type, const void *payload, uint32_t len) {
  uint8_t h[VM_FRAME_HEADER];
  vm_frame_header(h, type, len);
  if (ctl < 0 || write_all_fd(ctl, h, sizeof h) < 0 || (len && write_all_fd(ctl, payload, len) < 0)) {
    msg("control port: write: %s", strerror(errno));
    power_off();
  }
}

static void send_u32(uint8_t type, uint32_t v) {
  uint8_t b[4];
  vm_put_u32(b, v);
  send_frame(type, b, 4);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- reading frames ------------------------------------------------------------------- */

static uint8_t inbuf[VM_FRAME_HEADER + VM_MAX_PAYLOAD];
static size_t inlen, inpos;

/* One read from the port into the buffer; -1 at EOF or error. */
static int ctl_fill(void) {
  if (inpos) {
    memmove(inbuf, inbuf + inpos, inlen - inpos);
    inlen -= inpos;
    inpos = 0;
  }
  for (;;) {
    ssize_t n = read(ctl, inbuf + inlen, sizeof inbuf - inlen);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    inlen += (size_t)n;
    return 0;
  }
}

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* The next buffered frame: 1 with *f set (valid until the next ctl_fill), 0 when none. */
static int ctl_take(struct vm_frame *f) {
  const char *why = NULL;
  long n = vm_frame_parse(VM_TO_GUEST, inbuf + inpos, inlen - inpos, f, &why);
  if (n < 0) die("control port: %s", why);
  if (n == 0) return 0;
  inpos += (size_t)n;
  return 1;
}

/* Waits up to `ms` (-1: forever) for the next frame. 0 on timeout. */
static int ctl_wait(struct vm_frame *f, int ms) {
  int64_t deadline = ms < 0 ? -1 : now_ms() + ms;
  for (;;) {
    if (ctl_take(f)) return 1;
    int left = deadline < 0 ? -1 : (int)(deadline - now_ms());
    if (deadline >= 0 && left <= 0) return 0;
    struct pollfd p = {.fd = ctl, .events = POLLIN};
    int r = poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return 0;
    if (ctl_fill() < 0) {
      msg("control port closed by the host");
      power_off();
    }
  }
}

/* Reports `fmt` to the host as ERROR, waits a moment for its ACK, and powers off. */
static void die(const char *fmt, ...) {
  char buf[VM_TEXT_MAX];
  va_list ap;
  va_start(ap, fmt);
  uint32_t n = vformat(buf, fmt, ap);
  va_end(ap);
  msg("%s", buf);
  if (ctl >= 0) {
    send_frame(VM_ERROR, buf, n);
    struct vm_frame f;
    int64_t end = now_ms() + 5000;
    inpos = inlen = 0; /* whatever was buffered may be the bad frame */
    while (now_ms() < end && ctl_wait(&f, (int)(end - now_ms())) == 1 && f.type != VM_ACK) {
    }
  }
  power_off();
}

/* ---- boot: mounts, modules, the port ---------------------------------------------------- */

static void boot_mounts(void) {
  mkdir("/proc", 0555);
  mkdir("/sys", 0555);
  mkdir("/dev", 0755);
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
      mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
      mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") < 0) {
    msg("boot mounts: %s", strerror(errno));
    power_off();
  }
  mkdir("/dev/pts", 0755);
  if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620") < 0)
    msg("mount devpts: %s", strerror(errno));
}

/* The loopback up: the container shares the guest's network namespace, which has no other
 * device (the host leaves out config.json's network namespace). */
static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
      (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0))
    msg("loopback: %s", strerror(errno));
  if (s >= 0) close(s);
}

/* Loads the modules `list` names, in its order (scripts/vm-image.sh writes /modules/early, what
 * the control port needs, and /modules/late, the 9p file system's, each in dependency order).
 * A failure is reported to the host once the port is open, else on the console. */
static void load_modules(const char *list) {
  FILE *f = fopen(list, "re");
  if (!f) return; /* a kernel with the drivers built in needs none */
  char line[256], path[300];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!line[0]) continue;
    snprintf(path, sizeof path, "/modules/%s", line);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)) {
      if (ctl >= 0) die("load module `%s`: %s", path, strerror(errno));
      msg("load module `%s`: %s", path, strerror(errno));
      power_off();
    }
    close(fd);
    trace("module %s loaded", line);
  }
  fclose(f);
}

/* The virtio-serial port named VM_PORT_NAME: /sys/class/virtio-ports/vportXpY/name. The name
 * arrives from the device a moment after the driver bound, so this polls for a while. */
static int open_port(void) {
  for (int tries = 0; tries < 20000; tries++) {
    DIR *d = opendir("/sys/class/virtio-ports");
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char path[300], name[64] = "";
      snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ssize_t n = read(fd, name, sizeof name - 1);
      close(fd);
      if (n <= 0) continue;
      name[n] = 0;
      name[strcspn(name, "\n")] = 0;
      if (strcmp(name, VM_PORT_NAME)) continue;
      snprintf(path, sizeof path, "/dev/%s", e->d_name);
      closedir(d);
      int port = -1;
      for (int i = 0; i < 2000 && (port = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0; i++)
        usleep(1000); /* devtmpfs creates the node asynchronously */
      return port;
    }
    if (d) closedir(d);
    usleep(500);
  }
  return -1;
}

/* ---- the config ----------------------------------------------------------------------- */

struct strs {
  char **v;
  size_t n;
};

/* A CONFIG frame (the container and its process) or an EXEC frame (a process only). */
struct config {
  struct strs args, env, masked, readonly, sysctl;
  char *cwd, *hostname, *domainname;
  uid_t uid;
  gid_t gid;
  gid_t groups[256];
  size_t ngroups;
  bool has_umask;
  mode_t umask;
  struct {
    int res;
    struct rlimit lim;
  } rlimits[RLIM_NLIMITS];
  size_t nrlimits;
  bool terminal, root_ro, nnp;
  unsigned short rows, cols;
  int ns_flags;
  struct vm_mount mounts[512];
  size_t nmounts;
  uint8_t *payload; /* the frame's records; mounts point into them */
};

static struct config cfg; /* the container's */

static void free_strs(struct strs *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
}

static void free_config(struct config *c) {
  free_strs(&c->args), free_strs(&c->env), free_strs(&c->masked), free_strs(&c->readonly);
  free_strs(&c->sysctl);
  free(c->cwd), free(c->hostname), free(c->domainname), free(c->payload);
  memset(c, 0, sizeof *c);
}

static int push(struct strs *s, char *v) {
  char **nv = v ? realloc(s->v, (s->n + 2) * sizeof *nv) : NULL;
  if (!nv) {
    free(v);
    return -1;
  }
  s->v = nv;
  s->v[s->n++] = v;
  s->v[s->n] = NULL;
  return 0;
}

/* Records of an EXEC frame: what a process is made of. */
static bool exec_record(uint8_t tag) {
  return tag == VM_C_ARG || tag == VM_C_ENV || tag == VM_C_CWD || tag == VM_C_UID ||
         tag == VM_C_GID || tag == VM_C_GROUP || tag == VM_C_UMASK || tag == VM_C_RLIMIT ||
         tag == VM_C_TERMINAL || tag == VM_C_NO_NEW_PRIVS;
}

/* Parses the records of payload[0..len) into *c (which must be zeroed). Returns 0, or -1 with
 * the reason in why[]. `exec`: only the records of a process are allowed. */
static int parse_records(struct config *c, const uint8_t *payload, size_t len, bool exec, char *why,
                         size_t whylen) {
#define BAD(...) return snprintf(why, whylen, __VA_ARGS__), -1
  c->payload = malloc(len ? len : 1);
  if (!c->payload) BAD("out of memory");
  memcpy(c->payload, payload, len);
  size_t pos = 0, count = 0;
  struct vm_record r;
  const char *e;
  int got;
  while ((got = vm_record_next(c->payload, len, &pos, &r, &e)) == 1) {
    if (++count > VM_C_MAX_RECORDS) BAD("too many records");
    if (exec && !exec_record(r.tag)) BAD("record %u does not belong in an EXEC frame", r.tag);
    bool str = r.tag == VM_C_ARG || r.tag == VM_C_ENV || r.tag == VM_C_MASKED ||
               r.tag == VM_C_READONLY || r.tag == VM_C_CWD || r.tag == VM_C_HOSTNAME ||
               r.tag == VM_C_DOMAINNAME;
    char *sv = NULL;
    if (str) {
      if (vm_record_check_string(&r, &e) < 0) BAD("%s", e);
      if (!(sv = malloc(r.len + 1))) BAD("out of memory");
      memcpy(sv, r.value, r.len);
      sv[r.len] = 0;
    }
    bool u32 = r.tag == VM_C_UID || r.tag == VM_C_GID || r.tag == VM_C_GROUP ||
               r.tag == VM_C_UMASK || r.tag == VM_C_NAMESPACES;
    if (u32 && r.len != 4) BAD("record %u: expected 4 bytes", r.tag);
    uint32_t v = u32 ? vm_get_u32(r.value) : 0;
    switch (r.tag) {
    case VM_C_ARG: if (push(&c->args, sv) < 0) BAD("out of memory"); break;
    case VM_C_ENV: if (push(&c->env, sv) < 0) BAD("out of memory"); break;
    case VM_C_MASKED: if (push(&c->masked, sv) < 0) BAD("out of memory"); break;
    case VM_C_READONLY: if (push(&c->readonly, sv) < 0) BAD("out of memory"); break;
    case VM_C_SYSCTL: {
      /* "key\0value": kept as "key=value" */
      const uint8_t *nul = memchr(r.value, 0, r.len);
      if (!nul || memchr(nul + 1, 0, r.len - (size_t)(nul - r.value) - 1)) BAD("bad sysctl record");
      char *kv = malloc(r.len + 1);
      if (!kv) BAD("out of memory");
      memcpy(kv, r.value, r.len);
      kv[nul - r.value] = '=';
      kv[r.len] = 0;
      if (push(&c->sysctl, kv) < 0) BAD("out of memory");
      break;
    }
    case VM_C_CWD: free(c->cwd), c->cwd = sv; break;
    case VM_C_HOSTNAME: free(c->hostname), c->hostname = sv; break;
    case VM_C_DOMAINNAME: free(c->domainname), c->domainname = sv; break;
    case VM_C_UID: c->uid = v; break;
    case VM_C_GID: c->gid = v; break;
    case VM_C_GROUP:
      if (c->ngroups == sizeof c->groups / sizeof *c->groups) BAD("too many groups");
      c->groups[c->ngroups++] = v;
      break;
    case VM_C_UMASK: c->has_umask = true, c->umask = v & 0777; break;
    case VM_C_RLIMIT:
      if (r.len != 20 || c->nrlimits == RLIM_NLIMITS) BAD("bad rlimit record");
      c->rlimits[c->nrlimits].res = (int)vm_get_u32(r.value);
      c->rlimits[c->nrlimits].lim.rlim_cur = vm_get_u64(r.value + 4);
      c->rlimits[c->nrlimits].lim.rlim_max = vm_get_u64(r.value + 12);
      c->nrlimits++;
      break;
    case VM_C_TERMINAL:
      if (r.len != 4) BAD("bad terminal record");
      c->terminal = true;
      c->rows = (unsigned short)(r.value[0] | r.value[1] << 8);
      c->cols = (unsigned short)(r.value[2] | r.value[3] << 8);
      break;
    case VM_C_ROOT_RO: c->root_ro = true; break;
    case VM_C_NO_NEW_PRIVS: c->nnp = true; break;
    case VM_C_NAMESPACES:
      c->ns_flags = (int)(v & (CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP));
      break;
    case VM_C_MOUNT:
      if (c->nmounts == sizeof c->mounts / sizeof *c->mounts) BAD("too many mounts");
      if (vm_mount_decode(&r, &c->mounts[c->nmounts], &e) < 0) BAD("%s", e);
      c->nmounts++;
      break;
    default: BAD("unknown record %u", r.tag);
    }
  }
  if (got < 0) BAD("%s", e);
  if (!c->args.n) BAD("process.args is empty");
  if (!c->cwd && !(c->cwd = strdup("/"))) BAD("out of memory");
  return 0;
#undef BAD
}

static void parse_config(const struct vm_frame *f) {
  char why[256];
  if (parse_records(&cfg, f->payload, f->len, false, why, sizeof why) < 0) die("config: %s", why);
}

/* ---- building the container (runs in the container's init, before exec) -------------- */

static int sync_fd = -1; /* child -> agent: "R" when ready, "E<text>" on failure */

static void child_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void child_fail(const char *fmt, ...) {
  char buf[VM_TEXT_MAX];
  buf[0] = 'E';
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + 1, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof buf - 1) n = sizeof buf - 2;
  write_all_fd(sync_fd, buf, (size_t)n + 1);
  _exit(127);
}

static int open_in_root(int rootfd, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  while (*path == '/') path++;
  if (!*path) path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* An O_PATH fd of `path` under the root, created (parents as directories, the last one as a
 * directory or an empty file) when missing. */
static int make_in_root(int rootfd, const char *path, bool file) {
  int fd = open_in_root(rootfd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT) return fd;
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return errno = ENAMETOOLONG, -1;
  size_t len = strlen(buf);
  while (len > 1 && buf[len - 1] == '/') buf[--len] = 0;
  char *slash = strrchr(buf, '/');
  const char *last = slash ? slash + 1 : buf;
  int parent;
  if (!slash || slash == buf) parent = open_in_root(rootfd, "/", O_PATH);
  else {
    *slash = 0;
    parent = make_in_root(rootfd, buf, false);
  }
  if (parent < 0) return -1;
  int r = file ? openat(parent, last, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)
               : mkdirat(parent, last, 0755);
  if (r >= 0 && file) close(r);
  close(parent);
  if (r < 0 && errno != EEXIST) return -1;
  return open_in_root(rootfd, path, O_PATH);
}

static void fdpath(char *out, size_t n, int fd) { snprintf(out, n, "/proc/self/fd/%d", fd); }

static void do_mount(int rootfd, size_t idx) {
  const struct vm_mount *m = &cfg.mounts[idx];
  bool file = m->kind == VM_M_FILE;
  int fd = make_in_root(rootfd, m->destination, file);
  if (fd < 0) child_fail("mounts `%s`: create the mount point: %s", m->destination, strerror(errno));
  char target[64];
  fdpath(target, sizeof target, fd);
  unsigned long flags = (unsigned long)m->flags;
  if (m->kind == VM_M_FS) {
    const char *type = m->fstype;
    const char *data = m->data[0] ? m->data : NULL;
    /* The guest kernel runs cgroup v2 only: a v1 "cgroup" mount becomes the unified one. */
    if (!strcmp(type, "cgroup")) type = "cgroup2", data = NULL;
    if (mount(m->source[0] ? m->source : type, target, type, flags & ~(unsigned long)MS_BIND,
              data) < 0)
      child_fail("mounts `%s`: mount %s: %s", m->destination, type, strerror(errno));
  } else if (m->kind == VM_M_SHARE) {
    char opts[512];
    snprintf(opts, sizeof opts, "%s%s%s", NINEP_OPTS, m->data[0] ? "," : "", m->data);
    if (mount(m->source, target, "9p", flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                                MS_NOATIME | MS_NODIRATIME | MS_RELATIME),
              opts) < 0)
      child_fail("mounts `%s`: mount the 9p share `%s`: %s", m->destination, m->source,
                 strerror(errno));
  } else { /* VM_M_FILE: the bytes go to a file of the agent's tmpfs, bind-mounted here */
    char stage[64];
    snprintf(stage, sizeof stage, "/run/isola-files/%zu", idx);
    mkdir("/run", 0755);
    mkdir("/run/isola-files", 0700);
    int w = open(stage, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w < 0 || write_all_fd(w, m->content, m->content_len) < 0)
      child_fail("mounts `%s`: stage the file: %s", m->destination, strerror(errno));
    close(w);
    if (mount(stage, target, NULL, MS_BIND, NULL) < 0)
      child_fail("mounts `%s`: bind the file: %s", m->destination, strerror(errno));
    if (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) {
      close(fd);
      if ((fd = open_in_root(rootfd, m->destination, O_PATH)) < 0)
        child_fail("mounts `%s`: %s", m->destination, strerror(errno));
      fdpath(target, sizeof target, fd);
      if (mount(NULL, target, NULL,
                MS_BIND | MS_REMOUNT | (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)),
                NULL) < 0)
        child_fail("mounts `%s`: remount: %s", m->destination, strerror(errno));
    }
  }
  if (m->propagation) {
    close(fd);
    if ((fd = open_in_root(rootfd, m->destination, O_PATH)) >= 0) {
      fdpath(target, sizeof target, fd);
      if (mount(NULL, target, NULL, (unsigned long)m->propagation, NULL) < 0)
        child_fail("mounts `%s`: propagation: %s", m->destination, strerror(errno));
    }
  }
  close(fd);
}

/* /dev: a tmpfs with the usual nodes (config.json's /dev mount, or one of ours). */
static char tty_name[64]; /* the pty slave's path, in terminal mode */

static void make_dev(int rootfd, int console_slave) {
  bool have_dev = false;
  for (size_t i = 0; i < cfg.nmounts; i++)
    if (!strcmp(cfg.mounts[i].destination, "/dev")) have_dev = true;
  if (!have_dev) {
    int fd = make_in_root(rootfd, "/dev", false);
    char target[64];
    fdpath(target, sizeof target, fd);
    if (fd < 0 || mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k") < 0)
      child_fail("mount /dev: %s", strerror(errno));
    close(fd);
  }
  int dev = open_in_root(rootfd, "/dev", O_DIRECTORY | O_RDONLY);
  struct statfs sfs;
  if (dev < 0 || fstatfs(dev, &sfs) < 0) child_fail("/dev: %s", strerror(errno));
  if (sfs.f_type != TMPFS_MAGIC) { /* never mknod on the shared rootfs */
    close(dev);
    return;
  }
  static const struct {
    const char *name;
    unsigned maj, min;
  } nodes[] = {{"null", 1, 3}, {"zero", 1, 5},    {"full", 1, 7},
               {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  mode_t old = umask(0);
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++)
    if (mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0 &&
        errno != EEXIST)
      child_fail("/dev/%s: %s", nodes[i].name, strerror(errno));
  umask(old);
  static const char *const links[][2] = {{"/proc/self/fd", "fd"},   {"/proc/self/fd/0", "stdin"},
                                         {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                         {"pts/ptmx", "ptmx"},      {"/proc/kcore", "core"}};
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) symlinkat(links[i][0], dev, links[i][1]);
  if (console_slave >= 0) {
    int c = openat(dev, "console", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (c >= 0) close(c);
    /* By path: the slave fd's mount belongs to the agent's namespace, which a bind refuses. */
    char dst[64];
    int cfd = openat(dev, "console", O_PATH | O_CLOEXEC | O_NOFOLLOW);
    fdpath(dst, sizeof dst, cfd);
    if (cfd < 0 || mount(tty_name, dst, NULL, MS_BIND, NULL) < 0)
      child_fail("/dev/console: %s", strerror(errno));
    close(cfd);
  }
  close(dev);
}

static void apply_sysctls(void) {
  for (size_t i = 0; i < cfg.sysctl.n; i++) {
    char path[512], *kv = cfg.sysctl.v[i], *eq = strchr(kv, '=');
    *eq = 0;
    snprintf(path, sizeof path, "/proc/sys/%s", kv);
    for (char *p = path + 10; *p; p++)
      if (*p == '.') *p = '/';
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write_all_fd(fd, eq + 1, strlen(eq + 1)) < 0)
      child_fail("sysctl `%s`: %s", kv, strerror(errno));
    close(fd);
    *eq = '=';
  }
}

static void mask_paths(void) {
  for (size_t i = 0; i < cfg.masked.n; i++) {
    const char *p = cfg.masked.v[i];
    struct stat st;
    if (stat(p, &st) < 0) continue;
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0")
                                : mount("/dev/null", p, NULL, MS_BIND, NULL);
    if (r < 0 && errno != ENOENT) child_fail("maskedPaths `%s`: %s", p, strerror(errno));
  }
  for (size_t i = 0; i < cfg.readonly.n; i++) {
    const char *p = cfg.readonly.v[i];
    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
      if (errno == ENOENT) continue;
      child_fail("readonlyPaths `%s`: %s", p, strerror(errno));
    }
    if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0 &&
        mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
      child_fail("readonlyPaths `%s`: %s", p, strerror(errno));
  }
}

static const char *env_get(const struct config *c, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < c->env.n; i++)
    if (!strncmp(c->env.v[i], name, n) && c->env.v[i][n] == '=') return c->env.v[i] + n + 1;
  return NULL;
}

/* HOME from /etc/passwd when env has none, as runc does. */
static void add_home(struct config *c) {
  if (env_get(c, "HOME")) return;
  const char *home = "/";
  FILE *f = fopen("/etc/passwd", "re");
  char line[1024], *found = NULL;
  while (f && fgets(line, sizeof line, f)) {
    char *fields[7];
    int n = 0;
    for (char *p = line, *s; n < 7 && (s = strsep(&p, ":\n"));) fields[n++] = s;
    if (n >= 6 && strtoul(fields[2], NULL, 10) == c->uid && fields[2][0]) {
      found = strdup(fields[5]);
      break;
    }
  }
  if (f) fclose(f);
  if (found && found[0]) home = found;
  size_t n = strlen(home) + 6;
  char *kv = malloc(n);
  if (!kv) return;
  snprintf(kv, n, "HOME=%s", home);
  push(&c->env, kv);
}

static void find_executable(const struct config *c, char *out, size_t n) {
  const char *prog = c->args.v[0];
  if (strchr(prog, '/')) {
    if (snprintf(out, n, "%s", prog) >= (int)n) child_fail("process.args[0]: name too long");
    if (access(out, X_OK) < 0)
      child_fail("executable `%s`: %s", prog, strerror(errno));
    return;
  }
  const char *path = env_get(c, "PATH");
  if (!path) path = DEFAULT_PATH;
  char *copy = strdup(path), *p = copy, *dir;
  while (copy && (dir = strsep(&p, ":"))) {
    snprintf(out, n, "%s/%s", dir[0] ? dir : ".", prog);
    struct stat st;
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return;
  }
  child_fail("executable `%s` not found in $PATH (%s)", prog, path);
}

struct child_io {
  int in, out, err; /* the child's ends (pipes), or -1 */
  int tty;          /* the pty slave in terminal mode, or -1 */
  int go;           /* agent -> child: one byte releases it (the container's process only) */
};

/* The child's defaults and stdio: the agent blocks SIGCHLD and ignores SIGPIPE, the program
 * gets the defaults; stdio first, so that the program inherits it. */
static void child_stdio(const struct child_io *io) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  if (io->tty >= 0) {
    setsid();
    if (ioctl(io->tty, TIOCSCTTY, 0) < 0) child_fail("terminal: set controlling tty: %s", strerror(errno));
    for (int i = 0; i < 3; i++) dup2(io->tty, i);
  } else {
    dup2(io->in, 0);
    dup2(io->out, 1);
    dup2(io->err, 2);
  }
}

/* The process's own settings, inside the container's root: rlimits, HOME, groups, gid, uid,
 * umask, cwd, no_new_privs; then the executable's path into exe[]. */
static void set_up_process(struct config *c, char *exe, size_t n) {
  for (size_t i = 0; i < c->nrlimits; i++)
    if (setrlimit(c->rlimits[i].res, &c->rlimits[i].lim) < 0)
      child_fail("rlimit %d: %s", c->rlimits[i].res, strerror(errno));
  add_home(c);
  if (setgroups(c->ngroups, c->groups) < 0) child_fail("setgroups: %s", strerror(errno));
  if (setresgid(c->gid, c->gid, c->gid) < 0) child_fail("setgid %u: %s", c->gid, strerror(errno));
  if (setresuid(c->uid, c->uid, c->uid) < 0) child_fail("setuid %u: %s", c->uid, strerror(errno));
  umask(c->has_umask ? c->umask : 022);
  if (chdir(c->cwd) < 0) child_fail("cwd `%s`: %s", c->cwd, strerror(errno));
  if (c->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    child_fail("no_new_privs: %s", strerror(errno));
  find_executable(c, exe, n);
}

static void container_init(const struct child_io *io) __attribute__((noreturn));
static void container_init(const struct child_io *io) {
  child_stdio(io);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    child_fail("make mounts private: %s", strerror(errno));
  mkdir("/newroot", 0755);
  trace("container: namespaces");
  if (mount("rootfs", "/newroot", "9p", cfg.root_ro ? MS_RDONLY : 0, NINEP_OPTS) < 0)
    child_fail("mount the rootfs (9p share `rootfs`): %s", strerror(errno));
  trace("container: rootfs mounted");
  int rootfd = open("/newroot", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (rootfd < 0) child_fail("open the rootfs: %s", strerror(errno));
  for (size_t i = 0; i < cfg.nmounts; i++) do_mount(rootfd, i);
  trace("container: mounts");
  make_dev(rootfd, io->tty);
  close(rootfd);
  trace("container: /dev");

  if (cfg.hostname && sethostname(cfg.hostname, strlen(cfg.hostname)) < 0)
    child_fail("hostname: %s", strerror(errno));
  if (cfg.domainname && setdomainname(cfg.domainname, strlen(cfg.domainname)) < 0)
    child_fail("domainname: %s", strerror(errno));

  /* The initramfs is the kernel's rootfs, which pivot_root refuses: move the new root over it
   * and chroot, as switch_root does. The old root's files stay hidden underneath. */
  if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
      chdir("/") < 0)
    child_fail("enter the new root: %s", strerror(errno));
  apply_sysctls();
  mask_paths();
  trace("container: masked and read-only paths");
  if (cfg.root_ro && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    child_fail("make the root read-only: %s", strerror(errno));

  char exe[4096];
  set_up_process(&cfg, exe, sizeof exe);
  trace("container: process set up");

  /* 3. Ready: wait for the release (EOF: the agent is gone). */
  if (write_all_fd(sync_fd, "R", 1) < 0) _exit(127);
  char c;
  if (read(io->go, &c, 1) != 1) _exit(127);
  close(io->go);
  execve(exe, cfg.args.v, cfg.env.v);
  child_fail("exec `%s`: %s", exe, strerror(errno));
}

/* E2. An exec's process: born in the container's pid namespace (the agent forked it there),
 * it joins the container's other namespaces and root, sets itself up as the container's
 * process was, and executes the program. `nsfd` are the container's namespaces (-1: the
 * container shares the agent's), `rootfd` its root; `sync_fd` closes on exec, or carries
 * "E<reason>". */
static void exec_child(struct config *c, const struct child_io *io, const int nsfd[5], int rootfd)
    __attribute__((noreturn));
static void exec_child(struct config *c, const struct child_io *io, const int nsfd[5], int rootfd) {
  child_stdio(io);
  static const char *const names[5] = {"ipc", "uts", "net", "cgroup", "mnt"};
  for (int i = 0; i < 5; i++)
    if (nsfd[i] >= 0 && setns(nsfd[i], 0) < 0)
      child_fail("join the container's %s namespace: %s", names[i], strerror(errno));
  if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
    child_fail("enter the container's root: %s", strerror(errno));
  char exe[4096];
  set_up_process(c, exe, sizeof exe);
  execve(exe, c->args.v, c->env.v);
  child_fail("exec `%s`: %s", exe, strerror(errno));
}

/* ---- the relay ------------------------------------------------------------------------ */

/* A process whose streams the agent relays: the container's (procs[0], id 0, the plain
 * frames) or an exec's (id > 0, the EXEC_* frames). */
struct proc {
  bool used;
  uint32_t id;
  pid_t pid;
  int go;           /* the container's process: write end that releases it */
  int sync;         /* the container's process: read end of its reports */
  int in;           /* stdin pipe or pty master; -1 once closed */
  int out, err;     /* outputs; -1 once at EOF */
  bool tty;
  bool started, exited, stdin_eof;
  int status;       /* shell-style */
  int64_t exit_ms;  /* when it exited */
  uint8_t *pending; /* stdin bytes not yet written */
  size_t npending;
};

static struct proc procs[1 + VM_MAX_EXECS];
static struct proc *const w = &procs[0]; /* the container's process */
static int self_pidns = -1;              /* the agent's own pid namespace, to come back to */

static void proc_init(struct proc *p, uint32_t id) {
  *p = (struct proc){.used = true, .id = id, .pid = -1, .go = -1, .sync = -1, .in = -1,
                     .out = -1, .err = -1};
}

/* A frame about `p`: the plain type for the container's process, the EXEC_ type (with the id
 * in front) for an exec. */
static void send_proc(const struct proc *p, uint8_t plain, uint8_t exec, const void *data,
                      uint32_t len) {
  if (!p->id) {
    send_frame(plain, data, len);
    return;
  }
  uint8_t h[VM_FRAME_HEADER + 4];
  vm_frame_header(h, exec, len + 4);
  vm_put_u32(h + VM_FRAME_HEADER, p->id);
  if (write_all_fd(ctl, h, sizeof h) < 0 || (len && write_all_fd(ctl, data, len) < 0)) {
    msg("control port: write: %s", strerror(errno));
    power_off();
  }
}

static void send_proc_u32(const struct proc *p, uint8_t plain, uint8_t exec, uint32_t v) {
  uint8_t b[4];
  vm_put_u32(b, v);
  send_proc(p, plain, exec, b, 4);
}

static int pipe_pair(int p[2], bool nonblock_parent_end, int parent_is_read) {
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  if (nonblock_parent_end) {
    int fd = parent_is_read ? p[0] : p[1];
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return 0;
}

/* stdio for a process of config `c`: a pty (master for us, slave for the child) or three
 * pipes. Fills *io with the child's ends and p's in/out/err with ours. NULL, or the reason. */
static const char *make_stdio(const struct config *c, struct proc *p, struct child_io *io,
                              char *slave_name, size_t slave_len) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  *io = (struct child_io){.in = -1, .out = -1, .err = -1, .tty = -1, .go = -1};
  if (c->terminal) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
      if (master >= 0) close(master);
      return "terminal: open a pty";
    }
    char *name = ptsname(master);
    if (name && slave_name) snprintf(slave_name, slave_len, "%s", name);
    io->tty = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
    if (io->tty < 0) {
      close(master);
      return "terminal: open the pty slave";
    }
    if (c->rows && c->cols) {
      struct winsize ws = {.ws_row = c->rows, .ws_col = c->cols};
      ioctl(master, TIOCSWINSZ, &ws);
    }
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    p->tty = true;
    p->in = p->out = master;
    return NULL;
  }
  if (pipe_pair(in, true, 0) < 0 || pipe_pair(out, true, 1) < 0 || pipe_pair(err, true, 1) < 0) {
    for (int i = 0; i < 2; i++) {
      if (in[i] >= 0) close(in[i]);
      if (out[i] >= 0) close(out[i]);
      if (err[i] >= 0) close(err[i]);
    }
    return "stdio pipes";
  }
  io->in = in[0], io->out = out[1], io->err = err[1];
  p->in = in[1], p->out = out[0], p->err = err[0];
  return NULL;
}

static void close_child_ends(const struct child_io *io) {
  if (io->tty >= 0) close(io->tty);
  if (io->in >= 0) close(io->in), close(io->out), close(io->err);
}

/* 3. Forks the container's init and waits until it is ready. */
static void prepare(void) {
  proc_init(w, 0);
  struct child_io io;
  int go[2], sync[2];
  const char *bad = make_stdio(&cfg, w, &io, tty_name, sizeof tty_name);
  if (bad) die("%s: %s", bad, strerror(errno));
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  io.go = go[0];

  /* New mount and pid namespaces (and a network one if asked). The uts, ipc and cgroup
   * namespaces config.json asks for are not made: the container shares the agent's, which
   * nothing else in the guest uses and the pid namespace hides, so it sees what fresh ones
   * would show (the guest's default hostname until it sets its own, no IPC objects, "/" as
   * its cgroup), and making them cost ~3 ms under TCG (docs/vm.md). Execs join the same. */
  cfg.ns_flags &= CLONE_NEWNET;
  int flags = CLONE_NEWNS | CLONE_NEWPID | cfg.ns_flags;
  pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) die("create the container process: %s", strerror(errno));
  if (pid == 0) {
    close(ctl);
    sync_fd = sync[1];
    close(sync[0]);
    close(go[1]);
    if (w->in >= 0) close(w->in);
    if (!w->tty) close(w->out), close(w->err);
    container_init(&io);
  }
  close(sync[1]);
  close(go[0]);
  close_child_ends(&io);
  w->pid = pid;
  w->go = go[1];
  w->sync = sync[0];

  char buf[VM_TEXT_MAX + 1];
  ssize_t n;
  while ((n = read(w->sync, buf, sizeof buf - 1)) < 0 && errno == EINTR) {
  }
  if (n <= 0) die("the container process died during setup");
  buf[n] = 0;
  if (buf[0] != 'R') die("%s", buf + 1);
  /* Keep the container's mount namespace: when its process exits, its mounts (the 9p root,
   * /proc, ...) are not torn down on the way to EXIT (~20 ms under TCG); the VM goes soon. */
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/mnt", pid);
  if (open(path, O_RDONLY | O_CLOEXEC) < 0) msg("hold the container's mounts: %s", strerror(errno));
}

/* 4./5. Releases the program and reports whether it was executed. */
static void run(void) {
  if (w->started) return;
  w->started = true;
  if (write_all_fd(w->go, "g", 1) < 0) die("start: the container process is gone");
  close(w->go);
  w->go = -1;
  char buf[VM_TEXT_MAX + 1];
  ssize_t n;
  while ((n = read(w->sync, buf, sizeof buf - 1)) < 0 && errno == EINTR) {
  }
  close(w->sync);
  w->sync = -1;
  if (n > 0) {
    buf[n] = 0;
    die("%s", buf[0] == 'E' ? buf + 1 : buf);
  }
  send_frame(VM_STARTED, NULL, 0);
  trace("STARTED");
}

static struct proc *find_exec(uint32_t id) {
  for (size_t i = 1; i < sizeof procs / sizeof *procs; i++)
    if (procs[i].used && procs[i].id == id) return &procs[i];
  return NULL;
}

static void exec_fail(uint32_t id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void exec_fail(uint32_t id, const char *fmt, ...) {
  char buf[VM_TEXT_MAX];
  va_list ap;
  va_start(ap, fmt);
  uint32_t n = vformat(buf, fmt, ap);
  va_end(ap);
  struct proc tmp = {.id = id};
  send_proc(&tmp, 0, VM_EXEC_ERROR, buf, n);
}

static void proc_release(struct proc *p) {
  if (p->in >= 0) close(p->in);
  if (p->out >= 0 && p->out != p->in) close(p->out);
  if (p->err >= 0) close(p->err);
  free(p->pending);
  p->used = false;
}

/* E1./E2. Starts an exec: its process is forked into the container's pid namespace, joins the
 * container's other namespaces and root, and executes the program; EXEC_STARTED once it did,
 * EXEC_ERROR (with the child's reason) if it could not. */
static void start_exec(const struct vm_frame *f) {
  static struct config ec; /* reset for every exec */
  uint32_t id = vm_get_u32(f->payload);
  if (!id) die("control port: EXEC with id 0");
  if (find_exec(id)) {
    exec_fail(id, "exec id %u is in use", id);
    return;
  }
  if (w->exited) {
    exec_fail(id, "the container's process has exited");
    return;
  }
  struct proc *p = NULL;
  for (size_t i = 1; i < sizeof procs / sizeof *procs && !p; i++)
    if (!procs[i].used) p = &procs[i];
  if (!p) {
    exec_fail(id, "more than %u execs at once", VM_MAX_EXECS);
    return;
  }
  char why[256];
  free_config(&ec);
  if (parse_records(&ec, f->payload + 4, f->len - 4, true, why, sizeof why) < 0) {
    exec_fail(id, "exec config: %s", why);
    free_config(&ec);
    return;
  }
  proc_init(p, id);
  struct child_io io;
  const char *bad = make_stdio(&ec, p, &io, NULL, 0);
  if (bad) {
    exec_fail(id, "%s: %s", bad, strerror(errno));
    p->used = false;
    free_config(&ec);
    return;
  }
  /* The container's namespaces, as its process has them. */
  static const char *const names[5] = {"ipc", "uts", "net", "cgroup", "mnt"};
  static const int flags[5] = {CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWCGROUP,
                               CLONE_NEWNS};
  int nsfd[5], sync[2] = {-1, -1}, rootfd, pidns;
  char path[64];
  for (int i = 0; i < 5; i++) {
    snprintf(path, sizeof path, "/proc/%d/ns/%s", w->pid, names[i]);
    nsfd[i] = (cfg.ns_flags | CLONE_NEWNS) & flags[i] ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  }
  snprintf(path, sizeof path, "/proc/%d/root", w->pid);
  rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%d/ns/pid", w->pid);
  pidns = open(path, O_RDONLY | O_CLOEXEC);
  pid_t pid = -1;
  int e = 0;
  if (rootfd < 0 || pidns < 0 || nsfd[4] < 0 || pipe2(sync, O_CLOEXEC) < 0) {
    e = errno;
  } else if (setns(pidns, CLONE_NEWPID) < 0) {
    e = errno;
  } else {
    /* Born in the container's pid namespace, as the agent's child (so we reap it). */
    pid = fork();
    e = errno;
    if (pid == 0) { /* everything else it holds is close-on-exec */
      close(ctl);
      sync_fd = sync[1];
      close(sync[0]);
      exec_child(&ec, &io, nsfd, rootfd);
    }
    if (setns(self_pidns, CLONE_NEWPID) < 0) die("return to the agent's pid namespace: %s", strerror(errno));
  }
  for (int i = 0; i < 5; i++)
    if (nsfd[i] >= 0) close(nsfd[i]);
  if (rootfd >= 0) close(rootfd);
  if (pidns >= 0) close(pidns);
  if (sync[1] >= 0) close(sync[1]);
  close_child_ends(&io);
  free_config(&ec);
  if (pid < 0) {
    if (sync[0] >= 0) close(sync[0]);
    proc_release(p);
    exec_fail(id, "enter the container: %s", strerror(e));
    return;
  }
  p->pid = pid;
  char buf[VM_TEXT_MAX + 1];
  ssize_t n;
  while ((n = read(sync[0], buf, sizeof buf - 1)) < 0 && errno == EINTR) {
  }
  close(sync[0]);
  if (n > 0) { /* it failed before exec (and exits 127: reap() collects it) */
    buf[n] = 0;
    exec_fail(id, "%s", buf[0] == 'E' ? buf + 1 : buf);
    p->pid = -1;
    proc_release(p);
    return;
  }
  p->started = true;
  send_proc(p, 0, VM_EXEC_STARTED, NULL, 0);
}

static void close_stdin(struct proc *p) {
  if (p->in >= 0 && !p->tty) close(p->in);
  if (!p->tty) p->in = -1;
  free(p->pending);
  p->pending = NULL;
  p->npending = 0;
}

/* Writes what stdin has pending; credits the host for every byte consumed or dropped. */
static void flush_stdin(struct proc *p) {
  size_t done = 0;
  while (done < p->npending && p->in >= 0) {
    ssize_t n = write(p->in, p->pending + done, p->npending - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) { /* the reader is gone: drop it all */
      done = p->npending;
      if (!p->tty) close_stdin(p);
      break;
    }
    done += (size_t)n;
  }
  if (!done) return;
  if (p->pending) {
    memmove(p->pending, p->pending + done, p->npending - done);
    p->npending -= done;
  }
  send_proc_u32(p, VM_STDIN_CREDIT, VM_EXEC_CREDIT, (uint32_t)done);
  if (p->stdin_eof && !p->npending) close_stdin(p);
}

static void on_stdin(struct proc *p, const uint8_t *data, uint32_t len) {
  if (len == 0) {
    p->stdin_eof = true;
    if (!p->npending) close_stdin(p);
    return;
  }
  if (p->in < 0 || p->stdin_eof) { /* nobody reads: drop it, credit it */
    send_proc_u32(p, VM_STDIN_CREDIT, VM_EXEC_CREDIT, len);
    return;
  }
  if (p->npending + len > VM_STDIN_WINDOW) die("control port: stdin over its window");
  uint8_t *np = realloc(p->pending, p->npending + len);
  if (!np) die("stdin: out of memory");
  p->pending = np;
  memcpy(p->pending + p->npending, data, len);
  p->npending += len;
  flush_stdin(p);
}

static void set_winsize(struct proc *p, const uint8_t *b) {
  if (!p->tty || p->in < 0) return;
  struct winsize ws = {.ws_row = (unsigned short)(b[0] | b[1] << 8),
                       .ws_col = (unsigned short)(b[2] | b[3] << 8)};
  ioctl(p->in, TIOCSWINSZ, &ws);
}

static void on_frame(const struct vm_frame *f) {
  struct proc *p = NULL;
  if (f->type == VM_EXEC_STDIN || f->type == VM_EXEC_SIGNAL || f->type == VM_EXEC_WINSIZE) {
    /* An exec that is gone already: what comes for it is dropped (stdin credited). */
    if (!(p = find_exec(vm_get_u32(f->payload)))) {
      if (f->type == VM_EXEC_STDIN && f->len > 4) {
        struct proc gone = {.id = vm_get_u32(f->payload)};
        send_proc_u32(&gone, 0, VM_EXEC_CREDIT, f->len - 4);
      }
      return;
    }
  }
  switch (f->type) {
  case VM_RUN: trace("RUN"); run(); break;
  case VM_STDIN: on_stdin(w, f->payload, f->len); break;
  case VM_SIGNAL: {
    int sig = (int)vm_get_u32(f->payload);
    if (sig <= 0 || sig >= NSIG || w->exited) break;
    if (f->payload[4]) kill(-1, sig); /* everything but us: the container is all there is */
    if (w->pid > 0) kill(w->pid, sig);
    break;
  }
  case VM_WINSIZE: set_winsize(w, f->payload); break;
  case VM_ACK: break;
  case VM_EXEC: start_exec(f); break;
  case VM_EXEC_STDIN: on_stdin(p, f->payload + 4, f->len - 4); break;
  case VM_EXEC_SIGNAL: {
    int sig = (int)vm_get_u32(f->payload + 4);
    if (sig > 0 && sig < NSIG && !p->exited && p->pid > 0) kill(p->pid, sig);
    break;
  }
  case VM_EXEC_WINSIZE: set_winsize(p, f->payload + 4); break;
  default: die("control port: unexpected frame 0x%02x", f->type);
  }
}

/* Reads what an output has; sends it, or its EOF (an empty frame) and closes it. */
static void pump_output(struct proc *p, bool is_err) {
  static uint8_t buf[VM_DATA_MAX];
  int *fd = is_err ? &p->err : &p->out;
  uint8_t plain = is_err ? VM_STDERR : VM_STDOUT, exec = is_err ? VM_EXEC_STDERR : VM_EXEC_STDOUT;
  ssize_t n = read(*fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n > 0) {
    send_proc(p, plain, exec, buf, (uint32_t)n);
    return;
  }
  /* EOF, or EIO from a pty master whose slaves are all closed. */
  send_proc(p, plain, exec, NULL, 0);
  close(*fd);
  if (p->tty) p->in = -1; /* the pty master was both */
  *fd = -1;
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (size_t i = 0; i < sizeof procs / sizeof *procs; i++) {
      struct proc *p = &procs[i];
      if (!p->used || p->pid != pid) continue;
      p->exited = true;
      p->exit_ms = now_ms();
      trace("process %u exited", p->id);
      p->status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
  }
}

/* What an output holds now, then its EOF. For an exec that exited some time ago: children it
 * left behind may hold its outputs open, and must not keep it from ending (as with runc). */
static void drain_output(struct proc *p, bool is_err) {
  static uint8_t buf[VM_DATA_MAX];
  int *fd = is_err ? &p->err : &p->out;
  uint8_t t = is_err ? VM_EXEC_STDERR : VM_EXEC_STDOUT;
  while (*fd >= 0) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      send_proc(p, 0, t, buf, (uint32_t)n);
      continue;
    }
    send_proc(p, 0, t, NULL, 0);
    close(*fd);
    if (p->tty) p->in = -1; /* the pty master was both */
    *fd = -1;
  }
}

#define EXEC_LINGER_MS 200 /* how long an exited exec's outputs may stay open */

/* E4. Execs that exited are reported and forgotten, once what they wrote was sent. Returns
 * how many remain. */
static size_t finish_execs(void) {
  size_t left = 0;
  for (size_t i = 1; i < sizeof procs / sizeof *procs; i++) {
    struct proc *p = &procs[i];
    if (!p->used) continue;
    if (p->exited && now_ms() - p->exit_ms >= EXEC_LINGER_MS) {
      drain_output(p, false);
      drain_output(p, true);
    }
    if (p->exited && p->out < 0 && p->err < 0) {
      send_proc_u32(p, 0, VM_EXEC_EXIT, (uint32_t)p->status);
      proc_release(p);
      continue;
    }
    left++;
  }
  return left;
}

static void relay(int sigfd) {
  int64_t last_beat = now_ms();
  for (;;) {
    size_t execs = finish_execs();
    if (w->exited && w->out < 0 && w->err < 0 && !execs) break;
    struct pollfd pf[2 + 3 * (1 + VM_MAX_EXECS)];
    struct {
      struct proc *p;
      int what; /* 0 out, 1 err, 2 in */
    } owner[3 * (1 + VM_MAX_EXECS)];
    int n = 0, i_ctl = n++, i_sig = n++;
    pf[i_ctl] = (struct pollfd){.fd = ctl, .events = POLLIN};
    pf[i_sig] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    for (size_t i = 0; i < sizeof procs / sizeof *procs; i++) {
      struct proc *p = &procs[i];
      if (!p->used) continue;
      /* Outputs flow once the program runs (or died before it did: then they reach EOF). */
      bool live = p->started || p->exited;
      int fds[3] = {live ? p->out : -1, live ? p->err : -1, p->npending ? p->in : -1};
      for (int k = 0; k < 3; k++) {
        if (fds[k] < 0) continue;
        owner[n - 2].p = p, owner[n - 2].what = k;
        pf[n++] = (struct pollfd){.fd = fds[k], .events = k == 2 ? POLLOUT : POLLIN};
      }
    }
    int wait = (int)(last_beat + VM_HEARTBEAT_MS - now_ms());
    for (size_t i = 1; i < sizeof procs / sizeof *procs; i++)
      if (procs[i].used && procs[i].exited && EXEC_LINGER_MS < wait) wait = EXEC_LINGER_MS;
    int r = poll(pf, (nfds_t)n, wait < 0 ? 0 : wait);
    if (r < 0 && errno != EINTR) die("poll: %s", strerror(errno));
    if (now_ms() - last_beat >= VM_HEARTBEAT_MS) {
      send_frame(VM_HEARTBEAT, NULL, 0);
      last_beat = now_ms();
    }
    if (r <= 0) continue;
    if (pf[i_sig].revents) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) > 0) {
      }
      reap();
    }
    for (int i = 2; i < n; i++) {
      if (!pf[i].revents) continue;
      struct proc *p = owner[i - 2].p;
      int what = owner[i - 2].what;
      /* A pty master is both: it may have been closed by the other entry's EOF. */
      if (what == 0 && p->out == pf[i].fd) pump_output(p, false);
      else if (what == 1 && p->err == pf[i].fd) pump_output(p, true);
      else if (what == 2 && p->in == pf[i].fd) flush_stdin(p);
    }
    if (pf[i_ctl].revents) {
      if (ctl_fill() < 0) {
        msg("control port closed by the host");
        power_off();
      }
      struct vm_frame f;
      while (ctl_take(&f)) on_frame(&f);
    }
  }
}

/* T2: a VM restored from a template. Its clock stopped when the template was saved; its
 * random generator's state is the template's, the same in every VM restored from it: the
 * host's bytes are mixed into the pool (credited: they come from the host's getrandom) and the
 * generator is reseeded from it at once, before anything of the container's runs. */
static void resume(const uint8_t *p) {
  struct timespec ts = {.tv_sec = (time_t)vm_get_u64(p), .tv_nsec = (long)vm_get_u32(p + 8)};
  if (ts.tv_nsec >= 1000000000L || clock_settime(CLOCK_REALTIME, &ts) < 0)
    die("resume: set the clock: %s", ts.tv_nsec >= 1000000000L ? "bad time" : strerror(errno));
  struct {
    int entropy_count, buf_size;
    uint8_t buf[VM_RESUME_ENTROPY];
  } e = {.entropy_count = 8 * VM_RESUME_ENTROPY, .buf_size = VM_RESUME_ENTROPY};
  memcpy(e.buf, p + 12, VM_RESUME_ENTROPY);
  int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ioctl(fd, RNDADDENTROPY, &e) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
    die("resume: reseed the random generator: %s", strerror(errno));
  close(fd);
  explicit_bzero(&e, sizeof e);
}

int main(int argc, char **argv) {
  /* The kernel starts us with the console as stdio and everything default. `isola_poweroff` on
   * the kernel command line (the kernel passes it to init as an argument) powers off at once:
   * the benchmark's floor, the same kernel and initramfs booted and stopped (bench/vm). */
  if (argc > 1 && !strcmp(argv[1], "isola_poweroff")) power_off();
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "isola_trace")) trace_start();
  trace("init");
  boot_mounts();
  trace("boot mounts");
  load_modules("/modules/early");
  if ((ctl = open_port()) < 0) {
    msg("no virtio port named `%s`", VM_PORT_NAME);
    power_off();
  }
  trace("control port open");
  signal(SIGPIPE, SIG_IGN);

  /* 1. HELLO: version and kernel release. */
  struct utsname u;
  uname(&u);
  uint8_t hello[4 + 256];
  vm_put_u32(hello, VM_PROTO_VERSION);
  size_t rl = strnlen(u.release, sizeof u.release);
  memcpy(hello + 4, u.release, rl);
  send_frame(VM_HELLO, hello, (uint32_t)(4 + rl));
  /* What only the container needs is done while the host answers: the 9p modules, the
   * loopback. */
  load_modules("/modules/late");
  loopback_up();
  trace("loopback up");

  /* 2. CONFIG. A SIGNAL may come first (kill of a container still booting); a template's
   * builder sends PARK (T1), and a VM restored from it starts here, parked, with RESUME (T2). */
  struct vm_frame f;
  bool parked = false;
  for (;;) {
    ctl_wait(&f, -1);
    if (f.type == VM_CONFIG) break;
    if (f.type == VM_SIGNAL) power_off();
    if (f.type == VM_PARK && !parked) {
      parked = true;
      send_frame(VM_PARKED, NULL, 0);
      continue;
    }
    if (f.type == VM_RESUME && parked) {
      resume(f.payload);
      trace("resumed: clock set, random generator reseeded");
      continue;
    }
    die("control port: expected CONFIG, got frame 0x%02x", f.type);
  }
  trace("CONFIG");
  parse_config(&f);

  /* SIGCHLD through a signalfd, blocked before the fork so no exit is missed. */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) die("signalfd: %s", strerror(errno));

  self_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (self_pidns < 0) die("open the agent's pid namespace: %s", strerror(errno));

  /* 3. */
  prepare();
  send_frame(VM_READY, NULL, 0);
  trace("READY");
  /* 4.-6. */
  relay(sigfd);
  /* 7. */
  trace_flush();
  trace_kernel_log();
  send_u32(VM_EXIT, (uint32_t)w->status);
  trace("EXIT");
  /* 8. */
  int64_t end = now_ms() + 10000;
  while (now_ms() < end && ctl_wait(&f, (int)(end - now_ms())) == 1 && f.type != VM_ACK) {
  }
  power_off();
}
