/* linux.seccomp, translated with libseccomp, loaded with seccomp(2). Messages name the JSON
 * path of the bad entry ("config.json: linux.seccomp.syscalls[3].args[0].op: ..."). */
#include "container/seccomp.h"

#include <ctype.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define W "config.json: linux.seccomp"
#define MAX_ERRNO_RET 4095 /* the kernel clamps larger values to this */
#define MAX_INSNS 4096     /* BPF_MAXINSNS: the kernel refuses longer programs */

struct seccomp_filter {
  struct sock_filter *insns;
  unsigned short len;
  unsigned flags; /* SECCOMP_FILTER_FLAG_*, NEW_LISTENER included when listening */
  int listener;   /* connected to listenerPath, or -1 */
  char *metadata; /* listenerMetadata, or NULL */
  const struct isola_state *st;
};

/* ---- parsing ------------------------------------------------------------------------------ */

enum { ACT_OK, ACT_UNKNOWN, ACT_BAD_ERRNO };

/* `errno_ret` is the errnoRet (or defaultErrnoRet) JSON value, NULL when absent. */
static int parse_action(const char *name, json_t *errno_ret, uint32_t *out, bool *notify) {
  int e = EPERM;
  if (errno_ret) {
    if (!json_is_integer(errno_ret) || json_integer_value(errno_ret) < 0 ||
        json_integer_value(errno_ret) > MAX_ERRNO_RET)
      return ACT_BAD_ERRNO;
    e = (int)json_integer_value(errno_ret);
  }
  *notify = false;
  if (!strcmp(name, "SCMP_ACT_ERRNO"))
    *out = SCMP_ACT_ERRNO((uint16_t)e);
  else if (!strcmp(name, "SCMP_ACT_TRACE"))
    *out = SCMP_ACT_TRACE((uint16_t)e);
  else if (errno_ret)
    return ACT_BAD_ERRNO; /* errnoRet means nothing to the others */
  else if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD"))
    *out = SCMP_ACT_KILL_THREAD;
  else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS"))
    *out = SCMP_ACT_KILL_PROCESS;
  else if (!strcmp(name, "SCMP_ACT_TRAP"))
    *out = SCMP_ACT_TRAP;
  else if (!strcmp(name, "SCMP_ACT_ALLOW"))
    *out = SCMP_ACT_ALLOW;
  else if (!strcmp(name, "SCMP_ACT_LOG"))
    *out = SCMP_ACT_LOG;
  else if (!strcmp(name, "SCMP_ACT_NOTIFY"))
    *out = SCMP_ACT_NOTIFY, *notify = true;
  else
    return ACT_UNKNOWN;
  return ACT_OK;
}

static int action_error(int r, const char *where, const char *name, struct isola_err *err) {
  if (r == ACT_BAD_ERRNO)
    return isola_fail(err, EINVAL,
                      "%s: errnoRet: expected an integer 0..%d, and only with SCMP_ACT_ERRNO "
                      "or SCMP_ACT_TRACE (action `%s`)",
                      where, MAX_ERRNO_RET, name ? name : "(none)");
  return isola_fail(err, EINVAL, "%s: unknown action `%s`", where, name ? name : "(none)");
}

static int parse_op(const char *name, enum scmp_compare *out) {
  static const struct {
    const char *n;
    enum scmp_compare op;
  } ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (!strcmp(ops[i].n, name)) return *out = ops[i].op, 0;
  return -1;
}

