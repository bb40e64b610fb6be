/* The OCI runtime-spec 1.x config.json, as a C model.
 *
 * oci_config_load() parses and checks types and values of everything this runtime acts on;
 * any error names the file and the JSON path ("config.json: process.args[0]: expected a
 * string"). Unknown properties are ignored, as the spec requires. Sections a later stage
 * interprets on its own (linux.resources, linux.seccomp) stay as JSON in `json`, which the
 * config keeps alive. All strings are owned by the config; oci_config_free() releases it.
 */
#ifndef ISOLA_OCI_CONFIG_H
#define ISOLA_OCI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "core/err.h"

enum oci_ns {
  OCI_NS_PID,
  OCI_NS_NET,
  OCI_NS_MNT,
  OCI_NS_IPC,
  OCI_NS_UTS,
  OCI_NS_USER,
  OCI_NS_CGROUP,
  OCI_NS_TIME,
  OCI_NS_COUNT
};

struct oci_namespace {
  bool present;
  char *path; /* join this one instead of creating one (NULL: new) */
};

struct oci_idmap {
  uint32_t container_id, host_id, size;
};

struct oci_device {
  char *path;
  char type; /* 'c', 'b', 'u', 'p' */
  int64_t major, minor;
  uint32_t file_mode;
  bool has_file_mode;
  uint32_t uid, gid;
  bool has_uid, has_gid;
};

struct oci_mount {
  char *destination;
  char *type;   /* may be NULL ("bind" implied by options) */
  char *source; /* may be NULL */
  char **options;
  size_t noptions;
};

struct oci_rlimit {
  int resource; /* RLIMIT_* */
  char *name;
  uint64_t soft, hard;
};

struct oci_hook {
  char *path;
  char **args; /* NULL-terminated, may be NULL */
  char **env;  /* NULL-terminated, may be NULL */
  int timeout; /* seconds, 0 = none */
};

enum oci_hook_kind {
  OCI_HOOK_PRESTART,
  OCI_HOOK_CREATE_RUNTIME,
  OCI_HOOK_CREATE_CONTAINER,
  OCI_HOOK_START_CONTAINER,
  OCI_HOOK_POSTSTART,
  OCI_HOOK_POSTSTOP,
  OCI_HOOK_COUNT
};

enum oci_capset { OCI_CAP_BOUNDING, OCI_CAP_EFFECTIVE, OCI_CAP_INHERITABLE, OCI_CAP_PERMITTED,
                  OCI_CAP_AMBIENT, OCI_CAP_SETS };

struct oci_process {
  bool terminal;
  uint32_t console_height, console_width;
  bool has_console_size;
  uint32_t uid, gid;
  uint32_t umask;
  bool has_umask;
  uint32_t *additional_gids;
  size_t nadditional_gids;
  char **args; /* NULL-terminated */
  size_t nargs;
  char **env; /* NULL-terminated */
  size_t nenv;
  char *cwd;
  uint64_t caps[OCI_CAP_SETS]; /* bit masks by capability number */
  bool has_caps;
  struct oci_rlimit *rlimits;
  size_t nrlimits;
  bool no_new_privileges;
  int oom_score_adj;
  bool has_oom_score_adj;
  char *apparmor_profile, *selinux_label;
};

struct oci_sysctl {
  char *key, *value;
};

struct oci_config {
  json_t *json; /* the whole document, for sections interpreted elsewhere */
  char *text;   /* the bytes `json` was parsed from (oci_config_load), NULL otherwise */
  size_t text_len;
  char *oci_version;
  char *root_path; /* as written in config.json */
  bool root_readonly;
  char *hostname, *domainname;
  bool has_process;
  struct oci_process process;
  struct oci_mount *mounts;
  size_t nmounts;
  struct oci_hook *hooks[OCI_HOOK_COUNT];
  size_t nhooks[OCI_HOOK_COUNT];
  json_t *annotations; /* borrowed from json; an object, maybe empty */

  /* linux */
  struct oci_namespace ns[OCI_NS_COUNT];
  struct oci_idmap *uid_mappings, *gid_mappings;
  size_t nuid_mappings, ngid_mappings;
  struct oci_device *devices;
  size_t ndevices;
  char *cgroups_path;
  json_t *resources; /* borrowed; NULL if absent */
  json_t *seccomp;   /* borrowed; NULL if absent */
  char **masked_paths, **readonly_paths;
  size_t nmasked_paths, nreadonly_paths;
  struct oci_sysctl *sysctl;
  size_t nsysctl;
  char *rootfs_propagation;
  char *mount_label;
  int64_t time_offsets[2][2]; /* [monotonic, boottime][secs, nanosecs] */
  bool has_time_offsets;
  bool has_personality;
  char *personality_domain;
};

/* Reads and parses `path` (json_parse); messages call the file by its base name
 * ("config.json"). The config keeps the bytes it was parsed from (`text`). */
int oci_config_load(const char *path, struct oci_config **out, struct isola_err *err);
/* Parses a document already in memory; takes a reference on `root`. */
int oci_config_from_json(json_t *root, const char *name, struct oci_config **out,
                         struct isola_err *err);
void oci_config_free(struct oci_config *cfg);

/* Parses a `process` object (used by config.json and by `exec --process`). `where` is the JSON
 * path prefix for messages ("config.json: process"). */
int oci_process_parse(json_t *obj, const char *where, struct oci_process *out,
                      struct isola_err *err);
void oci_process_release(struct oci_process *p);

const char *oci_ns_name(enum oci_ns ns);
const char *oci_hook_name(enum oci_hook_kind kind);
/* Capability number for "CAP_SYS_ADMIN"; -1 when unknown. */
int oci_cap_from_name(const char *name);
const char *oci_cap_name(int cap);
/* The highest capability number this runtime knows. */
int oci_cap_last(void);
/* Value of annotation `key`, or NULL. */
const char *oci_annotation(const struct oci_config *cfg, const char *key);

#endif
