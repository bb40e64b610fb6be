/* OCI hooks: each runs with the container's state JSON on stdin, killed past its timeout. */
#include "container/container.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fdio.h"

static int run_one(const struct oci_hook *h, const char *what, const char *state_json,
                   struct isola_err *err) {
  int in[2], ex[2];
  if (pipe2(in, O_CLOEXEC) < 0) return isola_fail_errno(err, errno, "%s: pipe", what);
  if (pipe2(ex, O_CLOEXEC) < 0) {
    close(in[0]), close(in[1]);
    return isola_fail_errno(err, errno, "%s: pipe", what);
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(in[0]), close(in[1]), close(ex[0]), close(ex[1]);
    return isola_fail_errno(err, errno, "%s: fork", what);
  }
  if (pid == 0) {
    /* A group of its own: past its timeout the hook goes with everything it started (a hook
     * is often a shell script, and killing the shell alone would orphan its `sleep`). */
    setpgid(0, 0);
    dup2(in[0], 0);
    char *const default_args[] = {h->path, NULL};
    char *const empty_env[] = {NULL};
    execve(h->path, h->args ? h->args : default_args, h->env ? h->env : empty_env);
    int e = errno; /* the pipe closes at a successful exec; on failure it carries errno */
    if (write(ex[1], &e, sizeof e) < 0) _exit(127);
    _exit(127);
  }
  setpgid(pid, pid); /* also here: whichever of us runs first */
  close(in[0]);
  close(ex[1]);
  int exec_errno = 0;
  ssize_t got = read(ex[0], &exec_errno, sizeof exec_errno);
  close(ex[0]);
  if (got == (ssize_t)sizeof exec_errno) {
    waitpid(pid, NULL, 0);
    close(in[1]);
    return isola_fail_errno(err, exec_errno, "%s: exec `%s`", what, h->path);
  }
  _cleanup_kill_ pid_t child = pid;
  /* A hook that does not read its stdin must not block us: ignore EPIPE. */
  struct sigaction ign = {.sa_handler = SIG_IGN}, old;
  sigaction(SIGPIPE, &ign, &old);
  write_all_fd(in[1], state_json, strlen(state_json));
  close(in[1]);
  sigaction(SIGPIPE, &old, NULL);

  _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (h->timeout > 0 && pidfd >= 0) {
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long left = (long)h->timeout * 1000;
    for (;;) {
      int r = poll(&pfd, 1, (int)left);
      if (r > 0) break;
      if (r < 0 && errno != EINTR) break;
      clock_gettime(CLOCK_MONOTONIC, &t1);
      left = (long)h->timeout * 1000 - ((t1.tv_sec - t0.tv_sec) * 1000 +
                                        (t1.tv_nsec - t0.tv_nsec) / 1000000);
      if (r == 0 || left <= 0) {
        kill(-pid, SIGKILL); /* its process group; cleanup kills and reaps the hook itself */
        return isola_fail(err, ETIMEDOUT, "%s `%s`: timed out after %d s", what, h->path,
                          h->timeout);
      }
    }
  }
  int status;
  while (waitpid(take_pid(&child), &status, 0) < 0)
    if (errno != EINTR) return isola_fail_errno(err, errno, "%s: wait", what);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFSIGNALED(status))
    return isola_fail(err, ECHILD, "%s `%s`: killed by signal %d", what, h->path,
                      WTERMSIG(status));
  return isola_fail(err, ECHILD, "%s `%s`: exited with status %d", what, h->path,
                    WEXITSTATUS(status));
}

int hooks_run(const struct oci_config *cfg, enum oci_hook_kind kind, const struct isola_state *st,
              bool keep_going, struct isola_err *err) {
  if (!cfg->nhooks[kind]) return 0;
  _cleanup_json_ json_t *j = state_oci_json(st);
  _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  if (!text) return isola_fail(err, ENOMEM, "hooks: encode state");
  int r = 0;
  for (size_t i = 0; i < cfg->nhooks[kind]; i++) {
    char what[64];
    struct isola_err one;
    snprintf(what, sizeof what, "hooks.%s[%zu]", oci_hook_name(kind), i);
    if (run_one(&cfg->hooks[kind][i], what, text, &one) == 0) continue;
    if (r == 0) *err = one;
    r = -1;
    if (!keep_going) break;
  }
  return r;
}
