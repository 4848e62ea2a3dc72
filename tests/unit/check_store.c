/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cmd/cmd.h"
#include "fetch/backend.h"
#include "fetch/fetched.h"
#include "request/config.h"
#include "fdutil.h"
#include "fetch/store.h"
#include "unit.h"

#define HEADER 29 /* "LBXS" + version + 24-byte nonce */
#define TAG 16

static char tmpdir[64];
static char dir[128], key_file[128];
static struct store st;

static void setup(void) {
        strcpy(tmpdir, "/tmp/lbx-store-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        snprintf(dir, sizeof dir, "%s/lib/store", tmpdir);
        snprintf(key_file, sizeof key_file, "%s/etc/store.key", tmpdir);
        st = (struct store){.dir = dir, .key_file = key_file};
}

static void teardown(void) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

static void init_store(void) {
        ck_assert_int_eq(store_init(&st), 0);
}

static void put(const char *name, const char *value) {
        _cleanup_secret_ struct secret *v = NULL;
        ck_assert_int_eq(secret_new_copy(value, strlen(value), &v), 0);
        ck_assert_int_eq(store_put(&st, name, v), 0);
}

static int get(const char *name, const char *expect) {
        _cleanup_secret_ struct secret *v = NULL;
        int r = store_get(&st, name, &v);
        if (r < 0) {
                ck_assert_ptr_null(v);
                return r;
        }
        ck_assert_uint_eq(secret_size(v), strlen(expect));
        ck_assert(memcmp(secret_cdata(v), expect, strlen(expect)) == 0);
        return 0;
}

static void sealed_path(const char *name, char *out) {
        sprintf(out, "%s/%s.sealed", dir, name);
}

static off_t file_size(const char *path) {
        struct stat s;
        ck_assert_int_eq(stat(path, &s), 0);
        return s.st_size;
}

START_TEST(test_init) {
        init_store();
        struct stat s;
        ck_assert_int_eq(lstat(dir, &s), 0);
        ck_assert(S_ISDIR(s.st_mode));
        ck_assert_uint_eq(s.st_mode & 07777, 0700);
        ck_assert_int_eq(lstat(key_file, &s), 0);
        ck_assert(S_ISREG(s.st_mode));
        ck_assert_uint_eq(s.st_mode & 07777, 0400);
        ck_assert_int_eq(s.st_size, 32);

        /* Again: the key is kept, byte for byte. */
        char before[32], after[32];
        int fd = open(key_file, O_RDONLY | O_CLOEXEC);
        ck_assert_int_eq(read_full(fd, before, 32), 32);
        close(fd);
        init_store();
        fd = open(key_file, O_RDONLY | O_CLOEXEC);
        ck_assert_int_eq(read_full(fd, after, 32), 32);
        close(fd);
        ck_assert(memcmp(before, after, 32) == 0);
}
END_TEST

START_TEST(test_round_trip) {
        init_store();
        put("db", "correct horse battery staple");
        ck_assert_int_eq(get("db", "correct horse battery staple"), 0);
        char path[256];
        sealed_path("db", path);
        struct stat s;
        ck_assert_int_eq(stat(path, &s), 0);
        ck_assert_uint_eq(s.st_mode & 07777, 0600);
        ck_assert_int_eq(s.st_size, HEADER + 28 + TAG);
        /* The value is not on disk in the clear. */
        char buf[256];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = read_full(fd, buf, sizeof buf);
        close(fd);
        ck_assert_int_eq(n, s.st_size);
        ck_assert(memcmp(buf, "LBXS\x01", 5) == 0);
        ck_assert_ptr_null(memmem(buf, (size_t)n, "horse", 5));
        /* Replaced by a second put. */
        put("db", "v2");
        ck_assert_int_eq(get("db", "v2"), 0);
        put("db2", "v2");
        ck_assert_int_eq(get("db2", "v2"), 0);
}
END_TEST

START_TEST(test_binary_and_sizes) {
        init_store();
        _cleanup_secret_ struct secret *v = NULL, *out = NULL, *empty = NULL, *big = NULL;
        const char bin[] = {'a', 0, '\n', (char)0xff, 0};
        ck_assert_int_eq(secret_new_copy(bin, sizeof bin, &v), 0);
        ck_assert_int_eq(store_put(&st, "bin", v), 0);
        ck_assert_int_eq(store_get(&st, "bin", &out), 0);
        ck_assert(secret_equal(v, out));
        secret_free(out);
        out = NULL;

        ck_assert_int_eq(secret_new(0, &empty), 0);
        ck_assert_int_eq(store_put(&st, "empty", empty), 0);
        ck_assert_int_eq(store_get(&st, "empty", &out), 0);
        ck_assert_uint_eq(secret_size(out), 0);
        secret_free(out);
        out = NULL;

        ck_assert_int_eq(secret_new(STORE_VALUE_MAX, &big), 0);
        randombytes_buf(secret_data(big), STORE_VALUE_MAX);
        ck_assert_int_eq(store_put(&st, "big", big), 0);
        ck_assert_int_eq(store_get(&st, "big", &out), 0);
        ck_assert(secret_equal(big, out));
        secret_free(big);
        big = NULL;
        ck_assert_int_eq(secret_new(STORE_VALUE_MAX + 1, &big), 0);
        ck_assert_int_eq(store_put(&st, "toobig", big), -EFBIG);
}
END_TEST

START_TEST(test_nonce_fresh) {
        init_store();
        char p[256], a[128], b[128];
        sealed_path("x", p);
        put("x", "same");
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        ck_assert_int_eq(read_full(fd, a, sizeof a), HEADER + 4 + TAG);
        close(fd);
        put("x", "same");
        fd = open(p, O_RDONLY | O_CLOEXEC);
        ck_assert_int_eq(read_full(fd, b, sizeof b), HEADER + 4 + TAG);
        close(fd);
        ck_assert(memcmp(a, b, HEADER + 4 + TAG) != 0);
}
END_TEST

START_TEST(test_missing_and_bad_names) {
        init_store();
        ck_assert_int_eq(get("nosuch", ""), -ENOENT);
        ck_assert_int_eq(store_remove(&st, "nosuch"), -ENOENT);
        static const char *const bad[] = {"", "../x", "a/b", ".hidden", "-x", "a b"};
        _cleanup_secret_ struct secret *v = NULL;
        ck_assert_int_eq(secret_new_copy("v", 1, &v), 0);
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                ck_assert_int_eq(store_put(&st, bad[i], v), -EINVAL);
                ck_assert_int_eq(get(bad[i], ""), -EINVAL);
                ck_assert_int_eq(store_remove(&st, bad[i]), -EINVAL);
        }
}
END_TEST

