/* Unit tests for the mount option parser and the path helpers of src/container/mounts.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "container/devices.h"
#include "container/mounts.h"
#include "unit.h"

#define OPTS(...) ((char *[]){__VA_ARGS__}), (sizeof((char *[]){__VA_ARGS__}) / sizeof(char *))

static int parse(char *const *opts, size_t n, struct mount_opts *o, struct isola_err *err) {
  memset(err, 0, sizeof *err);
  return mount_opts_parse(opts, n, o, err);
}

static void test_empty(void) {
  struct mount_opts o;
  struct isola_err err;
  CHECK(parse(NULL, 0, &o, &err) == 0);
  CHECK(o.flags == 0 && o.clear == 0 && o.nprop == 0 && o.data == NULL);
  CHECK(!o.atime_given && !o.tmpcopyup && o.rec_set == 0 && o.rec_clr == 0);
  mount_opts_release(&o);
}

static void test_flags(void) {
  struct mount_opts o;
  struct isola_err err;
  CHECK(parse(OPTS("ro", "nosuid", "nodev", "noexec", "sync", "dirsync", "mand", "nosymfollow"), &o,
              &err) == 0);
  CHECK(o.flags == (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_DIRSYNC |
                    MS_MANDLOCK | MS_NOSYMFOLLOW));
  CHECK(o.data == NULL);
  mount_opts_release(&o);
}

static void test_later_option_wins(void) {
  struct mount_opts o;
  struct isola_err err;
  CHECK(parse(OPTS("ro", "nosuid", "rw", "suid", "exec"), &o, &err) == 0);
  CHECK(o.flags == 0);
  CHECK(o.clear == (MS_RDONLY | MS_NOSUID | MS_NOEXEC));
  mount_opts_release(&o);
  CHECK(parse(OPTS("rw", "ro", "async", "sync"), &o, &err) == 0);
  CHECK(o.flags == (MS_RDONLY | MS_SYNCHRONOUS));
  CHECK(o.clear == 0);
  mount_opts_release(&o);
}

static void test_atime(void) {
  struct mount_opts o;
  struct isola_err err;
  CHECK(parse(OPTS("nosuid"), &o, &err) == 0);
  CHECK(!o.atime_given);
  mount_opts_release(&o);
  CHECK(parse(OPTS("noatime", "nodiratime"), &o, &err) == 0);
  CHECK(o.atime_given && o.flags == (MS_NOATIME | MS_NODIRATIME));
  mount_opts_release(&o);
  CHECK(parse(OPTS("strictatime"), &o, &err) == 0);
  CHECK(o.atime_given && o.flags == MS_STRICTATIME);
  mount_opts_release(&o);
  CHECK(parse(OPTS("relatime", "norelatime", "atime"), &o, &err) == 0);
  CHECK(o.atime_given && o.flags == 0 && (o.clear & MS_RELATIME) && (o.clear & MS_NOATIME));
  mount_opts_release(&o);
}

static void test_bind(void) {
  struct mount_opts o;
  struct isola_err err;
  CHECK(parse(OPTS("bind"), &o, &err) == 0);
  CHECK(o.flags == MS_BIND);
  mount_opts_release(&o);
  CHECK(parse(OPTS("rbind", "ro"), &o, &err) == 0);
  CHECK(o.flags == (MS_BIND | MS_REC | MS_RDONLY));
  mount_opts_release(&o);
  CHECK(parse(OPTS("remount", "ro"), &o, &err) == 0);
  CHECK(o.flags == (MS_REMOUNT | MS_RDONLY));
  mount_opts_release(&o);
}

static void test_propagation_in_order(void) {
  struct mount_opts o;
  struct isola_err err;
  CHECK(parse(OPTS("rbind", "rprivate", "shared", "rslave", "unbindable", "runbindable", "private",
                   "slave", "rshared"),
              &o, &err) == 0);
  CHECK(o.nprop == 8);
  CHECK(o.prop[0] == (MS_PRIVATE | MS_REC));
  CHECK(o.prop[1] == MS_SHARED);
  CHECK(o.prop[2] == (MS_SLAVE | MS_REC));
  CHECK(o.prop[3] == MS_UNBINDABLE);
  CHECK(o.prop[4] == (MS_UNBINDABLE | MS_REC));
  CHECK(o.prop[5] == MS_PRIVATE);
  CHECK(o.prop[6] == MS_SLAVE);
  CHECK(o.prop[7] == (MS_SHARED | MS_REC));
  CHECK(o.flags == (MS_BIND | MS_REC)); /* propagation is not a mount flag */
  mount_opts_release(&o);
}

