/* The WASI host layer: one instance's virtual fd table and the host calls behind each WASI
 * function, split by concept: wasi_host.c (the table, fd_* calls, clocks, random), wasi_path.c
 * (path_* and the sandbox: every guest path resolves beneath its directory fd), wasi_poll.c
 * (poll_oneoff and the bounded waits of blocking calls), wasi_sock.c (sock_*).
 *
 * Promise: a guest fd is an index into `struct wasi_fdtable`, checked on every call, and the
 * rights recorded with it are checked before any host call (missing right: ENOTCAPABLE). A
 * guest path never reaches a host call except through openat2(2) with RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS from the directory fd it names, or as a single component (no '/', not
 * "." or "..") under a directory fd that was resolved that way. Every function answers with a
 * WASI errno (never a host errno).
 * Assumes: it never sees linear memory. The guest-facing layer (wasi.c) has already checked
 * every guest pointer and length and hands over host buffers and NUL-terminated paths.
 */
#ifndef ISOLA_WASI_HOST_H
#define ISOLA_WASI_HOST_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
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
/* Not WASI errnos: a blocking call gave up because the run must stop. The guest-facing layer
 * turns these into traps (IW_TRAP_DEADLINE, IW_TRAP_INTERRUPTED); the guest never sees them. */
enum { WASI_XDEADLINE = 0x1000, WASI_XINTERRUPTED = 0x1001 };

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
#define WASI_FDFLAGS_ALL 0x1fu

/* witx `lookupflags`, `oflags`, `fstflags`, `advice` */
enum { WASI_LOOKUP_SYMLINK_FOLLOW = 1 };
enum { WASI_O_CREAT = 1, WASI_O_DIRECTORY = 2, WASI_O_EXCL = 4, WASI_O_TRUNC = 8 };
enum { WASI_FST_ATIM = 1, WASI_FST_ATIM_NOW = 2, WASI_FST_MTIM = 4, WASI_FST_MTIM_NOW = 8 };
enum {
  WASI_ADVICE_NORMAL = 0, WASI_ADVICE_SEQUENTIAL = 1, WASI_ADVICE_RANDOM = 2,
  WASI_ADVICE_WILLNEED = 3, WASI_ADVICE_DONTNEED = 4, WASI_ADVICE_NOREUSE = 5,
};

/* witx `whence` */
enum { WASI_WHENCE_SET = 0, WASI_WHENCE_CUR = 1, WASI_WHENCE_END = 2 };

/* witx `clockid` */
enum {
  WASI_CLOCK_REALTIME = 0, WASI_CLOCK_MONOTONIC = 1, WASI_CLOCK_PROCESS_CPUTIME = 2,
  WASI_CLOCK_THREAD_CPUTIME = 3,
};

/* witx `eventtype`, `subclockflags`, `eventrwflags` */
enum { WASI_EVENTTYPE_CLOCK = 0, WASI_EVENTTYPE_FD_READ = 1, WASI_EVENTTYPE_FD_WRITE = 2 };
enum { WASI_SUBCLOCK_ABSTIME = 1 };
enum { WASI_EVENT_FD_READWRITE_HANGUP = 1 };

/* witx `sdflags`, `riflags`, `roflags`, `siflags` (none) */
enum { WASI_SHUT_RD = 1, WASI_SHUT_WR = 2 };
enum { WASI_RECV_PEEK = 1, WASI_RECV_WAITALL = 2 };
enum { WASI_RECV_DATA_TRUNCATED = 1 };

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
/* Everything that changes the filesystem: a read-only directory (and what is opened through
 * it) has none of these. Link and rename sources are in: a hard link or a rename out of a
 * read-only directory into a writable one would make its file writable. */
#define WASI_RIGHTS_MUTATE                                                                   \
  (WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ALLOCATE |                   \
   WASI_RIGHT_PATH_CREATE_DIRECTORY | WASI_RIGHT_PATH_CREATE_FILE |                          \
   WASI_RIGHT_PATH_LINK_SOURCE | WASI_RIGHT_PATH_LINK_TARGET |                               \
   WASI_RIGHT_PATH_RENAME_SOURCE | WASI_RIGHT_PATH_RENAME_TARGET |                           \
   WASI_RIGHT_PATH_FILESTAT_SET_SIZE | WASI_RIGHT_PATH_FILESTAT_SET_TIMES |                  \
   WASI_RIGHT_FD_FILESTAT_SET_SIZE | WASI_RIGHT_FD_FILESTAT_SET_TIMES |                      \
   WASI_RIGHT_PATH_SYMLINK | WASI_RIGHT_PATH_REMOVE_DIRECTORY | WASI_RIGHT_PATH_UNLINK_FILE)
