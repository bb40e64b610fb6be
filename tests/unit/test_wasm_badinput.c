/* Hostile module bytes through iw_module_new(): every failure must be clean (no crash, no
 * huge allocation, no host stack overflow), of the right kind (IW_ERR_MALFORMED for the binary
 * format, IW_ERR_INVALID for validation), and the message must name the section and the byte
 * offset ("type section, offset 0x9: unexpected end").
 *
 * Cases that could take the process down (deep nesting, gigantic counts) run in a child, so a
 * crash is reported as a failed check rather than ending the run. The gigantic-count cases
 * also run under an address-space limit (not under ASan, which needs a huge shadow mapping),
 * so an engine that sizes an allocation by a count before checking it fails the check.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "isola/wasm.h"
#include "unit.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---- building modules ------------------------------------------------------------------ */

typedef struct buf {
  uint8_t p[1 << 19];
  size_t n;
} buf;

static buf *buf_new(void) {
  buf *b = calloc(1, sizeof *b);
  if (!b) abort();
  return b;
}

static void put(buf *b, const void *p, size_t n) {
  if (b->n + n > sizeof b->p) abort();
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void put_u8(buf *b, uint8_t v) {
  put(b, &v, 1);
}

#define PUT(b, ...)                                                                                \
  do {                                                                                             \
    static const uint8_t bytes_[] = {__VA_ARGS__};                                                 \
    put(b, bytes_, sizeof bytes_);                                                                 \
  } while (0)

static void put_leb(buf *b, uint64_t v) {
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    put_u8(b, byte | (v ? 0x80 : 0));
  } while (v);
}

