/* Container state under --root: one directory per id holding state.json.
 *
 * Every command that reads or changes a container holds an exclusive flock on its directory
 * for as long as it works on it, so concurrent commands on one id serialize. state.json is
 * replaced atomically (write a temp file, rename). The status is never trusted from the file
 * alone: it is recomputed from the recorded pid and that process's start time, so a reused
 * pid or a process that died unseen reads as "stopped".
 */
#ifndef ISOLA_STATE_H
#define ISOLA_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "core/err.h"

enum isola_status { ST_CREATING, ST_CREATED, ST_RUNNING, ST_STOPPED, ST_PAUSED };

struct isola_state {
  char *id;
  char *bundle;      /* absolute */
  char *engine;      /* "container", "wasm", "vm" */
  char *engine_reason;
  enum isola_status status; /* as recorded; see state_refresh() */
  bool started;      /* `start` released the process */
  pid_t pid;         /* 0 until known */
  uint64_t pid_start; /* the process's start time (clock ticks after boot), against pid reuse */
  char *cgroup;      /* relative cgroup path the runtime created, NULL for none */
  bool cgroup_created;
  char *created;     /* RFC 3339 */
  json_t *annotations; /* object */
  json_t *extra;       /* engine-private object, saved and loaded as is */
};

struct state_dir {
  int dirfd; /* the container's directory, flocked when `locked` */
  char *path;
  bool locked;
};

/* Creates <root>/<id> (the root too, 0700) and locks it. "container `x` already exists". */
int state_dir_create(const char *root, const char *id, struct state_dir *out,
                     struct isola_err *err);
/* Opens an existing one, locked unless `lock` is false (readers that only look, like `list`,
 * rely on state.json being replaced atomically). "container `x` does not exist". */
int state_dir_open(const char *root, const char *id, bool lock, struct state_dir *out,
                   struct isola_err *err);
void state_dir_close(struct state_dir *d);
/* Removes the directory and all in it; closes `d`. */
int state_dir_remove(struct state_dir *d, struct isola_err *err);

int state_load(struct state_dir *d, struct isola_state *st, struct isola_err *err);
int state_save(struct state_dir *d, const struct isola_state *st, struct isola_err *err);
void state_release(struct isola_state *st);

/* Recomputes st->status from the process: gone or zombie -> stopped. */
void state_refresh(struct isola_state *st);
const char *state_status_name(enum isola_status s);
/* The OCI state document (ociVersion, id, status, pid, bundle, annotations). */
json_t *state_oci_json(const struct isola_state *st);

/* Now, in UTC, as RFC 3339 with nanoseconds ("2024-05-01T12:00:00.123456789Z"), for
 * `created`; 40 bytes hold it. state_format_time: the same for a given time. */
void state_timestamp(char *buf, size_t len);
void state_format_time(int64_t secs, long nsec, char *buf, size_t len);
/* A valid id: [A-Za-z0-9_+.-]{1,1024}, not "." or "..". */
int state_check_id(const char *id, struct isola_err *err);
/* Start time of a live process (field 22 of /proc/PID/stat); 0 when it is gone. Sets *zombie. */
uint64_t proc_start_time(pid_t pid, bool *zombie);
/* Waits up to `ms` for process `pid` (started at `start`, 0 = any) to be gone or a zombie; it
 * need not be our child (reaped when it is). True when it is gone. */
bool proc_wait_gone(pid_t pid, uint64_t start, int ms);

#endif
