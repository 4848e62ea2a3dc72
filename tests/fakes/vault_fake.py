#!/usr/bin/python3
"""vault_fake.py — a HashiCorp Vault 1.x test server over TLS, standard library only.

It speaks the parts of Vault's HTTP API that lockbox uses, with Vault's paths, headers, JSON
envelope (request_id, lease_id, renewable, lease_duration, data, wrap_info, warnings, auth,
mount_type), status codes and error bodies ({"errors":[...]}), so that a client written against
it works against a real Vault. tests/fakes/test_vault_hvac.py proves that with Debian's
python3-hvac. tests/fakes/README.md lists what is faithful and what is simplified.

Run:   /usr/bin/python3 vault_fake.py --port 0 --cert server.pem --key server.key \
           [--client-ca ca.pem]... --port-file F --control-port-file F2 [--seed seed.json]
           [--root-token ID] [--die-with-parent] [-q]
       Port 0 picks a free port. The control port file is written first and the Vault port
       file last, each atomically (write + rename): once the port file exists, both servers
       accept connections. SIGTERM or SIGINT stops the server (exit 0).

Vault API (HTTPS, /v1/...):
  KV v1 and v2 mounts (data, metadata, delete, undelete, destroy, config; versions, cas,
  soft delete, the 404 body with metadata for a deleted or destroyed version), a "database"
  dynamic-secret mount (creds/<role>: a new lease per read), sys/leases (lookup, renew, revoke,
  revoke-prefix; sys/revoke and sys/renew too), sys/internal/ui/mounts[/<path>], sys/mounts,
  sys/auth, sys/health, sys/seal-status, sys/leader, sys/init, sys/capabilities-self, sys/wrapping
  (wrap, lookup, unwrap), auth/token (lookup-self, renew-self, revoke-self, create, lookup,
  revoke), auth/approle (login with secret_id_num_uses, role-id, secret-id), auth/cert/login
  (the client certificate from the TLS handshake; requested, never required), and
  auth/kubernetes/login (the JWT is compared with a configured string; no real cluster).
  X-Vault-Token (or "Authorization: Bearer"), X-Vault-Namespace or a namespace path prefix
  (/v1/ns1/secret/...), X-Vault-Wrap-TTL on any request, X-Vault-Request accepted.
  Policies are simplified Vault ACLs: path globs ("*" suffix, "+" segment) with capabilities.

Transport: HTTP/1.1 with keep-alive, TLS 1.2+, ALPN "http/1.1". No HTTP/2: the Python standard
library has no HTTP/2 server (a real Vault negotiates h2 over TLS; clients must work with both).

Control API (plain HTTP on 127.0.0.1, its own port: --control-port, --control-port-file).
JSON in, JSON out:
  GET  /health                 "ok"
  POST /seed                   body as a --seed file; merged into the current state
  POST /reset                  state back to the --seed file (or empty), counters and faults cleared
  POST /reset?empty=1          state emptied (default mounts only), counters and faults cleared
  GET  /counters               requests per "METHOD ns/path", status codes, logins and login
                               failures per method, leases issued/revoked/expired, tokens issued,
                               unwraps, connections (TLS handshakes), headers seen, faults fired
  POST /counters/reset         zero the counters
  GET  /requests               the last 1000 requests: method, namespace, path, status (no values)
  GET  /leases                 every lease: id, path, issued, expires, revoked, revoke time
  GET  /tokens                 tokens: accessor, namespace, policies, ttl, expiry, path (no ids)
  POST /token                  create a token: {"policies":[...],"ttl":"1h","namespace":"ns1/",
                               "id":optional,"num_uses":0,"renewable":true} -> {"token":...}
  POST /faults                 add one fault or a list of faults (see below) -> {"ids":[...]}
  GET  /faults                 faults still armed
  DELETE /faults               disarm every fault (also: POST /faults/clear)
  POST /time                   {"advance": SECONDS} moves the server clock forward (token and
                               lease expiry without sleeping); {"reset": true} undoes it
Faults (applied to Vault requests in order; the first terminal one that matches wins):
  {"type": "sealed"}                      503 {"errors":["Vault is sealed"]} (sys/health: 503 with
                                          sealed=true; sys/seal-status: 200 with sealed=true)
  {"type": "status", "status": 429}       that status with Vault's error body for it (429 rate
                                          limit, 412 index state, 500, 502, 503 standby, ...);
                                          "errors": [...] overrides the message; 429 adds Retry-After
  {"type": "delay", "delay_ms": 500}      sleep, then go on (not terminal: combines with others)
  {"type": "drop"}                        read the request, close the connection without a reply
                                          ("rst": true resets it instead of a clean FIN)
  {"type": "oversize", "bytes": N}        the real reply with a top-level "padding" string making
                                          the body at least N bytes (Content-Length is honest)
  {"type": "malformed"}                   200, application/json, a truncated body ("body" overrides)
 Every fault takes "count" (default 1; -1 = until cleared), "skip" (let K matching requests pass
 first), "path" (prefix of the path after /v1/, e.g. "secret/data/app"), "path_re" (a regex),
 "method" ("GET", ...). A fault with "namespace" matches only requests resolved to it.

Seed (--seed FILE or POST /seed): see tests/fakes/README.md. In short:
  {"root_token": "root",
   "mounts": {"secret/": {"type": "kv", "version": 2}, "kv1/": {"type": "kv", "version": 1},
              "database/": {"type": "database"}},
   "kv": {"secret/app/db": {"password": "..."}, "kv1/app/api": {"key": "..."}},
   "kv_versions": {"secret/app/multi": [{"data": {...}}, {"data": {...}, "deleted": true},
                                        {"data": {...}, "destroyed": true}]},
   "kv_metadata": {"secret/app/db": {"custom_metadata": {"owner": "x"}, "max_versions": 5}},
   "policies": {"app": ["secret/data/app/*", {"path": "sys/leases/revoke", "capabilities": ["update"]}]},
   "tokens": [{"id": "t-app", "policies": ["app"], "ttl": "1h", "renewable": true, "num_uses": 0}],
   "approle": {"roles": {"app": {"role_id": "rid", "policies": ["app"], "token_ttl": "1h",
                                 "secret_id_num_uses": 0}},
               "secret_ids": [{"role": "app", "secret_id": "sid", "num_uses": 2}]},
   "cert": {"roles": {"web": {"certificate": "@/path/ca.pem", "allowed_common_names": ["lockbox-client"],
                              "policies": ["app"], "ttl": "1h"}}},
   "kubernetes": {"roles": {"app": {"jwt": "eyJ...", "policies": ["app"], "ttl": "1h"}}},
   "database": {"roles": {"app": {"default_ttl": "1h", "max_ttl": "24h"}}},
   "namespaces": {"ns1/": {...the same keys, for that namespace...}}}
Request log: one line per request on stderr — method, namespace, path, status, time. Never a
token, a body or a query string.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import ssl
import string
import struct
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vault_k8s  # noqa: E402  (the kubernetes auth method, next to this file)

VAULT_VERSION = "1.15.6"
MAX_REQUEST_SIZE = 32 * 1024 * 1024      # Vault's default max_request_size
KV1_DEFAULT_TTL = 2764800                # 32 days: the lease_duration a KV v1 read reports
KV2_DEFAULT_MAX_VERSIONS = 10
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 300.0                     # Vault's default http_idle_timeout is 5 minutes

# Error strings as Vault 1.x writes them.
E_PERMISSION_DENIED = "permission denied"                                   # bad or missing token
E_ACL_DENIED = "1 error occurred:\n\t* permission denied\n\n"               # token lacks the capability
E_UNSUPPORTED_PATH = "1 error occurred:\n\t* unsupported path\n\n"
E_UNSUPPORTED_OP = "1 error occurred:\n\t* unsupported operation\n\n"
E_SEALED = "Vault is sealed"
E_WRAPPING = "wrapping token is not valid or does not exist"
E_APPROLE = "invalid role or secret ID"
E_CERT = "invalid certificate or no client certificate supplied"

ALNUM = string.ascii_letters + string.digits
ALL_CAPS = {"create", "read", "update", "patch", "delete", "list", "sudo"}


def log(msg):
    sys.stderr.write("vault-fake: %s\n" % msg)
    sys.stderr.flush()


def rand(n):
    return "".join(secrets.choice(ALNUM) for _ in range(n))


class Clock:
    offset = 0.0

    @classmethod
    def now(cls):
        return time.time() + cls.offset


def rfc3339(t):
    """Go's time.Time JSON form (RFC 3339, nanoseconds, trailing zeros trimmed), UTC."""
    if t is None:
        return ""
    dt = datetime.fromtimestamp(t, timezone.utc)
    frac = ("%06d000" % dt.microsecond).rstrip("0")
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ("." + frac if frac else "") + "Z"


_DUR_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_DUR_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(v, what="duration"):
    """Vault's parseutil.ParseDurationSecond: an integer (seconds) or a Go duration string."""
    if v is None or v == "":
        return 0
    if isinstance(v, bool):
        raise VaultError(400, ["error parsing %s: invalid duration" % what])
    if isinstance(v, (int, float)):
        return int(v)
    s = str(v).strip()
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    pos, total = 0, 0.0
    for m in _DUR_RE.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DUR_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise VaultError(400, ["error parsing %s: time: invalid duration %s" % (what, json.dumps(s))])
    return int(total)


def parse_bool(v):
    if isinstance(v, bool):
        return v
    return str(v).strip() in ("1", "t", "T", "TRUE", "true", "True")


def dur_string(secs):
    """Go's time.Duration.String() for whole seconds ("0s", "1h0m0s")."""
    secs = int(secs)
    if secs == 0:
        return "0s"
    h, rem = divmod(abs(secs), 3600)
    m, s = divmod(rem, 60)
    out = ("%dh%dm%ds" % (h, m, s)) if h else (("%dm%ds" % (m, s)) if m else "%ds" % s)
    return ("-" if secs < 0 else "") + out


class Struct(dict):
    """A dict serialised in insertion order, like a Go struct (plain dicts are sorted like Go maps)."""


def _go_order(o):
    if isinstance(o, Struct):
        return {k: _go_order(v) for k, v in o.items()}
    if isinstance(o, dict):
        return {k: _go_order(o[k]) for k in sorted(o)}
    if isinstance(o, (list, tuple)):
        return [_go_order(x) for x in o]
    return o


