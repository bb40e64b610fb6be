/* State directories and state.json. */
#include "core/state.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/gate.h"
#include "core/jsonio.h"

static const char *const status_names[] = {
    [ST_CREATING] = "creating", [ST_CREATED] = "created", [ST_RUNNING] = "running",
    [ST_STOPPED] = "stopped",   [ST_PAUSED] = "paused",
};

const char *state_status_name(enum isola_status s) { return status_names[s]; }

/* `s` with control characters escaped (\n, \x01), so a message stays on one line. */
static const char *printable(const char *s, char *buf, size_t len) {
  size_t o = 0;
  for (; *s && o + 5 < len; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != 0x7f) buf[o++] = (char)c;
    else o += (size_t)snprintf(buf + o, len - o, c == '\n' ? "\\n" : "\\x%02x", c);
  }
  buf[o] = 0;
  return buf;
}

/* Days since 1970-01-01 -> civil date, proleptic Gregorian (H. Hinnant's days_from_civil,
 * inverted). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void state_format_time(int64_t secs, long nsec, char *buf, size_t len) {
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) rem += 86400, days--;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02d.%09ldZ", (long long)y, m, d,
           (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), nsec);
}

void state_timestamp(char *buf, size_t len) {
  /* By hand rather than gmtime_r + strftime: glibc loads /etc/localtime (tzset) on the first
   * call of either, seven syscalls for a time zone a UTC stamp does not use. */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  state_format_time(ts.tv_sec, ts.tv_nsec, buf, len);
}

int state_check_id(const char *id, struct isola_err *err) {
  char shown[256];
  size_t n = strlen(id);
  if (n == 0) return isola_fail(err, EINVAL, "invalid container id: it is empty");
  if (n > 1024) return isola_fail(err, EINVAL, "invalid container id: longer than 1024 bytes");
  if (id[0] == '.')
    return isola_fail(err, EINVAL,
                      "invalid container id `%s`: ids starting with `.` are reserved for the "
                      "runtime's own files under --root",
                      printable(id, shown, sizeof shown));
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("_+.-", *p)))
      return isola_fail(err, EINVAL,
                        "invalid container id `%s`: only letters, digits and _+.- are allowed",
                        printable(id, shown, sizeof shown));
  return 0;
}

static int mkdir_p(const char *path, mode_t mode) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return errno = ENAMETOOLONG, -1;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

static int lock_dir(int fd) {
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR) return -1;
  return 0;
}

int state_dir_create(const char *root, const char *id, struct state_dir *out,
                     struct isola_err *err) {
  if (state_check_id(id, err) < 0) return -1;
  if (mkdir_p(root, 0700) < 0) return isola_fail_errno(err, errno, "create state root `%s`", root);
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/%s", root, id) < 0) return isola_fail_errno(err, ENOMEM, "state");
  if (mkdir(path, 0700) < 0) {
    if (errno == EEXIST) return isola_fail(err, EEXIST, "container `%s` already exists", id);
    return isola_fail_errno(err, errno, "create state directory `%s`", path);
  }
  int fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (fd < 0 || lock_dir(fd) < 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    rmdir(path);
    return isola_fail_errno(err, e, "lock state directory `%s`", path);
  }
  out->dirfd = fd;
  out->path = steal_ptr(&path);
  out->locked = true;
  return 0;
}

int state_dir_open(const char *root, const char *id, bool lock, struct state_dir *out,
                   struct isola_err *err) {
  if (state_check_id(id, err) < 0) return -1;
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/%s", root, id) < 0) return isola_fail_errno(err, ENOMEM, "state");
  _cleanup_close_ int fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return isola_fail(err, ENOENT, "container `%s` does not exist", id);
    return isola_fail_errno(err, errno, "open state directory `%s`", path);
  }
  if (lock && lock_dir(fd) < 0) return isola_fail_errno(err, errno, "lock `%s`", path);
  /* A concurrent delete may have removed it while we waited for the lock. */
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_nlink == 0)
    return isola_fail(err, ENOENT, "container `%s` does not exist", id);
  out->dirfd = take_fd(&fd);
  out->path = steal_ptr(&path);
  out->locked = lock;
  return 0;
}

void state_dir_close(struct state_dir *d) {
  if (d->dirfd >= 0) close(d->dirfd);
  d->dirfd = -1;
  free(d->path);
  d->path = NULL;
}

