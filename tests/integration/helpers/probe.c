/* probe: a static helper run inside test containers. It reports what the kernel actually
 * applied to the process, as one JSON object on stdout, so the tests compare facts rather than
 * what a shell prints.
 *
 *   probe                 the process report (ids, groups, umask, cwd, capabilities, rlimits,
 *                         namespaces, names, open fds, terminal, oom_score_adj, keyring,
 *                         monotonic and boot clocks in seconds, env, argv)
 *   probe stat PATH...    for each path (lstat): type, mode, uid, gid, major, minor, or errno
 *   probe write PATH...   for each path: result of open(O_WRONLY|O_CREAT) ("ok" or errno name)
 *   probe read PATH...    for each path: bytes readable (up to 1 MiB) or errno name; for a
 *                         directory, the number of entries besides . and ..
 *
 * Built with `cc -static`; depends on nothing in the container's root filesystem.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void put_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20 || c == 0x7f) /* bytes >= 0x80 pass through: the output is UTF-8 */
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static void key(const char *k, int *first) {
  if (!*first)
    putchar(',');
  *first = 0;
  put_str(k);
  putchar(':');
}

static const char *errname(int e) {
  switch (e) {
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
  default: return strerror(e);
  }
}

static void status_fields(int *first) {
  static const char *want[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                               "NoNewPrivs", "Seccomp", NULL};
  char line[512];
  FILE *f = fopen("/proc/self/status", "re");
  if (!f)
    return;
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (!colon)
      continue;
    *colon = 0;
    for (int i = 0; want[i]; i++) {
      if (strcmp(line, want[i]) == 0) {
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
          v++;
        v[strcspn(v, "\n")] = 0;
        key(want[i], first);
        put_str(v);
      }
    }
  }
  fclose(f);
}

static void rlimits(int *first) {
  static const struct { const char *name; int res; } r[] = {
      {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
  };
  key("rlimits", first);
  putchar('{');
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
    struct rlimit rl;
    if (getrlimit(r[i].res, &rl) != 0)
      continue;
    if (i)
      putchar(',');
    put_str(r[i].name);
    printf(":[%lld,%lld]", rl.rlim_cur == RLIM_INFINITY ? -1LL : (long long)rl.rlim_cur,
           rl.rlim_max == RLIM_INFINITY ? -1LL : (long long)rl.rlim_max);
  }
  putchar('}');
}

static void namespaces(int *first) {
  static const char *ns[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
                             "time", "time_for_children", "user", "uts", NULL};
  key("ns", first);
  putchar('{');
  int f2 = 1;
  for (int i = 0; ns[i]; i++) {
    char p[64];
    struct stat st;
    snprintf(p, sizeof p, "/proc/self/ns/%s", ns[i]);
    if (stat(p, &st) != 0)
      continue;
    key(ns[i], &f2);
    printf("%llu", (unsigned long long)st.st_ino);
  }
  putchar('}');
}

static void open_fds(int *first) {
  DIR *d = opendir("/proc/self/fd");
  key("fds", first);
  putchar('[');
  if (d) {
    int self = dirfd(d), n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.')
        continue;
      int fd = atoi(e->d_name);
      if (fd == self)
        continue;
      printf("%s%d", n++ ? "," : "", fd);
    }
    closedir(d);
  }
  putchar(']');
}

static void file_line(int *first, const char *k, const char *path) {
  char buf[256];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0)
    return;
  buf[n] = 0;
  buf[strcspn(buf, "\n")] = 0;
  key(k, first);
  put_str(buf);
}