def go_json(obj, newline=True):
    """Encode as Go's encoding/json does: compact, sorted map keys, HTML-safe escapes. Vault's
    json.Encoder adds a newline; bodies it json.Marshal()s first (raw responses) have none."""
    s = json.dumps(_go_order(obj), separators=(",", ":"), ensure_ascii=False)
    s = (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
         .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return (s + ("\n" if newline else "")).encode("utf-8")


def raw_json(obj):
    return go_json(obj, newline=False)


class VaultError(Exception):
    def __init__(self, status, errors, headers=None):
        super().__init__("%d %s" % (status, errors))
        self.status = status
        self.errors = list(errors)
        self.headers = headers or {}


class Reply:
    def __init__(self, status=200, body=None, headers=None):
        self.status = status
        self.body = body          # dict (JSON), bytes (raw), or None (no body)
        self.headers = headers or {}


def envelope(data=None, auth=None, lease_id="", renewable=False, lease_duration=0,
             wrap_info=None, warnings=None, mount_type="", request_id=None):
    """Vault's logical.HTTPResponse. mount_type=None leaves the field out, as in the bodies Vault
    marshals itself (raw responses such as the 404 of a deleted KV v2 version, wrapped responses)."""
    env = Struct(request_id=str(uuid.uuid4()) if request_id is None else request_id,
                 lease_id=lease_id, renewable=renewable, lease_duration=int(lease_duration),
                 data=data, wrap_info=wrap_info, warnings=warnings, auth=auth)
    if mount_type is not None:
        env["mount_type"] = mount_type
    return env


def sys_injected(data, **kw):
    """Vault's HTTPSysInjector (sys/mounts, sys/auth, sys/capabilities-self, ...): the data keys
    are repeated at the top level, before the envelope, for older clients."""
    out = Struct()
    for k in sorted(data):
        out[k] = data[k]
    out.update(envelope(data=data, **kw))
    return Reply(200, out)


def ok(data=None, **kw):
    return Reply(200, envelope(data=data, **kw))


def no_content():
    return Reply(204)


def not_found_empty():
    return Reply(404, {"errors": []})


# --------------------------------------------------------------------------- policies

class Rule:
    def __init__(self, path, caps):
        self.path = path
        self.caps = set(caps)
        self.glob = path.endswith("*")
        body = path[:-1] if self.glob else path
        segs = body.split("/")
        self.plus = sum(1 for s in segs if s == "+")
        self.regex = re.compile("^" + "/".join("[^/]+" if s == "+" else re.escape(s) for s in segs)
                                + (".*" if self.glob else "") + "$")
        first = len(path)
        if self.glob:
            first = len(path) - 1
        idx = 0
        for s in segs:
            if s == "+":
                first = min(first, idx)
                break
            idx += len(s) + 1
        # Vault's priority: later first wildcard, no trailing glob, fewer "+", longer, lexical.
        self.priority = (first, 0 if self.glob else 1, -self.plus, len(path), path)
        self.prefix = path[:first]

    def matches(self, p):
        return bool(self.regex.match(p))


DEFAULT_POLICY = [
    ("auth/token/lookup-self", {"read"}), ("auth/token/renew-self", {"update"}),
    ("auth/token/revoke-self", {"update"}), ("sys/capabilities-self", {"update"}),
    ("sys/internal/ui/resultant-acl", {"read"}), ("sys/renew", {"update"}),
    ("sys/leases/renew", {"update"}), ("sys/leases/lookup", {"update"}),
    ("cubbyhole/*", {"create", "read", "update", "delete", "list"}), ("cubbyhole", {"read", "list"}),
    ("sys/wrapping/wrap", {"update"}), ("sys/wrapping/lookup", {"update"}),
    ("sys/wrapping/unwrap", {"update"}), ("sys/tools/hash", {"update"}),
    ("sys/tools/hash/*", {"update"}), ("sys/control-group/request", {"update"}),
]
RESPONSE_WRAPPING_POLICY = [("cubbyhole/response", {"create", "read"}),
                            ("sys/wrapping/unwrap", {"update"})]


class ACL:
    def __init__(self, ns, policy_names):
        self.root = "root" in policy_names
        merged = {}
        for name in policy_names:
            if name == "default":
                rules = DEFAULT_POLICY
            elif name == "response-wrapping":
                rules = RESPONSE_WRAPPING_POLICY
            else:
                rules = ns.policies.get(name, [])
            for path, caps in rules:
                merged.setdefault(path, set()).update(caps)
        self.rules = [Rule(p, c) for p, c in merged.items()]

    def capabilities(self, path):
        if self.root:
            return ["root"]
        best = None
        for r in self.rules:
            if r.matches(path) and (best is None or r.priority > best.priority):
                best = r
        if best is None or "deny" in best.caps:
            return ["deny"]
        return sorted(best.caps) or ["deny"]

    def allowed(self, path, ops):
        if self.root:
            return True
        caps = self.capabilities(path)
        return any(op in caps for op in ops)

    def has_mount_access(self, mount_path):
        if self.root:
            return True
        mount_segs = mount_path.rstrip("/").split("/")
        for r in self.rules:
            if not r.caps or "deny" in r.caps:
                continue
            path = r.path
            if r.plus:  # substitute "+" segments with the mount's own segments, then compare
                segs = path.split("/")
                for i, s in enumerate(segs):
                    if s == "+" and i < len(mount_segs):
                        segs[i] = mount_segs[i]
                path = "/".join(segs)
            if path.startswith(mount_path) or path == mount_path.rstrip("/"):
                return True
            if r.glob and mount_path.startswith(path[:-1]):
                return True
        return False


def parse_policy_rules(rules):
    out = []
    for r in rules:
        if isinstance(r, str):
            out.append((r, set(ALL_CAPS)))
        elif isinstance(r, dict) and "path" in r:
            caps = set(r.get("capabilities") or ALL_CAPS)
            out.append((r["path"], caps))
        else:
            raise ValueError("policy rule must be a path or {path, capabilities}: %r" % (r,))
    return out


# --------------------------------------------------------------------------- state

class Mount:
    def __init__(self, path, mtype, version=None, options="unset", description="", default_ttl=0,
                 max_ttl=0):
        self.path = path
        self.type = mtype
        self.version = version
        if options == "unset":
            options = {"version": str(version)} if mtype == "kv" and version else None
        self.options = options
        self.description = description or {"kv": "key/value secret storage"}.get(mtype, "")
        self.accessor = "%s_%s" % (mtype, secrets.token_hex(4))
        self.uuid = str(uuid.uuid4())
        self.default_ttl = default_ttl
        self.max_ttl = max_ttl
        self.kv = {}                  # kv v1: key -> data; kv v2: key -> KVKey
        self.cas_required = False
        self.max_versions = 0
        self.roles = {}               # database: role -> config

    def info(self):
        return {
            "accessor": self.accessor,
            "config": {"default_lease_ttl": self.default_ttl, "force_no_cache": False,
                       "max_lease_ttl": self.max_ttl},
            "description": self.description,
            "external_entropy_access": False,
            "local": False,
            "options": self.options,
            "plugin_version": "",
            "running_plugin_version": "v%s+builtin.vault" % VAULT_VERSION if self.type in (
                "system", "token", "cubbyhole", "identity") else "v0.16.1+builtin",
            "running_sha256": "",
            "seal_wrap": self.type == "system",
            "type": self.type,
            "uuid": self.uuid,
        }


class KVKey:
    def __init__(self, now):
        self.versions = {}            # n -> {"data", "created", "deletion", "destroyed"}
        self.current = 0
        self.oldest = 0
        self.created = now
        self.updated = now
        self.max_versions = 0
        self.cas_required = False
        self.custom_metadata = None

    def add(self, data, now, mount_max):
        self.current += 1
        self.versions[self.current] = {"data": data, "created": now, "deletion": None,
                                       "destroyed": False}
        self.updated = now
        limit = self.max_versions or mount_max or KV2_DEFAULT_MAX_VERSIONS
        while len(self.versions) > limit:
            oldest = min(self.versions)
            del self.versions[oldest]
            self.oldest = min(self.versions)
        return self.versions[self.current]

    def vmeta(self, n, with_version=True, with_custom=True):
        v = self.versions[n]
        m = {"created_time": rfc3339(v["created"]), "deletion_time": rfc3339(v["deletion"]),
             "destroyed": v["destroyed"]}
        if with_version:
            m["version"] = n
        if with_custom:
            m["custom_metadata"] = self.custom_metadata
        return m


class AuthMount(Mount):
    def __init__(self, path, mtype):
        super().__init__(path, mtype, description={
            "token": "token based credentials"}.get(mtype, ""))
        self.accessor = "auth_%s_%s" % (mtype, secrets.token_hex(4))
        self.roles = {}
        self.secret_ids = {}          # approle: secret_id -> entry


class Namespace:
    def __init__(self, path, parent=None):
        self.path = path              # "" for root, "ns1/" ...
        self.id = "root" if not path else rand(5)
        self.parent = parent
        self.mounts = {}
        self.auth = {}
        self.policies = {}
        for p, t in (("sys/", "system"), ("cubbyhole/", "cubbyhole"), ("identity/", "identity")):
            self.mounts[p] = Mount(p, t, description={
                "system": "system endpoints used for control, policy and debugging",
                "cubbyhole": "per-token private secret storage",
                "identity": "identity store"}[t])
        for p in ("token/", "approle/", "cert/", "kubernetes/"):
            self.auth[p] = AuthMount(p, p[:-1])

    def is_ancestor_of(self, other):
        n = other
        while n is not None:
            if n is self:
                return True
            n = n.parent
        return False

    def match_mount(self, path):
        best = None
        for mp, m in self.mounts.items():
            if path.startswith(mp) or path == mp[:-1]:
                if best is None or len(mp) > len(best.path):
                    best = m
        return best

    def match_auth(self, path):
        best = None
        for mp, m in self.auth.items():
            if path.startswith(mp) or path == mp[:-1]:
                if best is None or len(mp) > len(best.path):
                    best = m
        return best


class Token:
    def __init__(self, ns, policies, ttl=0, renewable=True, num_uses=0, explicit_max_ttl=0,
                 max_ttl=0, display_name="token", meta=None, path="auth/token/create",
                 orphan=False, token_id=None, entity_id="", role=None, kind="service"):
        now = Clock.now()
        self.ns = ns
        self.id = token_id or ("hvs." + rand(24) + ("" if ns.id == "root" else "." + ns.id))
        self.accessor = rand(24) + ("" if ns.id == "root" else "." + ns.id)
        self.policies = sorted(set(policies))
        self.ttl = int(ttl)
        self.creation_ttl = int(ttl)
        self.issue = now
        self.expire = now + ttl if ttl else None
        max_total = min([x for x in (explicit_max_ttl, max_ttl) if x] or [0])
        self.max_expire = now + max_total if max_total else None
        if self.expire and self.max_expire:
            self.expire = min(self.expire, self.max_expire)
        self.explicit_max_ttl = int(explicit_max_ttl)
        self.renewable = bool(renewable) and bool(ttl)
        self.num_uses = int(num_uses)
        self.display_name = display_name
        self.meta = meta
        self.path = path
        self.orphan = orphan
        self.entity_id = entity_id
        self.role = role              # (method, role name, role ttl) for renewals
        self.kind = kind
        self.wrapped = None           # for wrapping tokens: the response and its details
        self.revoked = False

    def valid(self):
        return not self.revoked and (self.expire is None or Clock.now() < self.expire)

    def remaining(self):
        if self.expire is None:
            return 0
        return max(0, int(round(self.expire - Clock.now())))

    def auth_block(self):
        return Struct(client_token=self.id, accessor=self.accessor, policies=self.policies,
                      token_policies=self.policies, metadata=self.meta,
                      lease_duration=self.remaining(), renewable=self.renewable,
                      entity_id=self.entity_id, token_type=self.kind, orphan=self.orphan,
                      mfa_requirement=None, num_uses=self.num_uses)


class Lease:
    def __init__(self, lease_id, ns, path, ttl, max_ttl, renewable):
        now = Clock.now()
        self.id = lease_id
        self.ns = ns
        self.path = path
        self.issue = now
        self.last_renewal = None
        self.expire = now + ttl
        self.max_expire = now + max_ttl if max_ttl else None
        self.renewable = renewable
        self.revoked = False
        self.revoke_time = None
        self.how = None               # "revoked", "prefix", "expired", "token"

    def live(self):
        return not self.revoked and Clock.now() < self.expire


def _entity_id(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "lockbox-vault-fake:" + ":".join(parts)))