/* A character device (a terminal, /dev/null): no seek or tell, so that wasi-libc's isatty()
 * ("a character device without seek and tell rights") is right about terminals. */
#define WASI_RIGHTS_CHAR                                                                     \
  (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_FDSTAT_SET_FLAGS |               \
   WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_POLL_FD_READWRITE)
/* A connected stream socket, and a listening one. */
#define WASI_RIGHTS_SOCK                                                                     \
  (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_FDSTAT_SET_FLAGS |               \
   WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_POLL_FD_READWRITE | WASI_RIGHT_SOCK_SHUTDOWN)
#define WASI_RIGHTS_LISTEN                                                                   \
  (WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_FILESTAT_GET |                             \
   WASI_RIGHT_POLL_FD_READWRITE | WASI_RIGHT_SOCK_ACCEPT)

/* clang-format on */

/* Caps on what a guest can make the host hold. */
#define WASI_MAX_FDS 4096u     /* guest fds per instance */
#define WASI_IOV_MAX 1024u     /* iovecs per read / write call, as Linux's IOV_MAX */
#define WASI_MAX_SUBS 4096u    /* poll_oneoff subscriptions per call */
#define WASI_PATH_MAX 4096u    /* bytes in a guest path, its NUL included (PATH_MAX) */

/* One guest fd. A free slot has host == -1. */
struct wasi_fd {
  int host;            /* the host fd */
  bool owned;          /* closed by fd_close / free; false for the embedder's stdio */
  uint8_t filetype;    /* WASI_FILETYPE_* */
  uint64_t rights;     /* what this fd may do */
  uint64_t inheriting; /* what fds opened through it may do */
  char *preopen;       /* the guest's name for a preopened directory, else NULL */
  /* The preopened directory this fd was opened beneath (dev, ino): the top that a symlink
   * created beneath it must not point above. */
  dev_t root_dev;
  ino_t root_ino;
  /* fd_readdir: entry number `dir_next` starts at host directory offset `dir_off` (where the
   * last call stopped), so that reading a directory in order does not rescan it. */
  uint64_t dir_next;
  int64_t dir_off;
};

/* What a blocking call must respect: the run's CLOCK_MONOTONIC deadline (0: none), and a flag
 * set by iw_store_interrupt() from a signal handler (may be NULL). */
struct wasi_wait {
  uint64_t deadline_ns;
  volatile sig_atomic_t *interrupted;
};

struct wasi_fdtable {
  struct wasi_fd *fds;
  uint32_t n;    /* slots in use or freed: guest fds are 0 .. n-1 */
  uint32_t cap;  /* slots allocated */
  struct wasi_wait wait; /* set by the guest-facing layer before each call */
};

/* witx `fdstat` */
struct wasi_fdstat {
  uint8_t filetype;
  uint16_t flags;
  uint64_t rights, inheriting;
};

/* witx `filestat` */
struct wasi_filestat {
  uint64_t dev, ino;
  uint8_t filetype;
  uint64_t nlink, size, atim, mtim, ctim;
};

/* witx `subscription` (clock or fd_read / fd_write), decoded */
struct wasi_subscription {
  uint64_t userdata;
  uint8_t type; /* WASI_EVENTTYPE_* */
  uint32_t clock_id;
  uint64_t timeout, precision;
  uint16_t clock_flags;
  uint32_t fd;
};

/* witx `event`, to encode */
struct wasi_event {
  uint64_t userdata;
  uint16_t error;
  uint8_t type;
  uint64_t nbytes;
  uint16_t flags;
};

/* ---- the fd table (wasi_host.c) ---------------------------------------------------------- */

/* Fills guest fds 0..2 from config's stdio fds, 3.. from its dirs (opened O_DIRECTORY) and then
 * its listening sockets (duplicated). On failure the table is left empty and `err` says which
 * entry failed. */
