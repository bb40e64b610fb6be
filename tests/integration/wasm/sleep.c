/* Clocks and waiting: poll_oneoff through libc (nanosleep, poll) and directly.
 *   sleep MS       nanosleep, then checks the monotonic clock moved at least MS
 *   poll_stdin MS  poll(2) on stdin for MS: "ready LINE" or "timeout"
 *   raw            poll_oneoff cases: absolute clocks, two clocks, bad clock ids, bad fds
 *   forever        sleeps forever (for the deadline)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static uint64_t now(__wasi_clockid_t id) {
  __wasi_timestamp_t t = 0;
  (void)!__wasi_clock_time_get(id, 1, &t);
  return t;
}

static __wasi_subscription_t clock_sub(uint64_t userdata, __wasi_clockid_t id, uint64_t timeout,
                                       int abs) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = userdata;
  s.u.tag = __WASI_EVENTTYPE_CLOCK;
  s.u.u.clock.id = id;
  s.u.u.clock.timeout = timeout;
  s.u.u.clock.flags = abs ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
  return s;
}

static __wasi_subscription_t fd_sub(uint64_t userdata, int fd, int write) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = userdata;
  s.u.tag = write ? __WASI_EVENTTYPE_FD_WRITE : __WASI_EVENTTYPE_FD_READ;
  s.u.u.fd_read.file_descriptor = fd;
  return s;
}

static void report(const char *name, __wasi_subscription_t *subs, int n) {
  __wasi_event_t ev[8];
  __wasi_size_t got = 0;
  uint64_t t0 = now(__WASI_CLOCKID_MONOTONIC);
  int e = __wasi_poll_oneoff(subs, ev, n, &got);
  uint64_t ms = (now(__WASI_CLOCKID_MONOTONIC) - t0) / 1000000;
  printf("%s: errno=%d events=%u", name, e, e ? 0u : (unsigned)got);
  for (__wasi_size_t i = 0; !e && i < got; i++)
    printf(" [ud=%llu type=%d err=%d]", (unsigned long long)ev[i].userdata, ev[i].type,
           ev[i].error);
  printf(" %s\n", ms < 1000 ? "fast" : "slow");
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "sleep";
  long ms = argc > 2 ? atol(argv[2]) : 100;
  if (!strcmp(mode, "sleep")) {
    uint64_t t0 = now(__WASI_CLOCKID_MONOTONIC);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    int r = nanosleep(&ts, NULL);
    uint64_t slept = (now(__WASI_CLOCKID_MONOTONIC) - t0) / 1000000;
    printf("nanosleep=%d %s\n", r, slept >= (uint64_t)ms && slept < (uint64_t)ms + 1000 ? "ok" : "WRONG");
    t0 = now(__WASI_CLOCKID_MONOTONIC);
    usleep(20000);
    slept = (now(__WASI_CLOCKID_MONOTONIC) - t0) / 1000000;
    printf("usleep %s\n", slept >= 20 ? "ok" : "WRONG");
    return 0;
  }
  if (!strcmp(mode, "poll_stdin")) {
    struct pollfd p = {.fd = 0, .events = POLLIN};
    int r = poll(&p, 1, (int)ms);
    if (r == 1 && (p.revents & POLLIN)) {
      char line[128] = {0};
      if (!fgets(line, sizeof line, stdin)) snprintf(line, sizeof line, "(eof)\n");
      printf("ready %s", line);
    } else {
      printf("%s r=%d\n", r == 0 ? "timeout" : "error", r);
    }
    return 0;
  }
  if (!strcmp(mode, "raw")) {
    __wasi_subscription_t s[4];
    s[0] = clock_sub(1, __WASI_CLOCKID_MONOTONIC, now(__WASI_CLOCKID_MONOTONIC) + 30000000, 1);
    report("abs_monotonic", s, 1);
    s[0] = clock_sub(2, __WASI_CLOCKID_REALTIME, now(__WASI_CLOCKID_REALTIME) + 30000000, 1);
    report("abs_realtime", s, 1);
    s[0] = clock_sub(3, __WASI_CLOCKID_MONOTONIC, 1, 1); /* long past */
    report("abs_past", s, 1);
    s[0] = clock_sub(4, __WASI_CLOCKID_MONOTONIC, 20000000, 0);
    s[1] = clock_sub(5, __WASI_CLOCKID_MONOTONIC, 5000000000ull, 0);
    report("two_clocks", s, 2);
    s[0] = clock_sub(6, 9, 1000, 0);
    report("bad_clock", s, 1);
    s[0] = clock_sub(7, __WASI_CLOCKID_PROCESS_CPUTIME_ID, 1000, 0);
    report("cputime_clock", s, 1);
    s[0] = fd_sub(8, 99, 0);
    s[1] = clock_sub(9, __WASI_CLOCKID_MONOTONIC, 5000000000ull, 0);
    report("bad_fd", s, 2);
    s[0] = fd_sub(10, 1, 1);
    report("stdout_writable", s, 1);
    report("none", s, 0);
    return 0;
  }
  if (!strcmp(mode, "forever")) {
    printf("sleeping\n");
    fflush(stdout);
    for (;;)
      sleep(1000);
  }
  return 2;
}