def _read_pem(v):
    if v is None:
        return None
    if isinstance(v, list):
        return "".join(_read_pem(x) for x in v)
    if v.startswith("@"):
        with open(v[1:], encoding="ascii") as f:
            return f.read()
    return v


def _cert_subjects(pem):
    """Subjects and serials of the certificates in PEM text (stdlib: load them as CA certs)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_verify_locations(cadata=pem)
    except ssl.SSLError as e:
        raise ValueError("cert role: bad certificate PEM: %s" % e)
    return [(c.get("subject"), c.get("serialNumber")) for c in ctx.get_ca_certs()]


class State:
    """Everything the fake knows. All access under self.lock."""

    def __init__(self):
        self.lock = threading.RLock()
        self.reset_all()

    def reset_all(self):
        self.namespaces = {"": Namespace("")}
        self.tokens = {}
        self.leases = {}
        self.faults = []
        self.fault_seq = 0
        # The Kubernetes cluster the kubernetes auth method's TokenReview asks (vault_k8s.py).
        self.k8s_cluster = {"keys": [], "accept": set(), "reject": set()}
        self.reset_counters()
        self._default_mounts(self.namespaces[""])

    def reset_counters(self):
        self.counters = {
            "requests_total": 0, "requests": {}, "status": {}, "logins": {}, "login_failures": {},
            "leases_issued": 0, "leases_revoked": 0, "leases_expired": 0, "leases_renewed": 0,
            "revoke_unknown": 0, "tokens_issued": 0, "tokens_revoked": 0, "unwraps": 0,
            "wraps": 0, "connections": 0, "tls_handshake_failures": 0, "dropped": 0,
            "faults_fired": 0, "headers": {}, "client_certs": 0,
        }
        self.recent = []

    @staticmethod
    def _default_mounts(ns):
        ns.mounts["secret/"] = Mount("secret/", "kv", 2)
        ns.mounts["kv1/"] = Mount("kv1/", "kv", 1)
        ns.mounts["database/"] = Mount("database/", "database")

    # ---- seeding
    def namespace(self, path, create=False):
        path = normalize_ns(path)
        if path in self.namespaces:
            return self.namespaces[path]
        if not create:
            return None
        parent_path = "/".join(path.rstrip("/").split("/")[:-1])
        parent = self.namespace(parent_path + "/" if parent_path else "", create=True)
        ns = Namespace(path, parent)
        self._default_mounts(ns)
        self.namespaces[path] = ns
        return ns

    def seed(self, doc):
        if not isinstance(doc, dict):
            raise ValueError("seed must be a JSON object")
        self._seed_ns(self.namespaces[""], doc)
        for nspath, sub in (doc.get("namespaces") or {}).items():
            ns = self.namespace(nspath, create=True)
            self._seed_ns(ns, sub)

    def _seed_ns(self, ns, doc):
        known = {"root_token", "mounts", "kv", "kv_versions", "kv_metadata", "policies", "tokens",
                 "approle", "cert", "kubernetes", "database", "namespaces"}
        unknown = set(doc) - known
        if unknown:
            raise ValueError("unknown seed keys: %s" % ", ".join(sorted(unknown)))
        if "mounts" in doc:
            for mp, spec in doc["mounts"].items():
                mp = mp.strip("/") + "/"
                if spec is None:
                    ns.mounts.pop(mp, None)
                    continue
                mtype = spec.get("type", "kv")
                version = int(spec.get("version", 1)) if mtype == "kv" else None
                m = Mount(mp, mtype, version, spec.get("options", "unset"),
                          spec.get("description", ""), parse_duration(spec.get("default_lease_ttl")),
                          parse_duration(spec.get("max_lease_ttl")))
                m.cas_required = bool(spec.get("cas_required", False))
                m.max_versions = int(spec.get("max_versions", 0))
                ns.mounts[mp] = m
        for name, rules in (doc.get("policies") or {}).items():
            ns.policies[name] = parse_policy_rules(rules)
        for path, data in (doc.get("kv") or {}).items():
            self._seed_kv(ns, path, [{"data": data}])
        for path, versions in (doc.get("kv_versions") or {}).items():
            self._seed_kv(ns, path, versions)
        for path, meta in (doc.get("kv_metadata") or {}).items():
            m, key = self._kv_target(ns, path)
            if m.version != 2:
                raise ValueError("kv_metadata needs a KV v2 mount: %s" % path)
            k = m.kv.setdefault(key, KVKey(Clock.now()))
            k.custom_metadata = meta.get("custom_metadata", k.custom_metadata)
            k.max_versions = int(meta.get("max_versions", k.max_versions))
            k.cas_required = bool(meta.get("cas_required", k.cas_required))
        if doc.get("root_token"):
            self.add_token(Token(ns, ["root"], ttl=0, renewable=False, display_name="root",
                                 path="auth/token/root", token_id=doc["root_token"], orphan=True))
        for t in doc.get("tokens") or []:
            self.add_token(self.token_from_spec(ns, t))
        ar = doc.get("approle") or {}
        am = self._auth_mount(ns, ar.get("mount", "approle"), "approle")
        for name, spec in (ar.get("roles") or {}).items():
            am.roles[name] = {
                "role_id": spec.get("role_id") or str(uuid.uuid4()),
                "policies": list(spec.get("policies") or spec.get("token_policies") or []),
                "token_ttl": parse_duration(spec.get("token_ttl", spec.get("ttl"))),
                "token_max_ttl": parse_duration(spec.get("token_max_ttl")),
                "token_num_uses": int(spec.get("token_num_uses", 0)),
                "secret_id_num_uses": int(spec.get("secret_id_num_uses", 0)),
                "secret_id_ttl": parse_duration(spec.get("secret_id_ttl")),
                "bind_secret_id": bool(spec.get("bind_secret_id", True)),
                "no_default_policy": bool(spec.get("token_no_default_policy", False)),
            }
        for s in ar.get("secret_ids") or []:
            role = s["role"]
            if role not in am.roles:
                raise ValueError("approle secret id for unknown role %r" % role)
            self.new_secret_id(am, role, s.get("secret_id"), s.get("num_uses"), s.get("ttl"),
                               s.get("metadata"))
        cr = doc.get("cert") or {}
        cm = self._auth_mount(ns, cr.get("mount", "cert"), "cert")
        for name, spec in (cr.get("roles") or {}).items():
            pem = _read_pem(spec.get("certificate"))
            cm.roles[name] = {
                "certificate": pem,
                "subjects": _cert_subjects(pem) if pem else [],
                "allowed_common_names": list(spec.get("allowed_common_names") or []),
                "fingerprints": [f.lower().replace(":", "") for f in spec.get("fingerprints") or []],
                "policies": list(spec.get("policies") or spec.get("token_policies") or []),
                "ttl": parse_duration(spec.get("ttl", spec.get("token_ttl"))),
                "max_ttl": parse_duration(spec.get("max_ttl", spec.get("token_max_ttl"))),
                "display_name": spec.get("display_name", name),
            }
        self._seed_kubernetes(ns, doc.get("kubernetes") or {})
        db = doc.get("database") or {}
        if db:
            mp = db.get("mount", "database").strip("/") + "/"
            m = ns.mounts.get(mp)
            if m is None:
                m = ns.mounts[mp] = Mount(mp, "database")
            for name, spec in (db.get("roles") or {}).items():
                m.roles[name] = {
                    "db_name": spec.get("db_name", "db"),
                    "default_ttl": parse_duration(spec.get("default_ttl", "1h")),
                    "max_ttl": parse_duration(spec.get("max_ttl", "24h")),
                    "renewable": bool(spec.get("renewable", True)),
                    "username_prefix": spec.get("username_prefix"),
                }

    def _seed_kubernetes(self, ns, kr):
        """The kubernetes auth method: "config" as POSTed to auth/kubernetes/config (default:
        a kubernetes_host only, once roles are seeded), "roles" as POSTed to role/NAME (bound
        names and namespaces default to "*" in a seed), "tokenreview" the cluster's side."""
        km = self._auth_mount(ns, kr.get("mount", "kubernetes"), "kubernetes")
        try:
            if "config" in kr or (kr.get("roles") and getattr(km, "k8s_config", None) is None):
                km.k8s_config = vault_k8s.config_from(
                    kr.get("config") or {"kubernetes_host": "https://kubernetes.default.svc"})
            for name, spec in (kr.get("roles") or {}).items():
                spec = dict(spec)
                spec.setdefault("bound_service_account_names", ["*"])
                spec.setdefault("bound_service_account_namespaces", ["*"])
                km.roles[name] = vault_k8s.role_from(spec, parse_duration)
        except vault_k8s.AuthError as e:
            raise ValueError("kubernetes seed: %s" % e)
        tr = kr.get("tokenreview") or {}
        c = self.k8s_cluster
        if tr.get("public_keys"):
            c["keys"] = vault_k8s.load_keys(tr["public_keys"])
        c["accept"].update(tr.get("accept") or [])
        c["reject"].update(tr.get("reject") or [])

    def _auth_mount(self, ns, path, mtype):
        mp = path.strip("/") + "/"
        m = ns.auth.get(mp)
        if m is None:
            m = ns.auth[mp] = AuthMount(mp, mtype)
        return m

    def _kv_target(self, ns, path):
        m = ns.match_mount(path)
        if m is None or m.type != "kv":
            raise ValueError("seed path %r is not under a kv mount" % path)
        return m, path[len(m.path):]

    def _seed_kv(self, ns, path, versions):
        m, key = self._kv_target(ns, path)
        if m.version == 1:
            m.kv[key] = dict(versions[-1].get("data") or {})
            return
        k = m.kv.get(key)
        if k is None:
            k = m.kv[key] = KVKey(Clock.now())
        for v in versions:
            rec = k.add(dict(v.get("data") or {}), Clock.now(), m.max_versions)
            if v.get("deleted"):
                rec["deletion"] = Clock.now()
            if v.get("destroyed"):
                rec["destroyed"] = True
                rec["data"] = None

    def token_from_spec(self, ns, t):
        if "namespace" in t:
            ns = self.namespace(t["namespace"])
            if ns is None:
                raise ValueError("token for unknown namespace %r" % t["namespace"])
        policies = list(t.get("policies") or ["default"])
        if "root" not in policies and not t.get("no_default_policy") and "default" not in policies:
            policies.append("default")
        ttl = parse_duration(t.get("ttl"))
        return Token(ns, policies, ttl=ttl, renewable=t.get("renewable", True),
                     num_uses=t.get("num_uses", 0),
                     explicit_max_ttl=parse_duration(t.get("explicit_max_ttl")),
                     display_name=t.get("display_name", "token"), meta=t.get("meta"),
                     path=t.get("path", "auth/token/create"), token_id=t.get("id"),
                     orphan=bool(t.get("orphan", False)))

    def add_token(self, tok):
        self.tokens[tok.id] = tok
        self.counters["tokens_issued"] += 1
        return tok

    def revoke_token(self, tok):
        if not tok.revoked:
            tok.revoked = True
            self.counters["tokens_revoked"] += 1
        self.tokens.pop(tok.id, None)

    def new_secret_id(self, am, role, secret_id=None, num_uses=None, ttl=None, metadata=None):
        r = am.roles[role]
        sid = secret_id or str(uuid.uuid4())
        uses = r["secret_id_num_uses"] if num_uses is None else int(num_uses)
        ttl_s = r["secret_id_ttl"] if ttl is None else parse_duration(ttl)
        entry = {"role": role, "accessor": str(uuid.uuid4()), "num_uses": uses, "ttl": ttl_s,
                 "expire": Clock.now() + ttl_s if ttl_s else None, "metadata": metadata or {}}
        am.secret_ids[sid] = entry
        return sid, entry

    # ---- faults
    def add_fault(self, spec):
        if not isinstance(spec, dict) or spec.get("type") not in (
                "sealed", "status", "delay", "drop", "oversize", "malformed"):
            raise ValueError("fault needs a type: sealed, status, delay, drop, oversize, malformed")
        f = dict(spec)
        if f["type"] == "status" and not isinstance(f.get("status"), int):
            raise ValueError("a status fault needs an integer status")
        f.setdefault("count", 1)
        f.setdefault("skip", 0)
        if f.get("path_re"):
            re.compile(f["path_re"])
        self.fault_seq += 1
        f["id"] = self.fault_seq
        f["fired"] = 0
        self.faults.append(f)
        return f["id"]

    def take_faults(self, method, vpath, nspath):
        """The faults that fire for this request: (delays in ms, terminal fault or None)."""
        delays, terminal = [], None
        for f in list(self.faults):
            if f.get("method") and f["method"].upper() != method:
                continue
            if f.get("path") and not vpath.startswith(f["path"]):
                continue
            if f.get("path_re") and not re.search(f["path_re"], vpath):
                continue
            if "namespace" in f and normalize_ns(f["namespace"]) != nspath:
                continue
            if f["type"] != "delay" and terminal is not None:
                continue
            if f["skip"] > 0:
                f["skip"] -= 1
                continue
            f["fired"] += 1
            self.counters["faults_fired"] += 1
            if f["count"] > 0:
                f["count"] -= 1
                if f["count"] == 0:
                    self.faults.remove(f)
            if f["type"] == "delay":
                delays.append(int(f.get("delay_ms", 0)))
            else:
                terminal = f
        return delays, terminal


