/* The WASI host layer: the virtual fd table and the fd_* host calls behind it, clocks and
 * random (see wasi_host.h). Paths are in wasi_path.c, waiting in wasi_poll.c, sockets in
 * wasi_sock.c.
 *
 * Nothing here reads linear memory. A guest fd reaches a host fd only through wasi_fd_get(),
 * which checks the index and the rights the call needs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wasm/wasi_host.h"

int wasi_fail(iw_error *err, iw_errkind kind, const char *fmt, ...) {
  va_list ap;
  err->kind = kind;
  err->trap = kind == IW_ERR_TRAP ? IW_TRAP_HOST : IW_TRAP_NONE;
  err->exit_code = 0;
  err->func_index = -1;
  err->offset = -1;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---- errno ---------------------------------------------------------------------------- */

/* clang-format off */
static const wasi_errno errno_map[] = {
    [E2BIG] = WASI_E2BIG, [EACCES] = WASI_EACCES, [EADDRINUSE] = WASI_EADDRINUSE,
    [EADDRNOTAVAIL] = WASI_EADDRNOTAVAIL, [EAFNOSUPPORT] = WASI_EAFNOSUPPORT,
    [EAGAIN] = WASI_EAGAIN, [EALREADY] = WASI_EALREADY, [EBADF] = WASI_EBADF,
    [EBADMSG] = WASI_EBADMSG, [EBUSY] = WASI_EBUSY, [ECANCELED] = WASI_ECANCELED,
    [ECHILD] = WASI_ECHILD, [ECONNABORTED] = WASI_ECONNABORTED,
    [ECONNREFUSED] = WASI_ECONNREFUSED, [ECONNRESET] = WASI_ECONNRESET,
    [EDEADLK] = WASI_EDEADLK, [EDESTADDRREQ] = WASI_EDESTADDRREQ, [EDOM] = WASI_EDOM,
    [EDQUOT] = WASI_EDQUOT, [EEXIST] = WASI_EEXIST, [EFAULT] = WASI_EFAULT,
    [EFBIG] = WASI_EFBIG, [EHOSTUNREACH] = WASI_EHOSTUNREACH, [EIDRM] = WASI_EIDRM,
    [EILSEQ] = WASI_EILSEQ, [EINPROGRESS] = WASI_EINPROGRESS, [EINTR] = WASI_EINTR,
    [EINVAL] = WASI_EINVAL, [EIO] = WASI_EIO, [EISCONN] = WASI_EISCONN, [EISDIR] = WASI_EISDIR,
    [ELOOP] = WASI_ELOOP, [EMFILE] = WASI_EMFILE, [EMLINK] = WASI_EMLINK,
    [EMSGSIZE] = WASI_EMSGSIZE, [EMULTIHOP] = WASI_EMULTIHOP,
    [ENAMETOOLONG] = WASI_ENAMETOOLONG, [ENETDOWN] = WASI_ENETDOWN,
    [ENETRESET] = WASI_ENETRESET, [ENETUNREACH] = WASI_ENETUNREACH, [ENFILE] = WASI_ENFILE,
    [ENOBUFS] = WASI_ENOBUFS, [ENODEV] = WASI_ENODEV, [ENOENT] = WASI_ENOENT,
    [ENOEXEC] = WASI_ENOEXEC, [ENOLCK] = WASI_ENOLCK, [ENOLINK] = WASI_ENOLINK,
    [ENOMEM] = WASI_ENOMEM, [ENOMSG] = WASI_ENOMSG, [ENOPROTOOPT] = WASI_ENOPROTOOPT,
    [ENOSPC] = WASI_ENOSPC, [ENOSYS] = WASI_ENOSYS, [ENOTCONN] = WASI_ENOTCONN,
    [ENOTDIR] = WASI_ENOTDIR, [ENOTEMPTY] = WASI_ENOTEMPTY,
    [ENOTRECOVERABLE] = WASI_ENOTRECOVERABLE, [ENOTSOCK] = WASI_ENOTSOCK,
    [ENOTSUP] = WASI_ENOTSUP, [ENOTTY] = WASI_ENOTTY, [ENXIO] = WASI_ENXIO,
    [EOVERFLOW] = WASI_EOVERFLOW, [EOWNERDEAD] = WASI_EOWNERDEAD, [EPERM] = WASI_EPERM,
    [EPIPE] = WASI_EPIPE, [EPROTO] = WASI_EPROTO, [EPROTONOSUPPORT] = WASI_EPROTONOSUPPORT,
    [EPROTOTYPE] = WASI_EPROTOTYPE, [ERANGE] = WASI_ERANGE, [EROFS] = WASI_EROFS,
    [ESPIPE] = WASI_ESPIPE, [ESRCH] = WASI_ESRCH, [ESTALE] = WASI_ESTALE,
    [ETIMEDOUT] = WASI_ETIMEDOUT, [ETXTBSY] = WASI_ETXTBSY, [EXDEV] = WASI_EXDEV,
};
/* clang-format on */