static void test_too_many_propagation(void) {
  struct mount_opts o;
  struct isola_err err;
  CHECK(parse(OPTS("private", "private", "private", "private", "private", "private", "private",
                   "private", "shared"),
              &o, &err) < 0);
  CHECK(err.errnum == E2BIG);
  CHECK_STR_CONTAINS(err.msg, "`shared`");
  CHECK(o.data == NULL);
}

static void test_propagation_names(void) {
  CHECK(mount_propagation_flag("rslave") == (MS_SLAVE | MS_REC));
  CHECK(mount_propagation_flag("shared") == MS_SHARED);
  CHECK(mount_propagation_flag("runbindable") == (MS_UNBINDABLE | MS_REC));
  CHECK(mount_propagation_flag("ro") == 0);
  CHECK(mount_propagation_flag("") == 0);
  CHECK(mount_propagation_flag(NULL) == 0);
}

static void test_data(void) {
  struct mount_opts o;
  struct isola_err err;
  CHECK(parse(OPTS("nosuid", "mode=755", "strictatime", "size=65536k", "", "newinstance"), &o,
              &err) == 0);
  CHECK(o.data && strcmp(o.data, "mode=755,size=65536k,newinstance") == 0);
  CHECK(o.flags == (MS_NOSUID | MS_STRICTATIME));
  mount_opts_release(&o);
  CHECK(o.data == NULL);
  /* names that look like flags but are not ours stay data */
  CHECK(parse(OPTS("gid=5", "ptmxmode=0666", "rootcontext=x"), &o, &err) == 0);
  CHECK(o.data && strcmp(o.data, "gid=5,ptmxmode=0666,rootcontext=x") == 0);
  mount_opts_release(&o);
}

static void test_data_too_long(void) {
  struct mount_opts o;
  struct isola_err err;
  char *big = malloc(3000);
  memset(big, 'a', 2999);
  big[2999] = '\0';
  char *opts[] = {big, big};
  CHECK(parse(opts, 2, &o, &err) < 0);
  CHECK(err.errnum == E2BIG);
  CHECK_STR_CONTAINS(err.msg, "longer than 4096 bytes");
  CHECK(o.data == NULL);
  free(big);
}

static void test_recursive(void) {
  struct mount_opts o;
  struct isola_err err;
  CHECK(parse(OPTS("rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnosymfollow"), &o, &err) == 0);
  CHECK(o.rec_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                      MOUNT_ATTR_NOSYMFOLLOW));
  CHECK(o.rec_clr == 0);
  CHECK(o.flags == (MS_BIND | MS_REC)); /* recursive options are no MS_* flag */
  mount_opts_release(&o);
  CHECK(parse(OPTS("rro", "rrw", "rexec"), &o, &err) == 0);
  CHECK(o.rec_set == 0);
  CHECK(o.rec_clr == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC));
  mount_opts_release(&o);
  /* an atime setting needs all of MOUNT_ATTR__ATIME in attr_clr, and the last one wins */
  CHECK(parse(OPTS("rstrictatime", "rnoatime"), &o, &err) == 0);
  CHECK(o.rec_set == MOUNT_ATTR_NOATIME);
  CHECK(o.rec_clr == MOUNT_ATTR__ATIME);
  mount_opts_release(&o);
  CHECK(parse(OPTS("rnoatime", "ratime"), &o, &err) == 0);
  CHECK(o.rec_set == MOUNT_ATTR_RELATIME && o.rec_clr == MOUNT_ATTR__ATIME);
  mount_opts_release(&o);
}

