#!/usr/bin/python3
"""keywhiz_fake.py — a Square Keywhiz test server over mutual TLS, standard library only.

It speaks Keywhiz's secret-delivery API (the one keysync and keywhiz-fs use) with Keywhiz's
paths, JSON shapes, status codes and Dropwizard error bodies, so that a client written against
it works against a real Keywhiz. tests/fakes/README.md lists what is faithful and what is not.

Run:   /usr/bin/python3 keywhiz_fake.py --port 0 --cert server.pem --key server.key \
           --client-ca ca.pem [--client-ca ...] --port-file F --control-port-file F2 \
           [--seed seed.json] [--die-with-parent] [-q]
       Port 0 picks a free port. The control port file is written first and the Keywhiz port
       file last, each atomically (write + rename): once the port file exists, both servers
       accept connections. SIGTERM or SIGINT stops the server (exit 0).

Keywhiz API (HTTPS; the client is the CN of its certificate, as Keywhiz's ClientAuthFactory
reads it; a certificate is requested, and one from a CA not given with --client-ca fails the
handshake):
  GET  /secret/{name}   200 SecretDeliveryResponse; 403 the client has no ACL on an existing
                        secret; 404 no such secret; 401 no client certificate or a disabled client
  GET  /secrets         200 [SecretDeliveryResponse...] of every secret the client may read, with
                        "secret": "" and "secretLength": 0 (no values)
  POST /batchsecret     {"secrets": [names]} -> 200 [SecretDeliveryResponse...] in the server's
                        order (not the request's); 404 when any name is unknown, 403 when any is
                        not readable (the whole batch fails, as in Keywhiz)
  SecretDeliveryResponse: {"name","secret" (base64),"secretLength","creationDate"
  ("2011-09-29T15:46:00.000Z"),"isVersioned", then the secret's metadata flattened into the
  object ("mode","owner","group","filename", any other key)}.
  Errors: Dropwizard's {"code": N, "message": "..."}; 401 also has WWW-Authenticate.

Control API (plain HTTP on 127.0.0.1, its own port). JSON in, JSON out:
  GET  /health          "ok"
  POST /seed            merge a seed document (below) into the state
  POST /reset           state back to the --seed file; counters and faults cleared (?empty=1: empty)
  GET  /counters        requests per "METHOD /path", status codes, per client, batches, secrets
                        delivered, connections, TLS handshake failures, 401s, faults fired
  POST /counters/reset  zero the counters
  GET  /requests        the last 1000 requests: method, path, client, status (never a value)
  GET  /secrets         names, metadata and ACLs (never a value)
  POST /faults          arm one fault or a list -> {"ids": [...]}
  GET  /faults, DELETE /faults (or POST /faults/clear)
Faults: {"type": "status", "status": 503} (that status, Dropwizard's body), {"type": "delay",
 "delay_ms": N} (adds to others), {"type": "drop"} (close without a reply; "rst": true resets),
 {"type": "oversize", "bytes": N} (the real reply padded to N bytes), {"type": "malformed"} (200
 with half the real body, or "body"); each with "count" (default 1, -1 until cleared), "skip",
 "path" (prefix of the path without its leading "/": "secret/db", "batchsecret", "secrets"),
 "path_re", "method", "client" (a CN).

Seed (--seed FILE, POST /seed):
  {"secrets": {"db": {"content": "text" | "content_base64": "...",
                      "metadata": {"mode": "0440", "owner": "app", "group": "app",
                                   "filename": "db.pw"},
                      "created": "2011-09-29T15:46:00Z", "versioned": false,
                      "encoding": "padded" | "unpadded", "secret": "raw base64 as sent",
                      "secret_length": N},
               "gone": null},
   "groups": {"web": ["db", "api"]},
   "clients": {"lockbox-client": {"secrets": ["db"], "groups": ["web"], "enabled": true}},
   "batch": true}
  "secret" sends that exact string (invalid base64 for tests) and "secret_length" overrides the
  reported length (a mismatch for tests). A CN not in "clients" is created on first use with no
  access, as Keywhiz does. "batch": false makes /batchsecret 404, as a Keywhiz from before it.
Request log: one line per request on stderr: method, path, client CN, status, time. Never a
value or a body.
"""

