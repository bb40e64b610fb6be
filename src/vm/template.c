/* VM templates: boot once, restore many times (Kata Containers' "VM templating", Firecracker's
 * snapshots).
 *
 * Booting the guest kernel is most of a VM's start (~1.1 s of ~1.4 s under TCG here). A
 * template is a guest booted once, its agent parked just before it would take a container's
 * CONFIG (guest/proto.h, T1), and saved in two parts:
 *   ram    the guest's memory: the VM made it its RAM file (memory-backend-file, share=on;
 *          under TCG a copy of the kernel's RAM image), so it holds every page as left;
 *   state  QEMU's device and CPU state, saved by migration with x-ignore-shared (the RAM
 *          stays out of it): ~150 KB.
 * A VM restored from it maps `ram` privately (its writes stay its own; every VM restored from
 * one template shares the pages it only reads) and loads `state` with `-incoming`; the agent
 * goes on from where it was parked, and gets RESUME (T2: the time, fresh entropy) before its
 * CONFIG. The device set must be the template's: every share slot exists (unused ones show an
 * empty directory, read-only); device paths are not part of the saved state, so each VM's
 * rootfs and shares are its own.
 *
 * A template is made for one machine shape: its key is the QEMU command line with everything
 * that is the container's own replaced by placeholders (RAM size, vCPUs, accelerator, CPU
 * model, kernel command line, devices), plus the identity (device, inode, size, mtime) of the
 * QEMU binary and of the guest image's files, and the protocol version. Templates are kept
 * under vm_template_root() in a directory named by the key's hash, holding the key itself (a
 * hash collision is caught by comparing it). The first VM of a shape builds the template (under
 * a lock: VMs started at once wait for one build) and is then restored from it like every later
 * one; a build that fails leaves `<hash>.failed` with the reason, and VMs of that shape boot
 * (delete it, or the cache, to try again). The VMGENID-like reseed (RESUME) keeps restored
 * guests' random numbers apart; what they still share is documented in docs/security.md
 * (kernel address layout, the agent's own stack canary).
 *
 * Only under TCG for now: KVM restores the same way in QEMU, but cannot be tested on the
 * machines this was built on (no /dev/kvm); with KVM a VM boots.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../guest/proto.h"
#include "core/cleanup.h"
#include "core/fdio.h"
#include "vm/vm.h"

#define TEMPLATE_FORMAT 1
#define TEMPLATES_KEPT 4 /* templates (and failure notes) kept; the least recently used go */
#define TEMPLATE_SAVE_MS 10000

bool vm_template_root(char *out, size_t outsz) {
  const char *v = getenv("ISOLA_VM_TEMPLATES");
  if (v && (!strcmp(v, "off") || !strcmp(v, "0"))) return false;
  int n;
  if (v && v[0]) {
    n = snprintf(out, outsz, "%s", v);
  } else if (geteuid() == 0) {
    n = snprintf(out, outsz, "/var/cache/isola/vm-templates");
  } else {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
      n = snprintf(out, outsz, "%s/isola/vm-templates", xdg);
    else if (home && home[0] == '/')
      n = snprintf(out, outsz, "%s/.cache/isola/vm-templates", home);
    else
      return false;
  }
  return n > 0 && (size_t)n < outsz && out[0] == '/';
}

static int mkdir_p(const char *path, mode_t mode) {
  char p[4096];
  if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) return errno = ENAMETOOLONG, -1;
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, 0755) < 0 && errno != EEXIST) return -1;
    *s = '/';
  }
  return mkdir(p, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* Removes a template directory (its files are plain, no subdirectories). */
static void remove_dir(const char *path) {
  _cleanup_closedir_ DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlinkat(dirfd(d), e->d_name, 0);
  rmdir(path);
}

/* ---- the key --------------------------------------------------------------------------- */

struct text {
  char *s;
  size_t len, cap;
  bool failed;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = t->failed ? 0 : vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (t->failed || n < 0) {
      t->failed = true;
      return;
    }
    if (t->len + (size_t)n < t->cap) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = (t->cap + (size_t)n) * 2 + 256;
    char *s = realloc(t->s, cap);
    if (!s) {
      t->failed = true;
      return;
    }
    t->s = s, t->cap = cap;
  }
}

