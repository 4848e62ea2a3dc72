/* SPDX-License-Identifier: Apache-2.0 */
/* The Vault backend's configuration (vault_config.c), the token cache, and the HTTP layer's
 * address handling: no server needed. Paths and replies: check_vault_kv.c. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "request/config.h"
#include "fetch/http.h"
#include "request/ref.h"
#include "fetch/token_cache.h"
#include "unit.h"

#include "fdutil.h"
#include "fetch/vault.h"
#include "fetch/vault_auth.h"
#include "fetch/vault_config.h"
#include "fetch/vault_kv.h"
#include "fetch/vault_mounts.h"

/* ---- the token cache ----------------------------------------------------------------------- */

static struct token_cache_entry entry(const char *token, const char *sid, int64_t expires,
                                      int64_t ttl) {
        struct token_cache_entry e = {.expires = expires, .ttl = ttl};
        ck_assert_int_eq(secret_new_copy(token, strlen(token), &e.token), 0);
        if (sid)
                ck_assert_int_eq(secret_new_copy(sid, strlen(sid), &e.secret_id), 0);
        return e;
}

START_TEST(test_cache_round_trip) {
        _cleanup_(token_cache_entry_done) struct token_cache_entry e =
                entry("hvs.tok", "sid-1", 1767225600, 3600);
        memset(e.wrapped, 'a', sizeof e.wrapped - 1);
        _cleanup_secret_ struct secret *text = NULL;
        ck_assert_int_eq(token_cache_format(&e, &text), 0);
        const char want[] = "lockbox-token 1\nexpires 1767225600\nttl 3600\ntoken hvs.tok\n"
                            "secret_id sid-1\nwrapped "
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
        ck_assert_uint_eq(secret_size(text), strlen(want));
        ck_assert(memcmp(secret_cdata(text), want, strlen(want)) == 0);

        _cleanup_(token_cache_entry_done) struct token_cache_entry back = {0};
        ck_assert_int_eq(token_cache_parse(secret_cdata(text), secret_size(text), &back), 0);
        ck_assert(secret_equal(back.token, e.token));
        ck_assert(secret_equal(back.secret_id, e.secret_id));
        ck_assert_int_eq(back.expires, 1767225600);
        ck_assert_int_eq(back.ttl, 3600);
        ck_assert_str_eq(back.wrapped, e.wrapped);
}
END_TEST

START_TEST(test_cache_rejects) {
        static const char *const bad[] = {
                "",
                "lockbox-token 2\nexpires 1\nttl 1\ntoken t\n",
                "lockbox-token 1\nexpires 1\nttl 1\n",
                "lockbox-token 1\nexpires 1\nttl 1\ntoken t",
                "lockbox-token 1\nexpires 1\nttl 1\ntoken t t\n",
                "lockbox-token 1\nexpires 1\nttl 1\ntoken \n",
                "lockbox-token 1\nexpires -1\nttl 1\ntoken t\n",
                "lockbox-token 1\nexpires 1\nexpires 2\nttl 1\ntoken t\n",
                "lockbox-token 1\nexpires 1\nttl 1\ntoken t\nother x\n",
                "lockbox-token 1\nexpires 1\nttl 1\ntoken t\nwrapped abc\n",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct token_cache_entry e = {0};
                ck_assert_int_eq(token_cache_parse(bad[i], strlen(bad[i]), &e), -EBADMSG);
                ck_assert_ptr_null(e.token);
        }
}
END_TEST

