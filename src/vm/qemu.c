/* QEMU: the guest's resources, its command line, and launching it.
 *
 * The device model is the smallest that boots Debian's kernel quickly (../shared/design/vm.md):
 * `-M microvm` with ACPI (the kernel finds the virtio-mmio devices and powers off through it),
 * the uncompressed kernel booted through PVH (under TCG from guest RAM that is the kernel's
 * RAM image, mapped privately), the initramfs with the agent, one
 * virtio-serial port for the control protocol (on a socketpair QEMU gets as fd 3), one
 * virtio-9p device per share (the rootfs, then host directories bound into the container),
 * and the serial console on QEMU's stdout (the state dir's console.log). Under TCG the
 * guest must be told the TSC rate: calibrating it on a busy host fails and the guest hangs.
 * A VM that makes or is restored from a template (template.c) has its RAM in the template's
 * file, every share slot, and QMP on fd 4; a restored one waits for its state on fd 5.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "vm/vm.h"

/* ---- resources ------------------------------------------------------------------------ */

static int annotation_uint(const struct oci_config *cfg, const char *key, unsigned min,
                           unsigned max, unsigned *out, struct isola_err *err) {
  const char *v = oci_annotation(cfg, key);
  if (!v) return 0;
  char *end;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  if (errno || end == v || *end || n < min || n > max)
    return isola_fail(err, EINVAL, "config.json: annotations.%s: expected a number from %u to "
                                   "%u, got `%s`", key, min, max, v);
  *out = (unsigned)n;
  return 1;
}

/* CPUs named by a cpuset list ("0-3,8"); 0 when it does not parse. */
static unsigned cpuset_count(const char *s) {
  unsigned n = 0;
  while (*s) {
    char *end;
    unsigned long a = strtoul(s, &end, 10), b = a;
    if (end == s) return 0;
    if (*end == '-') {
      s = end + 1;
      b = strtoul(s, &end, 10);
      if (end == s || b < a) return 0;
    }
    n += (unsigned)(b - a + 1);
    s = end;
    if (*s == ',') s++;
    else if (*s) return 0;
  }
  return n;
}

int vm_resources_from_config(const struct oci_config *cfg, struct vm_resources *r,
                             struct isola_err *err) {
  r->memory_mib = VM_DEFAULT_MEMORY_MIB;
  r->cpus = 1;
  json_t *res = cfg->resources;
  json_t *limit = json_object_get(json_object_get(res, "memory"), "limit");
  if (json_is_integer(limit) && json_integer_value(limit) > 0) {
    json_int_t mib = (json_integer_value(limit) + (1 << 20) - 1) >> 20;
    if (mib > 1 << 20) mib = 1 << 20;
    r->memory_mib = (unsigned)mib + VM_AGENT_MARGIN_MIB;
    if (r->memory_mib < VM_MIN_MEMORY_MIB) r->memory_mib = VM_MIN_MEMORY_MIB;
  }
  json_t *cpu = json_object_get(res, "cpu");
  json_t *quota = json_object_get(cpu, "quota"), *period = json_object_get(cpu, "period");
  json_t *cpus = json_object_get(cpu, "cpus");
  if (json_is_integer(quota) && json_integer_value(quota) > 0) {
    json_int_t per = json_is_integer(period) && json_integer_value(period) > 0
                         ? json_integer_value(period) : 100000;
    json_int_t n = (json_integer_value(quota) + per - 1) / per;
    r->cpus = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
  } else if (json_is_string(cpus) && cpuset_count(json_string_value(cpus)) > 0) {
    unsigned n = cpuset_count(json_string_value(cpus));
    r->cpus = n > 64 ? 64 : n;
  }
  if (annotation_uint(cfg, "io.isola.vm.memory_mib", VM_MIN_MEMORY_MIB, 1 << 20, &r->memory_mib,
                      err) < 0 ||
      annotation_uint(cfg, "io.isola.vm.cpus", 1, 64, &r->cpus, err) < 0)
    return -1;
  /* More vCPUs than host CPUs only slows TCG down (and KVM gains nothing). */
  long host = sysconf(_SC_NPROCESSORS_ONLN);
  if (host > 0 && r->cpus > (unsigned)host) r->cpus = (unsigned)host;
  return 0;
}

/* ---- the command line ----------------------------------------------------------------- */

struct argv_builder {
  char **v;
  size_t n, cap;
  bool failed;
};

static void add(struct argv_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct argv_builder *b, const char *fmt, ...) {
  if (b->failed) return;
  if (b->n + 2 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    char **v = realloc(b->v, cap * sizeof *v);
    if (!v) {
      b->failed = true;
      return;
    }
    b->v = v;
    b->cap = cap;
  }
  va_list ap;
  va_start(ap, fmt);
  int r = vasprintf(&b->v[b->n], fmt, ap);
  va_end(ap);
  if (r < 0) {
    b->failed = true;
    return;
  }
  b->v[++b->n] = NULL;
}

