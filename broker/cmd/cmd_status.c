/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "cmd.h"
#include "fetch/agent_client.h"
#include "fetch/privsep.h"
#include "log.h"
#include "place/place.h"
#include "place/state.h"

static const char status_usage[] =
        "Usage: lockbox-broker status [--json] [CONTAINER]\n"
        "       lockbox-broker status --agent [--json]\n"
        "\n"
        "Containers that hold secrets, one line each: id (12 characters), name, pid, whether it\n"
        "runs, role, generation, whether the shim consumed the tmpfs, the secrets' names.\n"
        "With CONTAINER (an id, a name or a unique id prefix): that one in full, with each\n"
        "secret's ref, version, lease and its expiry. Never a value. --json prints the records\n"
        "(an array; one object for CONTAINER), see lockbox-broker(8).\n"
        "The table starts with the warm fetch agent: pid, uid, uptime, requests, logins, Vault\n"
        "mounts remembered, and each backend's connections. --agent shows only the agent\n"
        "(--json: one object).\n";

static bool status_has_network_backend(const struct broker_config *cfg) {
        for (size_t i = 0; i < cfg->n_backends; i++)
                if (!streq_ptr(cfg->backends[i].type, "store"))
                        return true;
        return false;
}

/* The agent's object (agent_query_status), or {"running": false}; NULL where the configuration
 * has nothing for an agent to do (only the store), which the table then does not mention. */
static json_t *status_agent(const struct broker_config *cfg, bool always) {
        json_t *a = NULL;
        if (!always && !status_has_network_backend(cfg))
                return NULL;
        if (!cfg->agent_enabled)
                return json_pack("{s:b, s:b}", "running", 0, "enabled", 0);
        if (agent_query_status(cfg, &a) < 0)
                return json_pack("{s:b, s:b}", "running", 0, "enabled", 1);
        json_object_set_new(a, "running", json_true());
        json_object_set_new(a, "enabled", json_true());
        return a;
}

static void status_print_agent(const json_t *a) {
        size_t i;
        json_t *b;
        if (!json_is_true(json_object_get(a, "running"))) {
                printf("agent: %s\n", json_is_true(json_object_get(a, "enabled"))
                                              ? "not running (a hook starts it)"
                                              : "disabled (\"agent\": {\"enabled\": false})");
                return;
        }
#define AGENT_INT(k) json_integer_value(json_object_get(a, k))
        printf("agent pid=%" JSON_INTEGER_FORMAT " uid=%" JSON_INTEGER_FORMAT
               " uptime=%" JSON_INTEGER_FORMAT "s idle=%" JSON_INTEGER_FORMAT
               "s requests=%" JSON_INTEGER_FORMAT " logins=%" JSON_INTEGER_FORMAT
               " mounts=%" JSON_INTEGER_FORMAT "%s\n",
               AGENT_INT("pid"), AGENT_INT("uid"), AGENT_INT("uptime_s"), AGENT_INT("idle_s"),
               AGENT_INT("requests"), AGENT_INT("logins"), AGENT_INT("mounts"),
               json_is_true(json_object_get(a, "current")) ? ""
                                                           : " (stale: another configuration)");
#undef AGENT_INT
        json_array_foreach(json_object_get(a, "backends"), i, b) {
                printf("  %s %s connections=%" JSON_INTEGER_FORMAT " opened=%" JSON_INTEGER_FORMAT
                       " requests=%" JSON_INTEGER_FORMAT "\n",
                       json_get_string(b, "name"), json_get_string(b, "address") ?: "-",
                       json_integer_value(json_object_get(b, "connections")),
                       json_integer_value(json_object_get(b, "connections_opened")),
                       json_integer_value(json_object_get(b, "requests")));
        }
}

/* status --agent [--json] */
static int status_agent_only(const struct broker_config *cfg, bool as_json) {
        _cleanup_json_ json_t *a = status_agent(cfg, true);
        if (!a)
                return log_error_errno(-ENOMEM, "status"), EXIT_FAILED;
        if (!as_json)
                status_print_agent(a);
        else if (json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0)
                putchar('\n');
        return EXIT_DONE;
}

static bool container_alive(const json_t *s) {
        json_int_t pid = json_integer_value(json_object_get(s, "pid"));
        json_int_t start = json_integer_value(json_object_get(s, "pid_start"));
        unsigned long long now;
        return pid > 0 && proc_start_time((pid_t)pid, &now) >= 0 && (json_int_t)now == start;
}

#define STATUS_ID_WIDTH 12

static int name_width(const json_t *all) {
        size_t i, w = 4;
        json_t *s;
        json_array_foreach(all, i, s) {
                const char *name = json_get_string(s, "name");
                if (name && strlen(name) > w)
                        w = strlen(name);
        }
        return (int)(w > 40 ? 40 : w);
}

/* One line a container: what `docker ps` users expect, the secrets by name only. */
static void status_print_table(const json_t *all) {
        int nw = name_width(all);
        size_t i, k;
        json_t *s, *sec;

        printf("%-*s  %-*s  %7s  %-7s  %-10s  %3s  %-8s  %s\n", STATUS_ID_WIDTH, "ID", nw, "NAME",
               "PID", "STATE", "ROLE", "GEN", "CONSUMED", "SECRETS");
        json_array_foreach(all, i, s) {
                const char *name = json_get_string(s, "name");
                printf("%-*.*s  %-*s  %7" JSON_INTEGER_FORMAT
                       "  %-7s  %-10s  %3" JSON_INTEGER_FORMAT "  %-8s  ",
                       STATUS_ID_WIDTH, STATUS_ID_WIDTH, json_get_string(s, "id"), nw,
                       name ? name : "-", json_integer_value(json_object_get(s, "pid")),
                       json_is_true(json_object_get(s, "alive")) ? "running" : "gone",
                       json_get_string(s, "role"),
                       json_integer_value(json_object_get(s, "generation")),
                       json_is_true(json_object_get(s, "consumed")) ? "yes" : "no");
                json_array_foreach(json_object_get(s, "secrets"), k, sec) {
                        printf("%s%s", k ? "," : "", json_get_string(sec, "name"));
                }
                putchar('\n');
        }
}

