/* Unit tests for the cgroup v2 device filter (cgroup_v2.c): the generated eBPF program is run
 * on a small interpreter of the instructions it uses, against the rules' meaning; then, where
 * the host has a cgroup2 mount and we are root, loaded and attached for real to a scratch
 * cgroup, where a child that joins it finds /dev/null denied. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/cgroup_backend.h"
#include "unit.h"

/* Runs `p` on the context (type, major, minor, access); -1 for an instruction it does not
 * know, a jump out of the program, or running off its end. */
static int run(const struct bpf_insn *p, size_t n, unsigned type, uint32_t major, uint32_t minor,
               unsigned access) {
  uint32_t ctx[3] = {(access << 16) | type, major, minor};
  uint64_t r[11] = {0};
  size_t pc = 0;
  for (int steps = 0; steps < 100000 && pc < n; steps++) {
    const struct bpf_insn *i = &p[pc++];
    uint64_t *d = &r[i->dst_reg];
    switch (i->code) {
    case BPF_LDX | BPF_W | BPF_MEM:
      if (i->src_reg != BPF_REG_1 || i->off % 4 || i->off < 0 || i->off > 8) return -1;
      *d = ctx[i->off / 4];
      break;
    case BPF_ALU64 | BPF_MOV | BPF_X: *d = r[i->src_reg]; break;
    case BPF_ALU64 | BPF_MOV | BPF_K: *d = (uint64_t)(int64_t)i->imm; break;
    case BPF_ALU | BPF_AND | BPF_K: *d = (uint32_t)*d & (uint32_t)i->imm; break;
    case BPF_ALU | BPF_RSH | BPF_K: *d = (uint32_t)*d >> i->imm; break;
    case BPF_JMP | BPF_JA: pc += (size_t)(ssize_t)i->off; break;
    case BPF_JMP | BPF_JSET | BPF_K:
      if (*d & (uint64_t)(int64_t)i->imm) pc += (size_t)(ssize_t)i->off;
      break;
    case BPF_JMP32 | BPF_JNE | BPF_K:
      if ((uint32_t)*d != (uint32_t)i->imm) pc += (size_t)(ssize_t)i->off;
      break;
    case BPF_JMP | BPF_EXIT: return (int)r[0];
    default: return -1;
    }
    if (pc > n) return -1;
  }
  return -1;
}

static struct bpf_insn *prog;
static size_t plen;

static int build_with(const char *json, const struct cg_dev_rule *extra, size_t nextra) {
  struct cg_dev_rule *r;
  size_t n;
  struct isola_err err;
  json_t *j = json ? json_loads(json, 0, NULL) : NULL;
  free(prog);
  prog = NULL;
  if (cg_device_rules(j, extra, nextra, "t", &r, &n, &err) < 0) {
    fprintf(stderr, "  %s\n", err.msg);
    json_decref(j);
    return -1;
  }
  json_decref(j);
  int rc = cgroup_v2_device_program(r, n, &prog, &plen, &err);
  free(r);
  return rc;
}

static int build(const char *json) { return build_with(json, NULL, 0); }

#define C 2 /* BPF_DEVCG_DEV_CHAR */
#define B 1
#define R 2 /* access bits */
#define Wr 4
#define M 1

static int ask(unsigned type, uint32_t maj, uint32_t min, unsigned acc) {
  return run(prog, plen, type, maj, min, acc);
}

static void test_deny_all_keeps_defaults(void) {
  CHECK(build("[{\"allow\":false,\"access\":\"rwm\"}]") == 0);
  CHECK(ask(C, 1, 3, R) == 1);      /* /dev/null */
  CHECK(ask(C, 1, 3, R | Wr) == 1);
  CHECK(ask(C, 136, 7, R | Wr) == 1); /* a pts */
  CHECK(ask(C, 4, 1, R) == 0);      /* /dev/tty1 */
  CHECK(ask(C, 10, 5, M) == 1);     /* mknod of anything */
  CHECK(ask(C, 10, 5, M | R) == 0);
  CHECK(ask(B, 8, 0, R) == 0);
  CHECK(ask(B, 8, 0, M) == 1);
}

static void test_later_rule_wins(void) {
  CHECK(build("[{\"allow\":false,\"access\":\"rwm\"},"
              "{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"r\"}]") == 0);
  CHECK(ask(C, 1, 3, R) == 0);
  CHECK(ask(C, 1, 3, Wr) == 1);
  CHECK(ask(C, 1, 3, R | Wr) == 0);
  CHECK(ask(C, 1, 5, R) == 1);
  CHECK(build("[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"b\",\"major\":8,"
              "\"access\":\"r\"},{\"allow\":false,\"type\":\"b\",\"major\":8,\"minor\":1}]") == 0);
  CHECK(ask(B, 8, 0, R) == 1);
  CHECK(ask(B, 8, 0, Wr) == 0);
  CHECK(ask(B, 8, 1, R) == 0);
  CHECK(ask(C, 8, 0, R) == 0);
}

