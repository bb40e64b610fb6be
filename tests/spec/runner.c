/* spec-runner: runs the WebAssembly spec testsuite (wast2json form) against isola's engine.
 *
 *   spec-runner [-v] [--parse-only] [--no-fork] [FILE.json | DIR | NAME]...
 *
 * With no arguments it runs every json/NAME/NAME.json of the suite: $WASM_SPEC_DIR, else
 * ../shared/wasm-spec/json beside the repository (found from the binary's path, then from
 * the working directory). Each script runs in a child process with a timeout
 * ($WASM_SPEC_TIMEOUT seconds, default 300), so a crash or a hang of the engine costs the
 * rest of that script's commands (counted as failed), not the run. The child reports each
 * command's result over a pipe as two bytes: (spec_kind, spec_result).
 *
 * Output: failures (the first few per script, all with -v), a line per script, a breakdown
 * by command type, and last "N passed, N failed, N skipped". Exit status 1 when anything
 * failed. --parse-only checks the parser alone: every command parses, and the command counts
 * per script equal wasm-spec/assertion-counts.tsv.
 */
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spec.h"

#define SUITE_ORIGIN                                                                               \
  "WebAssembly/testsuite at commit a8101597d3c3, converted by wabt's wast2json 1.0.41"

typedef struct tally {
  long pass, fail, skip;
} tally;

typedef struct totals {
  tally kind[K_COUNT];
  tally script; /* script-level failures: unreadable, count mismatch */
} totals;

typedef struct counts_row {
  char name[128];
  long c[C_COUNT];
} counts_row;

typedef struct counts_table {
  size_t n;
  counts_row *rows;
} counts_table;

typedef struct opts {
  bool verbose, parse_only, fork;
  int timeout;
} opts;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- finding the suite ----------------------------------------------------------------- */

/* Walks up from `start` to the repository root (it holds include/isola/wasm.h) and returns
 * ROOT/../shared/wasm-spec/json if that is a directory. */
static char *suite_from(const char *start) {
  char dir[PATH_MAX];
  if (!realpath(start, dir)) return NULL;
  for (;;) {
    char probe[PATH_MAX + 64];
    snprintf(probe, sizeof probe, "%s/include/isola/wasm.h", dir);
    if (is_file(probe)) {
      snprintf(probe, sizeof probe, "%s/../shared/wasm-spec/json", dir);
      char real[PATH_MAX];
      return is_dir(probe) && realpath(probe, real) ? strdup(real) : NULL;
    }
    if (!strcmp(dir, "/")) return NULL;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
      dir[1] = 0;
    else
      *slash = 0;
  }
}

static char *find_suite(void) {
  const char *env = getenv("WASM_SPEC_DIR");
  if (env && *env) return is_dir(env) ? strdup(env) : NULL;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    char *s = suite_from(dirname(exe));
    if (s) return s;
  }
  return suite_from(".");
}

/* ---- the expected counts --------------------------------------------------------------- */

static void counts_free(counts_table *t) {
  free(t->rows);
  t->rows = NULL;
  t->n = 0;
}

