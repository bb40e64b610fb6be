/* vmguest: a static helper the vm tests run inside the guest (the bundle's rootfs is the guest's
 * root, shared over 9p). It plays the hostile guest.
 *
 *   vmguest rt-spin            stops sharing the CPU: RT throttling off, SCHED_FIFO 99, spin
 *                              forever (the agent starves; the host must notice the silence)
 *   vmguest serial-flood KIB   writes KIB KiB straight to the first serial port (the host's
 *                              console.log), through a node made with mknod
 *   vmguest find SECRET PATH.. reads each path (a directory: its entries, recursively, one
 *                              level of files) and says whether SECRET appeared; prints
 *                              "PATH=seen|absent|ERRNO"
 *   vmguest mount9p TAG ANAME  mounts the 9p share TAG with aname ANAME on /mnt9p and reports
 *                              the result and what the mount's root holds
 *   vmguest tags               the 9p mount tags the guest's virtio devices offer
 *   vmguest arm DIR            tries to leave in DIR what a host user could use against the
 *                              host, without going through chmod(1): a file created setuid by
 *                              open(2) and by mknod(2), and a file capability (CAP_SETUID) set
 *                              on DIR/capfile; prints "NAME=ok|ERRNO" for each
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static int rt_spin(void) {
  int fd = open("/proc/sys/kernel/sched_rt_runtime_us", O_WRONLY);
  if (fd < 0 || write(fd, "-1", 2) != 2) perror("sched_rt_runtime_us");
  if (fd >= 0) close(fd);
  struct sched_param sp = {.sched_priority = 99};
  if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
    perror("sched_setscheduler");
    return 1;
  }
  printf("spinning\n");
  fflush(stdout);
  for (volatile unsigned long i = 0;; i++) {
  }
}

static int serial_flood(long kib) {
  mknod("/dev/isola-ttyS0", S_IFCHR | 0600, makedev(4, 64));
  int fd = open("/dev/isola-ttyS0", O_WRONLY | O_NOCTTY);
  if (fd < 0) {
    perror("open ttyS0");
    return 1;
  }
  static char buf[4096];
  memset(buf, 'F', sizeof buf);
  for (size_t i = 63; i < sizeof buf; i += 64) buf[i] = '\n';
  long done = 0;
  for (long i = 0; i < kib / 4; i++) {
    ssize_t n = write(fd, buf, sizeof buf);
    if (n <= 0) break;
    done += n;
  }
  printf("wrote %ld bytes\n", done);
  return 0;
}

static int contains(const char *path, const char *secret) {
  int fd = open(path, O_RDONLY | O_NONBLOCK);
  if (fd < 0) return -errno;
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) return -errno;
  buf[n] = 0;
  return strstr(buf, secret) != NULL;
}

static int find(const char *secret, int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    struct stat sb;
    int r;
    if (stat(argv[i], &sb) < 0) {
      r = -errno;
    } else if (S_ISDIR(sb.st_mode)) {
      DIR *d = opendir(argv[i]);
      r = d ? 0 : -errno;
      struct dirent *e;
      while (d && (e = readdir(d))) {
        char p[4096];
        if (strstr(e->d_name, secret)) r = 1;
        snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
        if (e->d_type == DT_REG && contains(p, secret) == 1) r = 1;
      }
      if (d) closedir(d);
    } else {
      r = contains(argv[i], secret);
    }
    printf("%s=%s\n", argv[i], r == 1 ? "seen" : r == 0 ? "absent" : strerror(-r));
  }
  return 0;
}

static int mount9p(const char *tag, const char *aname) {
  mkdir("/mnt9p", 0755);
  char opts[512];
  snprintf(opts, sizeof opts, "trans=virtio,version=9p2000.L,aname=%s", aname);
  int r = mount(tag, "/mnt9p", "9p", 0, opts);
  printf("mount=%s\n", r == 0 ? "ok" : strerror(errno));
  if (r == 0) {
    DIR *d = opendir("/mnt9p");
    struct dirent *e;
    printf("entries=");
    while (d && (e = readdir(d))) printf("%s,", e->d_name);
    printf("\n");
    if (d) closedir(d);
    umount2("/mnt9p", MNT_DETACH);
  }
  return 0;
}

static int tags(void) {
  DIR *d = opendir("/sys/bus/virtio/drivers/9pnet_virtio");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char p[512], t[256];
    snprintf(p, sizeof p, "/sys/bus/virtio/drivers/9pnet_virtio/%s/mount_tag", e->d_name);
    int fd = open(p, O_RDONLY);
    if (fd < 0) continue;
    ssize_t n = read(fd, t, sizeof t - 1);
    close(fd);
    if (n > 0) {
      t[n] = 0;
      t[strcspn(t, "\n")] = 0;
      printf("tag=%s\n", t);
    }
  }
  if (d) closedir(d);
  return 0;
}

static void report(const char *name, int rc) {
  printf("%s=%s\n", name, rc < 0 ? strerror(errno) : "ok");
}

static int arm(const char *dir) {
  char p[512];
  snprintf(p, sizeof p, "%s/open_suid", dir);
  int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 04755);
  report("open_suid", fd);
  if (fd >= 0) close(fd);
  snprintf(p, sizeof p, "%s/mknod_suid", dir);
  report("mknod_suid", mknod(p, S_IFREG | 06755, 0));
  /* struct vfs_cap_data, revision 2: CAP_SETUID (7) permitted, the effective flag set. */
  unsigned int cap[5] = {0x02000001, 1u << 7, 0, 0, 0};
  snprintf(p, sizeof p, "%s/capfile", dir);
  report("setcap", setxattr(p, "security.capability", cap, sizeof cap, 0));
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "rt-spin")) return rt_spin();
  if (argc > 2 && !strcmp(argv[1], "serial-flood")) return serial_flood(atol(argv[2]));
  if (argc > 2 && !strcmp(argv[1], "find")) return find(argv[2], argc - 3, argv + 3);
  if (argc > 3 && !strcmp(argv[1], "mount9p")) return mount9p(argv[2], argv[3]);
  if (argc > 1 && !strcmp(argv[1], "tags")) return tags();
  if (argc > 2 && !strcmp(argv[1], "arm")) return arm(argv[2]);
  fprintf(stderr, "usage: vmguest rt-spin | serial-flood KIB | find SECRET PATH... | "
                  "mount9p TAG ANAME | tags | arm DIR\n");
  return 2;
}
