/* The vm engine's internal pieces: each workload runs in its own QEMU microVM, with isola's
 * agent (guest/agent.c) as the guest's PID 1. One file per concept:
 *   kernel.c    find the guest image (vmlinux + initramfs), QEMU, the accelerator, the TSC rate
 *   guestcfg.c  config.json -> the CONFIG frame the agent builds the container from
 *   qemu.c      resources (RAM, vCPUs), QEMU's command line, launching it
 *   monitor.c   the monitor process: owns QEMU, the control port, stdio, signals, vm.sock
 *   template.c  VM templates: a booted guest saved once, restored by later VMs
 *   qmp.c       QEMU's machine protocol, for saving and restoring templates
 *   vm.c        the engine table (create/start/kill/destroy) and vm.sock's client side
 * Private to src/vm/.
 */
#ifndef ISOLA_VM_VM_H
#define ISOLA_VM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "core/engine.h"
#include "core/err.h"
#include "core/oci_config.h"

/* CLOCK_MONOTONIC in milliseconds: the vm engine's deadlines. */
static inline int64_t vm_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- kernel.c ------------------------------------------------------------------------- */

struct vm_image {
  char dir[4096];
  char vmlinux[4200];
  char initramfs[4200];
  char release[128]; /* kernel-release, "" when unknown */
  /* vmlinux.ram (the kernel at its physical addresses, a sparse file QEMU maps privately as
   * guest RAM) and vmlinux.pvh (the ELF QEMU boots it from): "" when not there or not usable. */
  char ram_image[4200];
  char pvh_stub[4200];
  uint64_t ram_image_mib; /* its size: guest RAM up to this much can use it */
};

/* Looks for vmlinux and initramfs.cpio.gz (and the optional vmlinux.ram and vmlinux.pvh) in
 * $ISOLA_VM_DIR (only there when set), else in ISOLA_PREFIX/lib/isola/vm, then
 * <exe>/../lib/isola/vm, then <exe>/vm (the build tree). The error names every place looked
 * at and says how to build the image (`make vm-image`). */
int vm_image_find(struct vm_image *img, struct isola_err *err);

/* qemu-system-x86_64: $ISOLA_QEMU, else the first on PATH (or /usr/bin). */
int vm_qemu_find(char *out, size_t outsz, struct isola_err *err);

/* True when /dev/kvm can run this guest: it opens read-write, speaks API 12, creates a VM,
 * and the CPU has hardware virtualization (vmx/svm; a /dev/kvm without it, as PVM provides,
 * cannot boot an unmodified kernel). $ISOLA_VM_ACCEL=kvm|tcg overrides. `why` says why not. */
bool vm_kvm_usable(char *why, size_t whysz);

/* The host TSC rate in kHz (TCG's guest TSC is the host's), measured once per process. */
unsigned long vm_tsc_khz(void);

/* ---- guestcfg.c ----------------------------------------------------------------------- */

/* One 9p share beyond the rootfs: a host directory bound into the container. */
struct vm_share {
  char tag[16]; /* "s0", "s1", ... */
  char *path;   /* absolute host path */
  bool readonly;
};

#define VM_MAX_SHARES 16
#define VM_FILE_COPY_MAX (1u << 20) /* host files bound into the container are copied */

struct vm_guest_config {
  uint8_t *payload; /* the CONFIG frame's payload */
  size_t len, cap;
  struct vm_share shares[VM_MAX_SHARES];
  size_t nshares;
};

/* Builds the CONFIG payload from `cfg` (the bundle at `bundle`); bind mounts of host
 * directories become shares, of host files copies. Errors name the JSON path. */
int vm_guest_config_build(const struct oci_config *cfg, const char *bundle,
                          struct vm_guest_config *out, struct isola_err *err);
void vm_guest_config_release(struct vm_guest_config *g);
/* The records of process `p` for an EXEC frame (the monitor puts the exec's id in front). */
int vm_exec_config_build(const struct oci_process *p, struct vm_guest_config *out,
                         struct isola_err *err);

/* ---- qemu.c --------------------------------------------------------------------------- */

#define VM_DEFAULT_MEMORY_MIB 256
#define VM_AGENT_MARGIN_MIB 96 /* added to memory.limit: what the guest kernel keeps (~82 MiB) */
#define VM_MIN_MEMORY_MIB 96
/* -accel tcg,tb-size= (QEMU's default would be 1 GiB): with the kernel's RAM image, and when
 * QEMU copies the kernel into RAM instead. */
#define VM_TCG_CODE_CACHE_MIB 44
#define VM_TCG_CODE_CACHE_COPY_MIB 10

struct vm_resources {
  unsigned memory_mib, cpus;
};

/* Guest RAM and vCPUs from linux.resources and the io.isola.vm.* annotations. */
int vm_resources_from_config(const struct oci_config *cfg, struct vm_resources *r,
                             struct isola_err *err);

/* How a VM comes up: booted (cold), booted to become a template, or restored from one. */
enum vm_boot { VM_BOOT_COLD, VM_BOOT_TEMPLATE, VM_BOOT_RESTORE };

