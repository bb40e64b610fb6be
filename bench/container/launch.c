/* launch: runs one command and reports its wall time and peak RSS, for bench.py.
 *
 *   launch [-n MNTNS_PATH] [-e ERRFILE] -- PROGRAM ARGS...
 *   prints: "<wall ns> <ru_maxrss KiB> <exit code>"   (exit code 128+N after signal N)
 *
 * Why a small static C program rather than timing from Python: ru_maxrss of a child includes
 * the resident set its process had before execve, i.e. a copy of whoever forked it. Forked
 * from Python that is ~10 MiB and would swamp a runtime's own 3 MiB; forked from this it is a
 * few hundred KiB. Wall time runs from just before fork() to wait4() returning.
 *
 * -n: the child joins that mount namespace (setns) before execve — how crun runs in a
 * namespace without the cgroup v2 mount, with no extra exec in the measured path.
 * stdin and stdout of the child are /dev/null; stderr goes to ERRFILE (or /dev/null).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *ns = NULL, *errfile = "/dev/null";
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
      ns = argv[++i];
    else if (strcmp(argv[i], "-e") == 0 && i + 1 < argc)
      errfile = argv[++i];
    else if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    } else
      break;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: launch [-n MNTNS] [-e ERRFILE] -- PROGRAM ARGS...\n");
    return 2;
  }
  int nsfd = -1;
  if (ns && (nsfd = open(ns, O_RDONLY | O_CLOEXEC)) < 0) {
    perror(ns);
    return 2;
  }
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  int err = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (null < 0 || err < 0) {
    perror("open");
    return 2;
  }

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 2;
  }
  if (pid == 0) {
    if (nsfd >= 0 && setns(nsfd, CLONE_NEWNS) != 0) {
      perror("setns");
      _exit(126);
    }
    dup2(null, 0);
    dup2(null, 1);
    dup2(err, 2);
    execv(argv[i], argv + i);
    perror(argv[i]);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("wait4");
    return 2;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns_wall = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  printf("%lld %ld %d\n", ns_wall, ru.ru_maxrss, code);
  return 0;
}