/* QEMU's option syntax splits on commas; a literal comma is written twice. */
static char *qemu_escape(const char *s) {
  size_t n = strlen(s), commas = 0;
  for (size_t i = 0; i < n; i++) commas += s[i] == ',';
  char *out = malloc(n + commas + 1), *o = out;
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    *o++ = s[i];
    if (s[i] == ',') *o++ = ',';
  }
  *o = 0;
  return out;
}

void vm_argv_free(char **argv) {
  for (size_t i = 0; argv && argv[i]; i++) free(argv[i]);
  free(argv);
}

char **vm_qemu_argv(const struct vm_launch *l, struct isola_err *err) {
  struct argv_builder b = {0};
  /* Under TCG the guest's RAM is the kernel's RAM image when there is one big enough: QEMU
   * maps it privately instead of copying the kernel into anonymous RAM and keeping its own
   * mapping of vmlinux (docs/vm.md, "Memory"). With KVM (not measurable here) the ELF is
   * loaded as before. */
  bool templated = l->boot != VM_BOOT_COLD;
  bool ram_image = templated ||
                   (!l->kvm && l->img->ram_image[0] && l->res->memory_mib <= l->img->ram_image_mib);
  _cleanup_free_ char *kernel = qemu_escape(ram_image ? l->img->pvh_stub : l->img->vmlinux);
  _cleanup_free_ char *ram =
      qemu_escape(templated ? l->template_ram : ram_image ? l->img->ram_image : "");
  _cleanup_free_ char *empty = qemu_escape(templated ? l->empty_dir : "");
  _cleanup_free_ char *initrd = qemu_escape(l->img->initramfs);
  _cleanup_free_ char *rootfs = qemu_escape(l->rootfs);
  if (!kernel || !ram || !empty || !initrd || !rootfs) {
    isola_fail_errno(err, ENOMEM, "qemu command line");
    return NULL;
  }
  add(&b, "%s", l->qemu);
  add(&b, "-M");
  add(&b, ram_image ? "microvm,memory-backend=ram" : "microvm");
  if (ram_image) {
    /* share=off: the guest's writes stay in QEMU's private copies of the pages they touch.
     * share=on only while a template is made: its guest's memory is the template's RAM file,
     * and only the devices' state is saved apart (template.c). */
    add(&b, "-object");
    add(&b, "memory-backend-file,id=ram,size=%uM,mem-path=%s,share=%s", l->res->memory_mib, ram,
        l->boot == VM_BOOT_TEMPLATE ? "on" : "off");
  }
  add(&b, "-global");
  add(&b, "virtio-mmio.force-legacy=false");
  add(&b, "-accel");
  /* TCG's code cache (QEMU maps 1 GiB) fills as the guest runs new code: ~40 MiB for a boot
   * and a small program. A smaller one is flushed and refilled, which costs time (8 flushes
   * for `run` of /bin/true at 10 MiB); the RAM image frees the memory that a 44 MiB one needs
   * to stay within the RSS target. docs/vm.md, "Memory". */
  if (l->kvm) add(&b, "kvm");
  else add(&b, "tcg,tb-size=%u", ram_image ? VM_TCG_CODE_CACHE_MIB : VM_TCG_CODE_CACHE_COPY_MIB);
  add(&b, "-cpu");
  /* Under TCG without ERMS/FSRM: TCG runs `rep movsb`/`rep stosb` one byte per loop turn, and
   * the kernel's memcpy, memset and clear_page (and glibc's) pick them when the CPU says they
   * are fast; without, they move 8 bytes a turn (docs/vm.md, "Boot"). */
  add(&b, "%s", l->kvm ? "host" : "max,-erms,-fsrm");
  add(&b, "-m");
  add(&b, "%u", l->res->memory_mib);
  add(&b, "-smp");
  add(&b, "%u", l->res->cpus);
  add(&b, "-nodefaults");
  /* QEMU's own seccomp filter (defense in depth beside confine.c's): no exec or fork, no change
   * of credentials or scheduling, no obsolete syscalls, for QEMU and every thread it starts. */
  add(&b, "-sandbox");
  add(&b, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  add(&b, "-no-user-config");
  add(&b, "-nographic");
  add(&b, "-no-reboot");
  add(&b, "-serial");
  add(&b, "stdio");
  add(&b, "-kernel");
  add(&b, "%s", kernel);
  add(&b, "-initrd");
  add(&b, "%s", initrd);
  add(&b, "-append");
  /* The guest kernel's command line (docs/vm.md, "Boot"): quiet, no reboot on panic (QEMU
   * exits), no crypto self-tests, no PCI bus (microvm has none), per-cpu areas by the page,
   * and initcalls the guest has no use for skipped: the tracefs event tree (10 000 inodes,
   * ~8 MiB), self-tests, zswap, the module signing keys (the modules in the initramfs carry no
   * signatures), AGP. Under TCG also: no speculation mitigations (TCG does not speculate) and
   * the host's TSC rate (calibrating it on a busy host fails, and the guest hangs). */
  const char *common = "console=ttyS0 quiet panic=-1 cryptomgr.notests pci=off percpu_alloc=page "
                       "initcall_blacklist=event_trace_init,tracer_init_tracefs,crypto_kdf108_init,"
                       "blake2s_mod_init,init_zswap,load_system_certificate_list,agp_amd64_mod_init";
  /* isola_trace: the agent reports each step's time on the console (ISOLA_VM_TRACE=1). */
  const char *trace = l->trace ? " isola_trace" : "";
  if (l->kvm)
    add(&b, "%s%s", common, trace);
  else
    add(&b, "%s mitigations=off tsc_early_khz=%lu tsc=reliable no_timer_check lpj=%lu%s", common,
        l->tsc_khz, l->tsc_khz * 4, trace);
  add(&b, "-chardev");
  add(&b, "socket,id=ctl,fd=3");
  add(&b, "-device");
  add(&b, "virtio-serial-device,max_ports=2");
  add(&b, "-device");
  add(&b, "virtserialport,chardev=ctl,name=isola.ctl");
  add(&b, "-fsdev");
  add(&b, "local,id=rootfs,path=%s,security_model=passthrough%s", rootfs,
      l->rootfs_readonly ? ",readonly=on" : "");
  add(&b, "-device");
  add(&b, "virtio-9p-device,fsdev=rootfs,mount_tag=rootfs");
  /* A template's devices are the same for every VM restored from it: all the share slots,
   * those the container does not use showing an empty directory. */
  for (size_t i = 0; i < (templated ? VM_MAX_SHARES : l->nshares); i++) {
    bool used = i < l->nshares;
    _cleanup_free_ char *path = used ? qemu_escape(l->shares[i].path) : NULL;
    if (used && !path) b.failed = true;
    add(&b, "-fsdev");
    add(&b, "local,id=s%zu,path=%s,security_model=passthrough%s", i,
        used ? (path ? path : "") : empty, !used || l->shares[i].readonly ? ",readonly=on" : "");
    add(&b, "-device");
    add(&b, "virtio-9p-device,fsdev=s%zu,mount_tag=s%zu", i, i);
  }
  if (templated) {
    add(&b, "-chardev");
    add(&b, "socket,id=qmp,fd=4");
    add(&b, "-mon");
    add(&b, "chardev=qmp,mode=control");
  }
  if (l->boot == VM_BOOT_RESTORE) {
    add(&b, "-incoming");
    add(&b, "defer");
  }
  if (b.failed) {
    vm_argv_free(b.v);
    isola_fail_errno(err, ENOMEM, "qemu command line");
    return NULL;
  }
  return b.v;
}

pid_t vm_qemu_spawn(const struct vm_launch *l, struct isola_err *err) {
  char **argv = vm_qemu_argv(l, err);
  if (!argv) return -1;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    vm_argv_free(argv);
    return isola_fail_errno(err, errno, "fork qemu");
  }
  if (pid == 0) {
    /* QEMU must not outlive its monitor: `delete` relies on it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent) _exit(127);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    /* fd 3 is the control socket, 4 QMP and 5 the state to restore (templates only); stdout
     * and stderr the console log. Each is first moved above them, so none overwrites another. */
    int give[] = {l->ctl_fd, l->boot != VM_BOOT_COLD ? l->qmp_fd : -1,
                  l->boot == VM_BOOT_RESTORE ? l->incoming_fd : -1, l->console_fd};
    for (size_t i = 0; i < sizeof give / sizeof *give; i++)
      if (give[i] >= 0 && (give[i] = fcntl(give[i], F_DUPFD_CLOEXEC, 16)) < 0) _exit(127);
    if (null < 0 || dup2(null, 0) < 0 || dup2(give[3], 1) < 0 || dup2(give[3], 2) < 0) _exit(127);
    for (int i = 0; i < 3; i++)
      if (give[i] >= 0 && dup2(give[i], 3 + i) < 0) _exit(127);
    close_range(give[1] >= 0 ? (give[2] >= 0 ? 6 : 5) : 4, ~0u, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
    struct isola_err cerr;
    if (vm_qemu_confine(&cerr) < 0) {
      dprintf(2, "isola: confine qemu: %s\n", cerr.msg);
      _exit(127);
    }
    execv(argv[0], argv);
    dprintf(2, "isola: exec `%s`: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  vm_argv_free(argv);
  return pid;
}