static void identity(struct text *t, const char *what, const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) {
    text_add(t, "%s %s missing\n", what, path);
    return;
  }
  text_add(t, "%s %s %llu %llu %lld %lld.%09ld\n", what, path, (unsigned long long)st.st_dev,
           (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
           st.st_mtim.tv_nsec);
}

/* The key of the machine `l` runs, in *t (heap). The TSC rate is rounded to the MHz: it is
 * measured per VM and must not make a template per measurement (the restored guest keeps the
 * rate it booted with; TCG's TSC is the host's either way). */
static int template_key(const struct vm_launch *l, struct text *t) {
  struct vm_launch k = *l;
  k.boot = VM_BOOT_RESTORE;
  k.template_ram = "@ram";
  k.empty_dir = "@empty";
  k.rootfs = "@rootfs";
  k.rootfs_readonly = false;
  k.nshares = 0;
  k.tsc_khz = (l->tsc_khz + 500) / 1000 * 1000;
  struct isola_err err;
  char **argv = vm_qemu_argv(&k, &err);
  if (!argv) return -1;
  text_add(t, "isola vm template %d, protocol %d\n", TEMPLATE_FORMAT, VM_PROTO_VERSION);
  identity(t, "qemu", l->qemu);
  identity(t, "ram", l->img->ram_image);
  identity(t, "pvh", l->img->pvh_stub);
  identity(t, "initramfs", l->img->initramfs);
  for (size_t i = 0; argv[i]; i++)
    text_add(t, "%s\n", argv[i]);
  vm_argv_free(argv);
  return t->failed ? -1 : 0;
}

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
  return h;
}

/* ---- files ------------------------------------------------------------------------------ */

/* Reads a small file into buf (NUL-terminated); its length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, size - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0 || (len += (size_t)n) == size - 1) break;
  }
  buf[len] = 0;
  return (ssize_t)len;
}

static int write_file(const char *path, const void *data, size_t len) {
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  return fd < 0 ? -1 : write_all_fd(fd, data, len);
}

/* Copies a sparse file, its holes kept: the kernel's RAM image is 64 GiB of which 26 MiB
 * hold data. */
static int copy_sparse(const char *from, const char *to, struct isola_err *err) {
  _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0) return isola_fail_errno(err, errno, "open `%s`", from);
  _cleanup_close_ int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  struct stat st;
  if (out < 0 || fstat(in, &st) < 0 || ftruncate(out, st.st_size) < 0)
    return isola_fail_errno(err, errno, "copy `%s` to `%s`", from, to);
  for (off_t pos = 0;;) {
    off_t data = lseek(in, pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) return 0;
    off_t hole = data < 0 ? -1 : lseek(in, data, SEEK_HOLE);
    if (hole < 0) return isola_fail_errno(err, errno, "read `%s`", from);
    for (off_t at = data; at < hole;) {
      off_t dst = at;
      ssize_t n = copy_file_range(in, &at, out, &dst, (size_t)(hole - at), 0);
      if (n <= 0) return isola_fail_errno(err, n < 0 ? errno : EIO, "copy `%s` to `%s`", from, to);
    }
    pos = hole;
  }
}

/* Is `dir` a complete template for `key`? Fills *t when it is. */
static bool template_valid(const char *dir, const struct text *key, struct vm_template *t) {
  char path[4300];
  snprintf(path, sizeof path, "%s/key", dir);
  size_t cap = key->len + 2;
  _cleanup_free_ char *have = malloc(cap);
  if (!have || read_small(path, have, cap) != (ssize_t)key->len || memcmp(have, key->s, key->len))
    return false;
  snprintf(t->dir, sizeof t->dir, "%s", dir);
  snprintf(t->ram, sizeof t->ram, "%s/ram", dir);
  snprintf(t->state, sizeof t->state, "%s/state", dir);
  snprintf(path, sizeof path, "%s/release", dir);
  if (read_small(path, t->release, sizeof t->release) < 0 || access(t->ram, R_OK) < 0 ||
      access(t->state, R_OK) < 0)
    return false;
  return true;
}

/* ---- building one ----------------------------------------------------------------------- */