static const struct {
  const char *name;
  unsigned flag;
} flag_names[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

static int add_arch(scmp_filter_ctx ctx, const char *name, const char *where,
                    struct isola_err *err) {
  char low[64];
  const char *s = strncmp(name, "SCMP_ARCH_", 10) ? name : name + 10;
  size_t i = 0;
  for (; s[i] && i < sizeof low - 1; i++)
    low[i] = (char)tolower((unsigned char)s[i]);
  low[i] = 0;
  uint32_t arch = s[i] ? 0 : seccomp_arch_resolve_name(low);
  if (!arch) return isola_fail(err, EINVAL, "%s: unknown architecture `%s`", where, name);
  int r = seccomp_arch_add(ctx, arch);
  if (r < 0 && r != -EEXIST) return isola_fail_errno(err, -r, "%s: add `%s`", where, name);
  return 0;
}

static int parse_args(json_t *args, const char *where, struct scmp_arg_cmp *cmp, size_t *n,
                      bool *repeated, struct isola_err *err) {
  *n = 0;
  *repeated = false;
  if (!args || json_is_null(args)) return 0;
  if (!json_is_array(args)) return isola_fail(err, EINVAL, "%s.args: expected an array", where);
  if (json_array_size(args) > 6)
    return isola_fail(err, EINVAL, "%s.args: at most 6 conditions", where);
  size_t i;
  json_t *a;
  json_array_foreach(args, i, a) {
    json_t *idx = json_object_get(a, "index"), *v = json_object_get(a, "value"),
           *v2 = json_object_get(a, "valueTwo");
    const char *op = json_string_value(json_object_get(a, "op"));
    enum scmp_compare c;
    if (!json_is_object(a))
      return isola_fail(err, EINVAL, "%s.args[%zu]: expected an object", where, i);
    if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 5)
      return isola_fail(err, EINVAL, "%s.args[%zu].index: expected 0..5", where, i);
    if (!op || parse_op(op, &c) < 0)
      return isola_fail(err, EINVAL, "%s.args[%zu].op: unknown operator `%s`", where, i,
                        op ? op : "(none)");
    if (!json_is_integer(v))
      return isola_fail(err, EINVAL, "%s.args[%zu].value: expected an integer", where, i);
    if (v2 && !json_is_integer(v2))
      return isola_fail(err, EINVAL, "%s.args[%zu].valueTwo: expected an integer", where, i);
    /* OCI's value/valueTwo are libseccomp's datum_a/datum_b: for SCMP_CMP_MASKED_EQ the mask
     * and the value the masked argument must equal. */
    cmp[i] =
        (struct scmp_arg_cmp){(unsigned)json_integer_value(idx), c, (uint64_t)json_integer_value(v),
                              v2 ? (uint64_t)json_integer_value(v2) : 0};
    for (size_t k = 0; k < i; k++)
      *repeated |= cmp[k].arg == cmp[i].arg;
    (*n)++;
  }
  return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const struct scmp_arg_cmp *cmp,
                    size_t n, bool repeated, const char *where, const char *name,
                    struct isola_err *err) {
  int r;
  if (!repeated) {
    r = seccomp_rule_add_array(ctx, action, nr, (unsigned)n, n ? cmp : NULL);
  } else {
    /* libseccomp cannot AND two conditions on one argument: each becomes its own rule (an
     * OR), as runc does. */
    r = 0;
    for (size_t i = 0; i < n && r >= 0; i++)
      r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
  }
  if (r < 0) return isola_fail_errno(err, -r, "%s: add a rule for `%s`", where, name);
  return 0;
}

/* ---- the cache (see seccomp.h) ----------------------------------------------------------- */

static char *cache_root;

void seccomp_cache_set_root(const char *root) {
  free(cache_root);
  cache_root = root ? strdup(root) : NULL;
}

#define CACHE_MAGIC "ISOLASC1"
#define CACHE_MAX_FILE (4u << 20)

struct cache_hdr {
  char magic[8];
  uint32_t keylen, notelen, ninsns;
};

/* What the program depends on: the parts of the profile that shape it (flags and the listener
 * only shape the load; whether there is a listener decides which profiles are valid), and the
 * libseccomp that translates them. */
