/* SPDX-License-Identifier: Apache-2.0 */
/* Rotation's pure parts: what changed, the report lines, the merged manifest, the record's
 * update with retired leases, the reasons; the keyed digests and their key; the record's lock;
 * the in-place replacement on a plain directory; the shim's rewritable memfds and a delivery
 * from held memfds. */
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "deliver.h"
#include "place/digest.h"
#include "fdutil.h"
#include "place/place.h"
#include "rotate/rotate.h"
#include "place/state.h"
#include "unit.h"
#include "place/watcher.h"

static struct secret *value_of(const char *s) {
        struct secret *v;
        ck_assert_int_eq(secret_new_copy(s, strlen(s), &v), 0);
        return v;
}

static char *temp_dir(void) {
        static char dir[64];
        snprintf(dir, sizeof dir, "/tmp/lbx-unit-rotate-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        return dir;
}

static void remove_tree(const char *dir) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

/* ---- classify ---------------------------------------------------------------------------- */

static json_t *entry(bool placed, const char *digest, const char *version) {
        return json_pack("{s:s, s:s, s:b, s:s?, s:s?}", "name", "db", "ref", "store:db", "placed",
                         placed, "digest", digest, "version", version);
}

START_TEST(test_classify) {
        _cleanup_secret_ struct secret *v = value_of("x");
        struct fetched_secret f = {.value = v};
        struct fetched_secret missing = {0};
        struct {
                json_t *e;
                const struct fetched_secret *f;
                const char *version, *digest;
                enum rotate_outcome want;
        } cases[] = {
                {entry(true, "aa", NULL), &f, NULL, "aa", ROTATE_UNCHANGED},
                {entry(true, "aa", NULL), &f, NULL, "bb", ROTATE_CHANGED},
                /* No digest recorded: placing it again is harmless, missing a change is not. */
                {entry(true, NULL, NULL), &f, NULL, "aa", ROTATE_CHANGED},
                {entry(true, "aa", "3"), &f, "4", "aa", ROTATE_CHANGED},
                {entry(true, "aa", "3"), &f, "3", "aa", ROTATE_UNCHANGED},
                /* A version only on one side: the digest decides. */
                {entry(true, "aa", NULL), &f, "4", "aa", ROTATE_UNCHANGED},
                {entry(true, "aa", NULL), &missing, NULL, "", ROTATE_KEPT},
                {entry(false, NULL, NULL), &missing, NULL, "", ROTATE_UNCHANGED},
                {entry(false, NULL, NULL), &f, NULL, "aa", ROTATE_ADDED},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct fetched_secret fi = *cases[i].f;
                fi.version = (char *)cases[i].version;
                ck_assert_msg(rotate_classify(cases[i].e, &fi, cases[i].digest) == cases[i].want,
                              "case %zu", i);
                json_decref(cases[i].e);
        }
}
END_TEST

/* ---- report lines ------------------------------------------------------------------------- */

static struct rotate_item item(enum rotate_outcome o, const char *old_v, char *new_v, char *lease) {
        struct rotate_item it = {.outcome = o};
        it.req.name = (char *)"db";
        it.req.ref_text = (char *)"vault:secret/db";
        it.entry = json_pack("{s:s?}", "version", old_v);
        it.fetched.version = new_v;
        it.fetched.lease_id = lease;
        return it;
}

START_TEST(test_format_line) {
        struct {
                struct rotate_item it;
                const char *want;
        } cases[] = {
                {item(ROTATE_UNCHANGED, "3", "3", NULL), "c1 db: unchanged"},
                {item(ROTATE_CHANGED, "3", "4", NULL), "c1 db: rotated (v3 \u2192 v4)"},
                {item(ROTATE_CHANGED, NULL, "4", NULL), "c1 db: rotated (\u2192 v4)"},
                {item(ROTATE_CHANGED, NULL, NULL, "lease/2"), "c1 db: rotated (new lease)"},
                {item(ROTATE_CHANGED, NULL, NULL, NULL), "c1 db: rotated"},
                {item(ROTATE_ADDED, NULL, "2", NULL), "c1 db: added (v2)"},
                {item(ROTATE_ADDED, NULL, NULL, NULL), "c1 db: added"},
                {item(ROTATE_FAILED, NULL, NULL, NULL), "c1 db: failed: permission denied"},
        };
        char line[512];
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                if (cases[i].it.outcome == ROTATE_FAILED)
                        strcpy(cases[i].it.why, "permission denied");
                rotate_format_line(line, sizeof line, "c1", &cases[i].it);
                ck_assert_str_eq(line, cases[i].want);
                json_decref((json_t *)cases[i].it.entry);
        }
        struct rotate_item kept = item(ROTATE_KEPT, NULL, NULL, NULL);
        rotate_format_line(line, sizeof line, "c1", &kept);
        ck_assert(strncmp(line, "c1 db: kept (", 13) == 0);
        json_decref((json_t *)kept.entry);
}
END_TEST

