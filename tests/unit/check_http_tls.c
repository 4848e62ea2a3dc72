/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP client's TLS verification against a real TLS server on loopback (the Vault fake,
 * tests/fakes/vault_fake.py, with certificates from tests/fakes/mkcerts.sh): a certificate that
 * the configured CA did not sign, the system trust store (which does not know the test CA) and a
 * name the certificate is not for must all fail; the right CA and name must pass. Until now
 * only an integration test (44-vault-failures) noticed verification switched off. Runs from the
 * source tree (make unit); skipped where python3 or openssl is missing. */
#include "unit.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fdutil.h"
#include "fetch/http.h"

#define PY "/usr/bin/python3"
#define FAKES "tests/fakes"

static char dir[] = "/tmp/lbx-tls-XXXXXX";
static char address[64];
static pid_t server = -1;

static bool runnable(void) {
        struct stat st;
        return access(PY, X_OK) == 0 && system("command -v openssl >/dev/null 2>&1") == 0 &&
               stat(FAKES "/vault_fake.py", &st) == 0;
}

static void path_in(char *buf, size_t size, const char *name) {
        snprintf(buf, size, "%s/%s", dir, name);
}

static void server_start(void) {
        char cmd[256], cert[128], key[128], port_file[128], ctl_file[128];
        strcpy(dir, "/tmp/lbx-tls-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(cmd, sizeof cmd, FAKES "/mkcerts.sh %s/pki", dir);
        ck_assert_int_eq(system(cmd), 0);
        path_in(cert, sizeof cert, "pki/server.pem");
        path_in(key, sizeof key, "pki/server.key");
        path_in(port_file, sizeof port_file, "port");
        path_in(ctl_file, sizeof ctl_file, "ctl");
        server = fork();
        ck_assert_int_ge(server, 0);
        if (server == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                        _exit(127);
                execl(PY, PY, FAKES "/vault_fake.py", "--port", "0", "--cert", cert, "--key", key,
                      "--port-file", port_file, "--control-port-file", ctl_file, "--root-token",
                      "root", "--die-with-parent", "-q", (char *)NULL);
                _exit(127);
        }
        /* The port file is written last, atomically: once it is there the server accepts. */
        char *port = NULL;
        for (int i = 0; i < 400 && read_file_at(AT_FDCWD, port_file, 16, &port, NULL) < 0; i++) {
                ck_assert_int_eq(waitpid(server, NULL, WNOHANG), 0);
                usleep(50 * 1000);
        }
        ck_assert_ptr_nonnull(port);
        port[strcspn(port, "\n")] = '\0';
        snprintf(address, sizeof address, "https://127.0.0.1:%s", port);
        free(port);
}

static void server_stop(void) {
        if (server > 0) {
                kill(server, SIGTERM);
                waitpid(server, NULL, 0);
                server = -1;
        }
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

/* GET /v1/sys/health with tls: the request's outcome (status, or error and why). */
static void get_health(const struct http_tls *tls, struct http_request *r) {
        struct http_client *c = NULL;
        const char *why = NULL;
        ck_assert_int_eq(http_client_new(address, tls, http_now_ms() + 20000, &c, &why), 0);
        ck_assert_int_eq(http_request_init(r, "GET", "/v1/sys/health"), 0);
        struct http_request *reqs[] = {r};
        ck_assert_int_eq(http_perform(c, reqs, 1), 0);
        http_client_free(c);
}

static void expect_untrusted(const struct http_tls *tls) {
        struct http_request r;
        get_health(tls, &r);
        ck_assert_int_eq(r.status, 0);
        ck_assert_int_lt(r.error, 0);
        ck_assert_ptr_nonnull(r.why);
        ck_assert_msg(strstr(r.why, "the server's certificate is not trusted"), "why: %s", r.why);
        /* Not a transport failure that was retried: one attempt, refused. */
        ck_assert_uint_eq(r.attempts, 1);
        http_request_done(&r);
}

START_TEST(test_tls_right_ca) {
        char ca[128];
        path_in(ca, sizeof ca, "pki/ca.pem");
        struct http_tls tls = {.ca_file = ca};
        struct http_request r;
        get_health(&tls, &r);
        ck_assert_msg(r.error == 0, "why: %s", r.why ? r.why : "");
        ck_assert_int_eq(r.status, 200);
        http_request_done(&r);
        /* The name the certificate is for, given as server_name: passes too. */
        tls.server_name = "localhost";
        get_health(&tls, &r);
        ck_assert_int_eq(r.status, 200);
        http_request_done(&r);
}
END_TEST

START_TEST(test_tls_other_ca) {
        char ca[128];
        path_in(ca, sizeof ca, "pki/ca2.pem");
        struct http_tls tls = {.ca_file = ca};
        expect_untrusted(&tls);
}
END_TEST

START_TEST(test_tls_system_store) {
        /* No ca_file: the system's trust store, which does not know the test CA. */
        struct http_tls tls = {0};
        expect_untrusted(&tls);
}
END_TEST

START_TEST(test_tls_wrong_name) {
        char ca[128];
        path_in(ca, sizeof ca, "pki/ca.pem");
        struct http_tls tls = {.ca_file = ca, .server_name = "vault.example"};
        expect_untrusted(&tls);
}
END_TEST

/* ---- response bodies: one arena a batch ----------------------------------------------------- */

/* The mapping /proc/self/maps lists p in: its bounds and whether it is readable and writable. */
static bool mapping_of(const void *p, uintptr_t *ret_lo, uintptr_t *ret_hi, bool *ret_rw) {
        FILE *f = fopen("/proc/self/maps", "re");
        ck_assert_ptr_nonnull(f);
        char line[512];
        bool found = false;
        while (!found && fgets(line, sizeof line, f)) {
                unsigned long lo, hi;
                char perms[5];
                if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && (uintptr_t)p >= lo &&
                    (uintptr_t)p < hi) {
                        *ret_lo = lo;
                        *ret_hi = hi;
                        *ret_rw = perms[0] == 'r' && perms[1] == 'w';
                        found = true;
                }
        }
        fclose(f);
        return found;
}

/* Whether the mapping that starts at lo is locked (VmFlags "lo": mlock'd, or mlock2'd on fault,
 * where a page is locked once it is written). */
static bool mapping_locked(uintptr_t lo) {
        FILE *f = fopen("/proc/self/smaps", "re");
        ck_assert_ptr_nonnull(f);
        char line[512];
        bool in = false, locked = false;
        while (fgets(line, sizeof line, f)) {
                unsigned long a, b;
                if (sscanf(line, "%lx-%lx ", &a, &b) == 2) /* a mapping's first line */
                        in = a == lo;
                else if (in && strncmp(line, "VmFlags:", 8) == 0) {
                        locked = strstr(line, " lo") != NULL;
                        break;
                }
        }
        fclose(f);
        return locked;
}

/* A write of one byte at p in a forked child: its wait status. */
static int write_in_child(unsigned char *p) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                signal(SIGSEGV, SIG_DFL); /* not ASan's handler, which exits 1 */
                *(volatile unsigned char *)p = 0x5a;
                _exit(0);
        }
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return status;
}