import argparse
import base64
import json
import os
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 200.0                   # Jetty's default idleTimeout is 30 s; be generous
MAX_REQUEST_SIZE = 1024 * 1024
DEFAULT_CREATED = "2011-09-29T15:46:00Z"

REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


def log(msg):
    sys.stderr.write("keywhiz-fake: %s\n" % msg)
    sys.stderr.flush()


def parse_bool(v):
    if isinstance(v, bool):
        return v
    return str(v).strip() in ("1", "t", "T", "TRUE", "true", "True")


def api_date(text):
    """Keywhiz's ApiDate form: whole seconds, always ".000", UTC ("2011-09-29T15:46:00.000Z")."""
    s = str(text).strip().replace("Z", "+00:00")
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def jackson(obj):
    """Jackson's default output: compact, keys in the order the object has them."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class KeywhizError(Exception):
    """A WebApplicationException as Dropwizard's LoggingExceptionMapper renders it."""

    def __init__(self, status, message=None, headers=None):
        super().__init__(status)
        self.status = status
        self.message = message or "HTTP %d %s" % (status, REASONS.get(status, ""))
        self.headers = headers or {}


class Reply:
    def __init__(self, status=200, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def error_reply(e):
    return Reply(e.status, {"code": e.status, "message": e.message}, e.headers)


class Secret:
    def __init__(self, name, spec):
        if not isinstance(spec, dict):
            raise ValueError("secret %s: an object expected" % name)
        known = {"content", "content_base64", "metadata", "created", "versioned", "encoding",
                 "secret", "secret_length"}
        unknown = set(spec) - known
        if unknown:
            raise ValueError("secret %s: unknown keys %s" % (name, ", ".join(sorted(unknown))))
        if "content_base64" in spec:
            self.value = base64.b64decode(spec["content_base64"], validate=True)
        else:
            self.value = str(spec.get("content", "")).encode("utf-8")
        self.name = name
        self.metadata = {str(k): str(v) for k, v in (spec.get("metadata") or {}).items()}
        self.created = api_date(spec.get("created", DEFAULT_CREATED))
        self.versioned = parse_bool(spec.get("versioned", False))
        enc = spec.get("encoding", "padded")
        if enc not in ("padded", "unpadded"):
            raise ValueError("secret %s: encoding is padded or unpadded" % name)
        b64 = base64.b64encode(self.value).decode("ascii")
        self.b64 = spec["secret"] if "secret" in spec else (
            b64.rstrip("=") if enc == "unpadded" else b64)
        # Keywhiz's Secret.decodedLength: the length of the base64 text without trailing
        # newline and padding, times 3/4 -- computed, not stored.
        stripped = self.b64.rstrip("\n").rstrip("=")
        self.length = int(spec["secret_length"]) if "secret_length" in spec else (
            len(stripped) * 3) // 4

    def delivery(self, with_value=True):
        """SecretDeliveryResponse: the fixed fields, then the metadata map flattened in
        (@JsonAnyGetter), as Jackson writes it."""
        out = {"name": self.name, "secret": self.b64 if with_value else "",
               "secretLength": self.length if with_value else 0,
               "creationDate": self.created, "isVersioned": self.versioned}
        for k, v in self.metadata.items():
            out.setdefault(k, v)
        return out

    def summary(self):
        return {"name": self.name, "metadata": self.metadata, "creationDate": self.created,
                "secretLength": self.length, "encoding_length": len(self.b64)}


class State:
    """Everything the fake knows. All access under self.lock."""

    def __init__(self):
        self.lock = threading.RLock()
        self.reset_all()

    def reset_all(self):
        self.secrets = {}                  # name -> Secret, in insertion (database id) order
        self.groups = {}                   # group -> [secret names]
        self.clients = {}                  # CN -> {"secrets": set, "groups": set, "enabled"}
        self.batch = True
        self.faults = []
        self.fault_seq = 0
        self.reset_counters()

    def reset_counters(self):
        self.counters = {
            "requests_total": 0, "requests": {}, "status": {}, "clients": {},
            "batch_requests": 0, "batch_secrets": 0, "secrets_delivered": 0, "lists": 0,
            "connections": 0, "tls_handshake_failures": 0, "unauthenticated": 0,
            "clients_created": 0, "dropped": 0, "faults_fired": 0,
        }
        self.recent = []

    def seed(self, doc):
        if not isinstance(doc, dict):
            raise ValueError("seed must be a JSON object")
        unknown = set(doc) - {"secrets", "groups", "clients", "batch"}
        if unknown:
            raise ValueError("unknown seed keys: %s" % ", ".join(sorted(unknown)))
        for name, spec in (doc.get("secrets") or {}).items():
            if spec is None:
                self.secrets.pop(name, None)
            else:
                self.secrets[name] = Secret(name, spec)
        for g, names in (doc.get("groups") or {}).items():
            self.groups[g] = list(names or [])
        for cn, spec in (doc.get("clients") or {}).items():
            if spec is None:
                self.clients.pop(cn, None)
                continue
            unknown = set(spec) - {"secrets", "groups", "enabled"}
            if unknown:
                raise ValueError("client %s: unknown keys %s" % (cn, ", ".join(sorted(unknown))))
            self.clients[cn] = {"secrets": set(spec.get("secrets") or []),
                                "groups": set(spec.get("groups") or []),
                                "enabled": parse_bool(spec.get("enabled", True))}
        if "batch" in doc:
            self.batch = parse_bool(doc["batch"])

    def client(self, cn):
        """Keywhiz's ClientAuthFactory: a CN seen for the first time becomes a client with no
        access ("automatic"); a disabled one is not authorised."""
        c = self.clients.get(cn)
        if c is None:
            c = {"secrets": set(), "groups": set(), "enabled": True}
            self.clients[cn] = c
            self.counters["clients_created"] += 1
        if not c["enabled"]:
            return None
        return c

    def readable(self, c, name):
        if name in c["secrets"]:
            return True
        return any(name in self.groups.get(g, ()) for g in c["groups"])

    # ---- faults (the scheme of vault_fake.py)
    def add_fault(self, spec):
        if not isinstance(spec, dict) or spec.get("type") not in (
                "status", "delay", "drop", "oversize", "malformed"):
            raise ValueError("fault needs a type: status, delay, drop, oversize, malformed")
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

    def take_faults(self, method, path, cn):
        """The faults that fire for this request: (delays in ms, terminal fault or None)."""
        delays, terminal = [], None
        for f in list(self.faults):
            if f.get("method") and f["method"].upper() != method:
                continue
            if f.get("path") and not path.startswith(f["path"]):
                continue
            if f.get("path_re") and not re.search(f["path_re"], path):
                continue
            if f.get("client") and f["client"] != cn:
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


class Keywhiz:
    """The delivery resources. Called with the state lock held."""

    def __init__(self, state):
        self.st = state

    def handle(self, method, path, body, ctype, cn):
        parts = path.strip("/").split("/")
        if path.startswith("/secret/") and len(parts) == 2 and parts[1]:
            if method != "GET":
                raise KeywhizError(405)
            return self.get_secret(self.auth(cn), cn, unquote(parts[1]))
        if path.rstrip("/") == "/secrets":
            if method != "GET":
                raise KeywhizError(405)
            return self.list_secrets(self.auth(cn), cn)
        if path.rstrip("/") == "/batchsecret" and self.st.batch:
            if method != "POST":
                raise KeywhizError(405)
            return self.batch(self.auth(cn), cn, body, ctype)
        raise KeywhizError(404)

    def auth(self, cn):
        c = self.st.client(cn) if cn else None
        if c is None:
            self.st.counters["unauthenticated"] += 1
            # JAX-RS NotAuthorizedException(Object challenge): the text becomes the challenge,
            # the message stays the generic one.
            raise KeywhizError(401, None, {"WWW-Authenticate": (
                "ClientCert not authorized as a Client" if not cn else
                "ClientCert name %s not authorized as a Client" % cn)})
        return c

    def get_secret(self, c, cn, name):
        s = self.st.secrets.get(name)
        if s is not None and self.st.readable(c, name):
            self.st.counters["secrets_delivered"] += 1
            return Reply(200, s.delivery())
        if s is not None:
            raise KeywhizError(403, "Access denied: %s at '/secret/%s' by 'Client{name=%s}'"
                               % (cn, name, cn))
        raise KeywhizError(404)

    def list_secrets(self, c, cn):
        self.st.counters["lists"] += 1
        return Reply(200, [s.delivery(with_value=False) for n, s in self.st.secrets.items()
                           if self.st.readable(c, n)])

    def batch(self, c, cn, body, ctype):
        if (ctype or "").split(";")[0].strip().lower() != "application/json":
            raise KeywhizError(415)
        try:
            doc = json.loads(body or b"null")
        except ValueError:
            raise KeywhizError(400, "Unable to process JSON")
        names = doc.get("secrets") if isinstance(doc, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise KeywhizError(422, "secrets must be a list of names")
        self.st.counters["batch_requests"] += 1
        forbidden = []
        for n in names:
            if n not in self.st.secrets:
                raise KeywhizError(404)
            if not self.st.readable(c, n):
                forbidden.append(n)
        if forbidden:
            raise KeywhizError(403, "Access denied: %s to secret(s) '[%s]'" % (
                cn, ", ".join(forbidden)))
        wanted = set(names)
        out = [s.delivery() for n, s in self.st.secrets.items() if n in wanted]
        self.st.counters["batch_secrets"] += len(out)
        self.st.counters["secrets_delivered"] += len(out)
        return Reply(200, out)


def status_fault(f):
    status = f["status"]
    return Reply(status, {"code": status, "message": f.get(
        "message", "HTTP %d %s" % (status, REASONS.get(status, "")))}, f.get("headers"))


def oversize(reply, n):
    body = reply.body
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = [dict(body[0])] + body[1:]
        target = body[0]
    elif isinstance(body, dict):
        body = dict(body)
        target = body
    else:
        body = {"code": reply.status, "message": "padded"}
        target = body
    have = len(jackson(body))
    target["padding"] = "x" * max(0, n - have - 14)
    return Reply(reply.status, body, reply.headers)


def malformed(reply, text):
    if text is not None:
        return Reply(200, text.encode("utf-8"))
    whole = jackson(reply.body if reply.body is not None else {"name": "x"})
    return Reply(200, whole[: max(1, len(whole) // 2)])


class KeywhizHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    server_version = "keywhiz-fake"

    def log_message(self, fmt, *args):
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

    def client_cn(self):
        conn = self.connection
        if not isinstance(conn, ssl.SSLSocket):
            return None
        try:
            cert = conn.getpeercert()
        except (ValueError, ssl.SSLError):
            return None
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_REQUEST_SIZE:
            raise KeywhizError(413)
        return self.rfile.read(n) if n > 0 else b""

    def _any(self):
        srv = self.server
        st, kw = srv.state, srv.keywhiz
        t0 = time.monotonic()
        method = self.command.upper()
        path = urlsplit(self.path).path
        cn = self.client_cn()
        try:
            raw = self.read_body()
        except KeywhizError as e:
            self.close_connection = True
            self.respond(method, path, cn, error_reply(e), t0)
            return
        with st.lock:
            delays, fault = st.take_faults(method, path.lstrip("/"), cn)
        for d in delays:
            time.sleep(d / 1000.0)
        if fault is not None and fault["type"] == "drop":
            with st.lock:
                st.counters["dropped"] += 1
                self.count(st, method, path, cn, "dropped")
            self.log_line(method, path, cn, "dropped", t0)
            self.drop(fault.get("rst"))
            return
        if fault is not None and fault["type"] == "status":
            reply = status_fault(fault)
        else:
            with st.lock:
                try:
                    reply = kw.handle(method, path, raw, self.headers.get("Content-Type"), cn)
                except KeywhizError as e:
                    reply = error_reply(e)
        if fault is not None and fault["type"] == "oversize":
            reply = oversize(reply, int(fault.get("bytes", 2 * 1024 * 1024)))
        elif fault is not None and fault["type"] == "malformed":
            reply = malformed(reply, fault.get("body"))
        self.respond(method, path, cn, reply, t0)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any

    def respond(self, method, path, cn, reply, t0):
        with self.server.state.lock:
            self.count(self.server.state, method, path, cn, reply.status)
        self.send(reply, method)
        self.log_line(method, path, cn, reply.status, t0)

    @staticmethod
    def count(st, method, path, cn, status):
        c = st.counters
        c["requests_total"] += 1
        k = "%s %s" % (method, path)
        c["requests"][k] = c["requests"].get(k, 0) + 1
        c["status"][str(status)] = c["status"].get(str(status), 0) + 1
        who = cn or "(no certificate)"
        c["clients"][who] = c["clients"].get(who, 0) + 1
        st.recent.append({"method": method, "path": path, "client": cn, "status": status,
                          "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
        if len(st.recent) > 1000:
            del st.recent[:-1000]

    def send(self, reply, method):
        if isinstance(reply.body, (dict, list)):
            payload = jackson(reply.body)
        elif isinstance(reply.body, bytes):
            payload = reply.body
        else:
            payload = b""
        lines = ["HTTP/1.1 %d %s" % (reply.status, REASONS.get(reply.status, "OK" if
                                                                reply.status == 200 else "")),
                 "Date: %s" % self.date_time_string()]
        if payload:
            lines.append("Content-Type: application/json")
        lines.append("Content-Length: %d" % len(payload))
        for k, v in reply.headers.items():
            lines.append("%s: %s" % (k, v))
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

    def log_line(self, method, path, cn, status, t0):
        if self.server.quiet:
            return
        log("%s %s [%s] -> %s (%.1f ms)" % (method, path, cn or "no certificate", status,
                                             (time.monotonic() - t0) * 1000))


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, ssl_ctx, state, keywhiz, quiet):
        self.ssl_ctx = ssl_ctx
        self.state = state
        self.keywhiz = keywhiz
        self.quiet = quiet
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        # In the connection's own thread: a slow or broken handshake blocks nobody else.
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
        except (ValueError, KeyError, TypeError) as e:
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
        if (method, path) == ("GET", "/secrets"):
            return {"secrets": [s.summary() for s in st.secrets.values()],
                    "groups": st.groups, "batch": st.batch,
                    "clients": {cn: {"secrets": sorted(c["secrets"]),
                                     "groups": sorted(c["groups"]), "enabled": c["enabled"]}
                                for cn, c in st.clients.items()}}
        if (method, path) == ("POST", "/faults"):
            specs = body if isinstance(body, list) else [body]
            return {"ids": [st.add_fault(s) for s in specs]}
        if (method, path) == ("GET", "/faults"):
            return st.faults
        if (method, path) in (("DELETE", "/faults"), ("POST", "/faults/clear")):
            st.faults.clear()
            return {"ok": True}
        return None


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Square Keywhiz test server (mTLS, stdlib only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert", required=True, help="server certificate (PEM)")
    ap.add_argument("--key", required=True, help="server private key (PEM)")
    ap.add_argument("--client-ca", action="append", default=[], required=True,
                    help="CA(s) for client certificates (requested; verified when presented)")
    ap.add_argument("--port-file", help="write the chosen Keywhiz port here (last)")
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--control-port-file", help="write the control port here (first)")
    ap.add_argument("--seed", help="JSON seed file applied at startup and on /reset")
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-request log lines")
    ap.add_argument("--die-with-parent", action="store_true",
                    help="exit when the process that started the fake goes away (even SIGKILLed)")
    args = ap.parse_args(argv)

    state = State()
    seed_doc = None
    if args.seed:
        with open(args.seed) as f:
            seed_doc = json.load(f)
        state.seed(seed_doc)
        state.reset_counters()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    for ca in args.client_ca:
        ctx.load_verify_locations(cafile=ca)
    # Keywhiz's connector "wants" a client certificate: none gets the request answered 401,
    # one that does not verify fails the handshake.
    ctx.verify_mode = ssl.CERT_OPTIONAL

    srv = TLSServer((args.host, args.port), KeywhizHandler, ctx, state, Keywhiz(state), args.quiet)
    ctl = PlainServer(("127.0.0.1", args.control_port), ControlHandler)
    ctl.state = state
    ctl.seed_doc = seed_doc

    threading.Thread(target=ctl.serve_forever, name="control", daemon=True).start()
    threading.Thread(target=srv.serve_forever, name="keywhiz", daemon=True).start()
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
