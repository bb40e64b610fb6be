/* `isola compare`: runs one workload under each engine and measures what each costs.
 *
 * A bundle may hold a native build and a wasm build of the same program side by side; the
 * annotations io.isola.compare.native / io.isola.compare.wasm (or the --native / --wasm flags)
 * name the two entrypoints, paths inside the rootfs. The container and vm engines run the
 * native one, the wasm engine the wasm one, each with the same arguments after args[0].
 *
 * Each run re-executes isola itself, as a user would run it:
 *     isola --root ROOT --log TMP/ID.log --log-format json --isolation E run -b TMP/E ID
 * with compare's own --root (so that caches there, like compiled seccomp filters, serve the
 * runs as they serve any container), where TMP/E/config.json is a copy of the bundle's config with args[0] set for the engine,
 * root.path made absolute, no terminal, and linux.cgroupsPath set to the relative path ID.
 * Each run gets a cgroup of its own on every hierarchy, RUN = /isola-compare/PID-N: the child
 * is put in RUN/runtime before it executes, and the config copy says linux.cgroupsPath =
 * RUN/ctr, so everything the engine starts — the runtime, the workload, a VM monitor and
 * QEMU — is accounted in RUN, whose own directory holds no process (as cgroup v2 wants of a
 * parent with controllers). What is measured per run:
 *
 *   start_ms  from releasing the child until the first byte of the workload's stdout reaches
 *             compare: create + start + the workload's way to its first write. The workload's
 *             first output is the marker: a workload meant for compare prints (and flushes) a
 *             line first thing. A run that prints nothing has no start time (reported as null).
 *   wall_ms   from releasing the child until it exited (`run` includes delete).
 *   cpu_ms    user+sys CPU of every process in the run's cgroup: cpuacct.usage (v1) or
 *             cpu.stat usage_usec (v2); without a cpu cgroup, the rusage of the reaped
 *             processes (compare is their subreaper, so orphans are counted too).
 *   peak_mib  the cgroup's memory high-water mark: memory.max_usage_in_bytes (v1) or
 *             memory.peak (v2); without one, the largest single process's peak RSS (a floor).
 *   exit      the exit status `run` reports: the workload's (128+N after signal N).
 *   sha256    of everything the workload wrote on stdout.
 * Medians over the runs are reported per engine, and each metric's ratio to the smallest value
 * among the engines.
 *
 * Engines that cannot run (not built, QEMU or the guest image missing, no build of the program
 * for them) are reported as skipped with the reason; an engine whose run fails in the runtime
 * itself (an error in its log) is reported as failed with that error. Temporary state (the
 * state root, config copies, logs, cgroups) is removed whatever happens.
 */
#ifndef ISOLA_COMPARE_H
#define ISOLA_COMPARE_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "core/err.h"

#define COMPARE_MAX_ENGINES 3
#define COMPARE_MAX_RUNS 1000
/* The cgroup parent of every run, below each hierarchy's root. */
#define COMPARE_CGROUP_PARENT "/isola-compare"

struct compare_sample {
  double start_ms; /* < 0: the workload wrote nothing on stdout */
  double wall_ms, cpu_ms, peak_mib;
  int exit;        /* as `run` exits: the workload's status */
  char sha256[65];
  size_t out_bytes;
};

struct compare_opts {
  const char *bundle;
  const char *engines[COMPARE_MAX_ENGINES]; /* in the order to run; NULL-padded */
  int runs;                                 /* per engine, 1..COMPARE_MAX_RUNS */
  const char *native, *wasm;                /* override the annotations (paths in the rootfs) */
  const char *isola;                        /* the binary to run (NULL: /proc/self/exe) */
  const char *policy;                       /* passed on as --policy (NULL: the default file) */
  const char *root;                         /* passed on as --root (NULL: a temporary one) */
  double timeout_s;                         /* per run; 0: none */
  /* Called before each run (sample and error NULL), and after it: with its sample, or with
   * `error` when it failed. */
  void (*progress)(void *ctx, const char *engine, int run, int runs,
                   const struct compare_sample *sample, const char *error);
  void *progress_ctx;
};


enum compare_status { COMPARE_OK, COMPARE_SKIPPED, COMPARE_FAILED };

enum compare_metric { CM_START, CM_WALL, CM_CPU, CM_PEAK, CM_COUNT };

struct compare_engine {
  char name[16];
  enum compare_status status;
  char reason[1024];         /* skipped / failed: why; ok: a detail ("KVM", "TCG") or "" */
  char entrypoint[PATH_MAX]; /* args[0] it runs */
  struct compare_sample *samples;
  int nsamples;
  double median[CM_COUNT];   /* < 0: not measured */
  double ratio[CM_COUNT];    /* median / smallest median of the ok engines; 0: n/a */
  int exit;                  /* of the first run */
  char sha256[65];           /* of the first run */
  bool consistent;           /* every run had the same exit status and output */
  char cpu_source[64], mem_source[64];
  char stderr_tail[512];     /* the workload's last stderr bytes of a failed run */
};

struct compare {
  char bundle[PATH_MAX];
  int runs;
  char native[PATH_MAX], wasm[PATH_MAX]; /* "" when the bundle has none */
  struct compare_engine engines[COMPARE_MAX_ENGINES];
  size_t nengines;
  json_t *config; /* the bundle's config.json */
  char rootfs[PATH_MAX];
};

extern const char *const compare_metric_names[CM_COUNT]; /* "start_ms", ... */
extern const char *const compare_metric_titles[CM_COUNT]; /* "start ms", ... */

/* Reads the bundle, finds the entrypoints and decides which engines run and which are
 * skipped (and why). Fails on a bad bundle or a bad --native/--wasm. */
int compare_prepare(const struct compare_opts *o, struct compare *c, struct isola_err *err);
/* Runs every engine that is not skipped, opts->runs times, then summarizes. Fails only when
 * compare itself cannot go on (temp dir, interrupted); a failing engine is recorded in it. */
int compare_run(const struct compare_opts *o, struct compare *c, struct isola_err *err);
/* Medians, ratios and consistency from the samples (compare_run calls it). */
void compare_summarize(struct compare *c);
void compare_release(struct compare *c);

/* The config.json of one engine's runs: a copy of `cfg` with process.args[0] = `entrypoint`,
 * process.terminal false, root.path absolute (`rootfs`), relative bind sources made absolute
 * from `bundle`, and linux.cgroupsPath = `cgroup`. */
json_t *compare_run_config(json_t *cfg, const char *entrypoint, const char *rootfs,
                           const char *bundle, const char *cgroup, struct isola_err *err);
/* Median of `n` values (sorts `v`); -1 when n is 0 or any value is negative. */
double compare_median(double *v, size_t n);

/* Reports (compare_report.c). */
json_t *compare_json(const struct compare *c);
void compare_table(const struct compare *c, FILE *f);
/* A self-contained SVG bar chart: one group of bars per metric, one bar per engine. */
void compare_svg(const struct compare *c, FILE *f);

#endif