wasi_errno wasi_errno_from_host(int e) {
  if (e > 0 && (size_t)e < sizeof errno_map / sizeof errno_map[0] && errno_map[e])
    return errno_map[e];
  return WASI_EIO;
}

/* ---- the fd table --------------------------------------------------------------------- */

/* clang-format off */
uint8_t wasi_filetype_of(mode_t mode) {
  switch (mode & S_IFMT) {
  case S_IFREG: return WASI_FILETYPE_REGULAR_FILE;
  case S_IFDIR: return WASI_FILETYPE_DIRECTORY;
  case S_IFCHR: return WASI_FILETYPE_CHARACTER_DEVICE;
  case S_IFBLK: return WASI_FILETYPE_BLOCK_DEVICE;
  case S_IFLNK: return WASI_FILETYPE_SYMBOLIC_LINK;
  case S_IFSOCK: return WASI_FILETYPE_SOCKET_STREAM;
  default: return WASI_FILETYPE_UNKNOWN; /* pipes: WASI has no name for them */
  }
}

uint64_t wasi_rights_for(uint8_t filetype) {
  switch (filetype) {
  case WASI_FILETYPE_DIRECTORY: return WASI_RIGHTS_DIR;
  case WASI_FILETYPE_REGULAR_FILE: case WASI_FILETYPE_BLOCK_DEVICE: return WASI_RIGHTS_FILE;
  case WASI_FILETYPE_CHARACTER_DEVICE: return WASI_RIGHTS_CHAR;
  case WASI_FILETYPE_SOCKET_STREAM: case WASI_FILETYPE_SOCKET_DGRAM: return WASI_RIGHTS_SOCK;
  default: return WASI_RIGHTS_CHAR; /* pipes, fifos */
  }
}
/* clang-format on */

void wasi_filestat_of(const struct stat *st, struct wasi_filestat *out) {
  *out = (struct wasi_filestat){
      .dev = (uint64_t)st->st_dev,
      .ino = (uint64_t)st->st_ino,
      .filetype = wasi_filetype_of(st->st_mode),
      .nlink = (uint64_t)st->st_nlink,
      .size = st->st_size < 0 ? 0 : (uint64_t)st->st_size,
      .atim = wasi_ts_ns(&st->st_atim),
      .mtim = wasi_ts_ns(&st->st_mtim),
      .ctim = wasi_ts_ns(&st->st_ctim),
  };
}

/* Guest stdio: readable (0) or writable (1, 2), and seekable only when the host fd is a file.
 * wasi-libc's isatty() is "character device without seek/tell rights", so a terminal must not
 * get them. */
static uint64_t stdio_rights(int guest_fd, uint8_t filetype) {
  uint64_t r = WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_FILESTAT_GET |
               WASI_RIGHT_POLL_FD_READWRITE |
               (guest_fd == 0 ? WASI_RIGHT_FD_READ : WASI_RIGHT_FD_WRITE);
  if (filetype == WASI_FILETYPE_REGULAR_FILE || filetype == WASI_FILETYPE_BLOCK_DEVICE)
    r |= WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_DATASYNC |
         WASI_RIGHT_FD_ADVISE;
  return r;
}

static void fd_release(struct wasi_fd *f) {
  if (f->owned && f->host >= 0) close(f->host);
  free(f->preopen);
  *f = (struct wasi_fd){.host = -1};
}

void wasi_fdtable_free(struct wasi_fdtable *t) {
  for (uint32_t i = 0; i < t->n; i++)
    fd_release(&t->fds[i]);
  free(t->fds);
  t->fds = NULL;
  t->n = t->cap = 0;
}

