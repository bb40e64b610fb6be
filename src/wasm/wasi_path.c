/* WASI path_* calls: the filesystem sandbox (see wasi_host.h).
 *
 * The one rule: a guest path reaches the kernel only through openat2(2) with RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS from the directory fd the guest named. The kernel then refuses, with
 * EXDEV, every resolution that would leave that directory -- `..` past it, an absolute path,
 * an absolute symlink, a relative symlink that climbs out, in the middle of the path or at its
 * end -- and every /proc magic link; the guest gets EPERM for that (as wasmtime answers).
 *
 * Calls that act on a name rather than open it (mkdir, unlink, rmdir, rename, link, symlink)
 * resolve the path's directory part that way (parent_open) and then act on the last component
 * alone under that fd: a single name, never "." or "..", never followed when it is a symlink.
 * Calls that look at an object (stat, utimes, readlink, open) open it with O_PATH beneath the
 * directory and work on that fd (AT_EMPTY_PATH).
 *
 * path_open adds two refusals (EACCES) that hold whatever directory the guest was given: device
 * files other than null, zero, full, random and urandom, and anything on a kernel interface
 * filesystem (proc, sys, cgroup, debugfs, tracefs, securityfs, bpf): /proc/self/mem would hand
 * the guest the runtime's own memory, a disk its blocks. The object is first opened O_PATH
 * (which has no side effects, even on a device or a fifo), checked, then opened for real and
 * compared by inode, so that a rename in between cannot swap in something else.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/openat2.h>

#include "wasm/wasi_host.h"

static void closep(int *fd) {
  if (*fd >= 0) close(*fd);
}
#define _cleanup_fd_ __attribute__((cleanup(closep)))

/* ---- resolution ------------------------------------------------------------------------ */

/* openat2 beneath `dirfd`; -1 with errno. EAGAIN means a rename or mount raced with the
 * resolution of ".." (the kernel's way to stay safe): try again. */
static int open_beneath(int dirfd, const char *path, int flags, mode_t mode) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                         .mode = (flags & O_CREAT) ? mode : 0,
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
  for (int i = 0; i < 16; i++) {
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    if (errno != EAGAIN && errno != EINTR) break;
  }
  return -1;
}

/* A resolution error for the guest: EXDEV is "that path leads outside", i.e. EPERM. */
static wasi_errno resolve_errno(int e) {
  return e == EXDEV ? WASI_EPERM : wasi_errno_from_host(e);
}

/* The directory part of a guest path, resolved beneath the guest's directory fd, and its last
 * component. "a/b/c/" is ("a/b", "c", slash); "a/.." is (the resolved "a/..", ".", dot). */
struct parent {
  int fd;        /* where `name` lives: the guest's dir fd or `owned` */
  int owned;     /* an fd opened here (closed by parent_close), or -1 */
  const char *name;
  bool slash;    /* the path ended in '/': it must name a directory */
  bool dot;      /* the last component was "." or "..": `fd` is that directory itself */
  char buf[WASI_PATH_MAX];
};

static void parent_close(struct parent *p) {
  if (p->owned >= 0) close(p->owned);
  p->owned = -1;
}
#define _cleanup_parent_ __attribute__((cleanup(parent_close)))

static wasi_errno parent_open(int dirfd, const char *path, struct parent *p) {
  size_t len = strlen(path);
  p->fd = dirfd;
  p->owned = -1;
  p->slash = p->dot = false;
  if (len == 0) return WASI_ENOENT;
  if (path[0] == '/') return WASI_EPERM; /* absolute: never beneath anything */
  if (len >= sizeof p->buf) return WASI_ENAMETOOLONG;
  memcpy(p->buf, path, len + 1);
  while (len > 1 && p->buf[len - 1] == '/') {
    p->buf[--len] = '\0';
    p->slash = true;
  }
  char *sep = strrchr(p->buf, '/');
  char *name = sep ? sep + 1 : p->buf;
  if (!strcmp(name, ".") || !strcmp(name, "..")) {
    p->owned = open_beneath(dirfd, p->buf, O_PATH | O_DIRECTORY, 0);
    if (p->owned < 0) return resolve_errno(errno);
    p->fd = p->owned;
    p->name = ".";
    p->dot = true;
    return WASI_ESUCCESS;
  }
  if (strlen(name) > NAME_MAX) return WASI_ENAMETOOLONG;
  if (sep) {
    *sep = '\0';
    p->owned = open_beneath(dirfd, p->buf, O_PATH | O_DIRECTORY, 0);
    if (p->owned < 0) return resolve_errno(errno);
    p->fd = p->owned;
  }
  p->name = name;
  return WASI_ESUCCESS;
}

