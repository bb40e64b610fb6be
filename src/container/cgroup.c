/* Control groups: finding hierarchies, creating, entering and removing the container's. */
#include "container/cgroup.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"

struct hier {
  char mount[256];     /* where the hierarchy is mounted */
  char self[512];      /* the runtime's own cgroup in it */
  char opts[256];      /* controllers ("cpu,cpuacct"), "" for cgroup2 */
  bool v2;
};

#define MAX_HIER 16

/* Does the comma list `opts` contain every controller of the comma list `ctrls`? */
static bool opts_have(const char *opts, const char *ctrls) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", ctrls);
  char *save, *tok;
  for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    size_t n = strlen(tok);
    const char *p = opts;
    bool found = false;
    while ((p = strstr(p, tok))) {
      if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) { found = true; break; }
      p += n;
    }
    if (!found) return false;
  }
  return true;
}

static int find_hierarchies(struct hier *h, size_t *n, struct isola_err *err) {
  _cleanup_fclose_ FILE *cg = fopen("/proc/self/cgroup", "re");
  _cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
  if (!cg || !mi) return isola_fail_errno(err, errno, "cgroups: read /proc/self");
  struct { char ctrls[256], path[512]; } own[MAX_HIER];
  size_t nown = 0;
  char line[4096];
  while (nown < MAX_HIER && fgets(line, sizeof line, cg)) {
    char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
    if (!b) continue;
    *b = 0;
    line[strcspn(line, "\n")] = 0;
    b[1 + strcspn(b + 1, "\n")] = 0;
    snprintf(own[nown].ctrls, sizeof own[nown].ctrls, "%s", a + 1);
    snprintf(own[nown].path, sizeof own[nown].path, "%s", b + 1);
    nown++;
  }
  *n = 0;
  while (*n < MAX_HIER && fgets(line, sizeof line, mi)) {
    /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
    char *dash = strstr(line, " - ");
    if (!dash) continue;
    char fstype[32], source[256], super[512], root[512], mnt[256];
    if (sscanf(dash + 3, "%31s %255s %511s", fstype, source, super) < 3) continue;
    if (sscanf(line, "%*s %*s %*s %511s %255s", root, mnt) < 2) continue;
    bool v2 = !strcmp(fstype, "cgroup2");
    if (!v2 && strcmp(fstype, "cgroup")) continue;
    if (strcmp(root, "/")) continue; /* a bind of a sub-cgroup, not the hierarchy root */
    struct hier *x = &h[*n];
    memset(x, 0, sizeof *x);
    x->v2 = v2;
    snprintf(x->mount, sizeof x->mount, "%s", mnt);
    for (size_t i = 0; i < nown; i++) {
      bool match = v2 ? own[i].ctrls[0] == 0
                      : own[i].ctrls[0] && opts_have(super, own[i].ctrls);
      if (!match) continue;
      snprintf(x->self, sizeof x->self, "%s", own[i].path);
      snprintf(x->opts, sizeof x->opts, "%s", own[i].ctrls);
      /* Skip duplicates: the same hierarchy mounted twice. */
      bool dup = false;
      for (size_t k = 0; k < *n; k++) dup |= h[k].v2 == v2 && !strcmp(h[k].opts, x->opts);
      if (!dup) (*n)++;
      break;
    }
  }
  return 0;
}

static int write_file(const char *dir, const char *file, const char *val) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t len = (ssize_t)strlen(val);
  return write(fd, val, len) == len ? 0 : -1;
}

/* A v1 cpuset cgroup starts with no cpus and mems: copy the parent's, or no task can join. */
static void cpuset_inherit(const char *dir) {
  char parent[1024], buf[256];
  snprintf(parent, sizeof parent, "%s", dir);
  char *slash = strrchr(parent, '/');
  if (!slash) return;
  *slash = 0;
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (int i = 0; i < 2; i++) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    _cleanup_fclose_ FILE *cur = fopen(path, "re");
    if (cur && fgets(buf, sizeof buf, cur) && buf[0] != '\n') continue;
    snprintf(path, sizeof path, "%s/%s", parent, files[i]);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (f && fgets(buf, sizeof buf, f)) write_file(dir, files[i], buf);
  }
}

