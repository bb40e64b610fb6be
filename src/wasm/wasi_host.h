/* The WASI host layer: one instance's virtual fd table and the host calls behind each WASI
 * function.
 *
 * Promise: a guest fd is an index into `struct wasi_fdtable`, checked on every call, and the
 * rights recorded with it are checked before any host call (missing right: ENOTCAPABLE). Every
 * function answers with a WASI errno (never a host errno).
 * Assumes: it never sees linear memory. The guest-facing layer (wasi.c) has already checked
 * every guest pointer and length and hands over host buffers.
 */
#ifndef ISOLA_WASI_HOST_H
#define ISOLA_WASI_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "isola/wasi.h"

/* clang-format off */
/* WASI preview 1 errno values (witx `errno`, u16). */
typedef uint16_t wasi_errno;
enum {
  WASI_ESUCCESS = 0, WASI_E2BIG = 1, WASI_EACCES = 2, WASI_EADDRINUSE = 3,
  WASI_EADDRNOTAVAIL = 4, WASI_EAFNOSUPPORT = 5, WASI_EAGAIN = 6, WASI_EALREADY = 7,
  WASI_EBADF = 8, WASI_EBADMSG = 9, WASI_EBUSY = 10, WASI_ECANCELED = 11, WASI_ECHILD = 12,
  WASI_ECONNABORTED = 13, WASI_ECONNREFUSED = 14, WASI_ECONNRESET = 15, WASI_EDEADLK = 16,
  WASI_EDESTADDRREQ = 17, WASI_EDOM = 18, WASI_EDQUOT = 19, WASI_EEXIST = 20, WASI_EFAULT = 21,
  WASI_EFBIG = 22, WASI_EHOSTUNREACH = 23, WASI_EIDRM = 24, WASI_EILSEQ = 25,
  WASI_EINPROGRESS = 26, WASI_EINTR = 27, WASI_EINVAL = 28, WASI_EIO = 29, WASI_EISCONN = 30,
  WASI_EISDIR = 31, WASI_ELOOP = 32, WASI_EMFILE = 33, WASI_EMLINK = 34, WASI_EMSGSIZE = 35,
  WASI_EMULTIHOP = 36, WASI_ENAMETOOLONG = 37, WASI_ENETDOWN = 38, WASI_ENETRESET = 39,
  WASI_ENETUNREACH = 40, WASI_ENFILE = 41, WASI_ENOBUFS = 42, WASI_ENODEV = 43, WASI_ENOENT = 44,
  WASI_ENOEXEC = 45, WASI_ENOLCK = 46, WASI_ENOLINK = 47, WASI_ENOMEM = 48, WASI_ENOMSG = 49,
  WASI_ENOPROTOOPT = 50, WASI_ENOSPC = 51, WASI_ENOSYS = 52, WASI_ENOTCONN = 53,
  WASI_ENOTDIR = 54, WASI_ENOTEMPTY = 55, WASI_ENOTRECOVERABLE = 56, WASI_ENOTSOCK = 57,
  WASI_ENOTSUP = 58, WASI_ENOTTY = 59, WASI_ENXIO = 60, WASI_EOVERFLOW = 61,
  WASI_EOWNERDEAD = 62, WASI_EPERM = 63, WASI_EPIPE = 64, WASI_EPROTO = 65,
  WASI_EPROTONOSUPPORT = 66, WASI_EPROTOTYPE = 67, WASI_ERANGE = 68, WASI_EROFS = 69,
  WASI_ESPIPE = 70, WASI_ESRCH = 71, WASI_ESTALE = 72, WASI_ETIMEDOUT = 73, WASI_ETXTBSY = 74,
  WASI_EXDEV = 75, WASI_ENOTCAPABLE = 76,
};