int wasi_fdtable_init(struct wasi_fdtable *t, const struct iw_wasi_config *config, iw_error *err);
void wasi_fdtable_free(struct wasi_fdtable *t);

/* Finds open guest fd `fd` if it has every right in `need`: EBADF or ENOTCAPABLE if not. The
 * pointer is good until the next wasi_fd_insert(). */
wasi_errno wasi_fd_get(struct wasi_fdtable *t, uint32_t fd, uint64_t need, struct wasi_fd **out);
/* Puts `f` (which owns f->host) in the lowest free slot; closes f->host on failure (EMFILE). */
wasi_errno wasi_fd_insert(struct wasi_fdtable *t, const struct wasi_fd *f, uint32_t *out);
uint8_t wasi_filetype_of(mode_t mode);
void wasi_filestat_of(const struct stat *st, struct wasi_filestat *out);
/* The rights an fd of `filetype` can use at all (a mask for what path_open grants). */
uint64_t wasi_rights_for(uint8_t filetype);

/* ---- fd calls (wasi_host.c) -------------------------------------------------------------- */

wasi_errno wasi_host_fd_write(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                              int iovcnt, size_t *nwritten);
wasi_errno wasi_host_fd_read(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                             int iovcnt, size_t *nread);
wasi_errno wasi_host_fd_pwrite(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                               int iovcnt, uint64_t offset, size_t *nwritten);
wasi_errno wasi_host_fd_pread(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                              int iovcnt, uint64_t offset, size_t *nread);
wasi_errno wasi_host_fd_close(struct wasi_fdtable *t, uint32_t fd);
wasi_errno wasi_host_fd_renumber(struct wasi_fdtable *t, uint32_t from, uint32_t to);
wasi_errno wasi_host_fd_seek(struct wasi_fdtable *t, uint32_t fd, int64_t offset, uint32_t whence,
                             uint64_t *newoffset);
wasi_errno wasi_host_fd_tell(struct wasi_fdtable *t, uint32_t fd, uint64_t *offset);
wasi_errno wasi_host_fd_fdstat_get(struct wasi_fdtable *t, uint32_t fd, struct wasi_fdstat *out);
wasi_errno wasi_host_fd_fdstat_set_flags(struct wasi_fdtable *t, uint32_t fd, uint32_t flags);
wasi_errno wasi_host_fd_fdstat_set_rights(struct wasi_fdtable *t, uint32_t fd, uint64_t rights,
                                          uint64_t inheriting);
wasi_errno wasi_host_fd_filestat_get(struct wasi_fdtable *t, uint32_t fd,
                                     struct wasi_filestat *out);
wasi_errno wasi_host_fd_filestat_set_size(struct wasi_fdtable *t, uint32_t fd, uint64_t size);
wasi_errno wasi_host_fd_filestat_set_times(struct wasi_fdtable *t, uint32_t fd, uint64_t atim,
                                           uint64_t mtim, uint32_t fst_flags);
wasi_errno wasi_host_fd_advise(struct wasi_fdtable *t, uint32_t fd, uint64_t offset, uint64_t len,
                               uint32_t advice);
wasi_errno wasi_host_fd_allocate(struct wasi_fdtable *t, uint32_t fd, uint64_t offset,
                                 uint64_t len);
wasi_errno wasi_host_fd_datasync(struct wasi_fdtable *t, uint32_t fd);
wasi_errno wasi_host_fd_sync(struct wasi_fdtable *t, uint32_t fd);
/* Directory entries from `cookie` on, as witx dirents back to back in buf (the last one cut
 * where the buffer ends); *used < len means the end of the directory was reached. */
wasi_errno wasi_host_fd_readdir(struct wasi_fdtable *t, uint32_t fd, uint8_t *buf, size_t len,
                                uint64_t cookie, size_t *used);
/* The guest name of preopen `fd` (not NUL-terminated on the guest side; `len` bytes). */
wasi_errno wasi_host_fd_prestat(struct wasi_fdtable *t, uint32_t fd, const char **name,
                                size_t *len);
/* The timespec pair utimensat(2) takes for WASI's (atim, mtim, fst_flags); EINVAL for a flag
 * set that asks for both a time and "now" for one of them. */
wasi_errno wasi_times_of(uint64_t atim, uint64_t mtim, uint32_t fst_flags, struct timespec ts[2]);

