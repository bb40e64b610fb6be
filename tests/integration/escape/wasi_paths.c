/* wasi_paths: path escapes through WASI, from inside a wasm sandbox, with raw WASI calls (no
 * libc path handling in the way). fd 3 is the preopened sandbox. Prints "name=errno" for each
 * attempt, and "name.read=TEXT" with the first line of what an open that worked could read,
 * so the test can tell whether a secret from outside the sandbox came through.
 *
 *   wasi_paths paths         one attempt of each kind (see the table in test_escape_wasm.py)
 *   wasi_paths race SECONDS  opens d/file in a loop while the host swaps `d` for a symlink to
 *                            the directory outside; prints how many reads saw what
 *
 * The host prepared, next to the sandbox `sb`: secret/file ("SECRET"), secret.txt ("SECRET");
 * in the sandbox: victim.txt ("inside"), d/file ("inside"), sub/, abs_link -> <base>/secret.txt,
 * rel_link -> ../secret.txt, chain1 -> chain2 -> sub/up -> ../.. , loop1 <-> loop2,
 * self_link -> . */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define SB 3
#define R_READ (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_FILESTAT_GET)
#define R_DIR                                                                                  \
  (__WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_FILESTAT_GET |     \
   __WASI_RIGHTS_FD_FILESTAT_GET)

/* Opens `path` beneath `dirfd`; on success reads the first line into `text` (may be NULL). */
static int open_read(int dirfd, const char *path, int follow, char *text, size_t len) {
  __wasi_fd_t fd;
  int e = __wasi_path_open(dirfd, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, path, 0,
                           R_READ, 0, 0, &fd);
  if (e) return e;
  if (text) {
    __wasi_iovec_t iov = {(uint8_t *)text, len - 1};
    __wasi_size_t n = 0;
    if (__wasi_fd_read(fd, &iov, 1, &n) != 0) n = 0;
    text[n] = 0;
    char *nl = strchr(text, '\n');
    if (nl) *nl = 0;
  }
  (void)!__wasi_fd_close(fd);
  return 0;
}

static void attempt(const char *name, const char *path) {
  char text[128] = "";
  int e = open_read(SB, path, 1, text, sizeof text);
  printf("%s=%d\n", name, e);
  if (!e) printf("%s.read=%s\n", name, text);
}

static int paths(void) {
  attempt("inside", "victim.txt");
  attempt("dotdot", "../secret.txt");
  attempt("sub_dotdot_dotdot", "sub/../../secret.txt");
  attempt("dots_and_slashes", "sub/./../.././secret.txt");
  attempt("double_slashes", "sub//..//..//secret.txt");
  attempt("absolute", "/etc/passwd");
  attempt("absolute_guest_name", "/sb/../secret.txt");
  attempt("abs_symlink", "abs_link");
  attempt("rel_symlink", "rel_link");
  attempt("symlink_chain", "chain1/secret.txt");
  attempt("self_link_dotdot", "self_link/self_link/../secret.txt");
  attempt("dir_in_secret", "../secret/file");
  printf("symlink_loop=%d\n", open_read(SB, "loop1", 1, NULL, 0));

  /* Directories: the parent of the preopen, and `..` from a directory opened inside. */
  __wasi_fd_t dfd;
  printf("open_parent_dir=%d\n", __wasi_path_open(SB, 0, "..", __WASI_OFLAGS_DIRECTORY, R_DIR,
                                                   R_READ, 0, &dfd));
  int e = __wasi_path_open(SB, 0, ".", __WASI_OFLAGS_DIRECTORY, R_DIR, R_READ | R_DIR, 0, &dfd);
  printf("open_self_dir=%d\n", e);
  if (!e) {
    char text[128] = "";
    int e2 = open_read(dfd, "../secret.txt", 1, text, sizeof text);
    printf("self_dir_dotdot=%d\n", e2);
    if (!e2) printf("self_dir_dotdot.read=%s\n", text);
    (void)!__wasi_fd_close(dfd);
  }

  /* What the guest may make: links that point out, then used. */
  e = __wasi_path_symlink("../secret.txt", SB, "made_rel");
  printf("make_rel_symlink=%d\n", e);
  if (!e) attempt("follow_made_rel", "made_rel");
  e = __wasi_path_symlink("/etc/passwd", SB, "made_abs");
  printf("make_abs_symlink=%d\n", e);
  if (!e) attempt("follow_made_abs", "made_abs");
  printf("hardlink_out=%d\n", __wasi_path_link(SB, 0, "../secret.txt", SB, "hard"));
  printf("hardlink_follow_out=%d\n",
         __wasi_path_link(SB, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "abs_link", SB, "hard2"));
  printf("rename_in=%d\n", __wasi_path_rename(SB, "../secret.txt", SB, "stolen.txt"));
  printf("rename_out=%d\n", __wasi_path_rename(SB, "victim.txt", SB, "../moved.txt"));
  printf("mkdir_out=%d\n", __wasi_path_create_directory(SB, "sub/../../made_dir"));
  __wasi_filestat_t st;
  printf("stat_out=%d\n", __wasi_path_filestat_get(SB, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                                                   "chain1/secret.txt", &st));
  printf("unlink_out=%d\n", __wasi_path_unlink_file(SB, "../secret.txt"));
  return 0;
}

static uint64_t now_ns(void) {
  __wasi_timestamp_t t = 0;
  (void)!__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1000, &t);
  return t;
}

static int race(double seconds) {
  long inside = 0, secret = 0, other = 0, errors = 0;
  uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
  while (now_ns() < end) {
    char text[128] = "";
    int e = open_read(SB, "d/file", 1, text, sizeof text);
    if (e) errors++;
    else if (!strcmp(text, "inside")) inside++;
    else if (strstr(text, "SECRET")) secret++;
    else other++;
  }
  printf("race_inside=%ld\nrace_secret=%ld\nrace_other=%ld\nrace_errors=%ld\n", inside, secret,
         other, errors);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "paths")) return paths();
  if (argc > 2 && !strcmp(argv[1], "race")) return race(atof(argv[2]));
  fprintf(stderr, "usage: wasi_paths paths | race SECONDS\n");
  return 2;
}
