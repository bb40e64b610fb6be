/* WASI preview 1, the guest-facing layer: the `wasi_snapshot_preview1` import table, linking,
 * and one thin function per call that checks every guest pointer and length against linear
 * memory, decodes guest structures (iovecs, strings) into host values, calls the host layer
 * (wasi_host.c) and encodes the answer back into guest memory.
 *
 * Guest pointers are never trusted: in_mem() bounds every access with 64-bit arithmetic before
 * the first byte is touched, and an out-of-range pointer is answered with EFAULT (as WAMR
 * does), not a trap. Guest structures are read and written byte by byte in little-endian order,
 * so alignment and host byte order do not matter.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isola/wasi.h"
#include "wasm/module.h" /* the store's deadline and interrupt flag, for blocking calls */
#include "wasm/wasi_host.h"

/* ---- guest memory --------------------------------------------------------------------- */

struct gmem {
  uint8_t *base;
  uint64_t size; /* bytes; at most 4 GiB, so ptr + len never wraps in 64 bits */
};

static int gmem_of(iw_caller *caller, const char *fn, struct gmem *m, iw_error *err) {
  iw_memory *mem = iw_caller_memory(caller);
  if (!mem) return wasi_fail(err, IW_ERR_TRAP, "wasi %s: the calling module has no memory", fn);
  m->base = iw_memory_data(mem);
  m->size = iw_memory_size(mem);
  return 0;
}

/* Whether guest bytes [ptr, ptr + len) are all inside memory. */
static bool in_mem(const struct gmem *m, uint64_t ptr, uint64_t len) {
  return ptr <= m->size && len <= m->size - ptr;
}

