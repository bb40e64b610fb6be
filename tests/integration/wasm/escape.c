/* Tries to get out of the sandbox with raw WASI calls (no libc path handling in the way) and
 * prints "name=errno" for each attempt; the test compares them with what the runtime must
 * answer. fd 3 is the sandbox directory; the host prepared in it:
 *   victim.txt                      a file
 *   sub/                            a directory
 *   inside_link -> victim.txt       a harmless symlink
 *   abs_link -> /etc/passwd         absolute symlink
 *   rel_link -> ../../../../../../../../etc/passwd
 *   dir_link -> /etc                absolute symlink to a directory (used in the middle)
 *   up_link -> ..                   relative symlink out (used in the middle)
 *   sub/deep_link -> ../../outside.txt   relative, climbs out from a subdirectory
 *   null_dev, mem_dev, blk_dev      device nodes (1,3), (1,1), block (7,0) when root made them
 * and ../outside.txt next to the sandbox. With "ro", fd 4 is a read-only preopen holding ro.txt.
 * With "proc", fd 4 is a preopened /proc. */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#define DIRFD 3
#define R_READ (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_FILESTAT_GET)
#define R_WRITE (__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK)

/* The import itself, for a path with an explicit length (wasi-libc's wrapper uses strlen). */
int32_t raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t path_len,
                      int32_t oflags, int64_t base, int64_t inheriting, int32_t fdflags,
                      int32_t fd_out)
    __attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__("path_open")));

static int open2(int dirfd, const char *path, int follow, __wasi_oflags_t oflags,
                 __wasi_rights_t rights, __wasi_rights_t inheriting, __wasi_fd_t *out) {
  __wasi_fd_t fd = (__wasi_fd_t)-1;
  int e = __wasi_path_open(dirfd, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, path, oflags,
                           rights, inheriting, 0, &fd);
  if (out) *out = fd;
  else if (e == 0) (void)!__wasi_fd_close(fd);
  return e;
}

static int open_(int dirfd, const char *path, int follow, __wasi_oflags_t oflags,
                 __wasi_rights_t rights, __wasi_fd_t *out) {
  return open2(dirfd, path, follow, oflags, rights, 0, out);
}

static void show(const char *name, int e) { printf("%s=%d\n", name, e); }

