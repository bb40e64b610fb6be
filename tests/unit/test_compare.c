/* Unit tests of `isola compare`'s library parts: SHA-256, medians and ratios, the per-engine
 * config rewrite, entrypoint resolution and skip reasons (compare_prepare), the reports (JSON,
 * table, SVG), and the vm image lookup of avail.c. The runs themselves are exercised by
 * tests/integration/test_compare.py against the real binary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "core/avail.h"
#include "core/compare.h"
#include "core/sha256.h"

static void sha(const char *in, size_t len, char hex[65]) {
  struct sha256 s;
  sha256_init(&s);
  /* Byte by byte for half, then the rest: the buffering path and the block path. */
  size_t half = len / 2;
  for (size_t i = 0; i < half; i++) sha256_update(&s, in + i, 1);
  sha256_update(&s, in + half, len - half);
  sha256_final_hex(&s, hex);
}

static void test_sha256_vectors(void) {
  char hex[65];
  sha("", 0, hex);
  CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  sha("abc", 3, hex);
  CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes */
  sha(two, strlen(two), hex);
  CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
  static char million[1000000];
  memset(million, 'a', sizeof million);
  sha(million, sizeof million, hex);
  CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

static void test_median(void) {
  double a[] = {3, 1, 2};
  CHECK(compare_median(a, 3) == 2);
  double b[] = {4, 1, 3, 2};
  CHECK(compare_median(b, 4) == 2.5);
  double c[] = {5};
  CHECK(compare_median(c, 1) == 5);
  CHECK(compare_median(NULL, 0) == -1);
  double d[] = {1, -1, 3}; /* a run that did not measure it: no median */
  CHECK(compare_median(d, 3) == -1);
}

static struct compare_sample sample(double start, double wall, double cpu, double peak, int exit,
                                    const char *sha) {
  struct compare_sample s = {.start_ms = start, .wall_ms = wall, .cpu_ms = cpu, .peak_mib = peak,
                             .exit = exit};
  snprintf(s.sha256, sizeof s.sha256, "%s", sha);
  return s;
}

/* container: 3 runs; wasm: 3 runs, faster; vm: skipped. */
static void fake(struct compare *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->bundle, sizeof c->bundle, "/srv/bundles/hello<&>");
  c->runs = 3;
  c->nengines = 3;
  struct compare_engine *e = &c->engines[0];
  snprintf(e->name, sizeof e->name, "container");
  e->samples = calloc(3, sizeof *e->samples);
  e->samples[0] = sample(10, 40, 20, 3, 0, "aa");
  e->samples[1] = sample(12, 50, 22, 4, 0, "aa");
  e->samples[2] = sample(11, 45, 21, 5, 0, "aa");
  e->nsamples = 3;
  snprintf(e->cpu_source, sizeof e->cpu_source, "cgroup v1 cpuacct.usage");
  e = &c->engines[1];
  snprintf(e->name, sizeof e->name, "vm");
  e->status = COMPARE_SKIPPED;
  snprintf(e->reason, sizeof e->reason, "guest image not found: <dir> & more");
  e = &c->engines[2];
  snprintf(e->name, sizeof e->name, "wasm");
  e->samples = calloc(3, sizeof *e->samples);
  e->samples[0] = sample(2, 10, 8, 2, 0, "aa");
  e->samples[1] = sample(2, 10, 8, 2, 0, "aa");
  e->samples[2] = sample(-1, 10, 8, 2, 1, "bb"); /* printed nothing, other status */
  e->nsamples = 3;
  compare_summarize(c);
}