/* witx `filetype` */
enum {
  WASI_FILETYPE_UNKNOWN = 0, WASI_FILETYPE_BLOCK_DEVICE = 1, WASI_FILETYPE_CHARACTER_DEVICE = 2,
  WASI_FILETYPE_DIRECTORY = 3, WASI_FILETYPE_REGULAR_FILE = 4, WASI_FILETYPE_SOCKET_DGRAM = 5,
  WASI_FILETYPE_SOCKET_STREAM = 6, WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

/* witx `fdflags` */
enum {
  WASI_FDFLAG_APPEND = 1 << 0, WASI_FDFLAG_DSYNC = 1 << 1, WASI_FDFLAG_NONBLOCK = 1 << 2,
  WASI_FDFLAG_RSYNC = 1 << 3, WASI_FDFLAG_SYNC = 1 << 4,
};

/* witx `whence` */
enum { WASI_WHENCE_SET = 0, WASI_WHENCE_CUR = 1, WASI_WHENCE_END = 2 };

/* witx `clockid` */
enum {
  WASI_CLOCK_REALTIME = 0, WASI_CLOCK_MONOTONIC = 1, WASI_CLOCK_PROCESS_CPUTIME = 2,
  WASI_CLOCK_THREAD_CPUTIME = 3,
};

/* witx `rights` (u64 bit set) */
#define WASI_RIGHT_FD_DATASYNC (UINT64_C(1) << 0)
#define WASI_RIGHT_FD_READ (UINT64_C(1) << 1)
#define WASI_RIGHT_FD_SEEK (UINT64_C(1) << 2)
#define WASI_RIGHT_FD_FDSTAT_SET_FLAGS (UINT64_C(1) << 3)
#define WASI_RIGHT_FD_SYNC (UINT64_C(1) << 4)
#define WASI_RIGHT_FD_TELL (UINT64_C(1) << 5)
#define WASI_RIGHT_FD_WRITE (UINT64_C(1) << 6)
#define WASI_RIGHT_FD_ADVISE (UINT64_C(1) << 7)
#define WASI_RIGHT_FD_ALLOCATE (UINT64_C(1) << 8)
#define WASI_RIGHT_PATH_CREATE_DIRECTORY (UINT64_C(1) << 9)
#define WASI_RIGHT_PATH_CREATE_FILE (UINT64_C(1) << 10)
#define WASI_RIGHT_PATH_LINK_SOURCE (UINT64_C(1) << 11)
#define WASI_RIGHT_PATH_LINK_TARGET (UINT64_C(1) << 12)
#define WASI_RIGHT_PATH_OPEN (UINT64_C(1) << 13)
#define WASI_RIGHT_FD_READDIR (UINT64_C(1) << 14)
#define WASI_RIGHT_PATH_READLINK (UINT64_C(1) << 15)
#define WASI_RIGHT_PATH_RENAME_SOURCE (UINT64_C(1) << 16)
#define WASI_RIGHT_PATH_RENAME_TARGET (UINT64_C(1) << 17)
#define WASI_RIGHT_PATH_FILESTAT_GET (UINT64_C(1) << 18)
#define WASI_RIGHT_PATH_FILESTAT_SET_SIZE (UINT64_C(1) << 19)
#define WASI_RIGHT_PATH_FILESTAT_SET_TIMES (UINT64_C(1) << 20)
#define WASI_RIGHT_FD_FILESTAT_GET (UINT64_C(1) << 21)
#define WASI_RIGHT_FD_FILESTAT_SET_SIZE (UINT64_C(1) << 22)
#define WASI_RIGHT_FD_FILESTAT_SET_TIMES (UINT64_C(1) << 23)
#define WASI_RIGHT_PATH_SYMLINK (UINT64_C(1) << 24)
#define WASI_RIGHT_PATH_REMOVE_DIRECTORY (UINT64_C(1) << 25)
#define WASI_RIGHT_PATH_UNLINK_FILE (UINT64_C(1) << 26)
#define WASI_RIGHT_POLL_FD_READWRITE (UINT64_C(1) << 27)
#define WASI_RIGHT_SOCK_SHUTDOWN (UINT64_C(1) << 28)
#define WASI_RIGHT_SOCK_ACCEPT (UINT64_C(1) << 29)
#define WASI_RIGHTS_ALL ((UINT64_C(1) << 30) - 1)

/* What a regular file may be asked to do, and a directory. */
#define WASI_RIGHTS_FILE                                                                     \
  (WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK |                        \
   WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_TELL |                \
   WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ADVISE | WASI_RIGHT_FD_ALLOCATE |                     \
   WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_SIZE |                            \
   WASI_RIGHT_FD_FILESTAT_SET_TIMES | WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_DIR                                                                      \
  (WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_ADVISE |              \
   WASI_RIGHT_PATH_CREATE_DIRECTORY | WASI_RIGHT_PATH_CREATE_FILE |                          \
   WASI_RIGHT_PATH_LINK_SOURCE | WASI_RIGHT_PATH_LINK_TARGET | WASI_RIGHT_PATH_OPEN |        \
   WASI_RIGHT_FD_READDIR | WASI_RIGHT_PATH_READLINK | WASI_RIGHT_PATH_RENAME_SOURCE |        \
   WASI_RIGHT_PATH_RENAME_TARGET | WASI_RIGHT_PATH_FILESTAT_GET |                            \
   WASI_RIGHT_PATH_FILESTAT_SET_SIZE | WASI_RIGHT_PATH_FILESTAT_SET_TIMES |                  \
   WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_TIMES | WASI_RIGHT_PATH_SYMLINK |  \
   WASI_RIGHT_PATH_REMOVE_DIRECTORY | WASI_RIGHT_PATH_UNLINK_FILE)

/* clang-format on */

/* Caps on what a guest can make the host hold. */
#define WASI_MAX_FDS 4096u /* guest fds per instance */
#define WASI_IOV_MAX 1024u /* iovecs per fd_read / fd_write, as Linux's IOV_MAX */

/* One guest fd. A free slot has host == -1. */
struct wasi_fd {
  int host;            /* the host fd */
  bool owned;          /* closed by fd_close / free; false for the embedder's stdio */
  uint8_t filetype;    /* WASI_FILETYPE_* */
  uint64_t rights;     /* what this fd may do */
  uint64_t inheriting; /* what fds opened through it may do */
  char *preopen;       /* the guest's name for a preopened directory, else NULL */
};

struct wasi_fdtable {
  struct wasi_fd *fds;
  uint32_t n; /* slots in use or freed: guest fds are 0 .. n-1 */
};

/* witx `fdstat` */
struct wasi_fdstat {
  uint8_t filetype;
  uint16_t flags;
  uint64_t rights, inheriting;
};

/* Fills guest fds 0..2 from config's stdio fds and 3.. from its dirs (opened O_PATH). On
 * failure the table is left empty and `err` says which preopen failed. */
int wasi_fdtable_init(struct wasi_fdtable *t, const struct iw_wasi_config *config, iw_error *err);
void wasi_fdtable_free(struct wasi_fdtable *t);

wasi_errno wasi_host_fd_write(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                              int iovcnt, size_t *nwritten);
wasi_errno wasi_host_fd_read(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                             int iovcnt, size_t *nread);
wasi_errno wasi_host_fd_close(struct wasi_fdtable *t, uint32_t fd);
wasi_errno wasi_host_fd_seek(struct wasi_fdtable *t, uint32_t fd, int64_t offset, uint32_t whence,
                             uint64_t *newoffset);
wasi_errno wasi_host_fd_fdstat_get(struct wasi_fdtable *t, uint32_t fd, struct wasi_fdstat *out);
/* The guest name of preopen `fd` (not NUL-terminated on the guest side; `len` bytes). */
wasi_errno wasi_host_fd_prestat(struct wasi_fdtable *t, uint32_t fd, const char **name,
                                size_t *len);

wasi_errno wasi_host_clock_res_get(uint32_t clock, uint64_t *res);
wasi_errno wasi_host_clock_time_get(uint32_t clock, uint64_t precision, uint64_t *now);
wasi_errno wasi_host_random_get(uint8_t *buf, size_t len);
wasi_errno wasi_host_sched_yield(void);

/* The WASI errno for a host errno (EIO for one WASI has no name for). */
wasi_errno wasi_errno_from_host(int host_errno);

/* Fills every field of `err` (func_index and offset -1) and returns -1. */
int wasi_fail(iw_error *err, iw_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