static void put_header(buf *b) {
  PUT(b, 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
}

static void put_section(buf *b, uint8_t id, const buf *content) {
  put_u8(b, id);
  put_leb(b, content->n);
  put(b, content->p, content->n);
}

/* Where each section of the valid module starts and ends, for the truncation test. */
typedef struct sect {
  const char *name;
  size_t start, content, end; /* id byte, first content byte, one past the end */
} sect;

static size_t nsects;
static sect sects[16];

static void put_named_section(buf *b, uint8_t id, const char *name, const buf *content) {
  sect *s = &sects[nsects++];
  s->name = name;
  s->start = b->n;
  put_section(b, id, content);
  s->end = b->n;
  s->content = s->end - content->n;
}

/* A valid module with type, function, table, memory, global, export, code and data sections:
 *   (func (export "add") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
 *   (table 1 funcref) (memory 1) (global i32 (i32.const 42)) (data (i32.const 0) "hi") */
static buf *valid_module(void) {
  buf *b = buf_new(), *s = buf_new();
  nsects = 0;
  put_header(b);
  s->n = 0;
  PUT(s, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f);
  put_named_section(b, 1, "type", s);
  s->n = 0;
  PUT(s, 0x01, 0x00);
  put_named_section(b, 3, "function", s);
  s->n = 0;
  PUT(s, 0x01, 0x70, 0x00, 0x01);
  put_named_section(b, 4, "table", s);
  s->n = 0;
  PUT(s, 0x01, 0x00, 0x01);
  put_named_section(b, 5, "memory", s);
  s->n = 0;
  PUT(s, 0x01, 0x7f, 0x00, 0x41, 0x2a, 0x0b);
  put_named_section(b, 6, "global", s);
  s->n = 0;
  PUT(s, 0x01, 0x03, 'a', 'd', 'd', 0x00, 0x00);
  put_named_section(b, 7, "export", s);
  s->n = 0;
  PUT(s, 0x01, 0x07, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x0b);
  put_named_section(b, 10, "code", s);
  s->n = 0;
  PUT(s, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x02, 'h', 'i');
  put_named_section(b, 11, "data", s);
  free(s);
  return b;
}

/* A module of the header and one section. */
static buf *one_section(uint8_t id, const void *content, size_t n) {
  buf *b = buf_new();
  put_header(b);
  put_u8(b, id);
  put_leb(b, n);
  put(b, content, n);
  return b;
}

/* type () -> (), one function of that type, and a code section holding `body` as is (the
 * caller gives the body size and entries). */
static buf *with_code(const void *code, size_t n) {
  buf *b = buf_new();
  put_header(b);
  PUT(b, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00); /* type section */
  PUT(b, 0x03, 0x02, 0x01, 0x00);             /* function section */
  put_u8(b, 0x0a);
  put_leb(b, n);
  put(b, code, n);
  return b;
}

/* ---- checking errors ------------------------------------------------------------------- */

static const char *kind_name(iw_errkind k) {
  static const char *const n[] = {"ok",        "malformed", "invalid",  "unlinkable", "trap",
                                  "exhausted", "exit",      "resource", "usage"};
  return (unsigned)k < sizeof n / sizeof n[0] ? n[k] : "?";
}

/* iw_module_new() must fail with `kind`; the message must hold "offset", and `section`
 * (e.g. "type section") unless NULL; err.offset must lie within the input. */
static void expect_fail_at(const char *what, const uint8_t *p, size_t n, iw_errkind kind,
                           const char *section, int line) {
  iw_error err;
  memset(&err, 0, sizeof err);
  iw_module *m = iw_module_new(p, n, &err);
  if (m) {
    fprintf(stderr, "  line %d: %s: module accepted, expected %s\n", line, what, kind_name(kind));
    unit_case_failed = 1;
    iw_module_free(m);
    return;
  }
  bool ok = err.kind == kind && strstr(err.msg, "offset") && err.offset >= 0 &&
            (uint64_t)err.offset <= n && (!section || strstr(err.msg, section));
  if (!ok) {
    fprintf(stderr,
            "  line %d: %s: got %s (offset %lld) `%s`; expected %s naming %s and an offset\n", line,
            what, kind_name(err.kind), (long long)err.offset, err.msg, kind_name(kind),
            section ? section : "no section");
    unit_case_failed = 1;
  }
}

#define EXPECT_FAIL(what, b, kind, section)                                                        \
  expect_fail_at(what, (b)->p, (b)->n, kind, section, __LINE__)

static void expect_ok_at(const char *what, const uint8_t *p, size_t n, int line) {
  iw_error err;
  memset(&err, 0, sizeof err);
  iw_module *m = iw_module_new(p, n, &err);
  if (!m) {
    fprintf(stderr, "  line %d: %s: rejected (%s): %s\n", line, what, kind_name(err.kind), err.msg);
    unit_case_failed = 1;
    return;
  }
  iw_module_free(m);
}

#define EXPECT_OK(what, b) expect_ok_at(what, (b)->p, (b)->n, __LINE__)

/* Runs fn(arg) in a child with a time limit (and an address-space limit when `cap_memory`);
 * returns its exit status, or 1000 + the signal that ended it. */
static int isolated(int (*fn)(void *), void *arg, bool cap_memory, unsigned seconds) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) return 2000;
  if (pid == 0) {
    alarm(seconds);
    if (cap_memory && !UNDER_ASAN) {
      /* What the process maps now, plus 1 GiB: room for any sane decoder, not for an array
       * sized by a 2^32 count. */
      long pages = 0;
      FILE *f = fopen("/proc/self/statm", "r");
      if (f) {
        if (fscanf(f, "%ld", &pages) != 1) pages = 0;
        fclose(f);
      }
      rlim_t lim = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)1 << 30);
      struct rlimit rl = {lim, lim};
      setrlimit(RLIMIT_AS, &rl);
    }
    _exit(fn(arg));
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) return 1000 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

/* A child's report of iw_module_new(): 100 accepted, else the error kind. */
static int child_decode(void *arg) {
  buf *b = arg;
  iw_error err;
  memset(&err, 0, sizeof err);
  iw_module *m = iw_module_new(b->p, b->n, &err);
  if (m) {
    iw_module_free(m);
    return 100;
  }
  if (!strstr(err.msg, "offset")) fprintf(stderr, "  message without an offset: `%s`\n", err.msg);
  return (int)err.kind;
}

static const char *status_name(int st) {
  static char s[64];
  if (st == 100) return "accepted";
  if (st >= 1000 && st < 2000) {
    snprintf(s, sizeof s, "killed by signal %d (%s)", st - 1000, strsignal(st - 1000));
    return s;
  }
  if (st == 2000) return "fork failed";
  return kind_name((iw_errkind)st);
}