/* The guest's frames before it parks: HELLO and PARKED, nothing longer than a HELLO. */
struct early_reader {
  int fd;
  uint8_t buf[VM_FRAME_HEADER + 4 + 256];
  size_t len;
};

/* The next frame, within the deadline; its payload copied to payload[0..*plen). */
static int guest_frame(struct early_reader *r, int64_t deadline, uint8_t *type,
                       uint8_t payload[4 + 256], uint32_t *plen, struct isola_err *err) {
  for (;;) {
    struct vm_frame f;
    const char *why = NULL;
    long used = vm_frame_parse(VM_TO_HOST, r->buf, r->len, &f, &why);
    if (used < 0) return isola_fail(err, EPROTO, "the agent's first frames: %s", why);
    if (used > 0) {
      *type = f.type;
      *plen = f.len;
      memcpy(payload, f.payload, f.len);
      memmove(r->buf, r->buf + used, r->len - (size_t)used);
      r->len -= (size_t)used;
      return 0;
    }
    if (r->len == sizeof r->buf)
      return isola_fail(err, EPROTO, "the agent sent frame 0x%02x before it parked", r->buf[0]);
    int64_t left = deadline - vm_now_ms();
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    int n = left > 0 ? poll(&p, 1, (int)left) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return isola_fail(err, ETIMEDOUT, "the guest did not park within the boot timeout");
    ssize_t got = n < 0 ? -1 : read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return isola_fail(err, EPIPE, "QEMU went away before the guest parked");
    r->len += (size_t)got;
  }
}

static int save_vm(struct vm_qmp *q, int state_fd, struct isola_err *err) {
  if (vm_qmp_call(q, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"template\"}}", state_fd,
                  NULL, err) < 0 ||
      vm_qmp_call(q, VM_QMP_IGNORE_SHARED, -1, NULL, err) < 0 ||
      vm_qmp_call(q, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"fd:template\"}}", -1, NULL,
                  err) < 0)
    return -1;
  int64_t end = vm_now_ms() + TEMPLATE_SAVE_MS;
  for (;;) {
    json_t *r = NULL;
    if (vm_qmp_call(q, "{\"execute\":\"query-migrate\"}", -1, &r, err) < 0) return -1;
    const char *status = json_string_value(json_object_get(r, "status"));
    bool done = status && !strcmp(status, "completed");
    bool failed = status && (!strcmp(status, "failed") || !strcmp(status, "cancelled"));
    char desc[256];
    snprintf(desc, sizeof desc, "%s", json_string_value(json_object_get(r, "error-desc")) ?: "");
    json_decref(r);
    if (done) return 0;
    if (failed) return isola_fail(err, EIO, "saving the VM failed%s%s", desc[0] ? ": " : "", desc);
    if (vm_now_ms() > end) return isola_fail(err, ETIMEDOUT, "saving the VM took too long");
    nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
  }
}

