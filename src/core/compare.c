/* `isola compare`: preparing, running and measuring; see compare.h. The reports are in
 * compare_report.c. */
#include "core/compare.h"

#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "container/cgroup.h"
#include "core/avail.h"
#include "core/cleanup.h"
#include "core/oci_config.h"
#include "core/policy.h"
#include "core/select.h"
#include "core/sha256.h"

const char *const compare_metric_names[CM_COUNT] = {"start_ms", "wall_ms", "cpu_ms", "peak_mib"};
const char *const compare_metric_titles[CM_COUNT] = {"start ms", "wall ms", "cpu ms", "peak MiB"};

/* A run that outlives its timeout (or is interrupted) has its workload killed; `run` gets
 * SIGTERM, then SIGKILL this long after if it still runs. */
#define KILL_GRACE_MS 5000
/* After the runtime exited, how long its stdout may stay open (a process it left behind). */
#define DRAIN_GRACE_MS 2000

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- preparing ---------------------------------------------------------------------------- */

/* Opens `prog` inside the rootfs (RESOLVE_IN_ROOT: symlinks and `..` stay inside), relative
 * names from process.cwd, as the engines resolve args[0]. Returns the fd or -1 with errno. */
static int open_in_rootfs(const char *rootfs, const char *cwd, const char *prog) {
  _cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return -1;
  char path[PATH_MAX];
  if (prog[0] == '/') snprintf(path, sizeof path, "%s", prog);
  else snprintf(path, sizeof path, "%s/%s", cwd ? cwd : "/", prog);
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK, .resolve = RESOLVE_IN_ROOT};
  return (int)syscall(SYS_openat2, root, path, &how, sizeof how);
}

/* 1: a wasm module, 0: something else, -1: cannot be opened (errno). */
static int is_wasm(const char *rootfs, const char *cwd, const char *prog) {
  _cleanup_close_ int fd = open_in_rootfs(rootfs, cwd, prog);
  if (fd < 0) return -1;
  unsigned char magic[4];
  return read(fd, magic, 4) == 4 && !memcmp(magic, "\0asm", 4);
}

/* Checks an entrypoint named by a flag or an annotation (`what`). A native one without a
 * slash is left to the engine's PATH lookup. */
static int check_entry(const char *rootfs, const char *cwd, const char *prog, bool want_wasm,
                       const char *what, struct isola_err *err) {
  if (!prog[0]) return isola_fail(err, EINVAL, "%s: empty path", what);
  if (!want_wasm && !strchr(prog, '/')) return 0;
  int w = is_wasm(rootfs, cwd, prog);
  if (w < 0) return isola_fail_errno(err, errno, "%s: `%s` in the rootfs", what, prog);
  if (want_wasm && !w)
    return isola_fail(err, EINVAL, "%s: `%s` is not a wasm module (no \\0asm magic)", what, prog);
  if (!want_wasm && w)
    return isola_fail(err, EINVAL, "%s: `%s` is a wasm module, not a native program", what,
                      prog);
  return 0;
}

static void skip(struct compare_engine *e, const char *fmt, const char *arg) {
  e->status = COMPARE_SKIPPED;
  snprintf(e->reason, sizeof e->reason, fmt, arg);
}

