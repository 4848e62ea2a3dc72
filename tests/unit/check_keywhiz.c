/* SPDX-License-Identifier: Apache-2.0 */
/* The keywhiz backend's replies, base64 and metadata (broker/fetch/keywhiz_parse.c), and how the
 * metadata becomes a file's name, mode and owner (broker/place/filemeta.c). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "place/filemeta.h"
#include "fetch/keywhiz_parse.h"
#include "unit.h"

static const char *why;

static int parse(const char *body, struct keywhiz_secret *ret) {
        return keywhiz_parse_secret(body, strlen(body), NULL, ret, &why);
}

static bool value_is(const struct secret *s, const char *want) {
        return s && secret_size(s) == strlen(want) &&
               memcmp(secret_cdata(s), want, strlen(want)) == 0;
}

/* Keywhiz's own fixture (api/src/test/resources/fixtures/secretDeliveryResponseWithMetadata),
 * as Jackson writes it: the metadata flattened into the object. */
START_TEST(test_keywhiz_fixture) {
        struct keywhiz_secret s = {0};
        ck_assert_int_eq(parse("{\n  \"name\" : \"Nobody_PgPass\",\n  \"secret\" : \"YXNkZGFz\",\n"
                               "  \"secretLength\" : 6,\n  \"creationDate\" : "
                               "\"2011-09-29T15:46:00.000Z\",\n  \"isVersioned\" : false,\n"
                               "  \"mode\" : \"0400\",\n  \"owner\" : \"nobody\"\n}\n",
                               &s),
                         0);
        ck_assert_str_eq(s.name, "Nobody_PgPass");
        ck_assert(value_is(s.value, "asddas"));
        ck_assert(s.has_mode);
        ck_assert_uint_eq(s.mode, 0400);
        ck_assert_str_eq(s.owner, "nobody");
        ck_assert_ptr_null(s.group);
        ck_assert_ptr_null(s.filename);
        keywhiz_secret_done(&s);

        /* Without metadata; unknown keys (newer servers: checksum, updateDate, expiry, or any
         * metadata) are ignored. */
        ck_assert_int_eq(parse("{\"name\":\"Database_Password\",\"secret\":\"YXNkZGFz\","
                               "\"secretLength\":6,\"creationDate\":\"2011-09-29T15:46:00.000Z\","
                               "\"isVersioned\":false,\"checksum\":\"ab\",\"expiry\":0,"
                               "\"team\":\"x\"}",
                               &s),
                         0);
        ck_assert(!s.has_mode);
        ck_assert_ptr_null(s.owner);
        keywhiz_secret_done(&s);
}
END_TEST

START_TEST(test_shape) {
        struct keywhiz_secret s = {0};
        static const char *const bad[] = {
                "[]",
                "{}",
                "{\"name\":\"a\",\"secretLength\":1}",
                "{\"name\":\"a\",\"secret\":\"YQ==\"}",
                "{\"name\":\"a\",\"secret\":1,\"secretLength\":1}",
                "{\"name\":\"a\",\"secret\":\"YQ==\",\"secretLength\":\"1\"}",
                "{\"name\":\"a\",\"secret\":\"YQ==\",\"secretLength\":-1}",
                "{\"name\":\"\",\"secret\":\"YQ==\",\"secretLength\":1}",
                "{\"name\":\"a\",\"secret\":\"YQ==\",\"secretLength\":1,\"isVersioned\":\"no\"}",
                "{\"name\":\"a\",\"secret\":\"YQ==\",\"secretLength\":1,\"mode\":400}",
                "{\"name\":\"a\",\"secret\":\"YQ==\",\"secretLength\":1,\"owner\":null}",
                "{\"name\":\"a\",\"name\":\"b\",\"secret\":\"YQ==\",\"secretLength\":1}",
                "{\"name\":\"a\",\"secret\":\"YQ==\",\"secretLength\":1",
                "not json",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                ck_assert_msg(parse(bad[i], &s) == -EBADMSG, "accepted %s", bad[i]);
                ck_assert_ptr_nonnull(why);
                ck_assert_ptr_null(s.name);
                ck_assert_ptr_null(s.value);
        }
}
END_TEST

static int decode(const char *b64, uint64_t length, struct secret **ret) {
        return keywhiz_base64_decode(b64, strlen(b64), length, NULL, ret);
}

