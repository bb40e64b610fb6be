/* Mount options, paths resolved inside the rootfs, and the mounts of config.json.
 *
 * The rule everything here follows: a path inside the container is only ever resolved by
 * openat2(RESOLVE_IN_ROOT) from an O_PATH fd of the rootfs, and a mount only ever goes onto
 * "/proc/self/fd/N" of the fd that resolution returned. A mount changes what a path resolves
 * to, so after every mount the destination is resolved again to reach the new mount (an fd
 * opened before the mount still points at the directory underneath it).
 */
#include "container/mounts.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"

static void mount_opts_releasep(struct mount_opts *o) {
  mount_opts_release(o);
}
#define _cleanup_mount_opts_ __attribute__((cleanup(mount_opts_releasep)))

/* ---- option parsing ------------------------------------------------------------------- */

/* Options that set (or, with `clear`, clear) an MS_* flag, as mount(8) names them. */
static const struct {
  const char *name;
  bool clear;
  bool atime; /* belongs to the atime group: when named, the source's atime is not kept */
  unsigned long flag;
} flag_options[] = {
    {"defaults", false, false, 0},
    {"ro", false, false, MS_RDONLY},
    {"rw", true, false, MS_RDONLY},
    {"nosuid", false, false, MS_NOSUID},
    {"suid", true, false, MS_NOSUID},
    {"nodev", false, false, MS_NODEV},
    {"dev", true, false, MS_NODEV},
    {"noexec", false, false, MS_NOEXEC},
    {"exec", true, false, MS_NOEXEC},
    {"sync", false, false, MS_SYNCHRONOUS},
    {"async", true, false, MS_SYNCHRONOUS},
    {"dirsync", false, false, MS_DIRSYNC},
    {"remount", false, false, MS_REMOUNT},
    {"mand", false, false, MS_MANDLOCK},
    {"nomand", true, false, MS_MANDLOCK},
    {"atime", true, true, MS_NOATIME},
    {"noatime", false, true, MS_NOATIME},
    {"diratime", true, true, MS_NODIRATIME},
    {"nodiratime", false, true, MS_NODIRATIME},
    {"relatime", false, true, MS_RELATIME},
    {"norelatime", true, true, MS_RELATIME},
    {"strictatime", false, true, MS_STRICTATIME},
    {"nostrictatime", true, true, MS_STRICTATIME},
    {"nosymfollow", false, false, MS_NOSYMFOLLOW},
    {"symfollow", true, false, MS_NOSYMFOLLOW},
    {"lazytime", false, false, MS_LAZYTIME},
    {"nolazytime", true, false, MS_LAZYTIME},
    {"iversion", false, false, MS_I_VERSION},
    {"noiversion", true, false, MS_I_VERSION},
    {"silent", false, false, MS_SILENT},
    {"loud", true, false, MS_SILENT},
    {"bind", false, false, MS_BIND},
    {"rbind", false, false, MS_BIND | MS_REC},
};

