/* isola's guest agent: PID 1 of the VM (a static binary at /init of the initramfs).
 *
 * It loads the few kernel modules the VM needs, opens the control port, and then follows the
 * conversation of guest/proto.h with the host's monitor (the step numbers are the same):
 *   1. sends HELLO;
 *   2. receives CONFIG: the container to build;
 *   3. forks the container's init into new pid and mount namespaces (and the others asked),
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
#include <linux/reboot.h>
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
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
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

#include "proto.h"

#define NINEP_OPTS "trans=virtio,version=9p2000.L,access=client,msize=262144"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int ctl = -1; /* the control port */

/* ---- small helpers -------------------------------------------------------------------- */

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  dprintf(2, "isola-agent: %s\n", buf);
}

static void power_off(void) __attribute__((noreturn));
static void power_off(void) {
  sync();
  reboot(LINUX_REBOOT_CMD_POWER_OFF);
  for (;;) pause();
}

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static void send_frame(uint8_t type, const void *payload, uint32_t len) {
  uint8_t h[VM_FRAME_HEADER];
  vm_frame_header(h, type, len);
  if (ctl < 0 || write_all(ctl, h, sizeof h) < 0 || (len && write_all(ctl, payload, len) < 0)) {
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
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  msg("%s", buf);
  if (ctl >= 0) {
    send_frame(VM_ERROR, buf, (uint32_t)n);
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

/* /modules/order lists the modules in dependency order (written by scripts/vm-image.sh). */
static void load_modules(void) {
  FILE *f = fopen("/modules/order", "re");
  if (!f) return; /* a kernel with the drivers built in needs none */
  char line[256], path[300];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!line[0]) continue;
    snprintf(path, sizeof path, "/modules/%s", line);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)) {
      msg("load module `%s`: %s", path, strerror(errno));
      power_off();
    }
    close(fd);
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

static struct {
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
  uint8_t *payload; /* the CONFIG frame; mounts point into it */
} cfg;

static char *dup_string(const struct vm_record *r) {
  const char *why;
  if (vm_record_check_string(r, &why) < 0) die("config: %s", why);
  char *s = malloc(r->len + 1);
  if (!s) die("config: out of memory");
  memcpy(s, r->value, r->len);
  s[r->len] = 0;
  return s;
}

static void push(struct strs *s, char *v) {
  char **nv = realloc(s->v, (s->n + 2) * sizeof *nv);
  if (!nv) die("config: out of memory");
  s->v = nv;
  s->v[s->n++] = v;
  s->v[s->n] = NULL;
}

static uint32_t rec_u32(const struct vm_record *r) {
  if (r->len != 4) die("config: record %u: expected 4 bytes", r->tag);
  return vm_get_u32(r->value);
}

static void parse_config(const struct vm_frame *f) {
  cfg.payload = malloc(f->len ? f->len : 1);
  if (!cfg.payload) die("config: out of memory");
  memcpy(cfg.payload, f->payload, f->len);
  size_t pos = 0, count = 0;
  struct vm_record r;
  const char *why;
  int got;
  while ((got = vm_record_next(cfg.payload, f->len, &pos, &r, &why)) == 1) {
    if (++count > VM_C_MAX_RECORDS) die("config: too many records");
    switch (r.tag) {
    case VM_C_ARG: push(&cfg.args, dup_string(&r)); break;
    case VM_C_ENV: push(&cfg.env, dup_string(&r)); break;
    case VM_C_MASKED: push(&cfg.masked, dup_string(&r)); break;
    case VM_C_READONLY: push(&cfg.readonly, dup_string(&r)); break;
    case VM_C_SYSCTL: {
      /* "key\0value": kept as "key=value" */
      const uint8_t *nul = memchr(r.value, 0, r.len);
      if (!nul || memchr(nul + 1, 0, r.len - (size_t)(nul - r.value) - 1))
        die("config: bad sysctl record");
      char *s = malloc(r.len + 1);
      if (!s) die("config: out of memory");
      memcpy(s, r.value, r.len);
      s[nul - r.value] = '=';
      s[r.len] = 0;
      push(&cfg.sysctl, s);
      break;
    }
    case VM_C_CWD: cfg.cwd = dup_string(&r); break;
    case VM_C_HOSTNAME: cfg.hostname = dup_string(&r); break;
    case VM_C_DOMAINNAME: cfg.domainname = dup_string(&r); break;
    case VM_C_UID: cfg.uid = rec_u32(&r); break;
    case VM_C_GID: cfg.gid = rec_u32(&r); break;
    case VM_C_GROUP:
      if (cfg.ngroups == sizeof cfg.groups / sizeof *cfg.groups) die("config: too many groups");
      cfg.groups[cfg.ngroups++] = rec_u32(&r);
      break;
    case VM_C_UMASK: cfg.has_umask = true, cfg.umask = rec_u32(&r) & 0777; break;
    case VM_C_RLIMIT:
      if (r.len != 20 || cfg.nrlimits == RLIM_NLIMITS) die("config: bad rlimit record");
      cfg.rlimits[cfg.nrlimits].res = (int)vm_get_u32(r.value);
      cfg.rlimits[cfg.nrlimits].lim.rlim_cur = vm_get_u64(r.value + 4);
      cfg.rlimits[cfg.nrlimits].lim.rlim_max = vm_get_u64(r.value + 12);
      cfg.nrlimits++;
      break;
    case VM_C_TERMINAL:
      if (r.len != 4) die("config: bad terminal record");
      cfg.terminal = true;
      cfg.rows = (unsigned short)(r.value[0] | r.value[1] << 8);
      cfg.cols = (unsigned short)(r.value[2] | r.value[3] << 8);
      break;
    case VM_C_ROOT_RO: cfg.root_ro = true; break;
    case VM_C_NO_NEW_PRIVS: cfg.nnp = true; break;
    case VM_C_NAMESPACES:
      cfg.ns_flags = (int)(rec_u32(&r) & (CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
                                          CLONE_NEWCGROUP));
      break;
    case VM_C_MOUNT:
      if (cfg.nmounts == sizeof cfg.mounts / sizeof *cfg.mounts) die("config: too many mounts");
      if (vm_mount_decode(&r, &cfg.mounts[cfg.nmounts], &why) < 0) die("config: %s", why);
      cfg.nmounts++;
      break;
    default: die("config: unknown record %u", r.tag);
    }
  }
  if (got < 0) die("config: %s", why);
  if (!cfg.args.n) die("config: process.args is empty");
  if (!cfg.cwd) cfg.cwd = strdup("/");
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
  write_all(sync_fd, buf, (size_t)n + 1);
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
    if (w < 0 || write_all(w, m->content, m->content_len) < 0)
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
    if (fd < 0 || write_all(fd, eq + 1, strlen(eq + 1)) < 0)
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

static const char *env_get(const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < cfg.env.n; i++)
    if (!strncmp(cfg.env.v[i], name, n) && cfg.env.v[i][n] == '=') return cfg.env.v[i] + n + 1;
  return NULL;
}

/* HOME from /etc/passwd when env has none, as runc does. */
static void add_home(void) {
  if (env_get("HOME")) return;
  const char *home = "/";
  FILE *f = fopen("/etc/passwd", "re");
  char line[1024], *found = NULL;
  while (f && fgets(line, sizeof line, f)) {
    char *fields[7];
    int n = 0;
    for (char *p = line, *s; n < 7 && (s = strsep(&p, ":\n"));) fields[n++] = s;
    if (n >= 6 && strtoul(fields[2], NULL, 10) == cfg.uid && fields[2][0]) {
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
  push(&cfg.env, kv);
}

static void find_executable(char *out, size_t n) {
  const char *prog = cfg.args.v[0];
  if (strchr(prog, '/')) {
    if (snprintf(out, n, "%s", prog) >= (int)n) child_fail("process.args[0]: name too long");
    if (access(out, X_OK) < 0)
      child_fail("executable `%s`: %s", prog, strerror(errno));
    return;
  }
  const char *path = env_get("PATH");
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
  int go;           /* agent -> child: one byte releases it */
};

static void container_init(const struct child_io *io) __attribute__((noreturn));
static void container_init(const struct child_io *io) {
  /* The agent blocks SIGCHLD and ignores SIGPIPE; the program gets the defaults. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  /* stdio first, so that the program inherits it. */
  if (io->tty >= 0) {
    setsid();
    if (ioctl(io->tty, TIOCSCTTY, 0) < 0) child_fail("terminal: set controlling tty: %s", strerror(errno));
    for (int i = 0; i < 3; i++) dup2(io->tty, i);
  } else {
    dup2(io->in, 0);
    dup2(io->out, 1);
    dup2(io->err, 2);
  }

  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    child_fail("make mounts private: %s", strerror(errno));
  mkdir("/newroot", 0755);
  if (mount("rootfs", "/newroot", "9p", cfg.root_ro ? MS_RDONLY : 0, NINEP_OPTS) < 0)
    child_fail("mount the rootfs (9p share `rootfs`): %s", strerror(errno));
  int rootfd = open("/newroot", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (rootfd < 0) child_fail("open the rootfs: %s", strerror(errno));
  for (size_t i = 0; i < cfg.nmounts; i++) do_mount(rootfd, i);
  make_dev(rootfd, io->tty);
  close(rootfd);

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
  if (cfg.root_ro && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    child_fail("make the root read-only: %s", strerror(errno));

  for (size_t i = 0; i < cfg.nrlimits; i++)
    if (setrlimit(cfg.rlimits[i].res, &cfg.rlimits[i].lim) < 0)
      child_fail("rlimit %d: %s", cfg.rlimits[i].res, strerror(errno));
  add_home();
  if (setgroups(cfg.ngroups, cfg.groups) < 0) child_fail("setgroups: %s", strerror(errno));
  if (setresgid(cfg.gid, cfg.gid, cfg.gid) < 0) child_fail("setgid %u: %s", cfg.gid, strerror(errno));
  if (setresuid(cfg.uid, cfg.uid, cfg.uid) < 0) child_fail("setuid %u: %s", cfg.uid, strerror(errno));
  if (cfg.has_umask) umask(cfg.umask);
  else umask(022);
  if (chdir(cfg.cwd) < 0) child_fail("cwd `%s`: %s", cfg.cwd, strerror(errno));
  if (cfg.nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    child_fail("no_new_privs: %s", strerror(errno));
  char exe[4096];
  find_executable(exe, sizeof exe);

  /* 3. Ready: wait for the release (EOF: the agent is gone). */
  if (write_all(sync_fd, "R", 1) < 0) _exit(127);
  char c;
  if (read(io->go, &c, 1) != 1) _exit(127);
  close(io->go);
  execve(exe, cfg.args.v, cfg.env.v);
  child_fail("exec `%s`: %s", exe, strerror(errno));
}

/* ---- the relay ------------------------------------------------------------------------ */

static struct {
  pid_t pid;
  int go;             /* write end: releases the child */
  int sync;           /* read end of the child's reports */
  int in;             /* stdin pipe or pty master; -1 once closed */
  int out, err;       /* outputs; -1 once at EOF */
  bool tty;
  bool started, exited, stdin_eof;
  int status;         /* shell-style */
  uint8_t *pending;   /* stdin bytes not yet written */
  size_t npending;
} w = {.pid = -1, .go = -1, .sync = -1, .in = -1, .out = -1, .err = -1};

static int pipe_pair(int p[2], bool nonblock_parent_end, int parent_is_read) {
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  if (nonblock_parent_end) {
    int fd = parent_is_read ? p[0] : p[1];
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return 0;
}

/* 3. Forks the container's init and waits until it is ready. */
static void prepare(void) {
  struct child_io io = {.in = -1, .out = -1, .err = -1, .tty = -1};
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, go[2], sync[2];
  int master = -1;
  if (cfg.terminal) {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
      die("terminal: open a pty: %s", strerror(errno));
    char *name = ptsname(master);
    if (name) snprintf(tty_name, sizeof tty_name, "%s", name);
    io.tty = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
    if (io.tty < 0) die("terminal: open the pty slave: %s", strerror(errno));
    if (cfg.rows && cfg.cols) {
      struct winsize ws = {.ws_row = cfg.rows, .ws_col = cfg.cols};
      ioctl(master, TIOCSWINSZ, &ws);
    }
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  } else if (pipe_pair(in, true, 0) < 0 || pipe_pair(out, true, 1) < 0 ||
             pipe_pair(err, true, 1) < 0) {
    die("stdio pipes: %s", strerror(errno));
  }
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  io.in = in[0], io.out = out[1], io.err = err[1], io.go = go[0];

  int flags = CLONE_NEWNS | CLONE_NEWPID | cfg.ns_flags;
  pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) die("create the container process: %s", strerror(errno));
  if (pid == 0) {
    close(ctl);
    sync_fd = sync[1];
    close(sync[0]);
    close(go[1]);
    if (master >= 0) close(master);
    if (in[1] >= 0) close(in[1]), close(out[0]), close(err[0]);
    container_init(&io);
  }
  close(sync[1]);
  close(go[0]);
  if (io.tty >= 0) close(io.tty);
  if (in[0] >= 0) close(in[0]), close(out[1]), close(err[1]);
  w.pid = pid;
  w.go = go[1];
  w.sync = sync[0];
  w.tty = cfg.terminal;
  w.in = master >= 0 ? master : in[1];
  w.out = master >= 0 ? master : out[0];
  w.err = master >= 0 ? -1 : err[0];

  char buf[VM_TEXT_MAX + 1];
  ssize_t n;
  while ((n = read(w.sync, buf, sizeof buf - 1)) < 0 && errno == EINTR) {
  }
  if (n <= 0) die("the container process died during setup");
  buf[n] = 0;
  if (buf[0] != 'R') die("%s", buf + 1);
}

/* 4./5. Releases the program and reports whether it was executed. */
static void run(void) {
  if (w.started) return;
  w.started = true;
  if (write_all(w.go, "g", 1) < 0) die("start: the container process is gone");
  close(w.go);
  w.go = -1;
  char buf[VM_TEXT_MAX + 1];
  ssize_t n;
  while ((n = read(w.sync, buf, sizeof buf - 1)) < 0 && errno == EINTR) {
  }
  close(w.sync);
  w.sync = -1;
  if (n > 0) {
    buf[n] = 0;
    die("%s", buf[0] == 'E' ? buf + 1 : buf);
  }
  send_frame(VM_STARTED, NULL, 0);
}

static void close_stdin(void) {
  if (w.in >= 0 && !w.tty) close(w.in);
  if (!w.tty) w.in = -1;
  free(w.pending);
  w.pending = NULL;
  w.npending = 0;
}

/* Writes what stdin has pending; credits the host for every byte consumed or dropped. */
static void flush_stdin(void) {
  size_t done = 0;
  while (done < w.npending && w.in >= 0) {
    ssize_t n = write(w.in, w.pending + done, w.npending - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) { /* the reader is gone: drop it all */
      done = w.npending;
      if (!w.tty) close_stdin();
      break;
    }
    done += (size_t)n;
  }
  if (!done) return;
  if (w.pending) {
    memmove(w.pending, w.pending + done, w.npending - done);
    w.npending -= done;
  }
  send_u32(VM_STDIN_CREDIT, (uint32_t)done);
  if (w.stdin_eof && !w.npending) close_stdin();
}

static void on_frame(const struct vm_frame *f) {
  switch (f->type) {
  case VM_RUN: run(); break;
  case VM_STDIN:
    if (f->len == 0) {
      w.stdin_eof = true;
      if (!w.npending) close_stdin();
      break;
    }
    if (w.in < 0 || w.stdin_eof) { /* nobody reads: drop it, credit it */
      send_u32(VM_STDIN_CREDIT, f->len);
      break;
    }
    if (w.npending + f->len > VM_STDIN_WINDOW) die("control port: stdin over its window");
    uint8_t *np = realloc(w.pending, w.npending + f->len);
    if (!np) die("stdin: out of memory");
    w.pending = np;
    memcpy(w.pending + w.npending, f->payload, f->len);
    w.npending += f->len;
    flush_stdin();
    break;
  case VM_SIGNAL: {
    int sig = (int)vm_get_u32(f->payload);
    if (sig <= 0 || sig >= NSIG || w.exited) break;
    if (f->payload[4]) kill(-1, sig); /* everything but us: the container is all there is */
    if (w.pid > 0) kill(w.pid, sig);
    break;
  }
  case VM_WINSIZE:
    if (w.tty && w.in >= 0) {
      struct winsize ws = {.ws_row = (unsigned short)(f->payload[0] | f->payload[1] << 8),
                           .ws_col = (unsigned short)(f->payload[2] | f->payload[3] << 8)};
      ioctl(w.in, TIOCSWINSZ, &ws);
    }
    break;
  case VM_ACK: break;
  default: die("control port: unexpected frame 0x%02x", f->type);
  }
}

/* Reads what an output has; sends it, or its EOF (an empty frame) and closes it. */
static void pump_output(int *fd, uint8_t type) {
  static uint8_t buf[VM_DATA_MAX];
  ssize_t n = read(*fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n > 0) {
    send_frame(type, buf, (uint32_t)n);
    return;
  }
  /* EOF, or EIO from a pty master whose slaves are all closed. */
  send_frame(type, NULL, 0);
  close(*fd);
  if (w.tty) w.in = -1; /* the pty master was both */
  *fd = -1;
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid != w.pid) continue;
    w.exited = true;
    w.status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  }
}

static void relay(int sigfd) {
  int64_t last_beat = now_ms();
  for (;;) {
    if (w.exited && w.out < 0 && w.err < 0) break;
    struct pollfd p[5];
    int n = 0, i_ctl = n++, i_sig = n++, i_out = -1, i_err = -1, i_in = -1;
    p[i_ctl] = (struct pollfd){.fd = ctl, .events = POLLIN};
    p[i_sig] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    /* Outputs flow once the program runs (or died before it did: then they reach EOF). */
    bool live = w.started || w.exited;
    if (w.out >= 0 && live) p[i_out = n++] = (struct pollfd){.fd = w.out, .events = POLLIN};
    if (w.err >= 0 && live) p[i_err = n++] = (struct pollfd){.fd = w.err, .events = POLLIN};
    if (w.npending && w.in >= 0) p[i_in = n++] = (struct pollfd){.fd = w.in, .events = POLLOUT};
    int wait = (int)(last_beat + VM_HEARTBEAT_MS - now_ms());
    int r = poll(p, (nfds_t)n, wait < 0 ? 0 : wait);
    if (r < 0 && errno != EINTR) die("poll: %s", strerror(errno));
    if (now_ms() - last_beat >= VM_HEARTBEAT_MS) {
      send_frame(VM_HEARTBEAT, NULL, 0);
      last_beat = now_ms();
    }
    if (r <= 0) continue;
    if (p[i_sig].revents) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) > 0) {
      }
      reap();
    }
    if (i_out >= 0 && p[i_out].revents) pump_output(&w.out, VM_STDOUT);
    if (i_err >= 0 && p[i_err].revents) pump_output(&w.err, VM_STDERR);
    if (i_in >= 0 && p[i_in].revents) flush_stdin();
    if (p[i_ctl].revents) {
      if (ctl_fill() < 0) {
        msg("control port closed by the host");
        power_off();
      }
      struct vm_frame f;
      while (ctl_take(&f)) on_frame(&f);
    }
  }
}

int main(void) {
  /* The kernel starts us with the console as stdio and everything default. */
  boot_mounts();
  load_modules();
  if ((ctl = open_port()) < 0) {
    msg("no virtio port named `%s`", VM_PORT_NAME);
    power_off();
  }
  signal(SIGPIPE, SIG_IGN);

  /* 1. HELLO: version and kernel release. */
  struct utsname u;
  uname(&u);
  uint8_t hello[4 + 256];
  vm_put_u32(hello, VM_PROTO_VERSION);
  size_t rl = strnlen(u.release, sizeof u.release);
  memcpy(hello + 4, u.release, rl);
  send_frame(VM_HELLO, hello, (uint32_t)(4 + rl));

  /* 2. CONFIG. A SIGNAL may come first (kill of a container still booting). */
  struct vm_frame f;
  for (;;) {
    ctl_wait(&f, -1);
    if (f.type == VM_CONFIG) break;
    if (f.type == VM_SIGNAL) power_off();
    die("control port: expected CONFIG, got frame 0x%02x", f.type);
  }
  parse_config(&f);

  /* SIGCHLD through a signalfd, blocked before the fork so no exit is missed. */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) die("signalfd: %s", strerror(errno));

  /* 3. */
  prepare();
  send_frame(VM_READY, NULL, 0);
  /* 4.-6. */
  relay(sigfd);
  /* 7. */
  send_u32(VM_EXIT, (uint32_t)w.status);
  /* 8. */
  int64_t end = now_ms() + 10000;
  while (now_ms() < end && ctl_wait(&f, (int)(end - now_ms())) == 1 && f.type != VM_ACK) {
  }
  power_off();
}