int state_dir_remove(struct state_dir *d, struct isola_err *err) {
  _cleanup_closedir_ DIR *dir = NULL;
  int fd = dup(d->dirfd);
  if (fd >= 0 && !(dir = fdopendir(fd))) close(fd);
  if (dir) {
    struct dirent *e;
    while ((e = readdir(dir))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      if (unlinkat(d->dirfd, e->d_name, 0) < 0 && errno == EISDIR)
        unlinkat(d->dirfd, e->d_name, AT_REMOVEDIR);
    }
  }
  int r = 0;
  if (rmdir(d->path) < 0 && errno != ENOENT)
    r = isola_fail_errno(err, errno, "remove state directory `%s`", d->path);
  state_dir_close(d);
  return r;
}

static char *json_strdup(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

int state_load(struct state_dir *d, struct isola_state *st, struct isola_err *err) {
  memset(st, 0, sizeof *st);
  _cleanup_close_ int fd = openat(d->dirfd, "state.json", O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && !d->locked) {
    /* A lockless reader may race a create (state.json not written yet) or a delete (files
     * going): wait for whoever holds the lock, then look again. */
    struct stat sb;
    while (flock(d->dirfd, LOCK_SH) < 0 && errno == EINTR) {
    }
    bool gone = fstat(d->dirfd, &sb) == 0 && sb.st_nlink == 0;
    if (!gone) fd = openat(d->dirfd, "state.json", O_RDONLY | O_CLOEXEC);
    flock(d->dirfd, LOCK_UN);
    if (gone) {
      const char *slash = strrchr(d->path, '/');
      return isola_fail(err, ENOENT, "container `%s` does not exist", slash ? slash + 1 : d->path);
    }
  }
  if (fd < 0) {
    if (errno == ENOENT) {
      /* A create that died before writing anything: an empty, "creating" container. */
      const char *slash = strrchr(d->path, '/');
      st->id = strdup(slash ? slash + 1 : d->path);
      st->status = ST_CREATING;
      st->annotations = json_object();
      return st->id ? 0 : isola_fail_errno(err, ENOMEM, "state");
    }
    return isola_fail_errno(err, errno, "open `%s/state.json`", d->path);
  }
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_read_fd(fd, &jerr);
  if (!j || !json_is_object(j))
    return isola_fail(err, EINVAL, "`%s/state.json` is corrupt: %s", d->path,
                      j ? "not an object" : jerr.text);
  st->id = json_strdup(j, "id");
  st->bundle = json_strdup(j, "bundle");
  st->engine = json_strdup(j, "engine");
  st->engine_reason = json_strdup(j, "engineReason");
  st->cgroup = json_strdup(j, "cgroup");
  st->created = json_strdup(j, "created");
  st->cgroup_created = json_is_true(json_object_get(j, "cgroupCreated"));
  st->started = json_is_true(json_object_get(j, "started"));
  st->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
  st->pid_start = (uint64_t)json_integer_value(json_object_get(j, "pidStart"));
  const char *s = json_string_value(json_object_get(j, "status"));
  st->status = ST_CREATING;
  for (size_t i = 0; s && i < sizeof status_names / sizeof *status_names; i++)
    if (!strcmp(s, status_names[i])) st->status = (enum isola_status)i;
  /* `start` records the release only by the gate's marker, not in state.json (gate.h):
   * "created" beside the marker is a started workload (state_refresh then sees whether the
   * process still lives). */
  if (st->status == ST_CREATED && gate_opened(d)) {
    st->status = ST_RUNNING;
    st->started = true;
  }
  json_t *a = json_object_get(j, "annotations");
  st->annotations = json_is_object(a) ? json_incref(a) : json_object();
  json_t *x = json_object_get(j, "extra");
  st->extra = json_is_object(x) ? json_incref(x) : NULL;
  if (!st->id) return isola_fail(err, EINVAL, "`%s/state.json` is corrupt: no id", d->path);
  return 0;
}

int state_save(struct state_dir *d, const struct isola_state *st, struct isola_err *err) {
  /* "o" takes the reference: ours on the annotations, or the empty object made for none. */
  json_t *ann = st->annotations ? json_incref(st->annotations) : json_object();
  _cleanup_json_ json_t *j = json_pack(
      "{s:s, s:s, s:s?, s:s?, s:s?, s:s, s:b, s:I, s:I, s:s?, s:b, s:o}", "ociVersion", "1.0.2",
      "id", st->id, "bundle", st->bundle, "engine", st->engine, "engineReason",
      st->engine_reason, "status", status_names[st->status], "started", st->started, "pid",
      (json_int_t)st->pid, "pidStart", (json_int_t)st->pid_start, "cgroup", st->cgroup,
      "cgroupCreated", st->cgroup_created, "annotations", ann);
  if (!j) return isola_fail(err, ENOMEM, "encode state of `%s`", st->id);
  if (st->created) json_object_set_new(j, "created", json_string(st->created));
  if (st->extra) json_object_set(j, "extra", st->extra);
  _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
  if (!text) return isola_fail(err, ENOMEM, "encode state of `%s`", st->id);
  _cleanup_close_ int fd =
      openat(d->dirfd, "state.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return isola_fail_errno(err, errno, "write `%s/state.json.tmp`", d->path);
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t n = write(fd, text + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : ENOSPC;
      unlinkat(d->dirfd, "state.json.tmp", 0);
      return isola_fail_errno(err, e, "write `%s/state.json.tmp`", d->path);
    }
    off += (size_t)n;
  }
  /* Swap the names, then unlink the old file, rather than rename over it: both are atomic
   * for readers (they open the old file or the new one, never neither), but on ext4 a rename
   * over an existing file forces the new file's blocks to be allocated at once
   * (auto_da_alloc: a crash-safety heuristic for editors that skip fsync), and replacing the
   * old file frees its blocks: with `-o discard` and no journal, a discard waited for on the
   * spot. That was ~100 µs a save, most of a wasm bundle's bookkeeping, on a host whose /run
   * is such an ext4 (this project's build VM). State under --root does not outlive the boot,
   * so the crash guarantee buys nothing; a file swapped out and unlinked before writeback
   * never gets blocks at all. The first save (no state.json yet) and file systems without
   * RENAME_EXCHANGE take the plain rename. We hold the directory's lock, so nobody else
   * writes state.json.tmp; one left by a crash is overwritten above. */
  if (renameat2(d->dirfd, "state.json.tmp", d->dirfd, "state.json", RENAME_EXCHANGE) == 0) {
    unlinkat(d->dirfd, "state.json.tmp", 0);
    return 0;
  }
  if (renameat(d->dirfd, "state.json.tmp", d->dirfd, "state.json") < 0) {
    int e = errno;
    unlinkat(d->dirfd, "state.json.tmp", 0);
    return isola_fail_errno(err, e, "replace `%s/state.json`", d->path);
  }
  return 0;
}

void state_release(struct isola_state *st) {
  free(st->id);
  free(st->bundle);
  free(st->engine);
  free(st->engine_reason);
  free(st->cgroup);
  free(st->created);
  if (st->annotations) json_decref(st->annotations);
  if (st->extra) json_decref(st->extra);
  memset(st, 0, sizeof *st);
}

uint64_t proc_start_time(pid_t pid, bool *zombie) {
  char path[64], buf[1024];
  *zombie = false;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n <= 0) return 0;
  buf[n] = 0;
  /* The command name may hold spaces and parentheses: fields start after the last ')'. */
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ') return 0;
  p += 2;
  *zombie = (*p == 'Z' || *p == 'X');
  /* p is field 3 (state); the start time is field 22. */
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (!p) return 0;
    p++;
  }
  return strtoull(p, NULL, 10);
}

