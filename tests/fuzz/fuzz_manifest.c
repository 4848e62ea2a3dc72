/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest on the tmpfs (DESIGN §6): the shim parses it as PID 1 of a container whose
 * other processes may have written it. Whatever parses must format back and parse again to
 * the same manifest, and formatting must be stable. */
#include "fuzz.h"
#include "manifest.h"

static void check_manifest(const struct manifest *m) {
        fuzz_assert(m->version == MANIFEST_VERSION);
        fuzz_assert(m->generation >= 1);
        fuzz_assert(m->n_entries <= MANIFEST_MAX_SECRETS);
        fuzz_assert(strlen(m->container) < sizeof m->container);
        for (size_t i = 0; i < m->n_entries; i++) {
                const struct manifest_entry *e = &m->entries[i];
                /* Names and files become file names under DIR and env text: never a path. */
                fuzz_assert(secret_name_is_valid(e->name) && secret_name_is_valid(e->file));
                fuzz_assert(!strchr(e->file, '/') && e->file[0] != '.');
                fuzz_assert((e->mode & ~0777U) == 0);
                fuzz_assert(e->size <= INT64_MAX);
                for (size_t j = 0; j < i; j++)
                        fuzz_assert(strcmp(e->name, m->entries[j].name) != 0 &&
                                    strcmp(e->file, m->entries[j].file) != 0);
        }
}

static void check_same(const struct manifest *a, const struct manifest *b) {
        fuzz_assert(a->version == b->version && a->generation == b->generation);
        fuzz_assert(strcmp(a->container, b->container) == 0);
        fuzz_assert(a->n_entries == b->n_entries);
        for (size_t i = 0; i < a->n_entries; i++) {
                const struct manifest_entry *x = &a->entries[i], *y = &b->entries[i];
                fuzz_assert(strcmp(x->name, y->name) == 0 && strcmp(x->file, y->file) == 0);
                fuzz_assert(x->size == y->size && x->mode == y->mode);
                fuzz_assert(memcmp(x->blake2b, y->blake2b, sizeof x->blake2b) == 0);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_manifest_ struct manifest *m = NULL, *again = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;

        fuzz_init();
        if (manifest_parse((const char *)data, size, &m) < 0)
                return 0;
        fuzz_assert(m);
        check_manifest(m);
        /* What the broker formats, the shim must parse (this also keeps it under the cap). */
        fuzz_assert(manifest_format(m, &text) == 0);
        fuzz_assert(manifest_parse(text, strlen(text), &again) == 0);
        check_same(m, again);
        fuzz_assert(manifest_format(again, &text2) == 0);
        fuzz_assert(strcmp(text, text2) == 0);
        return 0;
}
