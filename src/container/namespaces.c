/* Linux namespaces: which to create, which to join, and the user namespace's id maps. */
#include "container/container.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "container/rootless.h"
#include "core/cleanup.h"
#include "core/log.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const int ns_flags[OCI_NS_COUNT] = {
    [OCI_NS_PID] = CLONE_NEWPID, [OCI_NS_NET] = CLONE_NEWNET,   [OCI_NS_MNT] = CLONE_NEWNS,
    [OCI_NS_IPC] = CLONE_NEWIPC, [OCI_NS_UTS] = CLONE_NEWUTS,   [OCI_NS_USER] = CLONE_NEWUSER,
    [OCI_NS_CGROUP] = CLONE_NEWCGROUP, [OCI_NS_TIME] = CLONE_NEWTIME,
};

int ns_clone_flag(enum oci_ns ns) { return ns_flags[ns]; }

int ns_clone_flags(const struct oci_config *cfg) {
  int flags = 0;
  for (int i = 0; i < OCI_NS_COUNT; i++)
    if (cfg->ns[i].present && !cfg->ns[i].path && i != OCI_NS_CGROUP && i != OCI_NS_TIME)
      flags |= ns_flags[i];
  return flags;
}

static int join(const struct oci_config *cfg, enum oci_ns ns, struct isola_err *err) {
  const char *path = cfg->ns[ns].path;
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return isola_fail_errno(err, errno, "open %s namespace `%s`", oci_ns_name(ns), path);
  if (setns(fd, ns_flags[ns]) < 0)
    return isola_fail_errno(err, errno, "join %s namespace `%s`", oci_ns_name(ns), path);
  return 0;
}

int ns_prepare_parent(const struct oci_config *cfg, struct isola_err *err) {
  if (cfg->ns[OCI_NS_PID].present && cfg->ns[OCI_NS_PID].path && join(cfg, OCI_NS_PID, err) < 0)
    return -1;
  if (!cfg->ns[OCI_NS_TIME].present) return 0;
  if (cfg->ns[OCI_NS_TIME].path) return join(cfg, OCI_NS_TIME, err);
  if (unshare(CLONE_NEWTIME) < 0) return isola_fail_errno(err, errno, "create time namespace");
  if (!cfg->has_time_offsets) return 0;
  /* Offsets can be written only while no process has entered the namespace: now. */
  char buf[128];
  int n = snprintf(buf, sizeof buf, "monotonic %lld %lld\nboottime %lld %lld\n",
                   (long long)cfg->time_offsets[0][0], (long long)cfg->time_offsets[0][1],
                   (long long)cfg->time_offsets[1][0], (long long)cfg->time_offsets[1][1]);
  _cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, buf, n) != n)
    return isola_fail_errno(err, errno, "linux.timeOffsets: write timens_offsets");
  return 0;
}

int ns_join_child(const struct oci_config *cfg, struct isola_err *err) {
  /* The user namespace first: joining the others may need capabilities in it. */
  if (cfg->ns[OCI_NS_USER].present && cfg->ns[OCI_NS_USER].path && join(cfg, OCI_NS_USER, err) < 0)
    return -1;
  for (int i = 0; i < OCI_NS_COUNT; i++) {
    if (i == OCI_NS_USER || i == OCI_NS_PID || i == OCI_NS_TIME) continue;
    if (cfg->ns[i].present && cfg->ns[i].path && join(cfg, i, err) < 0) return -1;
  }
  if (cfg->ns[OCI_NS_CGROUP].present && !cfg->ns[OCI_NS_CGROUP].path &&
      unshare(CLONE_NEWCGROUP) < 0)
    return isola_fail_errno(err, errno, "create cgroup namespace");
  return 0;
}

static int write_map(pid_t pid, const char *file, const struct oci_idmap *m, size_t n,
                     struct isola_err *err) {
  char path[64], buf[4096];
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    int w = snprintf(buf + len, sizeof buf - len, "%u %u %u\n", m[i].container_id, m[i].host_id,
                     m[i].size);
    if (w < 0 || (size_t)w >= sizeof buf - len) return isola_fail(err, E2BIG, "%s: too many entries", file);
    len += (size_t)w;
  }
  snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
    return isola_fail_errno(err, errno, "write %s", file);
  return 0;
}

int ns_write_idmaps(pid_t pid, const struct oci_config *cfg, struct isola_err *err) {
  if (!cfg->ns[OCI_NS_USER].present || cfg->ns[OCI_NS_USER].path) return 0;
  /* Rootless with more than the caller's own ids: the setuid helpers (rootless.h). */
  bool uid_helper = cfg->nuid_mappings &&
                    rootless_needs_helper(cfg->uid_mappings, cfg->nuid_mappings, false);
  bool gid_helper = cfg->ngid_mappings &&
                    rootless_needs_helper(cfg->gid_mappings, cfg->ngid_mappings, true);
  if (uid_helper || gid_helper)
    isola_debug("rootless: id maps through%s%s", uid_helper ? " newuidmap" : "",
                gid_helper ? " newgidmap" : "");
  if (uid_helper) {
    if (rootless_run_idmap_helper(pid, cfg->uid_mappings, cfg->nuid_mappings, false, err) < 0)
      return -1;
  } else if (cfg->nuid_mappings &&
             write_map(pid, "uid_map", cfg->uid_mappings, cfg->nuid_mappings, err) < 0) {
    return isola_err_wrap(err, "linux.uidMappings");
  }
  if (gid_helper) /* newgidmap leaves setgroups allowed: the subordinate groups may be used */
    return rootless_run_idmap_helper(pid, cfg->gid_mappings, cfg->ngid_mappings, true, err);
  if (geteuid() != 0) {
    /* An unprivileged writer must deny setgroups before it may write gid_map. */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && write(fd, "deny", 4) != 4)
      return isola_fail_errno(err, errno, "write setgroups");
  }
  if (cfg->ngid_mappings &&
      write_map(pid, "gid_map", cfg->gid_mappings, cfg->ngid_mappings, err) < 0)
    return isola_err_wrap(err, "linux.gidMappings");
  return 0;
}