static void st16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void st32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static void st64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t ld32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t ld64(const uint8_t *p) {
  return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

/* ---- the instance's state ------------------------------------------------------------- */

/* argv or environ as the guest receives them: the strings back to back, each NUL-terminated. */
struct strblob {
  char *buf;
  uint32_t *offs; /* where each string starts in buf */
  uint32_t count, size;
};

struct wasi_fn;
struct wasi_binding {
  iw_wasi *wasi;
  const struct wasi_fn *fn;
};

/* The env of an ENOSYS stub for a name preview 1 does not define: its result types. */
struct wasi_stub {
  struct wasi_stub *next;
  uint32_t nresults;
  iw_valtype results[];
};

/* An implemented call. `a` holds the arguments as the table's signature says. */
typedef wasi_errno (*wasi_impl)(iw_wasi *w, const struct gmem *m, const iw_val *a);

struct wasi_fn {
  const char *name;
  const char *params, *results; /* 'i' = i32, 'I' = i64 */
  wasi_impl impl; /* NULL: proc_exit and proc_raise, which have their own host functions */
  bool uses_memory;
};

#define WASI_NFNS 46 /* entries in wasi_fns[] */

struct iw_wasi {
  struct wasi_fdtable fds;
  struct strblob args, env;
  uint64_t deadline_ns; /* iw_wasi_set_deadline() */
  bool exited;
  int exit_code;
  struct wasi_binding bind[WASI_NFNS]; /* the env of each table entry's host function */
  struct wasi_stub *stubs;
};

/* ---- the thin layer: one function per call -------------------------------------------- */

/* Every call has the same C signature; most use only part of it. */
#define UNUSED __attribute__((unused))
#define A32(n) (a[n].of.i32)
#define A64(n) (a[n].of.i64)

static wasi_errno strings_sizes(const struct strblob *s, const struct gmem *m, uint32_t countp,
                                uint32_t sizep) {
  if (!in_mem(m, countp, 4) || !in_mem(m, sizep, 4)) return WASI_EFAULT;
  st32(m->base + countp, s->count);
  st32(m->base + sizep, s->size);
  return WASI_ESUCCESS;
}

static wasi_errno strings_get(const struct strblob *s, const struct gmem *m, uint32_t ptrs,
                              uint32_t buf) {
  if (!in_mem(m, ptrs, (uint64_t)s->count * 4) || !in_mem(m, buf, s->size)) return WASI_EFAULT;
  for (uint32_t i = 0; i < s->count; i++)
    st32(m->base + ptrs + 4 * (uint64_t)i, buf + s->offs[i]); /* fits: buf + size <= 4 GiB */
  if (s->size) memcpy(m->base + buf, s->buf, s->size);
  return WASI_ESUCCESS;
}

static wasi_errno args_sizes_get(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  return strings_sizes(&w->args, m, A32(0), A32(1));
}
static wasi_errno args_get(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  return strings_get(&w->args, m, A32(0), A32(1));
}
static wasi_errno environ_sizes_get(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  return strings_sizes(&w->env, m, A32(0), A32(1));
}
static wasi_errno environ_get(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  return strings_get(&w->env, m, A32(0), A32(1));
}

/* An iovec array ({u32 buf, u32 len} each) into host iovecs. The total is kept below 2 GiB so
 * the byte count always fits the guest's u32 (iovecs may overlap, so a guest could otherwise
 * name far more bytes than its memory holds). */
static wasi_errno giovs(const struct gmem *m, uint32_t iovs, uint32_t niov, struct iovec *iov) {
  uint64_t total = 0;
  if (niov > WASI_IOV_MAX) return WASI_EINVAL;
  if (!in_mem(m, iovs, (uint64_t)niov * 8)) return WASI_EFAULT;
  for (uint32_t i = 0; i < niov; i++) {
    const uint8_t *g = m->base + iovs + 8 * (uint64_t)i;
    uint32_t buf = ld32(g), len = ld32(g + 4);
    if (!in_mem(m, buf, len)) return WASI_EFAULT;
    if (len > INT32_MAX - total) len = (uint32_t)(INT32_MAX - total);
    total += len;
    iov[i] = (struct iovec){.iov_base = m->base + buf, .iov_len = len};
  }
  return WASI_ESUCCESS;
}

/* A guest path (ptr, len) as a NUL-terminated host string in `out` (WASI_PATH_MAX bytes). A
 * NUL inside it is EINVAL (as wasmtime answers on unix), a path of PATH_MAX bytes or more
 * ENAMETOOLONG. */
static wasi_errno gpath(const struct gmem *m, uint32_t ptr, uint32_t len, char *out) {
  if (!in_mem(m, ptr, len)) return WASI_EFAULT;
  if (len >= WASI_PATH_MAX) return WASI_ENAMETOOLONG;
  if (len && memchr(m->base + ptr, '\0', len)) return WASI_EINVAL;
  memcpy(out, m->base + ptr, len);
  out[len] = '\0';
  return WASI_ESUCCESS;
}

/* fd_read / fd_write / fd_pread / fd_pwrite: (fd, iovs, iovs_len, [offset,] nbytes_ptr) */
static wasi_errno fd_rw(iw_wasi *w, const struct gmem *m, const iw_val *a, bool write,
                        bool positioned) {
  uint32_t fd = A32(0), outp = positioned ? A32(4) : A32(3);
  struct iovec iov[WASI_IOV_MAX];
  size_t done = 0;
  wasi_errno e = giovs(m, A32(1), A32(2), iov);
  if (e) return e;
  if (!in_mem(m, outp, 4)) return WASI_EFAULT;
  int n = (int)A32(2);
  if (positioned)
    e = write ? wasi_host_fd_pwrite(&w->fds, fd, iov, n, A64(3), &done)
              : wasi_host_fd_pread(&w->fds, fd, iov, n, A64(3), &done);
  else
    e = write ? wasi_host_fd_write(&w->fds, fd, iov, n, &done)
              : wasi_host_fd_read(&w->fds, fd, iov, n, &done);
  if (e == WASI_ESUCCESS) st32(m->base + outp, (uint32_t)done);
  return e;
}

static wasi_errno fd_write(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  return fd_rw(w, m, a, true, false);
}
static wasi_errno fd_read(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  return fd_rw(w, m, a, false, false);
}
static wasi_errno fd_pwrite(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  return fd_rw(w, m, a, true, true);
}
static wasi_errno fd_pread(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  return fd_rw(w, m, a, false, true);
}

static wasi_errno fd_close(iw_wasi *w, UNUSED const struct gmem *m, const iw_val *a) {
  return wasi_host_fd_close(&w->fds, A32(0));
}

static wasi_errno fd_renumber(iw_wasi *w, UNUSED const struct gmem *m, const iw_val *a) {
  return wasi_host_fd_renumber(&w->fds, A32(0), A32(1));
}

/* fd_seek(fd, offset: s64, whence: u8, newoffset_ptr) */
static wasi_errno fd_seek(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  uint64_t off = 0;
  if (!in_mem(m, A32(3), 8)) return WASI_EFAULT;
  wasi_errno e = wasi_host_fd_seek(&w->fds, A32(0), (int64_t)A64(1), A32(2), &off);
  if (e == WASI_ESUCCESS) st64(m->base + A32(3), off);
  return e;
}

static wasi_errno fd_tell(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  uint64_t off = 0;
  if (!in_mem(m, A32(1), 8)) return WASI_EFAULT;
  wasi_errno e = wasi_host_fd_tell(&w->fds, A32(0), &off);
  if (e == WASI_ESUCCESS) st64(m->base + A32(1), off);
  return e;
}

/* fdstat: u8 filetype @0, u16 flags @2, u64 rights_base @8, u64 rights_inheriting @16 */
static wasi_errno fd_fdstat_get(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  struct wasi_fdstat st;
  if (!in_mem(m, A32(1), 24)) return WASI_EFAULT;
  wasi_errno e = wasi_host_fd_fdstat_get(&w->fds, A32(0), &st);
  if (e != WASI_ESUCCESS) return e;
  uint8_t *p = m->base + A32(1);
  memset(p, 0, 24);
  p[0] = st.filetype;
  st16(p + 2, st.flags);
  st64(p + 8, st.rights);
  st64(p + 16, st.inheriting);
  return WASI_ESUCCESS;
}

static wasi_errno fd_fdstat_set_flags(iw_wasi *w, UNUSED const struct gmem *m, const iw_val *a) {
  return wasi_host_fd_fdstat_set_flags(&w->fds, A32(0), A32(1));
}

static wasi_errno fd_fdstat_set_rights(iw_wasi *w, UNUSED const struct gmem *m, const iw_val *a) {
  return wasi_host_fd_fdstat_set_rights(&w->fds, A32(0), A64(1), A64(2));
}

/* filestat: dev @0, ino @8, u8 filetype @16, nlink @24, size @32, atim @40, mtim @48, ctim @56 */
static void put_filestat(uint8_t *p, const struct wasi_filestat *st) {
  memset(p, 0, 64);
  st64(p, st->dev);
  st64(p + 8, st->ino);
  p[16] = st->filetype;
  st64(p + 24, st->nlink);
  st64(p + 32, st->size);
  st64(p + 40, st->atim);
  st64(p + 48, st->mtim);
  st64(p + 56, st->ctim);
}

static wasi_errno fd_filestat_get(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  struct wasi_filestat st;
  if (!in_mem(m, A32(1), 64)) return WASI_EFAULT;
  wasi_errno e = wasi_host_fd_filestat_get(&w->fds, A32(0), &st);
  if (e == WASI_ESUCCESS) put_filestat(m->base + A32(1), &st);
  return e;
}

static wasi_errno fd_filestat_set_size(iw_wasi *w, UNUSED const struct gmem *m, const iw_val *a) {
  return wasi_host_fd_filestat_set_size(&w->fds, A32(0), A64(1));
}

static wasi_errno fd_filestat_set_times(iw_wasi *w, UNUSED const struct gmem *m,
                                        const iw_val *a) {
  return wasi_host_fd_filestat_set_times(&w->fds, A32(0), A64(1), A64(2), A32(3));
}

static wasi_errno fd_advise(iw_wasi *w, UNUSED const struct gmem *m, const iw_val *a) {
  return wasi_host_fd_advise(&w->fds, A32(0), A64(1), A64(2), A32(3));
}

static wasi_errno fd_allocate(iw_wasi *w, UNUSED const struct gmem *m, const iw_val *a) {
  return wasi_host_fd_allocate(&w->fds, A32(0), A64(1), A64(2));
}

static wasi_errno fd_datasync(iw_wasi *w, UNUSED const struct gmem *m, const iw_val *a) {
  return wasi_host_fd_datasync(&w->fds, A32(0));
}

static wasi_errno fd_sync(iw_wasi *w, UNUSED const struct gmem *m, const iw_val *a) {
  return wasi_host_fd_sync(&w->fds, A32(0));
}

/* fd_readdir(fd, buf, buf_len, cookie, bufused_ptr) */
static wasi_errno fd_readdir(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  size_t used = 0;
  if (!in_mem(m, A32(1), A32(2)) || !in_mem(m, A32(4), 4)) return WASI_EFAULT;
  wasi_errno e = wasi_host_fd_readdir(&w->fds, A32(0), m->base + A32(1), A32(2), A64(3), &used);
  if (e == WASI_ESUCCESS) st32(m->base + A32(4), (uint32_t)used);
  return e;
}

/* prestat: u8 tag @0 (0 = directory), u32 name length @4 */
static wasi_errno fd_prestat_get(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  const char *name;
  size_t len;
  if (!in_mem(m, A32(1), 8)) return WASI_EFAULT;
  wasi_errno e = wasi_host_fd_prestat(&w->fds, A32(0), &name, &len);
  if (e != WASI_ESUCCESS) return e;
  uint8_t *p = m->base + A32(1);
  memset(p, 0, 8);
  st32(p + 4, (uint32_t)len);
  return WASI_ESUCCESS;
}

/* fd_prestat_dir_name(fd, path, path_len): the name without a NUL, as wasmtime and wasi-libc
 * agree; a buffer shorter than the name is ENAMETOOLONG. */
static wasi_errno fd_prestat_dir_name(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  const char *name;
  size_t len;
  if (!in_mem(m, A32(1), A32(2))) return WASI_EFAULT;
  wasi_errno e = wasi_host_fd_prestat(&w->fds, A32(0), &name, &len);
  if (e != WASI_ESUCCESS) return e;
  if (A32(2) < len) return WASI_ENAMETOOLONG;
  memcpy(m->base + A32(1), name, len);
  return WASI_ESUCCESS;
}

/* ---- path calls ---- */

/* path_open(fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting, fdflags,
 * fd_ptr) */
static wasi_errno path_open(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  char path[WASI_PATH_MAX];
  uint32_t fd;
  wasi_errno e = gpath(m, A32(2), A32(3), path);
  if (e) return e;
  if (!in_mem(m, A32(8), 4)) return WASI_EFAULT;
  e = wasi_host_path_open(&w->fds, A32(0), A32(1), path, A32(4), A64(5), A64(6), A32(7), &fd);
  if (e == WASI_ESUCCESS) st32(m->base + A32(8), fd);
  return e;
}

static wasi_errno path_create_directory(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  char path[WASI_PATH_MAX];
  wasi_errno e = gpath(m, A32(1), A32(2), path);
  return e ? e : wasi_host_path_create_directory(&w->fds, A32(0), path);
}

static wasi_errno path_remove_directory(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  char path[WASI_PATH_MAX];
  wasi_errno e = gpath(m, A32(1), A32(2), path);
  return e ? e : wasi_host_path_remove_directory(&w->fds, A32(0), path);
}

static wasi_errno path_unlink_file(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  char path[WASI_PATH_MAX];
  wasi_errno e = gpath(m, A32(1), A32(2), path);
  return e ? e : wasi_host_path_unlink_file(&w->fds, A32(0), path);
}

/* path_filestat_get(fd, flags, path, path_len, buf) */
static wasi_errno path_filestat_get(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  char path[WASI_PATH_MAX];
  struct wasi_filestat st;
  wasi_errno e = gpath(m, A32(2), A32(3), path);
  if (e) return e;
  if (!in_mem(m, A32(4), 64)) return WASI_EFAULT;
  e = wasi_host_path_filestat_get(&w->fds, A32(0), A32(1), path, &st);
  if (e == WASI_ESUCCESS) put_filestat(m->base + A32(4), &st);
  return e;
}

/* path_filestat_set_times(fd, flags, path, path_len, atim, mtim, fst_flags) */
static wasi_errno path_filestat_set_times(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  char path[WASI_PATH_MAX];
  wasi_errno e = gpath(m, A32(2), A32(3), path);
  return e ? e
           : wasi_host_path_filestat_set_times(&w->fds, A32(0), A32(1), path, A64(4), A64(5),
                                               A32(6));
}

/* path_link(old_fd, old_flags, old_path, old_len, new_fd, new_path, new_len) */
static wasi_errno path_link(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  char from[WASI_PATH_MAX], to[WASI_PATH_MAX];
  wasi_errno e = gpath(m, A32(2), A32(3), from);
  if (e || (e = gpath(m, A32(5), A32(6), to))) return e;
  return wasi_host_path_link(&w->fds, A32(0), A32(1), from, A32(4), to);
}

/* path_rename(fd, old_path, old_len, new_fd, new_path, new_len) */
static wasi_errno path_rename(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  char from[WASI_PATH_MAX], to[WASI_PATH_MAX];
  wasi_errno e = gpath(m, A32(1), A32(2), from);
  if (e || (e = gpath(m, A32(4), A32(5), to))) return e;
  return wasi_host_path_rename(&w->fds, A32(0), from, A32(3), to);
}

/* path_symlink(old_path, old_len, fd, new_path, new_len): old_path is the link's target. */
static wasi_errno path_symlink(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  char target[WASI_PATH_MAX], path[WASI_PATH_MAX];
  wasi_errno e = gpath(m, A32(0), A32(1), target);
  if (e || (e = gpath(m, A32(3), A32(4), path))) return e;
  return wasi_host_path_symlink(&w->fds, target, A32(2), path);
}

/* path_readlink(fd, path, path_len, buf, buf_len, bufused_ptr) */
static wasi_errno path_readlink(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  char path[WASI_PATH_MAX];
  size_t used = 0;
  wasi_errno e = gpath(m, A32(1), A32(2), path);
  if (e) return e;
  if (!in_mem(m, A32(3), A32(4)) || !in_mem(m, A32(5), 4)) return WASI_EFAULT;
  e = wasi_host_path_readlink(&w->fds, A32(0), path, (char *)m->base + A32(3), A32(4), &used);
  if (e == WASI_ESUCCESS) st32(m->base + A32(5), (uint32_t)used);
  return e;
}

/* ---- poll, sockets ---- */

/* poll_oneoff(in, out, nsubscriptions, nevents_ptr). subscription (48 bytes): userdata u64 @0,
 * tag u8 @8; clock: id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40;
 * fd_read / fd_write: fd u32 @16. event (32 bytes): userdata u64 @0, error u16 @8, type u8
 * @10, nbytes u64 @16, flags u16 @24. All subscriptions are decoded before any event is
 * written, so `in` and `out` may overlap. */
static wasi_errno poll_oneoff(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  uint32_t in = A32(0), out = A32(1), n = A32(2), neventsp = A32(3);
  if (n > WASI_MAX_SUBS) return WASI_EINVAL;
  if (!in_mem(m, in, (uint64_t)n * 48) || !in_mem(m, out, (uint64_t)n * 32) ||
      !in_mem(m, neventsp, 4))
    return WASI_EFAULT;
  if (n == 0) return WASI_EINVAL;
  struct wasi_subscription *subs = calloc(n, sizeof *subs);
  struct wasi_event *ev = calloc(n, sizeof *ev);
  wasi_errno e = WASI_ENOMEM;
  uint32_t nev = 0;
  if (!subs || !ev) goto out;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *p = m->base + in + 48 * (uint64_t)i;
    struct wasi_subscription *s = &subs[i];
    s->userdata = ld64(p);
    s->type = p[8];
    if (s->type == WASI_EVENTTYPE_CLOCK) {
      s->clock_id = ld32(p + 16);
      s->timeout = ld64(p + 24);
      s->precision = ld64(p + 32);
      s->clock_flags = (uint16_t)(p[40] | p[41] << 8);
    } else if (s->type == WASI_EVENTTYPE_FD_READ || s->type == WASI_EVENTTYPE_FD_WRITE) {
      s->fd = ld32(p + 16);
    } else {
      e = WASI_EINVAL;
      goto out;
    }
  }
  e = wasi_host_poll_oneoff(&w->fds, subs, n, ev, &nev);
  if (e == WASI_ESUCCESS) {
    for (uint32_t i = 0; i < nev; i++) {
      uint8_t *p = m->base + out + 32 * (uint64_t)i;
      memset(p, 0, 32);
      st64(p, ev[i].userdata);
      st16(p + 8, ev[i].error);
      p[10] = ev[i].type;
      st64(p + 16, ev[i].nbytes);
      st16(p + 24, ev[i].flags);
    }
    st32(m->base + neventsp, nev);
  }
out:
  free(subs);
  free(ev);
  return e;
}

