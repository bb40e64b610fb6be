/* What a module sees of its working directory: wasi-libc starts every program in "/", and the
 * runtime passes the OCI process.cwd as PWD. Prints both, then does chdir(getenv("PWD")) and
 * reads argv[1] (a relative name) from there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  char cwd[256];
  const char *pwd = getenv("PWD");
  printf("start cwd=%s PWD=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?", pwd ? pwd : "(none)");
  if (pwd && chdir(pwd) != 0) printf("chdir: %s\n", strerror(errno));
  printf("after cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
  if (argc > 1) {
    char buf[128] = {0};
    FILE *f = fopen(argv[1], "r");
    if (f && fgets(buf, sizeof buf, f)) printf("%s: %s", argv[1], buf);
    else printf("%s: %s\n", argv[1], strerror(errno));
    if (f) fclose(f);
  }
  return 0;
}
