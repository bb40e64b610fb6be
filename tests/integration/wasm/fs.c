/* File and directory operations through wasi-libc, in the directory argv[1] (a preopen or
 * beneath one). Each step prints "ok NAME" or "FAIL NAME: why"; the test compares the whole
 * list, so a step that silently stops working is caught. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int fails;

#define STEP(name, cond, ...)                                                                    \
  do {                                                                                           \
    if (cond) {                                                                                  \
      printf("ok %s\n", name);                                                                   \
    } else {                                                                                     \
      printf("FAIL %s: ", name);                                                                 \
      printf(__VA_ARGS__);                                                                       \
      printf(" (errno %d %s)\n", errno, strerror(errno));                                        \
      fails++;                                                                                   \
    }                                                                                            \
  } while (0)

static char base[512];

static const char *at(const char *rel) {
  static char buf[4][1024];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", base, rel);
  return buf[k];
}

static int write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(text, f);
  return fclose(f);
}

static int read_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = '\0';
  return (int)n;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  char buf[4096];
  struct stat st;
  if (argc < 2) return 2;
  snprintf(base, sizeof base, "%s", argv[1]);

  /* files: create, read, exclusive create, append, truncate */
  STEP("write", write_file(at("a.txt"), "hello\n") == 0, "fopen w");
  STEP("read", read_file(at("a.txt"), buf, sizeof buf) == 6 && !strcmp(buf, "hello\n"), "got %s",
       buf);
  int fd = open(at("a.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644);
  STEP("excl", fd < 0 && errno == EEXIST, "fd %d", fd);
  fd = open(at("a.txt"), O_WRONLY | O_APPEND);
  STEP("append", fd >= 0 && write(fd, "more\n", 5) == 5 && close(fd) == 0 &&
                     read_file(at("a.txt"), buf, sizeof buf) == 11 && !strcmp(buf, "hello\nmore\n"),
       "got %s", buf);
  fd = open(at("a.txt"), O_RDWR | O_TRUNC);
  STEP("trunc", fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "size %lld",
       (long long)st.st_size);

  /* positions: pwrite, pread, lseek, tell */
  STEP("pwrite", pwrite(fd, "0123456789", 10, 0) == 10 && pwrite(fd, "AB", 2, 4) == 2, "pwrite");
  memset(buf, 0, sizeof buf);
  STEP("pread", pread(fd, buf, 4, 3) == 4 && !memcmp(buf, "3AB6", 4), "got %.4s", buf);
  STEP("seek_end", lseek(fd, -3, SEEK_END) == 7 && read(fd, buf, 3) == 3 && !memcmp(buf, "789", 3),
       "seek");
  STEP("tell", lseek(fd, 0, SEEK_CUR) == 10, "tell");
  STEP("ftruncate", ftruncate(fd, 4) == 0 && fstat(fd, &st) == 0 && st.st_size == 4, "size %lld",
       (long long)st.st_size);
  STEP("fsync", fsync(fd) == 0 && fdatasync(fd) == 0, "sync");
  STEP("fadvise", posix_fadvise(fd, 0, 4, POSIX_FADV_SEQUENTIAL) == 0, "fadvise");
  int r = posix_fallocate(fd, 0, 8192);
  STEP("fallocate", r == 0 && fstat(fd, &st) == 0 && st.st_size == 8192, "r=%d size %lld", r,
       (long long)st.st_size);
  int fl = fcntl(fd, F_GETFL);
  STEP("setfl", fl >= 0 && fcntl(fd, F_SETFL, fl | O_APPEND) == 0 &&
                    (fcntl(fd, F_GETFL) & O_APPEND) && write(fd, "Z", 1) == 1 &&
                    fstat(fd, &st) == 0 && st.st_size == 8193,
       "flags %d size %lld", fl, (long long)st.st_size);
  close(fd);

  /* times */
  struct timespec ts[2] = {{1000000000, 5}, {1234567890, 123456789}};
  STEP("utimens", utimensat(AT_FDCWD, at("a.txt"), ts, 0) == 0 && stat(at("a.txt"), &st) == 0 &&
                      st.st_mtim.tv_sec == 1234567890 && st.st_mtim.tv_nsec == 123456789 &&
                      st.st_atim.tv_sec == 1000000000,
       "mtime %lld", (long long)st.st_mtim.tv_sec);
  fd = open(at("a.txt"), O_RDONLY);
  ts[1].tv_sec = 1500000000;
  STEP("futimens", fd >= 0 && futimens(fd, ts) == 0 && fstat(fd, &st) == 0 &&
                       st.st_mtim.tv_sec == 1500000000,
       "mtime %lld", (long long)st.st_mtim.tv_sec);
  close(fd);

  /* directories */
  STEP("mkdir", mkdir(at("d"), 0755) == 0 && stat(at("d"), &st) == 0 && S_ISDIR(st.st_mode),
       "mkdir");
  STEP("mkdir_exists", mkdir(at("d"), 0755) < 0 && errno == EEXIST, "mkdir again");
  STEP("nested", mkdir(at("d/e"), 0755) == 0 && write_file(at("d/e/f.txt"), "f") == 0, "nested");
  STEP("dotdot_inside", read_file(at("d/.//e/../e/./f.txt"), buf, sizeof buf) == 1, "read");
  STEP("rmdir_notempty", rmdir(at("d")) < 0 && errno == ENOTEMPTY, "rmdir");
  STEP("rmdir_file", rmdir(at("a.txt")) < 0 && errno == ENOTDIR, "rmdir file");
  STEP("unlink_dir", unlink(at("d")) < 0 && errno == EISDIR, "unlink dir");
  STEP("open_dir_as_file", open(at("a.txt/"), O_RDONLY) < 0 && errno == ENOTDIR, "trailing /");
  STEP("o_directory", open(at("a.txt"), O_RDONLY | O_DIRECTORY) < 0 && errno == ENOTDIR, "odir");
  STEP("enoent", stat(at("nope"), &st) < 0 && errno == ENOENT, "stat");

  /* rename, link, symlink */
  STEP("rename", rename(at("d/e/f.txt"), at("g.txt")) == 0 && stat(at("g.txt"), &st) == 0 &&
                     stat(at("d/e/f.txt"), &st) < 0,
       "rename");
  STEP("rename_dir", rename(at("d/e"), at("e2")) == 0 && stat(at("e2"), &st) == 0, "rename dir");
  STEP("rename_replace", write_file(at("h.txt"), "h") == 0 && rename(at("h.txt"), at("g.txt")) == 0 &&
                             read_file(at("g.txt"), buf, sizeof buf) == 1 && buf[0] == 'h',
       "replace");
  STEP("link", link(at("g.txt"), at("g2.txt")) == 0 && stat(at("g.txt"), &st) == 0 &&
                   st.st_nlink == 2,
       "nlink %llu", (unsigned long long)st.st_nlink);
  STEP("symlink", symlink("g.txt", at("s")) == 0, "symlink");
  ssize_t n = readlink(at("s"), buf, sizeof buf);
  STEP("readlink", n == 5 && !memcmp(buf, "g.txt", 5), "n=%zd", n);
  n = readlink(at("s"), buf, 3);
  STEP("readlink_short", n == 3 && !memcmp(buf, "g.t", 3), "n=%zd", n);
  STEP("readlink_file", readlink(at("g.txt"), buf, sizeof buf) < 0 && errno == EINVAL, "readlink");
  STEP("lstat", lstat(at("s"), &st) == 0 && S_ISLNK(st.st_mode) && stat(at("s"), &st) == 0 &&
                    S_ISREG(st.st_mode),
       "lstat");
  STEP("follow", read_file(at("s"), buf, sizeof buf) == 1, "read through link");
  STEP("nofollow", open(at("s"), O_RDONLY | O_NOFOLLOW) < 0 && errno == ELOOP, "nofollow");
  STEP("symlink_dir", symlink("e2", at("sd")) == 0 &&
                          write_file(at("sd/through.txt"), "t") == 0 &&
                          stat(at("e2/through.txt"), &st) == 0,
       "through dir link");
  STEP("unlink_link", unlink(at("s")) == 0 && stat(at("g.txt"), &st) == 0, "unlink link");
  STEP("unlink", unlink(at("g2.txt")) == 0 && stat(at("g2.txt"), &st) < 0 && errno == ENOENT,
       "unlink");

  /* readdir over many entries: wasi-libc reads them in chunks, resuming from cookies */
  STEP("mkdir_many", mkdir(at("many"), 0755) == 0, "mkdir");
  enum { N = 300 };
  int made = 0;
  for (int i = 0; i < N; i++) {
    char name[64];
    snprintf(name, sizeof name, "many/entry-with-a-fairly-long-name-%04d", i);
    made += write_file(at(name), "") == 0;
  }
  STEP("create_many", made == N, "made %d", made);
  DIR *d = opendir(at("many"));
  char *names[N + 8];
  int count = 0, dots = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
      dots++;
      continue;
    }
    if (count < N + 8) names[count++] = strdup(e->d_name);
    if (e->d_type != DT_REG) count += 1000;
  }
  STEP("readdir", d && count == N && dots == 2, "count %d dots %d", count, dots);
  qsort(names, (size_t)(count < N + 8 ? count : N + 8), sizeof names[0], cmp);
  int in_order = 1;
  for (int i = 0; i < count && i < N; i++) {
    char want[64];
    snprintf(want, sizeof want, "entry-with-a-fairly-long-name-%04d", i);
    in_order &= !strcmp(names[i], want);
  }
  STEP("readdir_names", in_order, "names differ");
  rewinddir(d);
  int again = 0;
  while ((e = readdir(d)))
    again++;
  STEP("rewinddir", again == N + 2, "again %d", again);
  /* telldir / seekdir: cookies taken in the middle resume there */
  rewinddir(d);
  for (int i = 0; i < 100; i++)
    readdir(d);
  long pos = telldir(d);
  e = readdir(d);
  char first[256];
  snprintf(first, sizeof first, "%s", e ? e->d_name : "");
  for (int i = 0; i < 50; i++)
    readdir(d);
  seekdir(d, pos);
  e = readdir(d);
  STEP("seekdir", e && !strcmp(e->d_name, first), "got %s want %s", e ? e->d_name : "-", first);
  if (d) closedir(d);
  int removed = 0;
  for (int i = 0; i < N; i++) {
    char name[64];
    snprintf(name, sizeof name, "many/entry-with-a-fairly-long-name-%04d", i);
    removed += unlink(at(name)) == 0;
  }
  STEP("rmdir", removed == N && rmdir(at("many")) == 0, "removed %d", removed);
  return fails ? 1 : 0;
}
