/* Build-time tool: writes the guest initramfs from a list of entries (used by
 * scripts/vm-image.sh). One entry per line of the list file, like the kernel's gen_init_cpio:
 *   dir  NAME MODE
 *   file NAME MODE HOSTPATH
 *   nod  NAME MODE c|b MAJOR MINOR
 *   slink NAME TARGET
 * usage: mkinitramfs OUT.cpio LIST
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/initramfs.h"
#include "core/cleanup.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s OUT.cpio LIST\n", argv[0]);
    return 2;
  }
  _cleanup_fclose_ FILE *list = fopen(argv[2], "re");
  if (!list) {
    perror(argv[2]);
    return 1;
  }
  struct isola_err err = {0};
  struct cpio_writer w;
  if (cpio_open(&w, argv[1], &err) < 0) goto fail;
  char line[8192];
  int lineno = 0;
  while (fgets(line, sizeof line, list)) {
    lineno++;
    static char kind[16], name[4096], a[4096], b[4096], c[16], d[16];
    int n = sscanf(line, "%15s %4095s %4095s %4095s %15s %15s", kind, name, a, b, c, d);
    if (n <= 0 || kind[0] == '#') continue;
    int r;
    if (!strcmp(kind, "dir") && n == 3) r = cpio_add_dir(&w, name, (mode_t)strtoul(a, NULL, 8), &err);
    else if (!strcmp(kind, "file") && n == 4)
      r = cpio_add_file(&w, name, (mode_t)strtoul(a, NULL, 8), b, &err);
    else if (!strcmp(kind, "nod") && n == 6)
      r = cpio_add_node(&w, name, (mode_t)strtoul(a, NULL, 8), b[0], (unsigned)strtoul(c, NULL, 10),
                        (unsigned)strtoul(d, NULL, 10), &err);
    else if (!strcmp(kind, "slink") && n == 3) r = cpio_add_symlink(&w, name, a, &err);
    else {
      isola_fail(&err, EINVAL, "%s:%d: cannot parse `%s`", argv[2], lineno, strtok(line, "\n"));
      r = -1;
    }
    if (r < 0) {
      cpio_abort(&w);
      goto fail;
    }
  }
  if (cpio_finish(&w, &err) < 0) goto fail;
  return 0;
fail:
  fprintf(stderr, "mkinitramfs: %s\n", err.msg);
  return 1;
}
