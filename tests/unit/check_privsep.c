/* SPDX-License-Identifier: Apache-2.0 */
/* The secret fetcher's child (broker/fetch/privsep.h): what code running there can and cannot do.
 * Needs root (the uid change); skipped otherwise. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/inotify.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "request/config.h"
#include "fetch/credfile.h"
#include "fetch/privsep.h"
#include "fetch/store.h"
#include "fetch/syscall_filter.h"
#include "unit.h"

/* A dedicated uid and gid, as an operator sets them ("fetcher"), so that the probe tells them
 * from the default. */
#define FETCH_UID 4242
#define FETCH_GID 4243

/* The configuration names cred_file (0600 root) as a network backend's ca_file: the child opens
 * it before it drops root. */
static char cred_file[64];

/* fetcher_extra: more of "fetcher" (", \"seccomp\": false"), or "". */
static struct broker_config *load_with(const char *state_dir, const char *fetcher_extra) {
        char json[1024];
        struct broker_config *c = NULL;
        snprintf(json, sizeof json,
                 "{\"state_dir\": \"%s\", \"fetcher\": {\"uid\": %d, \"gid\": %d%s},"
                 " \"backends\": {\"v\": {\"type\": \"vault\", \"address\": \"https://x\","
                 " \"ca_file\": \"%s\"}}}",
                 state_dir, FETCH_UID, FETCH_GID, fetcher_extra, cred_file);
        ck_assert_int_eq(config_parse(json, strlen(json), "test", &c), 0);
        return c;
}

static struct broker_config *load(const char *state_dir) {
        return load_with(state_dir, "");
}

/* Each probe returns 0 when it found what the child must be: a bit set per failed probe. */
static int probe(void *userdata) {
        int *fd = userdata, bad = 0;
        if (getuid() != FETCH_UID || geteuid() != FETCH_UID || getgid() != FETCH_GID)
                bad |= 1 << 0;
        /* Not dumpable: /proc/self's files belong to root, not to us. no_new_privs set. */
        struct stat st;
        char status[4096] = "";
        int sfd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        if (sfd < 0 || fstat(sfd, &st) < 0 || st.st_uid != 0 ||
            read(sfd, status, sizeof status - 1) <= 0 || !strstr(status, "NoNewPrivs:\t1"))
                bad |= 1 << 1;
        if (sfd >= 0)
                close(sfd);
        /* prctl is not on the list: nothing it sets can be undone. */
        if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0 || errno != EPERM)
                bad |= 1 << 11;
        if (unshare(CLONE_NEWUSER) == 0 || errno != EPERM)
                bad |= 1 << 2;
        if (syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0) != -1 ||
            errno != EPERM)
                bad |= 1 << 3;
        if (mount("none", "/mnt", "tmpfs", 0, NULL) == 0 || errno != EPERM)
                bad |= 1 << 4;
        if (kill(1, 0) == 0 || errno != EPERM)
                bad |= 1 << 5;
        /* A path that does not exist: the filter answers EPERM before the kernel looks, and
         * without the filter the probe is not replaced by a program that exits 0 (ENOENT). */
        char *const argv[] = {"/nonexistent/lbx-true", NULL};
        if (execve(argv[0], argv, argv + 1) == 0 || errno != EPERM)
                bad |= 1 << 6;
        /* A credential file of root's, mode 0600: not by path, but through the fd opened for
         * it before the drop (credfile.h). */
        _cleanup_secret_ struct secret *cred = NULL;
        if (open(cred_file, O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES ||
            credfile_read(cred_file, 4096, &cred) < 0 || secret_size(cred) != 6 ||
            memcmp(secret_cdata(cred), "hello\n", 6) != 0)
                bad |= 1 << 7;
        /* The parent's fds are not inherited. */
        if (fcntl(*fd, F_GETFD) != -1 || errno != EBADF)
                bad |= 1 << 12;
        /* An allow-list: a harmless call nobody listed (chdir) is refused too. */
        if (chdir("/") == 0 || errno != EPERM)
                bad |= 1 << 8;
        /* What a fetch needs still works: memory, time, a socket. */
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                bad |= 1 << 9;
        if (s >= 0)
                close(s);
        /* A thread (glibc's resolver makes one): clone3 refused with ENOSYS, clone works. */
        if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
                bad |= 1 << 10;
        if (bad)
                fprintf(stderr, "privsep probes failed: %#x\n", (unsigned)bad);
        return bad ? -EIO : 0;
}