static char *cache_key(json_t *p) {
  _cleanup_json_ json_t *k = json_pack(
      "{s:O?, s:O?, s:O?, s:O?, s:b}", "defaultAction", json_object_get(p, "defaultAction"),
      "defaultErrnoRet", json_object_get(p, "defaultErrnoRet"), "architectures",
      json_object_get(p, "architectures"), "syscalls", json_object_get(p, "syscalls"), "listener",
      json_object_get(p, "listenerPath") != NULL);
  _cleanup_free_ char *text = k ? json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  const struct scmp_version *v = seccomp_version();
  char *key = NULL;
  if (text && asprintf(&key, "libseccomp %u.%u.%u api %u arch %u\n%s", v->major, v->minor, v->micro,
                       seccomp_api_get(), seccomp_arch_native(), text) < 0)
    key = NULL;
  return key;
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h;
}

/* The cache directory, only when it is ours alone (a filter read from a directory someone else
 * can write would be theirs). */
static int cache_dir_open(bool create) {
  if (!cache_root) return -1;
  char path[4200];
  snprintf(path, sizeof path, "%s/.seccomp", cache_root);
  if (create && mkdir(path, 0700) < 0 && errno != EEXIST) return -1;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat sb;
  if (fd >= 0 && (fstat(fd, &sb) < 0 || sb.st_uid != geteuid() || (sb.st_mode & 022))) {
    close(fd);
    return -1;
  }
  return fd;
}

/* A hit fills f->insns/len and `note` (the skipped-names note of the first compile). */
static bool cache_load(const char *key, const char *name, struct seccomp_filter *f, char *note,
                       size_t notelen) {
  _cleanup_close_ int dfd = cache_dir_open(false);
  _cleanup_close_ int fd = dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
      sb.st_size < (off_t)sizeof(struct cache_hdr) || sb.st_size > CACHE_MAX_FILE)
    return false;
  _cleanup_free_ char *buf = malloc((size_t)sb.st_size);
  if (!buf || read(fd, buf, (size_t)sb.st_size) != sb.st_size) return false;
  struct cache_hdr h;
  memcpy(&h, buf, sizeof h);
  size_t keylen = strlen(key);
  uint64_t want =
      sizeof h + (uint64_t)h.keylen + h.notelen + (uint64_t)h.ninsns * sizeof(struct sock_filter);
  if (memcmp(h.magic, CACHE_MAGIC, 8) || want != (uint64_t)sb.st_size || h.keylen != keylen ||
      memcmp(buf + sizeof h, key, keylen) || h.ninsns == 0 || h.ninsns > MAX_INSNS ||
      h.notelen >= notelen)
    return false;
  memcpy(note, buf + sizeof h + keylen, h.notelen);
  note[h.notelen] = 0;
  size_t bytes = h.ninsns * sizeof(struct sock_filter);
  if (!(f->insns = malloc(bytes))) return false;
  memcpy(f->insns, buf + sizeof h + keylen + h.notelen, bytes);
  f->len = (unsigned short)h.ninsns;
  return true;
}

/* Best effort: a failure only costs the next create a compile. Written aside and renamed, so
 * readers see a whole file or none. */
static void cache_store(const char *key, const char *name, const struct seccomp_filter *f,
                        const char *note) {
  _cleanup_close_ int dfd = cache_dir_open(true);
  if (dfd < 0) return;
  char tmp[128];
  snprintf(tmp, sizeof tmp, ".%s.%d", name, (int)getpid());
  _cleanup_close_ int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;
  struct cache_hdr h = {
      .keylen = (uint32_t)strlen(key), .notelen = (uint32_t)strlen(note), .ninsns = f->len};
  memcpy(h.magic, CACHE_MAGIC, 8);
  struct iovec iov[] = {{&h, sizeof h},
                        {(void *)key, h.keylen},
                        {(void *)note, h.notelen},
                        {f->insns, f->len * sizeof(struct sock_filter)}};
  size_t total = 0;
  for (size_t i = 0; i < 4; i++)
    total += iov[i].iov_len;
  if (writev(fd, iov, 4) != (ssize_t)total || renameat(dfd, tmp, dfd, name) < 0) {
    unlinkat(dfd, tmp, 0);
    isola_debug("linux.seccomp: could not cache the filter in `%s/.seccomp`", cache_root);
  }
}