/* Flip one byte at each interesting offset: header, nonce, ciphertext, tag. */
START_TEST(test_tampered) {
        init_store();
        char p[256];
        sealed_path("db", p);
        const off_t offsets[] = {0, 4, 5, 28, HEADER, HEADER + 3, HEADER + 5, HEADER + 5 + TAG - 1};
        for (size_t i = 0; i < ARRAY_SIZE(offsets); i++) {
                put("db", "hello");
                int fd = open(p, O_RDWR | O_CLOEXEC);
                unsigned char c;
                ck_assert_int_eq(pread(fd, &c, 1, offsets[i]), 1);
                c ^= 0x01;
                ck_assert_int_eq(pwrite(fd, &c, 1, offsets[i]), 1);
                close(fd);
                ck_assert_msg(get("db", "hello") == -EBADMSG, "offset %ld", (long)offsets[i]);
        }
}
END_TEST

/* A batch: each name's own result, the values of the others, all in one arena. */
START_TEST(test_batch) {
        init_store();
        char big[5000];
        memset(big, 'b', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        put("db", "hello");
        put("api", "s3cr3t");
        put("empty", "");
        put("big", big);
        put("bad", "tampered");
        char p[256];
        sealed_path("bad", p);
        int fd = open(p, O_RDWR | O_CLOEXEC);
        ck_assert_int_eq(pwrite(fd, "X", 1, HEADER + 2), 1);
        close(fd);
        const char *names[] = {"db", "missing", "api", "../x", "bad", "empty", "big"};
        const int want[] = {0, -ENOENT, 0, -EINVAL, -EBADMSG, 0, 0};
        const char *values[] = {"hello", NULL, "s3cr3t", NULL, NULL, "", big};
        struct secret *v[ARRAY_SIZE(names)];
        int errs[ARRAY_SIZE(names)];
        ck_assert_int_eq(store_get_batch(&st, names, ARRAY_SIZE(names), v, errs), 0);
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                ck_assert_msg(errs[i] == want[i], "%s: %d", names[i], errs[i]);
                if (!values[i]) {
                        ck_assert_ptr_null(v[i]);
                        continue;
                }
                ck_assert_uint_eq(secret_size(v[i]), strlen(values[i]));
                ck_assert(memcmp(secret_cdata(v[i]), values[i], strlen(values[i])) == 0);
                ck_assert(secret_is_locked(v[i]) || geteuid() != 0);
        }
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                v[i] = secret_free(v[i]);
        /* What fails them all: no value, whatever errs says. */
        ck_assert_int_eq(unlink(key_file), 0);
        ck_assert_int_eq(store_get_batch(&st, names, ARRAY_SIZE(names), v, errs), -ENOKEY);
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                ck_assert_ptr_null(v[i]);
}
END_TEST

