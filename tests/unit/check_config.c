/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "request/config.h"
#include "fdutil.h"
#include "unit.h"

/* The example of DESIGN §5, but for the role "web": it binds to the pod's namespace with
 * when.kubernetes and the node's runtime, since when.annotations on io.kubernetes.* keys is
 * refused (a pod can write those itself: test_kubernetes_annotation_refused). */
static const char design_example[] =
        "{\n"
        "  \"state_dir\": \"/run/lockbox\",\n"
        "  \"audit_log\": \"/var/log/lockbox/audit.log\",\n"
        "  \"defaults\": {\"dir\": \"/run/secrets\", \"mode\": \"0400\", \"tmpfs_size\": \"1M\", "
        "\"timeout_ms\": 10000},\n"
        "  \"backends\": {\n"
        "    \"store\":   {\"type\": \"store\", \"dir\": \"/var/lib/lockbox/store\", "
        "\"key_file\": \"/etc/lockbox/store.key\"},\n"
        "    \"vault\":   {\"type\": \"vault\", \"address\": \"https://vault.example:8200\", "
        "\"ca_file\": \"/etc/lockbox/vault-ca.pem\",\n"
        "                \"namespace\": \"\", \"auth\": {\"method\": \"approle\", "
        "\"role_id_file\": \"...\", \"secret_id_file\": \"...\"}},\n"
        "    \"keywhiz\": {\"type\": \"keywhiz\", \"url\": \"https://keywhiz.example:4444\", "
        "\"ca_file\": \"...\",\n"
        "                \"cert_file\": \"...\", \"key_file\": \"...\"}\n"
        "  },\n"
        "  \"roles\": [\n"
        "    {\"name\": \"default\", \"allow\": [\"store:*\"]},\n"
        "    {\"name\": \"web\", \"when\": {\"kubernetes\": {\"namespace\": \"^prod$\"}},\n"
        "     \"allow\": [\"vault:secret/web/*\"], \"auth\": {\"vault\": {\"method\": \"approle\", "
        "\"role_id_file\": \"...\", \"secret_id_file\": \"...\"}}}\n"
        "  ],\n"
        "  \"kubernetes\": {\"runtime\": \"containerd\"}\n"
        "}\n";

static char log_path[64];
static int log_fd = -1;

/* Each test runs in its own process (CK_FORK): the log goes to a file that the test reads. */
static void setup(void) {
        strcpy(log_path, "/tmp/lbx-config-log-XXXXXX");
        log_fd = mkstemp(log_path);
        ck_assert_int_ge(log_fd, 0);
        unlink(log_path);
        log_set_fd(log_fd);
}

static void teardown(void) {
        log_set_fd(STDERR_FILENO);
        log_fd = safe_close(log_fd);
}

/* What was logged since the last call. */
static const char *logged(void) {
        static char buf[8192];
        off_t end = lseek(log_fd, 0, SEEK_CUR);
        ck_assert_int_ge(pread(log_fd, buf, (size_t)end, 0), 0);
        buf[end] = '\0';
        ck_assert_int_eq(ftruncate(log_fd, 0), 0);
        ck_assert_int_eq(lseek(log_fd, 0, SEEK_SET), 0);
        return buf;
}

static int parse(const char *json, struct broker_config **ret) {
        return config_parse(json, strlen(json), "F", ret);
}

START_TEST(test_design_example) {
        _cleanup_config_ struct broker_config *c = NULL;
        ck_assert_int_eq(parse(design_example, &c), 0);
        ck_assert_str_eq(c->path, "F");
        ck_assert_str_eq(c->state_dir, "/run/lockbox");
        ck_assert_str_eq(c->audit_log, "/var/log/lockbox/audit.log");
        ck_assert_str_eq(c->default_dir, "/run/secrets");
        ck_assert_uint_eq(c->default_mode, 0400);
        ck_assert_uint_eq(c->tmpfs_size, 1024 * 1024);
        ck_assert_uint_eq(c->timeout_ms, 10000);
        ck_assert_uint_eq(c->n_backends, 3);
        const struct backend_config *b = config_find_backend(c, "store");
        ck_assert_str_eq(b->type, "store");
        ck_assert_str_eq(b->store_dir, "/var/lib/lockbox/store");
        ck_assert_str_eq(b->store_key_file, "/etc/lockbox/store.key");
        b = config_find_backend(c, "vault");
        ck_assert_str_eq(b->type, "vault");
        ck_assert_str_eq(json_get_string(b->raw, "address"), "https://vault.example:8200");
        ck_assert_ptr_null(b->store_dir);
        ck_assert_str_eq(config_find_backend(c, "keywhiz")->type, "keywhiz");
        ck_assert_ptr_null(config_find_backend(c, "nosuch"));
        ck_assert_uint_eq(c->n_roles, 2);
        const struct role *web = config_find_role(c, "web");
        ck_assert_uint_eq(web->n_when, 1);
        ck_assert_str_eq(web->when[0].key, "namespace");
        ck_assert_int_eq(web->when[0].kind, ROLE_MATCH_POD);
        ck_assert_int_eq(c->pod_runtime, POD_RUNTIME_CONTAINERD);
        ck_assert_str_eq(web->when[0].pattern, "^prod$");
        ck_assert_uint_eq(web->n_allow, 1);
        ck_assert_str_eq(web->allow[0], "vault:secret/web/*");
        ck_assert_ptr_nonnull(json_get_object(web->auth, "vault"));
        ck_assert_ptr_null(config_find_role(c, "default")->auth);
        ck_assert_ptr_null(config_find_role(c, "nosuch"));
        ck_assert_str_eq(logged(), "");
}
END_TEST

