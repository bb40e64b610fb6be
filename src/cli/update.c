/* isola update: change the resources of a running container (runc's flags, or -r FILE). */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "container/cgroup.h"
#include "core/cleanup.h"

static const char update_help[] =
    "usage: isola update [OPTIONS] ID\n\n"
    "Changes the resource limits of a created, running or paused container. Only the values\n"
    "given change. Sizes take a unit suffix (k, m, g, t; 32m = 32 MiB); -1 means unlimited.\n\n"
    "  -r, --resources FILE      a JSON linux.resources object (- reads standard input);\n"
    "                            flags given too override its values\n"
    "  --memory SIZE             memory limit\n"
    "  --memory-reservation SIZE memory soft limit\n"
    "  --memory-swap SIZE        memory plus swap limit\n"
    "  --kernel-memory SIZE      kernel memory limit (ignored where the kernel has none)\n"
    "  --kernel-memory-tcp SIZE  kernel TCP buffer limit (likewise)\n"
    "  --cpu-shares N            CPU shares (relative weight; v2: converted to cpu.weight)\n"
    "  --cpu-period US           CFS period, microseconds\n"
    "  --cpu-quota US            CFS quota per period, microseconds (-1: none)\n"
    "  --cpu-rt-period US        realtime period (v1)\n"
    "  --cpu-rt-runtime US       realtime runtime (v1)\n"
    "  --cpuset-cpus LIST        CPUs allowed (0-3,5)\n"
    "  --cpuset-mems LIST        memory nodes allowed\n"
    "  --pids-limit N            maximum number of tasks (0 or -1: unlimited)\n"
    "  --blkio-weight N          block I/O weight, 10 to 1000\n";

/* A size as runc reads it (docker's RAMInBytes): digits, an optional fraction, an optional
 * binary unit k/m/g/t/p with optional "i" and "b"; "-1" is unlimited. */
static int parse_size(const char *s, int64_t *out) {
  if (!strcmp(s, "-1")) return *out = -1, 0;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || v < 0 || !isdigit((unsigned char)s[0])) return -1;
  while (*end == ' ') end++;
  double mult = 1;
  const char *units = "kmgtp";
  const char *u = *end ? strchr(units, tolower((unsigned char)*end)) : NULL;
  if (u && *end) {
    for (const char *k = units; k <= u; k++) mult *= 1024;
    end++;
    if (*end == 'i' || *end == 'I') end++;
  }
  if (*end == 'b' || *end == 'B') end++;
  if (*end) return -1;
  v *= mult;
  if (v > 9.2e18) return -1;
  *out = (int64_t)v;
  return 0;
}

static int parse_int(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end || errno) return -1;
  *out = v;
  return 0;
}

static json_t *read_resources(const char *file, struct isola_err *err) {
  json_error_t jerr;
  json_t *j = !strcmp(file, "-") ? json_loadf(stdin, 0, &jerr) : json_load_file(file, 0, &jerr);
  if (!j) {
    isola_fail(err, EINVAL, "update: -r `%s`: line %d: %s", file, jerr.line, jerr.text);
    return NULL;
  }
  if (!json_is_object(j)) {
    json_decref(j);
    isola_fail(err, EINVAL, "update: -r `%s`: expected a JSON object (linux.resources)", file);
    return NULL;
  }
  return j;
}

/* The container's cgroup directories, or NULL (err filled) when it has none. */
json_t *cli_cgroup_dirs(const struct isola_state *st, const char *cmd, struct isola_err *err) {
  json_t *dirs = st->extra ? json_object_get(st->extra, "cgroupDirs") : NULL;
  if (!json_is_array(dirs) || !json_array_size(dirs)) {
    isola_fail(err, ENOTSUP, "%s: container `%s` (engine `%s`) has no cgroups", cmd, st->id,
               st->engine ? st->engine : "container");
    return NULL;
  }
  return dirs;
}

enum {
  O_MEM = 256, O_MEMRES, O_SWAP, O_KMEM, O_KTCP, O_SHARES, O_PERIOD, O_QUOTA, O_RTP, O_RTR,
  O_CPUS, O_MEMS, O_PIDS, O_BLKIO
};