static int preopen_dir(struct wasi_fd *f, const struct iw_wasi_dir *d, bool readonly, size_t j,
                       iw_error *err) {
  if (!d->host || !d->host[0] || !d->guest || !d->guest[0])
    return wasi_fail(err, IW_ERR_USAGE, "preopen %zu: empty host or guest path", j);
  if (strlen(d->guest) >= WASI_PATH_MAX)
    return wasi_fail(err, IW_ERR_USAGE, "preopen `%.64s...`: guest path too long", d->guest);
  /* Readable, so that fd_readdir and fd_sync work on the preopen itself; O_PATH when the
   * directory cannot be read (only search permission): the guest still opens beneath it. */
  f->host = open(d->host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (f->host < 0 && errno == EACCES) f->host = open(d->host, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (f->host < 0) return wasi_fail(err, IW_ERR_RESOURCE, "preopen `%s`: %s", d->host, strerror(errno));
  f->owned = true;
  struct stat st;
  if (fstat(f->host, &st) < 0)
    return wasi_fail(err, IW_ERR_RESOURCE, "preopen `%s`: %s", d->host, strerror(errno));
  f->filetype = WASI_FILETYPE_DIRECTORY;
  f->rights = WASI_RIGHTS_DIR;
  f->inheriting = WASI_RIGHTS_DIR | WASI_RIGHTS_FILE;
  if (readonly) {
    f->rights &= ~WASI_RIGHTS_MUTATE;
    f->inheriting &= ~WASI_RIGHTS_MUTATE;
  }
  f->root_dev = st.st_dev;
  f->root_ino = st.st_ino;
  f->preopen = strdup(d->guest);
  if (!f->preopen) return wasi_fail(err, IW_ERR_RESOURCE, "preopen `%s`: out of memory", d->host);
  return 0;
}

static int preopen_socket(struct wasi_fd *f, int fd, size_t j, iw_error *err) {
  int listening = 0, type = 0;
  socklen_t len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening ||
      (len = sizeof type, getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len)) < 0 ||
      type != SOCK_STREAM)
    return wasi_fail(err, IW_ERR_USAGE, "listening socket %zu (fd %d): not a listening stream "
                     "socket", j, fd);
  f->host = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (f->host < 0)
    return wasi_fail(err, IW_ERR_RESOURCE, "listening socket %zu: %s", j, strerror(errno));
  f->owned = true;
  f->filetype = WASI_FILETYPE_SOCKET_STREAM;
  f->rights = WASI_RIGHTS_LISTEN;
  f->inheriting = WASI_RIGHTS_SOCK;
  return 0;
}

int wasi_fdtable_init(struct wasi_fdtable *t, const struct iw_wasi_config *c, iw_error *err) {
  const int stdio[3] = {c->stdin_fd, c->stdout_fd, c->stderr_fd};

  *t = (struct wasi_fdtable){0};
  if (c->ndirs > WASI_MAX_FDS - 3 || c->nlisten > WASI_MAX_FDS - 3 - c->ndirs)
    return wasi_fail(err, IW_ERR_USAGE,
                     "too many preopened directories and sockets (%zu, at most %u)",
                     c->ndirs + c->nlisten, WASI_MAX_FDS - 3);
  if (c->ndirs && !c->dirs)
    return wasi_fail(err, IW_ERR_USAGE, "%zu preopened directories but no list", c->ndirs);
  if (c->nlisten && !c->listen_fds)
    return wasi_fail(err, IW_ERR_USAGE, "%zu listening sockets but no list", c->nlisten);
  uint32_t n = 3 + (uint32_t)c->ndirs + (uint32_t)c->nlisten;
  t->fds = calloc(n, sizeof *t->fds);
  if (!t->fds) return wasi_fail(err, IW_ERR_RESOURCE, "WASI fd table: out of memory");
  t->n = t->cap = n;
  for (uint32_t i = 0; i < t->n; i++)
    t->fds[i].host = -1;

  for (int i = 0; i < 3; i++) {
    struct stat st;
    if (stdio[i] < 0 || fstat(stdio[i], &st) < 0) continue; /* guest fd i stays closed */
    uint8_t type = wasi_filetype_of(st.st_mode);
    t->fds[i] = (struct wasi_fd){
        .host = stdio[i], .owned = false, .filetype = type, .rights = stdio_rights(i, type)};
  }
  for (size_t j = 0; j < c->ndirs; j++)
    if (preopen_dir(&t->fds[3 + j], &c->dirs[j], c->dirs_readonly && c->dirs_readonly[j], j,
                    err) < 0)
      goto fail;
  for (size_t j = 0; j < c->nlisten; j++)
    if (preopen_socket(&t->fds[3 + c->ndirs + j], c->listen_fds[j], j, err) < 0) goto fail;
  return 0;
fail:
  wasi_fdtable_free(t);
  return -1;
}

