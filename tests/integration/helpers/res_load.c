/* res_load: a static helper for the resource tests, run inside containers. It makes the load a
 * limit must stop and reports, as one JSON object, what the kernel let it do.
 *
 *   res_load mem MIB      allocate and touch MIB MiB, printing {"mib":N} after each one (an
 *                         OOM kill stops it part-way)
 *   res_load fork N       fork up to N children that wait; report {"forked":K,"errno":"EAGAIN"}
 *                         with the first fork that failed; the children are then killed
 *   res_load spin MS      burn CPU for MS ms of wall time; report {"wall_ms":W,"cpu_ms":C}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double ms(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: res_load mem MIB | fork N | spin MS\n");
    return 2;
  }
  long n = atol(argv[2]);
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!strcmp(argv[1], "mem")) {
    for (long i = 0; i < n; i++) {
      char *p = malloc(1 << 20);
      if (!p) {
        printf("{\"mib\":%ld,\"error\":\"ENOMEM\"}\n", i);
        return 1;
      }
      memset(p, 0x5a, 1 << 20);
      printf("{\"mib\":%ld}\n", i + 1);
    }
    return 0;
  }
  if (!strcmp(argv[1], "fork")) {
    pid_t *kids = calloc((size_t)n + 1, sizeof *kids);
    long k = 0;
    int e = 0;
    for (; k < n; k++) {
      pid_t p = fork();
      if (p < 0) {
        e = errno;
        break;
      }
      if (p == 0) {
        pause();
        _exit(0);
      }
      kids[k] = p;
    }
    printf("{\"forked\":%ld,\"errno\":\"%s\"}\n", k, e == EAGAIN ? "EAGAIN" : e ? strerror(e) : "");
    for (long i = 0; i < k; i++) kill(kids[i], SIGKILL);
    for (long i = 0; i < k; i++) waitpid(kids[i], NULL, 0);
    return 0;
  }
  if (!strcmp(argv[1], "spin")) {
    double w0 = ms(CLOCK_MONOTONIC), c0 = ms(CLOCK_PROCESS_CPUTIME_ID);
    volatile unsigned long x = 0;
    while (ms(CLOCK_MONOTONIC) - w0 < n) x++;
    printf("{\"wall_ms\":%.0f,\"cpu_ms\":%.0f}\n", ms(CLOCK_MONOTONIC) - w0,
           ms(CLOCK_PROCESS_CPUTIME_ID) - c0);
    return 0;
  }
  fprintf(stderr, "res_load: unknown mode `%s`\n", argv[1]);
  return 2;
}
