/* isola spec: a default config.json, as runc spec writes it (a shell in a busybox-like rootfs
 * under "rootfs", the usual namespaces, mounts, masked paths and capabilities), plus the
 * default seccomp profile (container/seccomp_default.c) that runc leaves to its callers. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "container/seccomp.h"
#include "core/cleanup.h"

static json_t *default_caps(void) {
  return json_pack("[s,s,s]", "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");
}

static json_t *spec_json(bool rootless) {
  json_t *caps = json_pack("{s:o, s:o, s:o, s:o}", "bounding", default_caps(), "effective",
                           default_caps(), "permitted", default_caps(), "ambient", default_caps());
  json_t *process = json_pack(
      "{s:b, s:{s:i, s:i}, s:[s], s:[s,s], s:s, s:o, s:[{s:s, s:i, s:i}], s:b}", "terminal", 1,
      "user", "uid", 0, "gid", 0, "args", "sh", "env",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "cwd",
      "/", "capabilities", caps, "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
      "noNewPrivileges", 1);
  json_t *mounts = json_pack(
      "[{s:s, s:s, s:s},"
      " {s:s, s:s, s:s, s:[s,s,s,s]},"
      " {s:s, s:s, s:s, s:[s,s,s,s,s,s]},"
      " {s:s, s:s, s:s, s:[s,s,s,s,s]},"
      " {s:s, s:s, s:s, s:[s,s,s]},"
      " {s:s, s:s, s:s, s:[s,s,s,s]}]",
      "destination", "/proc", "type", "proc", "source", "proc",
      "destination", "/dev", "type", "tmpfs", "source", "tmpfs", "options", "nosuid", "strictatime",
      "mode=755", "size=65536k",
      "destination", "/dev/pts", "type", "devpts", "source", "devpts", "options", "nosuid",
      "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5",
      "destination", "/dev/shm", "type", "tmpfs", "source", "shm", "options", "nosuid", "noexec",
      "nodev", "mode=1777", "size=65536k",
      "destination", "/dev/mqueue", "type", "mqueue", "source", "mqueue", "options", "nosuid",
      "noexec", "nodev",
      "destination", "/sys", "type", "sysfs", "source", "sysfs", "options", "nosuid", "noexec",
      "nodev", "ro");
  json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s,s,s,s]}", "destination",
                                            "/sys/fs/cgroup", "type", "cgroup", "source", "cgroup",
                                            "options", "nosuid", "noexec", "nodev", "relatime",
                                            "ro"));
  json_t *ns = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}]", "type", "pid", "type", "ipc", "type",
                         "uts", "type", "mount");
  json_t *linux_ = json_pack(
      "{s:o, s:[s,s,s,s,s,s,s,s,s,s,s], s:[s,s,s,s,s,s]}", "namespaces", ns, "maskedPaths",
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
      "/proc/scsi", "/sys/devices/virtual/powercap", "readonlyPaths", "/proc/bus", "/proc/fs",
      "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", "/sys/fs/cgroup");
  json_object_set_new(linux_, "seccomp", seccomp_default_profile());
  if (rootless) {
    /* The caller's ids become root inside; /sys is bound (sysfs cannot be mounted in a user
     * namespace that does not own the network namespace); devpts loses gid=5 (group 5 is not
     * mapped). mqueue stays: the new IPC namespace belongs to the new user namespace. */
    json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
    json_object_set_new(linux_, "uidMappings",
                        json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", (int)getuid(), "size", 1));
    json_object_set_new(linux_, "gidMappings",
                        json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", (int)getgid(), "size", 1));
    json_t *sys = json_array_get(mounts, 5);
    json_object_set_new(sys, "type", json_string("none"));
    json_object_set_new(sys, "source", json_string("/sys"));
    json_object_set_new(sys, "options", json_pack("[s,s,s,s,s]", "rbind", "nosuid", "noexec", "nodev", "ro"));
    json_array_remove(json_object_get(json_array_get(mounts, 2), "options"), 5);
  } else {
    json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
  }
  return json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2", "process",
                   process, "root", "path", "rootfs", "readonly", 1, "hostname", "isola",
                   "mounts", mounts, "linux", linux_);
}

int cmd_spec(int argc, char **argv) {
  static const struct option opts[] = {{"bundle", required_argument, 0, 'b'},
                                       {"rootless", no_argument, 0, 'r'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *bundle = ".";
  bool rootless = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+b:h", opts, NULL)) != -1) {
    switch (c) {
    case 'b': bundle = optarg; break;
    case 'r': rootless = true; break;
    case 'h':
      printf("usage: isola spec [--bundle DIR] [--rootless]\n\nWrites a default config.json "
             "into the bundle (default: the current\ndirectory); --rootless makes one that an "
             "unprivileged user can run.\n");
      return 0;
    default: return cli_errorf("spec: unknown option `%s` (see isola spec --help)", argv[optind - 1]);
    }
  }
  if (optind != argc) return cli_errorf("spec: takes no arguments");
  char path[4096];
  snprintf(path, sizeof path, "%s/config.json", bundle);
  _cleanup_json_ json_t *j = spec_json(rootless);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return cli_errorf("spec: `%s` exists already; remove it first", path);
    return cli_errorf("spec: create `%s`: %s", path, strerror(errno));
  }
  if (!j || json_dumpfd(j, fd, JSON_INDENT(2)) < 0 || write(fd, "\n", 1) != 1)
    return cli_errorf("spec: write `%s`: %s", path, strerror(errno));
  return 0;
}