static const struct {
  const char *name;
  unsigned long flag;
} propagation_options[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

/* The recursive options of runtime-spec 1.1, applied with mount_setattr(AT_RECURSIVE). The
 * atime values are an enum in attr_set that needs all of MOUNT_ATTR__ATIME in attr_clr (a
 * partial clear is EINVAL), so the "negative" atime options pick the setting they mean:
 * ratime and rnostrictatime the kernel default (relatime), rnorelatime strictatime. */
static const struct {
  const char *name;
  uint64_t set, clr;
} recursive_options[] = {
    {"rro", MOUNT_ATTR_RDONLY, 0},
    {"rrw", 0, MOUNT_ATTR_RDONLY},
    {"rnosuid", MOUNT_ATTR_NOSUID, 0},
    {"rsuid", 0, MOUNT_ATTR_NOSUID},
    {"rnodev", MOUNT_ATTR_NODEV, 0},
    {"rdev", 0, MOUNT_ATTR_NODEV},
    {"rnoexec", MOUNT_ATTR_NOEXEC, 0},
    {"rexec", 0, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
    {"rdiratime", 0, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnorelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
    {"ratime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
    {"rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
};

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

unsigned long mount_propagation_flag(const char *s) {
  for (size_t i = 0; s && i < N_ELEM(propagation_options); i++)
    if (strcmp(s, propagation_options[i].name) == 0) return propagation_options[i].flag;
  return 0;
}

/* Appends `opt` to o->data, comma-separated, within MOUNT_OPTS_MAX_DATA. */
static int data_append(struct mount_opts *o, const char *opt, struct isola_err *err) {
  size_t have = o->data ? strlen(o->data) : 0, add = strlen(opt);
  size_t need = have + (have ? 1 : 0) + add + 1;
  if (need > MOUNT_OPTS_MAX_DATA)
    return isola_fail(err, E2BIG, "option `%.64s`: filesystem options longer than %d bytes", opt,
                      MOUNT_OPTS_MAX_DATA);
  char *p = realloc(o->data, need);
  if (!p) return isola_fail_errno(err, ENOMEM, "option `%.64s`", opt);
  if (have) p[have++] = ',';
  memcpy(p + have, opt, add + 1);
  o->data = p;
  return 0;
}

static int parse_one(const char *opt, struct mount_opts *o, struct isola_err *err) {
  for (size_t i = 0; i < N_ELEM(flag_options); i++) {
    if (strcmp(opt, flag_options[i].name) != 0) continue;
    if (flag_options[i].clear) {
      o->flags &= ~flag_options[i].flag;
      o->clear |= flag_options[i].flag;
    } else {
      o->flags |= flag_options[i].flag;
      o->clear &= ~flag_options[i].flag;
    }
    o->atime_given |= flag_options[i].atime;
    return 0;
  }
  unsigned long prop = mount_propagation_flag(opt);
  if (prop) {
    if (o->nprop == MOUNT_OPTS_MAX_PROP)
      return isola_fail(err, E2BIG, "option `%s`: more than %d propagation options", opt,
                        MOUNT_OPTS_MAX_PROP);
    o->prop[o->nprop++] = prop;
    return 0;
  }
  for (size_t i = 0; i < N_ELEM(recursive_options); i++) {
    if (strcmp(opt, recursive_options[i].name) != 0) continue;
    /* a later option wins over an earlier one, as for the plain flags */
    uint64_t set = recursive_options[i].set, clr = recursive_options[i].clr;
    uint64_t touched = set | clr;
    o->rec_set = (o->rec_set & ~touched) | set;
    o->rec_clr = (o->rec_clr & ~touched) | clr;
    return 0;
  }
  if (strcmp(opt, "tmpcopyup") == 0) {
    o->tmpcopyup = true;
    return 0;
  }
  if (strcmp(opt, "idmap") == 0 || strcmp(opt, "ridmap") == 0 || strncmp(opt, "idmap=", 6) == 0 ||
      strncmp(opt, "ridmap=", 7) == 0)
    return isola_fail(err, ENOTSUP, "option `%s`: idmapped mounts are not supported", opt);
  if (!*opt) return 0; /* "" is what mount(8) makes of ",," */
  return data_append(o, opt, err);
}

int mount_opts_parse(char *const *options, size_t n, struct mount_opts *out,
                     struct isola_err *err) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < n; i++) {
    if (!options[i]) continue;
    if (parse_one(options[i], out, err) < 0) {
      mount_opts_release(out);
      return -1;
    }
  }
  return 0;
}

void mount_opts_release(struct mount_opts *o) {
  free(o->data);
  o->data = NULL;
}

/* ---- paths inside the rootfs ---------------------------------------------------------- */

int path_clean(const char *path, char *out, size_t outsz, struct isola_err *err) {
  size_t len = 0;
  const char *p = path;
  if (outsz < 2) return isola_fail(err, ENAMETOOLONG, "path `%s`", path);
  while (*p) {
    while (*p == '/')
      p++;
    const char *start = p;
    while (*p && *p != '/')
      p++;
    size_t n = (size_t)(p - start);
    if (n == 0 || (n == 1 && start[0] == '.')) continue;
    if (n == 2 && start[0] == '.' && start[1] == '.') {
      while (len > 0 && out[len - 1] != '/')
        len--;            /* drop the last component ... */
      if (len > 0) len--; /* ... and its slash */
      continue;
    }
    if (len + 1 + n + 1 > outsz)
      return isola_fail(err, ENAMETOOLONG, "path `%.128s...`: too long", path);
    out[len++] = '/';
    memcpy(out + len, start, n);
    len += n;
  }
  if (len == 0) out[len++] = '/';
  out[len] = '\0';
  return 0;
}

int path_open_in_root(int rootfd, const char *path, int flags) {
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  /* RESOLVE_IN_ROOT returns EAGAIN when a concurrent rename or mount could have let ".."
   * step outside; trying again is what the kernel asks for. */
  for (int tries = 0;; tries++) {
    long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    if ((errno != EAGAIN && errno != EINTR) || tries == 64) return -1;
  }
}

struct fd_path fd_path(int fd) {
  struct fd_path p;
  snprintf(p.s, sizeof p.s, "/proc/self/fd/%d", fd);
  return p;
}

/* The container path ("/a/b") of directory `fd`, which lies inside the root `rootfd`: a
 * relative symlink target is relative to where the link really is. */
static int container_path_of(int rootfd, int fd, char *out, size_t outsz) {
  char r[PATH_MAX], d[PATH_MAX];
  ssize_t rn = readlink(fd_path(rootfd).s, r, sizeof r - 1);
  ssize_t dn = readlink(fd_path(fd).s, d, sizeof d - 1);
  if (rn < 0 || dn < 0) return -1;
  r[rn] = d[dn] = '\0';
  size_t rl = strcmp(r, "/") == 0 ? 0 : (size_t)rn;
  if (strncmp(d, r, rl) != 0 || (d[rl] && d[rl] != '/')) {
    errno = EXDEV; /* cannot happen: RESOLVE_IN_ROOT gave us `fd` */
    return -1;
  }
  if ((size_t)snprintf(out, outsz, "%s", d[rl] ? d + rl : "/") >= outsz) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return 0;
}

#define WALK_RESTART (-2)

/* Component `name` of `cur` (its prefix up to `name` is `cur` as it stands, `rest` what
 * follows) does not resolve although its parent `parent` does: `name` is missing, or is a
 * symlink whose target is. Creates it (a directory, or when `dir` is false an empty file),
 * or rewrites `cur` to go through the symlink's target and returns WALK_RESTART. */
static int walk_missing(int rootfd, int parent, char *cur, size_t cursz, const char *name,
                        const char *rest, bool dir, int final_flags, struct isola_err *err) {
  char target[PATH_MAX];
  ssize_t n = readlinkat(parent, name, target, sizeof target - 1);
  if (n >= 0) {
    /* A dangling symlink (runc follows these too: a bind onto /etc/resolv.conf ->
     * ../run/systemd/resolve/stub-resolv.conf creates the target). It is followed the way
     * RESOLVE_IN_ROOT would: an absolute target starts at the rootfs, ".." stops there. */
    char base[PATH_MAX], joined[3 * PATH_MAX];
    target[n] = '\0';
    if (target[0] == '/')
      base[0] = '\0';
    else if (container_path_of(rootfd, parent, base, sizeof base) < 0)
      return isola_fail_errno(err, errno, "resolve `%s`", cur);
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s/%s", base, target, rest) >= sizeof joined)
      return isola_fail(err, ENAMETOOLONG, "`%s` -> `%s`: path too long", cur, target);
    if (path_clean(joined, cur, cursz, err) < 0) return -1;
    return WALK_RESTART;
  }
  if (errno != ENOENT && errno != EINVAL) return isola_fail_errno(err, errno, "readlink `%s`", cur);
  /* Neither call follows a symlink in its last component: a link swapped in meanwhile gives
   * EEXIST, then the open below resolves it inside the root. */
  if (dir) {
    if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
      return isola_fail_errno(err, errno, "mkdir `%s`", cur);
  } else {
    int f = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0 && errno != EEXIST) return isola_fail_errno(err, errno, "create `%s`", cur);
    if (f >= 0) close(f);
  }
  int fd = path_open_in_root(rootfd, cur, O_PATH | (*rest ? O_DIRECTORY : final_flags));
  if (fd < 0) return isola_fail_errno(err, errno, "open `%s`", cur);
  return fd;
}

/* One walk of `cur` from the root: each prefix "/a", "/a/b", ... is resolved from the root
 * again (so a symlink on the way resolves as it will in the container), and what is missing
 * is created. Returns the fd of the whole path, -1, or WALK_RESTART with `cur` rewritten. */
static int walk_once(int rootfd, char *cur, size_t cursz, enum path_kind kind, int final_flags,
                     struct isola_err *err) {
  _cleanup_close_ int parent = path_open_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
  if (parent < 0) return isola_fail_errno(err, errno, "open `/`");
  if (strcmp(cur, "/") == 0) return take_fd(&parent);
  for (char *p = cur + 1;;) {
    char *end = strchr(p, '/');
    char rest[PATH_MAX] = "";
    if (end) {
      snprintf(rest, sizeof rest, "%s", end + 1);
      *end = '\0';
    }
    int fd = path_open_in_root(rootfd, cur, O_PATH | (end ? O_DIRECTORY : final_flags));
    if (fd < 0 && errno != ENOENT) return isola_fail_errno(err, errno, "open `%s`", cur);
    if (fd < 0) {
      /* `p` (the name, inside `cur`) is read before `cur` is rewritten */
      fd = walk_missing(rootfd, parent, cur, cursz, p, rest, end || kind == PATH_DIR, final_flags,
                        err);
      if (fd < 0) return fd; /* -1 or WALK_RESTART: `cur` is no longer ours to restore */
    }
    if (!end) return fd;
    *end = '/';
    close(parent);
    parent = fd;
    p = end + 1;
  }
}

/* Resolves `path` inside the root, creating what is missing. Dangling symlinks restart the
 * walk at their target, at most 40 times, the kernel's own limit. */
static int walk_create(int rootfd, const char *path, enum path_kind kind, int final_flags,
                       struct isola_err *err) {
  char cur[PATH_MAX];
  if (path_clean(path, cur, sizeof cur, err) < 0) return -1;
  int fd = path_open_in_root(rootfd, cur, O_PATH | final_flags); /* the common case */
  if (fd >= 0 || errno != ENOENT)
    return fd >= 0 ? fd : isola_fail_errno(err, errno, "open `%s`", cur);
  for (int hops = 0; hops <= 40; hops++) {
    fd = walk_once(rootfd, cur, sizeof cur, kind, final_flags, err);
    if (fd != WALK_RESTART) return fd;
  }
  return isola_fail(err, ELOOP, "`%s`: too many levels of symbolic links", path);
}

int path_mkdir_all(int rootfd, const char *path, struct isola_err *err) {
  return walk_create(rootfd, path, PATH_DIR, O_DIRECTORY, err);
}

int path_parent(int rootfd, const char *path, char *last, size_t lastsz, struct isola_err *err) {
  char clean[PATH_MAX];
  if (path_clean(path, clean, sizeof clean, err) < 0) return -1;
  char *slash = strrchr(clean, '/');
  if (strcmp(clean, "/") == 0) return isola_fail(err, EINVAL, "path `%s`: no parent", path);
  if (strlen(slash + 1) + 1 > lastsz)
    return isola_fail(err, ENAMETOOLONG, "path `%s`: name too long", path);
  memcpy(last, slash + 1, strlen(slash + 1) + 1);
  if (slash == clean)
    slash[1] = '\0'; /* parent is "/" */
  else
    *slash = '\0';
  return path_mkdir_all(rootfd, clean, err);
}

int path_create(int rootfd, const char *path, enum path_kind kind, struct isola_err *err) {
  return walk_create(rootfd, path, kind, 0, err);
}

/* ---- remounts, attributes, propagation ------------------------------------------------ */

#define ATIME_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME | MS_NODIRATIME)

/* The MS_* atime flags a mount has now, from statfs f_flags. */
static unsigned long atime_of(unsigned long f) {
  unsigned long r = (f & ST_NOATIME)    ? MS_NOATIME
                    : (f & ST_RELATIME) ? MS_RELATIME
                                        : MS_STRICTATIME;
  return r | ((f & ST_NODIRATIME) ? MS_NODIRATIME : 0);
}

static unsigned long lockable_of(unsigned long f) {
  return ((f & ST_RDONLY) ? MS_RDONLY : 0) | ((f & ST_NOSUID) ? MS_NOSUID : 0) |
         ((f & ST_NODEV) ? MS_NODEV : 0) | ((f & ST_NOEXEC) ? MS_NOEXEC : 0);
}

int mount_bind_remount(const char *target, const char *name, unsigned long flags,
                       unsigned long clear, bool atime_given, struct isola_err *err) {
  struct statfs st;
  if (statfs(target, &st) < 0) return isola_fail_errno(err, errno, "statfs `%s`", name);
  flags &= ~(MS_BIND | MS_REC | MS_REMOUNT);
  /* Never weaken the source silently: a bind of a nosuid mount stays nosuid unless the config
   * said "suid". */
  flags |= lockable_of(st.f_flags) & (MS_NOSUID | MS_NODEV | MS_NOEXEC) & ~clear;
  /* A bind remount sets exactly the flags it is given, and no atime flag means relatime:
   * keep what the mount has unless the config named an atime option. */
  if (!atime_given) flags = (flags & ~ATIME_FLAGS) | atime_of(st.f_flags);
  if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0) return 0;
  int e = errno;
  if (e == EPERM) {
    /* In a user namespace the flags of mounts inherited from the host are locked: they
     * can be added, never dropped. Keep what the mount has, as runc does. */
    unsigned long keep = (flags | lockable_of(st.f_flags)) & ~ATIME_FLAGS;
    keep |= atime_of(st.f_flags);
    if (keep != flags && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | keep, NULL) == 0)
      return 0;
  }
  return isola_fail_errno(err, e, "remount `%s`", name);
}