START_TEST(test_truncated_or_extended) {
        init_store();
        char p[256];
        sealed_path("db", p);
        const off_t lengths[] = {
                0, 4, HEADER - 1, HEADER, HEADER + TAG - 1, HEADER + TAG, HEADER + 5 + TAG - 1};
        for (size_t i = 0; i < ARRAY_SIZE(lengths); i++) {
                put("db", "hello");
                ck_assert_int_eq(truncate(p, lengths[i]), 0);
                ck_assert_msg(get("db", "hello") == -EBADMSG, "length %ld", (long)lengths[i]);
        }
        put("db", "hello");
        int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
        ck_assert_int_eq(write_full(fd, "x", 1), 0);
        close(fd);
        ck_assert_int_eq(get("db", "hello"), -EBADMSG);
}
END_TEST

/* The name is bound in the associated data: a file moved to another name does not open. */
START_TEST(test_renamed) {
        init_store();
        put("a", "value of a");
        put("b", "value of b");
        char pa[256], pb[256];
        sealed_path("a", pa);
        sealed_path("b", pb);
        ck_assert_int_eq(rename(pa, pb), 0);
        ck_assert_int_eq(get("b", "value of a"), -EBADMSG);
        ck_assert_int_eq(get("a", ""), -ENOENT);
}
END_TEST