def normalize_ns(p):
    p = (p or "").strip().strip("/")
    return p + "/" if p else ""


# --------------------------------------------------------------------------- request handling

class Req:
    def __init__(self, method, vpath, query, body, headers, peer, peer_der, client):
        self.method = method
        self.vpath = vpath
        self.query = query
        self.body = body
        self.headers = headers
        self.peer = peer                # getpeercert() dict or None
        self.peer_der = peer_der
        self.client = client
        self.ns = None
        self.rel = None
        self.token = None
        self.op = None


def op_of(method, query):
    if method == "LIST" or (method == "GET" and parse_bool(query.get("list", "false"))):
        return "list"
    return {"GET": "read", "HEAD": "read", "POST": "update", "PUT": "update",
            "DELETE": "delete", "PATCH": "patch"}.get(method)


class Vault:
    def __init__(self, state, version=VAULT_VERSION):
        self.s = state
        self.version = version
        self.cluster_id = str(uuid.uuid4())
        self.cluster_name = "vault-cluster-" + secrets.token_hex(4)

    # ---- entry point (called with the state lock held)
    def handle(self, req, sealed):
        c = self.s.counters
        for h in ("X-Vault-Request", "X-Vault-Namespace", "X-Vault-Wrap-TTL", "X-Vault-Token"):
            if req.headers.get(h) is not None:
                c["headers"][h] = c["headers"].get(h, 0) + 1
        if req.vpath in ("sys/health", "sys/seal-status", "sys/leader", "sys/init"):
            return self.sys_status(req, sealed)
        if sealed:
            return Reply(503, {"errors": [E_SEALED]})
        ns, rel = self.resolve_ns(req)
        if ns is None:
            return Reply(403, {"errors": [E_PERMISSION_DENIED]})
        req.ns, req.rel = ns, rel
        req.op = op_of(req.method, req.query)
        if req.op is None:
            return Reply(405, {"errors": [E_UNSUPPORTED_OP]})
        wrap_ttl = req.headers.get("X-Vault-Wrap-TTL")
        if wrap_ttl is not None:
            wrap_ttl = parse_duration(wrap_ttl, "wrap TTL")
            if wrap_ttl < 1:
                raise VaultError(400, ["wrap ttl must be at least 1 second"])
        reply = self.route(req)
        if wrap_ttl and reply.status == 200 and isinstance(reply.body, dict) \
                and req.rel != "sys/wrapping/unwrap":
            reply = self.wrap(req, reply.body, wrap_ttl)
        return reply

    def resolve_ns(self, req):
        hdr = req.headers.get("X-Vault-Namespace")
        ns = self.s.namespace(hdr or "")
        if ns is None:
            return None, None
        rel = req.vpath
        while True:
            first = rel.split("/", 1)[0]
            child = self.s.namespaces.get(ns.path + first + "/")
            if first and child is not None and "/" in rel:
                ns, rel = child, rel.split("/", 1)[1]
            else:
                break
        return ns, rel

    # ---- authentication and ACL
    def request_token(self, req):
        t = req.headers.get("X-Vault-Token")
        if not t:
            a = req.headers.get("Authorization") or ""
            if a.startswith("Bearer "):
                t = a[7:].strip()
        return t or None

    def authenticate(self, req):
        tid = self.request_token(req)
        tok = self.s.tokens.get(tid) if tid else None
        if tok is None or not tok.valid() or not tok.ns.is_ancestor_of(req.ns):
            if tok is not None and not tok.valid():
                self.s.revoke_token(tok)
            raise VaultError(403, [E_PERMISSION_DENIED])
        req.token = tok
        return tok

    def use_token(self, tok):
        """Count one use of a limited-use token (after a successful ACL check)."""
        if tok.num_uses > 0:
            tok.num_uses -= 1
            if tok.num_uses == 0:
                self.s.revoke_token(tok)

    def acl_path(self, req):
        """The request path as the token's policies see it (namespace-relative to the token)."""
        return req.ns.path[len(req.token.ns.path):] + req.rel

    def acl(self, tok):
        return ACL(tok.ns, tok.policies)

    def check(self, req, ops=None):
        tok = self.authenticate(req)
        ops = ops or ({"create", "update"} if req.op == "update" else {req.op})
        if not self.acl(tok).allowed(self.acl_path(req), ops):
            raise VaultError(403, [E_ACL_DENIED])
        self.use_token(tok)
        return tok

    # ---- routing
    def route(self, req):
        rel = req.rel
        if rel == "sys/wrapping/unwrap":
            return self.unwrap(req)
        if rel.startswith("sys/internal/ui/mounts"):
            return self.ui_mounts(req)
        if rel.startswith("auth/"):
            am = req.ns.match_auth(rel[5:])
            if am is not None:
                sub = rel[5 + len(am.path):]
                if sub == "login" and am.type in ("approle", "cert", "kubernetes"):
                    return self.login(req, am)
                return self.auth_path(req, am, sub)
            self.check(req)
            raise VaultError(404, ['no handler for route "%s". route entry not found.' % rel])
        if rel.startswith("sys/"):
            return self.sys(req, rel[4:])
        m = req.ns.match_mount(rel)
        if m is None or m.type in ("cubbyhole", "identity", "system"):
            self.check(req)
            if m is not None:
                raise VaultError(404, [E_UNSUPPORTED_PATH])
            raise VaultError(404, ['no handler for route "%s". route entry not found.' % rel])
        sub = rel[len(m.path):]
        if m.type == "kv" and m.version == 2:
            return self.kv2(req, m, sub)
        if m.type == "kv":
            return self.kv1(req, m, sub)
        if m.type == "database":
            return self.database(req, m, sub)
        self.check(req)
        raise VaultError(404, [E_UNSUPPORTED_PATH])

    # ---- sys/health, sys/seal-status, sys/leader
    def sys_status(self, req, sealed):
        if req.vpath == "sys/seal-status":
            return Reply(200, Struct(
                type="shamir", initialized=True, sealed=sealed, t=1, n=1, progress=0, nonce="",
                version=self.version, build_date="2024-02-28T17:07:34Z", migration=False,
                cluster_name="" if sealed else self.cluster_name,
                cluster_id="" if sealed else self.cluster_id,
                recovery_seal=False, storage_type="inmem"))
        if req.vpath == "sys/init":
            if req.method not in ("GET", "HEAD"):
                return Reply(400, {"errors": ["Vault is already initialized"]})
            return Reply(200, {"initialized": True})
        if req.vpath == "sys/leader":
            if sealed:
                return Reply(503, {"errors": [E_SEALED]})
            return Reply(200, Struct(ha_enabled=False, is_self=False, active_time="0001-01-01T00:00:00Z",
                                     leader_address="", leader_cluster_address="",
                                     performance_standby=False,
                                     performance_standby_last_remote_wal=0))
        body = Struct(initialized=True, sealed=sealed, standby=False, performance_standby=False,
                      replication_performance_mode="disabled", replication_dr_mode="disabled",
                      server_time_utc=int(Clock.now()), version=self.version)
        if not sealed:
            body["cluster_name"] = self.cluster_name
            body["cluster_id"] = self.cluster_id
        status = 200
        if sealed:
            status = int(req.query.get("sealedcode", 503))
        if req.method == "HEAD":
            return Reply(status, None)
        return Reply(status, body)

    # ---- KV v1
    def kv1(self, req, m, key):
        op = req.op
        if op == "list":
            self.check(req)
            prefix = key if key.endswith("/") or not key else key + "/"
            keys = sorted({(k[len(prefix):].split("/", 1)[0] + ("/" if "/" in k[len(prefix):] else ""))
                           for k in m.kv if k.startswith(prefix)})
            if not keys:
                return not_found_empty()
            return ok({"keys": keys}, mount_type="kv")
        if not key or key.endswith("/"):
            self.check(req)
            raise VaultError(404, [E_UNSUPPORTED_PATH])
        if op == "read":
            self.check(req)
            data = m.kv.get(key)
            if data is None:
                return not_found_empty()
            ttl = KV1_DEFAULT_TTL
            if "ttl" in data:
                try:
                    ttl = parse_duration(data["ttl"])
                except VaultError:
                    pass
            return ok(dict(data), lease_duration=ttl, mount_type="kv")
        if op == "update":
            self.check(req, {"update"} if key in m.kv else {"create"})
            if not req.body:
                raise VaultError(400, ["missing data fields"])
            m.kv[key] = dict(req.body)
            return no_content()
        if op == "delete":
            self.check(req)
            m.kv.pop(key, None)
            return no_content()
        self.check(req)
        raise VaultError(405, [E_UNSUPPORTED_OP])

    # ---- KV v2
    def kv2(self, req, m, sub):
        op = req.op
        if sub == "config":
            self.check(req)
            if op == "read":
                return ok({"cas_required": m.cas_required, "delete_version_after": "0s",
                           "max_versions": m.max_versions}, mount_type="kv")
            if op == "update":
                if "max_versions" in req.body:
                    m.max_versions = int(req.body["max_versions"])
                if "cas_required" in req.body:
                    m.cas_required = parse_bool(req.body["cas_required"])
                return no_content()
            raise VaultError(405, [E_UNSUPPORTED_OP])
        kind, _, key = sub.partition("/")
        if kind not in ("data", "metadata", "delete", "undelete", "destroy", "subkeys") \
                or (not key and not (kind == "metadata" and op == "list")):
            self.check(req)
            raise VaultError(404, [E_UNSUPPORTED_PATH])
        if kind == "metadata" and op == "list":
            self.check(req)
            prefix = key if key.endswith("/") or not key else key + "/"
            keys = sorted({(k[len(prefix):].split("/", 1)[0] + ("/" if "/" in k[len(prefix):] else ""))
                           for k, v in m.kv.items() if k.startswith(prefix)})
            if not keys:
                return not_found_empty()
            return ok({"keys": keys}, mount_type="kv")
        if key.endswith("/"):
            self.check(req)
            raise VaultError(404, [E_UNSUPPORTED_PATH])
        k = m.kv.get(key)
        now = Clock.now()
        if kind == "data":
            if op == "read":
                self.check(req)
                return self.kv2_read(req, m, k)
            if op == "update":
                self.check(req, {"update"} if k else {"create"})
                data = req.body.get("data")
                if not isinstance(data, dict):
                    raise VaultError(400, ["no data provided"])
                self.kv2_cas(req, m, k)
                if k is None:
                    k = m.kv[key] = KVKey(now)
                k.add(dict(data), now, m.max_versions)
                return ok(k.vmeta(k.current), mount_type="kv")
            if op == "patch":
                self.check(req)
                data = req.body.get("data")
                if not isinstance(data, dict):
                    raise VaultError(400, ["no data provided"])
                if k is None or k.current not in k.versions:
                    return Reply(404, None)
                cur = k.versions[k.current]
                if cur["destroyed"] or (cur["deletion"] and cur["deletion"] <= now):
                    return Reply(404, raw_json(envelope(data=k.vmeta(k.current), mount_type=None)))
                self.kv2_cas(req, m, k)
                merged = dict(cur["data"])
                for dk, dv in data.items():
                    if dv is None:
                        merged.pop(dk, None)
                    else:
                        merged[dk] = dv
                k.add(merged, now, m.max_versions)
                return ok(k.vmeta(k.current), mount_type="kv")
            if op == "delete":
                self.check(req)
                if k is not None and k.current in k.versions:
                    v = k.versions[k.current]
                    if v["deletion"] is None and not v["destroyed"]:
                        v["deletion"] = now
                return no_content()
            self.check(req)
            raise VaultError(405, [E_UNSUPPORTED_OP])
        if kind in ("delete", "undelete", "destroy"):
            if op != "update":
                self.check(req)
                raise VaultError(405, [E_UNSUPPORTED_OP])
            self.check(req)
            versions = self.kv2_versions(req)
            if k is not None:
                for n in versions:
                    v = k.versions.get(n)
                    if v is None:
                        continue
                    if kind == "delete" and v["deletion"] is None and not v["destroyed"]:
                        v["deletion"] = now
                    elif kind == "undelete" and not v["destroyed"]:
                        v["deletion"] = None
                    elif kind == "destroy":
                        v["destroyed"] = True
                        v["data"] = None
            return no_content()
        if kind == "subkeys":
            self.check(req)
            if op != "read":
                raise VaultError(405, [E_UNSUPPORTED_OP])
            r = self.kv2_read(req, m, k)
            if r.status != 200:
                return r
            d = r.body["data"]

            def sk(x):
                return {a: sk(b) if isinstance(b, dict) else None for a, b in x.items()}
            return ok({"subkeys": sk(d["data"]), "metadata": d["metadata"]}, mount_type="kv")
        # metadata
        if op == "read":
            self.check(req)
            if k is None:
                return not_found_empty()
            return ok({"cas_required": k.cas_required, "created_time": rfc3339(k.created),
                       "current_version": k.current, "custom_metadata": k.custom_metadata,
                       "delete_version_after": "0s", "max_versions": k.max_versions,
                       "oldest_version": k.oldest, "updated_time": rfc3339(k.updated),
                       "versions": {str(n): k.vmeta(n, False, False) for n in sorted(k.versions)}},
                      mount_type="kv")
        if op in ("update", "patch"):
            self.check(req, {"update", "create", "patch"})
            if k is None:
                k = m.kv[key] = KVKey(now)
            b = req.body
            if "max_versions" in b:
                k.max_versions = int(b["max_versions"])
            if "cas_required" in b:
                k.cas_required = parse_bool(b["cas_required"])
            if "custom_metadata" in b:
                cm = b["custom_metadata"]
                if cm is not None and (not isinstance(cm, dict) or
                                       not all(isinstance(x, str) for x in cm.values())):
                    raise VaultError(400, ["custom_metadata must be a map of strings"])
                k.custom_metadata = cm
            k.updated = now
            return no_content()
        if op == "delete":
            self.check(req)
            m.kv.pop(key, None)
            return no_content()
        self.check(req)
        raise VaultError(405, [E_UNSUPPORTED_OP])

    def kv2_read(self, req, m, k):
        if k is None:
            return not_found_empty()
        n = k.current
        if "version" in req.query:
            try:
                v = int(req.query["version"])
            except ValueError:
                raise VaultError(400, ['1 error occurred:\n\t* error converting input %s for field '
                                       '"version": strconv.ParseInt: parsing %s: invalid syntax\n\n'
                                       % (req.query["version"], json.dumps(req.query["version"]))])
            if v > 0:
                n = v
        if n not in k.versions:
            return not_found_empty()
        v = k.versions[n]
        body = {"data": None, "metadata": k.vmeta(n)}
        if v["destroyed"] or (v["deletion"] is not None and v["deletion"] <= Clock.now()):
            # logical.RespondWithStatusCode: the whole envelope marshalled as a raw body, status
            # 404, no mount_type, no trailing newline.
            return Reply(404, raw_json(envelope(data=body, mount_type=None)))
        body["data"] = dict(v["data"])
        return ok(body, mount_type="kv")

    def kv2_cas(self, req, m, k):
        opts = req.body.get("options")
        cur = k.current if k else 0
        if isinstance(opts, dict) and "cas" in opts:
            try:
                cas = int(opts["cas"])
            except (TypeError, ValueError):
                raise VaultError(400, ["error parsing check-and-set parameter"])
            if cas != cur:
                raise VaultError(400, ["check-and-set parameter did not match the current version"])
        elif m.cas_required or (k is not None and k.cas_required):
            raise VaultError(400, ["check-and-set parameter required for this call"])

    def kv2_versions(self, req):
        v = req.body.get("versions")
        if isinstance(v, str):
            v = [x for x in v.split(",") if x.strip()]
        if not v:
            raise VaultError(400, ["no version number provided"])
        try:
            return [int(x) for x in v]
        except (TypeError, ValueError):
            raise VaultError(400, ["no version number provided"])

    # ---- database (leased dynamic secrets)
    def database(self, req, m, sub):
        self.check(req)
        op = req.op
        if sub.startswith("creds/"):
            role = sub[6:]
            if op != "read":
                raise VaultError(405, [E_UNSUPPORTED_OP])
            r = m.roles.get(role)
            if r is None:
                raise VaultError(400, ["unknown role: %s" % role])
            now = int(Clock.now())
            prefix = r["username_prefix"] or "v-%s-%s-" % (
                (req.token.display_name or "token").replace("/", "-")[:8], role[:8])
            username = "%s%s-%d" % (prefix, rand(20), now)
            password = rand(8) + "-" + rand(11)
            lease_id = "%screds/%s/%s%s" % (m.path, role, rand(24),
                                             "" if req.ns.id == "root" else "." + req.ns.id)
            lease = Lease(lease_id, req.ns, req.rel, r["default_ttl"], r["max_ttl"], r["renewable"])
            self.s.leases[lease_id] = lease
            self.s.counters["leases_issued"] += 1
            return ok({"password": password, "username": username}, lease_id=lease_id,
                      renewable=r["renewable"], lease_duration=r["default_ttl"],
                      mount_type="database")
        if sub == "roles" or sub == "roles/":
            if op != "list":
                raise VaultError(405, [E_UNSUPPORTED_OP])
            if not m.roles:
                return not_found_empty()
            return ok({"keys": sorted(m.roles)}, mount_type="database")
        if sub.startswith("roles/") and op == "read":
            r = m.roles.get(sub[6:])
            if r is None:
                return not_found_empty()
            return ok({"creation_statements": [], "credential_type": "password",
                       "db_name": r["db_name"], "default_ttl": r["default_ttl"],
                       "max_ttl": r["max_ttl"], "renew_statements": [],
                       "revocation_statements": [], "rollback_statements": []},
                      mount_type="database")
        raise VaultError(404, [E_UNSUPPORTED_PATH])

    # ---- sys/*
    def sys(self, req, sub):
        op = req.op
        body = req.body
        if sub in ("leases/lookup",) and op == "update":
            self.check(req)
            lease = self.live_lease(req, body.get("lease_id"))
            if lease is None:
                raise VaultError(400, ["invalid lease"])
            return ok(Struct(expire_time=rfc3339(lease.expire), id=lease.id,
                             issue_time=rfc3339(lease.issue),
                             last_renewal=rfc3339(lease.last_renewal) or None,
                             renewable=lease.renewable,
                             ttl=max(0, int(round(lease.expire - Clock.now())))),
                      mount_type="system")
        if sub.startswith("leases/lookup/") and op == "list":
            self.check(req)
            prefix = sub[len("leases/lookup/"):]
            prefix = prefix if prefix.endswith("/") else prefix + "/"
            keys = sorted({(lid[len(prefix):].split("/", 1)[0] + ("/" if "/" in lid[len(prefix):] else ""))
                           for lid, l in self.s.leases.items()
                           if l.ns is req.ns and l.live() and lid.startswith(prefix)})
            if not keys:
                return not_found_empty()
            return ok({"keys": keys}, mount_type="system")
        if sub in ("leases/renew", "renew") or sub.startswith(("leases/renew/", "renew/")):
            if op != "update":
                self.check(req)
                raise VaultError(405, [E_UNSUPPORTED_OP])
            self.check(req)
            lid = body.get("lease_id")
            if not lid and "renew/" in sub:
                lid = sub.split("renew/", 1)[1]
            lease = self.live_lease(req, lid)
            if lease is None:
                raise VaultError(400, ["lease not found"])
            if not lease.renewable:
                raise VaultError(400, ["lease is not renewable"])
            inc = parse_duration(body.get("increment"), "increment") or \
                int(round(lease.expire - lease.issue))
            now = Clock.now()
            lease.expire = now + inc
            if lease.max_expire:
                lease.expire = min(lease.expire, lease.max_expire)
            lease.last_renewal = now
            self.s.counters["leases_renewed"] += 1
            ttl = max(0, int(round(lease.expire - now)))
            warnings = None
            if ttl < inc:
                warnings = ["TTL of %s exceeded the effective max_ttl of %s; TTL value is capped "
                            "accordingly" % (dur_string(inc), dur_string(ttl))]
            return ok(None, lease_id=lease.id, renewable=True, lease_duration=ttl,
                      warnings=warnings, mount_type="system")
        if sub in ("leases/revoke", "revoke") or sub.startswith(("leases/revoke/", "revoke/")):
            if op != "update":
                self.check(req)
                raise VaultError(405, [E_UNSUPPORTED_OP])
            self.check(req)
            if sub in ("leases/revoke", "revoke"):
                lid = body.get("lease_id")
            else:
                lid = sub.split("revoke/", 1)[1]
            if not lid:
                raise VaultError(400, ["lease_id must be specified"])
            lease = self.s.leases.get(lid)
            if lease is None or lease.ns is not req.ns:
                self.s.counters["revoke_unknown"] += 1
            elif not lease.revoked:
                self.revoke_lease(lease, "revoked")
            return no_content()
        if sub.startswith(("leases/revoke-prefix/", "revoke-prefix/", "leases/revoke-force/",
                           "revoke-force/")):
            self.check(req, {"sudo"})
            if op != "update":
                raise VaultError(405, [E_UNSUPPORTED_OP])
            prefix = sub.split("/", 2)[-1] if sub.startswith("leases/") else sub.split("/", 1)[1]
            for lease in list(self.s.leases.values()):
                if lease.ns is req.ns and lease.id.startswith(prefix) and not lease.revoked:
                    self.revoke_lease(lease, "prefix")
            return no_content()
        if sub == "wrapping/lookup" and op == "update":
            tid = body.get("token") or self.request_token(req)
            tok = self.s.tokens.get(tid) if tid else None
            if tok is None or tok.wrapped is None or not tok.valid():
                raise VaultError(400, [E_WRAPPING])
            w = tok.wrapped
            return ok({"creation_path": w["creation_path"],
                       "creation_time": rfc3339(w["creation_time"]),
                       "creation_ttl": w["ttl"]}, mount_type="system")
        if sub == "wrapping/wrap" and op == "update":
            self.check(req)
            ttl = req.headers.get("X-Vault-Wrap-TTL")
            if not ttl:
                raise VaultError(400, ["wrap TTL must be set"])
            return ok(dict(body), mount_type="system")     # wrapped by handle()
        if sub == "capabilities-self" and op == "update":
            tok = self.check(req)
            paths = body.get("paths") or ([body["path"]] if body.get("path") else [])
            if isinstance(paths, str):
                paths = [paths]
            if not paths:
                raise VaultError(400, ["paths must be supplied"])
            acl = self.acl(tok)
            prefix = req.ns.path[len(tok.ns.path):]
            caps = {p: acl.capabilities(prefix + p) for p in paths}
            data = dict(caps)
            if len(paths) == 1:
                data["capabilities"] = caps[paths[0]]
            return sys_injected(data, mount_type="system")
        if sub == "mounts" and op == "read":
            self.check(req)
            data = {mp: m.info() for mp, m in req.ns.mounts.items()}
            return sys_injected(data, mount_type="system")
        if sub.startswith("mounts/") and sub.count("/") >= 1 and not sub.endswith("/tune"):
            self.check(req, {"sudo", "update", "create", "delete", "read"})
            mp = sub[len("mounts/"):].strip("/") + "/"
            if op == "update":
                mtype = body.get("type")
                if not mtype:
                    raise VaultError(400, ["backend type must be specified as a string"])
                if mp in req.ns.mounts:
                    raise VaultError(400, ["path is already in use at %s" % mp])
                opts = body.get("options") or None
                version = None
                if mtype in ("kv", "kv-v2"):
                    version = 2 if mtype == "kv-v2" else int((opts or {}).get("version", 1) or 1)
                    mtype = "kv"
                    opts = {"version": str(version)}
                m = req.ns.mounts[mp] = Mount(mp, mtype, version, opts, body.get("description", ""))
                return no_content()
            if op == "delete":
                req.ns.mounts.pop(mp, None)
                return no_content()
            if op == "read":
                m = req.ns.mounts.get(mp)
                if m is None:
                    raise VaultError(400, ["No secret engine mount at %s" % mp])
                return ok(m.info(), mount_type="system")
        if sub == "auth" and op == "read":
            self.check(req)
            return sys_injected({mp: am.info() for mp, am in req.ns.auth.items()},
                                mount_type="system")
        self.check(req)
        raise VaultError(404, [E_UNSUPPORTED_PATH])

    def live_lease(self, req, lid):
        lease = self.s.leases.get(lid) if lid else None
        if lease is None or lease.ns is not req.ns or lease.revoked:
            return None
        if Clock.now() >= lease.expire:
            self.revoke_lease(lease, "expired")
            return None
        return lease

    def revoke_lease(self, lease, how):
        lease.revoked = True
        lease.revoke_time = Clock.now()
        lease.how = how
        self.s.counters["leases_expired" if how == "expired" else "leases_revoked"] += 1

    # ---- sys/internal/ui/mounts
    def ui_mounts(self, req):
        sub = req.rel[len("sys/internal/ui/mounts"):]
        if req.op != "read":
            self.authenticate(req)
            raise VaultError(405, [E_UNSUPPORTED_OP])
        tok = self.authenticate(req)
        acl = self.acl(tok)
        prefix = req.ns.path[len(tok.ns.path):]
        if sub in ("", "/"):
            secret = {mp: m.info() for mp, m in req.ns.mounts.items()
                      if acl.has_mount_access(prefix + mp)}
            auth = {mp: am.info() for mp, am in req.ns.auth.items()
                    if acl.has_mount_access(prefix + "auth/" + mp)}
            self.use_token(tok)
            return ok({"auth": auth, "secret": secret}, mount_type="system")
        path = sub[1:].strip("/") + "/"
        denied = VaultError(403, ["preflight capability check returned 403, please ensure "
                                  "client's policies grant access to path %s" % json.dumps(path)])
        if path.startswith("auth/"):
            m = req.ns.match_auth(path[5:])
            full = prefix + "auth/" + (m.path if m else "")
        else:
            m = req.ns.match_mount(path)
            full = prefix + (m.path if m else "")
        if m is None or not acl.has_mount_access(full):
            raise denied
        self.use_token(tok)
        data = m.info()
        data["path"] = m.path
        return ok(data, mount_type="system")

    # ---- auth/<mount>/... other than login
    def auth_path(self, req, am, sub):
        op = req.op
        body = req.body
        if am.type == "token":
            if sub == "lookup-self" and op in ("read", "update"):
                tok = self.check(req, {"read", "update"})
                return ok(self.token_data(tok), mount_type="token")
            if sub == "renew-self" and op == "update":
                tok = self.check(req)
                return self.renew_token(tok, body.get("increment"))
            if sub == "revoke-self" and op == "update":
                tok = self.check(req)
                self.s.revoke_token(tok)
                return no_content()
            if sub == "lookup" and op in ("read", "update"):
                self.check(req, {"read", "update"})
                other = self.s.tokens.get(body.get("token") or req.query.get("token") or "")
                if other is None or not other.valid():
                    raise VaultError(403, ["bad token"])
                return ok(self.token_data(other), mount_type="token")
            if sub == "revoke" and op == "update":
                self.check(req)
                other = self.s.tokens.get(body.get("token") or "")
                if other is not None:
                    self.s.revoke_token(other)
                return no_content()
            if sub in ("create", "create-orphan") and op == "update":
                parent = self.check(req)
                pol = list(body.get("policies") or parent.policies)
                if "root" not in parent.policies:
                    extra = set(pol) - set(parent.policies) - {"default"}
                    if extra:
                        raise VaultError(400, ["child policies must be subset of parent"])
                if not body.get("no_default_policy") and "root" not in pol and "default" not in pol:
                    pol.append("default")
                ttl = parse_duration(body.get("ttl")) or (parent.creation_ttl if parent.ttl else 2764800)
                tok = self.s.add_token(Token(
                    req.ns, pol, ttl=ttl if "root" not in pol or body.get("ttl") else 0,
                    renewable=parse_bool(body.get("renewable", True)),
                    num_uses=int(body.get("num_uses") or 0),
                    explicit_max_ttl=parse_duration(body.get("explicit_max_ttl")),
                    display_name="token" + ("-" + body["display_name"] if body.get("display_name") else ""),
                    meta=body.get("meta"), path="auth/token/" + sub, token_id=body.get("id"),
                    orphan=sub == "create-orphan" or bool(body.get("no_parent"))))
                return ok(None, auth=tok.auth_block(), mount_type="token")
        if am.type == "approle" and sub.startswith("role/"):
            self.check(req)
            parts = sub.split("/")
            role = parts[1] if len(parts) > 1 else ""
            r = am.roles.get(role)
            if len(parts) == 3 and parts[2] == "role-id" and op == "read":
                if r is None:
                    raise VaultError(400, ['role "%s" does not exist' % role])
                return ok({"role_id": r["role_id"]}, mount_type="approle")
            if len(parts) == 3 and parts[2] == "secret-id" and op == "update":
                if r is None:
                    raise VaultError(400, ['role "%s" does not exist' % role])
                meta = body.get("metadata")
                if isinstance(meta, str) and meta:
                    try:
                        meta = json.loads(meta)
                    except ValueError:
                        raise VaultError(400, ["failed to parse metadata"])
                sid, e = self.s.new_secret_id(am, role, None, body.get("num_uses"),
                                              body.get("ttl"), meta or {})
                return ok(Struct(secret_id=sid, secret_id_accessor=e["accessor"],
                                 secret_id_num_uses=e["num_uses"], secret_id_ttl=e["ttl"]),
                          mount_type="approle")
            if len(parts) == 2 and op == "read":
                if r is None:
                    return not_found_empty()
                return ok({"bind_secret_id": r["bind_secret_id"],
                           "secret_id_num_uses": r["secret_id_num_uses"],
                           "secret_id_ttl": r["secret_id_ttl"],
                           "token_max_ttl": r["token_max_ttl"],
                           "token_num_uses": r["token_num_uses"],
                           "token_policies": r["policies"], "policies": r["policies"],
                           "token_ttl": r["token_ttl"], "token_type": "default"},
                          mount_type="approle")
            if len(parts) == 1 or (len(parts) == 2 and not role):
                if op == "list":
                    if not am.roles:
                        return not_found_empty()
                    return ok({"keys": sorted(am.roles)}, mount_type="approle")
        if am.type == "kubernetes" and (sub == "config" or sub.startswith("role/")):
            reply = self.kubernetes_path(req, am, sub)
            if reply is not None:
                return reply
        if sub == "role" and op == "list" and am.type in ("approle", "kubernetes"):
            self.check(req)
            if not am.roles:
                return not_found_empty()
            return ok({"keys": sorted(am.roles)}, mount_type=am.type)
        self.check(req)
        raise VaultError(404, [E_UNSUPPORTED_PATH])

    def token_data(self, tok):
        return {
            "accessor": tok.accessor, "creation_time": int(tok.issue), "creation_ttl": tok.creation_ttl,
            "display_name": tok.display_name, "entity_id": tok.entity_id,
            "expire_time": rfc3339(tok.expire) if tok.expire else None,
            "explicit_max_ttl": tok.explicit_max_ttl, "id": tok.id,
            "issue_time": rfc3339(tok.issue), "meta": tok.meta, "num_uses": tok.num_uses,
            "orphan": tok.orphan, "path": tok.path, "policies": tok.policies,
            "renewable": tok.renewable, "ttl": tok.remaining(), "type": tok.kind,
        }

    def renew_token(self, tok, increment):
        if tok.expire is None:                  # a token without a TTL (root): nothing to extend
            return ok(None, auth=tok.auth_block(), mount_type="token")
        if not tok.renewable:
            raise VaultError(400, ["lease is not renewable"])
        inc = parse_duration(increment, "increment") or tok.creation_ttl
        now = Clock.now()
        tok.expire = now + inc
        warnings = None
        if tok.max_expire and tok.expire > tok.max_expire:
            tok.expire = tok.max_expire
            warnings = ["TTL of %s exceeded the effective max_ttl of %s; TTL value is capped "
                        "accordingly" % (dur_string(inc), dur_string(tok.remaining()))]
        return ok(None, auth=tok.auth_block(), warnings=warnings, mount_type="token")

    # ---- logins
    def login(self, req, am):
        c = self.s.counters
        method = am.type
        if req.op != "update":
            raise VaultError(405, [E_UNSUPPORTED_OP])
        try:
            tok = getattr(self, "login_" + method)(req, am)
        except VaultError:
            c["login_failures"][method] = c["login_failures"].get(method, 0) + 1
            raise
        c["logins"][method] = c["logins"].get(method, 0) + 1
        self.s.add_token(tok)
        return ok(None, auth=tok.auth_block(), mount_type=method)

    def _login_policies(self, pol, no_default=False):
        pol = list(pol)
        if not no_default and "default" not in pol and "root" not in pol:
            pol.append("default")
        return pol

    def login_approle(self, req, am):
        body = req.body
        role_id = str(body.get("role_id") or "").strip()
        if not role_id:
            raise VaultError(400, ["missing role_id"])
        name = next((n for n, r in am.roles.items() if r["role_id"] == role_id), None)
        if name is None:
            raise VaultError(400, [E_APPROLE])
        r = am.roles[name]
        meta = {}
        if r["bind_secret_id"]:
            sid = str(body.get("secret_id") or "").strip()
            if not sid:
                raise VaultError(400, ["missing secret_id"])
            e = am.secret_ids.get(sid)
            if e is None or e["role"] != name:
                raise VaultError(400, [E_APPROLE])
            if e["expire"] is not None and Clock.now() >= e["expire"]:
                del am.secret_ids[sid]
                raise VaultError(400, [E_APPROLE])
            if e["num_uses"] > 0:
                e["num_uses"] -= 1
                if e["num_uses"] == 0:        # the last use succeeds; the next one fails
                    del am.secret_ids[sid]
            meta = dict(e["metadata"] or {})
        meta["role_name"] = name
        return Token(req.ns, self._login_policies(r["policies"], r["no_default_policy"]),
                     ttl=r["token_ttl"] or 2764800, max_ttl=r["token_max_ttl"],
                     num_uses=r["token_num_uses"], display_name="approle", meta=meta,
                     path="auth/%slogin" % am.path,
                     orphan=True, entity_id=_entity_id(req.ns.id, am.path, r["role_id"]))

    def login_cert(self, req, am):
        name = req.body.get("name") or ""
        if req.peer is None:
            raise VaultError(400, [E_CERT])
        self.s.counters["client_certs"] += 1
        subject = req.peer.get("subject")
        issuer = req.peer.get("issuer")
        serial = req.peer.get("serialNumber")
        cn = next((v for rdn in subject or () for k, v in rdn if k == "commonName"), "")
        fp = hashlib.sha256(req.peer_der).hexdigest() if req.peer_der else ""
        roles = [(name, am.roles.get(name))] if name else sorted(am.roles.items())
        for rname, r in roles:
            if r is None:
                continue
            trusted = False
            if r["subjects"]:
                trusted = any(issuer == s or (subject == s and serial == sn)
                              for s, sn in r["subjects"])
            elif r["fingerprints"]:
                trusted = fp in r["fingerprints"]
            if not trusted:
                continue
            if r["fingerprints"] and fp not in r["fingerprints"]:
                continue
            if r["allowed_common_names"] and not any(
                    re.fullmatch(re.escape(p).replace("\\*", ".*"), cn)
                    for p in r["allowed_common_names"]):
                continue
            meta = {"authority_key_id": "", "cert_name": rname, "common_name": cn,
                    "serial_number": str(int(serial, 16)) if serial else "",
                    "subject_key_id": ""}
            return Token(req.ns, self._login_policies(r["policies"]), ttl=r["ttl"] or 2764800,
                         max_ttl=r["max_ttl"], display_name="cert-" + r["display_name"], meta=meta,
                         path="auth/%slogin" % am.path, orphan=True,
                         entity_id=_entity_id(req.ns.id, am.path, rname, cn))
        raise VaultError(400, [E_CERT])

    def login_kubernetes(self, req, am):
        try:
            role, sa_ns, sa_name, sa_uid, secret_name = vault_k8s.login(
                req.body, am.roles, getattr(am, "k8s_config", None), self.s.k8s_cluster,
                Clock.now())
        except vault_k8s.AuthError as e:
            raise VaultError(e.status, e.errors)
        r = am.roles[role]
        meta = {"role": role, "service_account_name": sa_name, "service_account_namespace": sa_ns,
                "service_account_secret_name": secret_name, "service_account_uid": sa_uid}
        return Token(req.ns, self._login_policies(r["policies"]), ttl=r["ttl"] or 2764800,
                     max_ttl=r["max_ttl"], display_name="kubernetes-%s-%s" % (sa_ns, sa_name),
                     meta=meta, path="auth/%slogin" % am.path, orphan=True,
                     entity_id=_entity_id(req.ns.id, am.path, sa_uid))

    def kubernetes_path(self, req, am, sub):
        """auth/<mount>/config and role/<name> (read, write, delete) of the kubernetes method."""
        op, parts = req.op, sub.split("/")
        self.check(req)
        try:
            if sub == "config" and op == "update":
                am.k8s_config = vault_k8s.config_from(req.body)
                return no_content()
            if sub == "config" and op == "read":
                cfg = getattr(am, "k8s_config", None)
                if cfg is None:
                    return not_found_empty()
                return ok(vault_k8s.config_data(cfg), mount_type="kubernetes")
            if len(parts) == 2 and parts[0] == "role" and parts[1]:
                if op in ("create", "update"):
                    am.roles[parts[1]] = vault_k8s.role_from(req.body, parse_duration)
                    return no_content()
                if op == "read":
                    r = am.roles.get(parts[1])
                    return ok(vault_k8s.role_data(r), mount_type="kubernetes") if r \
                        else not_found_empty()
                if op == "delete":
                    am.roles.pop(parts[1], None)
                    return no_content()
        except vault_k8s.AuthError as e:
            raise VaultError(e.status, e.errors)
        return None

    # ---- response wrapping
    def wrap(self, req, body, ttl):
        now = Clock.now()
        inner_accessor = ""
        if body.get("auth"):
            inner_accessor = body["auth"].get("accessor", "")
        elif isinstance(body.get("data"), dict) and "secret_id_accessor" in body["data"]:
            inner_accessor = body["data"]["secret_id_accessor"]
        wt = Token(req.ns, ["response-wrapping"], ttl=ttl, renewable=False, num_uses=1,
                   display_name="", path=req.rel, orphan=True)
        # Vault stores json.Marshal(HTTPResponse) of the original reply (its request_id, no
        # mount_type) and answers with a reply that carries only wrap_info (empty request_id).
        inner = Struct(body)
        inner.pop("mount_type", None)
        wt.wrapped = {"response": raw_json(inner), "creation_path": req.rel,
                      "creation_time": now, "ttl": ttl}
        self.s.tokens[wt.id] = wt
        self.s.counters["wraps"] += 1
        info = Struct(token=wt.id, accessor=wt.accessor, ttl=ttl, creation_time=rfc3339(now),
                      creation_path=req.rel)
        if inner_accessor:
            info["wrapped_accessor"] = inner_accessor
        return Reply(200, envelope(wrap_info=info, request_id=""))

    def unwrap(self, req):
        if req.op != "update":
            raise VaultError(405, [E_UNSUPPORTED_OP])
        body_tok = req.body.get("token")
        if body_tok:
            self.authenticate(req)             # the caller's own token must be valid
            wt = self.s.tokens.get(body_tok)
        else:
            tid = self.request_token(req)
            wt = self.s.tokens.get(tid) if tid else None
        if wt is None or wt.wrapped is None or not wt.valid() or wt.ns is not req.ns:
            raise VaultError(400, [E_WRAPPING])
        self.s.revoke_token(wt)
        self.s.counters["unwraps"] += 1
        return Reply(200, wt.wrapped["response"])     # the stored body, verbatim