/* mount_setattr(AT_RECURSIVE) for the "rro"-style options, on the mount `fd` is the top of. */
static int apply_recursive(int fd, const struct mount_opts *o, struct isola_err *err) {
  if (!o->rec_set && !o->rec_clr) return 0;
  struct mount_attr attr = {.attr_set = o->rec_set, .attr_clr = o->rec_clr};
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    return isola_fail_errno(err, errno, "mount_setattr (recursive options)");
  return 0;
}

static int apply_propagation(const char *target, const struct mount_opts *o,
                             struct isola_err *err) {
  for (size_t i = 0; i < o->nprop; i++)
    if (mount(NULL, target, NULL, o->prop[i], NULL) < 0)
      return isola_fail_errno(err, errno, "set propagation");
  return 0;
}

/* Opens the mount now at `dest` and applies the recursive options and propagation. */
static int finish_mount(int rootfd, const char *dest, const struct mount_opts *o,
                        struct isola_err *err) {
  if (!o->rec_set && !o->rec_clr && !o->nprop) return 0;
  _cleanup_close_ int top = path_open_in_root(rootfd, dest, O_PATH);
  if (top < 0) return isola_fail_errno(err, errno, "open `%s` after mount", dest);
  if (apply_recursive(top, o, err) < 0) return -1;
  return apply_propagation(fd_path(top).s, o, err);
}