struct vm_launch {
  enum vm_boot boot;
  const char *qemu;
  const struct vm_image *img;
  const struct vm_resources *res;
  bool kvm;
  bool trace; /* ISOLA_VM_TRACE: the agent logs its steps' times on the console */
  bool no_template; /* annotation io.isola.vm.template=off: boot, even when a template exists */
  unsigned long tsc_khz;
  const char *rootfs;
  bool rootfs_readonly;
  const struct vm_share *shares;
  size_t nshares;
  int ctl_fd;     /* QEMU's end of the control socketpair: becomes its fd 3 */
  int console_fd; /* QEMU's stdout and stderr: the serial console and its own messages */
  /* Templates (VM_BOOT_TEMPLATE, VM_BOOT_RESTORE): the guest RAM is template_ram (mapped shared
   * while the template is made, privately when restored), every share slot exists (those
   * beyond nshares show empty_dir, read-only), and QEMU speaks QMP on qmp_fd (its fd 4). A
   * restored VM waits for its state on incoming_fd (its fd 5). */
  const char *template_ram;
  const char *empty_dir;
  int qmp_fd;
  int incoming_fd;
};

/* QEMU's argv (NULL-terminated, heap strings); vm_argv_free() releases it. */
char **vm_qemu_argv(const struct vm_launch *l, struct isola_err *err);
void vm_argv_free(char **argv);
/* In QEMU's process before exec: the capabilities 9p passthrough needs and no more, and a filter
 * against setuid/setgid modes (confine.c). */
int vm_qemu_confine(struct isola_err *err);
/* Forks and execs QEMU, confined; it dies with its parent (PDEATHSIG). Returns its pid. */
pid_t vm_qemu_spawn(const struct vm_launch *l, struct isola_err *err);

/* ---- qmp.c ---------------------------------------------------------------------------- */

struct vm_qmp {
  int fd;
  int timeout_ms; /* for each reply */
  int64_t deadline;
  size_t len;
  char buf[16384];
};

/* Migration leaves the RAM out (it is the template's file): for saving and restoring alike. */
#define VM_QMP_IGNORE_SHARED                                                                    \
  "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":"                \
  "[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}"

/* Reads QEMU's greeting on `fd` and leaves the negotiation mode. */
int vm_qmp_open(struct vm_qmp *q, int fd, int timeout_ms, struct isola_err *err);
/* Sends one command (a JSON object, one line), with `pass_fd` attached when >= 0, and waits for
 * its reply; *ret (when not NULL) gets the "return" value, to be released. */
int vm_qmp_call(struct vm_qmp *q, const char *command, int pass_fd, json_t **ret,
                struct isola_err *err);

/* ---- template.c ----------------------------------------------------------------------- */

/* A template: a guest booted once with the agent parked before CONFIG (proto.h, T1) and saved;
 * later VMs of the same machine shape start from it instead of booting. */
struct vm_template {
  char dir[4200];
  char ram[4300];   /* the guest's RAM as saved: restored VMs map it privately */
  char state[4300]; /* QEMU's device state, restored with -incoming */
  char empty[4300]; /* what unused share slots show */
  char release[128];
};

/* The directory templates live in: $ISOLA_VM_TEMPLATES, else /var/cache/isola/vm-templates
 * (root) or $XDG_CACHE_HOME/isola/vm-templates; false when they are off (ISOLA_VM_TEMPLATES set
 * to "off" or "0"). */
bool vm_template_root(char *out, size_t outsz);

/* The template for a VM launched as `l` (boot = VM_BOOT_COLD, shares as the container has
 * them): found, or built now (a VM booted and saved, within timeout_ms). 1 with *t filled; 0
 * when there is none to use, `why` saying why (templates off, KVM, a build that failed):
 * the VM then boots. Never fails the VM. */
int vm_template_get(const struct vm_launch *l, int timeout_ms, struct vm_template *t, char *why,
                    size_t whysz);

/* A restore from `t` failed (QEMU could not load it): it is set aside for good, with `reason`,
 * so that later VMs boot instead of failing the same way. */
void vm_template_discard(const struct vm_template *t, const char *reason);

/* ---- monitor.c ------------------------------------------------------------------------ */

struct vm_monitor_args {
  const char *id;
  const char *state_path; /* the container's state dir */
  struct vm_launch launch; /* launch.ctl_fd: QEMU's end of the control socketpair */
  int ctl_fd;              /* ours */
  const struct vm_guest_config *guest;
  bool terminal;
  unsigned short rows, cols;
  const char *console_socket; /* or console_fd >= 0 */
  int console_fd;
  int report_fd; /* to `create`: "ok QEMU_PID\n" or "error TEXT\n" */
  int boot_timeout_ms;
};

/* The monitor process's body; never returns. Exits with the workload's status, or 255 after
 * a failure of the VM (the reason on stderr and in monitor.log of the state dir). */
void vm_monitor_main(const struct vm_monitor_args *a) __attribute__((noreturn));

/* Names in the state dir. */
#define VM_SOCKET_NAME "vm.sock"
#define VM_CONSOLE_LOG "console.log"
#define VM_MONITOR_LOG "monitor.log"

/* The last lines of the console log (at most `max` bytes, printable, lines joined by " | "),
 * for error messages. */
void vm_console_tail(const char *state_path, char *out, size_t max);

/* vm.c: sends data[0..len) with nfds (1-3) fds attached (SCM_RIGHTS). */
int vm_send_fds(int sock, const void *data, size_t len, const int *fds, int nfds);

/* Exit status of the monitor when the VM itself failed. */
#define VM_EXIT_FAILURE 255

#endif
