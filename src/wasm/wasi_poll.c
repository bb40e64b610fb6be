/* WASI poll_oneoff, and the bounded waits behind every call that can block (see wasi_host.h).
 *
 * A guest may sleep or wait on a pipe, socket or terminal, but never past the run's deadline or
 * an interrupt: every wait here is a ppoll(2) whose timeout is cut at t->wait.deadline_ns, and
 * an EINTR with t->wait.interrupted set ends it. Both come back as WASI_XDEADLINE /
 * WASI_XINTERRUPTED, which the guest-facing layer turns into traps.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasm/wasi_host.h"

#define NS 1000000000ull

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return wasi_ts_ns(&ts);
}

static struct timespec ts_of(uint64_t ns) {
  if (ns / NS > (uint64_t)INT64_MAX) ns = (uint64_t)INT64_MAX;
  return (struct timespec){.tv_sec = (time_t)(ns / NS), .tv_nsec = (long)(ns % NS)};
}

wasi_errno wasi_after_eintr(struct wasi_fdtable *t) {
  return t->wait.interrupted && *t->wait.interrupted ? WASI_XINTERRUPTED : WASI_ESUCCESS;
}

wasi_errno wasi_wait_ready(struct wasi_fdtable *t, const struct wasi_fd *f, short events) {
  uint64_t deadline = t->wait.deadline_ns;
  if (!deadline) return WASI_ESUCCESS; /* a signal (EINTR) is the only way out, as for a process */
  int fl = fcntl(f->host, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK)) return WASI_ESUCCESS;
  for (;;) {
    uint64_t now = mono_ns();
    if (now >= deadline) return WASI_XDEADLINE;
    struct pollfd p = {.fd = f->host, .events = events};
    struct timespec ts = ts_of(deadline - now);
    int r = ppoll(&p, 1, &ts, NULL);
    if (r > 0) return WASI_ESUCCESS; /* ready, or an error the call itself will report */
    if (r < 0 && errno == EINTR) {
      wasi_errno e = wasi_after_eintr(t);
      if (e) return e;
      continue;
    }
    if (r < 0) return WASI_ESUCCESS;
  }
}

/* ---- poll_oneoff ----------------------------------------------------------------------- */

struct pending {
  uint64_t due;  /* clock subscriptions: CLOCK_MONOTONIC time at which it fires */
  int pfd;       /* fd subscriptions: index in the pollfd array, -1 when already answered */
};

static void add_event(struct wasi_event *ev, uint32_t *n, const struct wasi_subscription *s,
                      wasi_errno error, uint64_t nbytes, uint16_t flags) {
  ev[(*n)++] = (struct wasi_event){
      .userdata = s->userdata, .error = error, .type = s->type, .nbytes = nbytes, .flags = flags};
}

/* Bytes that can be read without blocking (a hint: WASI asks for it, few guests use it). */
static uint64_t readable_bytes(const struct wasi_fd *f) {
  if (f->filetype == WASI_FILETYPE_REGULAR_FILE) {
    struct stat st;
    off_t pos = lseek(f->host, 0, SEEK_CUR);
    if (fstat(f->host, &st) < 0 || pos < 0 || st.st_size <= pos) return 0;
    return (uint64_t)(st.st_size - pos);
  }
  int n = 0;
  return ioctl(f->host, FIONREAD, &n) == 0 && n > 0 ? (uint64_t)n : 0;
}

/* A clock subscription's due time on CLOCK_MONOTONIC, or an errno for the event. Absolute
 * times on the realtime clock become "that far from now". The cputime clocks cannot be waited
 * on (ENOTSUP), as in wasmtime. */