/* sock_accept(fd, flags, fd_ptr) */
static wasi_errno sock_accept(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  uint32_t fd;
  if (!in_mem(m, A32(2), 4)) return WASI_EFAULT;
  wasi_errno e = wasi_host_sock_accept(&w->fds, A32(0), A32(1), &fd);
  if (e == WASI_ESUCCESS) st32(m->base + A32(2), fd);
  return e;
}

/* sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen_ptr, ro_flags_ptr) */
static wasi_errno sock_recv(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  struct iovec iov[WASI_IOV_MAX];
  size_t n = 0;
  uint16_t roflags = 0;
  wasi_errno e = giovs(m, A32(1), A32(2), iov);
  if (e) return e;
  if (!in_mem(m, A32(4), 4) || !in_mem(m, A32(5), 2)) return WASI_EFAULT;
  e = wasi_host_sock_recv(&w->fds, A32(0), iov, (int)A32(2), A32(3), &n, &roflags);
  if (e == WASI_ESUCCESS) {
    st32(m->base + A32(4), (uint32_t)n);
    st16(m->base + A32(5), roflags);
  }
  return e;
}

/* sock_send(fd, si_data, si_data_len, si_flags, so_datalen_ptr) */
static wasi_errno sock_send(iw_wasi *w, const struct gmem *m, const iw_val *a) {
  struct iovec iov[WASI_IOV_MAX];
  size_t n = 0;
  wasi_errno e = giovs(m, A32(1), A32(2), iov);
  if (e) return e;
  if (!in_mem(m, A32(4), 4)) return WASI_EFAULT;
  e = wasi_host_sock_send(&w->fds, A32(0), iov, (int)A32(2), A32(3), &n);
  if (e == WASI_ESUCCESS) st32(m->base + A32(4), (uint32_t)n);
  return e;
}

