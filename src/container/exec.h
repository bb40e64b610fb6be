/* `exec`: one more process inside a running container (see exec.c for the handshake). */
#ifndef ISOLA_EXEC_H
#define ISOLA_EXEC_H

#include <sys/types.h>
#include <jansson.h>

#include "core/err.h"
#include "core/oci_config.h"
#include "core/state.h"

struct exec_request {
  const struct isola_state *st;    /* the container: its pid and cgroup dirs */
  const struct oci_process *process;
  json_t *seccomp;                 /* the container's linux.seccomp, or NULL */
  const char *console_socket;      /* for process->terminal */
  int console_fd;                  /* used instead of console_socket when >= 0 */
  int preserve_fds;
};

/* Starts the process; on success it has exec'd and *pid is its pid (our child). */
int container_exec(const struct exec_request *r, pid_t *pid, struct isola_err *err);

#endif
