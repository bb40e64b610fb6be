/* A writer of cpio "newc" archives, the format the kernel unpacks as its initramfs.
 *
 * Entries are written in the order given; the caller adds parent directories before their
 * contents. A path ending in ".gz" is gzip-compressed (zlib), anything else is left plain (the
 * kernel takes both; under TCG the difference in boot time is below the noise). Owner is
 * root, mtime 0, so the same inputs give the same bytes.
 */
#ifndef ISOLA_VM_INITRAMFS_H
#define ISOLA_VM_INITRAMFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

struct cpio_writer {
  int fd;
  void *gz; /* a gzFile when compressing */
  uint32_t ino;
  uint64_t off;
  char *path; /* for messages */
};

/* Creates (truncates) `path`. */
int cpio_open(struct cpio_writer *w, const char *path, struct isola_err *err);
int cpio_add_dir(struct cpio_writer *w, const char *name, mode_t perm, struct isola_err *err);
int cpio_add_data(struct cpio_writer *w, const char *name, mode_t perm, const void *data,
                  size_t len, struct isola_err *err);
/* A regular file with the contents of host file `src`. */
int cpio_add_file(struct cpio_writer *w, const char *name, mode_t perm, const char *src,
                  struct isola_err *err);
/* A character ('c') or block ('b') device node. */
int cpio_add_node(struct cpio_writer *w, const char *name, mode_t perm, char type,
                  unsigned major, unsigned minor, struct isola_err *err);
int cpio_add_symlink(struct cpio_writer *w, const char *name, const char *target,
                     struct isola_err *err);
/* Writes the trailer, pads to 512 bytes and closes; on failure removes the file. */
int cpio_finish(struct cpio_writer *w, struct isola_err *err);
/* Closes and removes an unfinished archive. */
void cpio_abort(struct cpio_writer *w);

#endif