/* Bind-mounts the host path `src` onto `fd` (resolved `dest`), then remounts it with the
 * flags of `o` when it names any (a bind mount ignores them on the first call). */
static int bind_onto(int rootfd, const char *dest, int fd, const char *src,
                     const struct mount_opts *o, struct isola_err *err) {
  if (mount(src, fd_path(fd).s, NULL, MS_BIND | (o->flags & MS_REC), NULL) < 0)
    return isola_fail_errno(err, errno, "bind-mount `%s`", src);
  unsigned long extra = o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (extra) {
    _cleanup_close_ int top = path_open_in_root(rootfd, dest, O_PATH);
    if (top < 0) return isola_fail_errno(err, errno, "open `%s` after mount", dest);
    if (mount_bind_remount(fd_path(top).s, dest, extra, o->clear, o->atime_given, err) < 0)
      return -1;
  }
  return finish_mount(rootfd, dest, o, err);
}

/* ---- mounts inside /proc -------------------------------------------------------------- */

/* What runc allows under /proc (CVE-2019-16884: a mount over /proc/self/attr/... defeats
 * LSM labels): a proc filesystem on /proc itself, and the files lxcfs emulates. */
static const char *const proc_allowed[] = {
    "/proc/cpuinfo", "/proc/diskstats",
    "/proc/meminfo", "/proc/stat",
    "/proc/swaps",   "/proc/uptime",
    "/proc/loadavg", "/proc/slabinfo",
    "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
};

/* Checks the resolved destination `fd` (its real path, not the configured one: a symlink
 * could lead into /proc). `procfs_source` tells whether what is mounted is a procfs. */
static int check_proc_dest(const struct rootfs_ctx *ctx, int fd, bool procfs_source,
                           struct isola_err *err) {
  char real[PATH_MAX];
  ssize_t n = readlink(fd_path(fd).s, real, sizeof real - 1);
  if (n < 0) return isola_fail_errno(err, errno, "readlink destination");
  real[n] = '\0';
  size_t rl = strlen(ctx->rootfs);
  while (rl > 0 && ctx->rootfs[rl - 1] == '/')
    rl--;
  if ((size_t)n < rl || memcmp(real, ctx->rootfs, rl) != 0 || (real[rl] && real[rl] != '/'))
    return isola_fail(err, EXDEV, "destination resolved outside the rootfs: `%s`", real);
  const char *rel = real[rl] ? real + rl : "/";
  if (strcmp(rel, "/proc") == 0) {
    if (procfs_source) return 0;
    return isola_fail(err, EPERM, "only a proc filesystem can be mounted on /proc");
  }
  if (strncmp(rel, "/proc/", 6) != 0) return 0;
  for (size_t i = 0; i < N_ELEM(proc_allowed); i++)
    if (strcmp(rel, proc_allowed[i]) == 0) return 0;
  return isola_fail(err, EPERM,
                    "`%s` is inside /proc, where only lxcfs-style files can be "
                    "mounted",
                    rel);
}