START_TEST(test_wrong_key) {
        init_store();
        put("db", "hello");
        ck_assert_int_eq(unlink(key_file), 0);
        unsigned char k[32];
        randombytes_buf(k, sizeof k);
        int fd = open(key_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
        ck_assert_int_eq(write_full(fd, k, sizeof k), 0);
        close(fd);
        ck_assert_int_eq(get("db", "hello"), -EBADMSG);
}
END_TEST

START_TEST(test_key_checks) {
        init_store();
        put("db", "hello");
        ck_assert_int_eq(chmod(key_file, 0644), 0);
        ck_assert_int_eq(get("db", "hello"), -EPERM);
        _cleanup_secret_ struct secret *v = NULL;
        ck_assert_int_eq(secret_new_copy("v", 1, &v), 0);
        ck_assert_int_eq(store_put(&st, "db", v), -EPERM);
        ck_assert_int_eq(store_init(&st), -EPERM);
        ck_assert_int_eq(chmod(key_file, 0440), 0);
        ck_assert_int_eq(get("db", "hello"), -EPERM);
        ck_assert_int_eq(chmod(key_file, 0404), 0);
        ck_assert_int_eq(get("db", "hello"), -EPERM);
        ck_assert_int_eq(chmod(key_file, 0600), 0);
        ck_assert_int_eq(get("db", "hello"), 0);
        ck_assert_int_eq(chown(key_file, 1000, 0), 0);
        ck_assert_int_eq(get("db", "hello"), -EPERM);
        ck_assert_int_eq(chown(key_file, 0, 0), 0);

        /* A symlink to a good key is refused (O_NOFOLLOW). */
        char real[256];
        snprintf(real, sizeof real, "%s.real", key_file);
        ck_assert_int_eq(rename(key_file, real), 0);
        ck_assert_int_eq(symlink(real, key_file), 0);
        ck_assert_int_eq(get("db", "hello"), -EPERM);
        ck_assert_int_eq(unlink(key_file), 0);
        ck_assert_int_eq(get("db", "hello"), -ENOKEY);

        /* Wrong size. */
        ck_assert_int_eq(truncate(real, 31), 0);
        ck_assert_int_eq(rename(real, key_file), 0);
        ck_assert_int_eq(get("db", "hello"), -EKEYREJECTED);
        ck_assert_int_eq(truncate(key_file, 33), 0);
        ck_assert_int_eq(get("db", "hello"), -EKEYREJECTED);
}
END_TEST

START_TEST(test_dir_checks) {
        init_store();
        put("db", "hello");
        ck_assert_int_eq(chmod(dir, 0770), 0);
        ck_assert_int_eq(get("db", "hello"), -EPERM);
        char **names;
        ck_assert_int_eq(store_list(&st, &names), -EPERM);
        ck_assert_int_eq(store_remove(&st, "db"), -EPERM);
        ck_assert_int_eq(store_init(&st), -EPERM);
        ck_assert_int_eq(chmod(dir, 0702), 0);
        ck_assert_int_eq(get("db", "hello"), -EPERM);
        /* Readable by group or others is not: the file names are the secrets' names (issue
         * 13: the hook accepted a 0755 store). Reading, writing and listing alike. */
        ck_assert_int_eq(chmod(dir, 0755), 0);
        ck_assert_int_eq(get("db", "hello"), -EPERM);
        ck_assert_int_eq(store_list(&st, &names), -EPERM);
        ck_assert_int_eq(chmod(dir, 0750), 0);
        ck_assert_int_eq(get("db", "hello"), -EPERM);
        ck_assert_int_eq(chmod(dir, 0700), 0);
        ck_assert_int_eq(get("db", "hello"), 0);
        ck_assert_int_eq(chown(dir, 1000, 0), 0);
        ck_assert_int_eq(get("db", "hello"), -EPERM);
        ck_assert_int_eq(chown(dir, 0, 0), 0);

        char real[256];
        snprintf(real, sizeof real, "%s.real", dir);
        ck_assert_int_eq(rename(dir, real), 0);
        ck_assert_int_eq(symlink(real, dir), 0);
        ck_assert_int_eq(get("db", "hello"), -EPERM);
}
END_TEST

START_TEST(test_sealed_symlink) {
        init_store();
        put("a", "value of a");
        char pa[256], pb[256];
        sealed_path("a", pa);
        sealed_path("b", pb);
        ck_assert_int_eq(symlink(pa, pb), 0);
        ck_assert_int_eq(get("b", "value of a"), -EBADMSG);
        ck_assert_int_eq(unlink(pb), 0);
        ck_assert_int_eq(mkdir(pb, 0700), 0);
        ck_assert_int_eq(get("b", ""), -EBADMSG);
}
END_TEST

START_TEST(test_list) {
        init_store();
        char **names;
        ck_assert_int_eq(store_list(&st, &names), 0);
        ck_assert_ptr_null(names[0]);
        strv_free(names);

        put("zeta", "1");
        put("alpha", "2");
        put("Mid.dle-x_y", "3");
        char p[256];
        /* Not listed: temporary files, other suffixes, directories, symlinks, bad names. */
        const char *junk[] = {".#alpha.sealed.123", "beta.sealed.tmp", "gamma", ".sealed",
                              "-x.sealed"};
        for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
                sprintf(p, "%s/%s", dir, junk[i]);
                int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                ck_assert_int_ge(fd, 0);
                close(fd);
        }
        sprintf(p, "%s/dir.sealed", dir);
        ck_assert_int_eq(mkdir(p, 0700), 0);
        sprintf(p, "%s/link.sealed", dir);
        ck_assert_int_eq(symlink("alpha.sealed", p), 0);

        ck_assert_int_eq(store_list(&st, &names), 0);
        ck_assert_str_eq(names[0], "Mid.dle-x_y");
        ck_assert_str_eq(names[1], "alpha");
        ck_assert_str_eq(names[2], "zeta");
        ck_assert_ptr_null(names[3]);
        strv_free(names);
        strv_free(NULL);

        ck_assert_int_eq(store_remove(&st, "alpha"), 0);
        ck_assert_int_eq(store_remove(&st, "alpha"), -ENOENT);
        ck_assert_int_eq(store_list(&st, &names), 0);
        ck_assert_str_eq(names[0], "Mid.dle-x_y");
        ck_assert_str_eq(names[1], "zeta");
        ck_assert_ptr_null(names[2]);
        strv_free(names);
}
END_TEST