static wasi_errno sock_shutdown(iw_wasi *w, UNUSED const struct gmem *m, const iw_val *a) {
  return wasi_host_sock_shutdown(&w->fds, A32(0), A32(1));
}

/* ---- clocks, random, scheduling ---- */

static wasi_errno clock_res_get(UNUSED iw_wasi *w, const struct gmem *m, const iw_val *a) {
  uint64_t res;
  if (!in_mem(m, A32(1), 8)) return WASI_EFAULT;
  wasi_errno e = wasi_host_clock_res_get(A32(0), &res);
  if (e == WASI_ESUCCESS) st64(m->base + A32(1), res);
  return e;
}

static wasi_errno clock_time_get(UNUSED iw_wasi *w, const struct gmem *m, const iw_val *a) {
  uint64_t now;
  if (!in_mem(m, A32(2), 8)) return WASI_EFAULT;
  wasi_errno e = wasi_host_clock_time_get(A32(0), A64(1), &now);
  if (e == WASI_ESUCCESS) st64(m->base + A32(2), now);
  return e;
}

static wasi_errno random_get(UNUSED iw_wasi *w, const struct gmem *m, const iw_val *a) {
  if (!in_mem(m, A32(0), A32(1))) return WASI_EFAULT;
  return wasi_host_random_get(m->base + A32(0), A32(1));
}

