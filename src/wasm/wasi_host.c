/* The WASI host layer: the virtual fd table and the host calls behind it (see wasi_host.h).
 *
 * Nothing here reads linear memory. A guest fd reaches a host fd only through fd_get(), which
 * checks the index and the rights the call needs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
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
static uint8_t filetype_of(mode_t mode) {
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
/* clang-format on */

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
  t->n = 0;
}

int wasi_fdtable_init(struct wasi_fdtable *t, const struct iw_wasi_config *c, iw_error *err) {
  const int stdio[3] = {c->stdin_fd, c->stdout_fd, c->stderr_fd};

  *t = (struct wasi_fdtable){0};
  if (c->ndirs > WASI_MAX_FDS - 3)
    return wasi_fail(err, IW_ERR_USAGE, "too many preopened directories (%zu, at most %u)",
                     c->ndirs, WASI_MAX_FDS - 3);
  if (c->ndirs && !c->dirs)
    return wasi_fail(err, IW_ERR_USAGE, "%zu preopened directories but no list", c->ndirs);
  t->fds = calloc(3 + c->ndirs, sizeof *t->fds);
  if (!t->fds) return wasi_fail(err, IW_ERR_RESOURCE, "WASI fd table: out of memory");
  t->n = 3 + (uint32_t)c->ndirs;
  for (uint32_t i = 0; i < t->n; i++)
    t->fds[i].host = -1;

  for (int i = 0; i < 3; i++) {
    struct stat st;
    if (stdio[i] < 0 || fstat(stdio[i], &st) < 0) continue; /* guest fd i stays closed */
    uint8_t type = filetype_of(st.st_mode);
    t->fds[i] = (struct wasi_fd){
        .host = stdio[i], .owned = false, .filetype = type, .rights = stdio_rights(i, type)};
  }

  for (size_t j = 0; j < c->ndirs; j++) {
    const struct iw_wasi_dir *d = &c->dirs[j];
    struct wasi_fd *f = &t->fds[3 + j];
    if (!d->host || !d->host[0] || !d->guest || !d->guest[0]) {
      wasi_fdtable_free(t);
      return wasi_fail(err, IW_ERR_USAGE, "preopen %zu: empty host or guest path", j);
    }
    if (strlen(d->guest) >= PATH_MAX) {
      wasi_fdtable_free(t);
      return wasi_fail(err, IW_ERR_USAGE, "preopen `%.64s...`: guest path too long", d->guest);
    }
    f->host = open(d->host, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (f->host < 0) {
      int e = errno;
      wasi_fdtable_free(t);
      return wasi_fail(err, IW_ERR_RESOURCE, "preopen `%s`: %s", d->host, strerror(e));
    }
    f->owned = true;
    f->filetype = WASI_FILETYPE_DIRECTORY;
    f->rights = WASI_RIGHTS_DIR;
    f->inheriting = WASI_RIGHTS_DIR | WASI_RIGHTS_FILE;
    f->preopen = strdup(d->guest);
    if (!f->preopen) {
      wasi_fdtable_free(t);
      return wasi_fail(err, IW_ERR_RESOURCE, "preopen `%s`: out of memory", d->host);
    }
  }
  return 0;
}

/* Finds open guest fd `fd` if it has every right in `need`: EBADF or ENOTCAPABLE if not. */
static wasi_errno fd_get(struct wasi_fdtable *t, uint32_t fd, uint64_t need, struct wasi_fd **out) {
  if (fd >= t->n || t->fds[fd].host < 0) return WASI_EBADF;
  if ((t->fds[fd].rights & need) != need) return WASI_ENOTCAPABLE;
  *out = &t->fds[fd];
  return WASI_ESUCCESS;
}

/* ---- fd calls ------------------------------------------------------------------------- */

wasi_errno wasi_host_fd_write(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                              int iovcnt, size_t *nwritten) {
  struct wasi_fd *f;
  wasi_errno e = fd_get(t, fd, WASI_RIGHT_FD_WRITE, &f);
  if (e) return e;
  ssize_t n;
  do
    n = writev(f->host, iov, iovcnt);
  while (n < 0 && errno == EINTR);
  if (n < 0) return wasi_errno_from_host(errno);
  *nwritten = (size_t)n;
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_read(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                             int iovcnt, size_t *nread) {
  struct wasi_fd *f;
  wasi_errno e = fd_get(t, fd, WASI_RIGHT_FD_READ, &f);
  if (e) return e;
  ssize_t n;
  do
    n = readv(f->host, iov, iovcnt);
  while (n < 0 && errno == EINTR);
  if (n < 0) return wasi_errno_from_host(errno);
  *nread = (size_t)n;
  return WASI_ESUCCESS;
}

/* Closing a lent stdio fd only forgets it; closing a preopen is allowed (wasi-libc never does,
 * but the guest owns its table). */
wasi_errno wasi_host_fd_close(struct wasi_fdtable *t, uint32_t fd) {
  struct wasi_fd *f;
  wasi_errno e = fd_get(t, fd, 0, &f);
  if (e) return e;
  fd_release(f);
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
  wasi_errno e = fd_get(t, fd, 0, &f);
  if (e) return e;
  if (!(f->rights & WASI_RIGHT_FD_SEEK) && !(tell && (f->rights & WASI_RIGHT_FD_TELL)))
    return WASI_ENOTCAPABLE;
  off_t r = lseek(f->host, (off_t)offset, host_whence[whence]);
  if (r < 0) return wasi_errno_from_host(errno);
  *newoffset = (uint64_t)r;
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_fd_fdstat_get(struct wasi_fdtable *t, uint32_t fd, struct wasi_fdstat *out) {
  struct wasi_fd *f;
  wasi_errno e = fd_get(t, fd, 0, &f);
  if (e) return e;
  int fl = fcntl(f->host, F_GETFL);
  if (fl < 0) return wasi_errno_from_host(errno);
  *out = (struct wasi_fdstat){
      .filetype = f->filetype, .rights = f->rights, .inheriting = f->inheriting};
  if (fl & O_APPEND) out->flags |= WASI_FDFLAG_APPEND;
  if (fl & O_NONBLOCK) out->flags |= WASI_FDFLAG_NONBLOCK;
  if ((fl & O_SYNC) == O_SYNC)
    out->flags |= WASI_FDFLAG_SYNC;
  else if (fl & O_DSYNC)
    out->flags |= WASI_FDFLAG_DSYNC;
  return WASI_ESUCCESS;
}

/* Open fds that are not preopens answer EBADF too: wasi-libc walks fds from 3 until EBADF. */
wasi_errno wasi_host_fd_prestat(struct wasi_fdtable *t, uint32_t fd, const char **name,
                                size_t *len) {
  struct wasi_fd *f;
  wasi_errno e = fd_get(t, fd, 0, &f);
  if (e) return e;
  if (!f->preopen) return WASI_EBADF;
  *name = f->preopen;
  *len = strlen(f->preopen);
  return WASI_ESUCCESS;
}

/* ---- clocks, random, scheduling ------------------------------------------------------- */

/* clang-format off */
static int host_clock(uint32_t clock, clockid_t *out) {
  switch (clock) {
  case WASI_CLOCK_REALTIME: *out = CLOCK_REALTIME; return 0;
  case WASI_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return 0;
  case WASI_CLOCK_PROCESS_CPUTIME: *out = CLOCK_PROCESS_CPUTIME_ID; return 0;
  case WASI_CLOCK_THREAD_CPUTIME: *out = CLOCK_THREAD_CPUTIME_ID; return 0;
  default: return -1;
  }
}
/* clang-format on */

static uint64_t ts_ns(const struct timespec *ts) {
  if (ts->tv_sec < 0) return 0; /* a realtime clock set before 1970: WASI time is unsigned */
  return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

wasi_errno wasi_host_clock_res_get(uint32_t clock, uint64_t *res) {
  clockid_t id;
  struct timespec ts;
  if (host_clock(clock, &id) < 0) return WASI_EINVAL;
  if (clock_getres(id, &ts) < 0) return wasi_errno_from_host(errno);
  *res = ts_ns(&ts);
  return WASI_ESUCCESS;
}

/* `precision` is a hint the host may ignore; Linux clocks are read at full resolution anyway. */
wasi_errno wasi_host_clock_time_get(uint32_t clock, uint64_t precision, uint64_t *now) {
  clockid_t id;
  struct timespec ts;
  (void)precision;
  if (host_clock(clock, &id) < 0) return WASI_EINVAL;
  if (clock_gettime(id, &ts) < 0) return wasi_errno_from_host(errno);
  *now = ts_ns(&ts);
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
