/* SPDX-License-Identifier: Apache-2.0 */
#include "agent_digest.h"

#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "json.h"

#define AGENT_DIGEST_DEPTH 8

static void agent_digest_add(crypto_generichash_state *st, const void *data, size_t size) {
        crypto_generichash_update(st, data, size);
}

/* What a file is now: its path, then its identity and metadata, or why it cannot be seen. A
 * credential file is opened O_NOFOLLOW (lstat); the broker's binary through its magic link. */
static void agent_digest_file(crypto_generichash_state *st, const char *path, bool follow) {
        struct stat s;
        agent_digest_add(st, path, strlen(path) + 1);
        if ((follow ? stat(path, &s) : lstat(path, &s)) < 0) {
                int e = errno;
                agent_digest_add(st, &e, sizeof e);
                return;
        }
        const uint64_t meta[] = {
                (uint64_t)s.st_dev,         (uint64_t)s.st_ino,
                (uint64_t)s.st_size,        (uint64_t)s.st_mode,
                (uint64_t)s.st_uid,         (uint64_t)s.st_gid,
                (uint64_t)s.st_mtim.tv_sec, (uint64_t)s.st_mtim.tv_nsec,
                (uint64_t)s.st_ctim.tv_sec, (uint64_t)s.st_ctim.tv_nsec,
        };
        agent_digest_add(st, meta, sizeof meta);
}

/* Every string under a key ending in "_file", at any depth (credfile.c opens the same). */
static void agent_digest_walk(crypto_generichash_state *st, const json_t *v, unsigned depth) {
        const char *key;
        json_t *child;
        size_t i;

        if (depth > AGENT_DIGEST_DEPTH)
                return;
        if (json_is_array(v)) {
                json_array_foreach((json_t *)v, i, child) {
                        agent_digest_walk(st, child, depth + 1);
                }
                return;
        }
        if (!json_is_object(v))
                return;
        json_object_foreach((json_t *)v, key, child) {
                size_t len = strlen(key);
                if (json_is_string(child) && len > 5 && streq_ptr(key + len - 5, "_file"))
                        agent_digest_file(st, json_string_value(child), false);
                else
                        agent_digest_walk(st, child, depth + 1);
        }
}

int agent_digest(const struct broker_config *cfg, uint8_t ret[AGENT_DIGEST_BYTES]) {
        static const char tag[] = "lockbox-agent 1";
        crypto_generichash_state st;

        if (crypto_generichash_init(&st, NULL, 0, AGENT_DIGEST_BYTES) < 0)
                return -EIO;
        agent_digest_add(&st, tag, sizeof tag);
        agent_digest_add(&st, cfg->digest, sizeof cfg->digest);
        agent_digest_add(&st, cfg->state_dir, strlen(cfg->state_dir) + 1);
        agent_digest_file(&st, "/proc/self/exe", true);
        for (size_t i = 0; i < cfg->n_backends; i++)
                if (!streq_ptr(cfg->backends[i].type, "store"))
                        agent_digest_walk(&st, cfg->backends[i].raw, 0);
        for (size_t i = 0; i < cfg->n_roles; i++)
                agent_digest_walk(&st, cfg->roles[i].auth, 0);
        return crypto_generichash_final(&st, ret, AGENT_DIGEST_BYTES) < 0 ? -EIO : 0;
}