static wasi_errno sched_yield_(UNUSED iw_wasi *w, UNUSED const struct gmem *m,
                               UNUSED const iw_val *a) {
  return wasi_host_sched_yield();
}

/* ---- the import table ----------------------------------------------------------------- */

/* Every function of wasi_snapshot_preview1 (witx), with its core wasm signature. */
static const struct wasi_fn wasi_fns[] = {
    {"args_get", "ii", "i", args_get, true},
    {"args_sizes_get", "ii", "i", args_sizes_get, true},
    {"environ_get", "ii", "i", environ_get, true},
    {"environ_sizes_get", "ii", "i", environ_sizes_get, true},
    {"clock_res_get", "ii", "i", clock_res_get, true},
    {"clock_time_get", "iIi", "i", clock_time_get, true},
    {"fd_advise", "iIIi", "i", fd_advise, false},
    {"fd_allocate", "iII", "i", fd_allocate, false},
    {"fd_close", "i", "i", fd_close, false},
    {"fd_datasync", "i", "i", fd_datasync, false},
    {"fd_fdstat_get", "ii", "i", fd_fdstat_get, true},
    {"fd_fdstat_set_flags", "ii", "i", fd_fdstat_set_flags, false},
    {"fd_fdstat_set_rights", "iII", "i", fd_fdstat_set_rights, false},
    {"fd_filestat_get", "ii", "i", fd_filestat_get, true},
    {"fd_filestat_set_size", "iI", "i", fd_filestat_set_size, false},
    {"fd_filestat_set_times", "iIIi", "i", fd_filestat_set_times, false},
    {"fd_pread", "iiiIi", "i", fd_pread, true},
    {"fd_prestat_get", "ii", "i", fd_prestat_get, true},
    {"fd_prestat_dir_name", "iii", "i", fd_prestat_dir_name, true},
    {"fd_pwrite", "iiiIi", "i", fd_pwrite, true},
    {"fd_read", "iiii", "i", fd_read, true},
    {"fd_readdir", "iiiIi", "i", fd_readdir, true},
    {"fd_renumber", "ii", "i", fd_renumber, false},
    {"fd_seek", "iIii", "i", fd_seek, true},
    {"fd_sync", "i", "i", fd_sync, false},
    {"fd_tell", "ii", "i", fd_tell, true},
    {"fd_write", "iiii", "i", fd_write, true},
    {"path_create_directory", "iii", "i", path_create_directory, true},
    {"path_filestat_get", "iiiii", "i", path_filestat_get, true},
    {"path_filestat_set_times", "iiiiIIi", "i", path_filestat_set_times, true},
    {"path_link", "iiiiiii", "i", path_link, true},
    {"path_open", "iiiiiIIii", "i", path_open, true},
    {"path_readlink", "iiiiii", "i", path_readlink, true},
    {"path_remove_directory", "iii", "i", path_remove_directory, true},
    {"path_rename", "iiiiii", "i", path_rename, true},
    {"path_symlink", "iiiii", "i", path_symlink, true},
    {"path_unlink_file", "iii", "i", path_unlink_file, true},
    {"poll_oneoff", "iiii", "i", poll_oneoff, true},
    {"proc_exit", "i", "", NULL, false},  /* bound to w_proc_exit below */
    {"proc_raise", "i", "i", NULL, false}, /* bound to w_proc_raise below */
    {"sched_yield", "", "i", sched_yield_, false},
    {"random_get", "ii", "i", random_get, true},
    {"sock_accept", "iii", "i", sock_accept, true},
    {"sock_recv", "iiiiii", "i", sock_recv, true},
    {"sock_send", "iiiii", "i", sock_send, true},
    {"sock_shutdown", "ii", "i", sock_shutdown, false},
};
_Static_assert(sizeof wasi_fns / sizeof wasi_fns[0] == WASI_NFNS, "WASI_NFNS is stale");

