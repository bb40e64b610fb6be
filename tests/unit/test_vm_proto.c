/* Unit tests of the vm engine's control protocol (guest/proto.h, src/vm/proto.c): malformed
 * frames and records must be rejected cleanly, never read past their buffer; and of the host
 * side that encodes config.json for the guest (guestcfg.c) and maps resources (qemu.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "../../guest/proto.h"
#include "unit.h"
#include "vm/vm.h"

/* A frame in a buffer of exactly its size (so ASan catches any read past it). */
static uint8_t *frame(uint8_t type, uint32_t len_field, const void *payload, size_t n) {
  uint8_t *b = malloc(VM_FRAME_HEADER + n + 1);
  vm_frame_header(b, type, len_field);
  if (n) memcpy(b + VM_FRAME_HEADER, payload, n);
  return b;
}

static long parse(enum vm_dir dir, const uint8_t *b, size_t avail, struct vm_frame *f,
                  const char **why) {
  *why = NULL;
  return vm_frame_parse(dir, b, avail, f, why);
}

static void test_valid_frames(void) {
  struct vm_frame f;
  const char *why;
  uint8_t *b = frame(VM_STDOUT, 3, "abc", 3);
  CHECK(parse(VM_TO_HOST, b, 8, &f, &why) == 8);
  CHECK(f.type == VM_STDOUT && f.len == 3 && !memcmp(f.payload, "abc", 3));
  free(b);
  uint8_t st[4];
  vm_put_u32(st, 137);
  b = frame(VM_EXIT, 4, st, 4);
  CHECK(parse(VM_TO_HOST, b, 9, &f, &why) == 9 && vm_get_u32(f.payload) == 137);
  free(b);
  b = frame(VM_HEARTBEAT, 0, NULL, 0);
  CHECK(parse(VM_TO_HOST, b, 5, &f, &why) == 5 && f.len == 0);
  free(b);
  b = frame(VM_SIGNAL, 5, "\x0f\0\0\0\1", 5);
  CHECK(parse(VM_TO_GUEST, b, 10, &f, &why) == 10);
  free(b);
}

static void test_truncated(void) {
  struct vm_frame f;
  const char *why;
  uint8_t *b = frame(VM_STDOUT, 100, "0123456789", 10);
  for (size_t n = 0; n <= 15; n++) CHECK(parse(VM_TO_HOST, b, n, &f, &why) == 0);
  free(b);
}

static void test_over_length(void) {
  struct vm_frame f;
  const char *why;
  /* Only the header is there: a hostile length is judged before any payload is awaited. */
  uint8_t h[VM_FRAME_HEADER];
  vm_frame_header(h, VM_STDOUT, VM_DATA_MAX + 1);
  CHECK(parse(VM_TO_HOST, h, sizeof h, &f, &why) == -1);
  CHECK_STR_CONTAINS(why, "longer");
  vm_frame_header(h, VM_STDERR, 0xffffffffu);
  CHECK(parse(VM_TO_HOST, h, sizeof h, &f, &why) == -1);
  vm_frame_header(h, VM_ERROR, VM_TEXT_MAX + 1);
  CHECK(parse(VM_TO_HOST, h, sizeof h, &f, &why) == -1);
  vm_frame_header(h, VM_HELLO, 4 + 257);
  CHECK(parse(VM_TO_HOST, h, sizeof h, &f, &why) == -1);
  /* The guest bound: CONFIG's cap is the protocol's largest. */
  vm_frame_header(h, VM_CONFIG, VM_MAX_PAYLOAD + 1);
  CHECK(parse(VM_TO_GUEST, h, sizeof h, &f, &why) == -1);
  vm_frame_header(h, VM_CONFIG, VM_MAX_PAYLOAD);
  CHECK(parse(VM_TO_GUEST, h, sizeof h, &f, &why) == 0); /* valid, waits for the payload */
}

static void test_fixed_sizes(void) {
  struct vm_frame f;
  const char *why;
  uint8_t h[VM_FRAME_HEADER];
  uint32_t bad[][2] = {{VM_EXIT, 3}, {VM_EXIT, 5}, {VM_STDIN_CREDIT, 0}, {VM_STDIN_CREDIT, 8},
                       {VM_HELLO, 3}, {VM_READY, 1}, {VM_STARTED, 4}, {VM_HEARTBEAT, 1}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    vm_frame_header(h, (uint8_t)bad[i][0], bad[i][1]);
    CHECK(parse(VM_TO_HOST, h, sizeof h, &f, &why) == -1 && why);
  }
  vm_frame_header(h, VM_SIGNAL, 4);
  CHECK(parse(VM_TO_GUEST, h, sizeof h, &f, &why) == -1);
  vm_frame_header(h, VM_WINSIZE, 5);
  CHECK(parse(VM_TO_GUEST, h, sizeof h, &f, &why) == -1);
}