/* ---- compile ------------------------------------------------------------------------------ */

static int connect_listener(const char *path, struct isola_err *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path)
    return isola_fail(err, ENAMETOOLONG, W ".listenerPath: `%s`: path too long", path);
  memcpy(sa.sun_path, path, strlen(path) + 1);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return isola_fail_errno(err, errno, W ".listenerPath: socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    return isola_fail_errno(err, errno, W ".listenerPath: connect `%s`", path);
  return take_fd(&fd);
}

/* The kernel's answer to "are these flags known": with a NULL program a valid flag set fails
 * with EFAULT, an unknown one with EINVAL (crun probes the same way). */
static bool kernel_has_flags(unsigned flags) {
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, NULL) < 0 && errno == EFAULT;
}

static int export_bpf(scmp_filter_ctx ctx, struct seccomp_filter *f, struct isola_err *err) {
  _cleanup_close_ int fd = memfd_create("isola-seccomp", MFD_CLOEXEC);
  if (fd < 0) return isola_fail_errno(err, errno, W ": memfd_create");
  int r = seccomp_export_bpf(ctx, fd);
  if (r < 0) return isola_fail_errno(err, -r, W ": generate the BPF program");
  struct stat sb;
  if (fstat(fd, &sb) < 0) return isola_fail_errno(err, errno, W ": generate the BPF program");
  size_t n = (size_t)sb.st_size / sizeof(struct sock_filter);
  if (n == 0 || n > MAX_INSNS || (size_t)sb.st_size % sizeof(struct sock_filter))
    return isola_fail(err, E2BIG, W ": the filter has %zu instructions; the kernel takes 1..%d", n,
                      MAX_INSNS);
  f->insns = malloc((size_t)sb.st_size);
  if (!f->insns) return isola_fail_errno(err, ENOMEM, W);
  if (pread(fd, f->insns, (size_t)sb.st_size, 0) != sb.st_size)
    return isola_fail_errno(err, errno ? errno : EIO, W ": read the BPF program");
  f->len = (unsigned short)n;
  return 0;
}

/* Appends `name` to the comma list in `buf` (for the debug note on skipped names). */
static void note_skipped(char *buf, size_t len, size_t *count, const char *name) {
  size_t used = strlen(buf);
  if (used < len) snprintf(buf + used, len - used, "%s%s", *count ? ", " : "", name);
  (*count)++;
}

static void release_ctx(scmp_filter_ctx *ctx) {
  if (*ctx) seccomp_release(*ctx);
}