static void escapes(void) {
  __wasi_filestat_t st;
  show("open_inside", open_(DIRFD, "victim.txt", 1, 0, R_READ, NULL));
  show("open_inside_dotdot", open_(DIRFD, "sub/../victim.txt", 1, 0, R_READ, NULL));
  show("open_dotdot", open_(DIRFD, "../outside.txt", 1, 0, R_READ, NULL));
  show("open_dotdot_deep", open_(DIRFD, "sub/../../outside.txt", 1, 0, R_READ, NULL));
  show("open_absolute", open_(DIRFD, "/etc/passwd", 1, 0, R_READ, NULL));
  show("open_abs_symlink", open_(DIRFD, "abs_link", 1, 0, R_READ, NULL));
  show("open_rel_symlink", open_(DIRFD, "rel_link", 1, 0, R_READ, NULL));
  show("open_mid_abs_symlink", open_(DIRFD, "dir_link/passwd", 1, 0, R_READ, NULL));
  show("open_mid_rel_symlink", open_(DIRFD, "up_link/outside.txt", 1, 0, R_READ, NULL));
  show("open_deep_symlink", open_(DIRFD, "sub/deep_link", 1, 0, R_READ, NULL));
  show("open_nofollow_link", open_(DIRFD, "inside_link", 0, 0, R_READ, NULL));
  show("open_follow_link", open_(DIRFD, "inside_link", 1, 0, R_READ, NULL));
  show("creat_through_abs_link", open_(DIRFD, "dir_link/evil", 1, __WASI_OFLAGS_CREAT, R_WRITE, NULL));
  show("creat_dotdot", open_(DIRFD, "../created.txt", 1, __WASI_OFLAGS_CREAT, R_WRITE, NULL));
  static const char with_nul[] = "victim.txt\0";
  __wasi_fd_t nfd;
  show("open_trailing_nul", raw_path_open(DIRFD, 1, (int32_t)with_nul, sizeof with_nul - 1, 0,
                                          R_READ, 0, 0, (int32_t)&nfd));
  show("open_empty", open_(DIRFD, "", 1, 0, R_READ, NULL));
  show("stat_dotdot", __wasi_path_filestat_get(DIRFD, 0, "..", &st));
  show("stat_abs_link_follow", __wasi_path_filestat_get(DIRFD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                                                        "abs_link", &st));
  show("stat_abs_link_nofollow", __wasi_path_filestat_get(DIRFD, 0, "abs_link", &st));
  show("utimes_dotdot", __wasi_path_filestat_set_times(DIRFD, 0, "../outside.txt", 0, 0,
                                                       __WASI_FSTFLAGS_MTIM_NOW));
  show("mkdir_dotdot", __wasi_path_create_directory(DIRFD, "../made_dir"));
  show("mkdir_through_link", __wasi_path_create_directory(DIRFD, "up_link/made_dir"));
  show("rmdir_dotdot", __wasi_path_remove_directory(DIRFD, ".."));
  show("unlink_dotdot", __wasi_path_unlink_file(DIRFD, "../outside.txt"));
  show("unlink_through_link", __wasi_path_unlink_file(DIRFD, "up_link/outside.txt"));
  show("rename_out", __wasi_path_rename(DIRFD, "victim.txt", DIRFD, "../victim.txt"));
  show("rename_in", __wasi_path_rename(DIRFD, "../outside.txt", DIRFD, "stolen.txt"));
  show("rename_abs", __wasi_path_rename(DIRFD, "victim.txt", DIRFD, "/tmp/victim.txt"));
  show("link_out", __wasi_path_link(DIRFD, 0, "victim.txt", DIRFD, "../linked.txt"));
  show("link_in", __wasi_path_link(DIRFD, 0, "../outside.txt", DIRFD, "linked.txt"));
  show("link_follow_abs", __wasi_path_link(DIRFD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "abs_link",
                                           DIRFD, "linked2.txt"));
  show("symlink_absolute", __wasi_path_symlink("/etc/passwd", DIRFD, "new_abs"));
  show("symlink_escape", __wasi_path_symlink("../outside.txt", DIRFD, "new_rel"));
  show("symlink_escape_deep", __wasi_path_symlink("a/../../b/../../x", DIRFD, "new_deep"));
  show("symlink_from_sub_ok", __wasi_path_symlink("../victim.txt", DIRFD, "sub/new_ok"));
  show("symlink_from_sub_out", __wasi_path_symlink("../../outside.txt", DIRFD, "sub/new_out"));
  show("symlink_inside", __wasi_path_symlink("sub/../victim.txt", DIRFD, "new_inside"));
  show("read_new_inside", open_(DIRFD, "new_inside", 1, 0, R_READ, NULL));
  char buf[64];
  __wasi_size_t n = 0;
  show("readlink_abs", __wasi_path_readlink(DIRFD, "abs_link", (uint8_t *)buf, sizeof buf, &n));
  printf("readlink_abs_text=%.*s\n", (int)n, buf);
  show("readlink_dotdot", __wasi_path_readlink(DIRFD, "../outside_link", (uint8_t *)buf,
                                               sizeof buf, &n));
  /* Host fd numbers mean nothing to the guest. */
  int bad = 0;
  static const __wasi_fd_t host_like[] = {5, 6, 10, 64, 100, 255, 1000, 4095, 65535, 0x7fffffff};
  for (unsigned i = 0; i < sizeof host_like / sizeof host_like[0]; i++) {
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    bad += __wasi_fd_read(host_like[i], &iov, 1, &n) == __WASI_ERRNO_BADF;
  }
  printf("host_fds_ebadf=%d\n", bad);
  /* A directory fd opened beneath the sandbox is a sandbox of its own. */
  __wasi_fd_t sub;
  show("open_sub", open2(DIRFD, "sub", 1, __WASI_OFLAGS_DIRECTORY,
                         __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READDIR, R_READ, &sub));
  show("sub_dotdot", open_(sub, "../victim.txt", 1, 0, R_READ, NULL));
  /* Rights: shrinking works, growing does not, and a missing right stops the call. */
  __wasi_fd_t v;
  show("open_victim", open_(DIRFD, "victim.txt", 1, 0, R_READ, &v));
  show("shrink_rights", __wasi_fd_fdstat_set_rights(v, __WASI_RIGHTS_FD_SEEK, 0));
  __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
  show("read_without_right", __wasi_fd_read(v, &iov, 1, &n));
  show("grow_rights", __wasi_fd_fdstat_set_rights(v, R_READ, 0));
  show("open_more_than_inherited",
       open_(sub, "x", 1, __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, NULL));
  /* Devices: only the harmless ones open. */
  show("dev_null", open_(DIRFD, "null_dev", 1, 0, __WASI_RIGHTS_FD_READ, NULL));
  show("dev_mem", open_(DIRFD, "mem_dev", 1, 0, __WASI_RIGHTS_FD_READ, NULL));
  show("dev_block", open_(DIRFD, "blk_dev", 1, 0, __WASI_RIGHTS_FD_READ, NULL));
}