/* The template frames (T1, T2): PARK and PARKED carry nothing, RESUME exactly the time and
 * the entropy, each in its own direction only. */
static void test_template_frames(void) {
  struct vm_frame f;
  const char *why;
  uint8_t h[VM_FRAME_HEADER];
  vm_frame_header(h, VM_PARK, 0);
  CHECK(parse(VM_TO_GUEST, h, sizeof h, &f, &why) == VM_FRAME_HEADER && f.type == VM_PARK);
  CHECK(parse(VM_TO_HOST, h, sizeof h, &f, &why) == -1);
  CHECK_STR_CONTAINS(why, "direction");
  vm_frame_header(h, VM_PARK, 1);
  CHECK(parse(VM_TO_GUEST, h, sizeof h, &f, &why) == -1);
  vm_frame_header(h, VM_PARKED, 0);
  CHECK(parse(VM_TO_HOST, h, sizeof h, &f, &why) == VM_FRAME_HEADER && f.type == VM_PARKED);
  CHECK(parse(VM_TO_GUEST, h, sizeof h, &f, &why) == -1);
  vm_frame_header(h, VM_PARKED, 4);
  CHECK(parse(VM_TO_HOST, h, sizeof h, &f, &why) == -1);
  uint32_t bad[] = {0, 12, VM_RESUME_LEN - 1, VM_RESUME_LEN + 1};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    vm_frame_header(h, VM_RESUME, bad[i]);
    CHECK(parse(VM_TO_GUEST, h, sizeof h, &f, &why) == -1 && why);
  }
  uint8_t resume[VM_FRAME_HEADER + VM_RESUME_LEN] = {0};
  vm_frame_header(resume, VM_RESUME, VM_RESUME_LEN);
  CHECK(parse(VM_TO_GUEST, resume, sizeof resume, &f, &why) == (long)sizeof resume);
  CHECK(parse(VM_TO_HOST, resume, sizeof resume, &f, &why) == -1);
}

static void test_unknown_and_wrong_direction(void) {
  struct vm_frame f;
  const char *why;
  uint8_t h[VM_FRAME_HEADER];
  for (unsigned t = 0; t < 256; t++) {
    bool known = (t >= VM_CONFIG && t <= VM_RESUME) || (t >= VM_HELLO && t <= VM_PARKED);
    vm_frame_header(h, (uint8_t)t, 0);
    long r = parse(VM_TO_HOST, h, sizeof h, &f, &why);
    if (!known) {
      CHECK(r == -1);
      CHECK_STR_CONTAINS(why, "unknown");
    }
  }
  vm_frame_header(h, VM_CONFIG, 0); /* host -> guest only */
  CHECK(parse(VM_TO_HOST, h, sizeof h, &f, &why) == -1);
  CHECK_STR_CONTAINS(why, "direction");
  vm_frame_header(h, VM_EXIT, 4); /* guest -> host only */
  CHECK(parse(VM_TO_GUEST, h, sizeof h, &f, &why) == -1);
  vm_frame_header(h, VM_EXEC, 8); /* host -> guest only */
  CHECK(parse(VM_TO_HOST, h, sizeof h, &f, &why) == -1);
  CHECK_STR_CONTAINS(why, "direction");
  vm_frame_header(h, VM_EXEC_STDOUT, 8); /* guest -> host only */
  CHECK(parse(VM_TO_GUEST, h, sizeof h, &f, &why) == -1);
}

/* Exec frames carry their id first: shorter than that is malformed, and the data ones are
 * capped at an id plus one data chunk. */