static void test_deny_by_default(void) {
  /* No rules at all (no linux.resources.devices): the default set only, as runc and crun. */
  CHECK(build(NULL) == 0);
  CHECK(ask(C, 1, 3, R | Wr) == 1);
  CHECK(ask(C, 1, 1, R) == 0);      /* /dev/mem */
  CHECK(ask(B, 254, 0, R) == 0);    /* a disk */
  CHECK(ask(C, 10, 232, R | Wr) == 0); /* /dev/kvm */
  CHECK(build("[]") == 0);
  CHECK(ask(B, 8, 0, R) == 0);
  /* A single deny: the rest of the default set stays, nothing else is added. */
  CHECK(build("[{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":3}]") == 0);
  CHECK(ask(C, 1, 3, R) == 0);
  CHECK(ask(C, 1, 3, M) == 0);
  CHECK(ask(C, 5, 0, R) == 1);
  CHECK(ask(B, 8, 0, R | Wr) == 0);
  /* Allow everything (a privileged container), with or without a deny-all before. */
  CHECK(build("[{\"allow\":true}]") == 0);
  CHECK(ask(B, 8, 0, R | Wr | M) == 1);
  CHECK(build("[{\"allow\":false},{\"allow\":true}]") == 0);
  CHECK(ask(B, 8, 0, R | Wr | M) == 1);
  /* A type-a rule for some access only: split into b and c, as v1 needs. */
  CHECK(build("[{\"allow\":true,\"type\":\"a\",\"access\":\"r\"},"
              "{\"allow\":false,\"type\":\"a\",\"access\":\"w\"}]") == 0);
  CHECK(ask(B, 8, 0, R) == 1);
  CHECK(ask(B, 8, 0, Wr) == 0);
  CHECK(ask(C, 1, 3, Wr) == 0);
  CHECK(ask(C, 1, 3, R) == 1);
}

static void test_config_devices_are_allowed(void) {
  /* linux.devices come with the defaults: a "deny all" in the resources does not hide them,
   * a later rule can. */
  const struct cg_dev_rule fuse[] = {{true, 'c', 10, 229, 7}, {true, 'b', 7, 200, 7}};
  CHECK(build_with("[{\"allow\":false,\"access\":\"rwm\"}]", fuse, 2) == 0);
  CHECK(ask(C, 10, 229, R | Wr) == 1);
  CHECK(ask(B, 7, 200, R) == 1);
  CHECK(ask(B, 7, 201, R) == 0);
  CHECK(build_with("[{\"allow\":false,\"type\":\"b\",\"major\":7,\"access\":\"w\"}]", fuse, 2) == 0);
  CHECK(ask(B, 7, 200, R) == 1);
  CHECK(ask(B, 7, 200, Wr) == 0);
  CHECK(build_with(NULL, fuse, 2) == 0);
  CHECK(ask(C, 10, 229, R) == 1);
}

static void test_large_numbers(void) {
  /* Majors and minors are u32 in the context: the program compares 32-bit. */
  CHECK(build("[{\"allow\":false},{\"allow\":true,\"type\":\"c\",\"major\":4000000000,"
              "\"minor\":4294967295,\"access\":\"r\"}]") == 0);
  CHECK(ask(C, 4000000000u, 4294967295u, R) == 1);
  CHECK(ask(C, 4000000000u, 4294967294u, R) == 0);
  CHECK(build("[{\"allow\":true,\"major\":4294967296}]") == -1);
}

static void test_size(void) {
  /* 1024 rules fit in the 16-bit jump range; 1025 are refused before any program exists. */
  size_t n = 1024;
  size_t cap = n * 80 + 16;
  char *json = malloc(cap);
  size_t o = (size_t)snprintf(json, cap, "[{\"allow\":false}");
  for (size_t i = 1; i < n; i++)
    o += (size_t)snprintf(json + o, cap - o,
                          ",{\"allow\":%s,\"type\":\"c\",\"major\":%zu,\"minor\":%zu}",
                          i % 2 ? "true" : "false", i, i);
  snprintf(json + o, cap - o, "]");
  CHECK(build(json) == 0);
  CHECK(ask(C, 3, 3, R) == 1);
  CHECK(ask(C, 4, 4, R) == 0);
  CHECK(ask(C, 1023, 1023, R | Wr) == 1);
  free(json);
  json_t *big = json_array();
  for (int i = 0; i < 1025; i++) json_array_append_new(big, json_pack("{s:b}", "allow", 1));
  struct cg_dev_rule *r;
  size_t rn;
  struct isola_err err;
  CHECK(cg_device_rules(big, NULL, 0, "t", &r, &rn, &err) == -1);
  CHECK_STR_CONTAINS(err.msg, "t.devices: more than 1024 rules");
  json_decref(big);
}