static void readonly(void) {
  const int ro = 4;
  __wasi_fd_t fd;
  __wasi_fdstat_t fs;
  show("ro_fdstat", __wasi_fd_fdstat_get(ro, &fs));
  printf("ro_has_write_rights=%d\n",
         (fs.fs_rights_inheriting & __WASI_RIGHTS_FD_WRITE) != 0 ||
             (fs.fs_rights_base & __WASI_RIGHTS_PATH_CREATE_FILE) != 0);
  show("ro_read", open_(ro, "ro.txt", 1, 0, R_READ, NULL));
  show("ro_open_write", open_(ro, "ro.txt", 1, 0, R_WRITE, NULL));
  show("ro_create", open_(ro, "new.txt", 1, __WASI_OFLAGS_CREAT, R_READ, NULL));
  show("ro_trunc", open_(ro, "ro.txt", 1, __WASI_OFLAGS_TRUNC, R_READ, NULL));
  show("ro_mkdir", __wasi_path_create_directory(ro, "d"));
  show("ro_unlink", __wasi_path_unlink_file(ro, "ro.txt"));
  show("ro_symlink", __wasi_path_symlink("ro.txt", ro, "l"));
  show("ro_rename_out", __wasi_path_rename(ro, "ro.txt", DIRFD, "moved.txt"));
  show("ro_link_out", __wasi_path_link(ro, 0, "ro.txt", DIRFD, "hardlinked.txt"));
  show("ro_utimes", __wasi_path_filestat_set_times(ro, 0, "ro.txt", 0, 0,
                                                   __WASI_FSTFLAGS_MTIM_NOW));
  show("ro_open_read", open_(ro, "ro.txt", 1, 0, R_READ, &fd));
  show("ro_fd_write", __wasi_fd_write(fd, &(__wasi_ciovec_t){(const uint8_t *)"x", 1}, 1,
                                      &(__wasi_size_t){0}));
  show("ro_set_size", __wasi_fd_filestat_set_size(fd, 0));
}

static void proc(void) {
  const int p = 4;
  show("proc_self_mem", open_(p, "self/mem", 1, 0, __WASI_RIGHTS_FD_READ, NULL));
  show("proc_self_environ", open_(p, "self/environ", 1, 0, __WASI_RIGHTS_FD_READ, NULL));
  show("proc_root_magic", open_(p, "self/root/etc/passwd", 1, 0, __WASI_RIGHTS_FD_READ, NULL));
  show("proc_cwd_magic", open_(p, "self/cwd", 1, __WASI_OFLAGS_DIRECTORY, 0, NULL));
  show("proc_fd_magic", open_(p, "self/fd/0", 1, 0, __WASI_RIGHTS_FD_READ, NULL));
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "escapes";
  if (!strcmp(mode, "escapes")) escapes();
  else if (!strcmp(mode, "ro")) readonly();
  else if (!strcmp(mode, "proc")) proc();
  else return 2;
  return 0;
}