static void test_exec_frames(void) {
  struct vm_frame f;
  const char *why;
  uint8_t h[VM_FRAME_HEADER];
  uint32_t bad_to_host[][2] = {{VM_EXEC_STARTED, 0}, {VM_EXEC_STARTED, 8}, {VM_EXEC_STDOUT, 3},
                               {VM_EXEC_STDERR, 4 + VM_DATA_MAX + 1}, {VM_EXEC_CREDIT, 4},
                               {VM_EXEC_EXIT, 4}, {VM_EXEC_EXIT, 9}, {VM_EXEC_ERROR, 2},
                               {VM_EXEC_ERROR, 4 + VM_TEXT_MAX + 1}};
  for (size_t i = 0; i < sizeof bad_to_host / sizeof *bad_to_host; i++) {
    vm_frame_header(h, (uint8_t)bad_to_host[i][0], bad_to_host[i][1]);
    CHECK(parse(VM_TO_HOST, h, sizeof h, &f, &why) == -1 && why);
  }
  uint32_t bad_to_guest[][2] = {{VM_EXEC, 3}, {VM_EXEC, VM_MAX_PAYLOAD + 1}, {VM_EXEC_STDIN, 0},
                                {VM_EXEC_SIGNAL, 4}, {VM_EXEC_WINSIZE, 4}};
  for (size_t i = 0; i < sizeof bad_to_guest / sizeof *bad_to_guest; i++) {
    vm_frame_header(h, (uint8_t)bad_to_guest[i][0], bad_to_guest[i][1]);
    CHECK(parse(VM_TO_GUEST, h, sizeof h, &f, &why) == -1 && why);
  }
  /* A whole EXEC_STDOUT of the largest size, and an empty one (EOF): both fine. */
  size_t n = 4 + VM_DATA_MAX;
  uint8_t *payload = calloc(1, n);
  vm_put_u32(payload, 7);
  uint8_t *b = frame(VM_EXEC_STDOUT, (uint32_t)n, payload, n);
  CHECK(parse(VM_TO_HOST, b, VM_FRAME_HEADER + n, &f, &why) == (long)(VM_FRAME_HEADER + n));
  CHECK(vm_get_u32(f.payload) == 7 && f.len == n);
  free(b);
  b = frame(VM_EXEC_STDOUT, 4, payload, 4);
  CHECK(parse(VM_TO_HOST, b, VM_FRAME_HEADER + 4, &f, &why) == VM_FRAME_HEADER + 4);
  free(b);
  free(payload);
}

static void test_back_to_back(void) {
  uint8_t buf[64];
  size_t n = 0;
  vm_frame_header(buf + n, VM_READY, 0), n += 5;
  vm_frame_header(buf + n, VM_STDOUT, 2), n += 5;
  memcpy(buf + n, "hi", 2), n += 2;
  vm_frame_header(buf + n, VM_STDOUT, 0), n += 5;
  struct vm_frame f;
  const char *why;
  size_t pos = 0;
  uint8_t types[3];
  int k = 0;
  long r;
  while ((r = parse(VM_TO_HOST, buf + pos, n - pos, &f, &why)) > 0 && k < 3) {
    types[k++] = f.type;
    pos += (size_t)r;
  }
  CHECK(k == 3 && pos == n && r == 0);
  CHECK(types[0] == VM_READY && types[1] == VM_STDOUT && types[2] == VM_STDOUT);
}

/* Random bytes: the parser must only ever say "need more", "bad", or take at most avail. */
static void test_random_bytes(void) {
  srand(12345);
  for (int round = 0; round < 20000; round++) {
    size_t n = (size_t)(rand() % 24);
    uint8_t *b = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)rand();
    if (n && rand() % 2) b[0] = (uint8_t)(0x81 + rand() % 9);
    struct vm_frame f;
    const char *why;
    long r = parse(VM_TO_HOST, b, n, &f, &why);
    CHECK(r >= -1 && r <= (long)n);
    if (r > 0) CHECK(f.payload + f.len <= b + n);
    if (r < 0) CHECK(why != NULL);
    free(b);
  }
}

/* ---- CONFIG records ----------------------------------------------------------------------- */

static void test_records_malformed(void) {
  struct vm_record r;
  const char *why;
  size_t pos = 0;
  uint8_t rec[8] = {VM_C_ARG, 3, 0, 0, 0, 'a', 'b', 'c'};
  CHECK(vm_record_next(rec, 8, &pos, &r, &why) == 1 && r.len == 3 && pos == 8);
  CHECK(vm_record_next(rec, 8, &pos, &r, &why) == 0);
  pos = 0; /* header truncated */
  CHECK(vm_record_next(rec, 4, &pos, &r, &why) == -1);
  pos = 0; /* value runs past the end */
  CHECK(vm_record_next(rec, 7, &pos, &r, &why) == -1);
  CHECK_STR_CONTAINS(why, "past the end");
  uint8_t huge[5] = {VM_C_ENV, 0xff, 0xff, 0xff, 0xff};
  pos = 0;
  CHECK(vm_record_next(huge, 5, &pos, &r, &why) == -1);
  uint8_t nul[7] = {VM_C_ENV, 2, 0, 0, 0, 'a', 0};
  pos = 0;
  CHECK(vm_record_next(nul, 7, &pos, &r, &why) == 1);
  CHECK(vm_record_check_string(&r, &why) == -1);
}

