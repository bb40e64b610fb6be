/* JSON to and from file descriptors in one read and one write (jansson's json_loadfd reads a
 * byte per syscall, json_dumpfd writes in small pieces: thousands of syscalls for a config with
 * a seccomp profile). */
#ifndef ISOLA_JSONIO_H
#define ISOLA_JSONIO_H

#include <jansson.h>

#include "core/fdio.h"

/* All of `fd` (at most 64 MiB) in one malloc'd, NUL-terminated buffer, its length in *len;
 * NULL with `jerr` filled and errno set. */
char *read_text_fd(int fd, size_t *len, json_error_t *jerr);
/* read_text_fd, then json_parse (duplicate keys are an error). NULL with `jerr` filled on a
 * read or parse error (errno set for read errors). */
json_t *json_read_fd(int fd, json_error_t *jerr);
/* 0, or -1 with errno set. */
int json_write_fd(int fd, const json_t *j, size_t flags);

#endif