static void assert_embedded_default(const struct broker_config *c) {
        ck_assert_ptr_null(c->path);
        ck_assert_str_eq(c->state_dir, "/run/lockbox");
        /* Issue 14: the embedded default keeps an audit log, at the documented place. */
        ck_assert_str_eq(c->audit_log, "/var/log/lockbox/audit.log");
        ck_assert_ptr_null(c->audit_syslog);
        ck_assert_str_eq(c->default_dir, "/run/secrets");
        ck_assert_uint_eq(c->default_mode, 0400);
        ck_assert_uint_eq(c->tmpfs_size, 1024 * 1024);
        ck_assert_uint_eq(c->timeout_ms, 10000);
        ck_assert_uint_eq(c->n_backends, 1);
        ck_assert_str_eq(c->backends[0].name, "store");
        ck_assert_str_eq(c->backends[0].type, "store");
        ck_assert_str_eq(c->backends[0].store_dir, CONFIG_DEFAULT_STORE_DIR);
        ck_assert_str_eq(c->backends[0].store_key_file, CONFIG_DEFAULT_STORE_KEY);
        ck_assert_uint_eq(c->n_roles, 1);
        ck_assert_str_eq(c->roles[0].name, "default");
        ck_assert_uint_eq(c->roles[0].n_when, 0);
        ck_assert_uint_eq(c->roles[0].n_allow, 1);
        ck_assert_str_eq(c->roles[0].allow[0], "store:*");
        ck_assert_ptr_null(c->roles[0].auth);
}

START_TEST(test_embedded_default) {
        _cleanup_config_ struct broker_config *c = NULL;
        ck_assert_int_eq(config_load(NULL, NULL, &c), 0);
        assert_embedded_default(c);
        config_free(c);
        c = NULL;
        ck_assert_int_eq(config_load(NULL, "/tmp/state", &c), 0);
        ck_assert_str_eq(c->state_dir, "/tmp/state");
        config_free(c);
        c = NULL;
        ck_assert_int_eq(config_load(NULL, "relative", &c), -EINVAL);
        ck_assert_ptr_null(c);
}
END_TEST

/* An explicitly named file must exist: a typo in --config must not mean "the defaults". */
START_TEST(test_named_file_missing) {
        _cleanup_config_ struct broker_config *c = NULL;
        ck_assert_int_eq(config_load("/tmp/lbx-no-such-config.json", NULL, &c), -ENOENT);
        ck_assert_ptr_nonnull(strstr(logged(), "config /tmp/lbx-no-such-config.json: "));
}
END_TEST

START_TEST(test_absent_sections) {
        _cleanup_config_ struct broker_config *c = NULL;
        ck_assert_int_eq(parse("{}", &c), 0);
        /* No backends: the local store at its default paths. No roles: nothing is allowed. */
        ck_assert_uint_eq(c->n_backends, 1);
        ck_assert_str_eq(config_find_backend(c, "store")->store_dir, CONFIG_DEFAULT_STORE_DIR);
        ck_assert_uint_eq(c->n_roles, 0);
        config_free(c);
        c = NULL;
        ck_assert_int_eq(parse("{\"audit_log\": null, \"backends\": {}, \"roles\": []}", &c), 0);
        ck_assert_ptr_null(c->audit_log);
        ck_assert_ptr_null(c->audit_syslog);
        config_free(c);
        c = NULL;
        ck_assert_int_eq(parse("{\"audit_syslog\": true}", &c), 0);
        ck_assert_str_eq(c->audit_syslog, "/dev/log");
        config_free(c);
        c = NULL;
        ck_assert_int_eq(parse("{\"audit_syslog\": \"/run/collector.sock\"}", &c), 0);
        ck_assert_str_eq(c->audit_syslog, "/run/collector.sock");
        config_free(c);
        c = NULL;
        ck_assert_int_eq(parse("{\"audit_syslog\": false, \"backends\": {}}", &c), 0);
        ck_assert_ptr_null(c->audit_syslog);
        ck_assert_uint_eq(c->n_backends, 0);
        config_free(c);
        c = NULL;
        ck_assert_int_eq(
                parse("{\"backends\": {\"s2\": {\"type\": \"store\", \"dir\": \"/x\"}}}", &c), 0);
        ck_assert_str_eq(c->backends[0].store_dir, "/x");
        ck_assert_str_eq(c->backends[0].store_key_file, CONFIG_DEFAULT_STORE_KEY);
}
END_TEST