int compare_prepare(const struct compare_opts *o, struct compare *c, struct isola_err *err) {
  memset(c, 0, sizeof *c);
  c->runs = o->runs;
  if (o->runs < 1 || o->runs > COMPARE_MAX_RUNS)
    return isola_fail(err, EINVAL, "--runs: expected 1 to %d, got %d", COMPARE_MAX_RUNS, o->runs);
  if (!realpath(o->bundle, c->bundle)) return isola_fail_errno(err, errno, "bundle `%s`", o->bundle);
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/config.json", c->bundle);
  struct oci_config *cfg = NULL;
  if (oci_config_load(path, &cfg, err) < 0) return -1;
  int ret = -1;
  if (!cfg->has_process || !cfg->process.nargs) {
    isola_fail(err, EINVAL, "config.json: process.args: required to compare");
    goto out;
  }
  char joined[PATH_MAX * 2];
  if (cfg->root_path[0] == '/') snprintf(joined, sizeof joined, "%s", cfg->root_path);
  else snprintf(joined, sizeof joined, "%s/%s", c->bundle, cfg->root_path);
  if (!realpath(joined, c->rootfs)) {
    isola_fail_errno(err, errno, "config.json: root.path: `%s`", joined);
    goto out;
  }
  const char *cwd = cfg->process.cwd, *args0 = cfg->process.args[0];
  const char *native = o->native, *wasm = o->wasm;
  const char *nwhat = "--native", *wwhat = "--wasm";
  if (!native && (native = oci_annotation(cfg, "io.isola.compare.native")))
    nwhat = "config.json: annotations.io.isola.compare.native";
  if (!wasm && (wasm = oci_annotation(cfg, "io.isola.compare.wasm")))
    wwhat = "config.json: annotations.io.isola.compare.wasm";
  if (native && check_entry(c->rootfs, cwd, native, false, nwhat, err) < 0) goto out;
  if (wasm && check_entry(c->rootfs, cwd, wasm, true, wwhat, err) < 0) goto out;
  /* Without a name for one of the two, process.args[0] serves the kind it is. */
  int w = is_wasm(c->rootfs, cwd, args0);
  if (!native && w != 1) native = args0;
  if (!wasm && w == 1) wasm = args0;
  snprintf(c->native, sizeof c->native, "%s", native ? native : "");
  snprintf(c->wasm, sizeof c->wasm, "%s", wasm ? wasm : "");

  bool no_kvm_fallback = false;
  char fallback[16] = "";
  for (size_t i = 0; i < COMPARE_MAX_ENGINES && o->engines[i]; i++) {
    struct compare_engine *e = &c->engines[c->nengines++];
    snprintf(e->name, sizeof e->name, "%s", o->engines[i]);
    for (int m = 0; m < CM_COUNT; m++) e->median[m] = -1;
    bool is_wasm_engine = !strcmp(e->name, "wasm");
    snprintf(e->entrypoint, sizeof e->entrypoint, "%s", is_wasm_engine ? c->wasm : c->native);
    if (strcmp(e->name, "container") && strcmp(e->name, "vm") && !is_wasm_engine) {
      isola_fail(err, EINVAL, "--engines: unknown engine `%s` (container, vm, wasm)", e->name);
      goto out;
    }
    for (size_t k = 0; k + 1 < c->nengines; k++)
      if (!strcmp(c->engines[k].name, e->name)) {
        isola_fail(err, EINVAL, "--engines: `%s` is named twice", e->name);
        goto out;
      }
    struct engine_avail a;
    engine_avail(e->name, &a);
    if (!a.runnable) {
      skip(e, "%s", a.reason);
      continue;
    }
    snprintf(e->reason, sizeof e->reason, "%s", a.reason);
    if (!e->entrypoint[0]) {
      skip(e, "%s",
           is_wasm_engine ? "the bundle has no wasm build (annotation io.isola.compare.wasm or "
                            "--wasm names one)"
                          : "the bundle has no native build (annotation io.isola.compare.native "
                            "or --native names one)");
      continue;
    }
    if (!strcmp(e->name, "vm") && !kvm_usable()) {
      /* Without KVM the policy may turn vm into a container or refuse: then the numbers
       * would not be the vm's. */
      struct policy p;
      struct isola_err perr;
      if (policy_load(o->policy ? o->policy : "/etc/isola/policy.json", o->policy != NULL, &p,
                      &perr) < 0) {
        *err = perr;
        goto out;
      }
      no_kvm_fallback = p.kvm_fallback != KVM_FALLBACK_TCG;
      snprintf(fallback, sizeof fallback, "%s",
               p.kvm_fallback == KVM_FALLBACK_CONTAINER ? "container" : "refuse");
      policy_release(&p);
      if (no_kvm_fallback)
        skip(e, "no usable /dev/kvm and the policy's kvmFallback is `%s`", fallback);
    }
  }
  c->config = json_incref(cfg->json);
  ret = 0;
out:
  oci_config_free(cfg);
  return ret;
}

