/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <getopt.h>
#include <string.h>

#include "cmd.h"
#include "fdutil.h"
#include "log.h"
#include "request/name.h"
#include "request/request.h"
#include "place/idmap.h"
#include "place/place.h"
#include "place/state.h"

static const char inject_usage[] =
        "Usage: lockbox-broker inject --pid PID [--id ID] [--name NAME] [--dir DIR] [--uid N]\n"
        "                             [--gid N] [--role R] NAME=REF...\n"
        "\n"
        "Place secrets into the mount namespace of a running process (a container started\n"
        "without the hook, whose entrypoint is `lockbox-shim --wait`). The same checks as the\n"
        "hook: role, allow-list, fetch, tmpfs, watcher. ID defaults to pid-PID; the owner\n"
        "defaults to the process's own uid and gid. --name records a name that status, rotate\n"
        "and revoke accept besides the id (e.g. the Docker container's name).\n";

/* The owner of a running process, as the host sees it. */
static int proc_owner(pid_t pid, uint32_t *ret_uid, uint32_t *ret_gid) {
        char path[64];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
        int r = read_file_at(AT_FDCWD, path, 65536, &text, NULL);
        if (r < 0)
                return r;
        const char *u = strstr(text, "\nUid:"), *g = strstr(text, "\nGid:");
        if (!u || !g || sscanf(u + 5, "%u", ret_uid) != 1 || sscanf(g + 5, "%u", ret_gid) != 1)
                return -EINVAL;
        return 0;
}

static int add_annotation(json_t *ann, const char *key, const char *value) {
        return json_object_set_new(ann, key, json_string(value)) < 0 ? -ENOMEM : 0;
}

/* inject's options become the same annotations a hook would read: one request parser. */
static int inject_parse(int argc, char **argv, json_t *ann, pid_t *ret_pid, const char **ret_id,
                        const char **ret_name) {
        static const struct option opts[] = {
                {"pid", required_argument, NULL, 'p'},
                {"id", required_argument, NULL, 'i'},
                {"name", required_argument, NULL, 'n'},
                {"dir", required_argument, NULL, 'd'},
                {"uid", required_argument, NULL, 'u'},
                {"gid", required_argument, NULL, 'g'},
                {"role", required_argument, NULL, 'r'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        uint64_t pid = 0;
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
                const char *key = NULL;
                switch (c) {
                case 'p':
                        if (parse_uint64(optarg, &pid) < 0 || pid < 1 || pid > INT32_MAX)
                                return log_error("inject: --pid %s: a process id", optarg);
                        break;
                case 'i':
                        *ret_id = optarg;
                        break;
                case 'n':
                        if (!container_name_is_valid(optarg))
                                return log_error("inject: --name: 1 to %d of letters, digits, "
                                                 "'_', '.', ':', '/', '-'",
                                                 CONTAINER_NAME_MAX);
                        *ret_name = optarg;
                        break;
                case 'd':
                        key = "io.lockbox.dir";
                        break;
                case 'u':
                        key = "io.lockbox.uid";
                        break;
                case 'g':
                        key = "io.lockbox.gid";
                        break;
                case 'r':
                        key = "io.lockbox.role";
                        break;
                case 'h':
                        fputs(inject_usage, stdout);
                        return 1;
                default:
                        return broker_option_error("inject", c, argv);
                }
                if (key && add_annotation(ann, key, optarg) < 0)
                        return -ENOMEM;
        }
        if (!pid)
                return log_error("inject: --pid is required");
        if (optind >= argc)
                return log_error("inject: no NAME=REF given");
        for (int i = optind; i < argc; i++) {
                char key[256];
                const char *eq = strchr(argv[i], '=');
                if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) > 128)
                        return log_error("inject: argument %d: NAME=REF expected", i - optind + 1);
                snprintf(key, sizeof key, "io.lockbox.secret.%.*s", (int)(eq - argv[i]), argv[i]);
                if (json_object_get(ann, key))
                        return log_error("inject: secret '%s' given twice", key + 18);
                if (add_annotation(ann, key, eq + 1) < 0)
                        return -ENOMEM;
        }
        *ret_pid = (pid_t)pid;
        return 0;
}

int cmd_inject(const struct broker_ctx *ctx, int argc, char **argv) {
        _cleanup_json_ json_t *ann = json_object();
        _cleanup_(request_done) struct request req = {0};
        _cleanup_config_ struct broker_config *cfg = NULL;
        const char *id = NULL, *name = NULL;
        char default_id[32];
        pid_t pid = 0;

        if (!ann)
                return EXIT_FAILED;
        int r = inject_parse(argc, argv, ann, &pid, &id, &name);
        if (r != 0)
                return r > 0 ? EXIT_DONE : EXIT_USAGE;
        if (!id) {
                snprintf(default_id, sizeof default_id, "pid-%d", (int)pid);
                id = default_id;
        }
        if (!state_id_is_valid(id)) {
                log_error("inject: invalid --id (letters, digits, '_', '.', '-')");
                return EXIT_USAGE;
        }
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE)
                return status;
        if (request_build(ann, NULL, 0, cfg, &req) < 0)
                return EXIT_USAGE;

        struct placement p = {.container_id = id, .name = name, .pid = pid, .rootfs = "/"};
        r = proc_owner(pid, &p.host_uid, &p.host_gid);
        if (r < 0) {
                log_error_errno(r, "inject: process %d", (int)pid);
                return EXIT_FAILED;
        }
        p.uid = p.host_uid;
        p.gid = p.host_gid;
        if (req.uid_set || req.gid_set) {
                p.uid = req.uid_set ? req.uid : 0;
                p.gid = req.gid_set ? req.gid : 0;
                r = idmap_pid_to_host(pid, p.uid, p.gid, &p.host_uid, &p.host_gid);
                if (r < 0) {
                        log_error_errno(r, "inject: owner %u:%u is not mapped to the host", p.uid,
                                        p.gid);
                        return EXIT_USAGE;
                }
        }
        return place_request(cfg, &p, &req);
}