static void status_print_one(const json_t *s) {
        size_t i;
        json_t *sec;

        const char *rotated = json_get_string(s, "last_rotation");
        const char *name = json_get_string(s, "name");
        printf("%s%s%s pid=%" JSON_INTEGER_FORMAT " %s role=%s generation=%" JSON_INTEGER_FORMAT
               " dir=%s consumed=%s%s%s\n",
               json_get_string(s, "id"), name ? " name=" : "", name ? name : "",
               json_integer_value(json_object_get(s, "pid")),
               json_boolean_value(json_object_get(s, "alive")) ? "running" : "gone",
               json_get_string(s, "role"), json_integer_value(json_object_get(s, "generation")),
               json_get_string(s, "dir"),
               json_is_true(json_object_get(s, "consumed")) ? "yes" : "no",
               rotated ? " rotated=" : "", rotated ? rotated : "");
        json_array_foreach(json_object_get(s, "secrets"), i, sec) {
                const char *version = json_get_string(sec, "version");
                const char *lease = json_get_string(sec, "lease_id");
                const char *expires = json_get_string(sec, "lease_expires");
                printf("  %s %s mode=%s%s%s%s%s%s%s%s\n", json_get_string(sec, "name"),
                       json_get_string(sec, "ref"), json_get_string(sec, "mode"),
                       version ? " version=" : "", version ? version : "", lease ? " lease=" : "",
                       lease ? lease : "", expires ? " expires=" : "", expires ? expires : "",
                       json_is_true(json_object_get(sec, "placed")) ? "" : " (skipped)");
        }
        size_t n_retired = json_array_size(json_object_get(s, "retired_leases"));
        if (n_retired)
                printf("  %zu replaced lease(s) waiting to be revoked\n", n_retired);
}

int cmd_status(const struct broker_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                             {"agent", no_argument, NULL, 'a'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_config_ struct broker_config *cfg = NULL;
        _cleanup_json_ json_t *all = NULL;
        bool as_json = false, agent_only = false;
        int c, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
                if (c == 'j')
                        as_json = true;
                else if (c == 'a')
                        agent_only = true;
                else if (c == 'h')
                        return fputs(status_usage, stdout), EXIT_DONE;
                else
                        return broker_option_error("status", c, argv), EXIT_USAGE;
        }
        if (argc - optind > (agent_only ? 0 : 1)) {
                log_error("status: at most one container, none with --agent");
                return EXIT_USAGE;
        }
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE)
                return status;
        /* On stderr: --json's stdout stays the documented array. */
        r = privsep_filter_state(cfg);
        if (r == PRIVSEP_UNFILTERED)
                log_warning("fetcher: runs WITHOUT a seccomp filter (\"fetcher\": {\"seccomp\": "
                            "false})");
        else if (r < 0)
                log_warning("fetcher: no seccomp filter for this architecture: fetches are "
                            "refused (see check)");
        if (agent_only)
                return status_agent_only(cfg, as_json);
        place_sweep(cfg);
        _cleanup_free_ char *id = NULL;
        if (optind < argc) {
                json_t *one;
                status = broker_find_container(cfg, "status", argv[optind], &id);
                if (status != EXIT_DONE)
                        return status;
                r = state_load(cfg->state_dir, id, &one);
                if (r < 0) {
                        log_error_errno(r, "status: container %s", id);
                        return EXIT_FAILED;
                }
                all = json_array();
                json_array_append_new(all, one);
        } else if ((r = state_load_all(cfg->state_dir, &all)) < 0) {
                if (r != -EPERM) /* refused in a line of its own (perm.h) */
                        log_error_errno(r, "status: state directory %s", cfg->state_dir);
                return EXIT_FAILED;
        }

        if (!as_json && !id) {
                _cleanup_json_ json_t *a = status_agent(cfg, false);
                if (a)
                        status_print_agent(a);
        }
        size_t i;
        json_t *s;
        json_array_foreach(all, i, s) {
                json_object_set_new(s, "alive", json_boolean(container_alive(s)));
                json_object_del(s, "pid_start");
                json_object_del(s, "watcher_start");
                /* The keyed digests are rotation's business and mean nothing to a reader. */
                size_t k;
                json_t *sec;
                json_array_foreach(json_object_get(s, "secrets"), k, sec) {
                        json_object_del(sec, "digest");
                }
                if (!as_json && id)
                        status_print_one(s);
        }
        if (as_json) {
                json_t *out = id ? json_array_get(all, 0) : all;
                /* json_dumps() would allocate with the wiping allocator (json.h), whose blocks
                 * free() must not be given: write straight to stdout instead. */
                if (json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0)
                        putchar('\n');
        } else if (json_array_size(all) == 0) {
                puts("no containers hold secrets");
        } else if (!id) {
                status_print_table(all);
        }
        return EXIT_DONE;
}