static struct vm_record mount_rec(uint8_t *buf, size_t len) {
  return (struct vm_record){.tag = VM_C_MOUNT, .len = (uint32_t)len, .value = buf};
}

static void test_mount_records(void) {
  struct vm_mount m;
  const char *why;
  uint8_t buf[64] = {VM_M_FS};
  size_t n = VM_MOUNT_FIXED;
  memcpy(buf + n, "/proc\0proc\0proc\0\0", 17);
  n += 17;
  struct vm_record r = mount_rec(buf, n);
  CHECK(vm_mount_decode(&r, &m, &why) == 0);
  CHECK(!strcmp(m.destination, "/proc") && !strcmp(m.fstype, "proc") && !m.data[0]);
  r = mount_rec(buf, n - 1); /* the last string unterminated */
  CHECK(vm_mount_decode(&r, &m, &why) == -1);
  r = mount_rec(buf, VM_MOUNT_FIXED - 1);
  CHECK(vm_mount_decode(&r, &m, &why) == -1);
  buf[0] = 9; /* unknown kind */
  r = mount_rec(buf, n);
  CHECK(vm_mount_decode(&r, &m, &why) == -1);
  buf[0] = VM_M_FS;
  buf[n] = 'x'; /* trailing bytes on a non-file mount */
  r = mount_rec(buf, n + 1);
  CHECK(vm_mount_decode(&r, &m, &why) == -1);
  buf[VM_MOUNT_FIXED] = 'p'; /* a relative destination */
  r = mount_rec(buf, n);
  CHECK(vm_mount_decode(&r, &m, &why) == -1);
  buf[VM_MOUNT_FIXED] = '/';
  buf[0] = VM_M_FILE; /* a file's content follows the strings */
  r = mount_rec(buf, n + 1);
  CHECK(vm_mount_decode(&r, &m, &why) == 0 && m.content_len == 1 && m.content[0] == 'x');
}

/* ---- the host side ------------------------------------------------------------------------ */

static struct oci_config *config(const char *text) {
  json_error_t jerr;
  json_t *j = json_loads(text, 0, &jerr);
  struct oci_config *cfg = NULL;
  struct isola_err err;
  if (j && oci_config_from_json(j, "config.json", &cfg, &err) < 0) {
    fprintf(stderr, "  config: %s\n", err.msg);
    cfg = NULL;
  }
  json_decref(j);
  return cfg;
}

#define BASE                                                                                 \
  "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"                              \
  "\"process\":{\"args\":[\"sh\",\"-c\",\"echo hi\"],\"env\":[\"A=1\"],\"cwd\":\"/tmp\","         \
  "\"user\":{\"uid\":1000,\"gid\":100}},"                                                       \
  "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"                \
  "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/tmp\",\"options\":[\"rbind\",\"ro\"]}]"

static void test_guest_config_round_trip(void) {
  struct oci_config *cfg = config(BASE ",\"hostname\":\"vmhost\",\"linux\":{\"namespaces\":"
                                  "[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"uts\"}]}}");
  CHECK(cfg != NULL);
  if (!cfg) return;
  struct vm_guest_config g;
  struct isola_err err;
  CHECK(vm_guest_config_build(cfg, "/nonexistent-bundle", &g, &err) == 0);
  size_t pos = 0, nargs = 0;
  struct vm_record r;
  const char *why;
  bool saw_share = false, saw_host = false, saw_uid = false;
  while (vm_record_next(g.payload, g.len, &pos, &r, &why) == 1) {
    if (r.tag == VM_C_ARG) nargs++;
    if (r.tag == VM_C_HOSTNAME) saw_host = r.len == 6 && !memcmp(r.value, "vmhost", 6);
    if (r.tag == VM_C_UID) saw_uid = r.len == 4 && vm_get_u32(r.value) == 1000;
    if (r.tag == VM_C_MOUNT) {
      struct vm_mount m;
      CHECK(vm_mount_decode(&r, &m, &why) == 0);
      if (m.kind == VM_M_SHARE) {
        saw_share = !strcmp(m.destination, "/data") && !strcmp(m.source, "s0") &&
                    (m.flags & MS_RDONLY);
      }
    }
  }
  CHECK(pos == g.len && nargs == 3 && saw_host && saw_uid && saw_share);
  CHECK(g.nshares == 1 && g.shares[0].readonly && !strcmp(g.shares[0].path, "/tmp"));
  vm_guest_config_release(&g);
  oci_config_free(cfg);
}

