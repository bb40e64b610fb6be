/* Where the guest image and QEMU are, which accelerator to use, the host's TSC rate. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "core/cleanup.h"
#include "vm/vm.h"

#ifndef ISOLA_PREFIX
#define ISOLA_PREFIX "/usr/local"
#endif

static bool is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directory of the running binary ("" when unknown). */
static void exe_dir(char *out, size_t n) {
  char buf[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
  out[0] = 0;
  if (len <= 0) return;
  buf[len] = 0;
  char *slash = strrchr(buf, '/');
  if (slash) *slash = 0;
  snprintf(out, n, "%s", buf);
}

static bool try_dir(struct vm_image *img, const char *dir) {
  snprintf(img->dir, sizeof img->dir, "%s", dir);
  snprintf(img->vmlinux, sizeof img->vmlinux, "%s/vmlinux", dir);
  snprintf(img->initramfs, sizeof img->initramfs, "%s/initramfs.cpio.gz", dir);
  if (!is_file(img->vmlinux) || !is_file(img->initramfs)) return false;
  /* The kernel laid out as guest RAM, and its PVH entry (scripts/vm-image.sh): used when both
   * are there and QEMU, which runs as we do, can open the image read-write (it maps it
   * privately and never writes to it, but memory-backend-file opens it so). */
  snprintf(img->ram_image, sizeof img->ram_image, "%s/vmlinux.ram", dir);
  snprintf(img->pvh_stub, sizeof img->pvh_stub, "%s/vmlinux.pvh", dir);
  struct stat st;
  img->ram_image_mib = 0;
  if (stat(img->ram_image, &st) == 0 && S_ISREG(st.st_mode) && is_file(img->pvh_stub) &&
      access(img->ram_image, R_OK | W_OK) == 0)
    img->ram_image_mib = (uint64_t)st.st_size >> 20;
  else img->ram_image[0] = img->pvh_stub[0] = 0;
  return true;
}

int vm_image_find(struct vm_image *img, struct isola_err *err) {
  char exe[PATH_MAX], cand[4][PATH_MAX + 32];
  size_t n = 0;
  exe_dir(exe, sizeof exe);
  const char *env = getenv("ISOLA_VM_DIR");
  if (env && env[0]) snprintf(cand[n++], sizeof cand[0], "%s", env);
  else {
    snprintf(cand[n++], sizeof cand[0], "%s/lib/isola/vm", ISOLA_PREFIX);
    if (exe[0]) snprintf(cand[n++], sizeof cand[0], "%s/../lib/isola/vm", exe);
    if (exe[0]) snprintf(cand[n++], sizeof cand[0], "%s/vm", exe);
  }
  for (size_t i = 0; i < n; i++) {
    if (!try_dir(img, cand[i])) continue;
    img->release[0] = 0;
    char rel[PATH_MAX + 64];
    snprintf(rel, sizeof rel, "%s/kernel-release", cand[i]);
    _cleanup_fclose_ FILE *f = fopen(rel, "re");
    if (f && fgets(img->release, sizeof img->release, f))
      img->release[strcspn(img->release, "\n")] = 0;
    return 0;
  }
  /* Say exactly what is missing where, and how to get it. */
  char where[2048] = "";
  for (size_t i = 0; i < n; i++) {
    char p[PATH_MAX + 64], q[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/vmlinux", cand[i]);
    snprintf(q, sizeof q, "%s/initramfs.cpio.gz", cand[i]);
    bool hv = is_file(p), hi = is_file(q);
    size_t len = strlen(where);
    snprintf(where + len, sizeof where - len, "%s`%s` (%s)", i ? ", " : "", cand[i],
             !hv && !hi ? "no vmlinux, no initramfs.cpio.gz"
             : !hv      ? "no vmlinux"
                        : "no initramfs.cpio.gz");
  }
  return isola_fail(err, ENOENT,
                    "vm engine: the guest kernel and initramfs are missing: looked in %s%s; "
                    "build them with `make vm-image` (and `make install` to put them in "
                    "%s/lib/isola/vm), or point ISOLA_VM_DIR at a directory holding vmlinux "
                    "and initramfs.cpio.gz",
                    where, env && env[0] ? " (from ISOLA_VM_DIR)" : "", ISOLA_PREFIX);
}

int vm_qemu_find(char *out, size_t outsz, struct isola_err *err) {
  const char *env = getenv("ISOLA_QEMU");
  if (env && env[0]) {
    if (access(env, X_OK) < 0) return isola_fail_errno(err, errno, "ISOLA_QEMU `%s`", env);
    snprintf(out, outsz, "%s", env);
    return 0;
  }
  const char *path = getenv("PATH");
  _cleanup_free_ char *copy = strdup(path && path[0] ? path : "/usr/bin:/bin");
  char *p = copy, *dir;
  while (copy && (dir = strsep(&p, ":"))) {
    snprintf(out, outsz, "%s/qemu-system-x86_64", dir[0] ? dir : ".");
    if (access(out, X_OK) == 0) return 0;
  }
  snprintf(out, outsz, "/usr/bin/qemu-system-x86_64");
  if (access(out, X_OK) == 0) return 0;
  return isola_fail(err, ENOENT,
                    "vm engine: `qemu-system-x86_64` is not installed (Debian package "
                    "qemu-system-x86; `make deps` installs it), or set ISOLA_QEMU");
}

static bool cpu_has_virt(void) {
  _cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
  char line[8192];
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "flags", 5)) continue;
    return strstr(line, " vmx") || strstr(line, " svm");
  }
  return false;
}