/* A client of the test server that trusts its CA. */
static struct http_client *client_trusting_the_test_ca(void) {
        char ca[128];
        path_in(ca, sizeof ca, "pki/ca.pem");
        struct http_tls tls = {.ca_file = ca};
        struct http_client *c = NULL;
        const char *why = NULL;
        ck_assert_int_eq(http_client_new(address, &tls, http_now_ms() + 20000, &c, &why), 0);
        return c;
}

/* Eight replies of one batch: in one locked mapping between guard pages, not eight mappings;
 * gone when the last request is done. */
START_TEST(test_bodies_share_an_arena) {
        struct http_client *c = client_trusting_the_test_ca();
        struct http_request r[8];
        struct http_request *reqs[8];
        for (size_t i = 0; i < 8; i++) {
                ck_assert_int_eq(http_request_init(&r[i], "GET", "/v1/sys/health"), 0);
                reqs[i] = &r[i];
        }
        ck_assert_int_eq(http_perform(c, reqs, 8), 0);
        uintptr_t lo = 0, hi = 0;
        bool rw = false;
        for (size_t i = 0; i < 8; i++) {
                ck_assert_int_eq(r[i].status, 200);
                ck_assert_ptr_nonnull(
                        memmem(r[i].response.data, r[i].response.size, "\"initialized\"", 13));
                uintptr_t l, h;
                ck_assert(mapping_of(r[i].response.data, &l, &h, &rw) && rw);
                ck_assert_msg(i == 0 || (l == lo && h == hi),
                              "reply %zu is in another mapping than reply 0", i);
                lo = l;
                hi = h;
        }
        /* 1 KiB a request, in whole pages: locked, and a guard page on either side. */
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        ck_assert_uint_eq(hi - lo, (8 * 1024 + page - 1) / page * page);
        ck_assert(mapping_locked(lo));
        ck_assert_int_eq(write_in_child((unsigned char *)hi - 1), 0);
        int status = write_in_child((unsigned char *)hi);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
                      "a write past the arena did not fault (status %#x)", status);
        status = write_in_child((unsigned char *)lo - 1);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
        for (size_t i = 0; i < 7; i++)
                http_request_done(&r[i]);
        /* The last request holds it still. */
        ck_assert(mapping_of((void *)lo, &lo, &hi, &rw) && rw);
        http_request_done(&r[7]);
        ck_assert(!mapping_of((void *)lo, &lo, &hi, &rw) || !rw);
        http_client_free(c);
}
END_TEST