static void expect_isolated_at(const char *what, buf *b, int want, int line) {
  int st = isolated(child_decode, b, true, 10);
  if (st != want) {
    fprintf(stderr, "  line %d: %s: %s, expected %s\n", line, what, status_name(st),
            status_name(want));
    unit_case_failed = 1;
  }
}

#define EXPECT_ISOLATED(what, b, want) expect_isolated_at(what, b, want, __LINE__)

/* ---- the cases ------------------------------------------------------------------------- */

static void valid_module_loads(void) {
  buf *b = valid_module();
  iw_error err;
  memset(&err, 0, sizeof err);
  iw_module *m = iw_module_new(b->p, b->n, &err);
  CHECK(m != NULL);
  if (!m) fprintf(stderr, "  valid module rejected: %s\n", err.msg);
  if (m) {
    CHECK(iw_module_import_count(m) == 0);
    CHECK(iw_module_export_count(m) == 1);
    iw_store *st = iw_store_new(NULL, &err);
    CHECK(st != NULL);
    iw_instance *inst = st ? iw_instantiate(st, m, NULL, 0, &err) : NULL;
    CHECK(inst != NULL);
    iw_extern ext;
    if (inst && iw_instance_export(inst, "add", &ext) == 0 && ext.kind == IW_EXTERN_FUNC) {
      iw_val arg = {.type = IW_I32, .of.i32 = 41}, res = {0};
      CHECK(iw_call(st, ext.of.func, &arg, 1, &res, 1, &err) == 0);
      CHECK(res.type == IW_I32 && res.of.i32 == 42);
    } else {
      fprintf(stderr, "  no function export `add`\n");
      unit_case_failed = 1;
    }
    iw_store_free(st);
    iw_module_free(m);
  }
  free(b);
}

/* Every proper prefix: valid where it ends on a section boundary that leaves a complete module
 * (the header alone, after the type section, after the code section); malformed elsewhere,
 * naming the section it cuts into. */
static void truncated_prefixes(void) {
  buf *b = valid_module();
  size_t after_type = sects[0].end, after_code = 0;
  for (size_t i = 0; i < nsects; i++)
    if (!strcmp(sects[i].name, "code")) after_code = sects[i].end;
  for (size_t len = 0; len < b->n; len++) {
    char what[64], section[64];
    snprintf(what, sizeof what, "prefix of %zu of %zu bytes", len, b->n);
    if (len == 8 || len == after_type || len == after_code) {
      expect_ok_at(what, b->p, len, __LINE__);
      continue;
    }
    const char *name = NULL;
    for (size_t i = 0; i < nsects; i++)
      if (len >= sects[i].content && len < sects[i].end) name = sects[i].name;
    if (name) snprintf(section, sizeof section, "%s section", name);
    /* Cut in the header: no section; cut between sections or after an id byte: some section
     * (function/code mismatch, or the one whose size is missing). */
    expect_fail_at(what, b->p, len, IW_ERR_MALFORMED,
                   len < 8 ? NULL
                   : name  ? section
                           : "section",
                   __LINE__);
  }
  free(b);
}

static void bad_magic_and_version(void) {
  buf *b = valid_module();
  b->p[1] = 'b';
  EXPECT_FAIL("wrong magic", b, IW_ERR_MALFORMED, "magic");
  b->p[1] = 'a';
  b->p[4] = 2;
  EXPECT_FAIL("version 2", b, IW_ERR_MALFORMED, "version");
  b->p[4] = 1;
  b->p[7] = 1;
  EXPECT_FAIL("version 0x01000001", b, IW_ERR_MALFORMED, "version");
  static const uint8_t empty[1] = {0};
  expect_fail_at("empty input", empty, 0, IW_ERR_MALFORMED, NULL, __LINE__);
  static const uint8_t text[] = "(module)";
  expect_fail_at("text format", text, sizeof text - 1, IW_ERR_MALFORMED, "magic", __LINE__);
  free(b);
}