wasi_errno wasi_fd_get(struct wasi_fdtable *t, uint32_t fd, uint64_t need, struct wasi_fd **out) {
  if (fd >= t->n || t->fds[fd].host < 0) return WASI_EBADF;
  if ((t->fds[fd].rights & need) != need) return WASI_ENOTCAPABLE;
  *out = &t->fds[fd];
  return WASI_ESUCCESS;
}

wasi_errno wasi_fd_insert(struct wasi_fdtable *t, const struct wasi_fd *f, uint32_t *out) {
  uint32_t i = 0;
  while (i < t->n && t->fds[i].host >= 0)
    i++;
  if (i == t->n) {
    if (t->n >= WASI_MAX_FDS) {
      close(f->host);
      return WASI_EMFILE;
    }
    if (t->n == t->cap) {
      uint32_t cap = t->cap < 16 ? 16 : t->cap * 2;
      if (cap > WASI_MAX_FDS) cap = WASI_MAX_FDS;
      struct wasi_fd *fds = realloc(t->fds, cap * sizeof *fds);
      if (!fds) {
        close(f->host);
        return WASI_ENOMEM;
      }
      t->fds = fds;
      t->cap = cap;
    }
    t->n++;
  }
  t->fds[i] = *f;
  *out = i;
  return WASI_ESUCCESS;
}

/* ---- fd calls ------------------------------------------------------------------------- */

static bool is_stream(const struct wasi_fd *f) {
  return f->filetype != WASI_FILETYPE_REGULAR_FILE && f->filetype != WASI_FILETYPE_DIRECTORY &&
         f->filetype != WASI_FILETYPE_BLOCK_DEVICE;
}

/* read/write and friends, retried on EINTR unless the run was interrupted. Pipes, sockets and
 * terminals are waited on first so that the call cannot outlive the deadline. */
#define RW_LOOP(t, f, events, call, n)                                                        \
  do {                                                                                         \
    wasi_errno e_ = is_stream(f) ? wasi_wait_ready((t), (f), (events)) : WASI_ESUCCESS;       \
    if (e_) return e_;                                                                         \
    while (((n) = (call)) < 0 && errno == EINTR)                                               \
      if ((e_ = wasi_after_eintr(t))) return e_;                                               \
  } while (0)

wasi_errno wasi_host_fd_write(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                              int iovcnt, size_t *nwritten) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_WRITE, &f);
  if (e) return e;
  ssize_t n;
  RW_LOOP(t, f, POLLOUT, writev(f->host, iov, iovcnt), n);
  if (n < 0) return wasi_errno_from_host(errno);
  *nwritten = (size_t)n;
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_read(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                             int iovcnt, size_t *nread) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_READ, &f);
  if (e) return e;
  ssize_t n;
  RW_LOOP(t, f, POLLIN, readv(f->host, iov, iovcnt), n);
  if (n < 0) return wasi_errno_from_host(errno);
  *nread = (size_t)n;
  return WASI_ESUCCESS;
}

/* The offset is a u64 that the host takes as a signed off_t. */
wasi_errno wasi_host_fd_pwrite(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                               int iovcnt, uint64_t offset, size_t *nwritten) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_SEEK, &f);
  if (e) return e;
  if (offset > INT64_MAX) return WASI_EINVAL;
  ssize_t n;
  RW_LOOP(t, f, POLLOUT, pwritev(f->host, iov, iovcnt, (off_t)offset), n);
  if (n < 0) return wasi_errno_from_host(errno);
  *nwritten = (size_t)n;
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_pread(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                              int iovcnt, uint64_t offset, size_t *nread) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK, &f);
  if (e) return e;
  if (offset > INT64_MAX) return WASI_EINVAL;
  ssize_t n;
  RW_LOOP(t, f, POLLIN, preadv(f->host, iov, iovcnt, (off_t)offset), n);
  if (n < 0) return wasi_errno_from_host(errno);
  *nread = (size_t)n;
  return WASI_ESUCCESS;
}