# --------------------------------------------------------------------------- HTTP server

class BodyTooLarge(Exception):
    pass


class VaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    server_version = "vault-fake"

    def log_message(self, fmt, *args):        # http.server's own messages: quiet
        pass

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_REQUEST_SIZE:
                    raise BodyTooLarge()
                out.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(out)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_REQUEST_SIZE:
            raise BodyTooLarge()
        return self.rfile.read(n) if n > 0 else b""

    def _any(self):
        srv = self.server
        state, vault = srv.state, srv.vault
        t0 = time.monotonic()
        method = self.command.upper()
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            raw = self.read_body()
        except BodyTooLarge:
            self.close_connection = True
            self.send(Reply(413, {"errors": ["http: request body too large"]}), method)
            self.log_line(method, path, "", 413, t0)
            return
        vpath = path[4:] if path.startswith("/v1/") else None
        nsh = normalize_ns(self.headers.get("X-Vault-Namespace"))
        with state.lock:
            delays, fault = state.take_faults(method, vpath or path.lstrip("/"), nsh)
        for d in delays:
            time.sleep(d / 1000.0)
        if fault is not None and fault["type"] == "drop":
            with state.lock:
                state.counters["dropped"] += 1
                self.count(state, method, nsh + (vpath or path), "dropped")
            self.log_line(method, path, nsh, "dropped", t0)
            self.drop(fault.get("rst"))
            return
        if fault is not None and fault["type"] == "status":
            reply = fault_reply(fault, vpath or path)
        elif vpath is None:
            reply = Reply(404, None) if path not in ("/", "") else Reply(
                307, None, {"Location": "/ui/"})
        else:
            body = {}
            reply = None
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as e:
                    reply = Reply(400, {"errors": ["failed to parse JSON input: %s" % e]})
                else:
                    if not isinstance(body, dict):
                        reply = Reply(400, {"errors": [
                            "failed to parse JSON input: json: cannot unmarshal %s into Go value "
                            "of type map[string]interface {}" % type(body).__name__]})
            if reply is None:
                if method == "GET" or method == "HEAD" or method == "LIST":
                    for k, v in query.items():      # Vault reads GET parameters from the query
                        body.setdefault(k, v)
                peer, der = self.peer_cert()
                req = Req(method, vpath, query, body, self.headers, peer, der, self.client_address)
                with state.lock:
                    try:
                        reply = vault.handle(req, sealed=fault is not None and fault["type"] == "sealed")
                    except VaultError as e:
                        reply = Reply(e.status, {"errors": e.errors}, e.headers)
                    except (ValueError, TypeError, KeyError, AttributeError) as e:
                        log("internal error on %s %s: %s" % (method, path, type(e).__name__))
                        reply = Reply(500, {"errors": ["1 error occurred:\n\t* internal error\n\n"]})
        if fault is not None and fault["type"] == "oversize":
            reply = oversize(reply, int(fault.get("bytes", 2 * 1024 * 1024)))
        elif fault is not None and fault["type"] == "malformed":
            reply = malformed(reply, fault.get("body"))
        with state.lock:
            self.count(state, method, nsh + (vpath if vpath is not None else path), reply.status)
        self.send(reply, method)
        self.log_line(method, path, nsh, reply.status, t0)

    do_GET = do_POST = do_PUT = do_DELETE = do_LIST = do_PATCH = do_HEAD = do_OPTIONS = _any

    def peer_cert(self):
        conn = self.connection
        if not isinstance(conn, ssl.SSLSocket):
            return None, None
        try:
            return conn.getpeercert() or None, conn.getpeercert(binary_form=True)
        except (ValueError, ssl.SSLError):
            return None, None

    @staticmethod
    def count(state, method, key, status):
        c = state.counters
        c["requests_total"] += 1
        k = "%s %s" % (method, key)
        c["requests"][k] = c["requests"].get(k, 0) + 1
        c["status"][str(status)] = c["status"].get(str(status), 0) + 1
        state.recent.append({"method": method, "path": key, "status": status,
                             "time": rfc3339(Clock.now())})
        if len(state.recent) > 1000:
            del state.recent[:-1000]

    def send(self, reply, method):
        if isinstance(reply.body, (dict, list)):
            payload = go_json(reply.body)
        elif isinstance(reply.body, bytes):
            payload = reply.body
        else:
            payload = b""
        lines = ["HTTP/1.1 %d %s" % (reply.status, self.responses.get(reply.status, ("",))[0]),
                 "Cache-Control: no-store"]
        if payload or reply.status not in (204, 304) and reply.status >= 200:
            if payload:
                lines.append("Content-Type: application/json")
            lines.append("Content-Length: %d" % len(payload))
        for k, v in reply.headers.items():
            lines.append("%s: %s" % (k, v))
        lines.append("Date: %s" % self.date_time_string())
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + (b"" if method == "HEAD" else payload))
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def drop(self, rst):
        self.close_connection = True
        conn = self.connection
        try:
            if rst:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if isinstance(conn, ssl.SSLSocket):
                # Close the TCP connection under TLS without a close_notify: an abrupt end.
                raw = socket.socket(fileno=os.dup(conn.fileno()))
                raw.shutdown(socket.SHUT_RDWR)
                raw.close()
            else:
                conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_line(self, method, path, ns, status, t0):
        if self.server.quiet:
            return
        log("%s %s%s -> %s (%.1f ms)" % (method, path, " [ns=%s]" % ns if ns else "", status,
                                          (time.monotonic() - t0) * 1000))


