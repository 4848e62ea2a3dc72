/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "fetch/privsep.h"
#include "fetch/syscall_filter.h"
#include "cmd.h"
#include "log.h"
#include "perm.h"
#include "place/state.h"
#include "fetch/store.h"

static const char check_usage[] =
        "Usage: lockbox-broker check\n"
        "\n"
        "Before any container runs: validate the configuration; check the state directory, the\n"
        "store's key and directory and every credential file (owner, mode: what the broker\n"
        "would refuse, it refuses here, in the same line); say how the secret fetcher is\n"
        "confined (its uid and seccomp filter); reach each backend and log in.\n"
        "One line each; exit 0 when all are usable.\n";

/* "ok (mode 0400, owner root)" for path, whose checks passed. */
static void print_ok(const char *what, const char *path) {
        struct stat st;
        char found[64] = "";
        if (lstat(path, &st) == 0)
                perm_describe(&st, found, sizeof found);
        printf("%s %s: ok%s%s%s\n", what, path, found[0] ? " (" : "", found, found[0] ? ")" : "");
}

static int check_store(const struct backend_config *b) {
        struct store st = {.dir = b->store_dir, .key_file = b->store_key_file};
        char **names = NULL;
        int r = store_check(&st);
        if (r == -ENOKEY)
                return log_error("store key %s: missing (lockbox-broker store init makes it)",
                                 b->store_key_file);
        if (r == -EPERM) /* refused in a line that says why (store.h) */
                return r;
        if (r < 0)
                return log_error_errno(r, "backend %s (store %s)", b->name, b->store_dir);
        print_ok("store key", b->store_key_file);
        if ((r = store_list(&st, &names)) < 0)
                return log_error_errno(r, "backend %s (store %s)", b->name, b->store_dir);
        size_t n = 0;
        while (names[n])
                n++;
        strv_free(names);
        printf("backend %s (store %s): ok, %zu secret(s)\n", b->name, b->store_dir, n);
        return 0;
}

/* The files whose content is a credential: refused by the broker when others can read them
 * (fetch/vault_auth.c). A private key only gets a warning: the broker does not refuse it. */
static bool key_is_secret(const char *key) {
        return streq_ptr(key, "token_file") || streq_ptr(key, "role_id_file") ||
               streq_ptr(key, "secret_id_file") || streq_ptr(key, "jwt_file");
}

static int check_credential(const char *key, const char *path, const char *jpath) {
        struct stat st;
        char what[320];
        snprintf(what, sizeof what, "credential (%s)", jpath);
        _cleanup_close_ int fd =
                open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return log_error_errno(errno, "%s %s: cannot open", what, path);
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "%s %s", what, path);
        if (!S_ISREG(st.st_mode))
                return log_error("%s %s: refusing: not a regular file", what, path);
        if (key_is_secret(key) && (st.st_mode & 0004))
                return perm_refuse(what, path, &st, st.st_uid, 0004);
        if (streq_ptr(key, "key_file") && (st.st_mode & 0004))
                log_warning("%s %s: a private key readable by others (mode %04o): chmod o-r %s",
                            what, path, (unsigned)(st.st_mode & 07777), path);
        print_ok(what, path);
        return 0;
}

/* Every string under a key ending in "_file", at any depth (credfile.c reads the same). */
static int check_credentials(const json_t *v, const char *jpath) {
        const char *key;
        json_t *child;
        size_t i;
        int failed = 0;
        char sub[256];

        if (json_is_array(v)) {
                json_array_foreach((json_t *)v, i, child) {
                        snprintf(sub, sizeof sub, "%s[%zu]", jpath, i);
                        failed += check_credentials(child, sub);
                }
                return failed;
        }
        json_object_foreach((json_t *)v, key, child) {
                size_t len = strlen(key);
                snprintf(sub, sizeof sub, "%s.%s", jpath, key);
                if (json_is_string(child) && len > 5 && streq_ptr(key + len - 5, "_file"))
                        failed += check_credential(key, json_string_value(child), sub) < 0;
                else if (json_is_object(child) || json_is_array(child))
                        failed += check_credentials(child, sub);
        }
        return failed;
}

static int check_backend(const struct broker_config *cfg, const struct backend_config *b) {
        char jpath[128];
        if (streq_ptr(b->type, "store"))
                return check_store(b) < 0;
        snprintf(jpath, sizeof jpath, "backends.%s", b->name);
        int failed = check_credentials(b->raw, jpath);
        /* A refused file would fail the login too: said once is enough. */
        if (failed)
                return failed;
        return privsep_check(cfg, b) < 0;
}

/* How the fetcher is confined here: its filter, none by the configuration's word (said, not a
 * failure), or none possible (a failure: every fetch is refused). */
static int check_fetcher(const struct broker_config *cfg) {
        int state = privsep_filter_state(cfg);
        if (state == PRIVSEP_FILTERED) {
                printf("fetcher: uid %u gid %u, seccomp filter for %s: ok\n",
                       (unsigned)cfg->fetch_uid, (unsigned)cfg->fetch_gid,
                       syscall_filter_native_name());
                return 0;
        }
        if (state == PRIVSEP_UNFILTERED) {
                printf("fetcher: uid %u gid %u, WITHOUT a seccomp filter (\"fetcher\": "
                       "{\"seccomp\": false})\n",
                       (unsigned)cfg->fetch_uid, (unsigned)cfg->fetch_gid);
                return 0;
        }
        return log_error_errno(state,
                               "fetcher: no seccomp filter for this architecture (%s): every "
                               "fetch is refused unless \"fetcher\": {\"seccomp\": false}",
                               syscall_filter_native_name());
}

int cmd_check(const struct broker_ctx *ctx, int argc, char **argv) {
        _cleanup_config_ struct broker_config *cfg = NULL;
        _cleanup_close_ int state_fd = -1;
        int failed = 0;

        if (argc > 1 && (streq_ptr(argv[1], "--help") || streq_ptr(argv[1], "-h")))
                return fputs(check_usage, stdout), EXIT_DONE;
        if (argc > 1) {
                log_error("check: no arguments expected");
                return EXIT_USAGE;
        }
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE)
                return status;
        /* Its lines and the refusals on stderr in the order they happen, also into a file. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("config %s: ok, %zu backend(s), %zu role(s)\n",
               cfg->path ? cfg->path : "(embedded default)", cfg->n_backends, cfg->n_roles);
        /* Made right here when it is ours and merely too open (perm.h), and said so. */
        int r = state_dir_open(cfg->state_dir, &state_fd);
        if (r < 0 && r != -EPERM)
                log_error_errno(r, "state directory %s", cfg->state_dir);
        if (r < 0)
                failed++;
        else
                print_ok("state directory", cfg->state_dir);
        if (check_fetcher(cfg) < 0)
                failed++;
        for (size_t i = 0; i < cfg->n_backends; i++)
                failed += check_backend(cfg, &cfg->backends[i]);
        for (size_t i = 0; i < cfg->n_roles; i++) {
                char jpath[128];
                snprintf(jpath, sizeof jpath, "roles[%zu].auth", i);
                if (cfg->roles[i].auth)
                        failed += check_credentials(cfg->roles[i].auth, jpath);
        }
        return failed ? EXIT_FAILED : EXIT_DONE;
}
