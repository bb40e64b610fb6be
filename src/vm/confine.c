/* What QEMU may do to the host on the guest's behalf.
 *
 * QEMU serves the bundle's rootfs (and the host directories bound into the container) over 9p
 * with `security_model=passthrough`: files keep their real owners and modes, so the rootfs
 * stays usable on the host and its symlinks stay symlinks. QEMU runs as root for that, and the
 * guest's root is the workload's to have (the VM is the boundary). Left alone, the guest's root
 * could then leave in the host's filesystem what a host user could turn against the host: a
 * setuid- or setgid-root program, a device node, a file capability, or new code in a setuid
 * program the image already has. Before QEMU is executed it loses that power (docs/security.md,
 * "vm"):
 *
 * - capabilities: only the four that passthrough needs to act as any guest user are kept
 *   (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER). Without CAP_MKNOD no device
 *   node can be made; without CAP_SETFCAP no security.capability xattr can be set; without
 *   CAP_FSETID the kernel clears setuid/setgid bits when a file is written or truncated, so
 *   the contents of a setuid program cannot change under its bit. Root keeps exactly the
 *   bounding set across execve, so dropping from it (and from the current sets) is enough.
 * - a seccomp filter for what capabilities cannot stop: the owner of a file (QEMU, root) may
 *   set its setuid and setgid bits. Every call that sets a mode (chmod family, creating opens,
 *   mknod) fails with EPERM when the mode has S_ISUID or S_ISGID; openat2 and io_uring, whose
 *   modes a filter cannot read, fail with ENOSYS (QEMU 7.2 uses neither; a caller that probes
 *   for them falls back). The guest sees EPERM from `chmod u+s`, as on a nosuid-minded server.
 *
 * What stays: QEMU itself is a root process with DAC override; a guest that took over QEMU
 * would hold that. docs/security.md says so.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/capability.h>

#include "container/container.h"
#include "vm/vm.h"

#define BIT(c) (1ULL << (c))

/* Capabilities QEMU keeps: what 9p passthrough needs to create, chown and touch files as any
 * guest user would. */
static const uint64_t qemu_caps =
    BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH) | BIT(CAP_FOWNER);

/* A syscall and the index of its mode argument. */
static const struct {
  const char *name;
  unsigned mode_arg;
} mode_calls[] = {
    {"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2}, {"open", 2},
    {"openat", 3}, {"creat", 1},  {"mknod", 1},    {"mknodat", 2},
};

static const char *const unreadable_calls[] = {"openat2", "io_uring_setup"};

/* fchmodat2 (Linux 6.6) is newer than Debian 12's libseccomp; its number is the same on every
 * architecture that has it. */
#define NR_FCHMODAT2 452

static int syscall_nr(const char *name) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR && strcmp(name, "fchmodat2") == 0) nr = NR_FCHMODAT2;
  return nr;
}

static void release_ctx(scmp_filter_ctx *ctx) {
  if (*ctx) seccomp_release(*ctx);
}

static int load_filter(struct isola_err *err) {
  __attribute__((cleanup(release_ctx))) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return isola_fail(err, ENOMEM, "seccomp_init");
  int r = 0;
  for (size_t i = 0; i < sizeof mode_calls / sizeof *mode_calls && r == 0; i++) {
    int nr = syscall_nr(mode_calls[i].name);
    if (nr == __NR_SCMP_ERROR) continue; /* not on this architecture (open, creat on arm64) */
    static const unsigned bits[] = {S_ISUID, S_ISGID};
    for (size_t b = 0; b < 2 && r == 0; b++) {
      struct scmp_arg_cmp cmp = SCMP_CMP(mode_calls[i].mode_arg, SCMP_CMP_MASKED_EQ, bits[b], bits[b]);
      r = seccomp_rule_add_exact_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, &cmp);
      if (r < 0) return isola_fail_errno(err, -r, "seccomp rule for %s", mode_calls[i].name);
    }
  }
  for (size_t i = 0; i < sizeof unreadable_calls / sizeof *unreadable_calls; i++) {
    int nr = syscall_nr(unreadable_calls[i]);
    if (nr == __NR_SCMP_ERROR) continue;
    r = seccomp_rule_add_exact(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    if (r < 0) return isola_fail_errno(err, -r, "seccomp rule for %s", unreadable_calls[i]);
  }
  r = seccomp_load(ctx);
  if (r < 0) return isola_fail_errno(err, -r, "load QEMU's seccomp filter");
  return 0;
}

int vm_qemu_confine(struct isola_err *err) {
  struct oci_process keep = {0};
  keep.caps[OCI_CAP_BOUNDING] = qemu_caps;
  keep.caps[OCI_CAP_EFFECTIVE] = qemu_caps;
  keep.caps[OCI_CAP_PERMITTED] = qemu_caps;
  /* Dropping from the bounding set needs CAP_SETPCAP. Root must have it: execve gives root the
   * whole bounding set back. A runtime that is not root (rootless) gets back only what its
   * inheritable and ambient sets hold, and capset below empties them. */
  if (caps_drop_bounding(&keep, err) < 0 && (geteuid() == 0 || err->errnum != EPERM)) return -1;
  if (caps_apply(&keep, err) < 0) return -1;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return isola_fail_errno(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  return load_filter(err);
}