static bool source_is_procfs(const char *src) {
  struct statfs st;
  return src && statfs(src, &st) == 0 && st.f_type == PROC_SUPER_MAGIC;
}

/* ---- tmpcopyup ------------------------------------------------------------------------ */

static int copy_file(int srcdir, int dstdir, const char *name, const struct stat *st,
                     struct isola_err *err) {
  _cleanup_close_ int in = openat(srcdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) return isola_fail_errno(err, errno, "open `%s`", name);
  _cleanup_close_ int out = openat(
      dstdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
  if (out < 0) return isola_fail_errno(err, errno, "create `%s`", name);
  char buf[16384];
  for (;;) {
    ssize_t r = read(in, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return isola_fail_errno(err, errno, "read `%s`", name);
    if (r == 0) return 0;
    for (ssize_t off = 0; off < r;) {
      ssize_t w = write(out, buf + off, (size_t)(r - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return isola_fail_errno(err, errno, "write `%s`", name);
      off += w;
    }
  }
}

/* Copies the tree under directory `src` into directory `dst` (both fds usable as dirfds):
 * files, directories, symlinks, device nodes and fifos, with modes, owners and times. */
static int copy_tree(int src, int dst, int depth, struct isola_err *err) {
  if (depth > 64) return isola_fail(err, ELOOP, "tmpcopyup: directories nested too deep");
  int rd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rd < 0) return isola_fail_errno(err, errno, "tmpcopyup: open directory");
  _cleanup_closedir_ DIR *d = fdopendir(rd);
  if (!d) {
    close(rd);
    return isola_fail_errno(err, errno, "tmpcopyup: open directory");
  }
  struct dirent *de;
  while ((errno = 0, de = readdir(d))) {
    const char *name = de->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return isola_fail_errno(err, errno, "tmpcopyup: stat `%s`", name);
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dst, name, st.st_mode & 07777) < 0 && errno != EEXIST)
        return isola_fail_errno(err, errno, "tmpcopyup: mkdir `%s`", name);
      _cleanup_close_ int s = openat(dirfd(d), name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      _cleanup_close_ int t = openat(dst, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0 || t < 0) return isola_fail_errno(err, errno, "tmpcopyup: open `%s`", name);
      if (copy_tree(s, t, depth + 1, err) < 0) return isola_err_wrap(err, "%s", name);
    } else if (S_ISREG(st.st_mode)) {
      if (copy_file(dirfd(d), dst, name, &st, err) < 0) return isola_err_wrap(err, "tmpcopyup");
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(dirfd(d), name, target, sizeof target - 1);
      if (n < 0) return isola_fail_errno(err, errno, "tmpcopyup: readlink `%s`", name);
      target[n] = '\0';
      if (symlinkat(target, dst, name) < 0)
        return isola_fail_errno(err, errno, "tmpcopyup: symlink `%s`", name);
    } else if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0) {
      return isola_fail_errno(err, errno, "tmpcopyup: mknod `%s`", name);
    }
    /* Owners may be unmapped in a user namespace (EINVAL): the node stays root's. */
    if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
      return isola_fail_errno(err, errno, "tmpcopyup: chown `%s`", name);
    if (!S_ISLNK(st.st_mode) && fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
      return isola_fail_errno(err, errno, "tmpcopyup: chmod `%s`", name);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW); /* best effort, like cp -a */
  }
  if (errno) return isola_fail_errno(err, errno, "tmpcopyup: read directory");
  return 0;
}

/* ---- filesystems ---------------------------------------------------------------------- */

/* Removes "gid=N" from a devpts data string (in place). */
static void drop_gid_option(char *data) {
  char *out = data, *save = NULL;
  _cleanup_free_ char *copy = strdup(data);
  if (!copy) return;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (strncmp(tok, "gid=", 4) == 0) continue;
    if (out != data) *out++ = ',';
    size_t n = strlen(tok);
    memmove(out, tok, n);
    out += n;
  }
  *out = '\0';
}

/* The host path a filesystem that cannot be mounted in a user namespace falls back to
 * bind-mounting (runc and crun do this): sysfs needs a network namespace owned by the user
 * namespace, mqueue an IPC namespace. */
static const char *userns_fallback(const char *type) {
  if (strcmp(type, "sysfs") == 0) return "/sys";
  if (strcmp(type, "mqueue") == 0) return "/dev/mqueue";
  return NULL;
}