START_TEST(test_defaults_values) {
        _cleanup_config_ struct broker_config *c = NULL;
        ck_assert_int_eq(parse("{\"defaults\": {\"mode\": \"640\", \"tmpfs_size\": \"64M\", "
                               "\"timeout_ms\": 600000, \"dir\": \"/secrets\"}}",
                               &c),
                         0);
        ck_assert_uint_eq(c->default_mode, 0640);
        ck_assert_uint_eq(c->tmpfs_size, 64 * 1024 * 1024);
        ck_assert_uint_eq(c->timeout_ms, 600000);
        ck_assert_str_eq(c->default_dir, "/secrets");
        config_free(c);
        c = NULL;
        ck_assert_int_eq(parse("{\"defaults\": {\"tmpfs_size\": 4096, \"timeout_ms\": 1}}", &c), 0);
        ck_assert_uint_eq(c->tmpfs_size, 4096);
        ck_assert_uint_eq(c->timeout_ms, 1);
        /* The fetcher's ids: nobody's unless set, each on its own. */
        ck_assert_uint_eq(c->fetch_uid, 65534);
        ck_assert_uint_eq(c->fetch_gid, 65534);
        ck_assert(c->fetch_seccomp); /* the filter is on unless turned off */
        config_free(c);
        c = NULL;
        ck_assert_int_eq(parse("{\"fetcher\": {\"seccomp\": false}}", &c), 0);
        ck_assert(!c->fetch_seccomp);
        config_free(c);
        c = NULL;
        ck_assert_int_eq(parse("{\"fetcher\": {\"uid\": 7, \"seccomp\": true}}", &c), 0);
        ck_assert(c->fetch_seccomp);
        config_free(c);
        c = NULL;
        ck_assert_int_eq(parse("{\"fetcher\": {\"uid\": 990}}", &c), 0);
        ck_assert_uint_eq(c->fetch_uid, 990);
        ck_assert_uint_eq(c->fetch_gid, 65534);
        config_free(c);
        c = NULL;
        ck_assert_int_eq(parse("{\"fetcher\": {\"uid\": 990, \"gid\": 4294967294}}", &c), 0);
        ck_assert_uint_eq(c->fetch_gid, 4294967294U);
}
END_TEST

/* The warm fetch agent: on with 60 s unless said otherwise; the digest is the bytes'. */
START_TEST(test_agent_values) {
        _cleanup_config_ struct broker_config *c = NULL, *d = NULL, *e = NULL;
        ck_assert_int_eq(parse("{}", &c), 0);
        ck_assert(c->agent_enabled);
        ck_assert_uint_eq(c->agent_idle_s, 60);
        ck_assert_int_eq(parse("{\"agent\": {\"enabled\": false, \"idle_s\": 86400}}", &d), 0);
        ck_assert(!d->agent_enabled);
        ck_assert_uint_eq(d->agent_idle_s, 86400);
        ck_assert_int_eq(parse("{\"agent\": {\"idle_s\": 1}}", &e), 0);
        ck_assert(e->agent_enabled);
        ck_assert_uint_eq(e->agent_idle_s, 1);
        /* Any other byte is another configuration, for the agent too. */
        ck_assert(memcmp(c->digest, d->digest, sizeof c->digest) != 0);
        config_free(d);
        d = NULL;
        ck_assert_int_eq(parse("{ }", &d), 0);
        ck_assert(memcmp(c->digest, d->digest, sizeof c->digest) != 0);
        config_free(d);
        d = NULL;
        ck_assert_int_eq(parse("{}", &d), 0);
        ck_assert(memcmp(c->digest, d->digest, sizeof c->digest) == 0);
}
END_TEST

struct rejection {
        const char *json;
        const char *message; /* what the one log line says after "config F: " */
};

