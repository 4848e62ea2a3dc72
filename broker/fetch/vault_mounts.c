/* SPDX-License-Identifier: Apache-2.0 */
#include "vault_mounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VAULT_MOUNTS_MAX 256 /* the oldest goes first beyond this */

struct vault_mounts_entry {
        char *scope, *path, *type;
        int kv_version;
        uint64_t learned_ms;
};

static struct vault_mounts_entry entries[VAULT_MOUNTS_MAX];
static size_t n_entries;
static bool remembering;

static bool vault_mounts_fresh(const struct vault_mounts_entry *e, uint64_t now_ms) {
        return now_ms - e->learned_ms < VAULT_MOUNTS_TTL_MS;
}

void vault_mounts_remember(void) {
        remembering = true;
}

bool vault_mounts_remembering(void) {
        return remembering;
}

int vault_mounts_scope(const char *backend, const char *address, const char *namespace,
                       char **ret) {
        backend = backend ?: "";
        address = address ?: "";
        namespace = namespace ?: "";
        /* Each length first: no two triples give one scope, whatever characters they hold. */
        return asprintf(ret, "%zu %s %zu %s %s", strlen(backend), backend, strlen(address), address,
                        namespace) < 0
                       ? -ENOMEM
                       : 0;
}

static void vault_mounts_drop(size_t i) {
        free(entries[i].scope);
        free(entries[i].path);
        free(entries[i].type);
        memmove(&entries[i], &entries[i + 1], (n_entries - i - 1) * sizeof entries[0]);
        entries[--n_entries] = (struct vault_mounts_entry){0};
}

void vault_mounts_forget(const char *scope, const char *path) {
        for (size_t i = n_entries; i-- > 0;)
                if (streq_ptr(entries[i].scope, scope) && streq_ptr(entries[i].path, path))
                        vault_mounts_drop(i);
}

int vault_mounts_learn(const char *scope, const struct vault_mount *m, uint64_t now_ms) {
        if (!remembering || !m->path || !m->type)
                return 0;
        vault_mounts_forget(scope, m->path);
        for (size_t i = n_entries; i-- > 0;)
                if (!vault_mounts_fresh(&entries[i], now_ms))
                        vault_mounts_drop(i);
        if (n_entries == VAULT_MOUNTS_MAX)
                vault_mounts_drop(0); /* entries are in the order they were learned */
        struct vault_mounts_entry *e = &entries[n_entries];
        e->scope = strdup(scope);
        e->path = strdup(m->path);
        e->type = strdup(m->type);
        e->kv_version = m->kv_version;
        e->learned_ms = now_ms;
        n_entries++;
        if (!e->scope || !e->path || !e->type) {
                vault_mounts_drop(n_entries - 1);
                return -ENOMEM;
        }
        return 0;
}

int vault_mounts_recall(const char *scope, const char *ref_path, uint64_t now_ms,
                        struct vault_mount *ret) {
        const struct vault_mounts_entry *best = NULL;
        for (size_t i = 0; remembering && i < n_entries; i++) {
                const struct vault_mounts_entry *e = &entries[i];
                if (!streq_ptr(e->scope, scope) || !vault_mounts_fresh(e, now_ms))
                        continue;
                if (!vault_mount_covers(&(struct vault_mount){.path = e->path}, ref_path))
                        continue;
                if (!best || strlen(e->path) > strlen(best->path))
                        best = e;
        }
        if (!best)
                return -ENOENT;
        *ret = (struct vault_mount){
                .path = strdup(best->path),
                .type = strdup(best->type),
                .kv_version = best->kv_version,
                .status = 200,
        };
        if (!ret->path || !ret->type) {
                vault_mount_done(ret);
                return -ENOMEM;
        }
        return 0;
}

void vault_mounts_reset(void) {
        while (n_entries > 0)
                vault_mounts_drop(n_entries - 1);
        remembering = false;
}

size_t vault_mounts_count(uint64_t now_ms) {
        size_t n = 0;
        for (size_t i = 0; i < n_entries; i++)
                n += vault_mounts_fresh(&entries[i], now_ms);
        return n;
}