static bool kvm_usable(char *why, size_t whysz);

/* Once per process: engine selection asks too, and creating a throwaway VM costs ~1 ms. */
bool vm_kvm_usable(char *why, size_t whysz) {
  static int known = -1;
  static char reason[256];
  if (known < 0) known = kvm_usable(reason, sizeof reason);
  snprintf(why, whysz, "%s", reason);
  return known;
}

static bool kvm_usable(char *why, size_t whysz) {
  const char *force = getenv("ISOLA_VM_ACCEL");
  if (force && !strcmp(force, "tcg")) {
    snprintf(why, whysz, "ISOLA_VM_ACCEL=tcg");
    return false;
  }
  if (force && !strcmp(force, "kvm")) return true;
  _cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why, whysz, "/dev/kvm: %s", strerror(errno));
    return false;
  }
  if (ioctl(fd, 0xAE00 /* KVM_GET_API_VERSION */, 0) != 12) {
    snprintf(why, whysz, "/dev/kvm: not KVM API 12");
    return false;
  }
  _cleanup_close_ int vm = ioctl(fd, 0xAE01 /* KVM_CREATE_VM */, 0);
  if (vm < 0) {
    snprintf(why, whysz, "/dev/kvm: create a VM: %s", strerror(errno));
    return false;
  }
  if (!cpu_has_virt()) {
    snprintf(why, whysz, "/dev/kvm exists but the CPU shows no vmx/svm (a paravirtual KVM "
                         "such as PVM cannot boot the stock guest kernel)");
    return false;
  }
  return true;
}

static double mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The TSC's rate against the monotonic clock over `ms` milliseconds, in kHz. */
static double measure_tsc_khz(long ms) {
  double t0 = mono_ns();
  unsigned long long c0 = __rdtsc();
  nanosleep(&(struct timespec){0, ms * 1000 * 1000}, NULL);
  double t1 = mono_ns();
  unsigned long long c1 = __rdtsc();
  return (double)(c1 - c0) / (t1 - t0) * 1e6;
}

/* /proc/cpuinfo's "cpu MHz" in kHz, 0 when there is none. */
static double cpuinfo_khz(void) {
  _cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
  char line[512];
  double mhz;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "cpu MHz : %lf", &mhz) == 1) return mhz * 1000;
  return 0;
}

unsigned long vm_tsc_khz(void) {
  static unsigned long cached;
  if (cached) return cached;
  /* On hosts where the kernel knows the TSC rate exactly, /proc/cpuinfo's "cpu MHz" states it
   * (to the kHz): it is taken when a 2 ms measurement agrees within 0.2% (a measurement
   * preempted at the wrong moment does not). Otherwise the TSC is timed for 10 ms. */
  double stated = cpuinfo_khz(), khz = measure_tsc_khz(2);
  if (!(stated > khz * 0.998 && stated < khz * 1.002)) {
    khz = measure_tsc_khz(10);
    if (stated > khz * 0.998 && stated < khz * 1.002) khz = stated;
  } else {
    khz = stated;
  }
  cached = (unsigned long)(khz + 0.5);
  return cached;
}