static wasi_errno clock_due(const struct wasi_subscription *s, uint64_t now, uint64_t *due) {
  if (s->clock_flags & ~(uint16_t)WASI_SUBCLOCK_ABSTIME) return WASI_EINVAL;
  clockid_t id;
  if (wasi_host_clock(s->clock_id, &id) < 0) return WASI_EINVAL;
  if (id != CLOCK_REALTIME && id != CLOCK_MONOTONIC) return WASI_ENOTSUP;
  uint64_t rel = s->timeout;
  if (s->clock_flags & WASI_SUBCLOCK_ABSTIME) {
    struct timespec ts;
    clock_gettime(id, &ts);
    uint64_t cnow = wasi_ts_ns(&ts);
    rel = s->timeout > cnow ? s->timeout - cnow : 0;
  }
  *due = rel > UINT64_MAX - now ? UINT64_MAX : now + rel;
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_poll_oneoff(struct wasi_fdtable *t, const struct wasi_subscription *subs,
                                 uint32_t n, struct wasi_event *events, uint32_t *nevents) {
  if (n == 0) return WASI_EINVAL;
  struct pending *pend = calloc(n, sizeof *pend);
  struct pollfd *pfds = calloc(n, sizeof *pfds);
  wasi_errno ret = WASI_ESUCCESS;
  if (!pend || !pfds) {
    ret = WASI_ENOMEM;
    goto out;
  }
  *nevents = 0;
  uint64_t start = mono_ns(), first_due = UINT64_MAX;
  nfds_t np = 0;

  /* 1. Subscriptions that can be answered at once: bad fds, bad clocks, files (always
   *    ready). The others wait. */
  for (uint32_t i = 0; i < n; i++) {
    const struct wasi_subscription *s = &subs[i];
    pend[i].pfd = -1;
    if (s->type == WASI_EVENTTYPE_CLOCK) {
      wasi_errno e = clock_due(s, start, &pend[i].due);
      if (e) add_event(events, nevents, s, e, 0, 0);
      else if (pend[i].due < first_due) first_due = pend[i].due;
      if (e) pend[i].due = UINT64_MAX;
      continue;
    }
    pend[i].due = UINT64_MAX;
    struct wasi_fd *f;
    wasi_errno e = wasi_fd_get(t, s->fd, WASI_RIGHT_POLL_FD_READWRITE, &f);
    if (e) {
      add_event(events, nevents, s, e, 0, 0);
    } else if (f->filetype == WASI_FILETYPE_REGULAR_FILE ||
               f->filetype == WASI_FILETYPE_DIRECTORY) {
      add_event(events, nevents, s, 0, s->type == WASI_EVENTTYPE_FD_READ ? readable_bytes(f) : 0,
                0);
    } else {
      pend[i].pfd = (int)np;
      pfds[np++] = (struct pollfd){
          .fd = f->host, .events = s->type == WASI_EVENTTYPE_FD_READ ? POLLIN : POLLOUT};
    }
  }

  /* 2. Wait until an fd is ready or the first clock is due; with events already there, only
   *    look. The deadline cuts every wait. */
  uint64_t deadline = t->wait.deadline_ns;
  for (;;) {
    uint64_t now = mono_ns(), until = first_due;
    bool by_deadline = deadline && deadline < until;
    if (by_deadline) until = deadline;
    struct timespec ts = ts_of(until > now ? until - now : 0);
    const struct timespec *tp = *nevents || until != UINT64_MAX ? &ts : NULL;
    if (*nevents) ts = (struct timespec){0, 0};
    int r = ppoll(pfds, np, tp, NULL);
    if (r < 0 && errno == EINTR) {
      if ((ret = wasi_after_eintr(t))) goto out;
      continue;
    }
    if (r < 0) {
      ret = wasi_errno_from_host(errno);
      goto out;
    }
    now = mono_ns();
    if (r == 0 && !*nevents && by_deadline && now >= deadline) {
      ret = WASI_XDEADLINE;
      goto out;
    }
    /* 3. Everything that is ready now: the fds, then the clocks that are due. */
    for (uint32_t i = 0; i < n; i++) {
      const struct wasi_subscription *s = &subs[i];
      if (pend[i].pfd >= 0 && pfds[pend[i].pfd].revents) {
        short re = pfds[pend[i].pfd].revents;
        struct wasi_fd *f;
        wasi_errno e = wasi_fd_get(t, s->fd, 0, &f);
        uint16_t flags = (re & POLLHUP) ? WASI_EVENT_FD_READWRITE_HANGUP : 0;
        if (!e && (re & POLLNVAL)) e = WASI_EBADF;
        else if (!e && (re & POLLERR) && !(re & POLLHUP)) e = WASI_EIO;
        uint64_t nb = !e && s->type == WASI_EVENTTYPE_FD_READ ? readable_bytes(f) : 0;
        add_event(events, nevents, s, e, nb, flags);
      } else if (s->type == WASI_EVENTTYPE_CLOCK && pend[i].due <= now) {
        add_event(events, nevents, s, 0, 0, 0);
      }
    }
    if (*nevents) break;
    /* Woken early (a clock rounded down): wait again. */
  }
out:
  free(pend);
  free(pfds);
  return ret;
}
