/* config.json -> the CONFIG frame the guest agent builds the container from (guest/proto.h).
 *
 * What applies inside the guest travels: process (args, env, cwd, user, umask, rlimits,
 * terminal, noNewPrivileges), hostname, domainname, mounts, maskedPaths, readonlyPaths,
 * sysctl, and the namespaces asked for (uts, ipc, cgroup; mount and pid are always made; the
 * network is the guest's own, which has nothing but a loopback). Host bind mounts cannot reach into a VM: a directory becomes one more 9p share, a
 * regular file is copied (up to VM_FILE_COPY_MAX; writes to it stay in the guest). What only
 * makes sense on the host (linux.devices, cgroups, seccomp, capabilities, idmaps) is the
 * VM's business: the VM is the boundary.
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../guest/proto.h"
#include "container/mounts.h"
#include "core/cleanup.h"
#include "vm/vm.h"

static int grow(struct vm_guest_config *g, size_t more, struct isola_err *err) {
  if (g->len + more > VM_MAX_PAYLOAD)
    return isola_fail(err, E2BIG, "config.json: too large for the vm engine (over %u KiB once "
                                  "encoded, copied files included)", VM_MAX_PAYLOAD >> 10);
  if (g->len + more <= g->cap) return 0;
  size_t cap = g->cap ? g->cap : 4096;
  while (cap < g->len + more) cap *= 2;
  uint8_t *p = realloc(g->payload, cap);
  if (!p) return isola_fail_errno(err, ENOMEM, "vm config");
  g->payload = p;
  g->cap = cap;
  return 0;
}

/* A record made of `n` parts. */
static int put_parts(struct vm_guest_config *g, uint8_t tag, const void *const *parts,
                     const size_t *lens, size_t n, struct isola_err *err) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += lens[i];
  if (grow(g, VM_FRAME_HEADER + total, err) < 0) return -1;
  g->payload[g->len] = tag;
  vm_put_u32(g->payload + g->len + 1, (uint32_t)total);
  g->len += VM_FRAME_HEADER;
  for (size_t i = 0; i < n; i++) {
    if (lens[i]) memcpy(g->payload + g->len, parts[i], lens[i]);
    g->len += lens[i];
  }
  return 0;
}

static int put(struct vm_guest_config *g, uint8_t tag, const void *v, size_t len,
               struct isola_err *err) {
  return put_parts(g, tag, (const void *[]){v}, (size_t[]){len}, 1, err);
}

static int put_str(struct vm_guest_config *g, uint8_t tag, const char *s, struct isola_err *err) {
  return put(g, tag, s, strlen(s), err);
}

static int put_u32(struct vm_guest_config *g, uint8_t tag, uint32_t v, struct isola_err *err) {
  uint8_t b[4];
  vm_put_u32(b, v);
  return put(g, tag, b, 4, err);
}

static int put_mount(struct vm_guest_config *g, uint8_t kind, uint64_t flags, uint64_t prop,
                     const char *dest, const char *type, const char *source, const char *data,
                     const void *content, size_t content_len, struct isola_err *err) {
  uint8_t fixed[VM_MOUNT_FIXED];
  fixed[0] = kind;
  vm_put_u64(fixed + 1, flags);
  vm_put_u64(fixed + 9, prop);
  const void *parts[] = {fixed, dest, type, source, data, content};
  size_t lens[] = {sizeof fixed, strlen(dest) + 1, strlen(type) + 1, strlen(source) + 1,
                   strlen(data) + 1, content_len};
  return put_parts(g, VM_C_MOUNT, parts, lens, 6, err);
}

static bool is_bind(const struct oci_mount *m, const struct mount_opts *o) {
  return (m->type && !strcmp(m->type, "bind")) || (o->flags & MS_BIND);
}

/* Reads a host file bound into the container (it is copied into the guest). */
static int read_small_file(const char *path, const char *where, uint8_t **out, size_t *len,
                           struct isola_err *err) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) return isola_fail_errno(err, errno, "%s: source `%s`", where, path);
  if ((uint64_t)st.st_size > VM_FILE_COPY_MAX)
    return isola_fail(err, EFBIG, "%s: source `%s`: files bound into a VM are copied, up to %u "
                                  "KiB; bind its directory instead", where, path, VM_FILE_COPY_MAX >> 10);
  _cleanup_free_ uint8_t *buf = malloc((size_t)st.st_size + 1);
  if (!buf) return isola_fail_errno(err, ENOMEM, "%s", where);
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return isola_fail_errno(err, errno, "%s: read `%s`", where, path);
    if (n == 0) break;
    got += (size_t)n;
  }
  *out = steal_ptr(&buf);
  *len = got;
  return 0;
}