START_TEST(test_reason) {
        char why[256];
        rotate_reason("unit: warning: something\nunit: secret 'db' (store:db): no such secret in "
                      "the store: No such file or directory\n",
                      "db", "store:db", why, sizeof why);
        ck_assert_str_eq(why, "no such secret in the store: No such file or directory");
        /* Another secret's prefix stays: it says which one. */
        rotate_reason("unit: secret 'api' (store:api): bad\n", "db", "store:db", why, sizeof why);
        ck_assert_str_eq(why, "secret 'api' (store:api): bad");
        rotate_reason("unit: container c1: cannot mount at /run/secrets: Permission denied\n", NULL,
                      NULL, why, sizeof why);
        ck_assert_str_eq(why, "container c1: cannot mount at /run/secrets: Permission denied");
        rotate_reason("", "db", "store:db", why, sizeof why);
        ck_assert_str_eq(why, "no reason given (run with -v)");
        rotate_reason(NULL, NULL, NULL, why, sizeof why);
        ck_assert_str_eq(why, "no reason given (run with -v)");
}
END_TEST

START_TEST(test_log_capture) {
        int h = log_capture_begin();
        ck_assert_int_ge(h, 0);
        ck_assert_int_eq(log_capture_begin(), -EBUSY);
        log_error("first");
        log_error_errno(-ENOENT, "second");
        char *text = log_capture_end(h);
        ck_assert_str_eq(text, "unit: first\nunit: second: No such file or directory\n");
        char last[64];
        log_capture_last(text, last, sizeof last);
        ck_assert_str_eq(last, "second: No such file or directory");
        free(text);
        ck_assert_ptr_null(log_capture_end(h)); /* not capturing any more */
}
END_TEST

/* ---- manifest ------------------------------------------------------------------------------ */

START_TEST(test_merge_manifest) {
        struct manifest_entry entries[2] = {
                {.name = "api", .file = "api", .size = 3, .mode = 0400},
                {.name = "db", .file = "db", .size = 2, .mode = 0400},
        };
        struct manifest cur = {.version = 1, .generation = 4, .n_entries = 2, .entries = entries};
        strcpy(cur.container, "c1");
        _cleanup_secret_ struct secret *db = value_of("new-db");
        _cleanup_secret_ struct secret *aaa = value_of("added");
        struct tmpfs_file files[] = {{.name = "db", .value = db, .mode = 0440},
                                     {.name = "aaa", .value = aaa, .mode = 0400}};
        _cleanup_manifest_ struct manifest *m = NULL;

        ck_assert_int_eq(rotate_merge_manifest(&cur, 5, files, 2, &m), 0);
        ck_assert_uint_eq(m->generation, 5);
        ck_assert_str_eq(m->container, "c1");
        ck_assert_uint_eq(m->n_entries, 3);
        /* Name order, as at placement: the shim's fd order. */
        ck_assert_str_eq(m->entries[0].name, "aaa");
        ck_assert_str_eq(m->entries[1].name, "api");
        ck_assert_str_eq(m->entries[2].name, "db");
        ck_assert_uint_eq(m->entries[1].size, 3); /* untouched */
        ck_assert_uint_eq(m->entries[2].size, 6);
        ck_assert_uint_eq(m->entries[2].mode, 0440);
        uint8_t h[SECRET_HASH_BYTES];
        secret_hash(db, h);
        ck_assert(memcmp(h, m->entries[2].blake2b, sizeof h) == 0);
        ck_assert_str_eq(m->entries[0].file, "aaa");
}
END_TEST

/* ---- the record ---------------------------------------------------------------------------- */