/* Counts of 2^32-1 in a few bytes: rejected at once, without allocating by the count. */
static void oversized_counts(void) {
  static const struct {
    const char *what;
    uint8_t id;
    uint8_t content[16];
    size_t n;
  } cases[] = {
      {"type count 2^32-1", 1, {0xff, 0xff, 0xff, 0xff, 0x0f, 0x60}, 6},
      {"import count 2^32-1", 2, {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, 6},
      {"function count 2^32-1", 3, {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, 6},
      {"table count 2^32-1", 4, {0xff, 0xff, 0xff, 0xff, 0x0f, 0x70, 0x00, 0x00}, 8},
      {"memory count 2^32-1", 5, {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00}, 7},
      {"global count 2^32-1", 6, {0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f}, 6},
      {"export count 2^32-1", 7, {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, 6},
      {"element count 2^32-1", 9, {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, 6},
      {"code count 2^32-1", 10, {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, 6},
      {"data count 2^32-1", 11, {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, 6},
      {"type with 2^32-1 params", 1, {0x01, 0x60, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f}, 8},
      {"export name of 2^32-1 bytes", 7, {0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'}, 7},
      {"custom section name of 2^32-1 bytes", 0, {0xff, 0xff, 0xff, 0xff, 0x0f, 'a'}, 6},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    buf *b = one_section(cases[i].id, cases[i].content, cases[i].n);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_ISOLATED(cases[i].what, b, IW_ERR_MALFORMED);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (s > 2.0) {
      fprintf(stderr, "  %s: took %.1f s\n", cases[i].what, s);
      unit_case_failed = 1;
    }
    if (i == 0) EXPECT_FAIL(cases[i].what, b, IW_ERR_MALFORMED, "type section");
    free(b);
  }

  /* Locals: two declarations that add up past 2^32-1 are malformed ("too many locals");
   * one declaration of 2^32-1 locals may be refused or accepted, but never allocated. */
  buf *b = with_code((const uint8_t[]){0x01, 0x0e, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0xff,
                                       0xff, 0xff, 0xff, 0x0f, 0x7e, 0x0b},
                     16);
  EXPECT_ISOLATED("locals adding up past 2^32-1", b, IW_ERR_MALFORMED);
  free(b);
  b = with_code((const uint8_t[]){0x01, 0x08, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b}, 10);
  int st = isolated(child_decode, b, true, 10);
  if (st != 100 && st != IW_ERR_MALFORMED && st != IW_ERR_INVALID && st != IW_ERR_RESOURCE) {
    fprintf(stderr, "  2^32-1 locals: %s\n", status_name(st));
    unit_case_failed = 1;
  }
  free(b);
}

static void leb128_overflow(void) {
  buf *b;
  /* Too long: a u32 in 6 bytes. */
  b = one_section(1, (const uint8_t[]){0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x60, 0x00, 0x00}, 9);
  EXPECT_FAIL("type count in 6 LEB bytes", b, IW_ERR_MALFORMED, "type section");
  free(b);
  /* Unused bits set in the 5th byte of a u32 (memory minimum). */
  b = one_section(5, (const uint8_t[]){0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x7f}, 7);
  EXPECT_FAIL("memory min with unused bits set", b, IW_ERR_MALFORMED, "memory section");
  free(b);
  /* Section size itself overlong. */
  b = buf_new();
  put_header(b);
  PUT(b, 0x01, 0x84, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x60, 0x00, 0x00);
  EXPECT_FAIL("section size in 6 LEB bytes", b, IW_ERR_MALFORMED, "offset");
  free(b);
  /* Signed: i32.const whose 5th byte's unused bits disagree with the sign (global init). */
  b = one_section(6, (const uint8_t[]){0x01, 0x7f, 0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x4f, 0x0b},
                  10);
  EXPECT_FAIL("i32.const with unused bits set", b, IW_ERR_MALFORMED, "global section");
  free(b);
  b = one_section(6, (const uint8_t[]){0x01, 0x7f, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x70, 0x0b},
                  10);
  EXPECT_FAIL("i32.const 0x70 in the 5th byte", b, IW_ERR_MALFORMED, "global section");
  free(b);
  /* i64.const in 11 bytes. */
  b = one_section(6,
                  (const uint8_t[]){0x01, 0x7e, 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                    0x80, 0x80, 0x80, 0x80, 0x00, 0x0b},
                  16);
  EXPECT_FAIL("i64.const in 11 LEB bytes", b, IW_ERR_MALFORMED, "global section");
  free(b);
  /* A LEB cut off by the end of its section. */
  b = one_section(1, (const uint8_t[]){0x81, 0x80}, 2);
  EXPECT_FAIL("LEB cut by the section end", b, IW_ERR_MALFORMED, "type section");
  free(b);
}

static void memory_limits(void) {
  buf *b;
  b = one_section(5, (const uint8_t[]){0x01, 0x00, 0x81, 0x80, 0x04}, 5); /* min 65537 */
  EXPECT_FAIL("memory min 65537 pages", b, IW_ERR_INVALID, "memory section");
  free(b);
  b = one_section(5, (const uint8_t[]){0x01, 0x01, 0x00, 0x81, 0x80, 0x04}, 6); /* max 65537 */
  EXPECT_FAIL("memory max 65537 pages", b, IW_ERR_INVALID, "memory section");
  free(b);
  b = one_section(5, (const uint8_t[]){0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f}, 7);
  EXPECT_FAIL("memory min 2^32-1 pages", b, IW_ERR_INVALID, "memory section");
  free(b);
  b = one_section(5, (const uint8_t[]){0x01, 0x01, 0x02, 0x01}, 4); /* min 2 > max 1 */
  EXPECT_FAIL("memory min > max", b, IW_ERR_INVALID, "memory section");
  free(b);
  b = one_section(5, (const uint8_t[]){0x02, 0x00, 0x00, 0x00, 0x00}, 5);
  EXPECT_FAIL("two memories", b, IW_ERR_INVALID, "memory section");
  free(b);
  b = one_section(5, (const uint8_t[]){0x01, 0x04, 0x00}, 3);
  EXPECT_FAIL("memory limits flag 4", b, IW_ERR_MALFORMED, "memory section");
  free(b);

  /* 65536 pages is valid; a store capped at 16 pages cannot instantiate it. */
  b = one_section(5, (const uint8_t[]){0x01, 0x00, 0x80, 0x80, 0x04}, 5);
  iw_error err;
  memset(&err, 0, sizeof err);
  iw_module *m = iw_module_new(b->p, b->n, &err);
  CHECK(m != NULL);
  if (m) {
    iw_limits lim = {.max_memory_pages = 16};
    iw_store *st = iw_store_new(&lim, &err);
    CHECK(st != NULL);
    iw_instance *inst = st ? iw_instantiate(st, m, NULL, 0, &err) : NULL;
    CHECK(inst == NULL);
    CHECK(inst || err.kind == IW_ERR_RESOURCE);
    iw_store_free(st);
    iw_module_free(m);
  }
  free(b);
}

static int child_instantiate(void *arg) {
  buf *b = arg;
  iw_error err;
  memset(&err, 0, sizeof err);
  iw_module *m = iw_module_new(b->p, b->n, &err);
  if (!m) return (int)err.kind;
  iw_store *st = iw_store_new(NULL, &err);
  if (!st) return 50;
  iw_instance *inst = iw_instantiate(st, m, NULL, 0, &err);
  int rc = inst ? 100 : (int)err.kind;
  iw_store_free(st);
  iw_module_free(m);
  return rc;
}

static void table_limits(void) {
  buf *b;
  /* 2^32-1 elements is a valid table type (2.0 limits tables only by u32); instantiating it
   * must fail cleanly for lack of memory, or succeed, not crash. */
  b = one_section(4, (const uint8_t[]){0x01, 0x70, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f}, 8);
  EXPECT_OK("table min 2^32-1", b);
  int st = isolated(child_instantiate, b, false, 20);
  if (st != 100 && st != IW_ERR_RESOURCE) {
    fprintf(stderr, "  instantiating a table of 2^32-1: %s\n", status_name(st));
    unit_case_failed = 1;
  }
  free(b);
  b = one_section(4, (const uint8_t[]){0x01, 0x70, 0x01, 0x0a, 0x05}, 5); /* min 10 > max 5 */
  EXPECT_FAIL("table min > max", b, IW_ERR_INVALID, "table section");
  free(b);
  b = one_section(4, (const uint8_t[]){0x01, 0x70, 0x00, 0xff, 0xff, 0xff, 0xff, 0x1f}, 8);
  EXPECT_FAIL("table min past u32", b, IW_ERR_MALFORMED, "table section");
  free(b);
  b = one_section(4, (const uint8_t[]){0x01, 0x70, 0x02, 0x00}, 4);
  EXPECT_FAIL("table limits flag 2", b, IW_ERR_MALFORMED, "table section");
  free(b);
  b = one_section(4, (const uint8_t[]){0x01, 0x7f, 0x00, 0x00}, 4);
  EXPECT_FAIL("table of i32", b, IW_ERR_MALFORMED, "table section");
  free(b);
}

enum { NESTED_NO_INSTANCE = 60, NESTED_CALL_FAILED = 70 };

/* 100,000 nested blocks: the decoder and validator must not recurse on the host stack per
 * block. Either outcome is fine if it is clean; if accepted, the function must also run. */
static int child_nested(void *arg) {
  buf *b = arg;
  iw_error err;
  memset(&err, 0, sizeof err);
  iw_module *m = iw_module_new(b->p, b->n, &err);
  if (!m) return (int)err.kind;
  iw_store *st = iw_store_new(NULL, &err);
  iw_instance *inst = st ? iw_instantiate(st, m, NULL, 0, &err) : NULL;
  iw_extern ext;
  int rc = NESTED_NO_INSTANCE;
  if (inst && iw_instance_export(inst, "f", &ext) == 0 && ext.kind == IW_EXTERN_FUNC)
    rc = iw_call(st, ext.of.func, NULL, 0, NULL, 0, &err) == 0 ? 100
                                                               : NESTED_CALL_FAILED + (int)err.kind;
  if (rc != 100) fprintf(stderr, "  nested: %s\n", err.msg);
  iw_store_free(st);
  iw_module_free(m);
  return rc;
}

static buf *nested_module(uint8_t opcode, size_t depth, bool with_ends) {
  buf *body = buf_new(), *code = buf_new(), *b = buf_new();
  put_u8(body, 0x00); /* no locals */
  for (size_t i = 0; i < depth; i++)
    put_u8(body, opcode), put_u8(body, 0x40);
  if (with_ends)
    for (size_t i = 0; i <= depth; i++)
      put_u8(body, 0x0b);
  put_u8(code, 0x01);
  put_leb(code, body->n);
  put(code, body->p, body->n);
  put_header(b);
  PUT(b, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00);      /* type () -> () */
  PUT(b, 0x03, 0x02, 0x01, 0x00);                  /* function */
  PUT(b, 0x07, 0x05, 0x01, 0x01, 'f', 0x00, 0x00); /* export "f" */
  put_section(b, 10, code);
  free(body);
  free(code);
  return b;
}

static void deep_nesting(void) {
  static const struct {
    const char *what;
    uint8_t op;
  } kinds[] = {{"block", 0x02}, {"loop", 0x03}};
  for (size_t k = 0; k < 2; k++) {
    buf *b = nested_module(kinds[k].op, 100000, true);
    int st = isolated(child_nested, b, false, 60);
    bool clean = st == 100 || st == IW_ERR_MALFORMED || st == IW_ERR_INVALID ||
                 st == IW_ERR_RESOURCE || st == NESTED_CALL_FAILED + IW_ERR_EXHAUSTED;
    if (!clean) {
      fprintf(stderr, "  100,000 nested %s: %s\n", kinds[k].what,
              st == NESTED_NO_INSTANCE                                   ? "not instantiated"
              : st >= NESTED_CALL_FAILED && st < NESTED_CALL_FAILED + 10 ? "the call failed"
                                                                         : status_name(st));
      unit_case_failed = 1;
    }
    free(b);
    /* Opened and never closed: malformed (the body ends inside the blocks). */
    b = nested_module(kinds[k].op, 100000, false);
    st = isolated(child_decode, b, false, 60);
    if (st != IW_ERR_MALFORMED) {
      fprintf(stderr, "  100,000 unclosed %s: %s, expected malformed\n", kinds[k].what,
              status_name(st));
      unit_case_failed = 1;
    }
    free(b);
  }
}

static void body_without_end(void) {
  buf *b;
  b = with_code((const uint8_t[]){0x01, 0x02, 0x00, 0x01}, 4); /* nop, no end */
  EXPECT_FAIL("body without end", b, IW_ERR_MALFORMED, "code section");
  free(b);
  b = with_code((const uint8_t[]){0x01, 0x01, 0x00}, 3); /* no instructions at all */
  EXPECT_FAIL("empty body", b, IW_ERR_MALFORMED, "code section");
  free(b);
  b = with_code((const uint8_t[]){0x01, 0x04, 0x00, 0x0b, 0x01, 0x0b}, 6); /* code after end */
  EXPECT_FAIL("instructions after the final end", b, IW_ERR_MALFORMED, "code section");
  free(b);
  b = with_code((const uint8_t[]){0x01, 0x03, 0x00, 0x41, 0x0b},
                5); /* i32.const, immediate is the end */
  EXPECT_FAIL("i32.const eating the end", b, IW_ERR_MALFORMED, "code section");
  free(b);
}

static void section_past_end(void) {
  buf *b = buf_new();
  put_header(b);
  PUT(b, 0x01, 0x64, 0x01, 0x60, 0x00, 0x00); /* size 100, 4 bytes follow */
  EXPECT_FAIL("type section size past the end", b, IW_ERR_MALFORMED, "type section");
  free(b);
  /* A function body whose size runs past its section. */
  b = with_code((const uint8_t[]){0x01, 0x10, 0x00, 0x0b}, 4);
  EXPECT_FAIL("body size past the code section", b, IW_ERR_MALFORMED, "code section");
  free(b);
  /* A section that holds more than its entries use. */
  b = one_section(1, (const uint8_t[]){0x01, 0x60, 0x00, 0x00, 0x00}, 5);
  EXPECT_FAIL("bytes left over in the type section", b, IW_ERR_MALFORMED, "type section");
  free(b);
  /* Sections out of order, twice, or unknown. */
  b = buf_new();
  put_header(b);
  PUT(b, 0x03, 0x01, 0x00, 0x01, 0x01, 0x00);
  EXPECT_FAIL("type section after function section", b, IW_ERR_MALFORMED, "offset");
  free(b);
  b = buf_new();
  put_header(b);
  PUT(b, 0x01, 0x01, 0x00, 0x01, 0x01, 0x00);
  EXPECT_FAIL("two type sections", b, IW_ERR_MALFORMED, "offset");
  free(b);
  b = buf_new();
  put_header(b);
  PUT(b, 0x0e, 0x01, 0x00);
  EXPECT_FAIL("section id 14", b, IW_ERR_MALFORMED, "offset");
  free(b);
}

/* Every byte of the valid module replaced by a few values: never a crash; a rejection is
 * malformed or invalid and carries an offset. Runs in a child so a crash names the mutation. */
static int child_mutations(void *arg) {
  (void)arg;
  buf *b = valid_module();
  static const int vals[] = {0x00, 0x01, 0x40, 0x7f, 0x80, 0xff, -1, -2};
  int bad = 0;
  for (size_t i = 8; i < b->n; i++) {
    uint8_t orig = b->p[i];
    for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
      uint8_t nv = vals[v] == -1   ? (uint8_t)(orig + 1)
                   : vals[v] == -2 ? (uint8_t)(orig ^ 0x40)
                                   : (uint8_t)vals[v];
      if (nv == orig) continue;
      b->p[i] = nv;
      iw_error err;
      memset(&err, 0, sizeof err);
      iw_module *m = iw_module_new(b->p, b->n, &err);
      if (m) {
        iw_module_free(m);
      } else if ((err.kind != IW_ERR_MALFORMED && err.kind != IW_ERR_INVALID) ||
                 !strstr(err.msg, "offset")) {
        if (bad++ < 5)
          fprintf(stderr, "  byte %zu 0x%02x -> 0x%02x: %s `%s`\n", i, orig, nv,
                  kind_name(err.kind), err.msg);
      }
      b->p[i] = orig;
    }
  }
  free(b);
  return bad ? 1 : 0;
}

static void single_byte_mutations(void) {
  int st = isolated(child_mutations, NULL, false, 60);
  if (st != 0) {
    fprintf(stderr, "  mutations: %s\n", st == 1 ? "bad rejections (above)" : status_name(st));
    unit_case_failed = 1;
  }
}

int main(void) {
  RUN(valid_module_loads);
  RUN(truncated_prefixes);
  RUN(bad_magic_and_version);
  RUN(oversized_counts);
  RUN(leb128_overflow);
  RUN(memory_limits);
  RUN(table_limits);
  RUN(deep_nesting);
  RUN(body_without_end);
  RUN(section_past_end);
  RUN(single_byte_mutations);
  return UNIT_END();
}