/* A new key would not open the existing secrets: init leaves that decision to the operator. */
START_TEST(test_init_refuses_orphaned_secrets) {
        init_store();
        put("db", "hello");
        ck_assert_int_eq(unlink(key_file), 0);
        ck_assert_int_eq(store_init(&st), -EEXIST);
        struct stat s;
        ck_assert_int_eq(lstat(key_file, &s), -1);
        ck_assert_int_eq(store_remove(&st, "db"), 0);
        ck_assert_int_eq(store_init(&st), 0);
        ck_assert_int_eq(file_size(key_file), 32);
}
END_TEST

START_TEST(test_uninitialised) {
        ck_assert_int_eq(get("db", ""), -ENOENT);
        char **names;
        ck_assert_int_eq(store_list(&st, &names), -ENOENT);
}
END_TEST

/* ---- cmd_store, with its own broker_load_config (main.c, not in libbroker.a, has the real
 * one). ---- */

static const char *test_config_json;

int broker_load_config(const struct broker_ctx *ctx, struct broker_config **ret) {
        return config_parse(test_config_json, strlen(test_config_json), "test.json", ret) < 0
                       ? EXIT_USAGE
                       : EXIT_DONE;
}

static char config_buf[512];

static void use_store_config(void) {
        snprintf(config_buf, sizeof config_buf,
                 "{\"backends\": {\"store\": {\"type\": \"store\", \"dir\": \"%s\", "
                 "\"key_file\": \"%s\"}}}",
                 dir, key_file);
        test_config_json = config_buf;
}

struct run {
        int rc;
        char out[4096];
        char err[4096];
};

static int tmpfile_fd(const char *data) {
        char path[] = "/tmp/lbx-store-io-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        unlink(path);
        if (data) {
                ck_assert_int_eq(write_full(fd, data, strlen(data)), 0);
                ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
        }
        return fd;
}

static void slurp(int fd, char *buf, size_t size) {
        ssize_t n = pread(fd, buf, size - 1, 0);
        ck_assert_int_ge(n, 0);
        buf[n] = '\0';
}

/* Run cmd_store with stdin from input, stdout and stderr captured. */
static void run(struct run *r, const char *input, int argc, char **argv) {
        struct broker_ctx ctx = {0};
        int in = tmpfile_fd(input), out = tmpfile_fd(NULL), err = tmpfile_fd(NULL);
        int saved[3] = {dup(0), dup(1), dup(2)};
        fflush(stdout);
        ck_assert(dup2(in, 0) == 0 && dup2(out, 1) == 1 && dup2(err, 2) == 2);
        r->rc = cmd_store(&ctx, argc, argv);
        fflush(stdout);
        for (int i = 0; i < 3; i++) {
                dup2(saved[i], i);
                close(saved[i]);
        }
        slurp(out, r->out, sizeof r->out);
        slurp(err, r->err, sizeof r->err);
        close(in);
        close(out);
        close(err);
}

#define RUN(r, input, ...)                                                                         \
        do {                                                                                       \
                char *_argv[] = {"store", __VA_ARGS__, NULL};                                      \
                run((r), (input), (int)ARRAY_SIZE(_argv) - 1, _argv);                              \
        } while (0)