/* For a path that ended in '/': what the call must answer when the name is not a directory
 * (ENOTDIR), or 0 when it is one; ENOENT when there is nothing. */
static wasi_errno must_be_dir(const struct parent *p) {
  struct stat st;
  if (fstatat(p->fd, p->name, &st, AT_SYMLINK_NOFOLLOW) < 0) return wasi_errno_from_host(errno);
  return S_ISDIR(st.st_mode) ? WASI_ESUCCESS : WASI_ENOTDIR;
}

/* For a name to be created with a trailing '/' (link, symlink): EEXIST when something is
 * there, else ENOENT (as wasmtime's tests expect). */
static wasi_errno cannot_create_slash(const struct parent *p) {
  struct stat st;
  return fstatat(p->fd, p->name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? WASI_EEXIST : WASI_ENOENT;
}

/* The object the path names, opened O_PATH beneath the directory (following a final symlink
 * with SYMLINK_FOLLOW, still beneath). */
static wasi_errno object_open(int dirfd, const char *path, uint32_t lookupflags, int *out) {
  if (lookupflags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW) return WASI_EINVAL;
  int flags = O_PATH | ((lookupflags & WASI_LOOKUP_SYMLINK_FOLLOW) ? 0 : O_NOFOLLOW);
  int fd = open_beneath(dirfd, path, flags, 0);
  if (fd < 0) return resolve_errno(errno);
  *out = fd;
  return WASI_ESUCCESS;
}

/* ---- what path_open refuses ------------------------------------------------------------- */

static bool kernel_fs(long type) {
  switch (type) {
  case PROC_SUPER_MAGIC:
  case SYSFS_MAGIC:
  case CGROUP_SUPER_MAGIC:
  case CGROUP2_SUPER_MAGIC:
  case DEBUGFS_MAGIC:
  case TRACEFS_MAGIC:
  case SECURITYFS_MAGIC:
  case BPF_FS_MAGIC:
    return true;
  default:
    return false;
  }
}

/* Whether the guest may open what `fd` (O_PATH) is. */
static bool openable(int fd, const struct stat *st) {
  if (S_ISBLK(st->st_mode)) return false;
  if (S_ISCHR(st->st_mode)) {
    unsigned mi = minor(st->st_rdev);
    /* mem major: 3 null, 5 zero, 7 full, 8 random, 9 urandom (1 mem, 2 kmem, 4 port: no) */
    return major(st->st_rdev) == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9);
  }
  struct statfs sf;
  return fstatfs(fd, &sf) == 0 && !kernel_fs((long)sf.f_type);
}

/* Opens `path` beneath `dirfd` with host `flags`: the checks above, without races. Returns the
 * fd with *st filled, or -1 with errno. */
static int open_checked(int dirfd, const char *path, int flags, struct stat *st) {
  for (int attempt = 0; attempt < 8; attempt++) {
    if ((flags & O_CREAT) && (flags & O_EXCL)) { /* only ever a new regular file */
      int fd = open_beneath(dirfd, path, flags, 0666);
      if (fd >= 0 && fstat(fd, st) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
      }
      return fd;
    }
    _cleanup_fd_ int p = open_beneath(dirfd, path, O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY)), 0);
    if (p < 0) {
      if (errno != ENOENT || !(flags & O_CREAT)) return -1;
      int fd = open_beneath(dirfd, path, flags | O_EXCL, 0666);
      if (fd < 0 && errno == EEXIST) continue; /* it appeared meanwhile: look at it */
      if (fd >= 0 && fstat(fd, st) < 0) {
        close(fd);
        return -1;
      }
      return fd;
    }
    struct stat ps;
    if (fstat(p, &ps) < 0) return -1;
    if (S_ISLNK(ps.st_mode)) { /* O_NOFOLLOW and the name is a symlink */
      errno = ELOOP;
      return -1;
    }
    if (!openable(p, &ps)) {
      errno = EACCES;
      return -1;
    }
    /* A fifo would block the open until the other end shows up: open it non-blocking. */
    int real = flags | (S_ISFIFO(ps.st_mode) ? O_NONBLOCK : 0);
    int fd = open_beneath(dirfd, path, real, 0666);
    if (fd < 0) return -1;
    if (fstat(fd, st) < 0 || st->st_dev != ps.st_dev || st->st_ino != ps.st_ino) {
      close(fd); /* swapped under us: look again */
      continue;
    }
    if (S_ISFIFO(ps.st_mode) && !(flags & O_NONBLOCK)) fcntl(fd, F_SETFL, real & ~O_NONBLOCK);
    return fd;
  }
  errno = EAGAIN;
  return -1;
}