/* Reads assertion-counts.tsv: a header naming the columns, then one row per script. */
static int counts_load(const char *path, counts_table *t, char *why, size_t whylen) {
  memset(t, 0, sizeof *t);
  _cleanup_fclose_ FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(why, whylen, "open `%s`: %s", path, strerror(errno));
    return -1;
  }
  char line[4096];
  int col[64]; /* column -> C_ slot, or -1 */
  int ncols = 0;
  if (!fgets(line, sizeof line, f)) {
    snprintf(why, whylen, "%s: empty", path);
    return -1;
  }
  for (char *save = NULL, *tok = strtok_r(line, "\t\n", &save); tok && ncols < 64;
       tok = strtok_r(NULL, "\t\n", &save)) {
    col[ncols] = -1;
    for (int c = 0; c < C_COUNT; c++)
      if (!strcmp(tok, spec_count_names[c])) col[ncols] = c;
    ncols++;
  }
  for (int c = 0; c < C_COUNT; c++) {
    bool found = false;
    for (int i = 0; i < ncols; i++)
      found |= col[i] == c;
    if (!found) {
      snprintf(why, whylen, "%s: no column `%s`", path, spec_count_names[c]);
      return -1;
    }
  }
  size_t cap = 0;
  while (fgets(line, sizeof line, f)) {
    if (t->n == cap) {
      cap = cap ? 2 * cap : 256;
      counts_row *n = realloc(t->rows, cap * sizeof *n);
      if (!n) {
        snprintf(why, whylen, "out of memory");
        counts_free(t);
        return -1;
      }
      t->rows = n;
    }
    counts_row *row = &t->rows[t->n];
    memset(row, 0, sizeof *row);
    int i = 0;
    for (char *save = NULL, *tok = strtok_r(line, "\t\n", &save); tok && i < ncols;
         tok = strtok_r(NULL, "\t\n", &save), i++) {
      if (i == 0)
        snprintf(row->name, sizeof row->name, "%s", tok);
      else if (col[i] >= 0)
        row->c[col[i]] = strtol(tok, NULL, 10);
    }
    if (i > 0) t->n++;
  }
  return 0;
}

static const counts_row *counts_find(const counts_table *t, const char *name) {
  for (size_t i = 0; i < t->n; i++)
    if (!strcmp(t->rows[i].name, name)) return &t->rows[i];
  return NULL;
}

/* 0 when the script's command counts equal the table's row; else -1 and a description. */
static int counts_check(const counts_table *t, const spec_script *s, char *why, size_t len) {
  const counts_row *row = counts_find(t, s->name);
  if (!row) {
    snprintf(why, len, "not in assertion-counts.tsv");
    return -1;
  }
  long got[C_COUNT];
  spec_script_counts(s, got);
  why[0] = 0;
  for (int c = 0; c < C_COUNT; c++)
    if (got[c] != row->c[c]) {
      size_t used = strlen(why);
      snprintf(why + used, len - used, "%s%s: parsed %ld, expected %ld", used ? "; " : "",
               spec_count_names[c], got[c], row->c[c]);
    }
  return why[0] ? -1 : 0;
}

/* ---- the list of scripts --------------------------------------------------------------- */

typedef struct paths {
  size_t n, cap;
  char **v;
} paths;

static int paths_add(paths *p, const char *s) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 256;
    char **n = realloc(p->v, cap * sizeof *n);
    if (!n) return -1;
    p->v = n;
    p->cap = cap;
  }
  if (!(p->v[p->n] = strdup(s))) return -1;
  p->n++;
  return 0;
}

static void paths_free(paths *p) {
  for (size_t i = 0; i < p->n; i++)
    free(p->v[i]);
  free(p->v);
}

/* Adds DIR/ *.json, or if there are none DIR/ * / *.json (the suite's own layout). */
static int add_dir(paths *p, const char *dir) {
  char pat[PATH_MAX];
  glob_t g;
  snprintf(pat, sizeof pat, "%s/*.json", dir);
  int rc = glob(pat, 0, NULL, &g);
  if (rc == GLOB_NOMATCH) {
    snprintf(pat, sizeof pat, "%s/*/*.json", dir);
    rc = glob(pat, 0, NULL, &g);
  }
  if (rc != 0) {
    if (rc != GLOB_NOMATCH) globfree(&g);
    return 0;
  }
  int out = 0;
  for (size_t i = 0; i < g.gl_pathc && out == 0; i++)
    out = paths_add(p, g.gl_pathv[i]);
  globfree(&g);
  return out;
}

/* An argument: a path to a .json file or a directory, else a name within the suite ("i32",
 * "i32.json", "simd_lane"). Returns -1 when it names nothing. */