START_TEST(test_base64) {
        struct secret *v = NULL;
        /* Padded, unpadded (keysync appended the '='), partly padded, trailing newline. */
        static const struct {
                const char *b64, *want;
        } good[] = {
                {"YWJjZA==", "abcd"},  {"YWJjZA", "abcd"},   {"YWJjZA=", "abcd"},
                {"YWJjZGU=", "abcde"}, {"YWJjZGU", "abcde"}, {"YWJj", "abc"},
                {"YWJj\n", "abc"},     {"YW\nJj", "abc"},    {"", ""},
                {"/+8=", "\xff\xef"},  {"/+8", "\xff\xef"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                ck_assert_msg(decode(good[i].b64, strlen(good[i].want), &v) == 0, "refused %s",
                              good[i].b64);
                ck_assert(value_is(v, good[i].want));
                ck_assert(secret_is_locked(v) || true);
                v = secret_free(v);
        }
        /* Not base64: the URL alphabet, stray '=', too much padding, one char of a group. */
        static const char *const bad[] = {"YWJjZA===", "YWJj=", "YW=Jj",      "YWJjZ",
                                          "_-8=",      "YW Jj", "YWJjZA==YQ", "===="};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                int r = decode(bad[i], 3, &v);
                ck_assert_msg(r == -EBADMSG || r == -EMSGSIZE, "accepted %s (%d)", bad[i], r);
                ck_assert_ptr_null(v);
        }
}
END_TEST

/* secretLength is what the server says the value has: anything else is refused, before a
 * byte is copied anywhere. */
START_TEST(test_length_mismatch) {
        struct keywhiz_secret s = {0};
        ck_assert_int_eq(parse("{\"name\":\"a\",\"secret\":\"YWJjZA==\",\"secretLength\":5}", &s),
                         -EMSGSIZE);
        ck_assert_ptr_null(s.value);
        ck_assert_int_eq(parse("{\"name\":\"a\",\"secret\":\"YWJjZA==\",\"secretLength\":3}", &s),
                         -EMSGSIZE);
        ck_assert_int_eq(parse("{\"name\":\"a\",\"secret\":\"YWJjZA\",\"secretLength\":0}", &s),
                         -EMSGSIZE);
        ck_assert_int_eq(
                parse("{\"name\":\"a\",\"secret\":\"YWJjZA\",\"secretLength\":99999999999}", &s),
                -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, "malformed"));
}
END_TEST

static int parse_meta(const char *meta, struct keywhiz_secret *ret) {
        char body[512];
        snprintf(body, sizeof body, "{\"name\":\"db\",\"secret\":\"YQ\",\"secretLength\":1%s}",
                 meta);
        return parse(body, ret);
}

START_TEST(test_metadata) {
        struct keywhiz_secret s = {0};
        /* Only read bits: keysync masked with 0444. */
        static const struct {
                const char *mode;
                mode_t want;
        } modes[] = {{"0400", 0400}, {"0440", 0440}, {"0644", 0444},
                     {"0777", 0444}, {"0751", 0440}, {"100644", 0444},
                     {"0", 0},       {"4755", 0444}, {"0200", 0}};
        for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
                char meta[64];
                snprintf(meta, sizeof meta, ",\"mode\":\"%s\"", modes[i].mode);
                ck_assert_int_eq(parse_meta(meta, &s), 0);
                ck_assert(s.has_mode);
                ck_assert_uint_eq(s.mode, modes[i].want);
                keywhiz_secret_done(&s);
        }
        /* An empty mode is no mode (keysync's default applied instead). */
        ck_assert_int_eq(parse_meta(",\"mode\":\"\"", &s), 0);
        ck_assert(!s.has_mode);
        keywhiz_secret_done(&s);
        static const char *const bad_modes[] = {"rw", "0x1", "0800", "-400", "1777777", " 400"};
        for (size_t i = 0; i < ARRAY_SIZE(bad_modes); i++) {
                char meta[64];
                snprintf(meta, sizeof meta, ",\"mode\":\"%s\"", bad_modes[i]);
                ck_assert_msg(parse_meta(meta, &s) == -EINVAL, "accepted mode %s", bad_modes[i]);
                ck_assert_ptr_nonnull(strstr(why, "mode"));
        }

        ck_assert_int_eq(parse_meta(",\"owner\":\"app\",\"group\":\"staff\",\"filename\":"
                                    "\"db.pw\"",
                                    &s),
                         0);
        ck_assert_str_eq(s.owner, "app");
        ck_assert_str_eq(s.group, "staff");
        ck_assert_str_eq(s.filename, "db.pw");
        keywhiz_secret_done(&s);
        ck_assert_int_eq(parse_meta(",\"owner\":\"\"", &s), 0);
        ck_assert_ptr_null(s.owner);
        keywhiz_secret_done(&s);
        ck_assert_int_eq(parse_meta(",\"owner\":\"a:b\"", &s), -EINVAL);
        ck_assert_int_eq(parse_meta(",\"group\":\"a\\nroot\"", &s), -EINVAL);
}
END_TEST