/* A reply larger than the batch's arena (one page for one request): in a sodium_malloc buffer
 * of its own, whole. */
START_TEST(test_body_outgrows_the_arena) {
        struct http_client *c = client_trusting_the_test_ca();
        const size_t value_len = (size_t)sysconf(_SC_PAGESIZE) + 4096, size = value_len + 64;
        _cleanup_free_ char *body = malloc(size);
        ck_assert_ptr_nonnull(body);
        size_t n = (size_t)snprintf(body, size, "{\"data\":{\"value\":\""), start = n;
        memset(body + n, 'q', value_len);
        n += value_len;
        n += (size_t)snprintf(body + n, size - n, "\"}}");
        struct http_request w, g;
        ck_assert_int_eq(http_request_init(&w, "POST", "/v1/secret/data/big"), 0);
        ck_assert_int_eq(http_request_header(&w, "X-Vault-Token", "root", 4), 0);
        w.body = body;
        w.body_size = n;
        struct http_request *reqs[] = {&w};
        ck_assert_int_eq(http_perform(c, reqs, 1), 0);
        ck_assert_int_eq(w.status, 200);
        http_request_done(&w);
        ck_assert_int_eq(http_request_init(&g, "GET", "/v1/secret/data/big"), 0);
        ck_assert_int_eq(http_request_header(&g, "X-Vault-Token", "root", 4), 0);
        reqs[0] = &g;
        ck_assert_int_eq(http_perform(c, reqs, 1), 0);
        ck_assert_int_eq(g.status, 200);
        ck_assert(!g.response.in_arena);
        ck_assert_uint_gt(g.response.size, value_len);
        ck_assert_ptr_nonnull(memmem(g.response.data, g.response.size, body + start - 1,
                                     value_len + 2)); /* the value, quotes and all */
        uintptr_t lo, hi;
        bool rw;
        ck_assert(mapping_of(g.response.data, &lo, &hi, &rw) && rw);
#ifndef __SANITIZE_ADDRESS__ /* ASan intercepts sodium_malloc's mlock, locks nothing */
        ck_assert(mapping_locked(lo));
#endif
        http_request_done(&g);
        http_client_free(c);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("http_tls");
        TCase *tc = tcase_create("verify");
        tcase_set_timeout(tc, 60);
        bool ok = runnable();
        /* One server for the whole case, started in the runner (each test's fork inherits the
         * address), not one a test: the certificates and Python cost a second or two. */
        if (ok)
                tcase_add_unchecked_fixture(tc, server_start, server_stop);
        const char *why = "needs /usr/bin/python3, openssl and tests/fakes (run from the tree)";
        unit_add_test_if(tc, test_tls_right_ca, ok, why);
        unit_add_test_if(tc, test_tls_other_ca, ok, why);
        unit_add_test_if(tc, test_tls_system_store, ok, why);
        unit_add_test_if(tc, test_tls_wrong_name, ok, why);
        unit_add_test_if(tc, test_bodies_share_an_arena, ok, why);
        unit_add_test_if(tc, test_body_outgrows_the_arena, ok, why);
        suite_add_tcase(s, tc);
        return s;
}