static int add_arg(paths *p, const char *arg, const char *suite) {
  if (is_file(arg)) return paths_add(p, arg);
  if (is_dir(arg)) return add_dir(p, arg);
  if (!suite) return -1;
  char stem[NAME_MAX + 1], cand[PATH_MAX];
  snprintf(stem, sizeof stem, "%s", arg);
  size_t n = strlen(stem);
  if (n > 5 && !strcmp(stem + n - 5, ".json")) stem[n - 5] = 0;
  snprintf(cand, sizeof cand, "%s/%s/%s.json", suite, stem, stem);
  if (is_file(cand)) return paths_add(p, cand);
  snprintf(cand, sizeof cand, "%s/%s.json", suite, stem);
  if (is_file(cand)) return paths_add(p, cand);
  snprintf(cand, sizeof cand, "%s/%s", suite, stem);
  if (is_dir(cand)) return add_dir(p, cand);
  return -1;
}

/* ---- running one script ---------------------------------------------------------------- */

static void tally_add(tally *t, spec_result r) {
  if (r == R_PASS)
    t->pass++;
  else if (r == R_SKIP)
    t->skip++;
  else
    t->fail++;
}

/* In-process reporting (--no-fork). */
static void report_direct(void *ctx, const spec_cmd *c, spec_result r) {
  tally_add(&((totals *)ctx)->kind[c->kind], r);
}

/* In the child: two bytes per command to the parent. */
static void report_pipe(void *ctx, const spec_cmd *c, spec_result r) {
  int fd = *(int *)ctx;
  unsigned char msg[2] = {(unsigned char)c->kind, (unsigned char)r};
  ssize_t n;
  do
    n = write(fd, msg, 2);
  while (n < 0 && errno == EINTR);
}

