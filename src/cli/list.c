/* isola list */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/cleanup.h"

/* The name of `uid` from /etc/passwd, or the number. (Not getpwuid: isola links statically,
 * where NSS modules would have to be loaded at run time.) */
static void user_name(uid_t uid, char *out, size_t len) {
  snprintf(out, len, "%u", uid);
  _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
  char line[1024];
  while (f && fgets(line, sizeof line, f)) {
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || strtoul(c2 + 1, NULL, 10) != uid) continue;
    snprintf(out, len, "%.*s", (int)(c1 - line), line);
    return;
  }
}

int cmd_list(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool json = false, quiet = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+f:qh", opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      if (strcmp(optarg, "table") && strcmp(optarg, "json"))
        return cli_errorf("list: --format: expected table or json, got `%s`", optarg);
      json = !strcmp(optarg, "json");
      break;
    case 'q': quiet = true; break;
    case 'h':
      printf("usage: isola list [--format table|json] [-q]\n\nLists the containers under "
             "--root.\n");
      return 0;
    default: return cli_errorf("list: unknown option `%s` (see isola list --help)", argv[optind - 1]);
    }
  }
  if (optind != argc) return cli_errorf("list: takes no arguments");
  _cleanup_json_ json_t *arr = json_array();
  _cleanup_closedir_ DIR *dir = opendir(cli.root);
  if (!dir && errno != ENOENT) return cli_errorf("list: open `%s`: %s", cli.root, strerror(errno));
  if (!json && !quiet) printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
  struct dirent *e;
  while (dir && (e = readdir(dir))) {
    if (e->d_name[0] == '.') continue;
    struct isola_err err;
    struct state_dir d;
    struct isola_state st;
    if (state_dir_open(cli.root, e->d_name, false, &d, &err) < 0) continue;
    if (state_load(&d, &st, &err) < 0) {
      state_dir_close(&d);
      continue;
    }
    state_refresh(&st);
    struct stat sb;
    char owner[64] = "";
    if (fstat(d.dirfd, &sb) == 0) user_name(sb.st_uid, owner, sizeof owner);
    pid_t pid = st.status == ST_STOPPED ? 0 : st.pid;
    if (quiet) {
      printf("%s\n", st.id);
    } else if (json) {
      json_t *j = state_oci_json(&st);
      json_object_set_new(j, "owner", json_string(owner));
      json_array_append_new(arr, j);
    } else {
      printf("%-20s %-8d %-10s %-40s %-32s %s\n", st.id, pid, state_status_name(st.status),
             st.bundle ? st.bundle : "", st.created ? st.created : "", owner);
    }
    state_release(&st);
    state_dir_close(&d);
  }
  if (json) {
    char *text = json_dumps(arr, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
  }
  return 0;
}