static int mount_fs(const struct rootfs_ctx *ctx, int rootfd, const struct oci_mount *m,
                    const char *dest, struct mount_opts *o, struct isola_err *err) {
  const char *type = m->type;
  const char *src = m->source && *m->source ? m->source : type;
  _cleanup_close_ int fd = path_create(rootfd, dest, PATH_DIR, err);
  if (fd < 0) return -1;
  if (check_proc_dest(ctx, fd, strcmp(type, "proc") == 0, err) < 0) return -1;
  unsigned long flags = o->flags & ~(MS_BIND | MS_REC);
  if (strcmp(type, "tmpfs") == 0) flags &= ~MS_RDONLY; /* see mount_entry_defers_readonly */
  if (mount(src, fd_path(fd).s, type, flags, o->data) < 0) {
    int e = errno;
    const char *host = userns_fallback(type);
    if (e == EPERM && ctx->userns && host) {
      /* The host's submounts come along (/sys/kernel/security, ...): the flags asked for
       * the filesystem go to all of them, not only to the top as a bind remount would. */
      o->flags |= MS_BIND | MS_REC;
      o->rec_set |= ((o->flags & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0) |
                    ((o->flags & MS_NOSUID) ? MOUNT_ATTR_NOSUID : 0) |
                    ((o->flags & MS_NODEV) ? MOUNT_ATTR_NODEV : 0) |
                    ((o->flags & MS_NOEXEC) ? MOUNT_ATTR_NOEXEC : 0);
      return bind_onto(rootfd, dest, fd, host, o, err);
    }
    /* In a user namespace "gid=5" fails when gid 5 is not mapped: crun retries without. */
    if (e == EINVAL && strcmp(type, "devpts") == 0 && o->data && strstr(o->data, "gid=")) {
      drop_gid_option(o->data);
      if (mount(src, fd_path(fd).s, type, flags, *o->data ? o->data : NULL) == 0) goto mounted;
    }
    return isola_fail_errno(err, e, "mount %s", type);
  }
mounted:
  if (o->tmpcopyup) {
    /* `fd` was opened before the mount: it still reaches the directory underneath. */
    _cleanup_close_ int top = path_open_in_root(rootfd, dest, O_PATH | O_DIRECTORY);
    if (top < 0) return isola_fail_errno(err, errno, "open `%s` after mount", dest);
    if (copy_tree(fd, top, 0, err) < 0) return -1;
  }
  return finish_mount(rootfd, dest, o, err);
}

static int mount_bind(const struct rootfs_ctx *ctx, int rootfd, const struct oci_mount *m,
                      const char *dest, const struct mount_opts *o, struct isola_err *err) {
  if (!m->source || !*m->source) return isola_fail(err, EINVAL, "bind mount without a source");
  /* runtime-spec: a relative source is relative to the bundle. It is resolved against the
   * working directory, which the caller must have made the bundle directory (runc chdirs
   * into the bundle for the same reason). */
  struct stat st;
  if (stat(m->source, &st) < 0) return isola_fail_errno(err, errno, "source `%s`", m->source);
  _cleanup_close_ int fd =
      path_create(rootfd, dest, S_ISDIR(st.st_mode) ? PATH_DIR : PATH_FILE, err);
  if (fd < 0) return -1;
  if (check_proc_dest(ctx, fd, source_is_procfs(m->source), err) < 0) return -1;
  return bind_onto(rootfd, dest, fd, m->source, o, err);
}

/* ---- cgroup --------------------------------------------------------------------------- */

/* Fields of one /proc/self/mountinfo line, split in place. */
struct mountinfo {
  char *root, *mnt, *fstype, *superopts;
};

/* Undoes the octal escapes (\040 for a space) of mountinfo paths, in place. */
static void unescape(char *s) {
  char *o = s;
  for (char *p = s; *p;) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
        p[3] <= '7') {
      *o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
      p += 4;
    } else {
      *o++ = *p++;
    }
  }
  *o = '\0';
}

static bool mountinfo_split(char *line, struct mountinfo *mi) {
  char *save = NULL, *f[6];
  for (int i = 0; i < 6; i++)
    if (!(f[i] = strtok_r(i ? NULL : line, " \n", &save))) return false;
  char *tok;
  while ((tok = strtok_r(NULL, " \n", &save)) && strcmp(tok, "-") != 0) {
  }
  if (!tok) return false;
  mi->fstype = strtok_r(NULL, " \n", &save);
  char *source = strtok_r(NULL, " \n", &save);
  mi->superopts = strtok_r(NULL, " \n", &save);
  if (!mi->fstype || !source || !mi->superopts) return false;
  mi->root = f[3];
  mi->mnt = f[4];
  unescape(mi->root);
  unescape(mi->mnt);
  return true;
}

/* Is every controller of `list` ("cpu,cpuacct") among the comma-separated `opts`? */
static bool controllers_in(const char *list, const char *opts) {
  if (!*list) return false;
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    bool found = false;
    for (const char *q = opts; *q && !found;) {
      size_t m = strcspn(q, ",");
      found = m == n && memcmp(p, q, n) == 0;
      q += m + (q[m] == ',');
    }
    if (!found) return false;
    p += n + (p[n] == ',');
  }
  return true;
}

/* The calling process's cgroup in the hierarchy with `superopts` (NULL: the v2 one), from
 * /proc/self/cgroup, made relative to the hierarchy's mount root `mroot`. */
static int self_cgroup(const char *superopts, const char *mroot, char *out, size_t outsz) {
  _cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f) return -1;
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    const char *ctrls = c1 + 1, *path = c2 + 1;
    bool match =
        superopts ? controllers_in(ctrls, superopts) : (strcmp(line, "0:") == 0 && !*ctrls);
    if (!match) continue;
    size_t rl = strlen(mroot);
    if (strcmp(mroot, "/") != 0 && strncmp(path, mroot, rl) == 0 && (!path[rl] || path[rl] == '/'))
      path += rl;
    if ((size_t)snprintf(out, outsz, "%s", path) >= outsz) return -1;
    return 0;
  }
  errno = ENOENT;
  return -1;
}

/* The container's cgroup inside the hierarchy mounted at `mnt`: the caller's list first,
 * then /proc/self/cgroup (meaningless inside a cgroup namespace, whose root reads "/"). */