/* Runs `s` in a child; the commands it never reported (crash, hang) count as failed. */
static void run_forked(const spec_script *s, const spec_run_opts *ro, int timeout, totals *t) {
  int fds[2];
  if (pipe(fds) < 0) {
    printf("%s.json: pipe: %s\n", s->name, strerror(errno));
    t->script.fail++;
    return;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    printf("%s.json: fork: %s\n", s->name, strerror(errno));
    close(fds[0]);
    close(fds[1]);
    t->script.fail++;
    return;
  }
  if (pid == 0) {
    close(fds[0]);
    spec_script_run(s, ro, report_pipe, &fds[1]);
    close(fds[1]);
    fflush(stdout);
    exit(0); /* exit, not _exit: sanitizers check for leaks at exit */
  }
  close(fds[1]);
  size_t done = 0;
  bool timed_out = false;
  double deadline = now_s() + timeout;
  unsigned char buf[4096];
  size_t have = 0;
  for (;;) {
    int left = (int)((deadline - now_s()) * 1000);
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    int pr = poll(&pfd, 1, left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) continue; /* re-checks the deadline */
    ssize_t n = read(fds[0], buf + have, sizeof buf - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += (size_t)n;
    size_t i = 0;
    for (; i + 1 < have && done < s->ncmds; i += 2, done++) {
      unsigned k = buf[i];
      tally_add(&t->kind[k < K_COUNT ? k : K_UNKNOWN], (spec_result)buf[i + 1]);
    }
    memmove(buf, buf + i, have - i);
    have -= i;
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  bool ok = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (ok && done == s->ncmds) return;

  char how[128];
  if (timed_out)
    snprintf(how, sizeof how, "timed out after %d s", timeout);
  else if (WIFSIGNALED(status))
    snprintf(how, sizeof how, "crashed (signal %d, %s)", WTERMSIG(status),
             strsignal(WTERMSIG(status)));
  else
    snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
  if (done < s->ncmds) {
    const spec_cmd *c = &s->cmds[done];
    printf("%s.json:%ld: %s %s: %s; this and the %zu commands after it count as failed\n", s->name,
           c->line, c->type,
           c->has_action ? c->action.field
           : c->filename ? c->filename
                         : "",
           how, s->ncmds - done - 1);
    for (size_t i = done; i < s->ncmds; i++)
      t->kind[s->cmds[i].kind].fail++;
  } else {
    printf("%s.json: %s after its last command\n", s->name, how);
    t->script.fail++;
  }
}

static long tally_sum(const totals *t, int which) {
  long n = 0;
  for (int k = 0; k <= K_COUNT; k++) {
    const tally *x = k < K_COUNT ? &t->kind[k] : &t->script;
    n += which == 0 ? x->pass : which == 1 ? x->fail : x->skip;
  }
  return n;
}

static void totals_add(totals *into, const totals *t) {
  for (int k = 0; k < K_COUNT; k++) {
    into->kind[k].pass += t->kind[k].pass;
    into->kind[k].fail += t->kind[k].fail;
    into->kind[k].skip += t->kind[k].skip;
  }
  into->script.pass += t->script.pass;
  into->script.fail += t->script.fail;
  into->script.skip += t->script.skip;
}

/* ---- --parse-only ---------------------------------------------------------------------- */

static int parse_only(const paths *files, const counts_table *ct, bool have_counts) {
  long pass = 0, fail = 0, kinds[K_COUNT] = {0};
  int wrong = spec_selftest();
  printf("value matcher self-test: %s\n", wrong ? "FAILED" : "ok");
  if (wrong)
    fail++;
  else
    pass++;
  for (size_t i = 0; i < files->n; i++) {
    spec_script s;
    char why[1024];
    if (spec_script_load(files->v[i], &s, why, sizeof why) < 0) {
      printf("%s: cannot load: %s\n", files->v[i], why);
      fail++;
      continue;
    }
    long bad = 0;
    for (size_t c = 0; c < s.ncmds; c++) {
      kinds[s.cmds[c].kind]++;
      if (s.cmds[c].bad) {
        if (bad++ < 5)
          printf("%s.json:%ld: %s: cannot parse: %s\n", s.name, s.cmds[c].line, s.cmds[c].type,
                 s.cmds[c].bad);
      }
    }
    bool counts_ok = !have_counts || counts_check(ct, &s, why, sizeof why) == 0;
    if (!counts_ok) printf("%s.json: command counts differ: %s\n", s.name, why);
    if (bad == 0 && counts_ok) {
      printf("%s: %zu commands parsed%s\n", s.name, s.ncmds,
             have_counts ? ", counts match assertion-counts.tsv" : "");
      pass++;
    } else {
      printf("%s: %ld commands unparsable%s\n", s.name, bad, counts_ok ? "" : ", counts differ");
      fail++;
    }
    spec_script_free(&s);
  }
  printf("commands by type:\n");
  for (int k = 0; k < K_COUNT; k++)
    if (kinds[k]) printf("  %-22s %7ld\n", spec_kind_names[k], kinds[k]);
  printf("%ld passed, %ld failed, 0 skipped\n", pass, fail);
  return fail ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(FILE *f) {
  fprintf(f, "usage: spec-runner [-v] [--parse-only] [--no-fork] [FILE.json | DIR | NAME]...\n"
             "  -v            print every failure, in full\n"
             "  --parse-only  parse the scripts and check the command counts against\n"
             "                assertion-counts.tsv; the engine is not used\n"
             "  --no-fork     run the scripts in this process (for debuggers and valgrind)\n"
             "environment: WASM_SPEC_DIR (the suite's json/ directory), WASM_SPEC_COUNTS (the\n"
             "counts table), WASM_SPEC_TIMEOUT (seconds per script, default 300)\n");
}

int main(int argc, char **argv) {
  opts o = {.fork = true, .timeout = 300};
  const char *tv = getenv("WASM_SPEC_TIMEOUT");
  if (tv && atoi(tv) > 0) o.timeout = atoi(tv);
  int first = 1;
  for (; first < argc && argv[first][0] == '-'; first++) {
    const char *a = argv[first];
    if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
      o.verbose = true;
    else if (!strcmp(a, "--parse-only"))
      o.parse_only = true;
    else if (!strcmp(a, "--no-fork"))
      o.fork = false;
    else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--")) {
      first++;
      break;
    } else {
      usage(stderr);
      return 2;
    }
  }
  setvbuf(stdout, NULL, _IOLBF, 0);

  _cleanup_free_ char *suite = find_suite();
  paths files = {0};
  if (first == argc) {
    if (!suite) {
      const char *env = getenv("WASM_SPEC_DIR");
      if (env && *env)
        printf("spec suite not found: WASM_SPEC_DIR=`%s` is not a directory\n", env);
      else
        printf("spec suite not found: set WASM_SPEC_DIR, or put it in ../shared/wasm-spec/json "
               "beside the repository\n");
      printf("  (the suite is " SUITE_ORIGIN ")\n");
      printf("0 passed, 0 failed, 1 skipped\n");
      return 0;
    }
    add_dir(&files, suite);
  } else {
    for (int i = first; i < argc; i++)
      if (add_arg(&files, argv[i], suite) < 0) {
        fprintf(stderr, "spec-runner: `%s`: no such script, directory or suite name%s\n", argv[i],
                suite ? "" : " (and the suite was not found)");
        paths_free(&files);
        return 2;
      }
  }

  /* The expected counts live beside json/. */
  counts_table ct = {0};
  bool have_counts = false;
  char why[8192];
  const char *cenv = getenv("WASM_SPEC_COUNTS");
  char cpath[PATH_MAX] = "";
  if (cenv && *cenv)
    snprintf(cpath, sizeof cpath, "%s", cenv);
  else if (suite)
    snprintf(cpath, sizeof cpath, "%s/../assertion-counts.tsv", suite);
  else if (files.n) {
    /* scripts given as paths: look beside their json/ directory */
    _cleanup_free_ char *d = strdup(files.v[0]);
    if (d) snprintf(cpath, sizeof cpath, "%s/../../assertion-counts.tsv", dirname(d));
  }
  if (cpath[0] && is_file(cpath)) {
    if (counts_load(cpath, &ct, why, sizeof why) == 0)
      have_counts = true;
    else
      printf("counts table unusable: %s\n", why);
  }

  if (o.parse_only) {
    if (!have_counts) printf("no assertion-counts.tsv found: counts not checked\n");
    int rc = parse_only(&files, &ct, have_counts);
    counts_free(&ct);
    paths_free(&files);
    return rc;
  }

  spec_run_opts ro = {.verbose = o.verbose, .max_details = 5};
  totals all = {0};
  double t0 = now_s();
  for (size_t i = 0; i < files.n; i++) {
    spec_script s;
    totals t = {0};
    if (spec_script_load(files.v[i], &s, why, sizeof why) < 0) {
      printf("%s: cannot load: %s\n", files.v[i], why);
      all.script.fail++;
      continue;
    }
    if (have_counts && counts_check(&ct, &s, why, sizeof why) < 0) {
      printf("%s.json: command counts differ from assertion-counts.tsv: %s\n", s.name, why);
      t.script.fail++;
    }
    if (o.fork)
      run_forked(&s, &ro, o.timeout, &t);
    else
      spec_script_run(&s, &ro, report_direct, &t);
    printf("%s: %ld passed, %ld failed, %ld skipped\n", s.name, tally_sum(&t, 0), tally_sum(&t, 1),
           tally_sum(&t, 2));
    totals_add(&all, &t);
    spec_script_free(&s);
  }

  printf("by command type (%zu scripts, %.1f s):\n", files.n, now_s() - t0);
  for (int k = 0; k < K_COUNT; k++) {
    const tally *x = &all.kind[k];
    if (x->pass || x->fail || x->skip)
      printf("  %-22s %6ld passed, %ld failed, %ld skipped\n", spec_kind_names[k], x->pass, x->fail,
             x->skip);
  }
  if (all.script.fail)
    printf("  %-22s %6ld passed, %ld failed, %ld skipped\n", "(script-level)", all.script.pass,
           all.script.fail, all.script.skip);
  long failed = tally_sum(&all, 1);
  printf("%ld passed, %ld failed, %ld skipped\n", tally_sum(&all, 0), failed, tally_sum(&all, 2));
  counts_free(&ct);
  paths_free(&files);
  return failed ? 1 : 0;
}
