/* For each argument: "w:PATH" writes a file, "r:PATH" reads one, "l:DIR" lists a directory;
 * prints "PATH: ok CONTENT" or "PATH: <strerror>" per argument, so a test sees exactly what
 * the module could and could not do. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *op = argv[i], *path = argv[i] + 2;
    if (!strncmp(op, "w:", 2)) {
      FILE *f = fopen(path, "w");
      if (f && fputs("written\n", f) >= 0 && fclose(f) == 0) printf("%s: ok\n", op);
      else printf("%s: %s\n", op, strerror(errno));
    } else if (!strncmp(op, "r:", 2)) {
      char buf[256] = {0};
      FILE *f = fopen(path, "r");
      if (f && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        printf("%s: ok %s\n", op, buf);
      } else {
        printf("%s: %s\n", op, f ? "empty" : strerror(errno));
      }
      if (f) fclose(f);
    } else if (!strncmp(op, "l:", 2)) {
      DIR *d = opendir(path);
      if (!d) {
        printf("%s: %s\n", op, strerror(errno));
        continue;
      }
      int n = 0;
      struct dirent *e;
      while ((e = readdir(d)))
        n += e->d_name[0] != '.';
      closedir(d);
      printf("%s: ok %d entries\n", op, n);
    } else {
      printf("%s: unknown op\n", op);
      return 2;
    }
  }
  return 0;
}
