/* SPDX-License-Identifier: Apache-2.0 */
#include "token_memory.h"

#include <string.h>

#define TOKEN_MEMORY_MAX 64 /* logins a configuration can name: backends x roles */

#define TOKEN_MEMORY_NAME_MAX 128 /* vault_auth.c's cache names: "BACKEND.HASH" */

static struct token_memory {
        char name[TOKEN_MEMORY_NAME_MAX]; /* "" for a free entry */
        struct token_cache_entry e;
} entries[TOKEN_MEMORY_MAX];
static unsigned n_stores;

static struct token_memory *token_memory_find(const char *name) {
        for (size_t i = 0; i < ARRAY_SIZE(entries); i++)
                if (entries[i].name[0] && streq_ptr(entries[i].name, name))
                        return &entries[i];
        return NULL;
}

/* Not token_cache_entry_done: token_cache.c calls this file, never the other way round. */
static void token_memory_entry_done(struct token_cache_entry *e) {
        e->token = secret_free(e->token);
        e->secret_id = secret_free(e->secret_id);
        *e = (struct token_cache_entry){0};
}

/* dst gets copies of src's buffers (sodium memory: locked, wiped when freed). */
static int token_memory_copy(const struct token_cache_entry *src, struct token_cache_entry *dst) {
        *dst = (struct token_cache_entry){.expires = src->expires, .ttl = src->ttl};
        memcpy(dst->wrapped, src->wrapped, sizeof dst->wrapped);
        int r = src->token ? secret_new_copy(secret_cdata(src->token), secret_size(src->token),
                                             &dst->token)
                           : 0;
        if (r >= 0 && src->secret_id)
                r = secret_new_copy(secret_cdata(src->secret_id), secret_size(src->secret_id),
                                    &dst->secret_id);
        if (r < 0)
                token_memory_entry_done(dst);
        return r;
}

int token_memory_load(const char *name, struct token_cache_entry *ret) {
        const struct token_memory *m = token_memory_find(name);
        if (!m)
                return -ENOENT;
        return token_memory_copy(&m->e, ret);
}

int token_memory_store(const char *name, const struct token_cache_entry *e) {
        struct token_memory *m = token_memory_find(name);
        if (!name[0] || strlen(name) >= sizeof m->name)
                return -ENAMETOOLONG;
        for (size_t i = 0; !m && i < ARRAY_SIZE(entries); i++)
                if (!entries[i].name[0])
                        m = &entries[i];
        if (!m)
                return -ENOSPC;
        struct token_cache_entry copy;
        int r = token_memory_copy(e, &copy);
        if (r < 0)
                return r;
        snprintf(m->name, sizeof m->name, "%s", name);
        token_memory_entry_done(&m->e);
        m->e = copy;
        n_stores++;
        return 0;
}

void token_memory_remove(const char *name) {
        struct token_memory *m = token_memory_find(name);
        if (!m)
                return;
        token_memory_entry_done(&m->e);
        m->name[0] = '\0';
}

unsigned token_memory_stores(void) {
        return n_stores;
}