static int report(int argc, char **argv) {
  int first = 1;
  char buf[PATH_MAX];
  putchar('{');

  key("uid", &first);
  printf("%d", (int)getuid());
  key("gid", &first);
  printf("%d", (int)getgid());
  key("euid", &first);
  printf("%d", (int)geteuid());
  key("egid", &first);
  printf("%d", (int)getegid());
  gid_t groups[256];
  int ng = getgroups(256, groups);
  key("groups", &first);
  putchar('[');
  for (int i = 0; i < ng; i++)
    printf("%s%d", i ? "," : "", (int)groups[i]);
  putchar(']');

  mode_t m = umask(0);
  umask(m);
  key("umask", &first);
  printf("%d", (int)m);

  key("cwd", &first);
  if (getcwd(buf, sizeof buf))
    put_str(buf);
  else
    printf("null");

  key("pid", &first);
  printf("%d", (int)getpid());
  key("ppid", &first);
  printf("%d", (int)getppid());

  status_fields(&first);
  key("nnp_prctl", &first);
  printf("%d", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  rlimits(&first);
  namespaces(&first);

  struct utsname u;
  if (uname(&u) == 0) {
    key("hostname", &first);
    put_str(u.nodename);
    key("domainname", &first);
    put_str(u.domainname);
  }

  open_fds(&first);

  key("tty", &first);
  putchar('[');
  for (int fd = 0; fd < 3; fd++)
    printf("%s%s", fd ? "," : "", isatty(fd) ? "true" : "false");
  putchar(']');
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) == 0) {
    key("winsize", &first);
    printf("[%d,%d]", ws.ws_row, ws.ws_col);
  }
  if (ttyname_r(0, buf, sizeof buf) == 0) {
    key("ttyname", &first);
    put_str(buf);
  }
  key("ctty_sid", &first);
  printf("%d", (int)tcgetsid(0));
  key("sid", &first);
  printf("%d", (int)getsid(0));

  file_line(&first, "oom_score_adj", "/proc/self/oom_score_adj");

  long kr = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
  key("session_keyring", &first);
  printf("%ld", kr);

  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  key("monotonic", &first);
  printf("%lld", (long long)ts.tv_sec);
  clock_gettime(CLOCK_BOOTTIME, &ts);
  key("boottime", &first);
  printf("%lld", (long long)ts.tv_sec);

  key("env", &first);
  putchar('[');
  for (char **e = environ; *e; e++) {
    if (e != environ)
      putchar(',');
    put_str(*e);
  }
  putchar(']');

  key("argv", &first);
  putchar('[');
  for (int i = 0; i < argc; i++) {
    if (i)
      putchar(',');
    put_str(argv[i]);
  }
  putchar(']');

  printf("}\n");
  return 0;
}

static int do_stat(int argc, char **argv) {
  int first = 1;
  putchar('{');
  for (int i = 2; i < argc; i++) {
    struct stat st;
    key(argv[i], &first);
    if (lstat(argv[i], &st) != 0) {
      printf("{\"error\":");
      put_str(errname(errno));
      putchar('}');
      continue;
    }
    const char *t = S_ISCHR(st.st_mode)   ? "c"
                    : S_ISBLK(st.st_mode) ? "b"
                    : S_ISDIR(st.st_mode) ? "d"
                    : S_ISLNK(st.st_mode) ? "l"
                    : S_ISFIFO(st.st_mode) ? "p"
                    : S_ISSOCK(st.st_mode) ? "s"
                                           : "f";
    printf("{\"type\":\"%s\",\"mode\":%d,\"uid\":%d,\"gid\":%d,\"major\":%u,\"minor\":%u,"
           "\"size\":%lld",
           t, (int)(st.st_mode & 07777), (int)st.st_uid, (int)st.st_gid, major(st.st_rdev),
           minor(st.st_rdev), (long long)st.st_size);
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlink(argv[i], target, sizeof target - 1);
      if (n >= 0) {
        target[n] = 0;
        printf(",\"target\":");
        put_str(target);
      }
    }
    putchar('}');
  }
  printf("}\n");
  return 0;
}

static int do_write(int argc, char **argv) {
  int first = 1;
  putchar('{');
  for (int i = 2; i < argc; i++) {
    key(argv[i], &first);
    int fd = open(argv[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      put_str(errname(errno));
      continue;
    }
    ssize_t n = write(fd, "x", 1);
    put_str(n == 1 ? "ok" : errname(errno));
    close(fd);
  }
  printf("}\n");
  return 0;
}

static int do_read(int argc, char **argv) {
  int first = 1;
  putchar('{');
  for (int i = 2; i < argc; i++) {
    key(argv[i], &first);
    struct stat st;
    if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      if (!d) {
        put_str(errname(errno));
        continue;
      }
      int n = 0;
      struct dirent *e;
      while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
          n++;
      closedir(d);
      printf("%d", n);
      continue;
    }
    int fd = open(argv[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      put_str(errname(errno));
      continue;
    }
    static char buf[65536];
    long long total = 0;
    ssize_t n;
    while (total < (1 << 20) && (n = read(fd, buf, sizeof buf)) > 0)
      total += n;
    if (total == 0 && n < 0)
      put_str(errname(errno));
    else
      printf("%lld", total);
    close(fd);
  }
  printf("}\n");
  return 0;
}

int main(int argc, char **argv) {
  int rc;
  if (argc >= 2 && strcmp(argv[1], "stat") == 0)
    rc = do_stat(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "write") == 0)
    rc = do_write(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "read") == 0)
    rc = do_read(argc, argv);
  else
    rc = report(argc, argv);
  fflush(stdout);
  return rc;
}
