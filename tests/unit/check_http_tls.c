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
        suite_add_tcase(s, tc);
        return s;
}