START_TEST(test_record) {
        _cleanup_json_ json_t *state = json_pack(
                "{s:s, s:I, s:n, s:[{s:s, s:s, s:s, s:s, s:b}, {s:s, s:s, s:s, s:b}]}", "id", "c1",
                "generation", (json_int_t)2, "last_rotation", "secrets", "name", "db", "ref",
                "vault:database/creds/app", "mode", "0400", "lease_id", "lease/1", "placed", 1,
                "name", "api", "ref", "store:api", "mode", "0400", "placed", 1);
        _cleanup_secret_ struct secret *key = value_of("0123456789abcdef0123456789abcdef");
        _cleanup_secret_ struct secret *v = value_of("pw-2");
        json_t *secrets = json_object_get(state, "secrets");
        struct rotate_item items[2] = {
                {.index = 0, .entry = json_array_get(secrets, 0), .outcome = ROTATE_CHANGED},
                {.index = 1, .entry = json_array_get(secrets, 1), .outcome = ROTATE_UNCHANGED},
        };
        items[0].req = (struct secret_request){
                .name = (char *)"db", .ref_text = (char *)"vault:database/creds/app", .mode = 0400};
        items[0].fetched = (struct fetched_secret){
                .value = v, .lease_id = (char *)"lease/2", .lease_duration = 3600};
        /* The items hold their entries: the record's are replaced under them. */
        json_incref((json_t *)items[0].entry);
        json_incref((json_t *)items[1].entry);
        json_t *api_before = json_deep_copy(items[1].entry);

        ck_assert_int_eq(rotate_record(state, items, 2, key, 3, "2026-01-01T00:00:00Z"), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(state, "generation")), 3);
        ck_assert_str_eq(json_get_string(state, "last_rotation"), "2026-01-01T00:00:00Z");
        const json_t *db = json_array_get(secrets, 0);
        ck_assert_str_eq(json_get_string(db, "lease_id"), "lease/2");
        ck_assert_ptr_nonnull(json_get_string(db, "lease_expires"));
        char digest[DIGEST_HEX_BYTES];
        digest_value(key, v, digest);
        ck_assert_str_eq(json_get_string(db, "digest"), digest);
        ck_assert(json_equal(json_array_get(secrets, 1), api_before));
        /* The replaced lease waits to be revoked, with the generation it belonged to. */
        const json_t *retired = json_get_array(state, "retired_leases");
        ck_assert_uint_eq(json_array_size(retired), 1);
        ck_assert_str_eq(json_get_string(json_array_get(retired, 0), "lease_id"), "lease/1");
        ck_assert_str_eq(json_get_string(json_array_get(retired, 0), "name"), "db");
        ck_assert_int_eq(
                json_integer_value(json_object_get(json_array_get(retired, 0), "generation")), 2);
        /* The old entry is still whole for the report line. */
        ck_assert_str_eq(json_get_string(items[0].entry, "lease_id"), "lease/1");
        json_decref(api_before);
        json_decref((json_t *)items[0].entry);
        json_decref((json_t *)items[1].entry);
}
END_TEST

/* ---- digests and their key ----------------------------------------------------------------- */

START_TEST(test_digest) {
        _cleanup_secret_ struct secret *k1 = value_of("0123456789abcdef0123456789abcdef");
        _cleanup_secret_ struct secret *k2 = value_of("fedcba9876543210fedcba9876543210");
        _cleanup_secret_ struct secret *v = value_of("hunter2");
        char a[DIGEST_HEX_BYTES], b[DIGEST_HEX_BYTES], want[DIGEST_HEX_BYTES];
        uint8_t mac[32];

        crypto_generichash(mac, sizeof mac, (const uint8_t *)"hunter2", 7,
                           (const uint8_t *)"0123456789abcdef0123456789abcdef", 32);
        sodium_bin2hex(want, sizeof want, mac, sizeof mac);
        digest_value(k1, v, a);
        ck_assert_str_eq(a, want);
        digest_value(k2, v, b);
        ck_assert_str_ne(a, b);
        /* Not the plain hash that the manifest carries. */
        uint8_t plain[SECRET_HASH_BYTES];
        char plain_hex[2 * SECRET_HASH_BYTES + 1];
        secret_hash(v, plain);
        hash_to_hex(plain, plain_hex);
        ck_assert_str_ne(a, plain_hex);
}
END_TEST

START_TEST(test_digest_key) {
        char *dir = temp_dir();
        char path[128];
        struct stat st;
        _cleanup_secret_ struct secret *k1 = NULL, *k2 = NULL, *k3 = NULL;

        ck_assert_int_eq(digest_key_load(dir, &k1), 0);
        snprintf(path, sizeof path, "%s/%s", dir, DIGEST_KEY_FILE);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(st.st_size, DIGEST_KEY_BYTES);
        ck_assert_int_eq(digest_key_load(dir, &k2), 0);
        ck_assert(secret_equal(k1, k2)); /* made once, then read */
        ck_assert_int_eq(chmod(path, 0644), 0);
        ck_assert_int_eq(digest_key_load(dir, &k3), -EPERM);
        ck_assert_int_eq(chmod(path, 0600), 0);
        ck_assert_int_eq(truncate(path, 16), 0);
        ck_assert_int_eq(digest_key_load(dir, &k3), -EPERM);
        remove_tree(dir);
}
END_TEST

