/* Unit tests of the state directory's files: state.json replaced in place of a rename over
 * it, the gate's marker as the record of `start`, the `created` time stamp, and config.json
 * kept as the bytes that were parsed. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "core/gate.h"
#include "core/oci_config.h"
#include "core/state.h"

static char root[64];

/* A fresh, locked state dir under `root`. */
static void make_dir(const char *id, struct state_dir *d) {
  struct isola_err err;
  CHECK(state_dir_create(root, id, d, &err) == 0);
}

/* The names in `d`, sorted and joined by spaces ("" when empty). */
static void names(struct state_dir *d, char *out, size_t len) {
  struct dirent **list;
  char path[256];
  snprintf(path, sizeof path, "%s", d->path);
  int n = scandir(path, &list, NULL, alphasort);
  size_t o = 0;
  out[0] = 0;
  for (int i = 0; i < n; i++) {
    if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, ".."))
      o += (size_t)snprintf(out + o, len - o, "%s%s", o ? " " : "", list[i]->d_name);
    free(list[i]);
  }
  free(list);
}

static void test_save_replaces(void) {
  struct state_dir d;
  make_dir("save", &d);
  struct isola_state st = {.id = "save", .bundle = "/b", .engine = "wasm", .pid = 1};
  struct isola_err err;
  char seen[256];
  /* First save: no state.json to exchange with yet. */
  CHECK(state_save(&d, &st, &err) == 0);
  names(&d, seen, sizeof seen);
  CHECK(!strcmp(seen, "state.json"));
  /* Later saves swap and unlink the old file: nothing else remains, the last one wins. */
  for (int i = 2; i <= 5; i++) {
    st.pid = i;
    CHECK(state_save(&d, &st, &err) == 0);
  }
  names(&d, seen, sizeof seen);
  CHECK(!strcmp(seen, "state.json"));
  struct isola_state back;
  CHECK(state_load(&d, &back, &err) == 0);
  CHECK(back.pid == 5 && !strcmp(back.engine, "wasm"));
  state_release(&back);
  /* A temp file left by a save that died is overwritten, not an obstacle. */
  int fd = openat(d.dirfd, "state.json.tmp", O_WRONLY | O_CREAT, 0600);
  CHECK(fd >= 0 && write(fd, "{torn", 5) == 5);
  close(fd);
  st.pid = 6;
  CHECK(state_save(&d, &st, &err) == 0);
  names(&d, seen, sizeof seen);
  CHECK(!strcmp(seen, "state.json"));
  CHECK(state_load(&d, &back, &err) == 0);
  CHECK(back.pid == 6);
  state_release(&back);
  CHECK(state_dir_remove(&d, &err) == 0);
}

/* `start` writes no state.json: the gate's marker beside a "created" one means started. */
static void test_marker_means_started(void) {
  struct state_dir d;
  make_dir("marker", &d);
  struct isola_state st = {.id = "marker", .status = ST_CREATED, .pid = 1};
  struct isola_err err;
  CHECK(state_save(&d, &st, &err) == 0);
  struct isola_state back;
  CHECK(state_load(&d, &back, &err) == 0);
  CHECK(back.status == ST_CREATED && !back.started);
  state_release(&back);
  int fd = openat(d.dirfd, GATE_OPENED, O_WRONLY | O_CREAT, 0600);
  CHECK(fd >= 0);
  close(fd);
  CHECK(state_load(&d, &back, &err) == 0);
  CHECK(back.status == ST_RUNNING && back.started);
  state_release(&back);
  /* A later status that was written (paused by `pause`) is not overridden. */
  st.status = ST_PAUSED;
  st.started = true;
  CHECK(state_save(&d, &st, &err) == 0);
  CHECK(state_load(&d, &back, &err) == 0);
  CHECK(back.status == ST_PAUSED);
  state_release(&back);
  CHECK(state_dir_remove(&d, &err) == 0);
}

/* The hand-made UTC stamp against gmtime_r + strftime. */
static void test_time_stamp(void) {
  static const int64_t fixed[] = {
      0,
      -1,
      86399,
      86400,
      951782400 /* 2000-02-29 */,
      951868800,
      4107542400 /* 2100-03-01 */,
      4107456000,
      253402300799,
      -30610224000 /* 1000-01-01 */,
      1700000000,
      68169600 /* 1972-02-29 */,
  };
  char mine[64], ref[64];
  unsigned seed = 12345;
  for (int i = 0; i < 200000; i++) {
    int64_t t;
    if (i < (int)(sizeof fixed / sizeof *fixed)) {
      t = fixed[i];
    } else {
      seed = seed * 1103515245u + 12345u;
      uint64_t r = ((uint64_t)seed << 20) ^ (uint64_t)rand();
      /* Years 1000..9999 (strftime's %Y pads no further). */
      t = (int64_t)(r % (253402300800ull + 30610224000ull)) - 30610224000;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    CHECK(gmtime_r(&tt, &tm) != NULL);
    size_t n = strftime(ref, sizeof ref, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ref + n, sizeof ref - n, ".%09ldZ", 123456789L);
    state_format_time(t, 123456789L, mine, sizeof mine);
    if (strcmp(mine, ref)) {
      fprintf(stderr, "  %lld: %s, want %s\n", (long long)t, mine, ref);
      CHECK(!"time stamp");
      return;
    }
  }
  state_timestamp(mine, sizeof mine);
  CHECK(strlen(mine) == 30 && mine[4] == '-' && mine[10] == 'T' && mine[29] == 'Z');
}

/* oci_config_load keeps the bytes it parsed, for the copy create saves. */
static void test_config_text(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/config.json", root);
  const char *text = "{ \"ociVersion\": \"1.0.2\",\n  \"root\": {\"path\": \"rootfs\"},\n"
                     "  \"process\": {\"args\": [\"/m.wasm\"], \"cwd\": \"/\"} }\n";
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
  close(fd);
  struct oci_config *cfg = NULL;
  struct isola_err err;
  CHECK(oci_config_load(path, &cfg, &err) == 0);
  CHECK(cfg && cfg->text && cfg->text_len == strlen(text) &&
        !memcmp(cfg->text, text, strlen(text)));
  oci_config_free(cfg);

  /* Errors name the file (open, read) or the place in it (parse). */
  fd = open(path, O_WRONLY | O_TRUNC);
  CHECK(fd >= 0 && write(fd, "{\"ociVersion\": \"1.0.2\",\n \"root\": }", 34) == 34);
  close(fd);
  CHECK(oci_config_load(path, &cfg, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, "config.json: line 2, column");
  unlink(path);
  CHECK(oci_config_load(path, &cfg, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, "open `");
  CHECK_STR_CONTAINS(err.msg, "No such file or directory");
  CHECK(mkdir(path, 0700) == 0);
  CHECK(oci_config_load(path, &cfg, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, "read `");
  rmdir(path);
  /* Built from a JSON value, a config has no text. */
  json_t *j = json_loads(text, 0, NULL);
  CHECK(oci_config_from_json(j, "config.json", &cfg, &err) == 0);
  CHECK(cfg && cfg->text == NULL);
  oci_config_free(cfg);
  json_decref(j);
}

int main(void) {
  snprintf(root, sizeof root, "/tmp/isola-unit-state.XXXXXX");
  if (!mkdtemp(root)) return perror("mkdtemp"), 1;
  RUN(test_save_replaces);
  RUN(test_marker_means_started);
  RUN(test_time_stamp);
  RUN(test_config_text);
  rmdir(root);
  return UNIT_END();
}