/* The syscall rules through libseccomp into f->insns; `note` gets the skipped names. */
static int compile_rules(json_t *p, uint32_t defact, bool listener, struct seccomp_filter *f,
                         char *note, size_t notelen, struct isola_err *err) {
  __attribute__((cleanup(release_ctx))) scmp_filter_ctx ctx = seccomp_init(defact);
  if (!ctx) return isola_fail(err, ENOMEM, W ": seccomp_init");
  /* The program is exported and loaded by us; still, never let libseccomp set no_new_privs. */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  /* A binary search over syscall numbers instead of a linear scan: the big default profile
   * costs far fewer instructions per syscall. */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

  char where[256];
  size_t i;
  json_t *v, *arr = json_object_get(p, "architectures");
  if (arr && !json_is_array(arr) && !json_is_null(arr))
    return isola_fail(err, EINVAL, W ".architectures: expected an array");
  json_array_foreach(arr, i, v) {
    snprintf(where, sizeof where, W ".architectures[%zu]", i);
    if (!json_is_string(v)) return isola_fail(err, EINVAL, "%s: expected a string", where);
    if (add_arch(ctx, json_string_value(v), where, err) < 0) return -1;
  }

  char skipped[512] = "";
  size_t nskipped = 0;
  bool any_notify = false;
  arr = json_object_get(p, "syscalls");
  if (arr && !json_is_array(arr) && !json_is_null(arr))
    return isola_fail(err, EINVAL, W ".syscalls: expected an array");
  json_array_foreach(arr, i, v) {
    snprintf(where, sizeof where, W ".syscalls[%zu]", i);
    if (!json_is_object(v)) return isola_fail(err, EINVAL, "%s: expected an object", where);
    const char *act = json_string_value(json_object_get(v, "action"));
    uint32_t action;
    bool notify;
    int r = act ? parse_action(act, json_object_get(v, "errnoRet"), &action, &notify) : ACT_UNKNOWN;
    if (r != ACT_OK) {
      char w2[300];
      snprintf(w2, sizeof w2, "%s.action", where);
      return action_error(r, w2, act, err);
    }
    if (notify && !listener)
      return isola_fail(err, EINVAL, "%s.action: SCMP_ACT_NOTIFY needs " W ".listenerPath", where);
    any_notify |= notify;
    struct scmp_arg_cmp cmp[6];
    size_t ncmp;
    bool repeated;
    if (parse_args(json_object_get(v, "args"), where, cmp, &ncmp, &repeated, err) < 0) return -1;
    json_t *names = json_object_get(v, "names"), *name;
    if (!json_is_array(names) || !json_array_size(names))
      return isola_fail(err, EINVAL, "%s.names: expected a non-empty array", where);
    size_t k;
    json_array_foreach(names, k, name) {
      const char *s = json_string_value(name);
      if (!s) return isola_fail(err, EINVAL, "%s.names[%zu]: expected a string", where, k);
      /* The container process sends the listener its fd with sendmsg after the filter is
       * in place: notifying on it would wait for a listener that has no fd yet. */
      if (notify && !strcmp(s, "sendmsg"))
        return isola_fail(err, EINVAL,
                          "%s: SCMP_ACT_NOTIFY cannot be used for `sendmsg` (the "
                          "runtime needs it to hand the listener its fd)",
                          where);
      int nr = seccomp_syscall_resolve_name(s);
      if (nr == __NR_SCMP_ERROR) {
        note_skipped(skipped, sizeof skipped, &nskipped, s);
        continue;
      }
      if (action == defact) continue; /* libseccomp refuses rules equal to the default */
      if (add_rule(ctx, action, nr, cmp, ncmp, repeated, where, s, err) < 0) return -1;
    }
  }
  if (export_bpf(ctx, f, err) < 0) return -1;
  const struct scmp_version *ver = seccomp_version();
  size_t n = 0;
  if (nskipped)
    n = (size_t)snprintf(note, notelen,
                         "linux.seccomp: %zu syscall name%s unknown to libseccomp %u.%u.%u, "
                         "skipped: %s",
                         nskipped, nskipped == 1 ? "" : "s", ver->major, ver->minor, ver->micro,
                         skipped);
  if (listener && !any_notify && n < notelen)
    snprintf(note + n, notelen - n,
             "%slinux.seccomp: listenerPath is set but no rule uses "
             "SCMP_ACT_NOTIFY",
             n ? "\n" : "");
  return 0;
}

