/* fuzz-corpus: runs every file of every target's corpus (tests/fuzz/corpus/<target>/) through
 * that target once, built without libFuzzer, so `make check` keeps every seed and every past
 * crash input tested. Each input runs in a child of its own (a crash, a sanitizer report or a
 * hang takes only that input down, and names it); the child initialises the target as
 * libFuzzer would and exits normally, so LeakSanitizer looks at each input on its own.
 *
 * usage: fuzz-corpus [CORPUS_DIR]   (default: the repository's, compiled in)
 * Prints a FAIL line per failing input and ends with "N passed, N failed".
 *
 * The Makefile compiles each target with its entry points renamed (<target>_one,
 * <target>_init) and lists them in FUZZ_TARGETS as X(name) X(name) ...
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FUZZ_TARGETS
#error "build with -DFUZZ_TARGETS='X(fuzz_a) X(fuzz_b)'"
#endif
#ifndef FUZZ_CORPUS_DIR
#define FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif
/* Per input; sanitized builds run several times slower. */
#ifndef FUZZ_REPLAY_TIMEOUT
#define FUZZ_REPLAY_TIMEOUT 60
#endif
#define MAX_INPUT_BYTES (4u << 20)

#define X(t)                                                                                       \
  int t##_one(const uint8_t *data, size_t size);                                                   \
  int t##_init(int *argc, char ***argv) __attribute__((weak));
FUZZ_TARGETS
#undef X

struct target {
  const char *name;
  int (*one)(const uint8_t *, size_t);
  int (*init)(int *, char ***);
};

static const struct target targets[] = {
#define X(t) {#t, t##_one, t##_init},
    FUZZ_TARGETS
#undef X
};

static int passed, failed;

/* The child: read the file, run it, exit 0. Anything else is a failure. */
static void run_child(const struct target *t, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "open `%s`: %s\n", path, strerror(errno));
    exit(2);
  }
  uint8_t *buf = malloc(MAX_INPUT_BYTES);
  if (!buf) exit(2);
  size_t len = 0;
  for (ssize_t n; len < MAX_INPUT_BYTES && (n = read(fd, buf + len, MAX_INPUT_BYTES - len)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "read `%s`: %s\n", path, strerror(errno));
      exit(2);
    }
    len += (size_t)n;
  }
  close(fd);
  /* libFuzzer hands the target a buffer of exactly the input's size: so do we, so that ASan
   * sees a read one past the end. */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) exit(2);
  memcpy(exact, buf, len);
  free(buf);
  if (t->init) {
    int argc = 1;
    char *args[] = {(char *)t->name, NULL}, **argv = args;
    t->init(&argc, &argv);
  }
  t->one(exact, len);
  free(exact);
  exit(0);
}

static void run_one(const struct target *t, const char *path) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "FAIL %s %s: fork: %s\n", t->name, path, strerror(errno));
    failed++;
    return;
  }
  if (pid == 0) {
    alarm(FUZZ_REPLAY_TIMEOUT);
    run_child(t, path);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    passed++;
    return;
  }
  failed++;
  if (WIFSIGNALED(status))
    fprintf(stderr, "FAIL %s %s: %s%s\n", t->name, path, strsignal(WTERMSIG(status)),
            WTERMSIG(status) == SIGALRM ? " (a hang: over the time limit)" : "");
  else
    fprintf(stderr, "FAIL %s %s: exit status %d\n", t->name, path, WEXITSTATUS(status));
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static void run_target(const struct target *t, const char *corpus) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", corpus, t->name);
  struct dirent **names;
  int n = scandir(dir, &names, NULL, by_name);
  if (n < 0) {
    fprintf(stderr, "FAIL %s: no corpus at `%s`: %s\n", t->name, dir, strerror(errno));
    failed++;
    return;
  }
  int before = passed + failed;
  for (int i = 0; i < n; i++) {
    char path[8192];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
    if (names[i]->d_name[0] != '.' && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) run_one(t, path);
    free(names[i]);
  }
  free(names);
  printf("%-20s %d inputs\n", t->name, passed + failed - before);
}

int main(int argc, char **argv) {
  const char *corpus = argc > 1 ? argv[1] : FUZZ_CORPUS_DIR;
  for (size_t i = 0; i < sizeof targets / sizeof *targets; i++)
    run_target(&targets[i], corpus);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
