/* SPDX-License-Identifier: Apache-2.0 */
#include "items.h"

#include <stdlib.h>
#include <string.h>

#include "fdutil.h"
#include "fetch/fetch.h"
#include "fetch/privsep.h"
#include "log.h"
#include "request/policy.h"

void rotate_items_free(struct rotate_item *items, size_t n) {
        for (size_t i = 0; items && i < n; i++) {
                json_decref((json_t *)items[i].entry);
                free(items[i].req.name);
                free(items[i].req.ref_text);
                ref_done(&items[i].req.ref);
                fetched_done(&items[i].fetched, 1);
        }
        free(items);
}

static bool rotate_selected(const struct rotate_options *o, const char *name) {
        for (size_t i = 0; i < o->n_only; i++)
                if (streq_ptr(o->only[i], name))
                        return true;
        return o->n_only == 0;
}

void rotate_item_fail(struct rotate_item *it, const char *fmt, const char *arg) {
        it->outcome = ROTATE_FAILED;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(it->why, sizeof it->why, fmt, arg);
#pragma GCC diagnostic pop
}

/* A record written before mode_set, uid_set and gid_set were kept lacks them: what the request
 * set is unknown then, and the recorded mode and owner are kept, as rotation kept them then,
 * rather than let a backend's metadata widen a mode or change an owner the request may have
 * given. */
bool rotate_record_flag(const json_t *o, const char *key) {
        const json_t *v = json_object_get(o, key);
        return v ? json_is_true(v) : true;
}

/* The request of each selected secret, rebuilt from the record (names, refs, modes). */
int rotate_items_build(const json_t *state, const struct rotate_options *o,
                       struct rotate_item **ret, size_t *ret_n) {
        const json_t *secrets = json_get_array(state, "secrets");
        struct rotate_item *items = calloc(json_array_size(secrets) + 1, sizeof *items);
        size_t i, n = 0;
        json_t *e;

        if (!items)
                return -ENOMEM;
        json_array_foreach(secrets, i, e) {
                const char *name = json_get_string(e, "name"), *ref = json_get_string(e, "ref");
                if (!name || !ref || !rotate_selected(o, name))
                        continue;
                struct rotate_item *it = &items[n++];
                it->index = i;
                it->entry = json_incref(e);
                it->req.name = strdup(name);
                it->req.ref_text = strdup(ref);
                it->req.optional = json_is_true(json_object_get(e, "optional"));
                if (!it->req.name || !it->req.ref_text) {
                        rotate_items_free(items, n);
                        return -ENOMEM;
                }
                if (parse_mode(json_get_string(e, "mode"), &it->req.mode) < 0)
                        it->req.mode = 0400;
                it->req.mode_set = rotate_record_flag(e, "mode_set");
                if (ref_parse(ref, &it->req.ref) < 0)
                        rotate_item_fail(it, "the record's ref '%s' does not parse", ref);
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

/* Fetch one secret on its own, so that each failure is reported against its secret and the
 * others still rotate. */
void rotate_fetch_one(const struct broker_config *cfg, const struct role *role,
                      const struct secret *digest_key, struct rotate_item *it) {
        if (it->outcome == ROTATE_FAILED)
                return;
        /* The configuration may have changed since the placement: the role decides now. */
        if (policy_check_ref(role, &it->req.ref) < 0) {
                rotate_item_fail(it, "denied by role '%s'", role->name);
                return;
        }
        struct request one = {.secrets = &it->req, .n_secrets = 1};
        int capture = log_capture_begin();
        int r = fetch_secrets(cfg, role, &one, &it->fetched);
        _cleanup_free_ char *text = capture >= 0 ? log_capture_end(capture) : NULL;
        if (r < 0) {
                it->outcome = ROTATE_FAILED;
                rotate_reason(text, it->req.name, it->req.ref_text, it->why, sizeof it->why);
                return;
        }
        log_capture_replay(text);
        if (it->fetched.value && digest_key)
                digest_value(digest_key, it->fetched.value, it->digest);
}

/* Under the lock, against the record as it is now (a rotation may have run since the fetch):
 * each fetched item's entry again, and what changed. */
void rotate_items_classify(struct rotate_item *items, size_t n, const json_t *state) {
        const json_t *secrets = json_get_array(state, "secrets");
        for (size_t i = 0; i < n; i++) {
                struct rotate_item *it = &items[i];
                size_t k;
                json_t *e;
                if (it->outcome == ROTATE_FAILED)
                        continue;
                json_array_foreach(secrets, k, e) {
                        if (!streq_ptr(json_get_string(e, "name"), it->req.name))
                                continue;
                        json_decref((json_t *)it->entry);
                        it->entry = json_incref(e);
                        it->index = k;
                        break;
                }
                if (k == json_array_size(secrets))
                        rotate_item_fail(it, "%s", "no longer in the container's record");
                else
                        it->outcome = rotate_classify(it->entry, &it->fetched, it->digest);
        }
}

/* Leases taken by this run that nobody will use: revoked at once (a failed placement, or a
 * fetch that found the value unchanged). */
void rotate_drop_new_leases(const struct broker_config *cfg, const char *role,
                            const struct rotate_item *items, size_t n, bool placed) {
        _cleanup_json_ json_t *drop = json_array();
        for (size_t i = 0; drop && i < n; i++) {
                const struct rotate_item *it = &items[i];
                bool used =
                        placed && (it->outcome == ROTATE_CHANGED || it->outcome == ROTATE_ADDED);
                if (!it->fetched.lease_id || used ||
                    streq_ptr(it->fetched.lease_id, json_get_string(it->entry, "lease_id")))
                        continue;
                json_array_append_new(drop,
                                      json_pack("{s:s, s:s, s:s}", "lease_id", it->fetched.lease_id,
                                                "ref", it->req.ref_text, "name", it->req.name));
        }
        if (json_array_size(drop))
                (void)privsep_revoke_leases(cfg, role, drop);
}

/* ---- one rotation, under the container's lock ------------------------------------------- */