static const struct rejection rejections[] = {
        {"[]", "not a JSON object"},
        {"\"x\"", "invalid JSON"},
        {"{", "truncated JSON"},
        {"{\"roles\": [], \"roles\": []}", "duplicate key at line 1"},
        {"{\"stat_dir\": \"/run\"}", "stat_dir: unknown key"},
        {"{\"defaults\": {\"mod\": \"0400\"}}", "defaults.mod: unknown key"},
        {"{\"defaults\": []}", "defaults: must be an object"},
        {"{\"defaults\": {\"mode\": \"0800\"}}", "defaults.mode: invalid file mode"},
        {"{\"defaults\": {\"mode\": \"04400\"}}", "defaults.mode: invalid file mode"},
        {"{\"defaults\": {\"mode\": \"4755\"}}", "defaults.mode: invalid file mode"},
        {"{\"defaults\": {\"mode\": 256}}", "defaults.mode: invalid file mode"},
        {"{\"defaults\": {\"mode\": \"rw\"}}", "defaults.mode: invalid file mode"},
        {"{\"defaults\": {\"tmpfs_size\": \"65M\"}}", "defaults.tmpfs_size: must be between"},
        {"{\"defaults\": {\"tmpfs_size\": \"0\"}}", "defaults.tmpfs_size: must be between"},
        {"{\"defaults\": {\"tmpfs_size\": \"1X\"}}", "defaults.tmpfs_size: invalid size"},
        {"{\"defaults\": {\"tmpfs_size\": -1}}", "defaults.tmpfs_size: invalid size"},
        {"{\"defaults\": {\"timeout_ms\": 0}}", "defaults.timeout_ms: must be an integer"},
        {"{\"defaults\": {\"timeout_ms\": 600001}}", "defaults.timeout_ms: must be an integer"},
        {"{\"defaults\": {\"timeout_ms\": \"100\"}}", "defaults.timeout_ms: must be an integer"},
        {"{\"defaults\": {\"dir\": \"run/secrets\"}}", "defaults.dir: must be an absolute path"},
        {"{\"defaults\": {\"dir\": \"/run/../etc\"}}", "defaults.dir: must be an absolute path"},
        {"{\"fetcher\": {\"uid\": 0}}", "fetcher.uid: must be an integer from 1"},
        {"{\"fetcher\": {\"gid\": 0}}", "fetcher.gid: must be an integer from 1"},
        {"{\"fetcher\": {\"uid\": -1}}", "fetcher.uid: must be an integer from 1"},
        {"{\"fetcher\": {\"uid\": 4294967295}}", "fetcher.uid: must be an integer from 1"},
        {"{\"fetcher\": {\"uid\": \"nobody\"}}", "fetcher.uid: must be an integer from 1"},
        {"{\"fetcher\": []}", "fetcher: must be an object"},
        {"{\"fetcher\": {\"user\": 1}}", "fetcher.user: unknown key"},
        {"{\"fetcher\": {\"seccomp\": 0}}", "fetcher.seccomp: must be true or false"},
        {"{\"fetcher\": {\"seccomp\": \"off\"}}", "fetcher.seccomp: must be true or false"},
        {"{\"agent\": []}", "agent: must be an object"},
        {"{\"agent\": {\"idle\": 5}}", "agent.idle: unknown key"},
        {"{\"agent\": {\"enabled\": 1}}", "agent.enabled: must be true or false"},
        {"{\"agent\": {\"idle_s\": 0}}", "agent.idle_s: must be an integer from 1 to 86400"},
        {"{\"agent\": {\"idle_s\": 86401}}", "agent.idle_s: must be an integer from 1"},
        {"{\"agent\": {\"idle_s\": \"60\"}}", "agent.idle_s: must be an integer from 1"},
        {"{\"state_dir\": \"run\"}", "state_dir: must be an absolute path"},
        {"{\"state_dir\": 1}", "state_dir: must be an absolute path"},
        {"{\"audit_log\": \"/var/log/..\"}", "audit_log: must be an absolute path"},
        {"{\"audit_syslog\": \"dev/log\"}", "audit_syslog: must be an absolute path"},
        {"{\"audit_syslog\": 1}", "audit_syslog: must be true, false or the path of a syslog"},
        {"{\"backends\": []}", "backends: must be an object"},
        {"{\"backends\": {\"v\": []}}", "backends.v: must be an object"},
        {"{\"backends\": {\"v\": {}}}", "backends.v: \"type\" missing"},
        {"{\"backends\": {\"v\": {\"type\": \"vaultt\"}}}", "backends.v.type: unknown backend"},
        {"{\"backends\": {\"a:b\": {\"type\": \"vault\"}}}", "backends: invalid backend name"},
        {"{\"backends\": {\"s\": {\"type\": \"store\", \"dir\": \"rel\"}}}",
         "backends.s.dir: must be an absolute path"},
        {"{\"backends\": {\"s\": {\"type\": \"store\", \"key_file\": 3}}}",
         "backends.s.key_file: must be an absolute path"},
        {"{\"backends\": {\"s\": {\"type\": \"store\", \"keyfile\": \"/k\"}}}",
         "backends.s.keyfile: unknown key"},
        {"{\"roles\": {}}", "roles: must be an array"},
        {"{\"roles\": [1]}", "roles[0]: must be an object"},
        {"{\"roles\": [{\"allow\": []}]}", "roles[0].name: missing or invalid role name"},
        {"{\"roles\": [{\"name\": \"a b\", \"allow\": []}]}", "roles[0].name: missing or invalid"},
        {"{\"roles\": [{\"name\": \"r\"}]}", "roles[0].allow: missing"},
        {"{\"roles\": [{\"name\": \"r\", \"allows\": []}]}", "roles[0].allows: unknown key"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": \"store:*\"}]}",
         "roles[0].allow: must be an array"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [\"store:*\", 1]}]}",
         "roles[0].allow[1]: must be a glob"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [\"\"]}]}",
         "roles[0].allow[0]: must be a glob"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"auth\": []}]}",
         "roles[0].auth: must be an object"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": []}]}",
         "roles[0].when: must be an object"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": {\"labels\": {}}}]}",
         "roles[0].when.labels: unknown key"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": {\"env\": []}}]}",
         "roles[0].when.env: must be an object"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": {\"env\": {\"A=B\": \"x\"}}}]}",
         "roles[0].when.env: invalid environment variable name"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": {\"env\": {\"A\": 1}}}]}",
         "roles[0].when.env.A: must be a regular expression"},
        {"{\"roles\": [{\"name\": \"a\", \"allow\": []}, {\"name\": \"web\", \"allow\": [], "
         "\"when\": {\"annotations\": {\"ok\": \"^a$\", \"x\": \"(\"}}}]}",
         "roles[1].when.annotations.x: invalid regular expression"},
        {"{\"roles\": [{\"name\": \"a\", \"allow\": []}, {\"name\": \"b\", \"allow\": []}, "
         "{\"name\": \"a\", \"allow\": []}]}",
         "roles[2].name: duplicate role name 'a'"},
        /* Kubernetes: whose keys to trust is the admin's choice, and io.kubernetes.* annotations
         * are forgeable under containerd's pass-through and CRI-O. */
        {"{\"kubernetes\": {\"runtime\": \"docker\"}}",
         "kubernetes.runtime: must be \"containerd\" or \"cri-o\""},
        {"{\"kubernetes\": {}}", "kubernetes.runtime: must be"},
        {"{\"kubernetes\": \"containerd\"}", "kubernetes: must be an object"},
        {"{\"kubernetes\": {\"runtime\": \"cri-o\", \"trust\": 1}}",
         "kubernetes.trust: unknown key"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": {\"kubernetes\": "
         "{\"namespace\": \"^prod$\"}}}]}",
         "roles[0].when.kubernetes: needs \"kubernetes\": {\"runtime\": \"containerd\" or "
         "\"cri-o\"} at the top"},
        {"{\"kubernetes\": {\"runtime\": \"containerd\"}, \"roles\": [{\"name\": \"r\", "
         "\"allow\": [], \"when\": {\"kubernetes\": {\"serviceaccount\": \"^web$\"}}}]}",
         "roles[0].when.kubernetes.serviceaccount: unknown key (namespace, pod or container)"},
        {"{\"kubernetes\": {\"runtime\": \"containerd\"}, \"roles\": [{\"name\": \"r\", "
         "\"allow\": [], \"when\": {\"kubernetes\": {\"pod\": \"(\"}}}]}",
         "roles[0].when.kubernetes.pod: invalid regular expression"},
        /* DESIGN §5's own example role, refused with the way out. */
        {"{\"roles\": [{\"name\": \"web\", \"allow\": [], \"when\": {\"annotations\": "
         "{\"io.kubernetes.pod.namespace\": \"^prod$\"}}}]}",
         "roles[0].when.annotations: io.kubernetes.* annotations can be set by the pod itself "
         "under some runtimes; bind the role with \"when\": {\"kubernetes\": {\"namespace\": "
         "...}} instead"},
        {"{\"kubernetes\": {\"runtime\": \"containerd\"}, \"roles\": [{\"name\": \"r\", "
         "\"allow\": [], \"when\": {\"annotations\": {\"io.kubernetes.cri.sandbox-namespace\": "
         "\"^prod$\"}}}]}",
         "roles[0].when.annotations: io.kubernetes.* annotations can be set by the pod itself"},
        /* glibc's regcomp needs exponential memory for these (fuzz_config found the first). */
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": {\"env\": {\"A\": "
         "\"a++++++++++++++++++++++++++++++++++++++++\"}}}]}",
         "roles[0].when.env.A: regular expression too long or too complex"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": {\"env\": {\"A\": "
         "\"((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+\"}}}]}",
         "roles[0].when.env.A: regular expression too long or too complex"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": {\"env\": {\"A\": "
         "\"(a{99}){99}\"}}}]}",
         "roles[0].when.env.A: regular expression too long or too complex"},
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": {\"env\": {\"A\": "
         "\"a{1,32767}\"}}}]}",
         "roles[0].when.env.A: regular expression too long or too complex"},
        /* A repeated star: 320 ms and 64 MB. */
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": {\"env\": {\"A\": "
         "\".*++++++++++\"}}}]}",
         "roles[0].when.env.A: regular expression too long or too complex"},
        /* 2.7 s and 270 MB in regcomp at a cost of 4096 (the first limit). */
        {"{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": {\"env\": {\"A\": "
         "\"BB++)+++++++*2+++++++++.*+++++++++++a\"}}}]}",
         "roles[0].when.env.A: regular expression too long or too complex"},
};