static int add_mount(struct vm_guest_config *g, const struct oci_config *cfg, const char *bundle,
                     size_t i, struct isola_err *err) {
  const struct oci_mount *m = &cfg->mounts[i];
  char where[64];
  snprintf(where, sizeof where, "config.json: mounts[%zu]", i);
  struct mount_opts o;
  if (mount_opts_parse(m->options, m->noptions, &o, err) < 0)
    return isola_err_wrap(err, "%s", where);
  uint64_t prop = 0;
  for (size_t k = 0; k < o.nprop; k++) prop = o.prop[k]; /* the last one given wins */
  uint64_t flags = o.flags | ((o.rec_set & 1 /* MOUNT_ATTR_RDONLY */) ? MS_RDONLY : 0);
  int r = 0;
  if (!is_bind(m, &o)) {
    const char *type = m->type ? m->type : "";
    if (!type[0]) r = isola_fail(err, EINVAL, "%s: type: required for a non-bind mount", where);
    else
      r = put_mount(g, VM_M_FS, flags & ~(uint64_t)(MS_BIND | MS_REC), prop, m->destination,
                    type, m->source ? m->source : type, o.data ? o.data : "", NULL, 0, err);
    mount_opts_release(&o);
    return r;
  }
  mount_opts_release(&o);
  /* A host path. Relative sources are relative to the bundle. */
  if (!m->source || !m->source[0]) return isola_fail(err, EINVAL, "%s: source: required for a bind", where);
  char joined[PATH_MAX * 2], real[PATH_MAX];
  if (m->source[0] == '/') snprintf(joined, sizeof joined, "%s", m->source);
  else snprintf(joined, sizeof joined, "%s/%s", bundle, m->source);
  if (!realpath(joined, real)) return isola_fail_errno(err, errno, "%s: source `%s`", where, joined);
  struct stat st;
  if (stat(real, &st) < 0) return isola_fail_errno(err, errno, "%s: source `%s`", where, real);
  uint64_t bflags = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                             MS_NODIRATIME | MS_RELATIME);
  if (S_ISDIR(st.st_mode)) {
    if (g->nshares == VM_MAX_SHARES)
      return isola_fail(err, E2BIG, "%s: more than %d directories bound into one VM", where,
                        VM_MAX_SHARES);
    struct vm_share *s = &g->shares[g->nshares];
    snprintf(s->tag, sizeof s->tag, "s%zu", g->nshares);
    if (!(s->path = strdup(real))) return isola_fail_errno(err, ENOMEM, "%s", where);
    s->readonly = bflags & MS_RDONLY;
    g->nshares++;
    return put_mount(g, VM_M_SHARE, bflags, prop, m->destination, "9p", s->tag, "", NULL, 0, err);
  }
  if (S_ISREG(st.st_mode)) {
    _cleanup_free_ uint8_t *content = NULL;
    size_t len = 0;
    if (read_small_file(real, where, &content, &len, err) < 0) return -1;
    return put_mount(g, VM_M_FILE, bflags, prop, m->destination, "", "", "", content, len, err);
  }
  /* Device nodes and sockets of the host mean nothing in the guest. */
  fprintf(stderr, "isola: warning: %s: `%s` is neither a directory nor a regular file; the vm "
                  "engine does not bind it\n", where, real);
  return 0;
}