/* Boots the template VM in `tmp` (a fresh directory) and saves it there. */
static int build(const struct vm_launch *l, const char *tmp, const char *empty, int timeout_ms,
                 char *release, size_t releasesz, struct isola_err *err) {
  char ram[4300], path[4300];
  snprintf(ram, sizeof ram, "%s/ram", tmp);
  if (copy_sparse(l->img->ram_image, ram, err) < 0) return -1;
  snprintf(path, sizeof path, "%s/console.log", tmp);
  _cleanup_close_ int console =
      open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (console < 0) return isola_fail_errno(err, errno, "create `%s`", path);
  int ctl[2] = {-1, -1}, qmp[2] = {-1, -1};
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0) {
    isola_fail_errno(err, errno, "socketpair");
    close(ctl[0]), close(ctl[1]);
    return -1;
  }
  _cleanup_close_ int ctl_fd = ctl[0], qmp_fd = qmp[0];
  struct vm_launch b = *l;
  b.boot = VM_BOOT_TEMPLATE;
  b.template_ram = ram;
  b.empty_dir = empty;
  b.rootfs = empty;
  b.rootfs_readonly = true;
  b.nshares = 0;
  b.ctl_fd = ctl[1];
  b.qmp_fd = qmp[1];
  b.console_fd = console;
  _cleanup_kill_ pid_t qemu = vm_qemu_spawn(&b, err);
  close(ctl[1]), close(qmp[1]);
  if (qemu < 0) return -1;

  /* T1: HELLO, PARK, PARKED: the guest waits where a container's VM would wait for CONFIG. */
  struct early_reader r = {.fd = ctl_fd};
  int64_t deadline = vm_now_ms() + timeout_ms;
  uint8_t type, payload[4 + 256];
  uint32_t plen;
  if (guest_frame(&r, deadline, &type, payload, &plen, err) < 0) return -1;
  if (type != VM_HELLO || vm_get_u32(payload) != VM_PROTO_VERSION)
    return isola_fail(err, EPROTO,
                      "the agent did not say HELLO in protocol %d (rebuild the image "
                      "with `make vm-image`)",
                      VM_PROTO_VERSION);
  size_t rl = plen - 4 < releasesz - 1 ? plen - 4 : releasesz - 1;
  for (size_t i = 0; i < rl; i++)
    release[i] = payload[4 + i] > ' ' && payload[4 + i] < 127 ? (char)payload[4 + i] : '?';
  release[rl] = 0;
  uint8_t park[VM_FRAME_HEADER];
  vm_frame_header(park, VM_PARK, 0);
  if (write_all_fd(ctl_fd, park, sizeof park) < 0) return isola_fail_errno(err, errno, "send PARK");
  if (guest_frame(&r, deadline, &type, payload, &plen, err) < 0) return -1;
  if (type != VM_PARKED)
    return isola_fail(err, EPROTO, "the agent answered PARK with 0x%02x", type);

  struct vm_qmp q;
  snprintf(path, sizeof path, "%s/state", tmp);
  _cleanup_close_ int state = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (state < 0) return isola_fail_errno(err, errno, "create `%s`", path);
  if (vm_qmp_open(&q, qmp_fd, TEMPLATE_SAVE_MS, err) < 0 || save_vm(&q, state, err) < 0) return -1;
  kill(qemu, SIGKILL);
  waitpid(take_pid(&qemu), NULL, 0);
  return 0;
}

/* Keeps the TEMPLATES_KEPT most recently used templates and failure notes (by mtime), and
 * `keep`; removes the others that nobody is building. */
static void prune(const char *root, const char *keep) {
  struct entry {
    char name[32];
    time_t mtime;
  } e[64];
  size_t n = 0;
  _cleanup_closedir_ DIR *d = opendir(root);
  struct dirent *de;
  while (d && (de = readdir(d)) && n < sizeof e / sizeof *e) {
    size_t hex = strspn(de->d_name, "0123456789abcdef");
    bool dir = hex == 16 && !de->d_name[16],
         failed = hex == 16 && !strcmp(de->d_name + 16, ".failed");
    struct stat st;
    if ((!dir && !failed) || !strncmp(de->d_name, keep, 16) ||
        fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    snprintf(e[n].name, sizeof e[n].name, "%s", de->d_name);
    e[n++].mtime = st.st_mtime;
  }
  for (size_t kept = 0; n; n--) {
    size_t newest = 0;
    for (size_t i = 1; i < n; i++)
      if (e[i].mtime > e[newest].mtime) newest = i;
    struct entry it = e[newest];
    e[newest] = e[n - 1];
    if (++kept < TEMPLATES_KEPT) continue;
    char path[4200];
    snprintf(path, sizeof path, "%s/%.16s.lock", root, it.name);
    _cleanup_close_ int lock = open(path, O_RDWR | O_CLOEXEC);
    if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0) continue; /* being built */
    snprintf(path, sizeof path, "%s/%s", root, it.name);
    if (it.name[16])
      unlink(path);
    else
      remove_dir(path);
  }
}

/* ---- finding one ------------------------------------------------------------------------ */

