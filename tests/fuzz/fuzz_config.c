/* SPDX-License-Identifier: Apache-2.0 */
/* The broker configuration (DESIGN §5). Root owns it, but a mistake in it must be one clear
 * line, never a crash; and what parses must hold the promises config.h makes. */
#include <fnmatch.h>

#include "request/config.h"
#include "fuzz.h"
#include "manifest.h"
#include "request/policy.h"
#include "request/ref.h"

static void check_path(const char *p) {
        fuzz_assert(p && p[0] == '/');
        for (const unsigned char *c = (const unsigned char *)p; *c; c++)
                fuzz_assert(*c >= 0x20 && *c != 0x7f);
        size_t n = strlen(p);
        fuzz_assert(!strstr(p, "/../") && !(n >= 3 && strcmp(p + n - 3, "/..") == 0));
}

static void check_config(const struct broker_config *c) {
        check_path(c->state_dir);
        check_path(c->default_dir);
        if (c->audit_log)
                check_path(c->audit_log);
        fuzz_assert((c->default_mode & ~0777U) == 0);
        fuzz_assert(c->tmpfs_size >= 1 && c->tmpfs_size <= 64ULL * 1024 * 1024);
        fuzz_assert(c->timeout_ms >= 1 && c->timeout_ms <= 600000);
        /* "backends": {} is valid: every request then fails with "no backend". */
        for (size_t i = 0; i < c->n_backends; i++) {
                const struct backend_config *b = &c->backends[i];
                fuzz_assert(b->name && *b->name && !strpbrk(b->name, ":/*?[]"));
                fuzz_assert(b->type && json_is_object(b->raw));
                fuzz_assert(!strcmp(b->type, "store") || !strcmp(b->type, "vault") ||
                            !strcmp(b->type, "keywhiz"));
                if (!strcmp(b->type, "store")) {
                        check_path(b->store_dir);
                        check_path(b->store_key_file);
                }
                fuzz_assert(config_find_backend(c, b->name));
        }
        for (size_t i = 0; i < c->n_roles; i++) {
                const struct role *r = &c->roles[i];
                fuzz_assert(secret_name_is_valid(r->name));
                fuzz_assert(config_find_role(c, r->name) == r);
                fuzz_assert(!r->auth || json_is_object(r->auth));
                for (size_t j = 0; j < r->n_allow; j++)
                        fuzz_assert(r->allow[j] && *r->allow[j]);
        }
}

/* Deny by default, whatever the config: a role that allows nothing allows no ref, and every
 * decision is one a glob of the role made. */
static void check_policy(const struct broker_config *c) {
        static const char *const refs[] = {"store:db", "vault:secret/web/db#pw@3",
                                           "keywhiz:api-key"};
        static const json_t *no_annotations;
        for (size_t i = 0; i < c->n_roles; i++) {
                const struct role *role = &c->roles[i], *sel = NULL;
                if (policy_select_role(c, role->name, no_annotations, NULL, 0, NULL, &sel) == 0)
                        fuzz_assert(sel == role && role->n_when == 0);
                for (size_t k = 0; k < ARRAY_SIZE(refs); k++) {
                        struct ref ref;
                        fuzz_assert(ref_parse(refs[k], &ref) == 0);
                        if (policy_check_ref(role, &ref) == 0) {
                                char *key = ref_policy_key(&ref);
                                bool some = false;
                                for (size_t j = 0; j < role->n_allow; j++)
                                        some |= fnmatch(role->allow[j], key, 0) == 0;
                                fuzz_assert(some);
                                free(key);
                        }
                        ref_done(&ref);
                }
        }
        /* A role the config does not name is denied, never a fallback. */
        const struct role *any = NULL;
        int r = policy_select_role(c, "no-such-role", no_annotations, NULL, 0, NULL, &any);
        fuzz_assert(config_find_role(c, "no-such-role") ? (r < 0 || any) : r < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_config_ struct broker_config *c = NULL;

        fuzz_init();
        if (config_parse((const char *)data, size, "/etc/lockbox/fuzz.json", &c) < 0) {
                fuzz_assert(!c);
                return 0;
        }
        fuzz_assert(c && c->path);
        check_config(c);
        check_policy(c);
        return 0;
}
