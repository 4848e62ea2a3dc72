# shellcheck shell=bash
# shellcheck disable=SC2034 # REFS10, REFS100, the addresses and ports: set here for the files run.sh sources with this one
# tests/bench/lib/servers.sh — what the rows talk to: 100 secrets, a PKI, the Vault test server
# (tests/fakes/vault_fake.py: Python, HTTP/1.1 over TLS), nginx (one worker) with two servers —
# the test server's recorded replies as static files over TLS and HTTP/2, and a TLS and HTTP/2
# front for the test server itself (a Vault that speaks HTTP/2 as a real one does, ALPN h2;
# upstream keep-alive to the test server) — and the broker's configuration and store.

# servers_secrets: 100 values, a root token and an AppRole secret id, made here (never
# printed): the seed of the Vault test server, and $T/etc/values ("sNNN VALUE").
servers_secrets() {
    "$PY" - "$T/etc" <<'EOF'
import json, os, secrets, sys
d = sys.argv[1]
vals = {"s%03d" % i: "lbx-bench-" + secrets.token_hex(12) for i in range(1, 101)}
root, sid = "hvs.bench-" + secrets.token_hex(12), "sid-" + secrets.token_hex(12)
seed = {"root_token": root,
        "kv": {"secret/bench/" + k: {"value": v} for k, v in vals.items()},
        "policies": {"bench": ["secret/data/bench/*"]},
        "approle": {"roles": {"bench": {"role_id": "rid-bench", "policies": ["bench"],
                                        "token_ttl": "1h"}},
                    "secret_ids": [{"role": "bench", "secret_id": sid}]}}
def put(name, text):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
put("vault-seed.json", json.dumps(seed))
put("values", "".join("%s %s\n" % kv for kv in vals.items()))
put("root-token", root + "\n")
put("root.hdr", "X-Vault-Token: %s\n" % root)
put("role-id", "rid-bench\n")
put("secret-id", sid + "\n")
EOF
}

# value NAME: the value of sNNN (for comparisons only; never printed).
value() {
    awk -v k="$1" '$1 == k { print $2 }' "$T/etc/values"
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

servers_vault_fake() {
    local i
    "$PY" "$TOP/tests/fakes/vault_fake.py" --port 0 --cert "$T/pki/server.pem" \
        --key "$T/pki/server.key" --port-file "$T/vault.port" --control-port-file "$T/vault.ctl" \
        --seed "$T/etc/vault-seed.json" --die-with-parent -q 2>"$T/log/vault.log" &
    BG_PIDS+=($!)
    VAULT_PID=$!
    for ((i = 0; i < 200; i++)); do
        [ -s "$T/vault.port" ] && break
        kill -0 "$VAULT_PID" 2>/dev/null || die "the Vault test server did not start: $(tail -n 3 "$T/log/vault.log")"
        sleep 0.05
    done
    [ -s "$T/vault.port" ] || die "the Vault test server did not start within 10 s"
    VAULT_PORT=$(cat "$T/vault.port")
    VAULT_ADDR=https://127.0.0.1:$VAULT_PORT
    VAULT_CTL=http://127.0.0.1:$(cat "$T/vault.ctl")
}

# vault_counters: "APPROLE_LOGINS TLS_CONNECTIONS REQUESTS" from the test server's counters.
vault_counters() {
    curl -sS --fail "$VAULT_CTL/counters" | "$PY" -c '
import json, sys
c = json.load(sys.stdin)
print(c.get("logins", {}).get("approle", 0), c.get("connections", 0), c.get("requests_total", 0))'
}
# vault_cpu_ms: CPU time (user + system) the test server has used, in ms.
vault_cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$VAULT_PID/stat"
}

# h2_mark: the current length of the HTTP/2 front's access log (one line a request:
# connection serial, requests on it so far, session reused or not, protocol, method, path,
# status). h2_counts MARK: "CONNECTIONS RESUMED LOGINS REQUESTS HTTP2" of the requests logged
# since MARK: distinct connection serials (nginx numbers every accepted connection), those of
# them whose TLS session was resumed, AppRole logins, requests, requests made over HTTP/2.
h2_mark() {
    wc -l <"$T/nginx/h2.log"
}
h2_counts() {
    tail -n +"$(($1 + 1))" "$T/nginx/h2.log" | awk '
        !($1 in c) { c[$1] = 1; n++; if ($3 == "r") r++ }
        $6 == "/v1/auth/approle/login" { l++ }
        $4 == "HTTP/2.0" { h2++ }
        { q++ }
        END { printf "%d %d %d %d %d\n", n, r, l, q, h2 }'
}

# servers_record: the test server's replies to 100 reads, for nginx's static server.
servers_record() {
    local i www=$T/www/v1/secret/data/bench
    mkdir -p "$www" "$T/nginx/tmp"
    {
        echo "header = \"@$T/etc/root.hdr\""
        for i in $(seq -w 1 100); do
            echo "url = \"$VAULT_ADDR/v1/secret/data/bench/s$i\""
            echo "output = \"$www/s$i\""
        done
    } >"$T/etc/record.curl"
    curl -sS --fail --cacert "$CA" -K "$T/etc/record.curl"
    [ "$(find "$www" -type f -size +0 | wc -l)" = 100 ] || die "recording the replies failed"
}