START_TEST(test_cache_freshness) {
        int64_t now = 1767225600;
        _cleanup_(token_cache_entry_done) struct token_cache_entry e =
                entry("t", NULL, now + 3600, 3600);
        ck_assert(token_cache_is_fresh(&e, now));
        /* 10% of an hour: not used in the last 6 minutes. */
        ck_assert(token_cache_is_fresh(&e, now + 3600 - 361));
        ck_assert(!token_cache_is_fresh(&e, now + 3600 - 360));
        /* A short TTL: 30 s margin, or half the TTL when that is shorter. */
        e.ttl = 60;
        e.expires = now + 60;
        ck_assert(token_cache_is_fresh(&e, now + 29));
        ck_assert(!token_cache_is_fresh(&e, now + 30));
        e.ttl = 20;
        e.expires = now + 20;
        ck_assert(token_cache_is_fresh(&e, now + 9));
        ck_assert(!token_cache_is_fresh(&e, now + 10));
        /* Expired. */
        ck_assert(!token_cache_is_fresh(&e, now + 21));
        /* A token without expiry (a root or periodic token: lease_duration 0). */
        e.expires = 0;
        ck_assert(token_cache_is_fresh(&e, now + 1000000));
}
END_TEST

START_TEST(test_cache_key) {
        char a[TOKEN_CACHE_KEY_LEN + 1], b[TOKEN_CACHE_KEY_LEN + 1], c[TOKEN_CACHE_KEY_LEN + 1];
        const char *p1[] = {"vault", "web", "https://v:8200"};
        const char *p2[] = {"vault", "db", "https://v:8200"};
        const char *p3[] = {"vaul", "tweb", "https://v:8200"};
        token_cache_key(p1, 3, a);
        token_cache_key(p2, 3, b);
        token_cache_key(p3, 3, c);
        ck_assert_uint_eq(strlen(a), TOKEN_CACHE_KEY_LEN);
        ck_assert_str_ne(a, b);
        ck_assert_str_ne(a, c);
        token_cache_key(p1, 3, b);
        ck_assert_str_eq(a, b);
}
END_TEST

static char tmpdir[64];