int vm_template_get(const struct vm_launch *l, int timeout_ms, struct vm_template *t, char *why,
                    size_t whysz) {
  char root[4096];
  if (l->no_template) {
    snprintf(why, whysz, "off for this container (io.isola.vm.template)");
    return 0;
  }
  if (!vm_template_root(root, sizeof root)) {
    snprintf(why, whysz, "templates are off (ISOLA_VM_TEMPLATES)");
    return 0;
  }
  if (l->kvm) {
    snprintf(why, whysz, "no templates with KVM yet (untested)");
    return 0;
  }
  if (!l->img->ram_image[0] || l->res->memory_mib > l->img->ram_image_mib) {
    snprintf(why, whysz, "no kernel RAM image for %u MiB", l->res->memory_mib);
    return 0;
  }
  struct text key = {0};
  if (template_key(l, &key) < 0) {
    free(key.s);
    snprintf(why, whysz, "out of memory");
    return 0;
  }
  _cleanup_free_ char *keytext = key.s;
  char hex[17], dir[4200], path[4300];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)fnv1a(key.s, key.len));
  snprintf(dir, sizeof dir, "%s/%s", root, hex);
  snprintf(t->empty, sizeof t->empty, "%s/empty", root);
  if (template_valid(dir, &key, t)) {
    utimensat(AT_FDCWD, dir, NULL, 0); /* recently used: kept by prune */
    return 1;
  }
  if (mkdir_p(root, 0700) < 0 || (mkdir(t->empty, 0555) < 0 && errno != EEXIST)) {
    snprintf(why, whysz, "create `%s`: %s", root, strerror(errno));
    return 0;
  }

  /* One build per key at a time: VMs started together wait for the first one's. */
  snprintf(path, sizeof path, "%s/%s.lock", root, hex);
  _cleanup_close_ int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  int64_t end = vm_now_ms() + timeout_ms;
  while (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0 && vm_now_ms() < end)
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
  if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
    snprintf(why, whysz, "lock `%s`: %s", path,
             lock < 0 ? strerror(errno) : "another build takes too long");
    return 0;
  }
  if (template_valid(dir, &key, t)) return 1;
  snprintf(path, sizeof path, "%s/%s.failed", root, hex);
  char failed[512];
  if (read_small(path, failed, sizeof failed) >= 0) {
    snprintf(why, whysz, "building it failed before (`%s`): %s", path, failed);
    return 0;
  }

  /* What a build of this key killed half-way left (the lock is ours: nobody else builds it). */
  char tmp[4300];
  snprintf(tmp, sizeof tmp, ".build-%s-", hex);
  {
    _cleanup_closedir_ DIR *d = opendir(root);
    struct dirent *e;
    while (d && (e = readdir(d)))
      if (!strncmp(e->d_name, tmp, strlen(tmp))) {
        char stale[4400];
        snprintf(stale, sizeof stale, "%s/%s", root, e->d_name);
        remove_dir(stale);
      }
  }
  snprintf(tmp, sizeof tmp, "%s/.build-%s-%d", root, hex, (int)getpid());
  struct isola_err err = {0};
  char release[128] = "";
  char keypath[4400], relpath[4400];
  snprintf(keypath, sizeof keypath, "%s/key", tmp);
  snprintf(relpath, sizeof relpath, "%s/release", tmp);
  int r = mkdir(tmp, 0700) < 0 ? isola_fail_errno(&err, errno, "create `%s`", tmp)
                               : build(l, tmp, t->empty, timeout_ms, release, sizeof release, &err);
  if (r == 0) {
    /* Published whole by the rename; what was there for this key was incomplete. */
    remove_dir(dir);
    if (write_file(keypath, key.s, key.len) < 0 ||
        write_file(relpath, release, strlen(release)) < 0 || rename(tmp, dir) < 0)
      r = isola_fail_errno(&err, errno, "store the template in `%s`", dir);
  }
  if (r == 0) {
    prune(root, hex);
    if (template_valid(dir, &key, t)) return 1;
    isola_fail(&err, EIO, "`%s` is not complete after it was stored", dir);
  }
  char tail[600];
  vm_console_tail(tmp, tail, sizeof tail);
  remove_dir(tmp);
  snprintf(why, whysz, "building it failed: %s%s%s", err.msg, tail[0] ? "; its console: " : "",
           tail);
  /* A build that ran out of time may succeed on a less busy host: only other failures are
   * kept (and make later VMs of this shape boot without trying again). */
  if (err.errnum != ETIMEDOUT) write_file(path, why, strlen(why));
  return 0;
}

void vm_template_discard(const struct vm_template *t, const char *reason) {
  char path[4300];
  snprintf(path, sizeof path, "%s.failed", t->dir);
  write_file(path, reason, strlen(reason));
  remove_dir(t->dir);
}