static void test_idmap_not_supported(void) {
  struct mount_opts o;
  struct isola_err err;
  CHECK(parse(OPTS("rbind", "idmap"), &o, &err) < 0);
  CHECK(err.errnum == ENOTSUP);
  CHECK_STR_CONTAINS(err.msg, "option `idmap`");
  CHECK_STR_CONTAINS(err.msg, "not supported");
  CHECK(parse(OPTS("mode=755", "ridmap"), &o, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, "option `ridmap`");
  CHECK(o.data == NULL); /* released on failure */
}

static void test_tmpcopyup(void) {
  struct mount_opts o;
  struct isola_err err;
  CHECK(parse(OPTS("tmpcopyup", "mode=1777"), &o, &err) == 0);
  CHECK(o.tmpcopyup);
  CHECK(o.data && strcmp(o.data, "mode=1777") == 0);
  mount_opts_release(&o);
}

static void check_clean(const char *in, const char *want) {
  char out[64];
  struct isola_err err;
  CHECK(path_clean(in, out, sizeof out, &err) == 0);
  if (strcmp(out, want) != 0) {
    fprintf(stderr, "  path_clean(`%s`) = `%s`, want `%s`\n", in, out, want);
    unit_case_failed = 1;
  }
}

static void test_path_clean(void) {
  check_clean("/a/./b/../c//", "/a/c");
  check_clean("/proc/sys", "/proc/sys");
  check_clean("relative/dir", "/relative/dir");
  check_clean("", "/");
  check_clean("/", "/");
  check_clean("/..", "/");
  check_clean("/../../etc/passwd", "/etc/passwd");
  check_clean("a/b/../../..", "/");
  check_clean("/a/b/..", "/a");
  check_clean("/...", "/...");
  char out[8];
  struct isola_err err;
  CHECK(path_clean("/abcdefgh", out, sizeof out, &err) < 0);
  CHECK(err.errnum == ENAMETOOLONG);
}

static void test_deferred_readonly(void) {
  struct oci_mount mounts[] = {
      {.destination = "/tmp",
       .type = "tmpfs",
       .options = (char *[]){"ro", "mode=755"},
       .noptions = 2},
      {.destination = "/run", .type = "tmpfs", .options = (char *[]){"ro", "rw"}, .noptions = 2},
      {.destination = "/data",
       .type = "tmpfs",
       .options = (char *[]){"rbind", "ro"},
       .noptions = 2},
      {.destination = "/proc", .type = "proc", .options = (char *[]){"ro"}, .noptions = 1},
      {.destination = "/dev",
       .type = "bind",
       .source = "/dev",
       .options = (char *[]){"nosuid"},
       .noptions = 1},
  };
  struct oci_config cfg = {.mounts = mounts, .nmounts = 4};
  CHECK(mount_entry_defers_readonly(&cfg, 0));
  CHECK(!mount_entry_defers_readonly(&cfg, 1));
  CHECK(!mount_entry_defers_readonly(&cfg, 2));
  CHECK(!mount_entry_defers_readonly(&cfg, 3));
  CHECK(!devices_dev_is_bind(&cfg));
  cfg.nmounts = 5;
  CHECK(devices_dev_is_bind(&cfg));
}

int main(void) {
  RUN(test_empty);
  RUN(test_flags);
  RUN(test_later_option_wins);
  RUN(test_atime);
  RUN(test_bind);
  RUN(test_propagation_in_order);
  RUN(test_too_many_propagation);
  RUN(test_propagation_names);
  RUN(test_data);
  RUN(test_data_too_long);
  RUN(test_recursive);
  RUN(test_idmap_not_supported);
  RUN(test_tmpcopyup);
  RUN(test_path_clean);
  RUN(test_deferred_readonly);
  return UNIT_END();
}