/* ---- the record's lock, the watcher's socket name -------------------------------------- */

START_TEST(test_state_lock) {
        char *dir = temp_dir();
        char path[128];
        int fd = -1;

        ck_assert_int_eq(state_lock(dir, "c1", &fd), -ENOENT);
        snprintf(path, sizeof path, "%s/containers/c1.lock", dir);
        ck_assert_int_ne(access(path, F_OK), 0); /* none left for a container that is gone */
        _cleanup_json_ json_t *rec = json_pack("{s:s}", "id", "c1");
        ck_assert_int_eq(state_save(dir, rec), 0);
        ck_assert_int_eq(state_lock(dir, "c1", &fd), 0);
        ck_assert_int_eq(fcntl(fd, F_GETFD), FD_CLOEXEC);
        /* Held: another open file description cannot take it. */
        int other = open(path, O_RDWR | O_CLOEXEC);
        ck_assert_int_ge(other, 0);
        ck_assert_int_lt(flock(other, LOCK_EX | LOCK_NB), 0);
        ck_assert_int_eq(state_unlock(fd, dir, "c1", false), -1);
        ck_assert_int_eq(flock(other, LOCK_EX | LOCK_NB), 0);
        close(other);
        ck_assert_int_eq(state_lock(dir, "c1", &fd), 0);
        state_unlock(fd, dir, "c1", true);
        ck_assert_int_ne(access(path, F_OK), 0);
        ck_assert_int_eq(state_lock(dir, "../x", &fd), -EINVAL);
        remove_tree(dir);
}
END_TEST

START_TEST(test_socket_name) {
        char a[WATCHER_SOCK_NAME_MAX], b[WATCHER_SOCK_NAME_MAX], c[WATCHER_SOCK_NAME_MAX];
        char long_id[257];
        memset(long_id, 'x', 256);
        long_id[256] = '\0';
        watcher_socket_name("c1", a);
        watcher_socket_name("c1", b);
        watcher_socket_name(long_id, c);
        ck_assert_str_eq(a, b);
        ck_assert_str_ne(a, c);
        ck_assert_uint_eq(strlen(a), 37);
        ck_assert_uint_eq(strlen(c), 37);
        /* With the /proc/self/fd/N/ prefix it is bound through, it fits sun_path. */
        ck_assert_uint_lt(strlen("/proc/self/fd/1048575/") + strlen(c),
                          sizeof((struct sockaddr_un){0}).sun_path);
}
END_TEST

/* ---- in place ------------------------------------------------------------------------------- */

static char *read_at(int dir_fd, const char *name) {
        char *text = NULL;
        ck_assert_int_eq(read_file_at(dir_fd, name, 4096, &text, NULL), 0);
        return text;
}

START_TEST(test_replace) {
        char *dir = temp_dir();
        _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dir_fd, 0);
        ck_assert_int_eq(write_file_atomic_at(dir_fd, "db", "old", 3, 0400), 0);
        ck_assert_int_eq(write_file_atomic_at(dir_fd, MANIFEST_FILE, "{}", 2, 0400), 0);
        _cleanup_secret_ struct secret *v = value_of("new value");
        struct tmpfs_file files[] = {{.name = "db", .value = v, .mode = 0440}};
        struct manifest_entry e = {.name = "db", .file = "db", .size = 9, .mode = 0440};
        struct manifest m = {.version = 1, .generation = 2, .n_entries = 1, .entries = &e};
        strcpy(m.container, "c1");
        struct tmpfs_spec spec = {.size_max = 1 << 20, .host_uid = getuid(), .host_gid = getgid()};
        ino_t ino;
        struct stat st;

        ck_assert_int_eq(tmpfs_replace(dir_fd, &spec, &m, files, 1, &ino), 0);
        _cleanup_free_ char *db = read_at(dir_fd, "db");
        ck_assert_str_eq(db, "new value");
        ck_assert_int_eq(fstatat(dir_fd, "db", &st, 0), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0440);
        ck_assert_int_eq(fstatat(dir_fd, MANIFEST_FILE, &st, 0), 0);
        ck_assert_uint_eq(st.st_ino, ino);
        _cleanup_free_ char *text = read_at(dir_fd, MANIFEST_FILE);
        _cleanup_manifest_ struct manifest *back = NULL;
        ck_assert_int_eq(manifest_parse(text, strlen(text), &back), 0);
        ck_assert_uint_eq(back->generation, 2);

        /* A directory squatting on the name: refused before anything is written, the
         * manifest stays the last one, and no temporary file is left. */
        ck_assert_int_eq(unlinkat(dir_fd, "db", 0), 0);
        ck_assert_int_eq(mkdirat(dir_fd, "db", 0700), 0);
        ck_assert_int_eq(mkdirat(dir_fd, "db/x", 0700), 0);
        m.generation = 3;
        int capture = log_capture_begin();
        ck_assert_int_lt(tmpfs_replace(dir_fd, &spec, &m, files, 1, &ino), 0);
        _cleanup_free_ char *said = log_capture_end(capture);
        ck_assert_str_eq(said, "unit: secret 'db': a directory is in its place on the tmpfs "
                               "(refused): Is a directory\n");
        _cleanup_free_ char *still = read_at(dir_fd, MANIFEST_FILE);
        ck_assert_str_eq(still, text);
        char cmd[160];
        snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep lockbox-new)\"", dir);
        ck_assert_int_eq(system(cmd), 0);
        remove_tree(dir);
}
END_TEST