START_TEST(test_rejections) {
        const struct rejection *rj = &rejections[_i];
        struct broker_config *c = NULL;
        ck_assert_msg(parse(rj->json, &c) == -EINVAL, "accepted: %s", rj->json);
        ck_assert_ptr_null(c);
        const char *log = logged();
        char want[256];
        snprintf(want, sizeof want, "unit: config F: %s", rj->message);
        ck_assert_msg(strncmp(log, want, strlen(want)) == 0, "for %s\n got: %s want: %s", rj->json,
                      log, want);
        /* One line. */
        ck_assert_ptr_eq(strchr(log, '\n'), log + strlen(log) - 1);
}
END_TEST

/* The complexity guard leaves the patterns operators write alone. */
START_TEST(test_regex_ordinary) {
        static const char *const patterns[] = {
                "^prod$",
                "^(prod|staging)-[a-z0-9]{1,63}$",
                "^[[:alnum:]]+\\\\.example\\\\.com$",
                "^[]a-z]+(-[^]/]*)?$",
                "^(a|b|c)+(d+e?)*f{2,8}$",
                "^team-(web|api|db)(-[0-9]+)?$",
        };
        for (size_t i = 0; i < ARRAY_SIZE(patterns); i++) {
                _cleanup_config_ struct broker_config *c = NULL;
                char json[512];
                snprintf(json, sizeof json,
                         "{\"roles\": [{\"name\": \"r\", \"allow\": [], "
                         "\"when\": {\"env\": {\"A\": \"%s\"}}}]}",
                         patterns[i]);
                ck_assert_msg(parse(json, &c) == 0, "refused %s: %s", patterns[i], logged());
        }
}
END_TEST

