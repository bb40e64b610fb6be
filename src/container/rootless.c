/* Rootless operation: id maps through newuidmap/newgidmap, cgroups skipped when not delegated
 * (see rootless.h). */
#include "container/rootless.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"

#define MAX_MAP_LINES 340 /* the kernel's limit per map since Linux 4.15 */

extern char **environ;

bool rootless_runtime(void) {
  return geteuid() != 0;
}

bool rootless_needs_helper(const struct oci_idmap *m, size_t n, bool gid) {
  if (!rootless_runtime()) return false;
  uint32_t own = gid ? (uint32_t)getegid() : (uint32_t)geteuid();
  return !(n == 1 && m[0].host_id == own && m[0].size == 1);
}

int rootless_run_idmap_helper(pid_t pid, const struct oci_idmap *m, size_t n, bool gid,
                              struct isola_err *err) {
  const char *prog = gid ? "newgidmap" : "newuidmap";
  const char *where = gid ? "linux.gidMappings" : "linux.uidMappings";
  if (n > MAX_MAP_LINES)
    return isola_fail(err, E2BIG, "%s: more than %d entries", where, MAX_MAP_LINES);
  /* argv: prog pid (container-id host-id size)... NULL; numbers need at most 10 digits. */
  size_t argc = 2 + 3 * n;
  _cleanup_free_ char **argv = calloc(argc + 1, sizeof *argv);
  _cleanup_free_ char *nums = calloc(argc, 12);
  if (!argv || !nums) return isola_fail_errno(err, ENOMEM, "%s: %s", where, prog);
  argv[0] = (char *)prog;
  argv[1] = nums;
  snprintf(nums, 12, "%d", (int)pid);
  for (size_t i = 0; i < n; i++) {
    uint32_t v[3] = {m[i].container_id, m[i].host_id, m[i].size};
    for (int k = 0; k < 3; k++) {
      char *slot = nums + 12 * (2 + 3 * i + k - 1);
      snprintf(slot, 12, "%u", v[k]);
      argv[2 + 3 * i + k] = slot;
    }
  }

  /* The helper's stdout and stderr come back through a pipe, for the message. */
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return isola_fail_errno(err, errno, "%s: %s: pipe", where, prog);
  _cleanup_close_ int rd = pfd[0];
  _cleanup_close_ int wr = pfd[1];
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, wr, STDERR_FILENO);
  if (!getenv("PATH")) setenv("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", 0);
  pid_t child;
  int r = posix_spawnp(&child, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(take_fd(&wr));
  if (r != 0) {
    if (r == ENOENT)
      return isola_fail(err, ENOENT,
                        "%s: mapping more than your own id as an unprivileged user "
                        "needs `%s` (package uidmap) and entries in /etc/sub%cid",
                        where, prog, gid ? 'g' : 'u');
    return isola_fail_errno(err, r, "%s: run `%s`", where, prog);
  }
  char out[512];
  size_t len = 0;
  ssize_t got;
  while ((got = read(rd, out + len, sizeof out - 1 - len)) > 0 || (got < 0 && errno == EINTR))
    if (got > 0) len += (size_t)got;
  out[len] = 0;
  while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
    out[--len] = 0;
  for (char *p = out; *p; p++)
    if (*p == '\n') *p = ' ';
  int status;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return isola_fail_errno(err, errno, "%s: wait for `%s`", where, prog);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return isola_fail(err, EPERM,
                      "%s: `%s` failed (%s %d)%s%s (does /etc/sub%cid give uid %u "
                      "these ids?)",
                      where, prog, WIFEXITED(status) ? "exit" : "signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), len ? ": " : "",
                      out, gid ? 'g' : 'u', (unsigned)geteuid());
  return 0;
}

/* linux.resources that ask a cgroup for something: anything but `devices` (the user namespace
 * confines devices already). */
static const char *enforceable_resource(json_t *res) {
  const char *key;
  json_t *v;
  json_object_foreach(res, key, v) {
    if (!strcmp(key, "devices") || json_is_null(v)) continue;
    if ((json_is_object(v) && !json_object_size(v)) || (json_is_array(v) && !json_array_size(v)))
      continue;
    return key;
  }
  return NULL;
}

int rootless_cgroup_fallback(const struct oci_config *cfg, json_t **dirs, struct isola_err *err) {
  if (!rootless_runtime()) return -1;
  if (err->errnum != EACCES && err->errnum != EPERM && err->errnum != EROFS) return -1;
  const char *key = cfg->resources ? enforceable_resource(cfg->resources) : NULL;
  if (key)
    return isola_err_wrap(err,
                          "linux.resources.%s: uid %u cannot write the cgroup (rootless, "
                          "and no delegated cgroup at linux.cgroupsPath)",
                          key, (unsigned)geteuid());
  isola_debug("rootless: no cgroup for the container (%s); linux.resources sets nothing to "
              "enforce",
              err->msg);
  if (!(*dirs = json_array())) return isola_fail_errno(err, ENOMEM, "cgroups");
  return 0;
}
