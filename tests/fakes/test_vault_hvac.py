#!/usr/bin/python3
"""Prove tests/fakes/vault_fake.py against a real client: Debian's python3-hvac.

Starts the fake over TLS (certificates from mkcerts.sh in a temporary directory, a free port),
then exercises every endpoint lockbox uses through hvac and checks that the answers parse the
way a real Vault's do: the fields hvac and Vault clients rely on, the exceptions hvac raises for
each status, and the bodies those exceptions carry. Also checks the fake's failure injection and
counters through its control API, and that its log holds no secret value.

Prints one line per check and, last, "N passed, M failed". Exit status 0 only if all passed.
Run with /usr/bin/python3 (python3-hvac is a Debian package).
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

# requests reads proxy variables from the environment; the fake is on loopback.
for _v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_v, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

try:
    import hvac
    import hvac.exceptions as hx
    import requests
except ImportError as e:  # pragma: no cover
    print("hvac: cannot import (%s): install python3-hvac" % e)
    print("0 passed, 1 failed")
    sys.exit(1)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


# Service-account tokens signed by a "cluster" of our own (mkjwt.py, python3-cryptography):
# K8S["key"] signs what the fake's TokenReview stand-in and pem_keys accept, K8S["other"] is
# another cluster's key.
K8S_TMP = tempfile.mkdtemp(prefix="lbx-hvac-k8s-")


def _mkjwt(*args):
    return subprocess.run([sys.executable, os.path.join(HERE, "mkjwt.py")] + list(args),
                          check=True, capture_output=True, text=True).stdout.strip()


_mkjwt("keygen", os.path.join(K8S_TMP, "a"))
_mkjwt("keygen", os.path.join(K8S_TMP, "b"), "--ec")
K8S_KEY = os.path.join(K8S_TMP, "a", "sa.key")
K8S_OTHER = os.path.join(K8S_TMP, "b", "sa.key")


def k8s_token(ns, sa, *extra, key=K8S_KEY):
    return _mkjwt("mint", key, "--namespace", ns, "--service-account", sa, "--pod", sa + "-1",
                  *extra)


K8S_JWT = k8s_token("apps", "web")

# Values that must never appear in the fake's log.
SECRETS = {
    "db_pw": "pw-Zq81-db-value", "v1_key": "v1-api-key-9931", "ns_pw": "ns1-only-pw-5521",
    "multi1": "multi-one-7710", "role_id": "role-id-4f1c", "secret_id": "secret-id-88aa",
    "secret_id_2": "secret-id-twice-77", "root": "root-token-x91", "app_token": "app-token-y72",
    "ns_root": "ns1-root-token-z33", "jwt": K8S_JWT,
}


class Check:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, not raised
            self.failed += 1
            detail = "%s: %s" % (type(e).__name__, e)
            print("FAIL %s: %s" % (name, detail.replace("\n", " ")[:400]))
            if os.environ.get("VAULT_FAKE_TEST_TRACE"):
                traceback.print_exc()
        else:
            self.passed += 1
            print("ok   %s" % name)
        sys.stdout.flush()


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def raises(exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc as e:
        return e
    raise AssertionError("expected %s" % exc.__name__)


def has_envelope(r, mount_type=True):
    keys = ["request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info",
            "warnings", "auth"] + (["mount_type"] if mount_type else [])
    missing = [k for k in keys if k not in r]
    expect(not missing, "envelope lacks %s: %r" % (missing, sorted(r)))


class Fake:
    def __init__(self, tmp):
        self.tmp = tmp
        self.certs = os.path.join(tmp, "certs")
        subprocess.run([os.path.join(HERE, "mkcerts.sh"), self.certs], check=True)
        self.ca = os.path.join(self.certs, "ca.pem")
        seed = {
            "root_token": SECRETS["root"],
            "kv": {"secret/app/db": {"password": SECRETS["db_pw"], "user": "app"},
                   "kv1/app/api": {"key": SECRETS["v1_key"]}},
            "kv_versions": {"secret/app/multi": [{"data": {"v": SECRETS["multi1"]}},
                                                 {"data": {"v": "two"}, "deleted": True},
                                                 {"data": {"v": "three"}, "destroyed": True}]},
            "kv_metadata": {"secret/app/db": {"custom_metadata": {"owner": "lockbox"}}},
            "policies": {"app": ["secret/data/app/*", "secret/metadata/app/*",
                                 {"path": "database/creds/app", "capabilities": ["read"]},
                                 {"path": "sys/leases/revoke", "capabilities": ["update"]}]},
            "tokens": [{"id": SECRETS["app_token"], "policies": ["app"], "ttl": "1h",
                        "explicit_max_ttl": "2h"}],
            "approle": {"roles": {"app": {"role_id": SECRETS["role_id"], "policies": ["app"],
                                          "token_ttl": "20m", "token_max_ttl": "1h"}},
                        "secret_ids": [{"role": "app", "secret_id": SECRETS["secret_id"]},
                                       {"role": "app", "secret_id": SECRETS["secret_id_2"],
                                        "num_uses": 2}]},
            "cert": {"roles": {"web": {"certificate": "@" + self.ca,
                                       "allowed_common_names": ["lockbox-client"],
                                       "policies": ["app"], "ttl": "30m"}}},
            "kubernetes": {
                "config": {"kubernetes_host": "https://k8s.test:6443",
                           "pem_keys": [read(os.path.join(K8S_TMP, "a", "sa.pub"))]},
                "tokenreview": {"public_keys": [read(os.path.join(K8S_TMP, "a", "sa.pub"))]},
                "roles": {"web": {"bound_service_account_names": ["web"],
                                  "bound_service_account_namespaces": ["apps"],
                                  "token_policies": ["app"], "token_ttl": "15m"}}},
            "database": {"roles": {"app": {"default_ttl": "1h", "max_ttl": "2h"}}},
            "namespaces": {"ns1/": {
                "root_token": SECRETS["ns_root"],
                "kv": {"secret/app/db": {"password": SECRETS["ns_pw"]}},
                "approle": {"roles": {"ns-app": {"role_id": "ns-role", "policies": ["default"]}},
                            "secret_ids": [{"role": "ns-app", "secret_id": "ns-secret"}]}}},
        }
        self.seed = os.path.join(tmp, "seed.json")
        with open(self.seed, "w") as f:
            json.dump(seed, f)
        self.port_file = os.path.join(tmp, "port")
        self.cport_file = os.path.join(tmp, "cport")
        self.log_path = os.path.join(tmp, "fake.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "vault_fake.py"), "--port", "0",
             "--cert", os.path.join(self.certs, "server.pem"),
             "--key", os.path.join(self.certs, "server.key"),
             "--client-ca", self.ca, "--client-ca", os.path.join(self.certs, "ca2.pem"),
             "--port-file", self.port_file, "--control-port-file", self.cport_file,
             "--seed", self.seed, "--die-with-parent"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("vault_fake.py did not start:\n" + read(self.log_path))
            time.sleep(0.05)
        self.port = int(read(self.port_file))
        self.cport = int(read(self.cport_file))
        self.url = "https://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.cport, path), data=data,
                                     method=method, headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=10) as r:
            return json.loads(r.read())

    def client(self, token=None, **kw):
        return hvac.Client(url=self.url, token=token, verify=self.ca, **kw)

    def cert(self, name):
        return os.path.join(self.certs, name)


def main():
    tmp = tempfile.mkdtemp(prefix="vault-fake-hvac.")
    fake = None

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        try:
            fake = Fake(tmp)
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            print("FAIL start the fake: %s" % e)
            print("0 passed, 1 failed")
            return 1
        return run_checks(fake)
    finally:
        if fake is not None:
            fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(K8S_TMP, ignore_errors=True)


def run_checks(fake):
    c = Check()
    root = fake.client(SECRETS["root"])
    S = SECRETS

    # ---------------------------------------------------------------- status
    def health():
        expect(root.sys.is_initialized() is True, "sys/init initialized")
        expect(root.sys.is_sealed() is False, "seal-status sealed")
        r = root.sys.read_health_status(method="GET")
        for k in ("initialized", "sealed", "standby", "version", "server_time_utc", "cluster_id"):
            expect(k in r, "health lacks %s" % k)
        expect(root.sys.read_health_status(method="HEAD").status_code == 200, "HEAD sys/health")
    c.run("sys/health, sys/seal-status, sys/init", health)

    # ---------------------------------------------------------------- tokens
    def token_root():
        expect(root.is_authenticated(), "root token authenticates")
        r = root.auth.token.lookup_self()
        has_envelope(r)
        d = r["data"]
        expect(d["id"] == S["root"] and d["policies"] == ["root"], "root lookup-self: %r" % d)
        expect(d["ttl"] == 0 and d["expire_time"] is None and d["path"] == "auth/token/root",
               "root token has no TTL")
        for k in ("accessor", "creation_time", "creation_ttl", "display_name", "entity_id",
                  "explicit_max_ttl", "issue_time", "meta", "num_uses", "orphan", "renewable", "type"):
            expect(k in d, "lookup-self lacks %s" % k)
    c.run("token auth: lookup-self (root)", token_root)

    def token_bad():
        bad = fake.client("no-such-token")
        expect(not bad.is_authenticated(), "bad token is not authenticated")
        e = raises(hx.Forbidden, bad.secrets.kv.v2.read_secret_version, "app/db")
        expect(e.errors == ["permission denied"], "403 body: %r" % e.errors)
        e = raises(hx.Forbidden, fake.client().secrets.kv.v2.read_secret_version, "app/db")
        expect(e.errors == ["permission denied"], "no token: %r" % e.errors)
    c.run("token auth: missing/invalid token -> 403 permission denied", token_bad)

    def token_ttl_renew_revoke():
        t = root.auth.token.create(policies=["app"], ttl="10m", explicit_max_ttl="30m")
        a = t["auth"]
        for k in ("client_token", "accessor", "policies", "token_policies", "metadata",
                  "lease_duration", "renewable", "entity_id", "token_type", "orphan"):
            expect(k in a, "create auth lacks %s" % k)
        expect(a["lease_duration"] == 600 and a["renewable"] and a["policies"] == ["app", "default"],
               "create: %r" % a)
        cl = fake.client(a["client_token"])
        d = cl.auth.token.lookup_self()["data"]
        expect(590 <= d["ttl"] <= 600 and d["renewable"] and d["expire_time"], "lookup ttl %r" % d)
        r = cl.auth.token.renew_self(increment="20m")
        has_envelope(r)
        expect(r["auth"]["lease_duration"] == 1200 and r["auth"]["client_token"] == a["client_token"],
               "renew-self: %r" % r["auth"])
        r = cl.auth.token.renew_self(increment="1h")
        expect(r["auth"]["lease_duration"] <= 1800 and r["warnings"], "renew capped at max: %r" % r)
        app = fake.client(S["app_token"]).auth.token.lookup_self()["data"]
        expect(app["policies"] == ["app", "default"] and app["ttl"] > 3000, "seeded token %r" % app)
        resp = cl.auth.token.revoke_self()
        expect(resp.status_code == 204, "revoke-self 204")
        raises(hx.Forbidden, cl.auth.token.lookup_self)
    c.run("token auth: create, TTL, renew-self (capped), revoke-self", token_ttl_renew_revoke)

    def token_expiry():
        t = root.auth.token.create(policies=["app"], ttl="60s")["auth"]["client_token"]
        cl = fake.client(t)
        cl.auth.token.lookup_self()
        fake.control("POST", "/time", {"advance": 61})
        try:
            raises(hx.Forbidden, cl.auth.token.lookup_self)
        finally:
            fake.control("POST", "/time", {"reset": True})
    c.run("token auth: a token expires after its TTL", token_expiry)

    # ---------------------------------------------------------------- approle
    def approle_login():
        cl = fake.client()
        r = cl.auth.approle.login(role_id=S["role_id"], secret_id=S["secret_id"])
        has_envelope(r)
        a = r["auth"]
        expect(a["client_token"] and a["accessor"] and a["token_type"] == "service", "auth %r" % a)
        expect(a["policies"] == ["app", "default"] and a["lease_duration"] == 1200 and a["renewable"],
               "approle token: %r" % a)
        expect(a["metadata"] == {"role_name": "app"}, "metadata %r" % a["metadata"])
        expect(cl.token == a["client_token"], "hvac stored the login token")
        d = cl.secrets.kv.v2.read_secret_version("app/db")["data"]["data"]
        expect(d["password"] == S["db_pw"], "approle token reads the secret")
        e = raises(hx.InvalidRequest, fake.client().auth.approle.login, S["role_id"], "wrong")
        expect(e.errors == ["invalid role or secret ID"], "bad secret id: %r" % e.errors)
        e = raises(hx.InvalidRequest, fake.client().auth.approle.login, "nope", S["secret_id"])
        expect(e.errors == ["invalid role or secret ID"], "bad role id: %r" % e.errors)
    c.run("approle: login, token fields, bad credentials -> 400", approle_login)

    def approle_num_uses():
        for i in range(2):
            fake.client().auth.approle.login(role_id=S["role_id"], secret_id=S["secret_id_2"])
        e = raises(hx.InvalidRequest, fake.client().auth.approle.login, S["role_id"], S["secret_id_2"])
        expect(e.errors == ["invalid role or secret ID"], "exhausted: %r" % e.errors)
    c.run("approle: secret_id_num_uses=2 -> third login 400", approle_num_uses)

    def approle_generate():
        r = root.auth.approle.read_role_id("app")
        expect(r["data"]["role_id"] == S["role_id"], "role-id %r" % r["data"])
        r = root.auth.approle.generate_secret_id("app")
        d = r["data"]
        for k in ("secret_id", "secret_id_accessor", "secret_id_ttl", "secret_id_num_uses"):
            expect(k in d, "secret-id lacks %s" % k)
        fake.client().auth.approle.login(role_id=S["role_id"], secret_id=d["secret_id"])
    c.run("approle: read role-id, generate secret-id, log in with it", approle_generate)

    # ---------------------------------------------------------------- wrapping
    def wrapped_secret_id():
        r = root.adapter.post("/v1/auth/approle/role/app/secret-id", json={}, wrap_ttl="2m")
        has_envelope(r)
        w = r["wrap_info"]
        for k in ("token", "accessor", "ttl", "creation_time", "creation_path", "wrapped_accessor"):
            expect(k in w, "wrap_info lacks %s" % k)
        expect(w["ttl"] == 120 and w["creation_path"] == "auth/approle/role/app/secret-id",
               "wrap_info %r" % w)
        expect(r["data"] is None and r["auth"] is None, "a wrapped reply carries no data")
        lk = root.adapter.post("/v1/sys/wrapping/lookup", json={"token": w["token"]})
        expect(lk["data"]["creation_ttl"] == 120, "wrapping lookup %r" % lk["data"])
        un = fake.client(w["token"]).sys.unwrap()
        has_envelope(un, mount_type=False)
        sid = un["data"]["secret_id"]
        expect(un["data"]["secret_id_accessor"] == w["wrapped_accessor"], "wrapped_accessor")
        fake.client().auth.approle.login(role_id=S["role_id"], secret_id=sid)
        e = raises(hx.InvalidRequest, fake.client(w["token"]).sys.unwrap)
        expect(e.errors == ["wrapping token is not valid or does not exist"], "reuse %r" % e.errors)
    c.run("wrapping: X-Vault-Wrap-TTL secret-id, lookup, unwrap once, then 400", wrapped_secret_id)

    def wrapped_login():
        r = fake.client().adapter.post("/v1/auth/approle/login", wrap_ttl=60,
                                       json={"role_id": S["role_id"], "secret_id": S["secret_id"]})
        tok = r["wrap_info"]["token"]
        un = root.sys.unwrap(token=tok)          # the token in the body, the caller's in the header
        a = un["auth"]
        expect(a["client_token"] and a["accessor"] == r["wrap_info"]["wrapped_accessor"],
               "unwrapped login %r" % a)
        fake.client(a["client_token"]).auth.token.lookup_self()
        e = raises(hx.InvalidRequest, root.sys.unwrap, token=tok)
        expect(e.errors == ["wrapping token is not valid or does not exist"], "%r" % e.errors)
    c.run("wrapping: a wrapped login, unwrapped with the token in the body", wrapped_login)

    # ---------------------------------------------------------------- cert
    def cert_login():
        cl = hvac.Client(url=fake.url, verify=fake.ca,
                         cert=(fake.cert("client.pem"), fake.cert("client.key")))
        r = cl.auth.cert.login(cert_pem=fake.cert("client.pem"), key_pem=fake.cert("client.key"))
        has_envelope(r)
        a = r["auth"]
        expect(a["policies"] == ["app", "default"] and a["lease_duration"] == 1800, "cert %r" % a)
        m = a["metadata"]
        expect(m["cert_name"] == "web" and m["common_name"] == "lockbox-client", "meta %r" % m)
        expect(cl.token == a["client_token"], "hvac stored the token")
        expect(cl.secrets.kv.v2.read_secret_version("app/db")["data"]["data"]["password"] == S["db_pw"],
               "cert token reads")
        r = cl.auth.cert.login(name="web", cert_pem=fake.cert("client.pem"), key_pem=fake.cert("client.key"))
        expect(r["auth"]["metadata"]["cert_name"] == "web", "named role")
    c.run("cert: mTLS login (client cert from the handshake), token works", cert_login)

    def cert_wrong():
        cl = hvac.Client(url=fake.url, verify=fake.ca,
                         cert=(fake.cert("client2.pem"), fake.cert("client2.key")))
        e = raises(hx.InvalidRequest, cl.auth.cert.login, cert_pem=fake.cert("client2.pem"),
                   key_pem=fake.cert("client2.key"))
        expect(e.errors == ["invalid certificate or no client certificate supplied"], "%r" % e.errors)
        e = raises(hx.InvalidRequest, fake.client().adapter.login, "/v1/auth/cert/login", json={})
        expect(e.errors == ["invalid certificate or no client certificate supplied"], "%r" % e.errors)
    c.run("cert: same CN from an unrelated CA, or no cert -> 400", cert_wrong)

    # ---------------------------------------------------------------- kubernetes
    def k8s_login():
        cl = fake.client()
        r = cl.auth.kubernetes.login(role="web", jwt=K8S_JWT)
        a = r["auth"]
        m = a["metadata"]
        expect(m["role"] == "web" and m["service_account_name"] == "web" and
               m["service_account_namespace"] == "apps" and m["service_account_uid"] and
               m["service_account_secret_name"] == "", "k8s metadata %r" % m)
        expect(a["lease_duration"] == 900 and a["policies"] == ["app", "default"], "k8s %r" % a)
        expect(cl.is_authenticated(), "k8s token works")
        # The old secret-based token: claims under "kubernetes.io/serviceaccount/...".
        m = fake.client().auth.kubernetes.login("web", k8s_token("apps", "web", "--legacy"))
        expect(m["auth"]["metadata"]["service_account_secret_name"] == "web-token-lbx",
               "legacy %r" % m["auth"]["metadata"])
        e = raises(hx.InvalidRequest, fake.client().auth.kubernetes.login, "nope", K8S_JWT)
        expect(e.errors == ['invalid role name "nope"'], "bad role %r" % e.errors)
        e = raises(hx.InvalidRequest, fake.client().adapter.login, "/v1/auth/kubernetes/login",
                   json={"role": "web"})
        expect(e.errors == ["missing jwt"], "no jwt %r" % e.errors)
    c.run("kubernetes: projected and legacy tokens log in, unknown role -> 400", k8s_login)

    def k8s_refused():
        login = fake.client().auth.kubernetes.login
        for token, want in (
                (k8s_token("dev", "web"), "namespace not authorized"),
                (k8s_token("apps", "other"), "service account name not authorized"),
                (k8s_token("apps", "web", "--expired"),
                 "invalid expiration time (exp) claim: token is expired"),
                (k8s_token("apps", "web", key=K8S_OTHER), "permission denied"),
                (K8S_JWT[:-4] + ("AAAA" if not K8S_JWT.endswith("AAAA") else "BBBB"),
                 "permission denied"),
                ("not-a-jwt", "permission denied")):
            e = raises(hx.Forbidden, login, "web", token)
            expect(e.errors == [want], "%s: %r" % (want, e.errors))
    c.run("kubernetes: bound namespace, wrong service account, expired, another cluster's "
          "key, bad signature -> 403", k8s_refused)

    def k8s_roles():
        root_cl = fake.client(S["root"])
        k = root_cl.auth.kubernetes
        cfg = k.read_config()
        expect(cfg["kubernetes_host"] == "https://k8s.test:6443" and len(cfg["pem_keys"]) == 1,
               "config %r" % cfg)
        k.create_role("any", bound_service_account_names="*",
                      bound_service_account_namespaces=["dev", "team-*"], policies=["app"])
        r = k.read_role("any")
        expect(r["bound_service_account_names"] == ["*"] and
               r["bound_service_account_namespaces"] == ["dev", "team-*"], "role %r" % r)
        fake.client().auth.kubernetes.login("any", k8s_token("team-a", "batch"))
        e = raises(hx.Forbidden, fake.client().auth.kubernetes.login, "any",
                   k8s_token("apps", "web"))
        expect(e.errors == ["namespace not authorized"], "%r" % e.errors)
        e = raises(hx.InvalidRequest, k.create_role, "bad", ["*", "web"], ["dev"])
        expect(e.errors == ['can not mix "*" with values'], "%r" % e.errors)
        e = raises(hx.InvalidRequest, root_cl.adapter.post, "/v1/auth/kubernetes/role/bad",
                   json={"bound_service_account_names": ["web"]})
        expect(e.errors == ['"bound_service_account_namespaces" can not be empty if '
                            '"bound_service_account_namespace_selector" is not set'],
               "%r" % e.errors)
        e = raises(hx.InvalidRequest, k.configure, "")
        expect(e.errors == ["no host provided"], "%r" % e.errors)
    c.run("kubernetes: config and roles through the API (wildcards, globs, upstream errors)",
          k8s_roles)

    # ---------------------------------------------------------------- KV v1
    def kv1():
        kv = root.secrets.kv.v1
        r = kv.read_secret("app/api", mount_point="kv1")
        has_envelope(r)
        expect(r["data"] == {"key": S["v1_key"]} and r["lease_duration"] == 2764800 and
               r["mount_type"] == "kv", "kv1 read %r" % {k: r[k] for k in ("lease_duration", "mount_type")})
        w = kv.create_or_update_secret("app/new", {"a": "1", "b": "2"}, mount_point="kv1")
        expect(w.status_code == 204, "kv1 write 204")
        expect(kv.read_secret("app/new", mount_point="kv1")["data"] == {"a": "1", "b": "2"}, "read back")
        expect(sorted(kv.list_secrets("app", mount_point="kv1")["data"]["keys"]) == ["api", "new"],
               "kv1 list")
        e = raises(hx.InvalidPath, kv.read_secret, "app/missing", mount_point="kv1")
        expect(e.errors == [], "unknown path -> 404 {\"errors\":[]}: %r" % e.errors)
        kv.delete_secret("app/new", mount_point="kv1")
        raises(hx.InvalidPath, kv.read_secret, "app/new", mount_point="kv1")
    c.run("kv v1: read (lease_duration 32d), write 204, list, 404, delete", kv1)

    # ---------------------------------------------------------------- KV v2
    def kv2_versions():
        kv = root.secrets.kv.v2
        r = kv.create_or_update_secret("app/svc", {"token": "one"})
        has_envelope(r)
        expect(r["data"]["version"] == 1 and r["data"]["deletion_time"] == "" and
               not r["data"]["destroyed"] and "created_time" in r["data"], "write %r" % r["data"])
        r = kv.create_or_update_secret("app/svc", {"token": "two"}, cas=1)
        expect(r["data"]["version"] == 2, "cas write")
        e = raises(hx.InvalidRequest, kv.create_or_update_secret, "app/svc", {"x": "y"}, cas=1)
        expect(e.errors == ["check-and-set parameter did not match the current version"], "%r" % e.errors)
        r = kv.read_secret_version("app/svc")
        has_envelope(r)
        md = r["data"]["metadata"]
        expect(r["data"]["data"] == {"token": "two"} and md["version"] == 2, "latest %r" % r["data"])
        for k in ("created_time", "custom_metadata", "deletion_time", "destroyed", "version"):
            expect(k in md, "metadata lacks %s" % k)
        r = kv.read_secret_version("app/svc", version=1)
        expect(r["data"]["data"] == {"token": "one"} and r["data"]["metadata"]["version"] == 1, "v1")
        e = raises(hx.InvalidPath, kv.read_secret_version, "app/svc", version=7)
        expect(e.errors == [], "missing version -> {\"errors\":[]}")
        e = raises(hx.InvalidPath, kv.read_secret_version, "app/none")
        expect(e.errors == [], "missing path -> {\"errors\":[]}")
    c.run("kv v2: create, cas, read latest and a version, 404s", kv2_versions)

    def kv2_deleted_body(e, version, destroyed):
        # hvac puts the raw body in the exception when it has no "errors" key.
        body = json.loads(e.args[0])
        has_envelope(body, mount_type=False)
        md = body["data"]["metadata"]
        expect(body["data"]["data"] is None, "data.data is null")
        expect(md["version"] == version and md["destroyed"] is destroyed, "metadata %r" % md)
        if not destroyed:
            expect(md["deletion_time"] != "", "deletion_time set")
        expect(e.errors is None, "no errors key in the body")

    def kv2_delete_undelete_destroy():
        kv = root.secrets.kv.v2
        resp = kv.delete_latest_version_of_secret("app/svc")
        expect(resp.status_code == 204, "DELETE data/ 204")
        e = raises(hx.InvalidPath, kv.read_secret_version, "app/svc")
        kv2_deleted_body(e, 2, False)
        expect(kv.undelete_secret_versions("app/svc", [2]).status_code == 204, "undelete 204")
        expect(kv.read_secret_version("app/svc")["data"]["data"] == {"token": "two"}, "undeleted")
        expect(kv.delete_secret_versions("app/svc", [1]).status_code == 204, "delete versions 204")
        kv2_deleted_body(raises(hx.InvalidPath, kv.read_secret_version, "app/svc", version=1), 1, False)
        expect(kv.destroy_secret_versions("app/svc", [1]).status_code == 204, "destroy 204")
        kv2_deleted_body(raises(hx.InvalidPath, kv.read_secret_version, "app/svc", version=1), 1, True)
        kv.undelete_secret_versions("app/svc", [1])          # a destroyed version stays destroyed
        kv2_deleted_body(raises(hx.InvalidPath, kv.read_secret_version, "app/svc", version=1), 1, True)
        # seeded: v2 deleted, v3 destroyed (the latest)
        kv2_deleted_body(raises(hx.InvalidPath, kv.read_secret_version, "app/multi"), 3, True)
        kv2_deleted_body(raises(hx.InvalidPath, kv.read_secret_version, "app/multi", version=2), 2, False)
        expect(kv.read_secret_version("app/multi", version=1)["data"]["data"]["v"] == S["multi1"], "v1")
    c.run("kv v2: delete/undelete/destroy; a deleted version is 404 with the metadata body",
          kv2_delete_undelete_destroy)

    def kv2_metadata():
        r = root.secrets.kv.v2.read_secret_metadata("app/svc")
        has_envelope(r)
        d = r["data"]
        for k in ("cas_required", "created_time", "current_version", "custom_metadata",
                  "delete_version_after", "max_versions", "oldest_version", "updated_time", "versions"):
            expect(k in d, "metadata lacks %s" % k)
        expect(d["current_version"] == 2 and sorted(d["versions"]) == ["1", "2"], "versions %r" % d)
        expect(d["versions"]["1"]["destroyed"] is True and d["versions"]["2"]["deletion_time"] == "",
               "per-version metadata %r" % d["versions"])
        r = root.secrets.kv.v2.read_secret_metadata("app/db")
        expect(r["data"]["custom_metadata"] == {"owner": "lockbox"}, "custom_metadata")
        keys = root.secrets.kv.v2.list_secrets("app")["data"]["keys"]
        expect({"db", "svc", "multi"} <= set(keys), "list %r" % keys)
        raises(hx.InvalidPath, root.secrets.kv.v2.read_secret_metadata, "app/none")
    c.run("kv v2: read_secret_metadata, list", kv2_metadata)

    def kv2_policy():
        app = fake.client(S["app_token"])
        expect(app.secrets.kv.v2.read_secret_version("app/db")["data"]["data"]["password"] == S["db_pw"],
               "allowed path")
        e = raises(hx.Forbidden, app.secrets.kv.v1.read_secret, "app/api", mount_point="kv1")
        expect(e.errors == ["1 error occurred:\n\t* permission denied\n\n"], "%r" % e.errors)
    c.run("policies: the app token reads secret/data/app/*, not kv1/ (403)", kv2_policy)

    # ---------------------------------------------------------------- ui/mounts
    def ui_mounts():
        r = root.adapter.get("/v1/sys/internal/ui/mounts/secret/app/db")
        has_envelope(r)
        d = r["data"]
        expect(d["type"] == "kv" and d["options"] == {"version": "2"} and d["path"] == "secret/",
               "secret/ %r" % d)
        for k in ("accessor", "config", "description", "local", "seal_wrap", "uuid"):
            expect(k in d, "mount info lacks %s" % k)
        d = root.adapter.get("/v1/sys/internal/ui/mounts/kv1/app/api")["data"]
        expect(d["options"] == {"version": "1"} and d["path"] == "kv1/", "kv1/ %r" % d)
        d = root.adapter.get("/v1/sys/internal/ui/mounts/database/creds/app")["data"]
        expect(d["type"] == "database" and d["options"] is None, "database/ %r" % d)
        app = fake.client(S["app_token"])
        expect(app.adapter.get("/v1/sys/internal/ui/mounts/secret/app/db")["data"]["path"] == "secret/",
               "app token sees secret/")
        e = raises(hx.Forbidden, app.adapter.get, "/v1/sys/internal/ui/mounts/kv1/app/api")
        expect(e.errors == ["preflight capability check returned 403, please ensure client's "
                            "policies grant access to path \"kv1/app/api/\""], "%r" % e.errors)
        e = raises(hx.Forbidden, root.adapter.get, "/v1/sys/internal/ui/mounts/nomount/x")
        expect("preflight capability check returned 403" in e.errors[0], "unknown mount -> 403")
        m = root.sys.list_mounted_secrets_engines()
        expect("secret/" in m["data"] and "secret/" in m, "sys/mounts (data and top level)")
    c.run("sys/internal/ui/mounts: kv v2/v1/database, 403 when denied or unmounted", ui_mounts)

    # ---------------------------------------------------------------- leases
    def dynamic_lease():
        app = fake.client(S["app_token"])
        before = fake.control("GET", "/counters")
        r = app.read("database/creds/app")
        has_envelope(r)
        lid = r["lease_id"]
        expect(lid.startswith("database/creds/app/") and r["renewable"] and r["lease_duration"] == 3600,
               "lease %r" % {k: r[k] for k in ("lease_id", "renewable", "lease_duration")})
        expect(r["data"]["username"] and r["data"]["password"], "creds")
        r2 = app.read("database/creds/app")
        expect(r2["lease_id"] != lid and r2["data"]["username"] != r["data"]["username"], "new creds")
        lk = root.sys.read_lease(lid)
        expect(lk["data"]["id"] == lid and 0 < lk["data"]["ttl"] <= 3600 and lk["data"]["renewable"],
               "lookup %r" % lk["data"])
        rn = root.sys.renew_lease(lid, increment=600)
        expect(rn["lease_id"] == lid and rn["lease_duration"] == 600, "renew %r" % rn)
        resp = app.sys.revoke_lease(lid)
        expect(resp.status_code == 204, "revoke 204")
        e = raises(hx.InvalidRequest, root.sys.read_lease, lid)
        expect(e.errors == ["invalid lease"], "%r" % e.errors)
        after = fake.control("GET", "/counters")
        expect(after["leases_issued"] - before["leases_issued"] == 2, "issued counter")
        expect(after["leases_revoked"] - before["leases_revoked"] == 1, "revoked counter")
        leases = {l["lease_id"]: l for l in fake.control("GET", "/leases")}
        expect(leases[lid]["revoked"] and not leases[r2["lease_id"]]["revoked"], "recorded")
        raises(hx.Forbidden, fake.client(S["app_token"]).read, "database/creds/other")
        root.sys.revoke_lease(r2["lease_id"])
    c.run("dynamic secret: database/creds lease, lookup, renew, revoke (recorded)", dynamic_lease)

    # ---------------------------------------------------------------- namespaces
    def namespaces():
        ns = fake.client(S["ns_root"], namespace="ns1")
        r = ns.secrets.kv.v2.read_secret_version("app/db")
        expect(r["data"]["data"]["password"] == S["ns_pw"], "ns1 value via X-Vault-Namespace")
        r = fake.client(S["ns_root"]).adapter.get("/v1/ns1/secret/data/app/db")
        expect(r["data"]["data"]["password"] == S["ns_pw"], "ns1 value via the path prefix")
        r = fake.client(S["root"], namespace="ns1/").secrets.kv.v2.read_secret_version("app/db")
        expect(r["data"]["data"]["password"] == S["ns_pw"], "a root-namespace token works in ns1")
        e = raises(hx.Forbidden, fake.client(S["ns_root"]).secrets.kv.v2.read_secret_version, "app/db")
        expect(e.errors == ["permission denied"], "an ns1 token is no token in the root namespace")
        cl = fake.client(namespace="ns1")
        a = cl.auth.approle.login(role_id="ns-role", secret_id="ns-secret")["auth"]
        expect(a["client_token"].count(".") == 2, "namespaced token id %r" % a["client_token"][:6])
        raises(hx.InvalidRequest, fake.client().auth.approle.login, "ns-role", "ns-secret")
        d = ns.adapter.get("/v1/sys/internal/ui/mounts/secret/app/db")["data"]
        expect(d["path"] == "secret/" and d["options"] == {"version": "2"}, "ui/mounts in ns1")
    c.run("namespaces: X-Vault-Namespace and path prefix, separate tokens and mounts", namespaces)

    # ---------------------------------------------------------------- transport and control
    def keep_alive():
        before = fake.control("GET", "/counters")["connections"]
        cl = fake.client(S["root"])
        for _ in range(20):
            cl.secrets.kv.v2.read_secret_version("app/db")
        after = fake.control("GET", "/counters")
        expect(after["connections"] - before == 1, "20 reads, %d connections" % (after["connections"] - before))
        expect(after["headers"].get("X-Vault-Request", 0) > 0, "X-Vault-Request seen")
    c.run("HTTP/1.1 keep-alive: 20 requests on one TLS connection", keep_alive)

    def faults_sealed():
        fake.control("POST", "/faults", {"type": "sealed", "count": 3})
        e = raises(hx.VaultDown, root.secrets.kv.v2.read_secret_version, "app/db")
        expect(e.errors == ["Vault is sealed"], "%r" % e.errors)
        h = root.sys.read_health_status(method="GET")
        expect(h.status_code == 503 and h.json()["sealed"] is True, "health when sealed")
        expect(root.sys.is_sealed() is True, "seal-status when sealed")
        expect(root.secrets.kv.v2.read_secret_version("app/db")["data"]["data"], "unsealed after 3")
        fake.control("POST", "/faults", {"type": "sealed", "count": -1})
        for _ in range(3):
            raises(hx.VaultDown, root.secrets.kv.v2.read_secret_version, "app/db")
        fake.control("DELETE", "/faults")
        root.secrets.kv.v2.read_secret_version("app/db")
    c.run("faults: sealed for N requests, and until cleared", faults_sealed)

    def faults_status():
        fake.control("POST", "/faults", [{"type": "status", "status": 429, "path": "secret/data/app"},
                                         {"type": "status", "status": 412, "path": "secret/data/app"}])
        e = raises(hx.RateLimitExceeded, root.secrets.kv.v2.read_secret_version, "app/db")
        expect("rate limit quota exceeded" in e.errors[0], "%r" % e.errors)
        e = raises(hx.UnexpectedError, root.secrets.kv.v2.read_secret_version, "app/db")
        expect("required index state not present" in str(e), "412: %s" % e)
        root.secrets.kv.v2.read_secret_version("app/db")
        fake.control("POST", "/faults", {"type": "status", "status": 500, "method": "GET", "skip": 1})
        root.secrets.kv.v2.read_secret_version("app/db")
        raises(hx.InternalServerError, root.secrets.kv.v2.read_secret_version, "app/db")
    c.run("faults: 429, 412, 500 (with skip), then success", faults_status)

    def faults_slow_drop():
        fake.control("POST", "/faults", {"type": "delay", "delay_ms": 300})
        t0 = time.monotonic()
        root.secrets.kv.v2.read_secret_version("app/db")
        expect(time.monotonic() - t0 >= 0.3, "delayed")
        fake.control("POST", "/faults", {"type": "drop", "path": "secret/"})
        cl = fake.client(S["root"])
        raises(requests.exceptions.ConnectionError, cl.secrets.kv.v2.read_secret_version, "app/db")
        expect(cl.secrets.kv.v2.read_secret_version("app/db")["data"]["data"], "next one succeeds")
        fake.control("POST", "/faults", {"type": "drop", "rst": True})
        raises(requests.exceptions.ConnectionError, fake.client(S["root"]).sys.read_health_status,
               method="GET")
        expect(fake.control("GET", "/counters")["dropped"] >= 2, "dropped counter")
    c.run("faults: slow reply, dropped connection (FIN and RST), then success", faults_slow_drop)

    def faults_body():
        fake.control("POST", "/faults", {"type": "oversize", "bytes": 3 * 1024 * 1024})
        r = root.adapter.get("/v1/secret/data/app/db")
        expect(len(r["padding"]) > 3 * 1024 * 1024 - 2048 and r["data"]["data"]["password"], "oversize")
        fake.control("POST", "/faults", {"type": "malformed"})
        r = root.adapter.get("/v1/secret/data/app/db")
        expect(isinstance(r, requests.Response) and r.status_code == 200, "hvac could not parse it")
        raises(ValueError, r.json)
    c.run("faults: oversized body, malformed JSON body", faults_body)

    def counters():
        k = fake.control("GET", "/counters")
        expect(k["logins"].get("approle", 0) >= 5 and k["logins"].get("cert") == 2 and
               k["logins"].get("kubernetes") == 3, "logins %r" % k["logins"])
        expect(k["login_failures"].get("approle", 0) >= 3, "failures %r" % k["login_failures"])
        expect(k["requests"].get("GET secret/data/app/db", 0) >= 20, "per-path counter")
        expect(k["unwraps"] == 2 and k["wraps"] == 2, "wrap counters")
        fake.control("POST", "/counters/reset")
        expect(fake.control("GET", "/counters")["requests_total"] == 0, "reset")
    c.run("control: counters per path and per login method, reset", counters)

    def reset_and_seed():
        fake.control("POST", "/seed", {"kv": {"secret/extra/x": {"k": "v"}}})
        expect(root.secrets.kv.v2.read_secret_version("extra/x", mount_point="secret")["data"]["data"]
               == {"k": "v"}, "seeded at runtime")
        fake.control("POST", "/reset")
        raises(hx.InvalidPath, root.secrets.kv.v2.read_secret_version, "extra/x")
        expect(root.secrets.kv.v2.read_secret_version("app/db")["data"]["data"]["password"] == S["db_pw"],
               "startup seed restored")
    c.run("control: seed at runtime, reset to the startup seed", reset_and_seed)

    def log_clean():
        fake.log.flush()
        text = read(fake.log_path)
        expect(text.count("\n") > 50, "the fake logged its requests")
        leaked = [k for k, v in SECRETS.items() if v in text]
        expect(not leaked, "secret values in the fake's log: %s" % leaked)
    c.run("the fake's log has no secret value or token", log_clean)

    print("%d passed, %d failed" % (c.passed, c.failed))
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
