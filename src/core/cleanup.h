/* Cleanup attributes for every kind of resource, and helpers that hand ownership out.
 *
 *   _cleanup_free_ char *p = ...;      free(p) at scope exit
 *   _cleanup_close_ int fd = ...;      close(fd) if >= 0
 *   return take_fd(&fd);               hand the fd to the caller; cleanup then does nothing
 */
#ifndef ISOLA_CLEANUP_H
#define ISOLA_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(int *fd) {
  if (*fd >= 0) close(*fd);
}
static inline void cleanup_fclosep(FILE **f) {
  if (*f) fclose(*f);
}
static inline void cleanup_closedirp(DIR **d) {
  if (*d) closedir(*d);
}
static inline void cleanup_json_decrefp(json_t **j) {
  if (*j) json_decref(*j);
}
/* A child that must not outlive the scope: killed and reaped unless taken. */
static inline void cleanup_killp(pid_t *pid) {
  if (*pid > 0) {
    kill(*pid, SIGKILL);
    while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(cleanup_closedirp)))
#define _cleanup_json_ __attribute__((cleanup(cleanup_json_decrefp)))
#define _cleanup_kill_ __attribute__((cleanup(cleanup_killp)))

static inline int take_fd(int *fd) {
  int r = *fd;
  *fd = -1;
  return r;
}
static inline void *steal_ptr(void *pp) {
  void **p = pp, *r = *p;
  *p = NULL;
  return r;
}
static inline pid_t take_pid(pid_t *pid) {
  pid_t r = *pid;
  *pid = 0;
  return r;
}

#endif