int seccomp_filter_compile(json_t *p, struct seccomp_filter **out, struct isola_err *err) {
  if (!json_is_object(p)) return isola_fail(err, EINVAL, W ": expected an object");
  const char *def = json_string_value(json_object_get(p, "defaultAction"));
  uint32_t defact;
  bool notify;
  int r = def ? parse_action(def, json_object_get(p, "defaultErrnoRet"), &defact, &notify)
              : ACT_UNKNOWN;
  if (r != ACT_OK) return action_error(r, W ".defaultAction", def, err);
  if (notify)
    return isola_fail(err, EINVAL,
                      W ".defaultAction: SCMP_ACT_NOTIFY cannot be the default "
                        "(the container process could not even send the listener "
                        "its fd)");

  json_t *lp = json_object_get(p, "listenerPath"), *lm = json_object_get(p, "listenerMetadata");
  if (lp && (!json_is_string(lp) || !json_string_length(lp)))
    return isola_fail(err, EINVAL, W ".listenerPath: expected a non-empty string");
  if (lm && !json_is_string(lm))
    return isola_fail(err, EINVAL, W ".listenerMetadata: expected a string");

  struct seccomp_filter *f = calloc(1, sizeof *f);
  if (!f) return isola_fail_errno(err, ENOMEM, W);
  f->listener = -1;
  __attribute__((cleanup(seccomp_filter_freep))) struct seccomp_filter *owned = f;

  size_t i;
  json_t *v, *arr = json_object_get(p, "flags");
  if (arr && !json_is_array(arr) && !json_is_null(arr))
    return isola_fail(err, EINVAL, W ".flags: expected an array");
  json_array_foreach(arr, i, v) {
    const char *fl = json_string_value(v);
    size_t k = 0;
    while (fl && k < sizeof flag_names / sizeof *flag_names && strcmp(flag_names[k].name, fl))
      k++;
    if (!fl || k == sizeof flag_names / sizeof *flag_names)
      return isola_fail(err, EINVAL, W ".flags[%zu]: unknown flag `%s`", i, fl ? fl : "?");
    unsigned flag = flag_names[k].flag, probe = flag;
    if (flag == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
      if (!lp)
        return isola_fail(err, EINVAL,
                          W ".flags[%zu]: `%s` needs a listenerPath (it applies to "
                            "notifications)",
                          i, fl);
      probe |= SECCOMP_FILTER_FLAG_NEW_LISTENER; /* the kernel takes it only with that */
    }
    if (!kernel_has_flags(probe))
      return isola_fail(err, ENOTSUP, W ".flags[%zu]: this kernel does not support `%s`", i, fl);
    f->flags |= flag;
  }

  char note[1024] = "", name[32];
  _cleanup_free_ char *key = cache_root ? cache_key(p) : NULL;
  if (key) snprintf(name, sizeof name, "%016llx", (unsigned long long)fnv1a(key));
  bool hit = key && cache_load(key, name, f, note, sizeof note);
  if (!hit) {
    if (compile_rules(p, defact, lp != NULL, f, note, sizeof note, err) < 0) return -1;
    if (key) cache_store(key, name, f, note);
  }
  if (note[0]) isola_debug("%s", note);

  if (lp) {
    f->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    /* TSYNC and a listener go together only when TSYNC reports failure as ESRCH. */
    if (f->flags & SECCOMP_FILTER_FLAG_TSYNC) f->flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    if (lm && !(f->metadata = strdup(json_string_value(lm))))
      return isola_fail_errno(err, ENOMEM, W);
    if ((f->listener = connect_listener(json_string_value(lp), err)) < 0) return -1;
  }
  isola_debug("linux.seccomp: %u BPF instructions (%s), flags 0x%x", f->len,
              hit ? "cached" : "compiled", f->flags);
  *out = steal_ptr(&owned);
  return 0;
}

void seccomp_filter_set_state(struct seccomp_filter *f, const struct isola_state *st) {
  f->st = st;
}

size_t seccomp_filter_length(const struct seccomp_filter *f) {
  return f->len;
}

/* ---- load (in the container process) ------------------------------------------------------- */

/* The OCI "seccomp state": {ociVersion, fds: ["seccompFd"], pid, metadata, state}, sent as the
 * data of one message whose SCM_RIGHTS carry the notify fd. */
