/* linux.sysctl: written under /proc/sys inside the container's namespaces. */
#include "container/container.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"

int sysctl_apply(const struct oci_config *cfg, struct isola_err *err) {
  for (size_t i = 0; i < cfg->nsysctl; i++) {
    char path[512];
    int n = snprintf(path, sizeof path, "/proc/sys/%s", cfg->sysctl[i].key);
    for (char *p = path + 10; p < path + n; p++)
      if (*p == '.') *p = '/';
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    const char *v = cfg->sysctl[i].value;
    if (fd < 0 || write(fd, v, strlen(v)) != (ssize_t)strlen(v))
      return isola_fail_errno(err, errno, "linux.sysctl.%s: write `%s`", cfg->sysctl[i].key, path);
  }
  return 0;
}