/* Closing a lent stdio fd only forgets it; closing a preopen is allowed (wasi-libc never does,
 * but the guest owns its table). */
wasi_errno wasi_host_fd_close(struct wasi_fdtable *t, uint32_t fd) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, 0, &f);
  if (e) return e;
  fd_release(f);
  return WASI_ESUCCESS;
}

/* `to` must be open too (as wasmtime and WAMR require): the table cannot be grown to an
 * arbitrary index this way. `to` is closed first; `from` moves with its rights and preopen
 * name. */
wasi_errno wasi_host_fd_renumber(struct wasi_fdtable *t, uint32_t from, uint32_t to) {
  struct wasi_fd *f, *g;
  wasi_errno e = wasi_fd_get(t, from, 0, &f);
  if (e || (e = wasi_fd_get(t, to, 0, &g))) return e;
  if (from == to) return WASI_ESUCCESS;
  fd_release(g);
  *g = *f;
  *f = (struct wasi_fd){.host = -1};
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_seek(struct wasi_fdtable *t, uint32_t fd, int64_t offset, uint32_t whence,
                             uint64_t *newoffset) {
  static const int host_whence[] = {
      [WASI_WHENCE_SET] = SEEK_SET, [WASI_WHENCE_CUR] = SEEK_CUR, [WASI_WHENCE_END] = SEEK_END};
  if (whence > WASI_WHENCE_END) return WASI_EINVAL;
  /* A pure "where am I" needs only FD_TELL (witx: fd_seek). */
  bool tell = offset == 0 && whence == WASI_WHENCE_CUR;
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, 0, &f);
  if (e) return e;
  if (!(f->rights & WASI_RIGHT_FD_SEEK) && !(tell && (f->rights & WASI_RIGHT_FD_TELL)))
    return WASI_ENOTCAPABLE;
  if (f->filetype == WASI_FILETYPE_DIRECTORY) return WASI_EBADF; /* fd_readdir has cookies */
  off_t r = lseek(f->host, (off_t)offset, host_whence[whence]);
  if (r < 0) return wasi_errno_from_host(errno);
  *newoffset = (uint64_t)r;
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_tell(struct wasi_fdtable *t, uint32_t fd, uint64_t *offset) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_TELL, &f);
  if (e) return e;
  off_t r = lseek(f->host, 0, SEEK_CUR);
  if (r < 0) return wasi_errno_from_host(errno);
  *offset = (uint64_t)r;
  return WASI_ESUCCESS;
}

static uint16_t fdflags_of(int fl) {
  uint16_t flags = 0;
  if (fl & O_APPEND) flags |= WASI_FDFLAG_APPEND;
  if (fl & O_NONBLOCK) flags |= WASI_FDFLAG_NONBLOCK;
  if ((fl & O_SYNC) == O_SYNC) flags |= WASI_FDFLAG_SYNC; /* Linux: O_RSYNC is O_SYNC */
  else if (fl & O_DSYNC) flags |= WASI_FDFLAG_DSYNC;
  return flags;
}

wasi_errno wasi_host_fd_fdstat_get(struct wasi_fdtable *t, uint32_t fd, struct wasi_fdstat *out) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, 0, &f);
  if (e) return e;
  int fl = fcntl(f->host, F_GETFL);
  if (fl < 0) return wasi_errno_from_host(errno);
  *out = (struct wasi_fdstat){.filetype = f->filetype,
                              .flags = fdflags_of(fl),
                              .rights = f->rights,
                              .inheriting = f->inheriting};
  return WASI_ESUCCESS;
}

/* APPEND and NONBLOCK can change; the sync flags are fixed at open on Linux (F_SETFL ignores
 * them), so asking for other sync flags than the fd has is ENOTSUP rather than a silent no. */
