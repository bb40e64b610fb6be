/* A minimal unit-test harness: each tests/unit/test_*.c is one executable whose main() runs
 * its cases with RUN(); the last line it prints is "N passed, N failed". */
#ifndef ISOLA_UNIT_H
#define ISOLA_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed, unit_case_failed;

#define CHECK(cond)                                                                          \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);             \
      unit_case_failed = 1;                                                                  \
    }                                                                                        \
  } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                      \
  do {                                                                                       \
    const char *h_ = (hay), *n_ = (needle);                                                  \
    if (!h_ || !strstr(h_, n_)) {                                                            \
      fprintf(stderr, "  %s:%d: `%s` does not contain `%s`\n", __FILE__, __LINE__,           \
              h_ ? h_ : "(null)", n_);                                                       \
      unit_case_failed = 1;                                                                  \
    }                                                                                        \
  } while (0)

#define RUN(fn)                                                                              \
  do {                                                                                       \
    unit_case_failed = 0;                                                                    \
    fn();                                                                                    \
    if (unit_case_failed) {                                                                  \
      unit_failed++;                                                                         \
      fprintf(stderr, "FAIL %s\n", #fn);                                                     \
    } else {                                                                                 \
      unit_passed++;                                                                         \
    }                                                                                        \
  } while (0)

#define UNIT_END()                                                                           \
  (printf("%d passed, %d failed\n", unit_passed, unit_failed), unit_failed ? 1 : 0)

#endif
