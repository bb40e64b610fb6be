/* Sanity of clock_time_get, clock_res_get and random_get as a program sees them through libc.
 * Prints one "ok ..." or "FAIL ..." line per check; exits 1 if any failed. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failed;

static void check(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok" : "FAIL", what);
  failed |= !ok;
}

static int64_t ns(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts) != 0) return -1;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void) {
  struct timespec res;
  int64_t real = ns(CLOCK_REALTIME), m1 = ns(CLOCK_MONOTONIC);
  check(real > (int64_t)1600000000 * 1000000000, "realtime is after 2020");
  volatile uint32_t spin = 0;
  for (int i = 0; i < 100000; i++)
    spin += (uint32_t)i;
  int64_t m2 = ns(CLOCK_MONOTONIC);
  check(m1 > 0 && m2 >= m1 && spin != 1, "monotonic does not go back");
  check(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0,
        "monotonic resolution is under a second");
  check(ns(CLOCK_PROCESS_CPUTIME_ID) >= 0, "process cputime clock works");

  unsigned char a[32], b[32], zeros[32] = {0};
  check(getentropy(a, sizeof a) == 0 && getentropy(b, sizeof b) == 0, "getentropy works");
  check(memcmp(a, b, sizeof a) != 0 && memcmp(a, zeros, sizeof a) != 0,
        "two draws differ and are not zero");
  return failed;
}