static void test_summarize_medians_ratios_consistency(void) {
  struct compare c;
  fake(&c);
  const struct compare_engine *ct = &c.engines[0], *vm = &c.engines[1], *w = &c.engines[2];
  CHECK(ct->median[CM_START] == 11 && ct->median[CM_WALL] == 45 && ct->median[CM_CPU] == 21);
  CHECK(ct->median[CM_PEAK] == 4);
  CHECK(ct->consistent && ct->exit == 0 && !strcmp(ct->sha256, "aa"));
  CHECK(w->median[CM_START] == -1); /* one run without a start: not measured */
  CHECK(w->median[CM_WALL] == 10 && !w->consistent);
  /* Ratios against the smallest: wasm is the fastest on wall and cpu, container on start
   * (wasm has none). */
  CHECK(w->ratio[CM_WALL] == 1 && ct->ratio[CM_WALL] == 4.5);
  CHECK(ct->ratio[CM_START] == 1 && w->ratio[CM_START] == 0);
  CHECK(ct->ratio[CM_PEAK] == 2);
  CHECK(vm->ratio[CM_WALL] == 0 && vm->median[CM_WALL] == -1);
  compare_release(&c);
}

static void test_json_report(void) {
  struct compare c;
  fake(&c);
  json_t *j = compare_json(&c);
  json_t *engines = json_object_get(j, "engines");
  CHECK(json_array_size(engines) == 3);
  json_t *ct = json_array_get(engines, 0), *vm = json_array_get(engines, 1);
  CHECK(!strcmp(json_string_value(json_object_get(ct, "status")), "ok"));
  CHECK(json_real_value(json_object_get(ct, "wall_ms")) == 45);
  CHECK(json_integer_value(json_object_get(ct, "exit")) == 0);
  CHECK(json_array_size(json_object_get(ct, "runs")) == 3);
  CHECK(json_real_value(json_object_get(json_object_get(ct, "ratio"), "wall_ms")) == 4.5);
  CHECK(!strcmp(json_string_value(json_object_get(vm, "status")), "skipped"));
  CHECK_STR_CONTAINS(json_string_value(json_object_get(vm, "reason")), "guest image");
  CHECK(json_is_null(json_object_get(json_array_get(engines, 2), "start_ms")));
  json_decref(j);
  compare_release(&c);
}

static char *capture(void (*fn)(const struct compare *, FILE *), const struct compare *c) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fn(c, f);
  fclose(f);
  return buf;
}

static void test_table_and_svg(void) {
  struct compare c;
  fake(&c);
  char *t = capture(compare_table, &c);
  CHECK_STR_CONTAINS(t, "engine");
  CHECK_STR_CONTAINS(t, "45.0 (4.5x)");
  CHECK_STR_CONTAINS(t, "vm         skipped: guest image not found");
  CHECK_STR_CONTAINS(t, "*: the runs of this engine differed");
  free(t);
  char *s = capture(compare_svg, &c);
  CHECK(!strncmp(s, "<?xml", 5));
  CHECK_STR_CONTAINS(s, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
  CHECK_STR_CONTAINS(s, "hello&lt;&amp;&gt;"); /* the bundle's name, escaped */
  CHECK_STR_CONTAINS(s, "&lt;dir&gt; &amp; more");
  CHECK(strstr(s, "<&>") == NULL);
  /* One bar per ok engine per metric. */
  int bars = 0;
  for (const char *p = s; (p = strstr(p, "class=\"bar\"")); p++) bars++;
  CHECK(bars == 2 * CM_COUNT);
  CHECK_STR_CONTAINS(s, "</svg>");
  free(s);
  compare_release(&c);
}

static void test_run_config(void) {
  json_t *cfg = json_loads(
      "{\"process\":{\"args\":[\"/app\",\"1\",\"2\"],\"terminal\":true},\"root\":{\"path\":"
      "\"rootfs\"},\"mounts\":[{\"destination\":\"/d\",\"type\":\"bind\",\"source\":\"data\"},"
      "{\"destination\":\"/e\",\"source\":\"/abs\",\"options\":[\"rbind\"]},"
      "{\"destination\":\"/f\",\"source\":\"rel\",\"options\":[\"rbind\"]},"
      "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}]}",
      0, NULL);
  struct isola_err err;
  json_t *out = compare_run_config(cfg, "/app.wasm", "/b/rootfs", "/b", "/isola-compare/1-1/ctr",
                                   &err);
  CHECK(out != NULL);
  json_t *args = json_object_get(json_object_get(out, "process"), "args");
  CHECK(!strcmp(json_string_value(json_array_get(args, 0)), "/app.wasm"));
  CHECK(!strcmp(json_string_value(json_array_get(args, 2)), "2"));
  CHECK(json_is_false(json_object_get(json_object_get(out, "process"), "terminal")));
  CHECK(!strcmp(json_string_value(json_object_get(json_object_get(out, "root"), "path")),
                "/b/rootfs"));
  json_t *m = json_object_get(out, "mounts");
  CHECK(!strcmp(json_string_value(json_object_get(json_array_get(m, 0), "source")), "/b/data"));
  CHECK(!strcmp(json_string_value(json_object_get(json_array_get(m, 1), "source")), "/abs"));
  CHECK(!strcmp(json_string_value(json_object_get(json_array_get(m, 2), "source")), "/b/rel"));
  CHECK(!strcmp(json_string_value(json_object_get(json_array_get(m, 3), "source")), "proc"));
  CHECK(!strcmp(json_string_value(json_object_get(json_object_get(out, "linux"), "cgroupsPath")),
                "/isola-compare/1-1/ctr"));
  /* The original is untouched. */
  CHECK(!strcmp(json_string_value(json_array_get(
                    json_object_get(json_object_get(cfg, "process"), "args"), 0)),
                "/app"));
  json_decref(out);
  json_decref(cfg);
}

/* A bundle in a temp dir: rootfs with /bin/prog (native), /prog.wasm, and config.json. */
static char bundle_dir[64];

static void write_file(const char *rel, const void *data, size_t len) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", bundle_dir, rel);
  FILE *f = fopen(path, "w");
  if (f) {
    fwrite(data, 1, len, f);
    fclose(f);
  }
}