/* ---- path_open ------------------------------------------------------------------------- */

/* Rights: the directory needs PATH_OPEN (and PATH_CREATE_FILE for O_CREAT,
 * PATH_FILESTAT_SET_SIZE for O_TRUNC); the rights asked for must all be in its inheriting
 * rights (wasi-libc asks for exactly those). The access mode follows the rights: read with
 * FD_READ or FD_READDIR, write with FD_WRITE, FD_DATASYNC, FD_ALLOCATE or
 * FD_FILESTAT_SET_SIZE. The new fd keeps the rights that apply to what was opened. */
wasi_errno wasi_host_path_open(struct wasi_fdtable *t, uint32_t dirfd, uint32_t lookupflags,
                               const char *path, uint32_t oflags, uint64_t rights,
                               uint64_t inheriting, uint32_t fdflags, uint32_t *newfd) {
  if ((lookupflags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW) ||
      (oflags & ~(uint32_t)(WASI_O_CREAT | WASI_O_DIRECTORY | WASI_O_EXCL | WASI_O_TRUNC)) ||
      (fdflags & ~WASI_FDFLAGS_ALL))
    return WASI_EINVAL;
  uint64_t need = WASI_RIGHT_PATH_OPEN | ((oflags & WASI_O_CREAT) ? WASI_RIGHT_PATH_CREATE_FILE : 0) |
                  ((oflags & WASI_O_TRUNC) ? WASI_RIGHT_PATH_FILESTAT_SET_SIZE : 0);
  struct wasi_fd *d;
  wasi_errno e = wasi_fd_get(t, dirfd, need, &d);
  if (e) return e;
  if (d->filetype != WASI_FILETYPE_DIRECTORY) return WASI_ENOTDIR;
  uint64_t want = rights | inheriting;
  if (fdflags & WASI_FDFLAG_DSYNC) want |= WASI_RIGHT_FD_DATASYNC;
  if (fdflags & (WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC)) want |= WASI_RIGHT_FD_SYNC;
  if (want & ~d->inheriting) return WASI_ENOTCAPABLE;
  if (path[0] == '/') return WASI_EPERM;

  bool rd = rights & (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR);
  bool wr = rights & (WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_ALLOCATE |
                      WASI_RIGHT_FD_FILESTAT_SET_SIZE);
  int flags = (rd && wr ? O_RDWR : wr ? O_WRONLY : O_RDONLY) | O_NOCTTY;
  if (oflags & WASI_O_CREAT) flags |= O_CREAT;
  if (oflags & WASI_O_EXCL) flags |= O_EXCL;
  if (oflags & WASI_O_TRUNC) flags |= O_TRUNC;
  if (oflags & WASI_O_DIRECTORY) flags |= O_DIRECTORY;
  if (!(lookupflags & WASI_LOOKUP_SYMLINK_FOLLOW)) flags |= O_NOFOLLOW;
  if (fdflags & WASI_FDFLAG_APPEND) flags |= O_APPEND;
  if (fdflags & WASI_FDFLAG_DSYNC) flags |= O_DSYNC;
  if (fdflags & WASI_FDFLAG_NONBLOCK) flags |= O_NONBLOCK;
  if (fdflags & (WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC)) flags |= O_SYNC;

  /* What is needed of `d` after the open: wasi_fd_insert may move the table. */
  struct wasi_fd nf = {.owned = true, .root_dev = d->root_dev, .root_ino = d->root_ino};
  uint64_t dir_inheriting = d->inheriting;
  struct stat st;
  nf.host = open_checked(d->host, path, flags, &st);
  if (nf.host < 0) return resolve_errno(errno);
  nf.filetype = wasi_filetype_of(st.st_mode);
  nf.rights = rights & wasi_rights_for(nf.filetype);
  nf.inheriting = nf.filetype == WASI_FILETYPE_DIRECTORY ? inheriting & dir_inheriting : 0;
  return wasi_fd_insert(t, &nf, newfd);
}

/* ---- calls on one name ----------------------------------------------------------------- */