/* What blocking calls must respect during this call: the earlier of the store's deadline and
 * iw_wasi_set_deadline()'s, and the store's interrupt flag. */
static void set_wait(iw_wasi *w, iw_caller *caller) {
  iw_store *s = caller ? caller->store : NULL;
  uint64_t d = w->deadline_ns, sd = s ? s->lim.deadline_ns : 0;
  if (sd && (!d || sd < d)) d = sd;
  w->fds.wait = (struct wasi_wait){.deadline_ns = d, .interrupted = s ? &s->interrupted : NULL};
}

/* The host function behind every table entry but proc_exit and proc_raise. A blocking call
 * that gave up for the deadline or an interrupt ends the call with the trap the interpreter
 * itself would have raised there. */
static int w_call(iw_caller *caller, void *env, const iw_val *args, iw_val *results,
                  iw_error *err) {
  const struct wasi_binding *b = env;
  struct gmem m = {0};
  if (b->fn->uses_memory && gmem_of(caller, b->fn->name, &m, err) < 0) return -1;
  set_wait(b->wasi, caller);
  wasi_errno e = b->fn->impl(b->wasi, &m, args);
  if (e == WASI_XDEADLINE || e == WASI_XINTERRUPTED) {
    if (e == WASI_XINTERRUPTED) *b->wasi->fds.wait.interrupted = 0; /* reported, as interp.c does */
    iw_err_trap(err, e == WASI_XDEADLINE ? IW_TRAP_DEADLINE : IW_TRAP_INTERRUPTED);
    err->func_index = err->offset = -1;
    return -1;
  }
  results[0] = (iw_val){.type = IW_I32, .of.i32 = e};
  return 0;
}

/* proc_exit(rval) ends the run: the call fails with IW_ERR_EXIT, which unwinds every wasm frame
 * back to the embedder. */
static int w_proc_exit(UNUSED iw_caller *caller, void *env, const iw_val *a, UNUSED iw_val *results,
                       iw_error *err) {
  iw_wasi *w = env;
  w->exited = true;
  w->exit_code = (int)A32(0);
  wasi_fail(err, IW_ERR_EXIT, "proc_exit(%u)", A32(0));
  err->exit_code = w->exit_code;
  return -1;
}

/* proc_raise(sig): the spec's "send a signal to the process", with the default action of each
 * signal, as a wasm module has no handlers. witx numbers signals as Linux does up to SIGSYS
 * except that it has no SIGSTKFLT (16): from witx 16 (SIGCHLD) on, Linux's number is one
 * more. Terminating signals end the run with 128 + the Linux number (what a shell reports for
 * a process killed by it); ignored-by-default ones return 0; the stop signals ENOTSUP. */
enum { SIG_IGNORED = 0, SIG_ENDS = 1, SIG_STOPS = 2 };
static const struct {
  const char *name;
  uint8_t linux_num, action;
} wasi_signals[] = {
    {"NONE", 0, SIG_IGNORED},  {"HUP", 1, SIG_ENDS},    {"INT", 2, SIG_ENDS},
    {"QUIT", 3, SIG_ENDS},     {"ILL", 4, SIG_ENDS},    {"TRAP", 5, SIG_ENDS},
    {"ABRT", 6, SIG_ENDS},     {"BUS", 7, SIG_ENDS},    {"FPE", 8, SIG_ENDS},
    {"KILL", 9, SIG_ENDS},     {"USR1", 10, SIG_ENDS},  {"SEGV", 11, SIG_ENDS},
    {"USR2", 12, SIG_ENDS},    {"PIPE", 13, SIG_ENDS},  {"ALRM", 14, SIG_ENDS},
    {"TERM", 15, SIG_ENDS},    {"CHLD", 17, SIG_IGNORED}, {"CONT", 18, SIG_IGNORED},
    {"STOP", 19, SIG_STOPS},   {"TSTP", 20, SIG_STOPS}, {"TTIN", 21, SIG_STOPS},
    {"TTOU", 22, SIG_STOPS},   {"URG", 23, SIG_IGNORED}, {"XCPU", 24, SIG_ENDS},
    {"XFSZ", 25, SIG_ENDS},    {"VTALRM", 26, SIG_ENDS}, {"PROF", 27, SIG_ENDS},
    {"WINCH", 28, SIG_IGNORED}, {"POLL", 29, SIG_ENDS}, {"PWR", 30, SIG_ENDS},
    {"SYS", 31, SIG_ENDS},
};

static int w_proc_raise(UNUSED iw_caller *caller, void *env, const iw_val *a, iw_val *results,
                        iw_error *err) {
  iw_wasi *w = env;
  uint32_t sig = A32(0);
  wasi_errno e = WASI_ESUCCESS;
  if (sig >= sizeof wasi_signals / sizeof wasi_signals[0]) e = WASI_EINVAL;
  else if (wasi_signals[sig].action == SIG_STOPS) e = WASI_ENOTSUP;
  else if (wasi_signals[sig].action == SIG_ENDS) {
    w->exited = true;
    w->exit_code = 128 + wasi_signals[sig].linux_num;
    wasi_fail(err, IW_ERR_EXIT, "proc_raise(SIG%s)", wasi_signals[sig].name);
    err->exit_code = w->exit_code;
    return -1;
  }
  results[0] = (iw_val){.type = IW_I32, .of.i32 = e};
  return 0;
}