static void cache_setup(void) {
        strcpy(tmpdir, "/tmp/lbx-vault-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void cache_teardown(void) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

/* Entries that expired an hour ago go, with their lock files; the others, and what is not an
 * entry of this format, stay. */
START_TEST(test_cache_prune) {
        _cleanup_close_ int dirfd = -1;
        char state[96];
        int64_t now = time(NULL);
        snprintf(state, sizeof state, "%s/state", tmpdir);
        ck_assert_int_eq(token_cache_open(state, &dirfd), 0);
        _cleanup_(token_cache_entry_done) struct token_cache_entry old =
                entry("hvs.old", NULL, now - 3601, 600);
        _cleanup_(token_cache_entry_done) struct token_cache_entry recent =
                entry("hvs.recent", NULL, now - 10, 600);
        _cleanup_(token_cache_entry_done) struct token_cache_entry forever =
                entry("hvs.root", NULL, 0, 0);
        ck_assert_int_eq(token_cache_store(dirfd, "vault.old", &old), 0);
        ck_assert_int_eq(token_cache_store(dirfd, "vault.recent", &recent), 0);
        ck_assert_int_eq(token_cache_store(dirfd, "vault.forever", &forever), 0);
        _cleanup_close_ int lock = -1;
        ck_assert_int_eq(token_cache_lock(dirfd, "vault.old", UINT64_MAX, &lock), 0);
        ck_assert_int_eq(write_file_atomic_at(dirfd, "other", "x", 1, 0600), 0);
        ck_assert_int_eq(token_cache_prune(dirfd, now), 1);
        ck_assert_int_eq(faccessat(dirfd, "vault.old", F_OK, 0), -1);
        ck_assert_int_eq(faccessat(dirfd, "vault.old.lock", F_OK, 0), -1);
        ck_assert_int_eq(faccessat(dirfd, "vault.recent", F_OK, 0), 0);
        ck_assert_int_eq(faccessat(dirfd, "vault.forever", F_OK, 0), 0);
        ck_assert_int_eq(faccessat(dirfd, "other", F_OK, 0), 0);
        ck_assert_int_eq(token_cache_prune(dirfd, now), 0);
}
END_TEST

START_TEST(test_cache_files) {
        _cleanup_close_ int dirfd = -1, lock = -1, lock2 = -1;
        struct stat st;
        char state[96], path[160];
        snprintf(state, sizeof state, "%s/state", tmpdir);
        ck_assert_int_eq(token_cache_open(state, &dirfd), 0);
        ck_assert_int_eq(fstat(dirfd, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0700);

        _cleanup_(token_cache_entry_done) struct token_cache_entry e =
                entry("hvs.x", NULL, time(NULL) + 600, 600);
        struct token_cache_entry none = {0};
        ck_assert_int_eq(token_cache_load(dirfd, "vault.k", &none), -ENOENT);
        ck_assert_int_eq(token_cache_store(dirfd, "vault.k", &e), 0);
        ck_assert_int_eq(fstatat(dirfd, "vault.k", &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        _cleanup_(token_cache_entry_done) struct token_cache_entry back = {0};
        ck_assert_int_eq(token_cache_load(dirfd, "vault.k", &back), 0);
        ck_assert(secret_equal(back.token, e.token));
        ck_assert(token_cache_is_fresh(&back, time(NULL)));

        /* Readable by others: not trusted. */
        ck_assert_int_eq(fchmodat(dirfd, "vault.k", 0644, 0), 0);
        ck_assert_int_eq(token_cache_load(dirfd, "vault.k", &none), -EPERM);
        /* Corrupt: removed. */
        snprintf(path, sizeof path, "%s/tokens/vault.k", state);
        ck_assert_int_eq(fchmodat(dirfd, "vault.k", 0600, 0), 0);
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "junk\n", 5), 5);
        close(fd);
        ck_assert_int_eq(token_cache_load(dirfd, "vault.k", &none), -EBADMSG);
        ck_assert_int_eq(faccessat(dirfd, "vault.k", F_OK, 0), -1);

        /* The login lock: a second holder waits until its deadline. */
        ck_assert_int_eq(token_cache_lock(dirfd, "vault.k", http_now_ms() + 1000, &lock), 0);
        uint64_t t0 = http_now_ms();
        ck_assert_int_eq(token_cache_lock(dirfd, "vault.k", t0 + 100, &lock2), -ETIMEDOUT);
        ck_assert_uint_ge(http_now_ms() - t0, 100);
        lock = safe_close(lock);
        ck_assert_int_eq(token_cache_lock(dirfd, "vault.k", http_now_ms() + 100, &lock2), 0);
}
END_TEST

/* The fetcher's preopen (privsep.c): the directory and its entries handed to the fetcher's uid,
 * whoever had them (root before, another uid when "fetcher" changed); later opens get it. */
START_TEST(test_cache_preopen) {
        char state[96], tokens[128];
        struct stat st;
        int fd = -1;
        snprintf(state, sizeof state, "%s/state", tmpdir);
        snprintf(tokens, sizeof tokens, "%s/tokens", state);
        ck_assert_int_eq(mkdir(state, 0700), 0);
        ck_assert_int_eq(mkdir(tokens, 0700), 0);
        ck_assert_int_eq(chown(tokens, 1234, 1234), 0);
        _cleanup_(token_cache_entry_done) struct token_cache_entry e =
                entry("hvs.x", NULL, time(NULL) + 600, 600);
        int dfd = open(tokens, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dfd, 0);
        ck_assert_int_eq(token_cache_store(dfd, "vault.k", &e), 0); /* root's, 0600 */
        close(dfd);

        ck_assert_int_eq(token_cache_preopen(state, 4242, 4243), 0);
        ck_assert_int_eq(stat(tokens, &st), 0);
        ck_assert_uint_eq(st.st_uid, 4242);
        ck_assert_uint_eq(st.st_gid, 4243);
        ck_assert_uint_eq(st.st_mode & 07777, 0700);
        char entry_path[160];
        snprintf(entry_path, sizeof entry_path, "%s/vault.k", tokens);
        ck_assert_int_eq(stat(entry_path, &st), 0);
        ck_assert_uint_eq(st.st_uid, 4242);
        /* token_cache_open now answers with the preopened directory, whatever the path. */
        ck_assert_int_eq(token_cache_open("/nonexistent", &fd), 0);
        ck_assert_int_eq(fstat(fd, &st), 0);
        ck_assert_uint_eq(st.st_uid, 4242);
        close(fd);

        /* Group- or world-writable: refused, and every later open says so. */
        snprintf(state, sizeof state, "%s/state2", tmpdir);
        ck_assert_int_eq(mkdir(state, 0775), 0);
        ck_assert_int_eq(chmod(state, 0775), 0);
        ck_assert_int_eq(token_cache_preopen(state, 4242, 4243), -EPERM);
        ck_assert_int_eq(token_cache_open(state, &fd), -EPERM);
}
END_TEST

/* Issue 14: a state directory made 0755 by hand is lockbox's own and nobody else could write to
 * it: made 0700, and said so. Writable by others (anything could have been planted): refused,
 * in a line that names it, its mode and what is expected. */
START_TEST(test_cache_dir_not_private) {
        char state[96], tokens[128], want[512];
        struct stat st;
        int dirfd = -1;
        snprintf(state, sizeof state, "%s/state", tmpdir);
        snprintf(tokens, sizeof tokens, "%s/tokens", state);
        ck_assert_int_eq(mkdir(state, 0755), 0);
        ck_assert_int_eq(chmod(state, 0755), 0);
        capture_log();
        log_set_level(LOG_LEVEL_WARNING);
        ck_assert_int_eq(token_cache_open(state, &dirfd), 0);
        close(dirfd);
        ck_assert_int_eq(stat(state, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0700);
        snprintf(want, sizeof want,
                 "unit: token cache %s: was mode 0755, now 0700 (fixed: lockbox's own directory, "
                 "no access for group or others)\n",
                 state);
        ck_assert_str_eq(captured_log(), want);

        ck_assert_int_eq(chmod(tokens, 0757), 0);
        capture_log();
        ck_assert_int_eq(token_cache_open(state, &dirfd), -EPERM);
        snprintf(want, sizeof want,
                 "unit: token cache %s: refusing: mode 0757, owner root; expected owner root, no "
                 "access for group or others (chmod go-rwx %s)\n",
                 tokens, tokens);
        ck_assert_str_eq(captured_log(), want);
        log_set_level(LOG_LEVEL_ERROR);
}
END_TEST

/* ---- configuration ------------------------------------------------------------------------- */

static int parse_config(const char *backend_json, const char *roles_json,
                        struct vault_config *ret) {
        char buf[2048];
        _cleanup_config_ struct broker_config *cfg = NULL;
        snprintf(buf, sizeof buf, "{\"backends\": {\"vault\": %s}, \"roles\": %s}", backend_json,
                 roles_json ? roles_json : "[]");
        ck_assert_int_eq(config_parse(buf, strlen(buf), "test", &cfg), 0);
        const struct role *role = cfg->n_roles ? &cfg->roles[0] : NULL;
        int r = vault_config_parse(cfg, config_find_backend(cfg, "vault"), role, ret);
        /* ret borrows the backend's and role's names: keep them valid for the asserts. */
        if (r >= 0)
                ret->backend = ret->role = NULL;
        return r;
}

#define VAULT_BASE "\"type\": \"vault\", \"address\": \"https://v.example:8200\""

START_TEST(test_config) {
        struct vault_config c = {0};
        ck_assert_int_eq(parse_config("{" VAULT_BASE ", \"namespace\": \"ns1/team/\", "
                                      "\"timeout_ms\": 2500, \"kv_version\": 2, "
                                      "\"auth\": {\"method\": \"approle\", \"role_id_file\": "
                                      "\"/r\", \"secret_id_file\": \"/s\"}}",
                                      NULL, &c),
                         0);
        ck_assert_int_eq(c.auth.method, VAULT_AUTH_APPROLE);
        ck_assert_str_eq(c.auth.mount, "approle");
        ck_assert_str_eq(c.namespace, "ns1/team");
        ck_assert_uint_eq(c.timeout_ms, 2500);
        ck_assert_int_eq(c.kv_version, 2);
        vault_config_done(&c);

        /* A role's auth replaces the backend's. */
        ck_assert_int_eq(parse_config("{" VAULT_BASE ", \"auth\": {\"method\": \"token\", "
                                      "\"token_file\": \"/t\"}}",
                                      "[{\"name\": \"web\", \"allow\": [], \"auth\": {\"vault\": "
                                      "{\"method\": \"kubernetes\", \"role\": \"app\", "
                                      "\"jwt_file\": \"/j\", \"mount\": \"k8s/prod\"}}}]",
                                      &c),
                         0);
        ck_assert_int_eq(c.auth.method, VAULT_AUTH_KUBERNETES);
        ck_assert(c.auth_from_role);
        ck_assert_str_eq(c.auth.mount, "k8s/prod");
        vault_config_done(&c);
}
END_TEST

START_TEST(test_config_rejects) {
        static const char *const bad[] = {
                /* unknown key (could be a misplaced token) */
                "{" VAULT_BASE ", \"token\": \"hvs.x\", \"auth\": {\"method\": \"token\", "
                "\"token_file\": \"/t\"}}",
                /* http */
                "{\"type\": \"vault\", \"address\": \"http://v:8200\", \"auth\": {\"method\": "
                "\"token\", \"token_file\": \"/t\"}}",
                /* relative path */
                "{" VAULT_BASE ", \"auth\": {\"method\": \"token\", \"token_file\": \"t\"}}",
                /* approle without its secret id */
                "{" VAULT_BASE ", \"auth\": {\"method\": \"approle\", \"role_id_file\": \"/r\"}}",
                /* another method's key */
                "{" VAULT_BASE ", \"auth\": {\"method\": \"token\", \"token_file\": \"/t\", "
                "\"role\": \"x\"}}",
                /* cert without a client certificate */
                "{" VAULT_BASE ", \"auth\": {\"method\": \"cert\"}}",
                /* unknown method */
                "{" VAULT_BASE ", \"auth\": {\"method\": \"userpass\"}}",
                /* no auth */
                "{" VAULT_BASE "}",
                /* cert without key */
                "{" VAULT_BASE ", \"cert_file\": \"/c\", \"auth\": {\"method\": \"token\", "
                "\"token_file\": \"/t\"}}",
                /* pin format */
                "{" VAULT_BASE ", \"pinned_pubkey\": \"AAAA\", \"auth\": {\"method\": "
                "\"token\", \"token_file\": \"/t\"}}",
                "{" VAULT_BASE ", \"kv_version\": 3, \"auth\": {\"method\": \"token\", "
                "\"token_file\": \"/t\"}}",
                "{" VAULT_BASE ", \"namespace\": \"../x\", \"auth\": {\"method\": \"token\", "
                "\"token_file\": \"/t\"}}",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct vault_config c = {0};
                ck_assert_msg(parse_config(bad[i], NULL, &c) == -EINVAL, "accepted: %s", bad[i]);
        }
}
END_TEST

/* ---- http ---------------------------------------------------------------------------------- */

START_TEST(test_http_address) {
        struct http_tls tls = {0};
        struct http_client *c = NULL;
        const char *why = NULL;
        ck_assert_int_eq(http_client_new("http://v:8200", &tls, 0, &c, &why), -EINVAL);
        ck_assert_str_eq(why, "address must be https://");
        ck_assert_int_eq(http_client_new("https://u:p@v:8200", &tls, 0, &c, &why), -EINVAL);
        ck_assert_int_eq(http_client_new("https://v:8200/?q=1", &tls, 0, &c, &why), -EINVAL);
        tls.server_name = "bad name";
        ck_assert_int_eq(http_client_new("https://127.0.0.1:8200", &tls, 0, &c, &why), -EINVAL);
        tls.server_name = "vault.example";
        ck_assert_int_eq(http_client_new("https://127.0.0.1:8200/", &tls, 0, &c, &why), 0);
        c = http_client_free(c);
        ck_assert_int_eq(http_client_new("https://[::1]", &tls, 0, &c, &why), 0);
        c = http_client_free(c);
}
END_TEST

START_TEST(test_http_header) {
        struct http_request r;
        ck_assert_int_eq(http_request_init(&r, "GET", "/v1/x"), 0);
        ck_assert_int_eq(http_request_header(&r, "X-Vault-Token", "a\r\nX-Evil: 1", 12), -EINVAL);
        ck_assert_int_eq(http_request_header(&r, "X-Vault-Token", "hvs.ok", 6), 0);
        http_request_done(&r);
        ck_assert_str_eq(http_status_phrase(503), "service unavailable");
        ck_assert_str_eq(http_status_phrase(299), "unexpected status");
}
END_TEST

/* ---- the agent's memory of mounts ----------------------------------------------------------- */

static void mounts_teardown(void) {
        vault_mounts_reset();
}

static void learn(const char *scope, const char *path, int version, uint64_t now) {
        struct vault_mount m = {.path = (char *)path, .type = (char *)"kv", .kv_version = version};
        ck_assert_int_eq(vault_mounts_learn(scope, &m, now), 0);
}

/* The path recalled for ref_path at now, "" for none. */
static const char *recall(const char *scope, const char *ref_path, uint64_t now, int *version) {
        static char path[64];
        _cleanup_(vault_mount_done) struct vault_mount m = {0};
        int r = vault_mounts_recall(scope, ref_path, now, &m);
        if (r == -ENOENT)
                return "";
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(m.type, "kv");
        ck_assert_int_eq(m.status, 200);
        ck_assert(vault_mount_covers(&m, ref_path)); /* by its path: recall sets no key */
        if (version)
                *version = m.kv_version;
        snprintf(path, sizeof path, "%s", m.path);
        return path;
}

START_TEST(test_mounts_only_when_remembering) {
        learn("A", "secret/", 2, 1000);
        ck_assert_str_eq(recall("A", "secret/app/db", 1000, NULL), "");
        ck_assert_uint_eq(vault_mounts_count(1000), 0);
}
END_TEST

START_TEST(test_mounts_recall) {
        int v = 0;
        vault_mounts_remember();
        learn("A", "secret/", 2, 1000);
        learn("A", "kv1/", 1, 1000);
        ck_assert_str_eq(recall("A", "secret/app/db", 1000, &v), "secret/");
        ck_assert_int_eq(v, 2);
        ck_assert_str_eq(recall("A", "kv1/app", 1000, &v), "kv1/");
        ck_assert_int_eq(v, 1);
        ck_assert_str_eq(recall("A", "secret", 1000, NULL), "secret/"); /* the mount itself */
        ck_assert_str_eq(recall("A", "secretive/x", 1000, NULL), "");
        ck_assert_str_eq(recall("A", "database/creds/x", 1000, NULL), "");
        ck_assert_str_eq(recall("B", "secret/app/db", 1000, NULL), ""); /* another server */
        /* The longest that holds the path: a mount inside another. */
        learn("A", "secret/app/", 1, 1000);
        ck_assert_str_eq(recall("A", "secret/app/db", 1000, &v), "secret/app/");
        ck_assert_int_eq(v, 1);
        ck_assert_str_eq(recall("A", "secret/other", 1000, NULL), "secret/");
        /* Learned again: replaced, not added. */
        learn("A", "secret/", 1, 2000);
        ck_assert_uint_eq(vault_mounts_count(2000), 3);
        ck_assert_str_eq(recall("A", "secret/x", 2000, &v), "secret/");
        ck_assert_int_eq(v, 1);
        vault_mounts_forget("A", "secret/app/");
        ck_assert_str_eq(recall("A", "secret/app/db", 2000, NULL), "secret/");
        vault_mounts_forget("A", "secret/");
        ck_assert_str_eq(recall("A", "secret/app/db", 2000, NULL), "");
        ck_assert_uint_eq(vault_mounts_count(2000), 1);
}
END_TEST

START_TEST(test_mounts_expire) {
        vault_mounts_remember();
        learn("A", "secret/", 2, 1000);
        ck_assert_str_eq(recall("A", "secret/a", 1000 + VAULT_MOUNTS_TTL_MS - 1, NULL), "secret/");
        ck_assert_str_eq(recall("A", "secret/a", 1000 + VAULT_MOUNTS_TTL_MS, NULL), "");
        ck_assert_uint_eq(vault_mounts_count(1000 + VAULT_MOUNTS_TTL_MS - 1), 1);
        ck_assert_uint_eq(vault_mounts_count(1000 + VAULT_MOUNTS_TTL_MS), 0);
        /* Dropped, not only hidden, once another is learned after it expired: asked at a time
         * when it would be fresh, it is gone. */
        learn("A", "kv1/", 1, 1000 + VAULT_MOUNTS_TTL_MS);
        ck_assert_str_eq(recall("A", "secret/a", 1000, NULL), "");
        ck_assert_uint_eq(vault_mounts_count(1000 + VAULT_MOUNTS_TTL_MS), 1);
}
END_TEST

START_TEST(test_mounts_bounded) {
        char path[32];
        vault_mounts_remember();
        for (int i = 0; i < 300; i++) {
                snprintf(path, sizeof path, "m%d/", i);
                learn("A", path, 2, 1000 + (uint64_t)i);
        }
        ck_assert_uint_eq(vault_mounts_count(1300), 256);
        ck_assert_str_eq(recall("A", "m0/x", 1300, NULL), ""); /* the oldest went first */
        ck_assert_str_eq(recall("A", "m43/x", 1300, NULL), "");
        ck_assert_str_eq(recall("A", "m44/x", 1300, NULL), "m44/");
        ck_assert_str_eq(recall("A", "m299/x", 1300, NULL), "m299/");
}
END_TEST

START_TEST(test_mounts_scope) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        ck_assert_int_eq(vault_mounts_scope("v a", "https://x", NULL, &a), 0);
        ck_assert_int_eq(vault_mounts_scope("v", "a https://x", NULL, &b), 0);
        ck_assert_int_eq(vault_mounts_scope("v", "https://x", "ns1", &c), 0);
        ck_assert_int_eq(vault_mounts_scope("v", "https://x", NULL, &d), 0);
        ck_assert_str_ne(a, b);
        ck_assert_str_ne(c, d);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("vault");
        TCase *tc = tcase_create("token cache");
        tcase_add_checked_fixture(tc, cache_setup, cache_teardown);
        tcase_add_test(tc, test_cache_round_trip);
        tcase_add_test(tc, test_cache_rejects);
        tcase_add_test(tc, test_cache_freshness);
        tcase_add_test(tc, test_cache_key);
        tcase_add_test(tc, test_cache_files);
        tcase_add_test(tc, test_cache_prune);
        tcase_add_test(tc, test_cache_dir_not_private);
        tcase_add_test(tc, test_cache_preopen);
        suite_add_tcase(s, tc);

        tc = tcase_create("config and http");
        tcase_add_test(tc, test_config);
        tcase_add_test(tc, test_config_rejects);
        tcase_add_test(tc, test_http_address);
        tcase_add_test(tc, test_http_header);
        suite_add_tcase(s, tc);

        tc = tcase_create("mount memory");
        tcase_add_checked_fixture(tc, NULL, mounts_teardown);
        tcase_add_test(tc, test_mounts_only_when_remembering);
        tcase_add_test(tc, test_mounts_recall);
        tcase_add_test(tc, test_mounts_expire);
        tcase_add_test(tc, test_mounts_bounded);
        tcase_add_test(tc, test_mounts_scope);
        suite_add_tcase(s, tc);
        return s;
}