/* Each pattern within bounds, but too many of them for every hook run to compile. */
START_TEST(test_regex_total_budget) {
        char json[8192] = "{\"roles\": [";
        for (int i = 0; i < 20; i++)
                snprintf(json + strlen(json), sizeof json - strlen(json),
                         "%s{\"name\": \"r%d\", \"allow\": [], \"when\": {\"env\": "
                         "{\"A\": \"a{1,1000}\"}}}",
                         i ? ", " : "", i);
        strcat(json, "]}");
        struct broker_config *c = NULL;
        ck_assert_int_eq(parse(json, &c), -EINVAL);
        ck_assert(strstr(logged(),
                         "roles[16].when.env.A: the role patterns together are too complex"));
}
END_TEST

/* An unknown key may be a token pasted in the wrong place: its name is printed, not its value. */
START_TEST(test_unknown_key_value_not_logged) {
        struct broker_config *c = NULL;
        ck_assert_int_eq(parse("{\"backends\": {\"store\": {\"type\": \"store\", \"token\": "
                               "\"s.TOPSECRETVALUE\"}}}",
                               &c),
                         -EINVAL);
        const char *log = logged();
        ck_assert_ptr_nonnull(strstr(log, "backends.store.token: unknown key"));
        ck_assert_ptr_null(strstr(log, "TOPSECRET"));
        ck_assert_int_eq(parse("{\"vault_token\": \"s.TOPSECRETVALUE\"}", &c), -EINVAL);
        log = logged();
        ck_assert_ptr_nonnull(strstr(log, "vault_token: unknown key"));
        ck_assert_ptr_null(strstr(log, "TOPSECRET"));
}
END_TEST