void state_refresh(struct isola_state *st) {
  if (st->pid <= 0) {
    if (st->status != ST_CREATING) st->status = ST_STOPPED;
    return;
  }
  bool zombie;
  uint64_t start = proc_start_time(st->pid, &zombie);
  if (start == 0 || zombie || (st->pid_start && start != st->pid_start)) {
    st->status = ST_STOPPED;
    return;
  }
  if (st->status == ST_STOPPED) st->status = st->started ? ST_RUNNING : ST_CREATED;
}

json_t *state_oci_json(const struct isola_state *st) {
  json_t *j = json_pack("{s:s, s:s, s:s}", "ociVersion", "1.0.2", "id", st->id, "status",
                        status_names[st->status]);
  if (!j) return NULL;
  if (st->status != ST_STOPPED && st->pid > 0) json_object_set_new(j, "pid", json_integer(st->pid));
  else json_object_set_new(j, "pid", json_integer(0));
  json_object_set_new(j, "bundle", json_string(st->bundle ? st->bundle : ""));
  json_t *ann = st->annotations ? json_deep_copy(st->annotations) : json_object();
  if (st->engine) json_object_set_new(ann, "io.isola.isolation", json_string(st->engine));
  if (st->engine_reason)
    json_object_set_new(ann, "io.isola.isolation.reason", json_string(st->engine_reason));
  json_object_set_new(j, "annotations", ann);
  if (st->created) json_object_set_new(j, "created", json_string(st->created));
  return j;
}

bool proc_wait_gone(pid_t pid, uint64_t start, int ms) {
  if (pid <= 0) return true;
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, ms);
    close(fd);
    waitpid(pid, NULL, WNOHANG); /* our own child, when `run` deletes */
    return r > 0;
  }
  for (int i = 0; i < ms; i++) {
    bool zombie;
    waitpid(pid, NULL, WNOHANG);
    uint64_t s = proc_start_time(pid, &zombie);
    if (!s || zombie || (start && s != start)) return true;
    nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
  }
  return false;
}