int cmd_update(int argc, char **argv) {
  static const struct option opts[] = {
      {"resources", required_argument, 0, 'r'},
      {"memory", required_argument, 0, O_MEM},
      {"memory-reservation", required_argument, 0, O_MEMRES},
      {"memory-swap", required_argument, 0, O_SWAP},
      {"kernel-memory", required_argument, 0, O_KMEM},
      {"kernel-memory-tcp", required_argument, 0, O_KTCP},
      {"cpu-shares", required_argument, 0, O_SHARES},
      {"cpu-share", required_argument, 0, O_SHARES}, /* runc's spelling */
      {"cpu-period", required_argument, 0, O_PERIOD},
      {"cpu-quota", required_argument, 0, O_QUOTA},
      {"cpu-rt-period", required_argument, 0, O_RTP},
      {"cpu-rt-runtime", required_argument, 0, O_RTR},
      {"cpuset-cpus", required_argument, 0, O_CPUS},
      {"cpuset-mems", required_argument, 0, O_MEMS},
      {"pids-limit", required_argument, 0, O_PIDS},
      {"blkio-weight", required_argument, 0, O_BLKIO},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  /* Each flag: the section and key it sets, and how its value reads. */
  static const struct {
    int opt;
    const char *sec, *key;
    char kind; /* s: size, i: integer, t: text */
  } map[] = {
      {O_MEM, "memory", "limit", 's'},        {O_MEMRES, "memory", "reservation", 's'},
      {O_SWAP, "memory", "swap", 's'},        {O_KMEM, "memory", "kernel", 's'},
      {O_KTCP, "memory", "kernelTCP", 's'},   {O_SHARES, "cpu", "shares", 'i'},
      {O_PERIOD, "cpu", "period", 'i'},       {O_QUOTA, "cpu", "quota", 'i'},
      {O_RTP, "cpu", "realtimePeriod", 'i'},  {O_RTR, "cpu", "realtimeRuntime", 'i'},
      {O_CPUS, "cpu", "cpus", 't'},           {O_MEMS, "cpu", "mems", 't'},
      {O_PIDS, "pids", "limit", 'i'},         {O_BLKIO, "blockIO", "weight", 'i'},
  };
  struct isola_err err;
  const char *file = NULL;
  _cleanup_json_ json_t *flags = json_object();
  int c, idx;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+r:h", opts, &idx)) != -1) {
    if (c == 'h') {
      printf("%s", update_help);
      return 0;
    }
    if (c == 'r') {
      file = optarg;
      continue;
    }
    size_t i = 0;
    while (i < sizeof map / sizeof *map && map[i].opt != c) i++;
    if (i == sizeof map / sizeof *map)
      return cli_errorf("update: unknown option `%s` (see isola update --help)", argv[optind - 1]);
    int64_t v = 0;
    json_t *val;
    if (map[i].kind == 't') {
      val = json_string(optarg);
    } else if ((map[i].kind == 's' ? parse_size : parse_int)(optarg, &v) < 0) {
      return cli_errorf("update: --%s: `%s` is not %s", opts[idx].name, optarg,
                        map[i].kind == 's' ? "a size like 512m" : "an integer");
    } else {
      val = json_integer(v);
    }
    json_t *sec = json_object_get(flags, map[i].sec);
    if (!sec) json_object_set_new(flags, map[i].sec, sec = json_object());
    json_object_set_new(sec, map[i].key, val);
  }
  if (argc - optind != 1)
    return cli_errorf("update: expected exactly one container id (see isola update --help)");
  if (!file && !json_object_size(flags))
    return cli_errorf("update: nothing to change: give -r FILE or a flag (see isola update --help)");
  _cleanup_json_ json_t *res = file ? read_resources(file, &err) : json_object();
  if (!res) return cli_error(&err);
  const char *sk;
  json_t *sv;
  json_object_foreach(flags, sk, sv) {
    json_t *dst = json_object_get(res, sk);
    if (json_is_object(dst)) json_object_update(dst, sv);
    else json_object_set(res, sk, sv);
  }

  const char *id = argv[optind];
  struct state_dir d;
  struct isola_state st;
  if (cli_open(id, &d, &st, &err) < 0) return cli_error(&err);
  int r = -1;
  json_t *dirs = cli_cgroup_dirs(&st, "update", &err);
  if (!dirs) goto out;
  if (st.status == ST_STOPPED || st.status == ST_CREATING) {
    isola_fail(&err, EINVAL, "update: container `%s` is %s", id, state_status_name(st.status));
    goto out;
  }
  /* The saved config's linux.devices stay allowed when the device rules change. */
  struct oci_config *cfg = cli_saved_config(&d);
  if ((r = cgroup_update(dirs, res, cfg, "resources", &err)) < 0)
    isola_err_wrap(&err, "update container `%s`", id);
  oci_config_free(cfg);
out:
  state_release(&st);
  state_dir_close(&d);
  return r < 0 ? cli_error(&err) : 0;
}