static int send_to_listener(const struct seccomp_filter *f, int notify_fd, struct isola_err *err) {
  json_t *state = f->st ? state_oci_json(f->st) : json_object();
  _cleanup_json_ json_t *msg =
      json_pack("{s:s, s:[s], s:I, s:s, s:o}", "ociVersion", "1.0.2", "fds", "seccompFd", "pid",
                (json_int_t)(f->st ? f->st->pid : 0), "metadata", f->metadata ? f->metadata : "",
                "state", state ? state : json_object());
  _cleanup_free_ char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
  if (!text) return isola_fail_errno(err, ENOMEM, "linux.seccomp.listenerPath: state");
  char cbuf[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = {.iov_base = text, .iov_len = strlen(text)};
  struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &notify_fd, sizeof(int));
  ssize_t n;
  while ((n = sendmsg(f->listener, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n < 0) return isola_fail_errno(err, errno, "linux.seccomp.listenerPath: send the notify fd");
  /* A stream socket may take the rest in more writes; the fd went with the first byte. */
  for (size_t off = (size_t)n; off < iov.iov_len;) {
    ssize_t w = send(f->listener, text + off, iov.iov_len - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return isola_fail_errno(err, errno, "linux.seccomp.listenerPath: send the state");
    off += (size_t)w;
  }
  return 0;
}

int seccomp_filter_load(const struct seccomp_filter *f, struct isola_err *err) {
  struct sock_fprog prog = {.len = f->len, .filter = f->insns};
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &prog);
  if (r < 0) {
    if (errno == EACCES)
      return isola_fail_errno(err, errno,
                              "linux.seccomp: load the filter (needs "
                              "process.noNewPrivileges or CAP_SYS_ADMIN)");
    return isola_fail_errno(err, errno, "linux.seccomp: load the filter (flags 0x%x)", f->flags);
  }
  if (f->listener < 0) return 0;
  _cleanup_close_ int notify_fd = (int)r;
  int ret = send_to_listener(f, notify_fd, err);
  /* Ours to drop now: the listener holds its own copy, and the program must not inherit it. */
  close(f->listener);
  return ret;
}

void seccomp_filter_free(struct seccomp_filter *f) {
  if (!f) return;
  if (f->listener >= 0) close(f->listener);
  free(f->insns);
  free(f->metadata);
  free(f);
}

/* ---- features ------------------------------------------------------------------------------ */

json_t *seccomp_features(void) {
  static const char *const actions[] = {
      "SCMP_ACT_ALLOW",        "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
      "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
      "SCMP_ACT_NOTIFY",       "SCMP_ACT_TRACE",       "SCMP_ACT_TRAP"};
  static const char *const archs[] = {"X86",         "X86_64", "X32",       "ARM",     "AARCH64",
                                      "MIPS",        "MIPS64", "MIPS64N32", "MIPSEL",  "MIPSEL64",
                                      "MIPSEL64N32", "PPC",    "PPC64",     "PPC64LE", "S390",
                                      "S390X",       "PARISC", "PARISC64",  "RISCV64"};
  json_t *a = json_array(), *ops = json_array(), *ar = json_array(), *known = json_array(),
         *supported = json_array();
  for (size_t i = 0; i < sizeof actions / sizeof *actions; i++)
    json_array_append_new(a, json_string(actions[i]));
  static const char *const opnames[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                        "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
                                        "SCMP_CMP_NE"};
  for (size_t i = 0; i < sizeof opnames / sizeof *opnames; i++)
    json_array_append_new(ops, json_string(opnames[i]));
  for (size_t i = 0; i < sizeof archs / sizeof *archs; i++) {
    char low[32], name[48];
    size_t k = 0;
    for (; archs[i][k] && k < sizeof low - 1; k++)
      low[k] = (char)tolower((unsigned char)archs[i][k]);
    low[k] = 0;
    if (!seccomp_arch_resolve_name(low)) continue;
    snprintf(name, sizeof name, "SCMP_ARCH_%s", archs[i]);
    json_array_append_new(ar, json_string(name));
  }
  for (size_t i = 0; i < sizeof flag_names / sizeof *flag_names; i++) {
    unsigned probe = flag_names[i].flag;
    if (probe == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) probe |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    json_array_append_new(known, json_string(flag_names[i].name));
    if (kernel_has_flags(probe)) json_array_append_new(supported, json_string(flag_names[i].name));
  }
  return json_pack("{s:b, s:o, s:o, s:o, s:o, s:o}", "enabled", 1, "actions", a, "operators", ops,
                   "archs", ar, "knownFlags", known, "supportedFlags", supported);
}
