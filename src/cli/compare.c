/* isola compare: runs one bundle under each engine and prints what each costs. The work is in
 * src/core/compare.c; this file parses arguments and prints. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/cleanup.h"
#include "core/compare.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: isola compare [OPTIONS] BUNDLE\n\n"
          "Runs the bundle's workload under each engine that can run it and reports, per engine,\n"
          "medians over the runs of: time to start (until the workload's first byte on stdout:\n"
          "make it print a line first), wall time, host CPU time and peak host memory of every\n"
          "process of the engine (runtime, workload, VM monitor and QEMU), exit status and a\n"
          "sha256 of stdout. Engines that cannot run here are reported as skipped.\n\n"
          "A bundle may hold a native and a wasm build side by side: the annotations\n"
          "io.isola.compare.native and io.isola.compare.wasm (or --native/--wasm) name them,\n"
          "as paths inside the rootfs; container and vm run the native one, wasm the wasm one,\n"
          "with the same arguments after args[0]. Without them, process.args[0] serves the\n"
          "engines of its kind.\n\n"
          "  --runs N             runs per engine (default 3)\n"
          "  --engines LIST       comma-separated, in order (default container,vm,wasm)\n"
          "  --native PATH        the native entrypoint, inside the rootfs\n"
          "  --wasm PATH          the wasm entrypoint, inside the rootfs\n"
          "  --timeout SECONDS    per run (default: none); a run past it counts as failed\n"
          "  --json               print the results as JSON instead of the table\n"
          "  --svg FILE           also write a bar chart of the medians to FILE\n"
          "  -h, --help\n\n"
          "Progress goes to stderr. Exit status: 0, or 1 on an error or when an engine failed.\n");
}

/* "compare: vm run 2/3 ..." before a run, completed on the same line after it. */
static void progress(void *ctx, const char *engine, int run, int runs,
                     const struct compare_sample *s, const char *error) {
  (void)ctx;
  if (s) fprintf(stderr, " %.1f ms, exit %d\n", s->wall_ms, s->exit);
  else if (error) fprintf(stderr, " failed\n");
  else fprintf(stderr, "compare: %s run %d/%d ...", engine, run, runs);
  fflush(stderr);
}

static int parse_engines(char *list, struct compare_opts *o) {
  size_t n = 0;
  char *save, *tok;
  memset(o->engines, 0, sizeof o->engines);
  for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (n == COMPARE_MAX_ENGINES)
      return cli_errorf("compare: --engines: at most %d engines (container, vm, wasm)",
                        COMPARE_MAX_ENGINES),
             -1;
    o->engines[n++] = tok;
  }
  if (!n) return cli_errorf("compare: --engines: expected container, vm and/or wasm"), -1;
  return 0;
}

int cmd_compare(int argc, char **argv) {
  static const struct option opts[] = {
      {"runs", required_argument, 0, 'r'},   {"engines", required_argument, 0, 'e'},
      {"json", no_argument, 0, 'j'},         {"svg", required_argument, 0, 's'},
      {"native", required_argument, 0, 'n'}, {"wasm", required_argument, 0, 'w'},
      {"timeout", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  struct compare_opts o = {.runs = 3, .engines = {"container", "vm", "wasm"},
                           .policy = cli.policy, .root = cli.root,
                           .progress = progress};
  bool json = false;
  const char *svg = NULL;
  char engines[64];
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'r': {
      long n = strtol(optarg, &end, 10);
      if (*end || !*optarg || n < 1 || n > COMPARE_MAX_RUNS)
        return cli_errorf("compare: --runs: expected 1 to %d, got `%s`", COMPARE_MAX_RUNS, optarg);
      o.runs = (int)n;
      break;
    }
    case 'e':
      if (strlen(optarg) >= sizeof engines)
        return cli_errorf("compare: --engines: `%s` is too long", optarg);
      snprintf(engines, sizeof engines, "%s", optarg);
      if (parse_engines(engines, &o) < 0) return 1;
      break;
    case 'j': json = true; break;
    case 's': svg = optarg; break;
    case 'n': o.native = optarg; break;
    case 'w': o.wasm = optarg; break;
    case 't':
      o.timeout_s = strtod(optarg, &end);
      if (*end || !*optarg || !(o.timeout_s > 0))
        return cli_errorf("compare: --timeout: expected seconds > 0, got `%s`", optarg);
      break;
    case 'h': usage(stdout); return 0;
    default:
      return cli_errorf("compare: unknown option `%s` (see isola compare --help)",
                        argv[optind - 1]);
    }
  }
  if (optind != argc - 1)
    return cli_errorf("compare: expected exactly one bundle (see isola compare --help)");
  o.bundle = argv[optind];

  struct isola_err err;
  struct compare cmp;
  if (compare_prepare(&o, &cmp, &err) < 0) {
    isola_err_wrap(&err, "compare");
    return cli_error(&err);
  }
  /* Open the chart's file first, so that a bad path fails before minutes of runs. */
  char svg_tmp[4096];
  _cleanup_fclose_ FILE *svgf = NULL;
  if (svg) {
    snprintf(svg_tmp, sizeof svg_tmp, "%s.tmp%d", svg, (int)getpid());
    if (!(svgf = fopen(svg_tmp, "we"))) {
      compare_release(&cmp);
      return cli_errorf("compare: --svg: create `%s`: %s", svg_tmp, strerror(errno));
    }
  }
  int r = compare_run(&o, &cmp, &err);
  if (r < 0) {
    if (svgf) unlink(svg_tmp);
    compare_release(&cmp);
    isola_err_wrap(&err, "compare");
    return cli_error(&err);
  }
  if (json) {
    json_t *j = compare_json(&cmp);
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    if (text) printf("%s\n", text);
    free(text);
    json_decref(j);
  } else {
    compare_table(&cmp, stdout);
  }
  fflush(stdout);
  int status = 0;
  if (svgf) {
    compare_svg(&cmp, svgf);
    FILE *f = steal_ptr(&svgf);
    if (fclose(f) != 0 || rename(svg_tmp, svg) < 0) {
      int e = errno;
      unlink(svg_tmp);
      status = cli_errorf("compare: --svg: write `%s`: %s", svg, strerror(e));
    }
  }
  for (size_t i = 0; i < cmp.nengines && !status; i++)
    if (cmp.engines[i].status == COMPARE_FAILED)
      status = cli_errorf("compare: engine %s failed: %s", cmp.engines[i].name,
                          cmp.engines[i].reason);
  compare_release(&cmp);
  return status;
}