static int container_cgroup(const struct rootfs_ctx *ctx, const struct mountinfo *mi, bool v2,
                            char *out, size_t outsz) {
  for (size_t i = 0; ctx->cgroup_v1_roots && ctx->cgroup_v1_paths && ctx->cgroup_v1_roots[i] &&
                     ctx->cgroup_v1_paths[i];
       i++)
    if (strcmp(ctx->cgroup_v1_roots[i], mi->mnt) == 0)
      return (size_t)snprintf(out, outsz, "%s", ctx->cgroup_v1_paths[i]) < outsz ? 0 : -1;
  if (ctx->cfg->ns[OCI_NS_CGROUP].present) {
    errno = ENOENT;
    return -1;
  }
  return self_cgroup(v2 ? NULL : mi->superopts, mi->root, out, outsz);
}

/* The mount data naming a v1 hierarchy: its super options minus rw/ro and release_agent
 * (which a non-initial namespace may not set). */
static void hierarchy_data(const char *superopts, char *out, size_t outsz) {
  size_t len = 0;
  out[0] = '\0';
  for (const char *p = superopts; *p;) {
    size_t n = strcspn(p, ",");
    bool skip = (n == 2 && (!memcmp(p, "rw", 2) || !memcmp(p, "ro", 2))) ||
                !strncmp(p, "release_agent=", 14);
    if (!skip && len + n + 2 < outsz) {
      if (len) out[len++] = ',';
      memcpy(out + len, p, n);
      len += n;
      out[len] = '\0';
    }
    p += n + (p[n] == ',');
  }
}

/* One hierarchy at `sub` inside the container: a fresh cgroup mount when the container has
 * a cgroup namespace (it shows the namespace's root), else a bind of the container's own
 * cgroup directory of the host's hierarchy. */
static int mount_hierarchy(const struct rootfs_ctx *ctx, int rootfd, const char *sub,
                           const struct mountinfo *mi, bool v2, unsigned long flags,
                           struct isola_err *err) {
  _cleanup_close_ int fd = path_create(rootfd, sub, PATH_DIR, err);
  if (fd < 0) return -1;
  if (check_proc_dest(ctx, fd, false, err) < 0) return -1;
  if (ctx->cfg->ns[OCI_NS_CGROUP].present) {
    char data[512];
    hierarchy_data(mi->superopts, data, sizeof data);
    if (mount(v2 ? "cgroup2" : "cgroup", fd_path(fd).s, v2 ? "cgroup2" : "cgroup", flags,
              v2 ? NULL : data) == 0)
      return 0;
    if (errno != EPERM && errno != EBUSY)
      return isola_fail_errno(err, errno, "mount %s", v2 ? "cgroup2" : "cgroup");
  }
  char path[PATH_MAX], src[PATH_MAX];
  if (container_cgroup(ctx, mi, v2, path, sizeof path) < 0)
    return isola_fail_errno(err, errno, "find the container's cgroup under `%s`", mi->mnt);
  if ((size_t)snprintf(src, sizeof src, "%s%s", mi->mnt, path) >= sizeof src)
    return isola_fail(err, ENAMETOOLONG, "cgroup path under `%s`: too long", mi->mnt);
  struct mount_opts o = {.flags = MS_BIND | MS_REC | flags, .atime_given = false};
  return bind_onto(rootfd, sub, fd, src, &o, err);
}

/* A cgroup v1 (or hybrid) layout: a tmpfs at `dest`, one directory per host hierarchy of
 * /sys/fs/cgroup (the v2 "unified" one of a hybrid host included), symlinks for co-mounted
 * controllers ("cpu" -> "cpu,cpuacct"), then the tmpfs made read-only if asked. */
static int mount_cgroup_v1(const struct rootfs_ctx *ctx, int rootfd, const char *dest,
                           const struct mount_opts *o, struct isola_err *err) {
  const unsigned long base = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  _cleanup_close_ int fd = path_create(rootfd, dest, PATH_DIR, err);
  if (fd < 0) return -1;
  if (check_proc_dest(ctx, fd, false, err) < 0) return -1;
  if (mount("tmpfs", fd_path(fd).s, "tmpfs", base, "mode=755") < 0)
    return isola_fail_errno(err, errno, "mount tmpfs");
  _cleanup_close_ int top = path_open_in_root(rootfd, dest, O_PATH | O_DIRECTORY);
  if (top < 0) return isola_fail_errno(err, errno, "open `%s` after mount", dest);
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return isola_fail_errno(err, errno, "open `/proc/self/mountinfo`");
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  char seen[2048] = ","; /* ",cpu,memory," : hierarchies already done (first mount wins) */
  while (getline(&line, &cap, f) > 0) {
    struct mountinfo mi;
    if (!mountinfo_split(line, &mi)) continue;
    bool v2 = strcmp(mi.fstype, "cgroup2") == 0;
    if (!v2 && strcmp(mi.fstype, "cgroup") != 0) continue;
    const char *name = strrchr(mi.mnt, '/');
    if (!name || name == mi.mnt || (size_t)(name - mi.mnt) != strlen("/sys/fs/cgroup") ||
        strncmp(mi.mnt, "/sys/fs/cgroup", (size_t)(name - mi.mnt)) != 0)
      continue; /* only the hierarchies of the standard layout, not binds elsewhere */
    name++;
    char key[NAME_MAX + 3], sub[PATH_MAX];
    snprintf(key, sizeof key, ",%s,", name);
    if (!*name || strstr(seen, key) || strlen(seen) + strlen(name) + 2 > sizeof seen) continue;
    strncat(seen, name, sizeof seen - strlen(seen) - 1);
    strncat(seen, ",", sizeof seen - strlen(seen) - 1);
    if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dest, name) >= sizeof sub)
      return isola_fail(err, ENAMETOOLONG, "cgroup `%s`: path too long", name);
    if (mount_hierarchy(ctx, rootfd, sub, &mi, v2, base | (o->flags & MS_RDONLY), err) < 0)
      return isola_err_wrap(err, "cgroup `%s`", name);
    /* "cpu,cpuacct" is reachable as "cpu" and "cpuacct" too, as on the host. */
    if (!v2 && strchr(name, ',')) {
      _cleanup_free_ char *parts = strdup(name);
      char *save = NULL;
      if (!parts) return isola_fail_errno(err, ENOMEM, "cgroup `%s`", name);
      for (char *p = strtok_r(parts, ",", &save); p; p = strtok_r(NULL, ",", &save))
        if (symlinkat(name, top, p) < 0 && errno != EEXIST)
          return isola_fail_errno(err, errno, "symlink `%s/%s`", dest, p);
    }
  }
  if (o->flags & MS_RDONLY)
    if (mount_bind_remount(fd_path(top).s, dest, base | MS_RDONLY, 0, false, err) < 0) return -1;
  return finish_mount(rootfd, dest, o, err);
}