json_t *compare_run_config(json_t *cfg, const char *entrypoint, const char *rootfs,
                           const char *bundle, const char *cgroup, struct isola_err *err) {
  json_t *c = json_deep_copy(cfg);
  if (!c) return isola_fail(err, ENOMEM, "copy config.json"), NULL;
  json_t *proc = json_object_get(c, "process");
  json_t *args = json_object_get(proc, "args");
  if (!json_is_array(args) || !json_array_size(args)) {
    json_decref(c);
    return isola_fail(err, EINVAL, "config.json: process.args: required to compare"), NULL;
  }
  json_array_set_new(args, 0, json_string(entrypoint));
  json_object_set_new(proc, "terminal", json_false());
  json_t *root = json_object_get(c, "root");
  if (!json_is_object(root)) json_object_set_new(c, "root", root = json_object());
  json_object_set_new(root, "path", json_string(rootfs));
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(c, "mounts"), i, m) {
    const char *src = json_string_value(json_object_get(m, "source"));
    const char *type = json_string_value(json_object_get(m, "type"));
    bool bind = type && !strcmp(type, "bind");
    size_t k;
    json_t *opt;
    json_array_foreach(json_object_get(m, "options"), k, opt) {
      const char *s = json_string_value(opt);
      bind |= s && (!strcmp(s, "bind") || !strcmp(s, "rbind"));
    }
    if (bind && src && src[0] != '/') {
      char abs[PATH_MAX * 2];
      snprintf(abs, sizeof abs, "%s/%s", bundle, src);
      json_object_set_new(m, "source", json_string(abs));
    }
  }
  json_t *lx = json_object_get(c, "linux");
  if (!json_is_object(lx)) json_object_set_new(c, "linux", lx = json_object());
  json_object_set_new(lx, "cgroupsPath", json_string(cgroup));
  return c;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double compare_median(double *v, size_t n) {
  if (!n) return -1;
  for (size_t i = 0; i < n; i++)
    if (v[i] < 0 || isnan(v[i])) return -1;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double metric(const struct compare_sample *s, enum compare_metric m) {
  switch (m) {
  case CM_START: return s->start_ms;
  case CM_WALL: return s->wall_ms;
  case CM_CPU: return s->cpu_ms;
  default: return s->peak_mib;
  }
}

void compare_summarize(struct compare *c) {
  for (size_t i = 0; i < c->nengines; i++) {
    struct compare_engine *e = &c->engines[i];
    for (int m = 0; m < CM_COUNT; m++) e->median[m] = -1;
    if (e->status != COMPARE_OK || !e->nsamples) continue;
    double v[COMPARE_MAX_RUNS];
    for (int m = 0; m < CM_COUNT; m++) {
      for (int k = 0; k < e->nsamples; k++) v[k] = metric(&e->samples[k], m);
      e->median[m] = compare_median(v, (size_t)e->nsamples);
    }
    e->exit = e->samples[0].exit;
    snprintf(e->sha256, sizeof e->sha256, "%s", e->samples[0].sha256);
    e->consistent = true;
    for (int k = 1; k < e->nsamples; k++)
      e->consistent &= e->samples[k].exit == e->exit && !strcmp(e->samples[k].sha256, e->sha256);
  }
  for (int m = 0; m < CM_COUNT; m++) {
    double best = -1;
    for (size_t i = 0; i < c->nengines; i++) {
      const struct compare_engine *e = &c->engines[i];
      if (e->status == COMPARE_OK && e->median[m] > 0 && (best < 0 || e->median[m] < best))
        best = e->median[m];
    }
    for (size_t i = 0; i < c->nengines; i++) {
      struct compare_engine *e = &c->engines[i];
      e->ratio[m] = e->status == COMPARE_OK && best > 0 && e->median[m] > 0 ? e->median[m] / best
                                                                             : 0;
    }
  }
}

void compare_release(struct compare *c) {
  for (size_t i = 0; i < c->nengines; i++) free(c->engines[i].samples);
  if (c->config) json_decref(c->config);
  memset(c, 0, sizeof *c);
}

/* ---- running ------------------------------------------------------------------------------ */

struct session {
  const struct compare_opts *o;
  char tmp[PATH_MAX];    /* TMPDIR/isola-compare-XXXXXX: config copies, logs */
  char root[PATH_MAX];   /* the state root of the runs */
  char isola[PATH_MAX];
  int sigfd;             /* SIGINT, SIGTERM, SIGHUP, SIGQUIT while compare runs */
  sigset_t oldmask;
  int interrupted;       /* the signal, once one came */
  unsigned seq;
};

/* The first error the runtime logged (--log-format json lines), or "" when none. */
static void log_error(const char *path, char *out, size_t len) {
  out[0] = 0;
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  char line[4096];
  while (f && fgets(line, sizeof line, f)) {
    json_t *j = json_loads(line, 0, NULL);
    const char *lvl = json_string_value(json_object_get(j, "level"));
    const char *msg = json_string_value(json_object_get(j, "msg"));
    if (lvl && msg && !strcmp(lvl, "error") && !out[0]) snprintf(out, len, "%s", msg);
    json_decref(j);
  }
}

/* Runs `isola --root ROOT ARGS...` and waits (for cleanup: delete --force). */
static void run_isola(struct session *s, const char *const *args) {
  const char *argv[16] = {s->isola, "--root", s->root};
  size_t n = 3;
  for (; *args && n < 15; args++) argv[n++] = *args;
  argv[n] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    execv(argv[0], (char **)argv);
    _exit(127);
  }
  if (pid > 0)
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

/* The run's cgroup directories: the parent of each leaf cgroup_enter made. */
static void parent_dir(const char *dir, char *out, size_t len) {
  snprintf(out, len, "%s", dir);
  char *slash = strrchr(out, '/');
  if (slash) *slash = 0;
}

static bool read_u64(const char *dir, const char *file, const char *key, uint64_t *v) {
  char path[PATH_MAX + 64], line[256];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  while (f && fgets(line, sizeof line, f)) {
    if (!key) return sscanf(line, "%" SCNu64, v) == 1;
    size_t n = strlen(key);
    if (!strncmp(line, key, n) && line[n] == ' ') return sscanf(line + n + 1, "%" SCNu64, v) == 1;
  }
  return false;
}

/* cgroup v2 gives a parent's controllers to its children only when asked: memory (for
 * memory.peak) and cpu, in the parent of the run's directory and in the run's directory.
 * Best effort: where it cannot, the fallbacks apply. */
static void v2_enable(json_t *dirs) {
  size_t i;
  json_t *d;
  json_array_foreach(dirs, i, d) {
    char run[PATH_MAX], parent[PATH_MAX], probe[PATH_MAX + 32];
    parent_dir(json_string_value(d), run, sizeof run);
    snprintf(probe, sizeof probe, "%s/cgroup.subtree_control", run);
    if (access(probe, F_OK) < 0) continue; /* v1 */
    parent_dir(run, parent, sizeof parent);
    const char *dirs2[] = {parent, run};
    for (int k = 0; k < 2; k++)
      for (const char *const *ctl = (const char *const[]){"+memory", "+cpu", NULL}; *ctl; ctl++) {
        snprintf(probe, sizeof probe, "%s/cgroup.subtree_control", dirs2[k]);
        _cleanup_close_ int fd = open(probe, O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && write(fd, *ctl, strlen(*ctl)) < 0) {
        }
      }
  }
}

/* CPU and memory of the run's cgroup; sources named for the report. */
static void cgroup_measure(json_t *dirs, struct compare_sample *s, struct compare_engine *e) {
  size_t i;
  json_t *d;
  bool cpu = false, mem = false;
  for (int pass = 0; pass < 2; pass++) /* v1 files first: on a hybrid host they hold the data */
    json_array_foreach(dirs, i, d) {
      char run[PATH_MAX];
      parent_dir(json_string_value(d), run, sizeof run);
      uint64_t v;
      if (pass == 0 && !mem && read_u64(run, "memory.max_usage_in_bytes", NULL, &v)) {
        s->peak_mib = (double)v / (1024.0 * 1024.0), mem = true;
        snprintf(e->mem_source, sizeof e->mem_source, "cgroup v1 memory.max_usage_in_bytes");
      }
      if (pass == 1 && !mem && read_u64(run, "memory.peak", NULL, &v)) {
        s->peak_mib = (double)v / (1024.0 * 1024.0), mem = true;
        snprintf(e->mem_source, sizeof e->mem_source, "cgroup v2 memory.peak");
      }
      if (pass == 0 && !cpu && read_u64(run, "cpuacct.usage", NULL, &v)) {
        s->cpu_ms = (double)v / 1e6, cpu = true;
        snprintf(e->cpu_source, sizeof e->cpu_source, "cgroup v1 cpuacct.usage");
      }
      if (pass == 1 && !cpu && read_u64(run, "cpu.stat", "usage_usec", &v)) {
        s->cpu_ms = (double)v / 1e3, cpu = true;
        snprintf(e->cpu_source, sizeof e->cpu_source, "cgroup v2 cpu.stat usage_usec");
      }
    }
}

/* Removes the run's cgroup: whatever the runtime left below it, then the directories. */
static int rmtree_cgroup(const char *dir) {
  _cleanup_closedir_ DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
      char sub[PATH_MAX];
      snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
      rmtree_cgroup(sub);
    }
  for (int tries = 0; rmdir(dir) < 0; tries++) {
    if (errno == ENOENT) return 0;
    if (errno != EBUSY || tries == 100) return -1;
    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
  }
  return 0;
}