START_TEST(test_child_confined) {
        char dir[] = "/tmp/lbx-privsep-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(cred_file, sizeof cred_file, "%s/cred", dir);
        int cfd = open(cred_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_int_ge(cfd, 0);
        ck_assert_int_eq(write(cfd, "hello\n", 6), 6);
        close(cfd);
        struct broker_config *cfg = load(dir);
        /* An fd of the parent's (think: the container's state lock, a pidfd). */
        int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        /* The child's own result: _exit(0) only when every probe held. */
        ck_assert_int_eq(privsep_run(cfg, probe, &fd), 0);
        close(fd);
        config_free(cfg);
        unlink(cred_file);
        char tokens[64];
        snprintf(tokens, sizeof tokens, "%s/tokens", dir); /* token_cache_preopen made it */
        ck_assert_int_eq(rmdir(tokens), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static int fails(void *userdata) {
        return -EIO;
}

START_TEST(test_child_failure_reported) {
        struct broker_config *cfg = load("/tmp");
        ck_assert_int_eq(privsep_run(cfg, fails, NULL), -EIO);
        config_free(cfg);
}
END_TEST

/* The fetcher's child for a request that names only the store opens no credential file of a
 * network backend (nor makes Vault's token cache): inotify sees no open of the one configured.
 * The same configuration with a request that names the Vault backend does open it. */
static int fetch_and_count_opens(const char *dir, const char *backend, const char *path) {
        char json[1024], store_dir[128], key[128];
        snprintf(store_dir, sizeof store_dir, "%s/store", dir);
        snprintf(key, sizeof key, "%s/store.key", dir);
        snprintf(
                json, sizeof json,
                "{\"state_dir\": \"%s\", \"fetcher\": {\"uid\": %d, \"gid\": %d},"
                " \"backends\": {\"v\": {\"type\": \"vault\", \"address\": \"https://127.0.0.1:1\","
                " \"ca_file\": \"%s\"}, \"s\": {\"type\": \"store\", \"dir\": \"%s\","
                " \"key_file\": \"%s\"}}}",
                dir, FETCH_UID, FETCH_GID, cred_file, store_dir, key);
        struct broker_config *cfg = NULL;
        ck_assert_int_eq(config_parse(json, strlen(json), "test", &cfg), 0);
        struct store st = {.dir = store_dir, .key_file = key};
        ck_assert_int_eq(store_init(&st), 0);
        _cleanup_secret_ struct secret *v = NULL;
        ck_assert_int_eq(secret_new_copy("hello", 5, &v), 0);
        ck_assert_int_eq(store_put(&st, "db", v), 0);

        char name[] = "db", ref_text[64], be[16], p[64];
        snprintf(ref_text, sizeof ref_text, "%s:%s", backend, path);
        snprintf(be, sizeof be, "%s", backend);
        snprintf(p, sizeof p, "%s", path);
        struct secret_request sr = {.name = name, .ref_text = ref_text, .ref = {be, p}};
        struct request req = {.secrets = &sr, .n_secrets = 1};
        struct fetched_secret out[1] = {0};
        int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        ck_assert_int_ge(in, 0);
        ck_assert_int_ge(inotify_add_watch(in, cred_file, IN_OPEN), 0);
        int r = privsep_fetch_all(cfg, NULL, &req, out);
        if (streq_ptr(backend, "s")) {
                ck_assert_int_eq(r, 0);
                ck_assert_uint_eq(secret_size(out[0].value), 5);
                ck_assert(memcmp(secret_cdata(out[0].value), "hello", 5) == 0);
        }
        fetched_done(out, 1);
        char buf[4096];
        int opens = 0;
        ssize_t n = read(in, buf, sizeof buf);
        for (ssize_t off = 0; n > 0 && off < n;) {
                const struct inotify_event *e = (const void *)(buf + off);
                opens += (e->mask & IN_OPEN) != 0;
                off += (ssize_t)sizeof *e + e->len;
        }
        close(in);
        config_free(cfg);
        return opens;
}

START_TEST(test_store_only_opens_no_credential) {
        char dir[] = "/tmp/lbx-privsep-XXXXXX", cmd[128], tokens[64];
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(cred_file, sizeof cred_file, "%s/cred", dir);
        int cfd = open(cred_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_int_ge(cfd, 0);
        close(cfd);
        snprintf(tokens, sizeof tokens, "%s/tokens", dir);
        ck_assert_int_eq(fetch_and_count_opens(dir, "s", "db"), 0);
        ck_assert_int_eq(access(tokens, F_OK), -1); /* no token cache for the store */
        ck_assert_int_ge(fetch_and_count_opens(dir, "v", "secret/x"), 1);
        ck_assert_int_eq(access(tokens, F_OK), 0);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A reply's round trip: every header first, then the values (one larger than a chunk), an
 * optional secret absent between them; each value and its metadata arrive where they belong. */
START_TEST(test_reply_round_trip) {
        static char big[40000];
        memset(big, 'z', sizeof big);
        char n0[] = "a", n1[] = "b", n2[] = "c", r0[] = "s:a", r1[] = "s:b", r2[] = "s:c";
        struct secret_request sr[3] = {{.name = n0, .ref_text = r0},
                                       {.name = n1, .ref_text = r1, .optional = true},
                                       {.name = n2, .ref_text = r2}};
        struct request req = {.secrets = sr, .n_secrets = 3};
        struct fetched_secret in[3] = {
                {.version = (char *)"7"}, {0}, {.has_mode = true, .mode = 0440}};
        ck_assert_int_eq(secret_new_copy("hello", 5, &in[0].value), 0);
        ck_assert_int_eq(secret_new_copy(big, sizeof big, &in[2].value), 0);
        int sv[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        int sndbuf = 1 << 20;
        (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        ck_assert_int_eq(privsep_send_reply(sv[0], &req, in, 0, NULL), 0);
        struct fetched_secret out[3] = {0};
        int status = 1;
        const char *why = NULL;
        ck_assert_int_eq(privsep_receive_reply(sv[1], &req, out, &status, &why), 0);
        ck_assert_int_eq(status, 0);
        ck_assert_str_eq(out[0].version, "7");
        ck_assert_uint_eq(secret_size(out[0].value), 5);
        ck_assert(memcmp(secret_cdata(out[0].value), "hello", 5) == 0);
        ck_assert_ptr_null(out[1].value);
        ck_assert(out[2].has_mode && out[2].mode == 0440);
        ck_assert_uint_eq(secret_size(out[2].value), sizeof big);
        ck_assert(memcmp(secret_cdata(out[2].value), big, sizeof big) == 0);
        in[0].version = NULL;
        fetched_done(in, 3);
        fetched_done(out, 3);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

/* ---- an architecture without a filter ---------------------------------------------------- */

static int ran(void *userdata) {
        return 0;
}

/* Refused before the fork, in one line that says how to run it anyway; nothing ran. */
START_TEST(test_unfilterable_refused) {
        struct broker_config *cfg = load("/tmp");
        syscall_filter_pretend_native(SCMP_ARCH_PPC64LE);
        capture_log();
        ck_assert_int_eq(privsep_filter_state(cfg), -EAFNOSUPPORT);
        ck_assert_int_eq(privsep_run(cfg, ran, NULL), -EAFNOSUPPORT);
        struct request req = {0};
        struct fetched_secret out[1] = {{0}};
        ck_assert_int_eq(privsep_fetch_all(cfg, NULL, &req, out), -EAFNOSUPPORT);
        syscall_filter_pretend_native(0);
        const char *line =
                "unit: secret fetcher: refusing to run: lockbox has no seccomp filter for "
                "this architecture (x86_64, audit arch 0xc0000015); \"fetcher\": "
                "{\"seccomp\": false} in the configuration runs it without one\n";
        char want[1024];
        snprintf(want, sizeof want, "%s%s", line, line);
        struct utsname u;
        ck_assert_int_eq(uname(&u), 0);
        if (strcmp(u.machine, "x86_64") == 0) /* the machine's name is in the line */
                ck_assert_str_eq(captured_log(), want);
        else
                ck_assert_ptr_nonnull(
                        strstr(captured_log(), "audit arch 0xc0000015); \"fetcher\""));
        ck_assert_int_eq(privsep_filter_state(cfg), PRIVSEP_FILTERED);
        config_free(cfg);
}
END_TEST

/* The child of a configuration that turned the filter off: everything but the filter. */
static int probe_unfiltered(void *userdata) {
        char status[4096] = "";
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, status, sizeof status - 1);
        if (fd >= 0)
                close(fd);
        if (n <= 0 || getuid() != FETCH_UID || !strstr(status, "NoNewPrivs:\t1") ||
            !strstr(status, "CapEff:\t0000000000000000") ||
            !strstr(status, "CapBnd:\t0000000000000000"))
                return -EPERM;
        /* chdir is not on the allow-list: only without a filter does it work. */
        return chdir("/") == 0 ? 0 : -errno;
}

START_TEST(test_opt_out_runs_unfiltered) {
        struct broker_config *cfg = load_with("/tmp", ", \"seccomp\": false");
        ck_assert_int_eq(privsep_filter_state(cfg), PRIVSEP_UNFILTERED);
        ck_assert_int_eq(privsep_run(cfg, probe_unfiltered, NULL), 0);
        /* Where lockbox has no filter, the same: run, unfiltered, and said so. */
        syscall_filter_pretend_native(SCMP_ARCH_PPC64LE);
        ck_assert_int_eq(privsep_filter_state(cfg), PRIVSEP_UNFILTERED);
        ck_assert_int_eq(privsep_run(cfg, probe_unfiltered, NULL), 0);
        syscall_filter_pretend_native(0);
        config_free(cfg);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("privsep");
        TCase *tc = tcase_create("child");
        /* The uid change needs root; the filter, a kernel that enforces it. valgrind 3.19 does
         * not know seccomp() (ENOSYS, and libseccomp then finds no KILL_PROCESS): make memcheck
         * leaves these to unit-asan. */
        tcase_set_tags(tc, "seccomp");
        unit_add_root_kernel_test(tc, test_child_confined);
        unit_add_root_kernel_test(tc, test_child_failure_reported);
        unit_add_root_kernel_test(tc, test_store_only_opens_no_credential);
        suite_add_tcase(s, tc);
        tc = tcase_create("unfiltered");
        tcase_add_test(tc, test_unfilterable_refused);
        tcase_add_test(tc, test_reply_round_trip);
        unit_add_root_test(tc, test_opt_out_runs_unfiltered);
        suite_add_tcase(s, tc);
        return s;
}