/* mkdir -p below `mount`, recording what was created in `made`; cpuset dirs inherit. */
static int make_dirs(const char *mount, const char *rel, bool cpuset, json_t *made) {
  char path[1024];
  int n = snprintf(path, sizeof path, "%s/%s", mount, rel);
  if (n < 0 || (size_t)n >= sizeof path) return errno = ENAMETOOLONG, -1;
  for (char *p = path + strlen(mount) + 1; ; p++) {
    if (*p != '/' && *p != 0) continue;
    char c = *p;
    *p = 0;
    if (mkdir(path, 0755) == 0) {
      json_array_append_new(made, json_string(path));
      if (cpuset) cpuset_inherit(path);
    } else if (errno != EEXIST) {
      return -1;
    }
    if (!c) break;
    *p = '/';
  }
  return 0;
}

/* The path below each hierarchy, before joining with the runtime's own cgroup. */
static void normalize(const char *cgroups_path, const char *id, char *out, size_t len) {
  if (!cgroups_path || !cgroups_path[0]) {
    snprintf(out, len, "/isola/%s", id);
    return;
  }
  const char *c1 = strchr(cgroups_path, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (c2 && cgroups_path[0] != '/') { /* slice:prefix:name */
    snprintf(out, len, "/%.*s/%.*s-%s.scope", (int)(c1 - cgroups_path), cgroups_path,
             (int)(c2 - c1 - 1), c1 + 1, c2 + 1);
    return;
  }
  snprintf(out, len, "%s", cgroups_path);
}

int cgroup_enter(const char *cgroups_path, const char *id, pid_t pid, json_t **dirs_out,
                 struct isola_err *err) {
  struct hier h[MAX_HIER];
  size_t n = 0;
  if (find_hierarchies(h, &n, err) < 0) return -1;
  char rel[1024], pidstr[32];
  normalize(cgroups_path, id, rel, sizeof rel);
  if (strstr(rel, "/../") || !strncmp(rel, "../", 3) || strstr(rel, "/..\0"))
    return isola_fail(err, EINVAL, "linux.cgroupsPath: `%s` may not contain `..`", rel);
  snprintf(pidstr, sizeof pidstr, "%d", pid);
  json_t *made = json_array(), *dirs = json_array();
  for (size_t i = 0; i < n; i++) {
    char full[1024];
    if (rel[0] == '/') snprintf(full, sizeof full, "%s", rel + 1);
    else snprintf(full, sizeof full, "%s/%s", h[i].self[1] ? h[i].self + 1 : "", rel);
    char *f = full;
    while (*f == '/') f++;
    bool cpuset = !h[i].v2 && opts_have(h[i].opts, "cpuset");
    char dir[1400];
    snprintf(dir, sizeof dir, "%s/%s", h[i].mount, f);
    if (make_dirs(h[i].mount, f, cpuset, made) < 0 || write_file(dir, "cgroup.procs", pidstr) < 0) {
      int e = errno;
      isola_fail_errno(err, e, "cgroup `%s`", dir);
      cgroup_remove(made, err);
      json_decref(made);
      json_decref(dirs);
      return isola_fail_errno(err, e, "linux.cgroupsPath: enter cgroup `%s`", dir);
    }
    json_array_append_new(dirs, json_string(dir));
  }
  /* Only the container's own directories are removed at delete: shared parents ("/isola")
   * may hold other containers. The leaf of each hierarchy is the container's. */
  json_decref(made);
  *dirs_out = dirs;
  return 0;
}

int cgroup_remove(json_t *dirs, struct isola_err *err) {
  int r = 0;
  for (size_t i = json_array_size(dirs); i-- > 0;) {
    const char *d = json_string_value(json_array_get(dirs, i));
    if (!d) continue;
    /* The last task may still be exiting: retry EBUSY briefly. */
    for (int tries = 0; rmdir(d) < 0; tries++) {
      if (errno == ENOENT) break;
      if (errno != EBUSY || tries == 100) {
        r = isola_fail_errno(err, errno, "remove cgroup `%s`", d);
        break;
      }
      nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
    }
  }
  return r;
}

int cgroup_pids(json_t *dirs, pid_t **pids, size_t *n, struct isola_err *err) {
  *pids = NULL;
  *n = 0;
  const char *d = json_string_value(json_array_get(dirs, 0));
  if (!d) return 0;
  char path[1100];
  snprintf(path, sizeof path, "%s/cgroup.procs", d);
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f) return errno == ENOENT ? 0 : isola_fail_errno(err, errno, "read `%s`", path);
  size_t cap = 0;
  int pid;
  while (fscanf(f, "%d", &pid) == 1) {
    if (*n == cap) {
      pid_t *np = realloc(*pids, (cap = cap ? cap * 2 : 16) * sizeof *np);
      if (!np) return isola_fail_errno(err, ENOMEM, "read `%s`", path);
      *pids = np;
    }
    (*pids)[(*n)++] = pid;
  }
  return 0;
}