def fault_reply(f, vpath):
    status = f["status"]
    errors = f.get("errors")
    headers = dict(f.get("headers") or {})
    if errors is None:
        errors = {
            429: ['request path "%s": rate limit quota exceeded' % vpath],
            412: ["required index state not present"],
            500: ["1 error occurred:\n\t* internal error\n\n"],
            502: ["error forwarding request to the active node"],
            503: ["Vault is sealed"] if f.get("sealed", False) else ["node is not active"],
            403: [E_PERMISSION_DENIED],
            404: [],
        }.get(status, [f.get("message", "injected failure")])
    if status == 429:
        headers.setdefault("Retry-After", str(f.get("retry_after", 1)))
    return Reply(status, {"errors": errors}, headers)


def oversize(reply, n):
    body = reply.body if isinstance(reply.body, dict) else envelope(data={})
    body = Struct(body)
    have = len(go_json(body))
    body["padding"] = "x" * max(0, n - have - 14)
    return Reply(200 if reply.status in (204,) else reply.status, body, reply.headers)


def malformed(reply, text):
    if text is None:
        whole = go_json(reply.body if isinstance(reply.body, dict) else envelope(data={"a": "b"}))
        raw = whole[: max(1, len(whole) // 2)]
    else:
        raw = text.encode("utf-8")
    return Reply(200, raw)


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, ssl_ctx, state, vault, quiet):
        self.ssl_ctx = ssl_ctx
        self.state = state
        self.vault = vault
        self.quiet = quiet
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        # Runs in the connection's own thread: a slow or broken handshake blocks nobody else.
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.state.lock:
                self.state.counters["tls_handshake_failures"] += 1
            if not self.quiet:
                log("TLS handshake from %s failed: %s" % (client_address[0],
                                                         getattr(e, "reason", None) or e))
            try:
                request.close()
            except OSError:
                pass
            return
        with self.state.lock:
            self.state.counters["connections"] += 1
        try:
            tls.settimeout(None)
            self.RequestHandlerClass(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def shutdown_request(self, request):
        try:
            request.close()
        except OSError:
            pass

    def handle_error(self, request, client_address):
        pass


class PlainServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


# --------------------------------------------------------------------------- control API

class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        data = (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw) if raw.strip() else {}

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        srv = self.server
        st = srv.state
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            body = self.body() if method == "POST" else {}
            with st.lock:
                out = self.route(method, path, q, body, st, srv)
        except (ValueError, KeyError, TypeError, VaultError) as e:
            self.reply(400, {"error": str(e)})
            return
        if out is None:
            self.reply(404, {"error": "no such control endpoint: %s %s" % (method, path)})
        else:
            self.reply(200, out)

    def route(self, method, path, q, body, st, srv):
        if (method, path) == ("GET", "/health"):
            return "ok"
        if (method, path) == ("POST", "/seed"):
            st.seed(body)
            return {"ok": True}
        if (method, path) == ("POST", "/reset"):
            st.reset_all()
            Clock.offset = 0.0
            if not parse_bool(q.get("empty", "false")) and srv.seed_doc is not None:
                st.seed(srv.seed_doc)
                st.reset_counters()
            return {"ok": True}
        if (method, path) == ("GET", "/counters"):
            return st.counters
        if (method, path) == ("POST", "/counters/reset"):
            st.reset_counters()
            return {"ok": True}
        if (method, path) == ("GET", "/requests"):
            return st.recent
        if (method, path) == ("GET", "/leases"):
            return [{"lease_id": l.id, "namespace": l.ns.path, "path": l.path,
                     "issue_time": rfc3339(l.issue), "expire_time": rfc3339(l.expire),
                     "renewable": l.renewable, "revoked": l.revoked, "how": l.how,
                     "revoke_time": rfc3339(l.revoke_time) if l.revoke_time else None}
                    for l in st.leases.values()]
        if (method, path) == ("GET", "/tokens"):
            return [{"accessor": t.accessor, "namespace": t.ns.path, "policies": t.policies,
                     "ttl": t.remaining(), "expire_time": rfc3339(t.expire) if t.expire else None,
                     "path": t.path, "num_uses": t.num_uses, "wrapping": t.wrapped is not None}
                    for t in st.tokens.values() if t.valid()]
        if (method, path) == ("POST", "/token"):
            tok = st.add_token(st.token_from_spec(st.namespaces[""], body))
            return {"token": tok.id, "accessor": tok.accessor}
        if (method, path) == ("POST", "/faults"):
            specs = body if isinstance(body, list) else [body]
            return {"ids": [st.add_fault(s) for s in specs]}
        if (method, path) == ("GET", "/faults"):
            return st.faults
        if (method, path) in (("DELETE", "/faults"), ("POST", "/faults/clear")):
            st.faults.clear()
            return {"ok": True}
        if (method, path) == ("POST", "/time"):
            if body.get("reset"):
                Clock.offset = 0.0
            else:
                Clock.offset += float(body.get("advance", 0))
            return {"offset": Clock.offset, "now": rfc3339(Clock.now())}
        return None


# --------------------------------------------------------------------------- main

def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="HashiCorp Vault test server (TLS, stdlib only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert", required=True, help="server certificate (PEM)")
    ap.add_argument("--key", required=True, help="server private key (PEM)")
    ap.add_argument("--client-ca", action="append", default=[],
                    help="CA(s) for client certificates; given: certs are requested, not required")
    ap.add_argument("--port-file", help="write the chosen Vault port here (last)")
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--control-port-file", help="write the control port here (first)")
    ap.add_argument("--seed", help="JSON seed file applied at startup and on /reset")
    ap.add_argument("--root-token", help="also create a root token with this id")
    ap.add_argument("--vault-version", default=VAULT_VERSION)
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-request log lines")
    ap.add_argument("--die-with-parent", action="store_true",
                    help="exit when the process that started the fake goes away (even SIGKILLed)")
    args = ap.parse_args(argv)

    state = State()
    seed_doc = None
    if args.seed:
        with open(args.seed) as f:
            seed_doc = json.load(f)
    if args.root_token:
        seed_doc = dict(seed_doc or {})
        seed_doc.setdefault("root_token", args.root_token)
    if seed_doc is not None:
        state.seed(seed_doc)
        state.reset_counters()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    if args.client_ca:
        for ca in args.client_ca:
            ctx.load_verify_locations(cafile=ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL

    vault = Vault(state, args.vault_version)
    srv = TLSServer((args.host, args.port), VaultHandler, ctx, state, vault, args.quiet)
    ctl = PlainServer(("127.0.0.1", args.control_port), ControlHandler)
    ctl.state = state
    ctl.seed_doc = seed_doc

    threading.Thread(target=ctl.serve_forever, name="control", daemon=True).start()
    threading.Thread(target=srv.serve_forever, name="vault", daemon=True).start()
    if args.control_port_file:
        write_port_file(args.control_port_file, ctl.server_address[1])
    if args.port_file:
        write_port_file(args.port_file, srv.server_address[1])
    if not args.quiet:
        log("listening on https://%s:%d (control http://127.0.0.1:%d)"
            % (args.host, srv.server_address[1], ctl.server_address[1]))

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.wait(0.5):
        if args.die_with_parent and os.getppid() != parent:
            log("parent %d went away: stopping" % parent)
            break
    srv.shutdown()
    ctl.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