/* ---- path calls (wasi_path.c) ------------------------------------------------------------ */

wasi_errno wasi_host_path_open(struct wasi_fdtable *t, uint32_t dirfd, uint32_t lookupflags,
                               const char *path, uint32_t oflags, uint64_t rights,
                               uint64_t inheriting, uint32_t fdflags, uint32_t *newfd);
wasi_errno wasi_host_path_create_directory(struct wasi_fdtable *t, uint32_t fd, const char *path);
wasi_errno wasi_host_path_filestat_get(struct wasi_fdtable *t, uint32_t fd, uint32_t lookupflags,
                                       const char *path, struct wasi_filestat *out);
wasi_errno wasi_host_path_filestat_set_times(struct wasi_fdtable *t, uint32_t fd,
                                             uint32_t lookupflags, const char *path,
                                             uint64_t atim, uint64_t mtim, uint32_t fst_flags);
wasi_errno wasi_host_path_link(struct wasi_fdtable *t, uint32_t oldfd, uint32_t oldflags,
                               const char *oldpath, uint32_t newfd, const char *newpath);
wasi_errno wasi_host_path_readlink(struct wasi_fdtable *t, uint32_t fd, const char *path,
                                   char *buf, size_t len, size_t *used);
wasi_errno wasi_host_path_remove_directory(struct wasi_fdtable *t, uint32_t fd, const char *path);
wasi_errno wasi_host_path_rename(struct wasi_fdtable *t, uint32_t fd, const char *oldpath,
                                 uint32_t newfd, const char *newpath);
wasi_errno wasi_host_path_symlink(struct wasi_fdtable *t, const char *target, uint32_t fd,
                                  const char *path);
wasi_errno wasi_host_path_unlink_file(struct wasi_fdtable *t, uint32_t fd, const char *path);

/* ---- waiting (wasi_poll.c) ------------------------------------------------------------- */

/* Fills events[] (room for n) for the subscriptions that are ready, blocking until one is.
 * n == 0 is EINVAL. */
wasi_errno wasi_host_poll_oneoff(struct wasi_fdtable *t, const struct wasi_subscription *subs,
                                 uint32_t n, struct wasi_event *events, uint32_t *nevents);
/* Before a call that may block on `f` (a pipe, socket or terminal): waits for `events` (POLLIN
 * / POLLOUT) while honouring t->wait, so that the call cannot sleep past the deadline. Returns
 * 0 at once for files and directories and for O_NONBLOCK fds, which never block. */
wasi_errno wasi_wait_ready(struct wasi_fdtable *t, const struct wasi_fd *f, short events);
/* After EINTR: WASI_XINTERRUPTED when the run was interrupted, else 0 (retry). */
wasi_errno wasi_after_eintr(struct wasi_fdtable *t);

/* ---- sockets (wasi_sock.c) ------------------------------------------------------------- */

wasi_errno wasi_host_sock_accept(struct wasi_fdtable *t, uint32_t fd, uint32_t flags,
                                 uint32_t *newfd);
wasi_errno wasi_host_sock_recv(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                               int iovcnt, uint32_t riflags, size_t *nread, uint16_t *roflags);
wasi_errno wasi_host_sock_send(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                               int iovcnt, uint32_t siflags, size_t *nwritten);
wasi_errno wasi_host_sock_shutdown(struct wasi_fdtable *t, uint32_t fd, uint32_t how);

/* ---- clocks, random, scheduling (wasi_host.c) ------------------------------------------ */

wasi_errno wasi_host_clock_res_get(uint32_t clock, uint64_t *res);
wasi_errno wasi_host_clock_time_get(uint32_t clock, uint64_t precision, uint64_t *now);
wasi_errno wasi_host_random_get(uint8_t *buf, size_t len);
wasi_errno wasi_host_sched_yield(void);
/* The host clock behind a WASI clock id; -1 for an unknown id. */
int wasi_host_clock(uint32_t clock, clockid_t *out);
uint64_t wasi_ts_ns(const struct timespec *ts);

/* The WASI errno for a host errno (EIO for one WASI has no name for). */
wasi_errno wasi_errno_from_host(int host_errno);

/* Fills every field of `err` (func_index and offset -1) and returns -1. */
int wasi_fail(iw_error *err, iw_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