static void cgroup_cleanup(json_t *dirs) {
  size_t i;
  json_t *d;
  json_array_foreach(dirs, i, d) {
    char run[PATH_MAX], parent[PATH_MAX];
    parent_dir(json_string_value(d), run, sizeof run);
    rmtree_cgroup(run);
    parent_dir(run, parent, sizeof parent);
    rmdir(parent); /* /isola-compare, unless another compare uses it */
  }
}

/* Reaps what compare adopted as subreaper (processes the run left behind, once `delete`
 * killed them), adding their CPU to `ru`. */
static void reap_orphans(struct rusage *ru) {
  struct rusage r;
  while (wait4(-1, NULL, WNOHANG, &r) > 0) {
    timeradd(&ru->ru_utime, &r.ru_utime, &ru->ru_utime);
    timeradd(&ru->ru_stime, &r.ru_stime, &ru->ru_stime);
    if (r.ru_maxrss > ru->ru_maxrss) ru->ru_maxrss = r.ru_maxrss;
  }
}

/* One run of engine `e`: fills `s`. Returns 0 when the run completed (whatever the workload's
 * status), 1 when the runtime failed (reason in e->reason), -1 when compare must stop. */
static int run_once(struct session *ss, struct compare *c, struct compare_engine *e, int n,
                    struct compare_sample *s, struct isola_err *err) {
  const struct compare_opts *o = ss->o;
  char id[64], cg[96], cg_runtime[128], cg_ctr[128], bundle[PATH_MAX], logf[PATH_MAX];
  const char *root = ss->root;
  unsigned seq = ++ss->seq;
  snprintf(id, sizeof id, "cmp-%d-%s-%d", (int)getpid(), e->name, n);
  snprintf(cg, sizeof cg, "%s/%d-%u", COMPARE_CGROUP_PARENT, (int)getpid(), seq);
  snprintf(cg_runtime, sizeof cg_runtime, "%s/runtime", cg);
  snprintf(cg_ctr, sizeof cg_ctr, "%s/ctr", cg);
  snprintf(bundle, sizeof bundle, "%s/%s", ss->tmp, e->name);
  snprintf(logf, sizeof logf, "%s/%s.log", ss->tmp, id);

  /* The engine's config, with the cgroup of this run. */
  char cfgpath[PATH_MAX + 16];
  snprintf(cfgpath, sizeof cfgpath, "%s/config.json", bundle);
  if (mkdir(bundle, 0700) < 0 && errno != EEXIST)
    return isola_fail_errno(err, errno, "mkdir `%s`", bundle);
  _cleanup_json_ json_t *cfg = compare_run_config(c->config, e->entrypoint, c->rootfs, c->bundle,
                                                  cg_ctr, err);
  if (!cfg) return -1;
  unlink(cfgpath);
  if (json_dump_file(cfg, cfgpath, JSON_INDENT(1)) < 0)
    return isola_fail_errno(err, errno ? errno : EIO, "write `%s`", cfgpath);

  int outp[2] = {-1, -1}, errp[2] = {-1, -1}, go[2] = {-1, -1};
  if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
    int e2 = errno;
    for (int *p = outp; p < outp + 2; p++)
      if (*p >= 0) close(*p);
    for (int *p = errp; p < errp + 2; p++)
      if (*p >= 0) close(*p);
    return isola_fail_errno(err, e2, "pipe");
  }
  _cleanup_close_ int out_r = outp[0], err_r = errp[0], go_w = go[1];
  const char *argv[20];
  size_t k = 0;
  argv[k++] = ss->isola;
  argv[k++] = "--root", argv[k++] = root;
  argv[k++] = "--log", argv[k++] = logf, argv[k++] = "--log-format", argv[k++] = "json";
  argv[k++] = "--isolation", argv[k++] = e->name;
  if (o->policy) argv[k++] = "--policy", argv[k++] = o->policy;
  argv[k++] = "run", argv[k++] = "-b", argv[k++] = bundle, argv[k++] = id;
  argv[k] = NULL;

  pid_t pid = fork();
  if (pid < 0) {
    close(outp[1]), close(errp[1]), close(go[0]);
    return isola_fail_errno(err, errno, "fork");
  }
  if (pid == 0) {
    /* The child: stdio onto the pipes, wait until it is in its cgroup, then exec. */
    sigprocmask(SIG_SETMASK, &ss->oldmask, NULL);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0) _exit(127);
    char b;
    if (read(go[0], &b, 1) != 1) _exit(127);
    execv(argv[0], (char **)argv);
    _exit(127);
  }
  close(outp[1]), close(errp[1]), close(go[0]);
  _cleanup_kill_ pid_t child = pid;

  json_t *dirs = NULL;
  struct isola_err cgerr;
  if (cgroup_enter(cg_runtime, id, pid, NULL, &dirs, &cgerr) < 0) {
    /* Every engine needs cgroups too: the run could not have worked. */
    snprintf(e->reason, sizeof e->reason, "run %d: %s", n, cgerr.msg);
    return 1;
  }
  v2_enable(dirs);

  struct sha256 sha;
  sha256_init(&sha);
  s->start_ms = -1;
  s->out_bytes = 0;
  char tail[sizeof e->stderr_tail];
  size_t ntail = 0;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  double t0 = now_ms(), t_end = -1, deadline = o->timeout_s > 0 ? t0 + o->timeout_s * 1e3 : -1;
  double kill_at = -1, drain_until = -1;
  bool timed_out = false;
  int status = 0;
  struct rusage ru = {0};
  if (write(go_w, "g", 1) != 1) {
  }
  close(take_fd(&go_w));

  for (;;) {
    struct pollfd p[4] = {{out_r, POLLIN, 0}, {err_r, POLLIN, 0}, {pidfd, POLLIN, 0},
                          {ss->sigfd, POLLIN, 0}};
    double now = now_ms(), wake = -1;
    if (t_end >= 0 && (out_r < 0 && err_r < 0)) break;
    if (t_end >= 0 && now >= drain_until) break;
    if (t_end < 0 && kill_at < 0 && (ss->interrupted || (deadline >= 0 && now >= deadline))) {
      /* Stop the run: SIGKILL the workload (a PID 1 ignores SIGTERM), which makes `run`
       * delete the container and exit; `run` itself gets SIGTERM in case the container
       * does not exist yet, and SIGKILL after a grace period. */
      timed_out = !ss->interrupted;
      run_isola(ss, (const char *const[]){"kill", id, "KILL", NULL});
      kill(pid, SIGTERM);
      kill_at = now + KILL_GRACE_MS;
    }
    if (t_end < 0 && kill_at >= 0 && now >= kill_at) {
      kill(pid, SIGKILL);
      kill_at = now + 1e9;
    }
    if (t_end >= 0) wake = drain_until;
    else if (kill_at >= 0) wake = kill_at;
    else if (deadline >= 0) wake = deadline;
    int ms = wake < 0 ? -1 : (int)(wake - now) + 1;
    if (poll(p, 4, ms) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents) {
      char buf[65536];
      ssize_t r = read(out_r, buf, sizeof buf);
      if (r > 0) {
        if (s->start_ms < 0) s->start_ms = now_ms() - t0;
        sha256_update(&sha, buf, (size_t)r);
        s->out_bytes += (size_t)r;
      } else if (r == 0 || errno != EINTR) {
        close(take_fd(&out_r));
      }
    }
    if (p[1].revents) {
      char buf[4096];
      ssize_t r = read(err_r, buf, sizeof buf);
      if (r > 0) {
        /* Keep the last bytes: a failing workload says why at the end. */
        for (ssize_t i = 0; i < r; i++) {
          if (ntail == sizeof tail - 1) memmove(tail, tail + 1, --ntail);
          tail[ntail++] = buf[i];
        }
      } else if (r == 0 || errno != EINTR) {
        close(take_fd(&err_r));
      }
    }
    if (p[3].revents) {
      struct signalfd_siginfo si;
      if (read(ss->sigfd, &si, sizeof si) == sizeof si) ss->interrupted = (int)si.ssi_signo;
    }
    if ((p[2].revents || pidfd < 0) && t_end < 0) {
      pid_t w = wait4(pid, &status, pidfd < 0 ? WNOHANG : 0, &ru);
      if (w == pid) {
        t_end = now_ms();
        take_pid(&child);
        drain_until = t_end + DRAIN_GRACE_MS;
      }
    }
  }
  if (pidfd >= 0) close(pidfd);
  tail[ntail] = 0;
  s->wall_ms = t_end - t0;
  s->exit = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  sha256_final_hex(&sha, s->sha256);

  /* Measure before anything is removed, then clean up: a container the runtime left (it was
   * killed), what is left of the cgroup, adopted orphans. */
  s->cpu_ms = -1, s->peak_mib = -1;
  cgroup_measure(dirs, s, e);
  char state[PATH_MAX + 80];
  snprintf(state, sizeof state, "%s/%s", root, id);
  if (access(state, F_OK) == 0) run_isola(ss, (const char *const[]){"delete", "--force", id, NULL});
  reap_orphans(&ru);
  cgroup_cleanup(dirs);
  json_decref(dirs);
  if (s->cpu_ms < 0) {
    s->cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    snprintf(e->cpu_source, sizeof e->cpu_source, "rusage of the reaped processes");
  }
  if (s->peak_mib < 0) {
    s->peak_mib = (double)ru.ru_maxrss / 1024.0;
    snprintf(e->mem_source, sizeof e->mem_source, "largest process peak RSS (a floor)");
  }

  char logged[sizeof e->reason - 64];
  log_error(logf, logged, sizeof logged);
  if (ss->interrupted)
    return isola_fail(err, EINTR, "interrupted by signal %d (%s run %d)", ss->interrupted,
                      e->name, n);
  if (timed_out) {
    snprintf(e->reason, sizeof e->reason, "run %d timed out after %g s", n, o->timeout_s);
    snprintf(e->stderr_tail, sizeof e->stderr_tail, "%s", tail);
    return 1;
  }
  if (logged[0] || (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !s->out_bytes &&
                    access(ss->isola, X_OK) < 0)) {
    snprintf(e->reason, sizeof e->reason, "run %d: %s", n,
             logged[0] ? logged : "cannot execute isola");
    snprintf(e->stderr_tail, sizeof e->stderr_tail, "%s", tail);
    return 1;
  }
  return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int session_open(struct session *s, const struct compare_opts *o, struct isola_err *err) {
  memset(s, 0, sizeof *s);
  s->o = o;
  s->sigfd = -1;
  if (o->isola) {
    snprintf(s->isola, sizeof s->isola, "%s", o->isola);
  } else {
    ssize_t n = readlink("/proc/self/exe", s->isola, sizeof s->isola - 1);
    if (n < 0) return isola_fail_errno(err, errno, "readlink `/proc/self/exe`");
    s->isola[n] = 0;
  }
  const char *tmpdir = getenv("TMPDIR");
  snprintf(s->tmp, sizeof s->tmp, "%s/isola-compare-XXXXXX",
           tmpdir && tmpdir[0] == '/' ? tmpdir : "/tmp");
  if (!mkdtemp(s->tmp)) return isola_fail_errno(err, errno, "temporary directory `%s`", s->tmp);
  if (o->root) {
    snprintf(s->root, sizeof s->root, "%s", o->root);
  } else {
    snprintf(s->root, sizeof s->root, "%s/root", s->tmp);
    if (mkdir(s->root, 0700) < 0) {
      int e = errno;
      rmdir(s->tmp);
      return isola_fail_errno(err, e, "mkdir `%s`", s->root);
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT), sigaddset(&set, SIGTERM), sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGQUIT);
  sigprocmask(SIG_BLOCK, &set, &s->oldmask);
  s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  /* Processes a run leaves behind are re-parented to us, so their CPU is counted and they
   * are reaped. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  return 0;
}

static void session_close(struct session *s) {
  nftw(s->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  if (s->sigfd >= 0) close(s->sigfd);
  sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
}

/* A signal that came between runs (read without waiting). */
static bool signalled(struct session *s) {
  struct signalfd_siginfo si;
  if (!s->interrupted && s->sigfd >= 0 && read(s->sigfd, &si, sizeof si) == sizeof si)
    s->interrupted = (int)si.ssi_signo;
  return s->interrupted != 0;
}

int compare_run(const struct compare_opts *o, struct compare *c, struct isola_err *err) {
  struct session s;
  if (session_open(&s, o, err) < 0) return -1;
  int ret = 0;
  for (size_t i = 0; i < c->nengines && !ret; i++) {
    struct compare_engine *e = &c->engines[i];
    if (e->status != COMPARE_OK) continue;
    e->samples = calloc((size_t)c->runs, sizeof *e->samples);
    if (!e->samples) {
      ret = isola_fail_errno(err, ENOMEM, "compare");
      break;
    }
    for (int n = 1; n <= c->runs; n++) {
      if (signalled(&s)) break;
      if (o->progress) o->progress(o->progress_ctx, e->name, n, c->runs, NULL, NULL);
      struct compare_sample *smp = &e->samples[e->nsamples];
      int r = run_once(&s, c, e, n, smp, err);
      if (r != 0 && o->progress)
        o->progress(o->progress_ctx, e->name, n, c->runs, NULL, r < 0 ? err->msg : e->reason);
      if (r < 0) {
        ret = -1;
        break;
      }
      if (r > 0) {
        e->status = COMPARE_FAILED;
        break;
      }
      e->nsamples++;
      if (o->progress) o->progress(o->progress_ctx, e->name, n, c->runs, smp, NULL);
    }
  }
  /* A signal still pending would kill us once unblocked, before the caller cleans up. */
  if (!ret && signalled(&s))
    ret = isola_fail(err, EINTR, "interrupted by signal %d", s.interrupted);
  session_close(&s);
  compare_summarize(c);
  return ret;
}