/* keysync refused a filename with a '/'; here it also becomes the name on the tmpfs and in
 * the manifest, so it must be a valid secret name. */
START_TEST(test_filename) {
        struct keywhiz_secret s = {0};
        static const char *const bad[] = {"../etc/passwd", "a/b", "/abs", "",  ".lockbox.json",
                                          ".hidden",       "..",  "a b",  "-x"};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                char meta[128];
                snprintf(meta, sizeof meta, ",\"filename\":\"%s\"", bad[i]);
                ck_assert_msg(parse_meta(meta, &s) == -EINVAL, "accepted filename %s", bad[i]);
                ck_assert_ptr_nonnull(strstr(why, "filename"));
                ck_assert_ptr_null(s.value);
        }
        ck_assert_int_eq(parse_meta(",\"filename\":\"tls_key.pem\"", &s), 0);
        keywhiz_secret_done(&s);
}
END_TEST

START_TEST(test_list) {
        struct keywhiz_secret *list = NULL;
        size_t n = 0;
        /* GET /secrets: no values, secretLength 0. */
        const char *body = "[{\"name\":\"a\",\"secret\":\"\",\"secretLength\":0,\"creationDate\":"
                           "\"2011-09-29T15:46:00.000Z\",\"isVersioned\":false,\"mode\":\"0440\"},"
                           "{\"name\":\"b\",\"secret\":\"\",\"secretLength\":0}]";
        ck_assert_int_eq(keywhiz_parse_list(body, strlen(body), false, NULL, &list, &n, &why), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(list[1].name, "b");
        ck_assert_ptr_null(list[0].value);
        ck_assert_uint_eq(list[0].mode, 0440);
        keywhiz_list_free(list, n);

        /* A batch: values decoded. */
        body = "[{\"name\":\"b\",\"secret\":\"Yg\",\"secretLength\":1},"
               "{\"name\":\"a\",\"secret\":\"YQ==\",\"secretLength\":1}]";
        ck_assert_int_eq(keywhiz_parse_list(body, strlen(body), true, NULL, &list, &n, &why), 0);
        ck_assert(value_is(list[0].value, "b") && value_is(list[1].value, "a"));
        keywhiz_list_free(list, n);

        ck_assert_int_eq(keywhiz_parse_list("{}", 2, true, NULL, &list, &n, &why), -EBADMSG);
        body = "[{\"name\":\"a\",\"secret\":\"YQ==\",\"secretLength\":2}]";
        ck_assert_int_eq(keywhiz_parse_list(body, strlen(body), true, NULL, &list, &n, &why),
                         -EMSGSIZE);
        ck_assert_int_eq(keywhiz_parse_list("[]", 2, true, NULL, &list, &n, &why), 0);
        ck_assert_uint_eq(n, 0);
        keywhiz_list_free(list, n);
}
END_TEST

/* With the backend's pool (keywhiz.c: one of the reply's size), a batch's values are packed one
 * after another in it, 16-byte steps; a value too large for what is left of it gets a buffer of
 * its own and is decoded all the same. */
START_TEST(test_list_pooled) {
        struct keywhiz_secret *list = NULL, *big = NULL;
        struct secret_pool *pool = NULL;
        size_t n = 0;
        const char *body = "[{\"name\":\"b\",\"secret\":\"Yg\",\"secretLength\":1},"
                           "{\"name\":\"a\",\"secret\":\"YQ==\",\"secretLength\":1}]";
        ck_assert_int_eq(secure_init(), 0);
        ck_assert_int_eq(secret_pool_new(strlen(body), &pool), 0);
        ck_assert_int_eq(keywhiz_parse_list(body, strlen(body), true, pool, &list, &n, &why), 0);
        ck_assert(value_is(list[0].value, "b") && value_is(list[1].value, "a"));
        const char *first = secret_cdata(list[0].value);
        ck_assert_ptr_eq(secret_cdata(list[1].value), first + 16);

        /* 6000 bytes: more than the pool's one page. */
        static unsigned char raw[6000];
        static char text[8100], big_body[8200];
        memset(raw, 'x', sizeof raw);
        sodium_bin2base64(text, sizeof text, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
        snprintf(big_body, sizeof big_body,
                 "[{\"name\":\"c\",\"secret\":\"%s\",\"secretLength\":%zu}]", text, sizeof raw);
        size_t n_big = 0;
        ck_assert_int_eq(
                keywhiz_parse_list(big_body, strlen(big_body), true, pool, &big, &n_big, &why), 0);
        ck_assert_uint_eq(secret_size(big[0].value), sizeof raw);
        ck_assert_mem_eq(secret_cdata(big[0].value), raw, sizeof raw);
        const char *own = secret_cdata(big[0].value);
        ck_assert(own < first || own >= first + 4096);
        keywhiz_list_free(big, n_big);
        keywhiz_list_free(list, n);
        pool = secret_pool_unref(pool);
}
END_TEST

START_TEST(test_requests) {
        _cleanup_free_ char *body = NULL, *path = NULL;
        const char *names[] = {"db", "tls \"key\""};
        ck_assert_int_eq(keywhiz_batch_body(names, 2, &body), 0);
        ck_assert_str_eq(body, "{\"secrets\":[\"db\",\"tls \\\"key\\\"\"]}");

        ck_assert_int_eq(keywhiz_secret_path("Nobody_PgPass", &path), 0);
        ck_assert_str_eq(path, "/secret/Nobody_PgPass");
        free(path);
        ck_assert_int_eq(keywhiz_secret_path("a b:c%d?e#f.g-h~i", &path), 0);
        ck_assert_str_eq(path, "/secret/a%20b%3Ac%25d%3Fe%23f.g-h~i");
        free(path);
        path = NULL;
        ck_assert_int_eq(keywhiz_secret_path("a/b", &path), -EINVAL);
        ck_assert_int_eq(keywhiz_secret_path("", &path), -EINVAL);
}
END_TEST

/* ---- from metadata to the file ------------------------------------------------------------- */

/* A rootfs of our own: passwd and group with names the host does not have. */
static int fake_rootfs(char *dir, const char *passwd, const char *group) {
        char path[256];
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/etc", dir);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        if (passwd) {
                snprintf(path, sizeof path, "%s/etc/passwd", dir);
                FILE *f = fopen(path, "we");
                fputs(passwd, f);
                fclose(f);
        }
        if (group) {
                snprintf(path, sizeof path, "%s/etc/group", dir);
                FILE *f = fopen(path, "we");
                fputs(group, f);
                fclose(f);
        }
        int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        return fd;
}

static void remove_rootfs(const char *dir) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_userdb) {
        char dir[] = "/tmp/lbx-kw-root.XXXXXX";
        int fd = fake_rootfs(dir,
                             "root:x:0:0:root:/root:/bin/sh\nkw-app:x:2001:2002::/:/bin/sh\n"
                             "kw-app:x:9:9::/:/bin/sh\nbroken:x:\nnum:x:abc:1::/:\n",
                             "root:x:0:\nkw-grp:x:3001:kw-app\n");
        struct userdb db = {0};
        uint32_t id = 0;
        ck_assert_int_eq(userdb_load(fd, &db), 0);
        ck_assert_int_eq(userdb_find(db.passwd, "kw-app", &id), 0);
        ck_assert_uint_eq(id, 2001); /* the first entry */
        ck_assert_int_eq(userdb_find(db.group, "kw-grp", &id), 0);
        ck_assert_uint_eq(id, 3001);
        ck_assert_int_eq(userdb_find(db.passwd, "kw", &id), -ENOENT);
        ck_assert_int_eq(userdb_find(db.passwd, "root:x", &id), -ENOENT);
        ck_assert_int_eq(userdb_find(db.passwd, "nobody", &id), -ENOENT);
        ck_assert_int_eq(userdb_find(db.passwd, "broken", &id), -EINVAL);
        ck_assert_int_eq(userdb_find(db.passwd, "num", &id), -EINVAL);
        ck_assert_int_eq(userdb_find(NULL, "root", &id), -ENOENT);
        userdb_done(&db);
        close(fd);
        remove_rootfs(dir);
}
END_TEST