START_TEST(test_cmd_help_and_usage) {
        use_store_config();
        struct run r;
        char *only[] = {"store", NULL};
        run(&r, NULL, 1, only);
        ck_assert_int_eq(r.rc, EXIT_USAGE);
        RUN(&r, NULL, "--help");
        ck_assert_int_eq(r.rc, EXIT_DONE);
        ck_assert_ptr_nonnull(strstr(r.out, "Usage: lockbox-broker"));
        const char *subs[] = {"init", "put", "ls", "rm"};
        for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
                RUN(&r, NULL, (char *)subs[i], "--help");
                ck_assert_int_eq(r.rc, EXIT_DONE);
                ck_assert_ptr_nonnull(strstr(r.out, "Usage: lockbox-broker store"));
                ck_assert_ptr_nonnull(strstr(r.out, subs[i]));
        }
        RUN(&r, NULL, "bogus");
        ck_assert_int_eq(r.rc, EXIT_USAGE);
        RUN(&r, NULL, "put");
        ck_assert_int_eq(r.rc, EXIT_USAGE);
        ck_assert_ptr_nonnull(strstr(r.err, "missing NAME"));
        RUN(&r, NULL, "put", "a", "b");
        ck_assert_int_eq(r.rc, EXIT_USAGE);
        RUN(&r, NULL, "put", "x", "--file");
        ck_assert_int_eq(r.rc, EXIT_USAGE);
        RUN(&r, NULL, "put", "x", "--bogus");
        ck_assert_int_eq(r.rc, EXIT_USAGE);
        RUN(&r, NULL, "ls", "extra");
        ck_assert_int_eq(r.rc, EXIT_USAGE);
        RUN(&r, NULL, "rm", "x", "--file", "f");
        ck_assert_int_eq(r.rc, EXIT_USAGE);
        /* An invalid name may be a value typed in the wrong place: never echoed. */
        RUN(&r, NULL, "put", "hunter2 is my password");
        ck_assert_int_eq(r.rc, EXIT_USAGE);
        ck_assert_ptr_null(strstr(r.err, "hunter2"));
}
END_TEST

START_TEST(test_cmd_flow) {
        use_store_config();
        struct run r;
        char want[512];
        RUN(&r, NULL, "ls");
        ck_assert_int_eq(r.rc, EXIT_FAILED);
        ck_assert_ptr_nonnull(strstr(r.err, "not initialised"));

        RUN(&r, NULL, "init");
        ck_assert_int_eq(r.rc, EXIT_DONE);
        snprintf(want, sizeof want, "store: initialised %s (key %s)\n", dir, key_file);
        ck_assert_str_eq(r.out, want);
        RUN(&r, NULL, "init");
        snprintf(want, sizeof want, "store: %s already initialised\n", dir);
        ck_assert_str_eq(r.out, want);

        RUN(&r, "s3cret\n", "put", "db");
        ck_assert_int_eq(r.rc, EXIT_DONE);
        ck_assert_str_eq(r.out, "store: put db (7 bytes)\n");
        ck_assert_int_eq(get("db", "s3cret\n"), 0);

        char file[256];
        snprintf(file, sizeof file, "%s/value", tmpdir);
        int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_int_eq(write_full(fd, "from-file", 9), 0);
        close(fd);
        RUN(&r, "ignored", "put", "api", "--file", file);
        ck_assert_int_eq(r.rc, EXIT_DONE);
        ck_assert_str_eq(r.out, "store: put api (9 bytes)\n");
        ck_assert_int_eq(get("api", "from-file"), 0);
        char opt[300];
        snprintf(opt, sizeof opt, "--file=%s", file);
        RUN(&r, NULL, "put", opt, "api2");
        ck_assert_int_eq(r.rc, EXIT_DONE);
        ck_assert_int_eq(get("api2", "from-file"), 0);

        RUN(&r, NULL, "ls");
        ck_assert_int_eq(r.rc, EXIT_DONE);
        ck_assert_str_eq(r.out, "api\napi2\ndb\n");

        RUN(&r, NULL, "rm", "api2");
        ck_assert_int_eq(r.rc, EXIT_DONE);
        ck_assert_str_eq(r.out, "store: removed api2\n");
        RUN(&r, NULL, "rm", "api2");
        ck_assert_int_eq(r.rc, EXIT_FAILED);
        ck_assert_str_eq(r.err, "unit: store: no secret 'api2'\n");
        ck_assert_str_eq(r.out, "");
}
END_TEST