wasi_errno wasi_host_fd_fdstat_set_flags(struct wasi_fdtable *t, uint32_t fd, uint32_t flags) {
  struct wasi_fd *f;
  if (flags & ~WASI_FDFLAGS_ALL) return WASI_EINVAL;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_FDSTAT_SET_FLAGS, &f);
  if (e) return e;
  int fl = fcntl(f->host, F_GETFL);
  if (fl < 0) return wasi_errno_from_host(errno);
  const uint32_t sync = WASI_FDFLAG_DSYNC | WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC;
  uint32_t have = fdflags_of(fl) & sync, want = flags & sync;
  if (want & WASI_FDFLAG_RSYNC) want = (want & ~WASI_FDFLAG_RSYNC) | WASI_FDFLAG_SYNC;
  if (want & WASI_FDFLAG_SYNC) want &= ~WASI_FDFLAG_DSYNC; /* SYNC implies DSYNC */
  if (want != have) return WASI_ENOTSUP;
  fl &= ~(O_APPEND | O_NONBLOCK);
  if (flags & WASI_FDFLAG_APPEND) fl |= O_APPEND;
  if (flags & WASI_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
  if (fcntl(f->host, F_SETFL, fl) < 0) return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

/* Rights only ever shrink. */
wasi_errno wasi_host_fd_fdstat_set_rights(struct wasi_fdtable *t, uint32_t fd, uint64_t rights,
                                          uint64_t inheriting) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, 0, &f);
  if (e) return e;
  if ((rights & ~f->rights) || (inheriting & ~f->inheriting)) return WASI_ENOTCAPABLE;
  f->rights = rights;
  f->inheriting = inheriting;
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_filestat_get(struct wasi_fdtable *t, uint32_t fd,
                                     struct wasi_filestat *out) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_FILESTAT_GET, &f);
  if (e) return e;
  struct stat st;
  if (fstat(f->host, &st) < 0) return wasi_errno_from_host(errno);
  wasi_filestat_of(&st, out);
  /* A socket the host created as a datagram one says so. */
  if (out->filetype == WASI_FILETYPE_SOCKET_STREAM) out->filetype = f->filetype;
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_filestat_set_size(struct wasi_fdtable *t, uint32_t fd, uint64_t size) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_FILESTAT_SET_SIZE, &f);
  if (e) return e;
  if (size > INT64_MAX) return WASI_EFBIG;
  while (ftruncate(f->host, (off_t)size) < 0)
    if (errno != EINTR) return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

wasi_errno wasi_times_of(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]) {
  if (fst & ~(uint32_t)(WASI_FST_ATIM | WASI_FST_ATIM_NOW | WASI_FST_MTIM | WASI_FST_MTIM_NOW))
    return WASI_EINVAL;
  if (((fst & WASI_FST_ATIM) && (fst & WASI_FST_ATIM_NOW)) ||
      ((fst & WASI_FST_MTIM) && (fst & WASI_FST_MTIM_NOW)))
    return WASI_EINVAL;
  const uint64_t times[2] = {atim, mtim};
  const uint32_t set[2] = {WASI_FST_ATIM, WASI_FST_MTIM}, now[2] = {WASI_FST_ATIM_NOW,
                                                                    WASI_FST_MTIM_NOW};
  for (int i = 0; i < 2; i++) {
    if (fst & now[i]) ts[i] = (struct timespec){.tv_nsec = UTIME_NOW};
    else if (fst & set[i])
      ts[i] = (struct timespec){.tv_sec = (time_t)(times[i] / 1000000000u),
                                .tv_nsec = (long)(times[i] % 1000000000u)};
    else ts[i] = (struct timespec){.tv_nsec = UTIME_OMIT};
  }
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_filestat_set_times(struct wasi_fdtable *t, uint32_t fd, uint64_t atim,
                                           uint64_t mtim, uint32_t fst_flags) {
  struct wasi_fd *f;
  struct timespec ts[2];
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_FILESTAT_SET_TIMES, &f);
  if (e || (e = wasi_times_of(atim, mtim, fst_flags, ts))) return e;
  /* AT_EMPTY_PATH: also for an fd opened O_PATH (a preopen without read permission). */
  if (utimensat(f->host, "", ts, AT_EMPTY_PATH) < 0) return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_advise(struct wasi_fdtable *t, uint32_t fd, uint64_t offset, uint64_t len,
                               uint32_t advice) {
  static const int host_advice[] = {
      [WASI_ADVICE_NORMAL] = POSIX_FADV_NORMAL,     [WASI_ADVICE_SEQUENTIAL] = POSIX_FADV_SEQUENTIAL,
      [WASI_ADVICE_RANDOM] = POSIX_FADV_RANDOM,     [WASI_ADVICE_WILLNEED] = POSIX_FADV_WILLNEED,
      [WASI_ADVICE_DONTNEED] = POSIX_FADV_DONTNEED, [WASI_ADVICE_NOREUSE] = POSIX_FADV_NOREUSE};
  struct wasi_fd *f;
  if (advice > WASI_ADVICE_NOREUSE) return WASI_EINVAL;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_ADVISE, &f);
  if (e) return e;
  if (offset > INT64_MAX || len > INT64_MAX) return WASI_EINVAL;
  if (f->filetype == WASI_FILETYPE_DIRECTORY) return WASI_EBADF;
  int r = posix_fadvise(f->host, (off_t)offset, (off_t)len, host_advice[advice]);
  return r ? wasi_errno_from_host(r) : WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_allocate(struct wasi_fdtable *t, uint32_t fd, uint64_t offset,
                                 uint64_t len) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_ALLOCATE, &f);
  if (e) return e;
  if (offset > INT64_MAX || len > INT64_MAX) return WASI_EINVAL;
  if (offset + len > INT64_MAX) return WASI_EFBIG;
  if (f->filetype != WASI_FILETYPE_REGULAR_FILE) return WASI_EBADF;
  int r = posix_fallocate(f->host, (off_t)offset, (off_t)len);
  return r ? wasi_errno_from_host(r) : WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_datasync(struct wasi_fdtable *t, uint32_t fd) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_DATASYNC, &f);
  if (e) return e;
  if (fdatasync(f->host) < 0) return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_sync(struct wasi_fdtable *t, uint32_t fd) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_SYNC, &f);
  if (e) return e;
  if (fsync(f->host) < 0) return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