/* ---- the shim: rewritable memfds, a delivery from held memfds -------------------------- */

START_TEST(test_memfd_seals) {
        _cleanup_secret_ struct secret *v = value_of("hunter2");
        struct shim_secret s = {
                .name = "db", .value = v, .uid = getuid(), .gid = getgid(), .mode = 0400};
        int sealed = -1, rewritable = -1;
        ck_assert_int_eq(deliver_memfd(&s, false, &sealed), 0);
        ck_assert_int_eq(deliver_memfd(&s, true, &rewritable), 0);
        ck_assert_int_eq(fcntl(sealed, F_GET_SEALS),
                         F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        ck_assert_int_lt(pwrite(sealed, "x", 1, 0), 0);
        /* signal:SIG: only new seals are refused; the shim rewrites it. */
        ck_assert_int_eq(fcntl(rewritable, F_GET_SEALS), F_SEAL_SEAL);
        ck_assert_int_lt(fcntl(rewritable, F_ADD_SEALS, F_SEAL_WRITE), 0);
        ck_assert_int_eq(pwrite(rewritable, "longer value", 12, 0), 12);
        ck_assert_int_eq(ftruncate(rewritable, 3), 0);
        close(sealed);
        close(rewritable);
}
END_TEST

START_TEST(test_prepare_held) {
        _cleanup_secret_ struct secret *v = value_of("hunter2");
        struct shim_secret s = {
                .name = "db", .value = v, .uid = getuid(), .gid = getgid(), .mode = 0400};
        char **names = calloc(2, sizeof *names);
        int *memfds = calloc(2, sizeof *memfds);
        names[0] = strdup("db");
        ck_assert_int_eq(deliver_memfd(&s, false, &memfds[0]), 0);
        int held = memfds[0];
        /* A previous command read it to the end: the next one starts at 0. */
        ck_assert_int_eq(lseek(held, 0, SEEK_END), 7);
        char *cmd[] = {"app", "{secret:db}", NULL};
        struct shim_options o = {.command = cmd, .n_command = 2};
        struct delivery d = {};

        ck_assert_int_eq(deliver_prepare_held(&o, names, memfds, 1, NULL, &d), 0);
        ck_assert_str_eq(d.argv[1], "/proc/self/fd/3");
        ck_assert_uint_eq(d.n_moves, 1);
        ck_assert_int_eq(d.moves[0].target, 3);
        ck_assert_int_ne(d.moves[0].src, held); /* a duplicate; the shim keeps its own */
        ck_assert_int_eq(lseek(held, 0, SEEK_CUR), 0);
        deliver_close_fds(&d);
        ck_assert_int_eq(fcntl(held, F_GETFD), FD_CLOEXEC); /* still held, close-on-exec */
        deliver_done(&d);
        ck_assert_int_lt(fcntl(held, F_GETFD), 0);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("rotate");
        TCase *tc = tcase_create("pure");
        tcase_add_test(tc, test_classify);
        tcase_add_test(tc, test_format_line);
        tcase_add_test(tc, test_reason);
        tcase_add_test(tc, test_log_capture);
        tcase_add_test(tc, test_merge_manifest);
        tcase_add_test(tc, test_record);
        tcase_add_test(tc, test_digest);
        tcase_add_test(tc, test_socket_name);
        suite_add_tcase(s, tc);
        tc = tcase_create("files");
        tcase_add_test(tc, test_digest_key);
        tcase_add_test(tc, test_state_lock);
        tcase_add_test(tc, test_replace);
        tcase_add_test(tc, test_memfd_seals);
        tcase_add_test(tc, test_prepare_held);
        suite_add_tcase(s, tc);
        return s;
}