/* The records of a process: args, env, cwd, user, umask, rlimits, terminal, noNewPrivileges. */
static int put_process(struct vm_guest_config *g, const struct oci_process *p, struct isola_err *err) {
  for (size_t i = 0; i < p->nargs; i++)
    if (put_str(g, VM_C_ARG, p->args[i], err) < 0) return -1;
  for (size_t i = 0; i < p->nenv; i++)
    if (put_str(g, VM_C_ENV, p->env[i], err) < 0) return -1;
  if (put_str(g, VM_C_CWD, p->cwd ? p->cwd : "/", err) < 0 || put_u32(g, VM_C_UID, p->uid, err) < 0 ||
      put_u32(g, VM_C_GID, p->gid, err) < 0)
    return -1;
  for (size_t i = 0; i < p->nadditional_gids; i++)
    if (put_u32(g, VM_C_GROUP, p->additional_gids[i], err) < 0) return -1;
  if (p->has_umask && put_u32(g, VM_C_UMASK, p->umask, err) < 0) return -1;
  for (size_t i = 0; i < p->nrlimits; i++) {
    uint8_t b[20];
    vm_put_u32(b, (uint32_t)p->rlimits[i].resource);
    vm_put_u64(b + 4, p->rlimits[i].soft);
    vm_put_u64(b + 12, p->rlimits[i].hard);
    if (put(g, VM_C_RLIMIT, b, sizeof b, err) < 0) return -1;
  }
  if (p->terminal) {
    uint8_t b[4] = {0};
    if (p->has_console_size) {
      b[0] = (uint8_t)p->console_height, b[1] = (uint8_t)(p->console_height >> 8);
      b[2] = (uint8_t)p->console_width, b[3] = (uint8_t)(p->console_width >> 8);
    }
    if (put(g, VM_C_TERMINAL, b, 4, err) < 0) return -1;
  }
  if (p->no_new_privileges && put(g, VM_C_NO_NEW_PRIVS, NULL, 0, err) < 0) return -1;
  return 0;
}

int vm_exec_config_build(const struct oci_process *p, struct vm_guest_config *out,
                         struct isola_err *err) {
  memset(out, 0, sizeof *out);
  if (!p->nargs) return isola_fail(err, EINVAL, "process.args: must not be empty");
  if (put_process(out, p, err) < 0) {
    vm_guest_config_release(out);
    return -1;
  }
  return 0;
}

int vm_guest_config_build(const struct oci_config *cfg, const char *bundle,
                          struct vm_guest_config *out, struct isola_err *err) {
  memset(out, 0, sizeof *out);
  if (!cfg->has_process) return isola_fail(err, EINVAL, "config.json: process: required");
  const struct oci_process *p = &cfg->process;
  if (!p->nargs) return isola_fail(err, EINVAL, "config.json: process.args: must not be empty");
  struct vm_guest_config *g = out;
  if (put_process(g, p, err) < 0) goto fail;
  if (cfg->hostname && put_str(g, VM_C_HOSTNAME, cfg->hostname, err) < 0) goto fail;
  if (cfg->domainname && put_str(g, VM_C_DOMAINNAME, cfg->domainname, err) < 0) goto fail;
  if (cfg->root_readonly && put(g, VM_C_ROOT_RO, NULL, 0, err) < 0) goto fail;
  uint32_t ns = 0;
  if (cfg->ns[OCI_NS_UTS].present) ns |= CLONE_NEWUTS;
  if (cfg->ns[OCI_NS_IPC].present) ns |= CLONE_NEWIPC;
  /* No network namespace: the guest has no network device, only a loopback (up) that the
   * container shares; a namespace of its own would isolate nothing and costs ~40 ms of boot
   * under TCG (docs/vm.md). */
  if (cfg->ns[OCI_NS_CGROUP].present) ns |= CLONE_NEWCGROUP;
  if (put_u32(g, VM_C_NAMESPACES, ns, err) < 0) goto fail;
  for (size_t i = 0; i < cfg->nmounts; i++)
    if (add_mount(g, cfg, bundle, i, err) < 0) goto fail;
  for (size_t i = 0; i < cfg->nmasked_paths; i++)
    if (put_str(g, VM_C_MASKED, cfg->masked_paths[i], err) < 0) goto fail;
  for (size_t i = 0; i < cfg->nreadonly_paths; i++)
    if (put_str(g, VM_C_READONLY, cfg->readonly_paths[i], err) < 0) goto fail;
  for (size_t i = 0; i < cfg->nsysctl; i++) {
    const void *parts[] = {cfg->sysctl[i].key, "", cfg->sysctl[i].value};
    size_t lens[] = {strlen(cfg->sysctl[i].key), 1, strlen(cfg->sysctl[i].value)};
    if (put_parts(g, VM_C_SYSCTL, parts, lens, 3, err) < 0) goto fail;
  }
  return 0;
fail:
  vm_guest_config_release(g);
  return -1;
}

void vm_guest_config_release(struct vm_guest_config *g) {
  free(g->payload);
  for (size_t i = 0; i < g->nshares; i++) free(g->shares[i].path);
  memset(g, 0, sizeof *g);
}