/* An exec's records: the process only (no mounts, hostname, namespaces), args first. */
static void test_exec_config(void) {
  struct oci_config *cfg = config(BASE "}");
  CHECK(cfg != NULL);
  if (!cfg) return;
  struct vm_guest_config g;
  struct isola_err err;
  CHECK(vm_exec_config_build(&cfg->process, &g, &err) == 0);
  size_t pos = 0, nargs = 0, other = 0;
  struct vm_record r;
  const char *why;
  bool first_is_arg = false;
  while (vm_record_next(g.payload, g.len, &pos, &r, &why) == 1) {
    if (pos == VM_FRAME_HEADER + r.len) first_is_arg = r.tag == VM_C_ARG;
    if (r.tag == VM_C_ARG) nargs++;
    if (r.tag == VM_C_MOUNT || r.tag == VM_C_HOSTNAME || r.tag == VM_C_NAMESPACES ||
        r.tag == VM_C_MASKED || r.tag == VM_C_READONLY)
      other++;
  }
  CHECK(pos == g.len && first_is_arg && nargs == 3 && other == 0);
  CHECK(g.nshares == 0);
  vm_guest_config_release(&g);
  struct oci_process empty = {0};
  CHECK(vm_exec_config_build(&empty, &g, &err) == -1);
  CHECK_STR_CONTAINS(err.msg, "args");
  oci_config_free(cfg);
}

static void test_guest_config_errors(void) {
  struct oci_config *cfg = config(
      "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"x\"],"
      "\"cwd\":\"/\"},\"mounts\":[{\"destination\":\"/m\",\"type\":\"bind\",\"source\":"
      "\"/nonexistent-source\"}]}");
  CHECK(cfg != NULL);
  if (!cfg) return;
  struct vm_guest_config g;
  struct isola_err err = {0};
  CHECK(vm_guest_config_build(cfg, "/", &g, &err) == -1);
  CHECK_STR_CONTAINS(err.msg, "mounts[0]");
  CHECK_STR_CONTAINS(err.msg, "nonexistent-source");
  oci_config_free(cfg);
}

static void test_resources(void) {
  struct vm_resources r;
  struct isola_err err;
  struct oci_config *cfg = config(BASE "}");
  CHECK(cfg && vm_resources_from_config(cfg, &r, &err) == 0);
  CHECK(r.memory_mib == VM_DEFAULT_MEMORY_MIB && r.cpus == 1);
  oci_config_free(cfg);
  cfg = config(BASE ",\"linux\":{\"resources\":{\"memory\":{\"limit\":134217728},"
                    "\"cpu\":{\"quota\":150000,\"period\":100000}}}}");
  CHECK(cfg && vm_resources_from_config(cfg, &r, &err) == 0);
  CHECK(r.memory_mib == 128 + VM_AGENT_MARGIN_MIB);
  long host = sysconf(_SC_NPROCESSORS_ONLN);
  CHECK(r.cpus == (host >= 2 ? 2u : 1u));
  oci_config_free(cfg);
  cfg = config(BASE ",\"annotations\":{\"io.isola.vm.memory_mib\":\"300\",\"io.isola.vm.cpus\":\"1\"},"
                    "\"linux\":{\"resources\":{\"memory\":{\"limit\":1048576},\"cpu\":{\"cpus\":\"0-3\"}}}}");
  CHECK(cfg && vm_resources_from_config(cfg, &r, &err) == 0);
  CHECK(r.memory_mib == 300 && r.cpus == 1);
  oci_config_free(cfg);
  cfg = config(BASE ",\"annotations\":{\"io.isola.vm.memory_mib\":\"lots\"}}");
  CHECK(cfg && vm_resources_from_config(cfg, &r, &err) == -1);
  CHECK_STR_CONTAINS(err.msg, "io.isola.vm.memory_mib");
  oci_config_free(cfg);
}

int main(void) {
  RUN(test_valid_frames);
  RUN(test_truncated);
  RUN(test_over_length);
  RUN(test_fixed_sizes);
  RUN(test_template_frames);
  RUN(test_unknown_and_wrong_direction);
  RUN(test_exec_frames);
  RUN(test_back_to_back);
  RUN(test_random_bytes);
  RUN(test_records_malformed);
  RUN(test_mount_records);
  RUN(test_guest_config_round_trip);
  RUN(test_exec_config);
  RUN(test_guest_config_errors);
  RUN(test_resources);
  return UNIT_END();
}