servers_nginx_conf() {
    cat <<EOF
# make bench: one worker; TLS and HTTP/2 on loopback.
user root root;
worker_processes 1;
error_log $T/nginx/error.log warn;
pid $T/nginx/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    default_type application/json;
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    keepalive_requests 100000;
    http2_max_requests 100000;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $T/pki/server.pem;
    ssl_certificate_key $T/pki/server.key;
    log_format lbx '\$connection \$connection_requests \$ssl_session_reused \$server_protocol \$request_method \$uri \$status';
    # The recorded replies, as static files.
    server {
        listen 127.0.0.1:$NGINX_PORT ssl http2;
        root $T/www;
        location / { try_files \$uri =404; }
    }
    # The Vault test server behind TLS and HTTP/2: what a client sees of a real Vault.
    upstream vault_fake {
        server 127.0.0.1:$VAULT_PORT;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$H2_PORT ssl http2;
        access_log $T/nginx/h2.log lbx;
        location / {
            proxy_pass https://vault_fake;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host localhost;
            proxy_ssl_name localhost;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $CA;
            proxy_ssl_session_reuse on;
        }
    }
}
EOF
}

servers_nginx() {
    local i
    NGINX_PORT=$(free_port)
    NGINX_ADDR=https://127.0.0.1:$NGINX_PORT
    H2_PORT=$(free_port)
    [ "$H2_PORT" != "$NGINX_PORT" ] || H2_PORT=$(free_port)
    H2_ADDR=https://127.0.0.1:$H2_PORT
    mkdir -p "$T/nginx/tmp"
    servers_nginx_conf >"$T/nginx/nginx.conf"
    : >"$T/nginx/h2.log"
    nginx -p "$T/nginx/" -c "$T/nginx/nginx.conf" -g 'daemon off;' 2>>"$T/nginx/error.log" &
    BG_PIDS+=($!)
    for ((i = 0; i < 200; i++)); do
        curl -s --cacert "$CA" -o /dev/null "$NGINX_ADDR/v1/secret/data/bench/s001" && break
        kill -0 "${BG_PIDS[-1]}" 2>/dev/null || die "nginx did not start: $(tail -n 3 "$T/nginx/error.log")"
        sleep 0.05
    done
    local u
    for u in "$NGINX_ADDR" "$H2_ADDR"; do
        [ "$(curl -s --http2 --cacert "$CA" -H "@$T/etc/root.hdr" -o /dev/null -w '%{http_version} %{http_code}' \
            "$u/v1/secret/data/bench/s001")" = "2 200" ] || die "nginx at $u does not answer over HTTP/2"
    done
}

# servers_broker_config: the sealed store; the Vault test server (AppRole); the same through
# the HTTP/2 front (AppRole); nginx's recorded replies (a token file and kv_version 2: static
# files answer neither a login nor a mount lookup). One role. The agent off: the hooks of the
# rows fetch in their own child, as before the agent; rows/agent.sh has its own configuration.
servers_broker_config() {
    local i
    cat >"$CFG" <<EOF
{"state_dir": "$STATE",
 "audit_log": "$T/log/audit.log",
 "agent": {"enabled": false},
 "backends": {"store": {"type": "store", "dir": "$T/store", "key_file": "$T/etc/store.key"},
              "vault": {"type": "vault", "address": "$VAULT_ADDR", "ca_file": "$CA",
                        "auth": {"method": "approle", "role_id_file": "$T/etc/role-id",
                                 "secret_id_file": "$T/etc/secret-id"}},
              "vault_h2": {"type": "vault", "address": "$H2_ADDR", "ca_file": "$CA",
                           "auth": {"method": "approle", "role_id_file": "$T/etc/role-id",
                                    "secret_id_file": "$T/etc/secret-id"}},
              "nginx": {"type": "vault", "address": "$NGINX_ADDR", "ca_file": "$CA",
                        "kv_version": 2,
                        "auth": {"method": "token", "token_file": "$T/etc/root-token"}}},
 "roles": [{"name": "default", "allow": ["store:*", "vault:*", "vault_h2:*", "nginx:*"]}]}
EOF
    chmod 0600 "$CFG"
    broker store init >/dev/null
    for i in $(seq -w 1 10); do
        value "s0$i" | tr -d '\n' | broker store put "s$i" >/dev/null
    done
}

broker() {
    "$BROKER" --config "$CFG" "$@"
}

# fetch_config FILE ADDR: lockbox's fetch alone (lbx-bench-fetch): a token file (no login, like
# curl's header) and kv_version 2 (no mount lookup: curl and hvac make none either).
fetch_config() {
    cat >"$1" <<EOF
{"state_dir": "$T/state-fetch",
 "backends": {"vault": {"type": "vault", "address": "$2", "ca_file": "$CA", "kv_version": 2,
                        "auth": {"method": "token", "token_file": "$T/etc/root-token"}}},
 "roles": [{"name": "default", "allow": ["vault:*"]}]}
EOF
    chmod 0600 "$1"
}

servers_start() {
    say "setting up in $T"
    "$TOP/tests/fakes/mkcerts.sh" "$T/pki"
    CA=$T/pki/ca.pem
    servers_secrets
    servers_vault_fake
    say "recording 100 replies of the Vault test server for nginx"
    servers_record
    servers_nginx
    servers_broker_config
    fetch_config "$T/etc/fetch-nginx.json" "$NGINX_ADDR"
    fetch_config "$T/etc/fetch-fake.json" "$VAULT_ADDR"
    fetch_config "$T/etc/fetch-h2.json" "$H2_ADDR"
    mapfile -t REFS100 < <(for i in $(seq -w 1 100); do echo "s$i=vault:secret/bench/s$i#value"; done)
    mapfile -t REFS10 < <(printf '%s\n' "${REFS100[@]:0:10}")
}