wasi_errno wasi_host_path_create_directory(struct wasi_fdtable *t, uint32_t fd, const char *path) {
  struct wasi_fd *d;
  _cleanup_parent_ struct parent p = {.owned = -1};
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_PATH_CREATE_DIRECTORY, &d);
  if (e || (e = parent_open(d->host, path, &p))) return e;
  if (p.dot) return WASI_EEXIST;
  if (mkdirat(p.fd, p.name, 0777) < 0) return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_path_remove_directory(struct wasi_fdtable *t, uint32_t fd, const char *path) {
  struct wasi_fd *d;
  _cleanup_parent_ struct parent p = {.owned = -1};
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_PATH_REMOVE_DIRECTORY, &d);
  if (e || (e = parent_open(d->host, path, &p))) return e;
  if (p.dot) return WASI_EINVAL; /* rmdir(".") is EINVAL on Linux too */
  if (unlinkat(p.fd, p.name, AT_REMOVEDIR) < 0) return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_path_unlink_file(struct wasi_fdtable *t, uint32_t fd, const char *path) {
  struct wasi_fd *d;
  _cleanup_parent_ struct parent p = {.owned = -1};
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_PATH_UNLINK_FILE, &d);
  if (e || (e = parent_open(d->host, path, &p))) return e;
  if (p.dot) return WASI_EISDIR;
  if (p.slash) { /* "file/": ENOTDIR; "dir/": EISDIR */
    e = must_be_dir(&p);
    return e ? e : WASI_EISDIR;
  }
  if (unlinkat(p.fd, p.name, 0) < 0) return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_path_rename(struct wasi_fdtable *t, uint32_t fd, const char *oldpath,
                                 uint32_t newfd, const char *newpath) {
  struct wasi_fd *d, *nd;
  _cleanup_parent_ struct parent op = {.owned = -1}, np = {.owned = -1};
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_PATH_RENAME_SOURCE, &d);
  if (e || (e = wasi_fd_get(t, newfd, WASI_RIGHT_PATH_RENAME_TARGET, &nd))) return e;
  if ((e = parent_open(d->host, oldpath, &op)) || (e = parent_open(nd->host, newpath, &np)))
    return e;
  if (op.dot || np.dot) return WASI_EBUSY; /* renaming "." or "..", or onto them */
  if ((op.slash || np.slash) && (e = must_be_dir(&op))) return e;
  if (renameat(op.fd, op.name, np.fd, np.name) < 0) return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

/* With SYMLINK_FOLLOW on the old path, a final symlink is resolved (beneath) and its target
 * is linked: linkat(AT_EMPTY_PATH) when the runtime may (CAP_DAC_READ_SEARCH), else through
 * /proc/self/fd (a magic link the runtime names, not the guest). */
