/* Linear memories, and the fault handler that turns an access outside one into a trap.
 *
 * Promise: a guarded memory reserves 8 GiB + 64 KiB of address space (PROT_NONE) and makes only
 * its current size accessible, so any 32-bit address plus 32-bit offset (plus a 16-byte access)
 * lands inside the reservation: compiled code needs no bounds checks, and a fault there becomes
 * "out of bounds memory access" through siglongjmp to the running call (interp.c). When that
 * reservation is refused, or the store asks for explicit bounds, the memory reserves only its
 * maximum and the code checks every access. Either way the base never moves.
 * Faults that are not ours go to the handler that was installed before us.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wasm/module.h"

#define GUARD_RESERVE ((8ull << 30) + (64u << 10))

iw_memory *iw_memory_create(iw_store *s, uint32_t min, uint32_t max, bool has_max, iw_error *err) {
  uint32_t cap = s->lim.max_memory_pages ? s->lim.max_memory_pages : IW_MAX_PAGES;
  if (cap > IW_MAX_PAGES) cap = IW_MAX_PAGES;
  if (min > cap) {
    iw_err_set(err, IW_ERR_RESOURCE, "memory of %u pages exceeds the limit of %u pages", min, cap);
    return NULL;
  }
  iw_memory *m = calloc(1, sizeof *m);
  if (!m) {
    iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
    return NULL;
  }
  m->decl_has_max = has_max;
  m->decl_max = has_max ? max : UINT32_MAX;
  m->max_pages = has_max && max < cap ? max : cap;
  void *base = MAP_FAILED;
  if (!s->lim.explicit_bounds) {
    base = mmap(NULL, GUARD_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base != MAP_FAILED) m->guarded = true, m->reserved = GUARD_RESERVE;
  }
  if (base == MAP_FAILED) {
    /* Explicit bounds: reserve the maximum (at least a page, so base is never NULL). */
    size_t r = (size_t)m->max_pages * IW_PAGE;
    if (r == 0) r = IW_PAGE;
    base = mmap(NULL, r, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
      int e = errno;
      iw_err_set(err, IW_ERR_RESOURCE, "cannot reserve memory of %u pages: %s", m->max_pages,
                 strerror(e));
      free(m);
      return NULL;
    }
    m->reserved = r;
  }
  m->base = base;
  if (min && mprotect(base, (size_t)min * IW_PAGE, PROT_READ | PROT_WRITE) < 0) {
    int e = errno;
    munmap(base, m->reserved);
    free(m);
    iw_err_set(err, IW_ERR_RESOURCE, "cannot commit memory of %u pages: %s", min, strerror(e));
    return NULL;
  }
  m->size = (uint64_t)min * IW_PAGE;
  return m;
}

void iw_memory_destroy(iw_memory *m) {
  if (!m) return;
  if (m->base && m->reserved) munmap(m->base, m->reserved);
  free(m);
}

int64_t iw_memory_grow_pages(iw_memory *m, uint32_t delta) {
  uint64_t old = m->size / IW_PAGE;
  if (delta == 0) return (int64_t)old;
  if (old + delta > m->max_pages) return -1;
  if (mprotect(m->base + m->size, (size_t)delta * IW_PAGE, PROT_READ | PROT_WRITE) < 0) return -1;
  m->size += (uint64_t)delta * IW_PAGE;
  return (int64_t)old;
}

/* ---- public API ------------------------------------------------------------------------------ */

iw_memory *iw_memory_new(iw_store *store, uint32_t min_pages, uint32_t max_pages, iw_error *err) {
  bool has_max = max_pages != UINT32_MAX;
  if ((has_max && min_pages > max_pages) || min_pages > IW_MAX_PAGES ||
      (has_max && max_pages > IW_MAX_PAGES)) {
    iw_err_set(err, IW_ERR_USAGE, "invalid memory limits %u..%u", min_pages, max_pages);
    return NULL;
  }
  iw_memory *m = iw_memory_create(store, min_pages, max_pages, has_max, err);
  if (!m) return NULL;
  if (iw_store_own(store, OBJ_MEMORY, m, err) < 0) {
    iw_memory_destroy(m);
    return NULL;
  }
  return m;
}

uint8_t *iw_memory_data(iw_memory *memory) { return memory->base; }
uint64_t iw_memory_size(const iw_memory *memory) { return memory->size; }
int64_t iw_memory_grow(iw_memory *memory, uint32_t delta) {
  return iw_memory_grow_pages(memory, delta);
}

/* ---- faults ------------------------------------------------------------------------------------ */

static __thread iw_store *tls_store;
static __thread iw_jmp *tls_jmp;
static __thread bool tls_altstack;
static struct sigaction old_segv, old_bus;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int install_errno;

static void on_fault(int sig, siginfo_t *info, void *uctx) {
  iw_store *s = tls_store;
  if (s && tls_jmp) {
    uintptr_t a = (uintptr_t)info->si_addr;
    for (iw_memory *m = s->mems; m; m = m->next_in_store) {
      uintptr_t b = (uintptr_t)m->base;
      if (a >= b && a - b < m->reserved) siglongjmp(tls_jmp->buf, 1);
    }
  }
  /* Not ours: hand it on. */
  struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
  if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
    old->sa_sigaction(sig, info, uctx);
  } else if (old->sa_handler == SIG_DFL || old->sa_handler == SIG_IGN) {
    /* Restore the default action; returning re-executes the access and it takes effect. */
    signal(sig, SIG_DFL);
  } else {
    old->sa_handler(sig);
  }
}

static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sigemptyset(&sa.sa_mask);
  /* SA_NODEFER: we leave the handler by siglongjmp without restoring the mask. */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  if (sigaction(SIGSEGV, &sa, &old_segv) < 0 || sigaction(SIGBUS, &sa, &old_bus) < 0)
    install_errno = errno;
}

int iw_signals_init(iw_error *err) {
  pthread_once(&once, install);
  if (install_errno) {
    iw_err_set(err, IW_ERR_RESOURCE, "cannot install the memory fault handler: %s",
               strerror(install_errno));
    return -1;
  }
  if (!tls_altstack) {
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) {
      tls_altstack = true; /* the thread already has one */
    } else {
      size_t sz = 64 << 10;
      void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) {
        iw_err_set(err, IW_ERR_RESOURCE, "cannot allocate a signal stack: %s", strerror(errno));
        return -1;
      }
      stack_t ss = {.ss_sp = p, .ss_size = sz, .ss_flags = 0};
      if (sigaltstack(&ss, NULL) < 0) {
        munmap(p, sz);
        iw_err_set(err, IW_ERR_RESOURCE, "sigaltstack: %s", strerror(errno));
        return -1;
      }
      tls_altstack = true;
    }
  }
  return 0;
}

void iw_signals_enter(iw_store *s, iw_jmp *j, iw_jmp **saved_jmp, iw_store **saved_store) {
  *saved_jmp = tls_jmp;
  *saved_store = tls_store;
  j->prev = tls_jmp;
  tls_jmp = j;
  tls_store = s;
}

void iw_signals_leave(iw_jmp *saved_jmp, iw_store *saved_store) {
  tls_jmp = saved_jmp;
  tls_store = saved_store;
}