static int mount_cgroup(const struct rootfs_ctx *ctx, int rootfd, const char *dest,
                        const struct mount_opts *o, struct isola_err *err) {
  struct statfs st;
  if (statfs("/sys/fs/cgroup", &st) < 0)
    return isola_fail_errno(err, errno, "statfs `/sys/fs/cgroup`");
  if (st.f_type != CGROUP2_SUPER_MAGIC) return mount_cgroup_v1(ctx, rootfd, dest, o, err);
  /* A unified host: the one cgroup2 hierarchy at dest itself. */
  struct mountinfo mi = {
      .root = "/", .mnt = "/sys/fs/cgroup", .fstype = "cgroup2", .superopts = ""};
  unsigned long flags = o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (mount_hierarchy(ctx, rootfd, dest, &mi, true, flags, err) < 0) return -1;
  return finish_mount(rootfd, dest, o, err);
}

/* ---- one entry of `mounts` ------------------------------------------------------------ */

static bool is_bind(const struct oci_mount *m, const struct mount_opts *o) {
  return (o->flags & MS_BIND) || (m->type && strcmp(m->type, "bind") == 0);
}

static int do_mount_entry(const struct rootfs_ctx *ctx, int rootfd, const struct oci_mount *m,
                          struct isola_err *err) {
  char dest[PATH_MAX];
  if (!m->destination || !*m->destination) return isola_fail(err, EINVAL, "no destination");
  if (path_clean(m->destination, dest, sizeof dest, err) < 0) return -1;
  _cleanup_mount_opts_ struct mount_opts o = {0};
  if (mount_opts_parse(m->options, m->noptions, &o, err) < 0) return -1;
  if (is_bind(m, &o)) {
    if (o.tmpcopyup) return isola_fail(err, EINVAL, "option `tmpcopyup`: only for tmpfs");
    o.flags |= MS_BIND;
    return mount_bind(ctx, rootfd, m, dest, &o, err);
  }
  if (!m->type || !*m->type) return isola_fail(err, EINVAL, "no type, and not a bind mount");
  if (o.tmpcopyup && strcmp(m->type, "tmpfs") != 0)
    return isola_fail(err, EINVAL, "option `tmpcopyup`: only for tmpfs");
  if (strcmp(m->type, "cgroup") == 0) return mount_cgroup(ctx, rootfd, dest, &o, err);
  return mount_fs(ctx, rootfd, m, dest, &o, err);
}

int mount_entry(const struct rootfs_ctx *ctx, int rootfd, size_t idx, struct isola_err *err) {
  const struct oci_mount *m = &ctx->cfg->mounts[idx];
  if (do_mount_entry(ctx, rootfd, m, err) < 0)
    return isola_err_wrap(err, "mounts[%zu] `%s`", idx, m->destination ? m->destination : "");
  return 0;
}

bool mount_entry_defers_readonly(const struct oci_config *cfg, size_t idx) {
  const struct oci_mount *m = &cfg->mounts[idx];
  if (!m->type || strcmp(m->type, "tmpfs") != 0) return false;
  bool ro = false;
  for (size_t i = 0; i < m->noptions; i++) {
    const char *s = m->options[i];
    if (!s) continue;
    if (strcmp(s, "bind") == 0 || strcmp(s, "rbind") == 0) return false;
    if (strcmp(s, "ro") == 0) ro = true;
    if (strcmp(s, "rw") == 0) ro = false;
  }
  return ro;
}

int mount_entry_finish_readonly(const struct oci_config *cfg, size_t idx, struct isola_err *err) {
  const struct oci_mount *m = &cfg->mounts[idx];
  char dest[PATH_MAX];
  _cleanup_mount_opts_ struct mount_opts o = {0};
  if (!m->destination || path_clean(m->destination, dest, sizeof dest, err) < 0 ||
      mount_opts_parse(m->options, m->noptions, &o, err) < 0)
    return isola_err_wrap(err, "mounts[%zu] `%s`", idx, m->destination);
  /* Not a bind remount: the tmpfs superblock itself becomes read-only. */
  unsigned long flags = (o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) | MS_RDONLY;
  if (mount(NULL, dest, NULL, MS_REMOUNT | flags, NULL) < 0)
    return isola_fail_errno(err, errno, "mounts[%zu] `%s`: remount read-only", idx, m->destination);
  return 0;
}