static void make_bundle(const char *annotations, const char *args0) {
  char cfg[1024];
  snprintf(cfg, sizeof cfg,
           "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"%s\","
           "\"x\"],\"cwd\":\"/\"},\"annotations\":%s}",
           args0, annotations);
  write_file("config.json", cfg, strlen(cfg));
}

static int prepare(const char *engines, const char *native, const char *wasm, struct compare *c,
                   struct isola_err *err) {
  static char list[64];
  snprintf(list, sizeof list, "%s", engines);
  struct compare_opts o = {.bundle = bundle_dir, .runs = 3, .native = native, .wasm = wasm};
  size_t n = 0;
  for (char *save, *t = strtok_r(list, ",", &save); t && n < 3; t = strtok_r(NULL, ",", &save))
    o.engines[n++] = t;
  return compare_prepare(&o, c, err);
}

static const struct compare_engine *find(const struct compare *c, const char *name) {
  for (size_t i = 0; i < c->nengines; i++)
    if (!strcmp(c->engines[i].name, name)) return &c->engines[i];
  return NULL;
}

static void test_prepare_entrypoints_and_skips(void) {
  snprintf(bundle_dir, sizeof bundle_dir, "/tmp/isola-unit-compare-XXXXXX");
  if (!mkdtemp(bundle_dir)) {
    CHECK(!"mkdtemp");
    return;
  }
  char path[256];
  snprintf(path, sizeof path, "%s/rootfs", bundle_dir);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/rootfs/bin", bundle_dir);
  mkdir(path, 0755);
  write_file("rootfs/bin/prog", "\x7f" "ELF", 4);
  write_file("rootfs/prog.wasm", "\0asm\1\0\0\0", 8);
  struct compare c;
  struct isola_err err;

  /* Annotations name both: container runs the native one, wasm the module. */
  make_bundle("{\"io.isola.compare.native\":\"/bin/prog\",\"io.isola.compare.wasm\":"
              "\"/prog.wasm\"}",
              "/bin/prog");
  CHECK(prepare("container,wasm", NULL, NULL, &c, &err) == 0);
  CHECK(c.nengines == 2);
  CHECK(!strcmp(find(&c, "container")->entrypoint, "/bin/prog"));
  CHECK(!strcmp(find(&c, "wasm")->entrypoint, "/prog.wasm"));
  CHECK(find(&c, "wasm")->status == COMPARE_OK);
  compare_release(&c);

  /* No annotations, a native args[0]: wasm is skipped with the reason. */
  make_bundle("{}", "/bin/prog");
  CHECK(prepare("container,wasm", NULL, NULL, &c, &err) == 0);
  CHECK(find(&c, "container")->status == COMPARE_OK);
  CHECK(find(&c, "wasm")->status == COMPARE_SKIPPED);
  CHECK_STR_CONTAINS(find(&c, "wasm")->reason, "no wasm build");
  compare_release(&c);

  /* A wasm args[0]: it serves the wasm engine; the container is skipped. --native fixes it. */
  make_bundle("{}", "/prog.wasm");
  CHECK(prepare("container,wasm", NULL, NULL, &c, &err) == 0);
  CHECK(find(&c, "container")->status == COMPARE_SKIPPED);
  CHECK_STR_CONTAINS(find(&c, "container")->reason, "no native build");
  CHECK(!strcmp(find(&c, "wasm")->entrypoint, "/prog.wasm"));
  compare_release(&c);
  CHECK(prepare("container,wasm", "bin/prog", NULL, &c, &err) == 0);
  CHECK(!strcmp(find(&c, "container")->entrypoint, "bin/prog"));
  compare_release(&c);

  /* Bad input: one error naming what is wrong. */
  CHECK(prepare("container,wasm", NULL, "/bin/prog", &c, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, "--wasm: `/bin/prog` is not a wasm module");
  CHECK(prepare("container", "/prog.wasm", NULL, &c, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, "is a wasm module, not a native program");
  CHECK(prepare("wasm", NULL, "/missing.wasm", &c, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, "--wasm: `/missing.wasm` in the rootfs: No such file");
  CHECK(prepare("wasm", NULL, "/../../../etc/passwd", &c, &err) < 0); /* stays in the rootfs */
  CHECK(prepare("container,docker", NULL, NULL, &c, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, "unknown engine `docker`");
  CHECK(prepare("wasm,wasm", NULL, NULL, &c, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, "named twice");
  make_bundle("{\"io.isola.compare.wasm\":\"/bin/prog\"}", "/bin/prog");
  CHECK(prepare("wasm", NULL, NULL, &c, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, "annotations.io.isola.compare.wasm: `/bin/prog` is not a wasm");

  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", bundle_dir);
  CHECK(system(cmd) == 0);
}

static void test_engine_avail(void) {
  struct engine_avail a;
  engine_avail("container", &a);
  CHECK(a.built && a.runnable);
  engine_avail("wasm", &a);
  CHECK(a.built && a.runnable);
  engine_avail("docker", &a);
  CHECK(!a.built && !a.runnable);
  CHECK_STR_CONTAINS(a.reason, "not built");
  /* vm: whatever this host has, a reason comes with the answer (the guest image is looked up
   * where the vm engine looks; point ISOLA_VM_DIR at an empty directory to see it missing). */
  char dir[] = "/tmp/isola-unit-vm-XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK(!"mkdtemp");
    return;
  }
  setenv("ISOLA_VM_DIR", dir, 1);
  engine_avail("vm", &a);
  if (a.built) {
    CHECK(!a.runnable);
    CHECK(a.reason[0] != 0);
  }
  struct vm_host h;
  vm_host_probe(&h);
  CHECK(h.dir[0] == 0);
  CHECK_STR_CONTAINS(h.missing, dir);
  unsetenv("ISOLA_VM_DIR");
  rmdir(dir);
}

int main(void) {
  RUN(test_sha256_vectors);
  RUN(test_median);
  RUN(test_summarize_medians_ratios_consistency);
  RUN(test_json_report);
  RUN(test_table_and_svg);
  RUN(test_run_config);
  RUN(test_prepare_entrypoints_and_skips);
  RUN(test_engine_avail);
  return UNIT_END();
}