/* The cgroup2 mount, or NULL. */
static const char *v2_mount(void) {
  static char mnt[256];
  FILE *f = fopen("/proc/self/mountinfo", "re");
  char line[1024];
  while (f && fgets(line, sizeof line, f)) {
    char *dash = strstr(line, " - cgroup2 ");
    if (dash && sscanf(line, "%*s %*s %*s %*s %255s", mnt) == 1) {
      fclose(f);
      return mnt;
    }
  }
  if (f) fclose(f);
  return NULL;
}

/* A child joins `dir` and opens /dev/null for reading and for writing: its exit status holds
 * the two errnos (0 = opened). */
static int child_opens(const char *dir, int *rd, int *wr) {
  pid_t pid = fork();
  if (pid == 0) {
    char path[512], me[16];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    snprintf(me, sizeof me, "%d", getpid());
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, me, strlen(me)) < 0) _exit(255);
    close(fd);
    int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_WRONLY);
    int ea = a < 0 ? errno : 0, eb = b < 0 ? errno : 0;
    _exit((ea == EPERM ? 1 : ea ? 3 : 0) | (eb == EPERM ? 4 : eb ? 12 : 0));
  }
  int st;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) == 255) return -1;
  *rd = WEXITSTATUS(st) & 3;
  *wr = (WEXITSTATUS(st) >> 2) & 3;
  return 0;
}

static void test_live_attach(void) {
  const char *mnt = v2_mount();
  if (!mnt || geteuid() != 0) {
    printf("skip test_live_attach: no cgroup2 mount or not root\n");
    return;
  }
  char dir[512];
  snprintf(dir, sizeof dir, "%s/isola-unit-bpf-%d", mnt, getpid());
  if (mkdir(dir, 0755) < 0) {
    printf("skip test_live_attach: mkdir %s: %s\n", dir, strerror(errno));
    return;
  }
  struct cg_dev_rule *r;
  size_t n;
  struct isola_err err;
  json_t *j = json_loads("[{\"allow\":false},{\"allow\":false,\"type\":\"c\",\"major\":1,"
                         "\"minor\":3,\"access\":\"r\"}]", 0, NULL);
  CHECK(cg_device_rules(j, NULL, 0, "t", &r, &n, &err) == 0);
  json_decref(j);
  int rc = cgroup_v2_devices_apply(dir, r, n, &err);
  free(r);
  if (rc < 0 && (err.errnum == EPERM || err.errnum == ENOSYS || err.errnum == EINVAL)) {
    printf("skip test_live_attach: %s\n", err.msg);
  } else {
    if (rc < 0) fprintf(stderr, "  %s\n", err.msg);
    CHECK(rc == 0);
    int rd = -1, wr = -1;
    CHECK(child_opens(dir, &rd, &wr) == 0);
    CHECK(rd == 1); /* EPERM */
    CHECK(wr == 0);
    /* An update replaces the filter: exactly one program stays attached. */
    j = json_loads("[{\"allow\":true}]", 0, NULL);
    CHECK(cg_device_rules(j, NULL, 0, "t", &r, &n, &err) == 0);
    json_decref(j);
    CHECK(cgroup_v2_devices_apply(dir, r, n, &err) == 0);
    free(r);
    CHECK(child_opens(dir, &rd, &wr) == 0);
    CHECK(rd == 0 && wr == 0);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    uint32_t ids[8];
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.query.target_fd = (uint32_t)fd;
    a.query.attach_type = BPF_CGROUP_DEVICE;
    a.query.prog_ids = (uint64_t)(uintptr_t)ids;
    a.query.prog_cnt = 8;
    CHECK(syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof a) == 0);
    CHECK(a.query.prog_cnt == 1);
    close(fd);
  }
  /* The children are gone: the cgroup is empty. */
  for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++) usleep(2000);
  CHECK(access(dir, F_OK) < 0);
}

int main(void) {
  RUN(test_deny_all_keeps_defaults);
  RUN(test_later_rule_wins);
  RUN(test_deny_by_default);
  RUN(test_config_devices_are_allowed);
  RUN(test_large_numbers);
  RUN(test_size);
  RUN(test_live_attach);
  free(prog);
  return UNIT_END();
}