START_TEST(test_backend_raw_kept) {
        _cleanup_config_ struct broker_config *c = NULL;
        /* Keys of other backend types are theirs to check: kept in raw, not refused here. */
        ck_assert_int_eq(
                parse("{\"backends\": {\"v\": {\"type\": \"vault\", \"whatever\": 1}}}", &c), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(c->backends[0].raw, "whatever")), 1);
}
END_TEST

static char tmpdir[64];

static void setup_dir(void) {
        setup();
        strcpy(tmpdir, "/tmp/lbx-config-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_dir(void) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
        teardown();
}

static void write_config(const char *name, const char *json, mode_t mode, char *ret_path) {
        sprintf(ret_path, "%s/%s", tmpdir, name);
        int fd = open(ret_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write_full(fd, json, strlen(json)), 0);
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

/* why may say PATH, for the path. */
static int load_refused(const char *path, const char *why) {
        struct broker_config *c = NULL;
        int r = config_load(path, NULL, &c);
        ck_assert_ptr_null(c);
        char want[512], tail[384] = "";
        const char *p = strstr(why, "PATH");
        if (p)
                snprintf(tail, sizeof tail, "%.*s%s%s", (int)(p - why), why, path, p + 4);
        snprintf(want, sizeof want, "unit: config %s: refusing: %s\n", path, p ? tail : why);
        ck_assert_str_eq(logged(), want);
        return r;
}

START_TEST(test_file_ok) {
        char path[128];
        write_config("broker.json", design_example, 0644, path);
        _cleanup_config_ struct broker_config *c = NULL;
        ck_assert_int_eq(config_load(path, NULL, &c), 0);
        ck_assert_str_eq(c->path, path);
        ck_assert_uint_eq(c->n_roles, 2);
        config_free(c);
        c = NULL;
        ck_assert_int_eq(config_load(path, "/run/other", &c), 0);
        ck_assert_str_eq(c->state_dir, "/run/other");
}
END_TEST

START_TEST(test_file_unsafe) {
        char path[128], link[160];
        /* Each refusal names the path, what it found and what is expected (issue 14). */
        write_config("broker.json", design_example, 0664, path);
        ck_assert_int_eq(load_refused(path, "writable by group or others (mode 0664, owner root); "
                                            "expected owner root, not writable by group or others "
                                            "(chmod go-w PATH)"),
                         -EPERM);
        ck_assert_int_eq(chmod(path, 0646), 0);
        ck_assert_int_eq(load_refused(path, "writable by group or others (mode 0646, owner root); "
                                            "expected owner root, not writable by group or others "
                                            "(chmod go-w PATH)"),
                         -EPERM);
        ck_assert_int_eq(chmod(path, 0600), 0);
        ck_assert_int_eq(chown(path, 1000, 0), 0);
        ck_assert_int_eq(load_refused(path, "not owned by root (mode 0600, owner uid 1000); "
                                            "expected owner root, not writable by group or others "
                                            "(chown root, chmod go-w PATH)"),
                         -EPERM);
        ck_assert_int_eq(chown(path, 0, 0), 0);
        snprintf(link, sizeof link, "%s/link.json", tmpdir);
        ck_assert_int_eq(symlink(path, link), 0);
        ck_assert_int_eq(load_refused(link, "is a symbolic link; expected a regular file owned by "
                                            "root, not writable by group or others"),
                         -EPERM);
        ck_assert_int_eq(load_refused(tmpdir, "not a regular file; expected a regular file owned "
                                              "by root, not writable by group or others"),
                         -EPERM);
        snprintf(link, sizeof link, "%s/fifo", tmpdir);
        ck_assert_int_eq(mkfifo(link, 0600), 0);
        ck_assert_int_eq(load_refused(link, "not a regular file; expected a regular file owned by "
                                            "root, not writable by group or others"),
                         -EPERM);
}
END_TEST

/* The directories above the config, the store and every credential file, as ssh checks
 * authorized_keys' parents: root's (or ours), not writable by group or others unless sticky. */
START_TEST(test_file_parents) {
        char sub[128], path[160], want[1024], json[512];
        snprintf(sub, sizeof sub, "%s/open", tmpdir);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        snprintf(path, sizeof path, "%s/broker.json", sub);
        write_config("open/broker.json", "{}", 0600, want);
        _cleanup_config_ struct broker_config *c = NULL;
        ck_assert_int_eq(config_load(path, NULL, &c), 0);
        config_free(c);
        c = NULL;

        ck_assert_int_eq(chmod(sub, 0777), 0);
        ck_assert_int_eq(config_load(path, NULL, &c), -EPERM);
        snprintf(want, sizeof want,
                 "unit: config %s: %s: refusing: directory %s is writable by group or others "
                 "(mode 0777, owner 0); make it root's and not writable by group or others\n",
                 path, path, sub);
        ck_assert_str_eq(logged(), want);
        ck_assert_int_eq(chmod(sub, 0775), 0);
        ck_assert_int_eq(config_load(path, NULL, &c), -EPERM);
        /* Sticky, as /tmp is: only a file's owner may replace it. */
        ck_assert_int_eq(chmod(sub, 01777), 0);
        ck_assert_int_eq(config_load(path, NULL, &c), 0);
        config_free(c);
        c = NULL;
        ck_assert_int_eq(chmod(sub, 0755), 0);
        ck_assert_int_eq(chown(sub, 1000, 1000), 0);
        ck_assert_int_eq(config_load(path, NULL, &c), -EPERM);
        ck_assert_ptr_nonnull(strstr(logged(), "is not owned by root (mode 0755, owner 1000)"));
        ck_assert_int_eq(chown(sub, 0, 0), 0);

        /* A credential file (the store's key) and the store's directory. */
        snprintf(json, sizeof json,
                 "{\"backends\": {\"store\": {\"type\": \"store\", \"dir\": \"%s/s/store\", "
                 "\"key_file\": \"%s/k/store.key\"}}}",
                 tmpdir, tmpdir);
        write_config("broker.json", json, 0600, path);
        snprintf(want, sizeof want, "%s/k", tmpdir);
        ck_assert_int_eq(mkdir(want, 0757), 0);
        ck_assert_int_eq(chmod(want, 0757), 0);
        ck_assert_int_eq(config_load(path, NULL, &c), -EPERM);
        const char *line = logged();
        ck_assert_ptr_nonnull(strstr(line, ": backend 'store' key_file "));
        ck_assert_ptr_nonnull(strstr(line, "/k/store.key: refusing: directory "));
        ck_assert_int_eq(chmod(want, 0700), 0);
        snprintf(want, sizeof want, "%s/s", tmpdir);
        ck_assert_int_eq(mkdir(want, 0700), 0);
        ck_assert_int_eq(chmod(want, 0770), 0);
        ck_assert_int_eq(config_load(path, NULL, &c), -EPERM);
        ck_assert_ptr_nonnull(strstr(logged(), ": backend 'store' dir "));
        ck_assert_int_eq(chmod(want, 0700), 0);
        ck_assert_int_eq(config_load(path, NULL, &c), 0);
}
END_TEST

START_TEST(test_file_content_error) {
        char path[128], want[256];
        write_config("broker.json",
                     "{\"roles\": [{\"name\": \"r\", \"allow\": [], \"when\": "
                     "{\"annotations\": {\"x\": \"[\"}}}]}",
                     0600, path);
        struct broker_config *c = NULL;
        ck_assert_int_eq(config_load(path, NULL, &c), -EINVAL);
        snprintf(want, sizeof want,
                 "unit: config %s: roles[0].when.annotations.x: invalid regular expression\n",
                 path);
        ck_assert_str_eq(logged(), want);
}
END_TEST

START_TEST(test_file_too_large) {
        char path[128];
        sprintf(path, "%s/big.json", tmpdir);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, CONFIG_MAX_BYTES + 1), 0);
        close(fd);
        struct broker_config *c = NULL;
        ck_assert_int_eq(config_load(path, NULL, &c), -EINVAL);
        ck_assert_ptr_nonnull(strstr(logged(), "larger than"));
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("parse");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_design_example);
        struct stat st;
        /* A host with a real config: the default path is not ours to test. */
        unit_add_test_if(tc, test_embedded_default, lstat(CONFIG_DEFAULT_PATH, &st) < 0,
                         "this host has " CONFIG_DEFAULT_PATH);
        tcase_add_test(tc, test_named_file_missing);
        tcase_add_test(tc, test_absent_sections);
        tcase_add_test(tc, test_defaults_values);
        tcase_add_test(tc, test_agent_values);
        tcase_add_loop_test(tc, test_rejections, 0, (int)ARRAY_SIZE(rejections));
        tcase_add_test(tc, test_regex_ordinary);
        tcase_add_test(tc, test_regex_total_budget);
        tcase_add_test(tc, test_unknown_key_value_not_logged);
        tcase_add_test(tc, test_backend_raw_kept);
        suite_add_tcase(s, tc);
        tc = tcase_create("file");
        tcase_add_checked_fixture(tc, setup_dir, teardown_dir);
        tcase_add_test(tc, test_file_ok);
        tcase_add_test(tc, test_file_unsafe);
        tcase_add_test(tc, test_file_parents);
        tcase_add_test(tc, test_file_content_error);
        tcase_add_test(tc, test_file_too_large);
        suite_add_tcase(s, tc);
        return s;
}