START_TEST(test_cmd_put_refusals) {
        use_store_config();
        struct run r;
        RUN(&r, NULL, "init");
        ck_assert_int_eq(r.rc, EXIT_DONE);
        RUN(&r, "", "put", "db");
        ck_assert_int_eq(r.rc, EXIT_FAILED);
        ck_assert_str_eq(r.err, "unit: store put 'db': empty value\n");

        char file[256], link[256];
        snprintf(file, sizeof file, "%s/big", tmpdir);
        int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_int_eq(ftruncate(fd, STORE_VALUE_MAX + 1), 0);
        close(fd);
        RUN(&r, NULL, "put", "db", "--file", file);
        ck_assert_int_eq(r.rc, EXIT_FAILED);
        ck_assert_ptr_nonnull(strstr(r.err, "value larger than 1048576 bytes"));
        ck_assert_int_eq(truncate(file, 3), 0);
        snprintf(link, sizeof link, "%s/link", tmpdir);
        ck_assert_int_eq(symlink(file, link), 0);
        RUN(&r, NULL, "put", "db", "--file", link);
        ck_assert_int_eq(r.rc, EXIT_FAILED);
        ck_assert_int_eq(get("db", ""), -ENOENT);

        ck_assert_int_eq(chmod(key_file, 0644), 0);
        RUN(&r, "v", "put", "db");
        ck_assert_int_eq(r.rc, EXIT_FAILED);
        ck_assert_ptr_nonnull(strstr(r.err, "refusing"));
}
END_TEST

START_TEST(test_cmd_no_store_backend) {
        struct run r;
        test_config_json = "{\"backends\": {\"store\": {\"type\": \"vault\"}}}";
        RUN(&r, NULL, "ls");
        ck_assert_int_eq(r.rc, EXIT_USAGE);
        ck_assert_str_eq(r.err, "unit: config test.json: no backend 'store' of type store\n");
        test_config_json = "{\"backends\": {}}";
        RUN(&r, NULL, "ls");
        ck_assert_int_eq(r.rc, EXIT_USAGE);
        test_config_json = "{\"bogus\": 1}";
        RUN(&r, NULL, "ls");
        ck_assert_int_eq(r.rc, EXIT_USAGE);
}
END_TEST

/* The store itself missing (no directory, no key) with an optional secret first: the optional
 * one is skipped and the required one after it still fails the fetch. */
START_TEST(test_fetch_missing_store_optional_first) {
        struct backend_config b = {
                .name = "store", .type = "store", .store_dir = dir, .store_key_file = key_file};
        struct broker_config cfg = {.backends = &b, .n_backends = 1};
        struct secret_request srs[] = {
                {.name = "opt",
                 .ref_text = "store:opt",
                 .ref = {.backend = "store", .path = "opt"},
                 .optional = true},
                {.name = "db", .ref_text = "store:db", .ref = {.backend = "store", .path = "db"}},
        };
        struct request req = {.secrets = srs, .n_secrets = ARRAY_SIZE(srs)};
        struct fetched_secret out[ARRAY_SIZE(srs) + 1] = {0};
        ck_assert_int_lt(backend_fetch_some(&cfg, NULL, &req, out, BACKEND_LOCAL), 0);
        ck_assert_ptr_null(out[0].value);
        ck_assert_ptr_null(out[1].value);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("store");
        TCase *tc = tcase_create("store");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_init);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_binary_and_sizes);
        tcase_add_test(tc, test_nonce_fresh);
        tcase_add_test(tc, test_missing_and_bad_names);
        tcase_add_test(tc, test_tampered);
        tcase_add_test(tc, test_truncated_or_extended);
        tcase_add_test(tc, test_batch);
        tcase_add_test(tc, test_fetch_missing_store_optional_first);
        tcase_add_test(tc, test_renamed);
        tcase_add_test(tc, test_wrong_key);
        tcase_add_test(tc, test_key_checks);
        tcase_add_test(tc, test_dir_checks);
        tcase_add_test(tc, test_sealed_symlink);
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_init_refuses_orphaned_secrets);
        tcase_add_test(tc, test_uninitialised);
        suite_add_tcase(s, tc);
        tc = tcase_create("cmd_store");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cmd_help_and_usage);
        tcase_add_test(tc, test_cmd_flow);
        tcase_add_test(tc, test_cmd_put_refusals);
        tcase_add_test(tc, test_cmd_no_store_backend);
        suite_add_tcase(s, tc);
        return s;
}