/* The container's files, never the host's: a symlink to /etc/passwd inside the rootfs is not
 * followed (RESOLVE_IN_ROOT would keep it in the root; no symlink at all is simpler), and a
 * FIFO does not block. */
START_TEST(test_userdb_hostile) {
        char dir[] = "/tmp/lbx-kw-root.XXXXXX", path[256];
        int fd = fake_rootfs(dir, NULL, NULL);
        snprintf(path, sizeof path, "%s/etc/passwd", dir);
        ck_assert_int_eq(symlink("/etc/passwd", path), 0);
        snprintf(path, sizeof path, "%s/etc/group", dir);
        ck_assert_int_eq(mkfifo(path, 0644), 0);
        struct userdb db = {0};
        uint32_t id;
        ck_assert_int_eq(userdb_load(fd, &db), 0);
        ck_assert_ptr_null(db.passwd);
        ck_assert_ptr_null(db.group);
        ck_assert_int_eq(userdb_find(db.passwd, "root", &id), -ENOENT);
        userdb_done(&db);
        close(fd);
        remove_rootfs(dir);

        /* No etc at all: every name unknown. */
        char empty[] = "/tmp/lbx-kw-root.XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(empty));
        fd = open(empty, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_eq(userdb_load(fd, &db), 0);
        ck_assert_ptr_null(db.passwd);
        close(fd);
        remove_rootfs(empty);
}
END_TEST

START_TEST(test_decide) {
        char dir[] = "/tmp/lbx-kw-root.XXXXXX";
        int fd = fake_rootfs(dir, "kw-app:x:2001:2002::/:/bin/sh\n", "kw-grp:x:3001:\n");
        struct userdb db = {0};
        ck_assert_int_eq(userdb_load(fd, &db), 0);
        struct secret_request sr = {.name = (char *)"db", .mode = 0400};
        struct fetched_secret f = {.has_mode = true,
                                   .mode = 0440,
                                   .owner = (char *)"kw-app",
                                   .group = (char *)"kw-grp",
                                   .file = (char *)"db.pw"};
        struct filemeta m;

        /* Metadata applied: the file's name, the mode, ids from the container's files. */
        filemeta_decide(&sr, &f, false, false, 1000, 1000, &db, &m);
        ck_assert_str_eq(m.file, "db.pw");
        ck_assert_uint_eq(m.mode, 0440);
        ck_assert_uint_eq(m.uid, 2001);
        ck_assert_uint_eq(m.gid, 3001);
        ck_assert(!m.owner_unknown && !m.group_unknown);

        /* The request wins: io.lockbox.mode.NAME, io.lockbox.uid, io.lockbox.gid. */
        sr.mode = 0600;
        sr.mode_set = true;
        filemeta_decide(&sr, &f, true, true, 1000, 1001, &db, &m);
        ck_assert_uint_eq(m.mode, 0600);
        ck_assert_uint_eq(m.uid, 1000);
        ck_assert_uint_eq(m.gid, 1001);
        ck_assert_str_eq(m.file, "db.pw");
        /* Only the uid set: the group still comes from the metadata. */
        filemeta_decide(&sr, &f, true, false, 1000, 1001, &db, &m);
        ck_assert_uint_eq(m.uid, 1000);
        ck_assert_uint_eq(m.gid, 3001);

        /* A name the container does not have (the host may: never looked up there). */
        f.owner = (char *)"root";
        f.group = (char *)"daemon";
        sr.mode_set = false;
        sr.mode = 0400;
        filemeta_decide(&sr, &f, false, false, 1000, 1001, &db, &m);
        ck_assert_uint_eq(m.uid, 1000);
        ck_assert_uint_eq(m.gid, 1001);
        ck_assert(m.owner_unknown && m.group_unknown);

        /* No metadata: the request's defaults and the secret's name. */
        struct fetched_secret plain = {0};
        filemeta_decide(&sr, &plain, false, false, 7, 8, NULL, &m);
        ck_assert_str_eq(m.file, "db");
        ck_assert_uint_eq(m.mode, 0400);
        ck_assert_uint_eq(m.uid, 7);
        ck_assert_uint_eq(m.gid, 8);
        ck_assert(!m.owner_unknown && !m.group_unknown);
        userdb_done(&db);
        close(fd);
        remove_rootfs(dir);
}
END_TEST

/* From a reply to what the placement gets: the metadata moves into the fetched secret. */
START_TEST(test_to_fetched) {
        struct keywhiz_secret s = {0};
        struct fetched_secret f = {0};
        ck_assert_int_eq(
                parse_meta(",\"mode\":\"0777\",\"owner\":\"kw-app\",\"filename\":\"x\"", &s), 0);
        ck_assert_int_eq(keywhiz_to_fetched(&s, &f), 0);
        ck_assert(value_is(f.value, "a"));
        ck_assert(f.has_mode);
        ck_assert_uint_eq(f.mode, 0444);
        ck_assert_str_eq(f.owner, "kw-app");
        ck_assert_ptr_null(f.group);
        ck_assert_str_eq(f.file, "x");
        ck_assert_ptr_null(s.value);
        keywhiz_secret_done(&s);
        fetched_done(&f, 1);
        ck_assert_ptr_null(f.value);
        ck_assert_ptr_null(f.file);
}
END_TEST

static void write_raw(const char *origin, const char *text, struct broker_config **ret) {
        ck_assert_int_eq(config_parse(text, strlen(text), origin, ret), 0);
}

START_TEST(test_config) {
        struct broker_config *cfg = NULL;
        struct keywhiz_config kc = {0};
        write_raw("t",
                  "{\"backends\":{\"kw\":{\"type\":\"keywhiz\",\"url\":\"https://k:4444\","
                  "\"cert_file\":\"/c.pem\",\"key_file\":\"/c.key\",\"ca_file\":\"/ca\","
                  "\"timeout_ms\":500}},\"roles\":[{\"name\":\"default\",\"allow\":[]}]}",
                  &cfg);
        ck_assert_int_eq(keywhiz_config_parse(cfg, &cfg->backends[0], &kc), 0);
        ck_assert_str_eq(kc.url, "https://k:4444");
        ck_assert_str_eq(kc.cert_file, "/c.pem");
        ck_assert_uint_eq(kc.timeout_ms, 500);
        keywhiz_config_done(&kc);
        config_free(cfg);

        static const char *const bad[] = {
                "\"url\":\"http://k\",\"cert_file\":\"/c\",\"key_file\":\"/k\"",
                "\"url\":\"https://k\",\"key_file\":\"/k\"",
                "\"url\":\"https://k\",\"cert_file\":\"/c\"",
                "\"url\":\"https://k\",\"cert_file\":\"c\",\"key_file\":\"/k\"",
                "\"url\":\"https://k\",\"cert_file\":\"/c\",\"key_file\":\"/k\",\"token\":\"x\"",
                "\"url\":\"https://k\",\"cert_file\":\"/c\",\"key_file\":\"/k\",\"timeout_ms\":0",
                "\"url\":\"https://k\",\"cert_file\":\"/c\",\"key_file\":\"/k\","
                "\"pinned_pubkey\":\"abc\"",
                "\"url\":\"https://k\",\"cert_file\":\"/a/../c\",\"key_file\":\"/k\"",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                char text[512];
                snprintf(text, sizeof text,
                         "{\"backends\":{\"kw\":{\"type\":\"keywhiz\",%s}},\"roles\":[{\"name\":"
                         "\"default\",\"allow\":[]}]}",
                         bad[i]);
                write_raw("t", text, &cfg);
                ck_assert_msg(keywhiz_config_parse(cfg, &cfg->backends[0], &kc) == -EINVAL,
                              "accepted %s", bad[i]);
                config_free(cfg);
        }
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("keywhiz");
        TCase *tc = tcase_create("replies");
        tcase_add_test(tc, test_keywhiz_fixture);
        tcase_add_test(tc, test_shape);
        tcase_add_test(tc, test_base64);
        tcase_add_test(tc, test_length_mismatch);
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_list_pooled);
        tcase_add_test(tc, test_requests);
        tcase_add_test(tc, test_config);
        suite_add_tcase(s, tc);
        tc = tcase_create("metadata");
        tcase_add_test(tc, test_metadata);
        tcase_add_test(tc, test_filename);
        tcase_add_test(tc, test_to_fetched);
        suite_add_tcase(s, tc);
        tc = tcase_create("owners");
        /* valgrind 3.19 does not know openat2 (ENOSYS): make memcheck leaves these to
         * unit-asan. Nor does qemu-user 7.2: make cross skips those that need it. */
        tcase_set_tags(tc, "openat2");
        unit_add_openat2_test(tc, test_userdb);
        unit_add_openat2_test(tc, test_userdb_hostile);
        unit_add_openat2_test(tc, test_decide);
        suite_add_tcase(s, tc);
        return s;
}