/* A name preview 1 does not have: ENOSYS in the first result if that is an i32, zeros else. */
static int w_unknown(UNUSED iw_caller *caller, void *env, UNUSED const iw_val *args,
                     iw_val *results, UNUSED iw_error *err) {
  const struct wasi_stub *s = env;
  for (uint32_t i = 0; i < s->nresults; i++) {
    results[i] = (iw_val){.type = s->results[i]};
    if (i == 0 && s->results[i] == IW_I32) results[i].of.i32 = WASI_ENOSYS;
  }
  return 0;
}

static const struct wasi_fn *wasi_fn_find(const char *name) {
  for (size_t i = 0; i < WASI_NFNS; i++)
    if (strcmp(wasi_fns[i].name, name) == 0) return &wasi_fns[i];
  return NULL;
}

static size_t sig_types(const char *sig, iw_valtype *out) {
  size_t n = 0;
  for (; sig[n]; n++)
    out[n] = sig[n] == 'I' ? IW_I64 : IW_I32;
  return n;
}

static bool functype_eq(const iw_functype *x, const iw_functype *y) {
  if (x->nparams != y->nparams || x->nresults != y->nresults) return false;
  for (uint32_t i = 0; i < x->nparams; i++)
    if (x->params[i] != y->params[i]) return false;
  for (uint32_t i = 0; i < x->nresults; i++)
    if (x->results[i] != y->results[i]) return false;
  return true;
}

/* clang-format off */
static const char *valtype_name(iw_valtype t) {
  switch (t) {
  case IW_I32: return "i32";
  case IW_I64: return "i64";
  case IW_F32: return "f32";
  case IW_F64: return "f64";
  case IW_V128: return "v128";
  case IW_FUNCREF: return "funcref";
  case IW_EXTERNREF: return "externref";
  }
  return "?";
}
/* clang-format on */

/* "(i32 i64) -> (i32)", truncated to fit. */
static void functype_str(const iw_functype *t, char *buf, size_t size) {
  size_t n = 0;
#define PUT(...)                                                                                   \
  (n += (size_t)snprintf(buf + (n < size ? n : size), n < size ? size - n : 0, __VA_ARGS__))
  PUT("(");
  for (uint32_t i = 0; i < t->nparams; i++)
    PUT("%s%s", i ? " " : "", valtype_name(t->params[i]));
  PUT(") -> (");
  for (uint32_t i = 0; i < t->nresults; i++)
    PUT("%s%s", i ? " " : "", valtype_name(t->results[i]));
  PUT(")");
#undef PUT
}

static iw_func *stub_new(iw_wasi *w, iw_store *store, const iw_functype *type, iw_error *err) {
  struct wasi_stub *s = malloc(sizeof *s + type->nresults * sizeof s->results[0]);
  if (!s) {
    wasi_fail(err, IW_ERR_RESOURCE, "WASI stub: out of memory");
    return NULL;
  }
  s->nresults = type->nresults;
  for (uint32_t i = 0; i < type->nresults; i++)
    s->results[i] = type->results[i];
  s->next = w->stubs;
  w->stubs = s;
  return iw_func_new_host(store, type, w_unknown, s, err);
}

int iw_wasi_imports(iw_wasi *w, iw_store *store, const iw_module *module, iw_extern *out,
                    iw_error *err) {
  size_t n = iw_module_import_count(module);
  for (size_t i = 0; i < n; i++) {
    iw_importdesc d;
    iw_module_import(module, i, &d);
    if (strcmp(d.module, IW_WASI_MODULE) != 0)
      return wasi_fail(err, IW_ERR_UNLINKABLE,
                       "unknown import `%s.%s` (only " IW_WASI_MODULE " is provided)", d.module,
                       d.name);
    if (d.kind != IW_EXTERN_FUNC)
      return wasi_fail(err, IW_ERR_UNLINKABLE, "import `%s.%s`: WASI provides only functions",
                       d.module, d.name);

    const iw_functype *want = iw_module_import_functype(module, i);
    const struct wasi_fn *fn = wasi_fn_find(d.name);
    iw_func *f;
    if (!fn) {
      f = stub_new(w, store, want, err);
    } else {
      iw_valtype params[16], results[1];
      iw_functype have = {.params = params, .results = results};
      have.nparams = (uint32_t)sig_types(fn->params, params);
      have.nresults = (uint32_t)sig_types(fn->results, results);
      if (!functype_eq(&have, want)) {
        char hs[128], ws[256];
        functype_str(&have, hs, sizeof hs);
        functype_str(want, ws, sizeof ws);
        return wasi_fail(err, IW_ERR_UNLINKABLE,
                         "import `%s.%s`: type mismatch: WASI has %s, the module wants %s",
                         d.module, d.name, hs, ws);
      }
      struct wasi_binding *b = &w->bind[fn - wasi_fns];
      if (strcmp(fn->name, "proc_exit") == 0)
        f = iw_func_new_host(store, &have, w_proc_exit, w, err);
      else if (strcmp(fn->name, "proc_raise") == 0)
        f = iw_func_new_host(store, &have, w_proc_raise, w, err);
      else
        f = iw_func_new_host(store, &have, w_call, b, err);
    }
    if (!f) return -1;
    out[i] = (iw_extern){.kind = IW_EXTERN_FUNC, .of.func = f};
  }
  return 0;
}

/* ---- lifetime ------------------------------------------------------------------------- */