/* ---- fd_readdir ----------------------------------------------------------------------- */

/* struct linux_dirent64, as getdents64(2) fills it. */
struct host_dirent {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* clang-format off */
static uint8_t filetype_of_dtype(unsigned char t) {
  switch (t) {
  case DT_REG: return WASI_FILETYPE_REGULAR_FILE;
  case DT_DIR: return WASI_FILETYPE_DIRECTORY;
  case DT_LNK: return WASI_FILETYPE_SYMBOLIC_LINK;
  case DT_CHR: return WASI_FILETYPE_CHARACTER_DEVICE;
  case DT_BLK: return WASI_FILETYPE_BLOCK_DEVICE;
  case DT_SOCK: return WASI_FILETYPE_SOCKET_STREAM;
  default: return WASI_FILETYPE_UNKNOWN;
  }
}
/* clang-format on */

/* Copies as much of `src` as fits at buf[*used]: the last entry is cut where the buffer ends,
 * as the spec says (wasi-libc then asks again from that entry's cookie with more room). */
static bool put_bytes(uint8_t *buf, size_t len, size_t *used, const void *src, size_t n) {
  size_t room = len - *used, k = n < room ? n : room;
  memcpy(buf + *used, src, k);
  *used += k;
  return k == n;
}

/* Cookies are entry numbers: cookie N is "after the first N entries" (as wasmtime numbers
 * them), which fits the 32-bit `long` that wasi-libc's telldir() returns; the host's own
 * offsets (ext4: 63-bit hashes) would not. A cookie past the end gives no entries. "." and ".."
 * are listed, as Linux does; the inode number of ".." is 0 (wasi-libc then does not look it
 * up): the preopen's parent is not the guest's business. */
wasi_errno wasi_host_fd_readdir(struct wasi_fdtable *t, uint32_t fd, uint8_t *buf, size_t len,
                                uint64_t cookie, size_t *used) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, WASI_RIGHT_FD_READDIR, &f);
  if (e) return e;
  if (f->filetype != WASI_FILETYPE_DIRECTORY) return WASI_ENOTDIR;
  /* Resume where the last call stopped, or count from the start. */
  uint64_t idx = cookie && cookie == f->dir_next ? cookie : 0;
  if (lseek(f->host, idx ? (off_t)f->dir_off : 0, SEEK_SET) < 0) return wasi_errno_from_host(errno);
  *used = 0;
  static _Thread_local uint8_t hbuf[32768] __attribute__((aligned(8)));
  while (*used < len) {
    long n = syscall(SYS_getdents64, f->host, hbuf, sizeof hbuf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return wasi_errno_from_host(errno);
    if (n == 0) break; /* the end */
    for (long off = 0; off < n && *used < len; idx++) {
      const struct host_dirent *d = (const struct host_dirent *)(hbuf + off);
      off += d->d_reclen;
      if (idx < cookie) continue;
      size_t namlen = strlen(d->d_name);
      bool dotdot = namlen == 2 && d->d_name[0] == '.' && d->d_name[1] == '.';
      uint8_t type = filetype_of_dtype(d->d_type);
      if (d->d_type == DT_UNKNOWN && !dotdot) { /* some filesystems leave it to stat */
        struct stat st;
        if (fstatat(f->host, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
          type = wasi_filetype_of(st.st_mode);
      }
      /* witx dirent: d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20; 24 bytes. */
      uint8_t hdr[24] = {0};
      uint64_t next = idx + 1, ino = dotdot ? 0 : d->d_ino;
      for (int i = 0; i < 8; i++) {
        hdr[i] = (uint8_t)(next >> (8 * i));
        hdr[8 + i] = (uint8_t)(ino >> (8 * i));
      }
      for (int i = 0; i < 4; i++)
        hdr[16 + i] = (uint8_t)((uint32_t)namlen >> (8 * i));
      hdr[20] = type;
      if (put_bytes(buf, len, used, hdr, sizeof hdr) &&
          put_bytes(buf, len, used, d->d_name, namlen)) {
        f->dir_next = next; /* complete: the next call likely starts after it */
        f->dir_off = d->d_off;
      }
    }
  }
  return WASI_ESUCCESS;
}

/* Open fds that are not preopens answer EBADF too: wasi-libc walks fds from 3 until EBADF. */
wasi_errno wasi_host_fd_prestat(struct wasi_fdtable *t, uint32_t fd, const char **name,
                                size_t *len) {
  struct wasi_fd *f;
  wasi_errno e = wasi_fd_get(t, fd, 0, &f);
  if (e) return e;
  if (!f->preopen) return WASI_EBADF;
  *name = f->preopen;
  *len = strlen(f->preopen);
  return WASI_ESUCCESS;
}

/* ---- clocks, random, scheduling ------------------------------------------------------- */

/* clang-format off */
int wasi_host_clock(uint32_t clock, clockid_t *out) {
  switch (clock) {
  case WASI_CLOCK_REALTIME: *out = CLOCK_REALTIME; return 0;
  case WASI_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return 0;
  case WASI_CLOCK_PROCESS_CPUTIME: *out = CLOCK_PROCESS_CPUTIME_ID; return 0;
  case WASI_CLOCK_THREAD_CPUTIME: *out = CLOCK_THREAD_CPUTIME_ID; return 0;
  default: return -1;
  }
}
/* clang-format on */

uint64_t wasi_ts_ns(const struct timespec *ts) {
  if (ts->tv_sec < 0) return 0; /* a time before 1970: WASI time is unsigned */
  if ((uint64_t)ts->tv_sec > UINT64_MAX / 1000000000u - 1) return UINT64_MAX;
  return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

wasi_errno wasi_host_clock_res_get(uint32_t clock, uint64_t *res) {
  clockid_t id;
  struct timespec ts;
  if (wasi_host_clock(clock, &id) < 0) return WASI_EINVAL;
  if (clock_getres(id, &ts) < 0) return wasi_errno_from_host(errno);
  *res = wasi_ts_ns(&ts);
  return WASI_ESUCCESS;
}

/* `precision` is a hint the host may ignore; Linux clocks are read at full resolution anyway. */
wasi_errno wasi_host_clock_time_get(uint32_t clock, uint64_t precision, uint64_t *now) {
  clockid_t id;
  struct timespec ts;
  (void)precision;
  if (wasi_host_clock(clock, &id) < 0) return WASI_EINVAL;
  if (clock_gettime(id, &ts) < 0) return wasi_errno_from_host(errno);
  *now = wasi_ts_ns(&ts);
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_random_get(uint8_t *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = getrandom(buf + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return wasi_errno_from_host(errno);
    }
    done += (size_t)n;
  }
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_sched_yield(void) {
  sched_yield();
  return WASI_ESUCCESS;
}