wasi_errno wasi_host_path_link(struct wasi_fdtable *t, uint32_t oldfd, uint32_t oldflags,
                               const char *oldpath, uint32_t newfd, const char *newpath) {
  struct wasi_fd *d, *nd;
  _cleanup_parent_ struct parent op = {.owned = -1}, np = {.owned = -1};
  if (oldflags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW) return WASI_EINVAL;
  wasi_errno e = wasi_fd_get(t, oldfd, WASI_RIGHT_PATH_LINK_SOURCE, &d);
  if (e || (e = wasi_fd_get(t, newfd, WASI_RIGHT_PATH_LINK_TARGET, &nd))) return e;
  if ((e = parent_open(d->host, oldpath, &op)) || (e = parent_open(nd->host, newpath, &np)))
    return e;
  if (op.dot) return WASI_EPERM; /* directories cannot be hard-linked */
  if (op.slash && (e = must_be_dir(&op))) return e;
  if (np.dot) return WASI_EEXIST;
  if (np.slash) return cannot_create_slash(&np);
  struct stat st;
  if (fstatat(op.fd, op.name, &st, AT_SYMLINK_NOFOLLOW) < 0) return wasi_errno_from_host(errno);
  if (!S_ISLNK(st.st_mode) || !(oldflags & WASI_LOOKUP_SYMLINK_FOLLOW)) {
    if (linkat(op.fd, op.name, np.fd, np.name, 0) < 0) return wasi_errno_from_host(errno);
    return WASI_ESUCCESS;
  }
  _cleanup_fd_ int target = -1;
  if ((e = object_open(d->host, oldpath, WASI_LOOKUP_SYMLINK_FOLLOW, &target))) return e;
  if (linkat(target, "", np.fd, np.name, AT_EMPTY_PATH) == 0) return WASI_ESUCCESS;
  if (errno != ENOENT && errno != EPERM) return wasi_errno_from_host(errno);
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", target);
  if (linkat(AT_FDCWD, proc, np.fd, np.name, AT_SYMLINK_FOLLOW) < 0)
    return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

/* How many directories `fd` is below the preopened directory (rdev, rino), found by walking
 * "..": -1 when it is not below it at all. */
static int depth_below(int fd, dev_t rdev, ino_t rino) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -1;
  _cleanup_fd_ int up = -1;
  int at = fd, depth = 0;
  while (st.st_dev != rdev || st.st_ino != rino) {
    if (depth >= (int)(WASI_PATH_MAX / 2)) return -1;
    int next = openat(at, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat ns;
    if (next < 0) return -1;
    if (fstat(next, &ns) < 0 || (ns.st_dev == st.st_dev && ns.st_ino == st.st_ino)) {
      close(next); /* the root of the host: the preopen was never met */
      return -1;
    }
    if (up >= 0) close(up);
    up = at = next;
    st = ns;
    depth++;
  }
  return depth;
}

/* Whether `target`, read from a directory `depth` levels below the preopen, stays beneath it
 * (lexically: the components of the target; symlinks inside it are checked when followed). */
static bool target_stays_beneath(const char *target, int depth) {
  const char *s = target;
  while (*s) {
    const char *end = strchr(s, '/');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    if (n == 2 && s[0] == '.' && s[1] == '.') {
      if (--depth < 0) return false;
    } else if (n > 0 && !(n == 1 && s[0] == '.')) {
      depth++;
    }
    s += n;
    while (*s == '/')
      s++;
  }
  return true;
}

/* A symlink whose target is absolute, or whose `..`s climb above the preopened directory from
 * where the link is made, is refused with EPERM. wasmtime refuses the absolute ones and lets
 * the others be made (they can never be followed from inside); isola refuses both, because
 * the directory is shared with the host, and a host program that follows the link would
 * leave it. */
wasi_errno wasi_host_path_symlink(struct wasi_fdtable *t, const char *target, uint32_t fd,
                                  const char *path) {
  struct wasi_fd *d;
  _cleanup_parent_ struct parent p = {.owned = -1};
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_PATH_SYMLINK, &d);
  if (e) return e;
  if (!target[0]) return WASI_ENOENT;
  if (target[0] == '/') return WASI_EPERM;
  dev_t rdev = d->root_dev;
  ino_t rino = d->root_ino;
  if ((e = parent_open(d->host, path, &p))) return e;
  if (p.dot) return WASI_EEXIST;
  if (p.slash) return cannot_create_slash(&p);
  int depth = depth_below(p.fd, rdev, rino);
  if (depth < 0 || !target_stays_beneath(target, depth)) return WASI_EPERM;
  if (symlinkat(target, p.fd, p.name) < 0) return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

/* ---- calls on one object --------------------------------------------------------------- */

wasi_errno wasi_host_path_filestat_get(struct wasi_fdtable *t, uint32_t fd, uint32_t lookupflags,
                                       const char *path, struct wasi_filestat *out) {
  struct wasi_fd *d;
  _cleanup_fd_ int o = -1;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_PATH_FILESTAT_GET, &d);
  if (e || (e = object_open(d->host, path, lookupflags, &o))) return e;
  struct stat st;
  if (fstat(o, &st) < 0) return wasi_errno_from_host(errno);
  wasi_filestat_of(&st, out);
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_path_filestat_set_times(struct wasi_fdtable *t, uint32_t fd,
                                             uint32_t lookupflags, const char *path,
                                             uint64_t atim, uint64_t mtim, uint32_t fst_flags) {
  struct wasi_fd *d;
  _cleanup_fd_ int o = -1;
  struct timespec ts[2];
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_PATH_FILESTAT_SET_TIMES, &d);
  if (e || (e = wasi_times_of(atim, mtim, fst_flags, ts)) ||
      (e = object_open(d->host, path, lookupflags, &o)))
    return e;
  if (utimensat(o, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

/* The target as it is written, cut to `len` bytes without a NUL (as readlink(2) does). */
wasi_errno wasi_host_path_readlink(struct wasi_fdtable *t, uint32_t fd, const char *path,
                                   char *buf, size_t len, size_t *used) {
  struct wasi_fd *d;
  _cleanup_fd_ int o = -1;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_PATH_READLINK, &d);
  if (e || (e = object_open(d->host, path, 0, &o))) return e;
  struct stat st;
  if (fstat(o, &st) < 0) return wasi_errno_from_host(errno);
  if (!S_ISLNK(st.st_mode)) return WASI_EINVAL;
  ssize_t n = len ? readlinkat(o, "", buf, len) : 0;
  if (n < 0) return wasi_errno_from_host(errno);
  *used = (size_t)n;
  return WASI_ESUCCESS;
}