static int strblob_init(struct strblob *s, size_t count, char *const *strs, const char *what,
                        iw_error *err) {
  uint64_t size = 0;
  for (size_t i = 0; i < count; i++) {
    if (!strs[i]) return wasi_fail(err, IW_ERR_USAGE, "%s[%zu] is NULL", what, i);
    size += strlen(strs[i]) + 1;
  }
  /* The guest needs count pointers and size bytes in its 4 GiB: anything near that is absurd. */
  if (count > UINT32_MAX / 8 || size > UINT32_MAX / 2)
    return wasi_fail(err, IW_ERR_USAGE, "%s: too large for a 32-bit guest", what);
  s->count = (uint32_t)count;
  s->size = (uint32_t)size;
  s->buf = malloc(size ? size : 1);
  s->offs = malloc(count ? count * sizeof *s->offs : 1);
  if (!s->buf || !s->offs) return wasi_fail(err, IW_ERR_RESOURCE, "%s: out of memory", what);
  uint32_t at = 0;
  for (size_t i = 0; i < count; i++) {
    size_t len = strlen(strs[i]) + 1;
    s->offs[i] = at;
    memcpy(s->buf + at, strs[i], len);
    at += (uint32_t)len;
  }
  return 0;
}

static void strblob_free(struct strblob *s) {
  free(s->buf);
  free(s->offs);
}

iw_wasi *iw_wasi_new(const struct iw_wasi_config *c, iw_error *err) {
  size_t nenv = 0;
  if (c->argc < 0 || (c->argc > 0 && !c->argv)) {
    wasi_fail(err, IW_ERR_USAGE, "WASI config: argc is %d but argv is %s", c->argc,
              c->argv ? "set" : "NULL");
    return NULL;
  }
  while (c->envp && c->envp[nenv])
    nenv++;

  iw_wasi *w = calloc(1, sizeof *w);
  if (!w) {
    wasi_fail(err, IW_ERR_RESOURCE, "WASI: out of memory");
    return NULL;
  }
  for (size_t i = 0; i < WASI_NFNS; i++)
    w->bind[i] = (struct wasi_binding){.wasi = w, .fn = &wasi_fns[i]};
  if (strblob_init(&w->args, (size_t)c->argc, c->argv, "argv", err) < 0 ||
      strblob_init(&w->env, nenv, c->envp, "environ", err) < 0 ||
      wasi_fdtable_init(&w->fds, c, err) < 0) {
    iw_wasi_free(w);
    return NULL;
  }
  return w;
}

void iw_wasi_free(iw_wasi *w) {
  if (!w) return;
  wasi_fdtable_free(&w->fds);
  strblob_free(&w->args);
  strblob_free(&w->env);
  while (w->stubs) {
    struct wasi_stub *next = w->stubs->next;
    free(w->stubs);
    w->stubs = next;
  }
  free(w);
}

void iw_wasi_set_deadline(iw_wasi *w, uint64_t deadline_ns) {
  w->deadline_ns = deadline_ns;
}

bool iw_wasi_exited(const iw_wasi *w, int *code) {
  if (w->exited && code) *code = w->exit_code;
  return w->exited;
}

/* ---- running a command ---------------------------------------------------------------- */

static void module_freep(iw_module **m) {
  if (*m) iw_module_free(*m);
}
static void store_freep(iw_store **s) {
  if (*s) iw_store_free(*s);
}
static void wasi_freep(iw_wasi **w) {
  iw_wasi_free(*w);
}
static void externs_freep(iw_extern **e) {
  free(*e);
}

int iw_wasi_run(const uint8_t *bytes, size_t len, const struct iw_wasi_config *config,
                const iw_limits *limits, int *exit_code, iw_error *err) {
  /* Declared in this order so that cleanup frees the store before the iw_wasi its host
   * functions point into. */
  __attribute__((cleanup(module_freep))) iw_module *module = NULL;
  __attribute__((cleanup(wasi_freep))) iw_wasi *wasi = NULL;
  __attribute__((cleanup(externs_freep))) iw_extern *imports = NULL;
  __attribute__((cleanup(store_freep))) iw_store *store = NULL;
  iw_extern start;
  int rc;

  module = iw_module_new(bytes, len, err);
  if (!module) return -1;
  size_t nimports = iw_module_import_count(module);
  imports = calloc(nimports ? nimports : 1, sizeof *imports);
  if (!imports) return wasi_fail(err, IW_ERR_RESOURCE, "imports: out of memory");
  wasi = iw_wasi_new(config, err);
  if (!wasi) return -1;
  store = iw_store_new(limits, err);
  if (!store) return -1;
  if (iw_wasi_imports(wasi, store, module, imports, err) < 0) return -1;

  iw_instance *inst = iw_instantiate(store, module, imports, nimports, err);
  if (inst) {
    const iw_functype *t;
    if (iw_instance_export(inst, "_start", &start) < 0 || start.kind != IW_EXTERN_FUNC ||
        (t = iw_func_type(start.of.func), t->nparams != 0 || t->nresults != 0))
      return wasi_fail(err, IW_ERR_USAGE,
                       "no function `_start` of type () -> () (not a WASI command)");
    rc = iw_call(store, start.of.func, NULL, 0, NULL, 0, err);
  } else {
    rc = -1;
  }
  /* proc_exit, whether from _start or from a start function during instantiation. */
  if (rc < 0 && iw_wasi_exited(wasi, exit_code)) return 0;
  if (rc < 0 && err->kind == IW_ERR_EXIT) {
    *exit_code = err->exit_code;
    return 0;
  }
  if (rc < 0) return -1;
  *exit_code = 0;
  return 0;
}
