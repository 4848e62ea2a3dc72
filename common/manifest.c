/* SPDX-License-Identifier: Apache-2.0 */
#include "manifest.h"

#include <string.h>

#include "fdutil.h"
#include "json.h"

bool secret_name_is_valid(const char *name) {
        size_t len = name ? strlen(name) : 0;
        if (len == 0 || len > SECRET_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = name[i];
                bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                             (c >= '0' && c <= '9') || c == '_';
                if (!alnum && (i == 0 || (c != '.' && c != '-')))
                        return false;
        }
        return true;
}

static int entry_parse(json_t *e, struct manifest_entry *ret) {
        const char *name, *file, *mode, *hash;
        json_int_t size;
        json_error_t jerr;

        if (json_unpack_ex(e, &jerr, JSON_STRICT, "{s:s, s:s, s:I, s:s, s:s}", "name", &name,
                           "file", &file, "size", &size, "mode", &mode, "blake2b", &hash) < 0)
                return -EINVAL;
        if (!secret_name_is_valid(name) || !secret_name_is_valid(file) || size < 0)
                return -EINVAL;
        if (parse_mode(mode, &ret->mode) < 0 || hash_from_hex(hash, ret->blake2b) < 0)
                return -EINVAL;
        strcpy(ret->name, name);
        strcpy(ret->file, file);
        ret->size = (uint64_t)size;
        return 0;
}

int manifest_parse(const char *buf, size_t size, struct manifest **ret) {
        _cleanup_json_ json_t *root = NULL;
        _cleanup_manifest_ struct manifest *m = NULL;
        json_t *secrets;
        json_int_t version, generation;
        const char *container;
        char err[128];
        json_error_t jerr;

        if (json_parse_strict(buf, size, MANIFEST_MAX_BYTES, &root, err, sizeof err) < 0)
                return -EINVAL;
        if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:I, s:s, s:I, s:o}", "version", &version,
                           "container", &container, "generation", &generation, "secrets",
                           &secrets) < 0)
                return -EINVAL;
        if (version != MANIFEST_VERSION || generation < 1 || !json_is_array(secrets) ||
            strlen(container) >= sizeof m->container ||
            json_array_size(secrets) > MANIFEST_MAX_SECRETS)
                return -EINVAL;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->version = (unsigned)version;
        m->generation = (uint64_t)generation;
        strcpy(m->container, container);
        m->n_entries = json_array_size(secrets);
        m->entries = calloc(m->n_entries ? m->n_entries : 1, sizeof *m->entries);
        if (!m->entries)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_entries; i++) {
                if (entry_parse(json_array_get(secrets, i), &m->entries[i]) < 0)
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (streq_ptr(m->entries[j].name, m->entries[i].name) ||
                            streq_ptr(m->entries[j].file, m->entries[i].file))
                                return -EINVAL;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

int manifest_format(const struct manifest *m, char **ret) {
        _cleanup_json_ json_t *secrets = json_array();
        if (!secrets)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_entries; i++) {
                const struct manifest_entry *e = &m->entries[i];
                char hex[2 * SECRET_HASH_BYTES + 1], mode[8];
                hash_to_hex(e->blake2b, hex);
                snprintf(mode, sizeof mode, "%04o", (unsigned)e->mode);
                json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "name", e->name, "file", e->file,
                                      "size", (json_int_t)e->size, "mode", mode, "blake2b", hex);
                if (!o || json_array_append_new(secrets, o) < 0)
                        return -ENOMEM;
        }
        _cleanup_json_ json_t *root = json_pack("{s:i, s:s, s:I, s:O}", "version", MANIFEST_VERSION,
                                                "container", m->container, "generation",
                                                (json_int_t)m->generation, "secrets", secrets);
        if (!root)
                return -ENOMEM;
        return json_dump_compact(root, ret);
}

struct manifest *manifest_free(struct manifest *m) {
        if (!m)
                return NULL;
        free(m->entries);
        free(m);
        return NULL;
}
