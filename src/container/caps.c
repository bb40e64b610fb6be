/* Capabilities of the container process: bounding, effective, permitted, inheritable, ambient. */
#include "container/container.h"

#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

static int last_cap(void) {
  static int cached = -1;
  if (cached >= 0) return cached;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  int v = oci_cap_last();
  if (f) {
    if (fscanf(f, "%d", &v) != 1) v = oci_cap_last();
    fclose(f);
  }
  return cached = v < oci_cap_last() ? v : oci_cap_last();
}

uint64_t caps_available(void) {
  uint64_t mask = 0;
  for (int c = 0; c <= last_cap(); c++)
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) mask |= 1ULL << c;
  return mask;
}

int caps_drop_bounding(const struct oci_process *p, struct isola_err *err) {
  uint64_t avail = caps_available();
  for (int c = 0; c <= last_cap(); c++) {
    if (!(avail & (1ULL << c)) || (p->caps[OCI_CAP_BOUNDING] & (1ULL << c))) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
      return isola_fail_errno(err, errno, "drop %s from the bounding set", oci_cap_name(c));
  }
  return 0;
}

int caps_apply(const struct oci_process *p, struct isola_err *err) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  /* What we can grant is what we still hold (PR_SET_KEEPCAPS kept it across setuid). */
  if (syscall(SYS_capget, &hdr, data) < 0) return isola_fail_errno(err, errno, "capget");
  uint64_t avail = data[0].permitted | (uint64_t)data[1].permitted << 32;
  memset(data, 0, sizeof data);
  uint64_t eff = p->caps[OCI_CAP_EFFECTIVE] & avail, perm = p->caps[OCI_CAP_PERMITTED] & avail,
           inh = p->caps[OCI_CAP_INHERITABLE] & avail;
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(eff >> (32 * i));
    data[i].permitted = (uint32_t)(perm >> (32 * i));
    data[i].inheritable = (uint32_t)(inh >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0) return isola_fail_errno(err, errno, "capset");
  /* The kernel raises an ambient capability only when it is permitted and inheritable. runc's
   * own default spec asks for ambient ones without inheritable and runc ignores the refusal;
   * so do we, for the same configs to run, by raising only what the kernel can accept. */
  uint64_t amb = p->caps[OCI_CAP_AMBIENT] & avail & perm & inh;
  for (int c = 0; c <= last_cap(); c++) {
    if (!(amb & (1ULL << c))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      return isola_fail_errno(err, errno,
                              "process.capabilities.ambient: raise %s (it must be permitted and "
                              "inheritable too)",
                              oci_cap_name(c));
  }
  return 0;
}
