/* SPDX-License-Identifier: Apache-2.0 */
#include "record.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "place/place.h"

enum rotate_outcome rotate_classify(const json_t *entry, const struct fetched_secret *f,
                                    const char *digest) {
        bool placed = json_is_true(json_object_get(entry, "placed"));
        if (!f->value)
                return placed ? ROTATE_KEPT : ROTATE_UNCHANGED;
        if (!placed)
                return ROTATE_ADDED;
        /* No digest recorded (a key that could not be made at placement): the value may have
         * changed, and placing it again is harmless where missing a change is not. */
        const char *old_digest = json_get_string(entry, "digest");
        if (!old_digest || !streq_ptr(old_digest, digest))
                return ROTATE_CHANGED;
        /* The same bytes under a new version (Vault KV v2) is still a new version: the
         * operator asked for it, and the record must say which version the container holds. */
        const char *old_version = json_get_string(entry, "version");
        if (old_version && f->version && !streq_ptr(old_version, f->version))
                return ROTATE_CHANGED;
        return ROTATE_UNCHANGED;
}

void rotate_format_line(char *buf, size_t size, const char *id, const struct rotate_item *it) {
        const char *name = it->req.name;
        const char *old_v = json_get_string(it->entry, "version");
        const char *new_v = it->fetched.version;

        switch (it->outcome) {
        case ROTATE_UNCHANGED:
                snprintf(buf, size, "%s %s: unchanged", id, name);
                break;
        case ROTATE_CHANGED:
                if (old_v && new_v)
                        snprintf(buf, size, "%s %s: rotated (v%s \u2192 v%s)", id, name, old_v,
                                 new_v);
                else if (new_v)
                        snprintf(buf, size, "%s %s: rotated (\u2192 v%s)", id, name, new_v);
                else if (it->fetched.lease_id)
                        snprintf(buf, size, "%s %s: rotated (new lease)", id, name);
                else
                        snprintf(buf, size, "%s %s: rotated", id, name);
                break;
        case ROTATE_ADDED:
                snprintf(buf, size, "%s %s: added%s%s%s", id, name, new_v ? " (v" : "",
                         new_v ? new_v : "", new_v ? ")" : "");
                break;
        case ROTATE_KEPT:
                snprintf(buf, size,
                         "%s %s: kept (gone from the backend; optional, the application keeps "
                         "its value)",
                         id, name);
                break;
        case ROTATE_FAILED:
                snprintf(buf, size, "%s %s: failed: %s", id, name, it->why);
                break;
        }
}

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const struct manifest_entry *)a)->name,
                      ((const struct manifest_entry *)b)->name);
}

int rotate_merge_manifest(const struct manifest *cur, uint64_t generation,
                          const struct tmpfs_file *files, size_t n, struct manifest **ret) {
        _cleanup_manifest_ struct manifest *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->entries = calloc(cur->n_entries + n + 1, sizeof *m->entries);
        if (!m->entries)
                return -ENOMEM;
        m->version = MANIFEST_VERSION;
        m->generation = generation;
        memcpy(m->container, cur->container, sizeof m->container);
        memcpy(m->entries, cur->entries, cur->n_entries * sizeof *m->entries);
        m->n_entries = cur->n_entries;
        for (size_t i = 0; i < n; i++) {
                struct manifest_entry *e = NULL;
                for (size_t j = 0; j < m->n_entries && !e; j++)
                        if (streq_ptr(m->entries[j].name, files[i].name))
                                e = &m->entries[j];
                if (!e)
                        e = &m->entries[m->n_entries++];
                snprintf(e->name, sizeof e->name, "%s", files[i].name);
                snprintf(e->file, sizeof e->file, "%s", tmpfs_file_name(&files[i]));
                e->size = secret_size(files[i].value);
                e->mode = files[i].mode;
                secret_hash(files[i].value, e->blake2b);
        }
        if (m->n_entries > MANIFEST_MAX_SECRETS)
                return -E2BIG;
        qsort(m->entries, m->n_entries, sizeof *m->entries, entry_cmp);
        *ret = TAKE_PTR(m);
        return 0;
}

static int retire_lease(json_t *state, const struct rotate_item *it, json_int_t generation) {
        const char *old = json_get_string(it->entry, "lease_id");
        if (!old || streq_ptr(old, it->fetched.lease_id))
                return 0;
        json_t *retired = json_object_get(state, "retired_leases");
        if (!json_is_array(retired)) {
                retired = json_array();
                if (!retired || json_object_set_new(state, "retired_leases", retired) < 0)
                        return -ENOMEM;
        }
        json_t *o = json_pack("{s:s, s:s?, s:s, s:I}", "lease_id", old, "ref",
                              json_get_string(it->entry, "ref"), "name", it->req.name, "generation",
                              generation);
        return o && json_array_append_new(retired, o) == 0 ? 0 : -ENOMEM;
}

int rotate_record(json_t *state, const struct rotate_item *items, size_t n,
                  const struct secret *digest_key, uint64_t generation, const char *now) {
        json_t *secrets = json_object_get(state, "secrets");
        json_int_t previous = json_integer_value(json_object_get(state, "generation"));

        for (size_t i = 0; i < n; i++) {
                const struct rotate_item *it = &items[i];
                if (it->outcome != ROTATE_CHANGED && it->outcome != ROTATE_ADDED)
                        continue;
                int r = retire_lease(state, it, previous);
                if (r < 0)
                        return r;
                json_t *e = place_secret_entry(&it->req, &it->fetched, digest_key);
                if (!e || json_array_set_new(secrets, it->index, e) < 0)
                        return -ENOMEM;
        }
        if (json_object_set_new(state, "generation", json_integer((json_int_t)generation)) < 0 ||
            json_object_set_new(state, "last_rotation", json_string(now)) < 0)
                return -ENOMEM;
        return 0;
}

void rotate_reason(const char *captured, const char *name, const char *ref, char *buf,
                   size_t size) {
        char line[ROTATE_WHY_MAX + REF_MAX + 2 * SECRET_NAME_MAX];
        char prefix[REF_MAX + SECRET_NAME_MAX + 32];
        log_capture_last(captured, line, sizeof line);
        const char *start = line;
        snprintf(prefix, sizeof prefix, "secret '%s' (%s): ", name ? name : "", ref ? ref : "");
        if (name && ref && strncmp(start, prefix, strlen(prefix)) == 0 &&
            start[strlen(prefix)] != '\0')
                start += strlen(prefix);
        snprintf(buf, size, "%s", start[0] ? start : "no reason given (run with -v)");
}

/* ---- the secrets of one container -------------------------------------------------------- */
