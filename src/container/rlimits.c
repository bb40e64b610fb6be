/* Resource limits of the container process. */
#include "container/container.h"

#include <sys/resource.h>

int rlimits_apply(const struct oci_process *p, struct isola_err *err) {
  for (size_t i = 0; i < p->nrlimits; i++) {
    const struct oci_rlimit *r = &p->rlimits[i];
    struct rlimit rl = {(rlim_t)r->soft, (rlim_t)r->hard};
    if (setrlimit(r->resource, &rl) == 0) continue;
    int e = errno;
    struct rlimit cur;
    if (e == EPERM && getrlimit(r->resource, &cur) == 0 && rl.rlim_max > cur.rlim_max)
      return isola_fail(err, e,
                        "process.rlimits[%zu]: %s: hard limit %llu is above the current %llu, and "
                        "raising it needs CAP_SYS_RESOURCE, which this runtime does not have",
                        i, r->name, (unsigned long long)rl.rlim_max,
                        (unsigned long long)cur.rlim_max);
    return isola_fail_errno(err, e, "process.rlimits[%zu]: %s: setrlimit", i, r->name);
  }
  return 0;
}
